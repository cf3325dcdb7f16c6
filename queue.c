/*
 * queue.c - the commit protocol.
 *
 * A queue entry is one file: the message, its envelope and a trailer
 * with both lengths, written as a new file on the queue's file system,
 * synced, then given its name in todo/, and todo/ synced before the
 * caller may say 250.  Two fsyncs, one file content and one directory
 * entry: the fewest that give the guarantee without relying on one file
 * system's journal.  A file cut short (which the fsync before the link
 * rules out, but a file system might not) fails its trailer's check and
 * is never delivered.
 *
 * The new files are anonymous (O_TMPFILE in tmp/) and linked into place,
 * so no rename crosses directories: on Linux such renames serialize on a
 * per-file-system lock, and bench/commit measured the linked form at
 * 1.5 times the rate of the renamed one with 10 writers.  Where the
 * kernel, the file system or /proc does not allow it, they are named
 * files in tmp/, renamed into place, as qmail does.
 *
 * IDs come from the time and the inode of the message file.  The inode
 * is unique on the file system for as long as the message exists, so two
 * messages in the queue can never share an ID, even across processes.
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "crc32.h"
#include "fsorder.h"
#include "log.h"
#include "util.h"

/*
 * A subdirectory of the queue, made when missing.  It must be a real
 * directory, not a symlink (someone who could plant one would have
 * deliver clean "orphans" elsewhere), and belong to the queue's owner;
 * otherwise ENOTDIR or EPERM, and the program refuses to work.
 */
int
queue_subdir(const struct queue *q, const char *name)
{
	struct stat sub;
	int dirfd = q->dirfd, fd;

	if (mkdir_durable(dirfd, name, 0700) < 0)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			errno = ENOTDIR;
		return -1;
	}
	if (fstat(fd, &sub) < 0 || sub.st_uid != q->owner) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

int
queue_open(struct queue *q, const char *path, char *err, size_t errlen)
{
	struct stat st;

	q->tmpfd = q->messfd = q->todofd = -1;
	q->anonymous = -1;
	q->ordered = 0;
	q->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dirfd < 0) {
		snprintf(err, errlen, "queue directory %s: %s", path,
		    strerror(errno));
		return -1;
	}
	/* Every subdirectory must be the queue owner's; looked up once. */
	q->owner = fstat(q->dirfd, &st) == 0 ? st.st_uid : (uid_t)-1;
	if ((q->tmpfd = queue_subdir(q, "tmp")) < 0 ||
	    (q->messfd = queue_subdir(q, "mess")) < 0 ||
	    (q->todofd = queue_subdir(q, "todo")) < 0 ||
	    (mkfifoat(q->dirfd, "trigger", 0600) < 0 && errno != EEXIST)) {
		snprintf(err, errlen, "queue directory %s: %s%s", path,
		    strerror(errno), errno == ENOTDIR || errno == EPERM ?
		    " (a subdirectory is a symlink, not a directory, or not"
		    " the queue owner's)" : "");
		queue_close(q);
		return -1;
	}
	return 0;
}

/*
 * queuesync ordered: one fsync per commit, where the file system is one
 * that makes it enough (fsorder.c); elsewhere a warning, and the two.
 * Found out at the first commit, so that sessions that commit nothing
 * (most refused connections) do not pay for looking.
 */
void
queue_sync_ordered(struct queue *q)
{
	q->ordered = -1;
}

static int
ordered_commit_safe(struct queue *q)
{
	char why[160];

	if (q->ordered < 0) {
		q->ordered = fs_orders_links(q->dirfd, why, sizeof why);
		if (!q->ordered)
			log_msg(LOG_WARNING, "queuesync ordered not used: %s; "
			    "committing with two fsyncs", why);
	}
	return q->ordered;
}

void
queue_close(struct queue *q)
{
	int *fds[] = { &q->dirfd, &q->tmpfd, &q->messfd, &q->todofd };

	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static int
link_anonymous(int fd, int dirfd, const char *name)
{
	char path[40];

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW);
}

/*
 * Whether anonymous files can be linked here: that goes through
 * /proc/self/fd, which a chroot or a sandbox may lack or hide.  Read
 * once per process, without writing anything: a link made to find out
 * would cost every connection a change to tmp/.
 */
static int
anonymous_files_work(struct queue *q)
{
	char path[40], target[8];

	if (q->anonymous < 0) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", q->tmpfd);
		q->anonymous = readlink(path, target, sizeof target) > 0;
	}
	return q->anonymous;
}

/*
 * A new file for the queue, not yet visible to anyone: anonymous where
 * possible (name set to ""), else a unique name in tmp/.
 */
