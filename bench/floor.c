/*
 * floor.c - the least a per-connection SMTP receiver can do, for
 * bench/run: answer a session with canned replies and make each message
 * durable (write to a temporary file, fsync, rename, fsync the
 * directory) before its 250.  No parsing, checking or envelope: the floor
 * cost of the model (fork, exec, fsync) against which smtpd is measured.
 *
 * usage: floor DIR    (one session on stdin/stdout)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char out[8192];
static size_t outlen;

static void
flush(void)
{
	size_t off = 0;

	while (off < outlen) {
		ssize_t w = write(1, out + off, outlen - off);
		if (w <= 0)
			_exit(1);
		off += (size_t)w;
	}
	outlen = 0;
}

static void
reply(const char *s)
{
	size_t n = strlen(s);

	if (outlen + n > sizeof out)
		flush();
	memcpy(out + outlen, s, n);
	outlen += n;
}

int
main(int argc, char **argv)
{
	static char line[65536];
	char tmp[64], name[64];
	unsigned long serial = 0;
	int dirfd, fd = -1;
	FILE *in = stdin;

	if (argc != 2 || (dirfd = open(argv[1], O_RDONLY | O_DIRECTORY)) < 0)
		return 2;
	reply("220 floor ESMTP\r\n");
	for (;;) {
		if (fd < 0)
			flush();	/* replies go out before a wait */
		if (fgets(line, sizeof line, in) == NULL)
			return 0;
		if (fd >= 0) {
			if (strcmp(line, ".\r\n") != 0) {
				if (write(fd, line, strlen(line)) < 0)
					return 1;
				continue;
			}
			if (fsync(fd) < 0 || close(fd) < 0 ||
			    renameat(dirfd, tmp, dirfd, name) < 0 ||
			    fsync(dirfd) < 0)
				return 1;
			fd = -1;
			reply("250 2.0.0 Ok\r\n");
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			snprintf(tmp, sizeof tmp, ".%d.%lu", (int)getpid(), serial);
			snprintf(name, sizeof name, "%d.%lu", (int)getpid(),
			    serial++);
			fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
			if (fd < 0)
				return 1;
			reply("354 go\r\n");
			flush();
		} else if (strncasecmp(line, "EHLO", 4) == 0) {
			reply("250-floor\r\n250 PIPELINING\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			reply("221 bye\r\n");
			flush();
			return 0;
		} else {
			reply("250 Ok\r\n");
		}
	}
}
