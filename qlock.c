/*
 * qlock.c - who may touch a queue entry, and when.
 *
 * The lock is flock(2) on the entry's file: todo/ID, which becomes
 * mess/ID by a rename (the same inode, so the same lock), or mess/ID of
 * an admitted two-file entry.  deliver takes it, without waiting, to
 * admit an entry and for a whole delivery attempt; postern-queue takes
 * it, waiting a bounded time, to delete, hold, release or requeue.  So
 * nothing is delivered once its deletion is reported, and nothing is
 * deleted half-way through an attempt.  Whoever gets the lock first
 * checks that the file still has its name: a lock won on a file that
 * was renamed or removed meanwhile is no lock on the entry.
 *
 * A held entry has an empty file hold/ID; deliver neither admits it
 * to an attempt nor lets it expire while the file exists.
 */
#include "qlock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/*
 * Locks fd, the file of entry id in dirfd, without waiting: 0 when the
 * lock is held and the file is still dirfd/id; -1 with EWOULDBLOCK
 * when someone else holds it, ENOENT when the name went elsewhere.
 */
int
qlock_fd(int dirfd, const char *id, int fd)
{
	struct stat locked, named;

	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -1;
	if (fstat(fd, &locked) < 0)
		return -1;
	if (fstatat(dirfd, id, &named, AT_SYMLINK_NOFOLLOW) < 0 ||
	    named.st_ino != locked.st_ino || named.st_dev != locked.st_dev) {
		flock(fd, LOCK_UN);
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* Opens entry id where it is now: todo/ first, then mess/. */
static int
open_entry(const struct queue *q, const char *id, int *dirfd, char *where)
{
	int fd = openat(q->todofd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*dirfd = q->todofd;
	*where = 't';
	if (fd < 0 && errno == ENOENT) {
		fd = openat(q->messfd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		*dirfd = q->messfd;
		*where = 'm';
	}
	return fd;
}

/*
 * The locked file of entry id (its place, 't' todo/ or 'm' mess/, in
 * *where), waiting up to wait_ms while deliver holds it; -1 with ENOENT
 * when there is no such entry, EWOULDBLOCK when it stayed busy.
 */
int
qlock_entry(const struct queue *q, const char *id, unsigned wait_ms,
    char *where)
{
	long long deadline = monotonic_ms() + wait_ms;

	for (;;) {
		int dirfd, fd = open_entry(q, id, &dirfd, where);

		if (fd < 0)
			return -1;
		if (qlock_fd(dirfd, id, fd) == 0)
			return fd;
		close(fd);
		/* ENOENT: moved to mess/, or gone: look again, as when busy */
		if (errno != ENOENT && errno != EWOULDBLOCK)
			return -1;
		if (monotonic_ms() >= deadline) {
			errno = EWOULDBLOCK;
			return -1;
		}
		if (errno == EWOULDBLOCK)
			poll(NULL, 0, 20);
	}
}

int
queue_is_held(const struct queue *q, const char *id)
{
	char path[16 + QUEUE_ID_MAX];

	snprintf(path, sizeof path, "hold/%s", id);
	return faccessat(q->dirfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * Puts or removes the hold marker of id, durably: a hold that a crash
 * forgot would let the message go.  0, or -1 on an error.
 */
int
queue_set_held(const struct queue *q, const char *id, int held)
{
	int dirfd = queue_subdir(q, "hold"), fd, r = 0;

	if (dirfd < 0)
		return -1;
	if (held) {
		fd = openat(dirfd, id, O_WRONLY | O_CREAT | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd < 0 || close(fd) < 0)
			r = -1;
	} else if (unlinkat(dirfd, id, 0) < 0 && errno != ENOENT)
		r = -1;
	if (r == 0)
		r = fsync(dirfd);
	close(dirfd);
	return r;
}
