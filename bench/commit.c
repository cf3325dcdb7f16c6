/*
 * bench/commit.c - the queue commit protocol alone, without SMTP: PROCS
 * processes each commit MSGS messages of 4 KiB into QUEUEDIR, by one of
 * these variants, and the rate is printed with the mean time of each
 * fsync in the sequence (so the cost of each durability point shows):
 *
 *   floor     one file: write, fsync, rename in the same directory,
 *             fsync the directory (bench/floor.c's commit; 2 fsyncs)
 *   postern   queue.c since 2026-12-04: one anonymous file (O_TMPFILE)
 *             in tmp/ with message, envelope and trailer, fsynced,
 *             linked into todo/, todo/ fsynced (2 fsyncs)
 *   onesync   as postern, but linked before its only fsync, and todo/
 *             not synced: what the ordered-journal path of ext4
 *             (data=ordered) or xfs would do, where that one journal
 *             commit carries data and name (1 fsync; not used by
 *             postern until the crash-state checker proves it)
 *   twofile   queue.c from 2026-12-03 to 2026-12-04: message and
 *             envelope as two anonymous files, both fsynced, linked
 *             into mess/ and todo/, both directories fsynced (4 fsyncs)
 *   renamed   queue.c before 2026-12-03 (and its fallback): named files
 *             in tmp/, renamed into mess/ and todo/ (4 fsyncs)
 *   spec      SPEC's literal protocol: as renamed, without the fsync of
 *             mess/ (3 fsyncs)
 *   samedir   as renamed, but the files are made under temporary names
 *             in mess/ and todo/ themselves, so that no rename crosses
 *             directories (4 fsyncs)
 *   threads   as spec, with the message's and the envelope's fsyncs in
 *             two threads at once
 *   early     message renamed into mess/ before its fsync, which then
 *             carries the new name too on journaling file systems; then
 *             the envelope's fsync, its rename, the fsync of todo/
 *             (3 fsyncs)
 *
 * usage: commit QUEUEDIR PROCS MSGS VARIANT
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crc32.h"

#define MAX_SYNCS 4

enum variant { FLOOR, RENAMED, SPEC, SAMEDIR, THREADS, EARLY, TWOFILE,
    POSTERN, ONESYNC, VARIANTS };

struct dirs {
	int tmp, mess, todo;
};

/* Shared with the parent: per fsync position, total nanoseconds. */
static long long *sync_ns;
static long long *sync_count;

static long long
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void
timed_fsync(int fd, int position)
{
	long long t0 = now_ns();

	if (fsync(fd) < 0) {
		perror("fsync");
		exit(1);
	}
	__atomic_add_fetch(&sync_ns[position], now_ns() - t0, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sync_count[position], 1, __ATOMIC_RELAXED);
}

static int
create(int dir, const char *name, const char *data, size_t n)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL, 0600);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
		perror("create");
		exit(1);
	}
	return fd;
}

static void *
sync_envelope(void *arg)
{
	timed_fsync(*(int *)arg, 1);
	return NULL;
}

static void one_file(enum variant v, struct dirs *d, const char *id,
    const char *msg, size_t n, const char *env, size_t envlen);

static void
commit(enum variant v, struct dirs *d, const char *id, const char *msg,
    size_t n)
{
	static const char env[] = "Fa@b.test\0Tu@example.org\0";
	char m[80], e[80];
	int msgdir = v == SAMEDIR ? d->mess : d->tmp;
	int envdir = v == SAMEDIR ? d->todo : d->tmp;
	int mfd, efd;

	snprintf(m, sizeof m, ".m%s", id);
	snprintf(e, sizeof e, ".e%s", id);
	if (v == POSTERN || v == ONESYNC) {
		one_file(v, d, id, msg, n, env, sizeof env);
		return;
	}
	if (v == TWOFILE) {
		char path[64];
		mfd = openat(d->tmp, ".", O_TMPFILE | O_WRONLY, 0600);
		efd = openat(d->tmp, ".", O_TMPFILE | O_WRONLY, 0600);
		if (mfd < 0 || efd < 0 || write(mfd, msg, n) != (ssize_t)n ||
		    write(efd, env, sizeof env) != (ssize_t)sizeof env)
			exit(1);
		sync_file_range(mfd, 0, 0, SYNC_FILE_RANGE_WRITE);
		sync_file_range(efd, 0, 0, SYNC_FILE_RANGE_WRITE);
		timed_fsync(mfd, 0);
		timed_fsync(efd, 1);
		snprintf(path, sizeof path, "/proc/self/fd/%d", mfd);
		if (linkat(AT_FDCWD, path, d->mess, id, AT_SYMLINK_FOLLOW) < 0)
			exit(1);
		snprintf(path, sizeof path, "/proc/self/fd/%d", efd);
		if (linkat(AT_FDCWD, path, d->todo, id, AT_SYMLINK_FOLLOW) < 0)
			exit(1);
		close(mfd);
		close(efd);
		timed_fsync(d->mess, 2);
		timed_fsync(d->todo, 3);
		return;
	}
	mfd = create(msgdir, m, msg, n);
	if (v == FLOOR) {
		timed_fsync(mfd, 0);
		close(mfd);
		if (renameat(msgdir, m, msgdir, id) < 0)
			exit(1);
		timed_fsync(msgdir, 1);
		return;
	}
	efd = create(envdir, e, env, sizeof env);
	sync_file_range(mfd, 0, 0, SYNC_FILE_RANGE_WRITE);
	sync_file_range(efd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (v == EARLY) {
		if (renameat(msgdir, m, d->mess, id) < 0)
			exit(1);
		timed_fsync(mfd, 0);
		timed_fsync(efd, 1);
		close(mfd);
		close(efd);
		if (renameat(envdir, e, d->todo, id) < 0)
			exit(1);
		timed_fsync(d->todo, 3);
		return;
	}
	if (v == THREADS) {
		pthread_t t;
		pthread_create(&t, NULL, sync_envelope, &efd);
		timed_fsync(mfd, 0);
		pthread_join(t, NULL);
	} else {
		timed_fsync(mfd, 0);
		timed_fsync(efd, 1);
	}
	close(mfd);
	close(efd);
	if (renameat(msgdir, m, d->mess, id) < 0 ||
	    renameat(envdir, e, d->todo, id) < 0)
		exit(1);
	if (v == RENAMED || v == SAMEDIR)
		timed_fsync(d->mess, 2);
	timed_fsync(d->todo, 3);
}

static void
link_into(int fd, int dir, const char *id)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, path, dir, id, AT_SYMLINK_FOLLOW) < 0)
		exit(1);
}

