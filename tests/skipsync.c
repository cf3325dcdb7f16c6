/*
 * skipsync.c - an LD_PRELOAD shim that breaks a commit protocol on
 * purpose, for the crash-state checker to catch: with SKIPSYNC=file,
 * fsync of a regular file returns 0 without syncing anything; with
 * SKIPSYNC=dir, fsync of a directory does.  Other fsyncs go through.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int
fsync(int fd)
{
	const char *skip = getenv("SKIPSYNC");
	struct stat st;

	if (skip != NULL && fstat(fd, &st) == 0 &&
	    ((S_ISREG(st.st_mode) && strcmp(skip, "file") == 0) ||
	    (S_ISDIR(st.st_mode) && strcmp(skip, "dir") == 0)))
		return 0;
	return (int)syscall(SYS_fsync, fd);
}