static int
create_tmp(struct queue *q, char *name, size_t namesize)
{
	static unsigned long serial;
	struct timeval tv;
	int fd;

	name[0] = '\0';
	if (anonymous_files_work(q)) {
		fd = openat(q->tmpfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
		    0600);
		/* EISDIR: a kernel older than O_TMPFILE; EOPNOTSUPP: a file
		 * system without it. */
		if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
			return fd;
		q->anonymous = 0;
	}
	for (int tries = 0; tries < 5; tries++) {
		gettimeofday(&tv, NULL);
		snprintf(name, namesize, "%ld.%ld.%ld.%lu", (long)getpid(),
		    (long)tv.tv_sec, (long)tv.tv_usec, serial++);
		fd = openat(q->tmpfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* Gives a file from create_tmp its name ID in dirfd. */
static int
publish(struct queue *q, int fd, const char *name, int dirfd, const char *id)
{
	if (name[0] != '\0')
		return renameat(q->tmpfd, name, dirfd, id);
	if (link_anonymous(fd, dirfd, id) == 0)
		return 0;
	/*
	 * This message gets a 4xx; the next ones use named files, whatever
	 * the reason: a /proc that is not what it seems can fail the link
	 * with any of ENOENT, EPERM, EACCES or EXDEV (a tmpfs queue), and
	 * where the disk is full or failing, named files fail no later.
	 */
	q->anonymous = 0;
	return -1;
}

/* Forgets a file from create_tmp: an anonymous one goes with its fd. */
static void
discard(struct queue *q, int fd, const char *name)
{
	if (fd >= 0)
		close(fd);
	if (name[0] != '\0')
		unlinkat(q->tmpfd, name, 0);
}

int
qmsg_create(struct queue *q, struct qmsg *m)
{
	struct timeval tv;
	struct stat st;

	m->id[0] = '\0';
	m->crc = 0;
	m->fd = create_tmp(q, m->tmpname, sizeof m->tmpname);
	if (m->fd < 0)
		return -1;
	if (fstat(m->fd, &st) < 0) {
		qmsg_abort(q, m);
		return -1;
	}
	gettimeofday(&tv, NULL);
	snprintf(m->id, sizeof m->id, "%llX%05lX.%llX",
	    (unsigned long long)tv.tv_sec, (unsigned long)tv.tv_usec,
	    (unsigned long long)st.st_ino);
	return 0;
}

int
qmsg_write(struct qmsg *m, const void *p, size_t n)
{
	m->crc = crc32_update(m->crc, p, n);
	return write_all(m->fd, p, n);
}

/*
 * Starts writing the file's data back before fsync waits for it.  Only
 * a hint: the fsync below is what the guarantee rests on.
 */
static void
start_writeback(int fd)
{
#ifdef SYNC_FILE_RANGE_WRITE
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
	(void)fd;
#endif
}

/*
 * The entry is linked into todo/ first, and the one fsync of the file
 * then commits data and name in one journal transaction.  Until it
 * returns, deliver may find the entry; a crash may leave it torn, which
 * its checksum tells (queue(5)).
 */
static int
commit_ordered(struct queue *q, struct qmsg *m, int fd)
{
	if (publish(q, fd, m->tmpname, q->todofd, m->id) < 0) {
		discard(q, fd, m->tmpname);
		return -1;
	}
	m->tmpname[0] = '\0';
	if (fsync(fd) < 0) {
		close(fd);
		unlinkat(q->todofd, m->id, 0);
		return -1;
	}
	if (close(fd) < 0) {
		unlinkat(q->todofd, m->id, 0);
		return -1;
	}
	return 0;
}

/* A PQE2 entry's map (queue(5)), appended to what is written. */
static int
write_map(struct qmsg *m, const struct qextent *map, size_t nmap)
{
	char rec[QMAP_RECORD + 1];

	for (size_t i = 0; i < nmap; i++) {
		snprintf(rec, sizeof rec, "%016llx %016llx\n",
		    (unsigned long long)map[i].off,
		    (unsigned long long)map[i].len);
		if (qmsg_write(m, rec, QMAP_RECORD) < 0)
			return -1;
	}
	return 0;
}

/*
 * One file per message: the message already written, then (when its
 * message is a list of pieces of what was written) the map, then the
 * envelope and a trailer that gives the lengths, so that a file cut
 * short is recognised (queue(5)).  The file is synced before it gets its
 * name in todo/, and todo/ is synced before the caller may say 250: two
 * fsyncs.  On any failure nothing of this message stays visible outside
 * tmp/.
 */
int
qmsg_commit_map(struct queue *q, struct qmsg *m, const struct qextent *map,
    size_t nmap, const char *env, size_t envlen)
{
	char trailer[QENTRY_TRAILER_SIZE + 1];
	struct stat st;
	int fd = m->fd;

	if (nmap > QMAP_MAX || fstat(fd, &st) < 0 ||
	    (map != NULL && write_map(m, map, nmap) < 0))
		goto fail;
	m->fd = -1;
	snprintf(trailer, sizeof trailer, "PQE%c %016llx %016llx %08lx\n",
	    map != NULL ? '2' : '1', (unsigned long long)st.st_size,
	    (unsigned long long)envlen,
	    (unsigned long)crc32_update(m->crc, env, envlen));
	if (write_all(fd, env, envlen) < 0 ||
	    write_all(fd, trailer, QENTRY_TRAILER_SIZE) < 0)
		goto fail;
	if (q->ordered != 0 && ordered_commit_safe(q))
		return commit_ordered(q, m, fd);
	start_writeback(fd);
	if (fsync(fd) < 0 || publish(q, fd, m->tmpname, q->todofd, m->id) < 0)
		goto fail;
	m->tmpname[0] = '\0';	/* a named file is gone from tmp/ now */
	if (close(fd) < 0 || fsync(q->todofd) < 0) {
		unlinkat(q->todofd, m->id, 0);
		return -1;
	}
	return 0;

fail:
	m->fd = -1;
	discard(q, fd, m->tmpname);
	return -1;
}

int
qmsg_commit(struct queue *q, struct qmsg *m, const char *env, size_t envlen)
{
	return qmsg_commit_map(q, m, NULL, 0, env, envlen);
}

void
qmsg_abort(struct queue *q, struct qmsg *m)
{
	if (m->fd >= 0) {
		discard(q, m->fd, m->tmpname);
		m->fd = -1;
	}
}

/* Wakes deliver if it is listening; no reader is not an error. */
void
queue_trigger(struct queue *q)
{
	int fd = openat(q->dirfd, "trigger",
	    O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0) {
		if (write(fd, "", 1) < 0) {
			/* A full FIFO already holds a wake-up. */
		}
		close(fd);
	}
}