/* One file: message, envelope, trailer (queue(5)). */
static void
one_file(enum variant v, struct dirs *d, const char *id, const char *msg,
    size_t n, const char *env, size_t envlen)
{
	char trailer[49];
	int fd = openat(d->tmp, ".", O_TMPFILE | O_WRONLY, 0600);

	snprintf(trailer, sizeof trailer, "PQE1 %016zx %016zx %08lx\n", n,
	    envlen, (unsigned long)crc32_update(crc32_update(0, msg, n), env,
	    envlen));
	if (fd < 0 || write(fd, msg, n) != (ssize_t)n ||
	    write(fd, env, envlen) != (ssize_t)envlen ||
	    write(fd, trailer, 48) != 48)
		exit(1);
	if (v == ONESYNC) {
		link_into(fd, d->todo, id);
		timed_fsync(fd, 0);
		close(fd);
		return;
	}
	sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	timed_fsync(fd, 0);
	link_into(fd, d->todo, id);
	close(fd);
	timed_fsync(d->todo, 1);
}

static void
worker(const char *queue, int k, int msgs, enum variant v)
{
	char msg[4096], id[40];
	struct dirs d;
	int q = open(queue, O_RDONLY | O_DIRECTORY);

	memset(msg, 'x', sizeof msg);
	d.tmp = openat(q, "tmp", O_RDONLY | O_DIRECTORY);
	d.mess = openat(q, "mess", O_RDONLY | O_DIRECTORY);
	d.todo = openat(q, "todo", O_RDONLY | O_DIRECTORY);
	if (d.tmp < 0 || d.mess < 0 || d.todo < 0)
		exit(1);
	for (int i = 0; i < msgs; i++) {
		snprintf(id, sizeof id, "%d.%d", k, i);
		commit(v, &d, id, msg, sizeof msg);
	}
	exit(0);
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "floor", "renamed", "spec",
	    "samedir", "threads", "early", "twofile", "postern", "onesync" };
	int procs, msgs, v = -1, q;
	long long t0;
	double seconds;

	if (argc != 5)
		return 2;
	procs = atoi(argv[2]);
	msgs = atoi(argv[3]);
	for (int i = 0; i < VARIANTS; i++)
		if (strcmp(argv[4], names[i]) == 0)
			v = i;
	if (v < 0 || procs < 1 || msgs < 1)
		return 2;
	sync_ns = mmap(NULL, 2 * MAX_SYNCS * sizeof *sync_ns,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sync_ns == MAP_FAILED)
		return 1;
	sync_count = sync_ns + MAX_SYNCS;
	q = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (q < 0 || mkdirat(q, "tmp", 0700) < 0 || mkdirat(q, "mess", 0700) < 0 ||
	    mkdirat(q, "todo", 0700) < 0) {
		perror(argv[1]);
		return 1;
	}
	t0 = now_ns();
	for (int k = 0; k < procs; k++)
		if (fork() == 0)
			worker(argv[1], k, msgs, (enum variant)v);
	while (wait(NULL) > 0)
		;
	seconds = (double)(now_ns() - t0) / 1e9;
	printf("%s procs=%d msg/s=%.0f fsync-us", names[v], procs,
	    procs * msgs / seconds);
	for (int i = 0; i < MAX_SYNCS; i++)
		if (sync_count[i] > 0)
			printf(" %.0f", (double)sync_ns[i] / sync_count[i] / 1000);
	printf("\n");
	return 0;
}
