/*
 * mailbox.c - a Maildir opened for POP3.
 *
 * The lock is flock(2) on "postern-pop3.lock" in the Maildir, held for
 * the life of the process: a second session gets MAILBOX_LOCKED, and a
 * session that dies releases it with its descriptors.  Delivery needs
 * no lock (Maildir's rename is atomic), so mail keeps arriving.
 *
 * A message taken from new/ is renamed into cur/ as "NAME,P=SIZE:2,":
 * SIZE is its POP3 size, counted once, so that opening a large mailbox
 * reads directory entries, not messages.  A cur/ name without P= (put
 * there by another program) is measured at each opening instead.  The
 * UIDL is the name up to ":", which no flag change alters.
 */
#include "mailbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "maildir.h"
#include "md5.h"
#include "util.h"
#include "wire.h"

#define LOCK_NAME "postern-pop3.lock"

static int
add_name(struct mailbox *mb, const char *name, unsigned long long size)
{
	size_t n = strlen(name) + 1;

	if (mb->names_len + n > UINT32_MAX)
		return -1;
	if (mb->count == mb->cap) {
		size_t cap = mb->cap ? mb->cap * 2 : 64;
		struct mailbox_msg *m = realloc(mb->msgs, cap * sizeof *m);
		if (m == NULL)
			return -1;
		mb->msgs = m;
		mb->cap = cap;
	}
	if (mb->names_len + n > mb->names_cap) {
		size_t cap = mb->names_cap ? mb->names_cap * 2 : 4096;
		char *p;
		while (cap < mb->names_len + n)
			cap *= 2;
		if ((p = realloc(mb->names, cap)) == NULL)
			return -1;
		mb->names = p;
		mb->names_cap = cap;
	}
	memcpy(mb->names + mb->names_len, name, n);
	mb->msgs[mb->count].name = (uint32_t)mb->names_len;
	mb->msgs[mb->count].size = size;
	mb->msgs[mb->count].deleted = 0;
	mb->names_len += n;
	mb->count++;
	return 0;
}

/* ",P=SIZE" before the ":2," info, if the name carries it. */
static int
size_from_name(const char *name, unsigned long long *size)
{
	const char *p = strstr(name, ",P="), *colon = strchr(name, ':');
	char digits[24];
	size_t n;

	if (p == NULL || (colon != NULL && p > colon))
		return -1;
	p += 3;
	n = strspn(p, "0123456789");
	if (n == 0 || n >= sizeof digits)
		return -1;
	memcpy(digits, p, n);
	digits[n] = '\0';
	return parse_ulong(digits, ~0ULL, size);
}

static int
measure(int dirfd, const char *name, unsigned long long *size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -1;
	r = wire_size(fd, size);
	close(fd);
	return r;
}

/* new/NAME to cur/NAME,P=SIZE:2, (plain ":2," if that would be too long). */
static void
take_new(struct mailbox *mb, int newfd, const char *name)
{
	char cur[512];
	unsigned long long size;

	if (strchr(name, ':') != NULL || measure(newfd, name, &size) < 0)
		return;
	if ((size_t)snprintf(cur, sizeof cur, "%s,P=%llu:2,", name, size) >
	    255)
		snprintf(cur, sizeof cur, "%s:2,", name);
	(void)renameat(newfd, name, mb->curfd, cur);
}

