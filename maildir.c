/*
 * maildir.c - Maildir delivery: the message is written to tmp/ under a
 * unique name, synced, and linked into new/, whose directory is synced
 * before the delivery counts as done; the tmp/ name is then removed.
 * Return-Path: and Delivered-To: are added first.  A message that
 * already carries Delivered-To: for this recipient is a mail loop.
 */
#include "maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util.h"

/*
 * Creates DIR, DIR/tmp, DIR/new and DIR/cur as needed, and parents, each
 * new one synced into its parent: new/ must survive a crash with the
 * first message delivered into it.
 */
int
maildir_create(const char *dir)
{
	char path[4096];
	static const char *const subs[] = { "tmp", "new", "cur" };

	if (strlen(dir) >= sizeof path - 8)
		return -1;
	str_copy(path, dir, sizeof path);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_durable(AT_FDCWD, path, 0700) < 0)
			return -1;
		*p = '/';
	}
	if (mkdir_durable(AT_FDCWD, path, 0700) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		char sub[4200];
		snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
		if (mkdir_durable(AT_FDCWD, sub, 0700) < 0)
			return -1;
	}
	return 0;
}

/*
 * Scans the header of the queued message for our Delivered-To line for
 * recipient: a mail loop, here or in list.c.  A line longer than the
 * buffer is compared by its start only, which no Delivered-To we write
 * can be.
 */
int
maildir_seen_delivered_to(const struct qmessage *msg, const char *recipient)
{
	char buf[8192], line[1100], want[1100];
	size_t len = 0;
	long long off = 0;
	ssize_t n;

	snprintf(want, sizeof want, "Delivered-To: %s\n", recipient);
	/* The header ends at the first empty line, or with the message. */
	while ((n = qmessage_read(msg, buf, sizeof buf, off)) > 0) {
		off += n;
		for (ssize_t i = 0; i < n; i++) {
			if (len < sizeof line - 1)
				line[len++] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[len] = '\0';
			if (len == 1)
				return 0;
			if (strcasecmp(line, want) == 0)
				return 1;
			len = 0;
		}
	}
	return 0;
}

static int
copy_message(const struct qmessage *msg, int out)
{
	char buf[65536];
	ssize_t n;
	long long off = 0;

	while ((n = qmessage_read(msg, buf, sizeof buf, off)) > 0) {
		if (write_all(out, buf, (size_t)n) < 0)
			return -1;
		off += n;
	}
	return n < 0 ? -1 : 0;
}

static enum delivery_result
io_failure(char *reason, size_t reasonsize, const char *what)
{
	snprintf(reason, reasonsize, "4.2.0 cannot %s: %s", what,
	    strerror(errno));
	/* A full disk or quota is temporary; so is everything else here. */
	return DELIVERY_DEFER;
}

enum delivery_result
maildir_deliver(const char *maildir, const struct qmessage *msg,
    const char *sender,
    const char *recipient, const char *hostname, char *reason,
    size_t reasonsize)
{
	static unsigned long serial;
	char name[512], tmppath[4700], newpath[4700], hdr[2200];
	struct timeval tv;
	int fd, dirfd;

	if (maildir_seen_delivered_to(msg, recipient)) {
		snprintf(reason, reasonsize,
		    "5.4.6 mail loop: already delivered to %s", recipient);
		return DELIVERY_FAIL;
	}
	if (maildir_create(maildir) < 0)
		return io_failure(reason, reasonsize, "create the Maildir");
	gettimeofday(&tv, NULL);
	snprintf(name, sizeof name, "%lld.M%ldP%ldQ%lu.%s",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    serial++, hostname);
	snprintf(tmppath, sizeof tmppath, "%s/tmp/%s", maildir, name);
	snprintf(newpath, sizeof newpath, "%s/new/%s", maildir, name);
	fd = open(tmppath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0)
		return io_failure(reason, reasonsize, "create a file");
	snprintf(hdr, sizeof hdr, "Return-Path: <%s>\nDelivered-To: %s\n",
	    sender, recipient);
	if (write_all(fd, hdr, strlen(hdr)) < 0 || copy_message(msg, fd) < 0 ||
	    fsync(fd) < 0) {
		close(fd);
		unlink(tmppath);
		return io_failure(reason, reasonsize, "write the message");
	}
	if (close(fd) < 0 || link(tmppath, newpath) < 0) {
		unlink(tmppath);
		return io_failure(reason, reasonsize, "move into new/");
	}
	unlink(tmppath);
	snprintf(newpath, sizeof newpath, "%s/new", maildir);
	dirfd = open(newpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || fsync(dirfd) < 0) {
		if (dirfd >= 0)
			close(dirfd);
		return io_failure(reason, reasonsize, "sync new/");
	}
	close(dirfd);
	str_copy(reason, "delivered to maildir", reasonsize);
	return DELIVERY_OK;
}