static int
move_new_to_cur(struct mailbox *mb)
{
	int newfd = openat(mb->dirfd, "new", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	DIR *d;
	struct dirent *e;

	if (newfd < 0)
		return errno == ENOENT ? 0 : -1;	/* no new/: nothing new */
	if ((d = fdopendir(newfd)) == NULL) {
		close(newfd);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strlen(e->d_name) < 256)
			take_new(mb, dirfd(d), e->d_name);
	closedir(d);
	return 0;
}

static int
list_cur(struct mailbox *mb)
{
	int fd = dup(mb->curfd);
	DIR *d;
	struct dirent *e;
	int r = 0;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while (r == 0 && (e = readdir(d)) != NULL) {
		unsigned long long size;

		if (e->d_name[0] == '.')
			continue;
		if (mb->count == MAILBOX_MAX_MESSAGES) {
			mb->truncated = 1;
			break;
		}
		if (size_from_name(e->d_name, &size) < 0 &&
		    measure(mb->curfd, e->d_name, &size) < 0)
			continue;	/* gone, or not a file we may read */
		r = add_name(mb, e->d_name, size);
	}
	closedir(d);
	return r;
}

/* Delivery order: Maildir names begin with the delivery time. */
static const char *sort_names;

static int
by_delivery(const void *a, const void *b)
{
	const char *x = sort_names + ((const struct mailbox_msg *)a)->name;
	const char *y = sort_names + ((const struct mailbox_msg *)b)->name;
	unsigned long long tx = strtoull(x, NULL, 10), ty = strtoull(y, NULL, 10);

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(x, y);
}

static enum mailbox_result
fail(struct mailbox *mb, char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	mailbox_close(mb);
	return MAILBOX_ERROR;
}

/* The Maildir and its cur/; -1 with errno, nothing left open. */
static int
open_dirs(struct mailbox *mb, const char *maildir)
{
	mb->dirfd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mb->dirfd < 0)
		return -1;
	mb->curfd = openat(mb->dirfd, "cur", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (mb->curfd >= 0)
		return 0;
	close(mb->dirfd);
	mb->dirfd = -1;
	return -1;
}

enum mailbox_result
mailbox_open(struct mailbox *mb, const char *maildir, char *err,
    size_t errlen)
{
	memset(mb, 0, sizeof *mb);
	mb->dirfd = mb->curfd = mb->lockfd = -1;
	/* A user who has had no mail yet has an empty maildrop: the
	 * directories are made then, not checked at every login. */
	if (open_dirs(mb, maildir) < 0 && (errno != ENOENT ||
	    maildir_create(maildir) < 0 || open_dirs(mb, maildir) < 0))
		return fail(mb, err, errlen, "cannot open the Maildir");
	mb->lockfd = openat(mb->dirfd, LOCK_NAME, O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mb->lockfd < 0)
		return fail(mb, err, errlen, "cannot open the lock file");
	if (flock(mb->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return fail(mb, err, errlen, "cannot lock");
		mailbox_close(mb);
		return MAILBOX_LOCKED;
	}
	if (move_new_to_cur(mb) < 0)
		return fail(mb, err, errlen, "cannot read the Maildir");
	if (list_cur(mb) < 0)
		return fail(mb, err, errlen, "cannot list cur/");
	sort_names = mb->names;
	if (mb->count > 1)
		qsort(mb->msgs, mb->count, sizeof *mb->msgs, by_delivery);
	return MAILBOX_OK;
}

/* The message's descriptor, or -1 if it has gone since the listing. */
int
mailbox_open_message(const struct mailbox *mb, size_t i)
{
	return openat(mb->curfd, mb->names + mb->msgs[i].name,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

/* The name up to ":"; if that is not a valid UIDL (RFC 1939: 1 to 70
 * characters 0x21-0x7E), its MD5 in hex, which always is. */
void
mailbox_uidl(const struct mailbox *mb, size_t i, char *out, size_t outsize)
{
	const char *name = mb->names + mb->msgs[i].name;
	size_t n = strcspn(name, ":");
	int ok = n > 0 && n <= UIDL_MAX && n < outsize;
	struct md5 m;
	char hex[33];

	for (size_t k = 0; ok && k < n; k++)
		ok = name[k] > 0x20 && name[k] < 0x7f;
	if (ok) {
		memcpy(out, name, n);
		out[n] = '\0';
		return;
	}
	md5_init(&m);
	md5_update(&m, name, n);
	md5_hex(&m, hex);
	str_copy(out, hex, outsize);
}

/* The UPDATE state: removes the deleted messages and syncs cur/.
 * Returns how many could not be removed. */
size_t
mailbox_update(struct mailbox *mb)
{
	size_t failed = 0, removed = 0;

	for (size_t i = 0; i < mb->count; i++) {
		if (!mb->msgs[i].deleted)
			continue;
		if (unlinkat(mb->curfd, mb->names + mb->msgs[i].name, 0) < 0 &&
		    errno != ENOENT)
			failed++;
		else
			removed++;
	}
	if (removed > 0 && fsync(mb->curfd) < 0)
		failed = removed;
	return failed;
}

void
mailbox_close(struct mailbox *mb)
{
	if (mb->curfd >= 0)
		close(mb->curfd);
	if (mb->lockfd >= 0)
		close(mb->lockfd);
	if (mb->dirfd >= 0)
		close(mb->dirfd);
	free(mb->msgs);
	free(mb->names);
	memset(mb, 0, sizeof *mb);
	mb->dirfd = mb->curfd = mb->lockfd = -1;
}
