/*
 * enqueue.c - puts one message into the queue, speaking the qmail-queue
 * protocol: the message on descriptor 0 until end of file, then the
 * envelope on descriptor 1 (F sender NUL, T recipient NUL ..., NUL).
 * Exit codes are qmail-queue's, so filter chains built for qmail work.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "privdrop.h"
#include "queue.h"
#include "util.h"

#define EXIT_ADDRESS_TOO_LONG 11
#define EXIT_NO_MEMORY 51
#define EXIT_TIMEOUT 52
#define EXIT_WRITE_ERROR 53
#define EXIT_READ_ERROR 54
#define EXIT_CONFIG 55
#define EXIT_QUEUE 61
#define EXIT_BAD_ENVELOPE 91

#define ADDRESS_MAX 1000		/* generous; SMTP paths stop at 256 */
#define ENVELOPE_MAX (64UL << 20)	/* bounds memory, not recipients */
#define TIME_LIMIT 86400

static void NORETURN
fail(int code, const char *why)
{
	log_msg(LOG_WARNING, "not queued: status=%d reason=\"%s\"", code, why);
	exit(code);
}

static void
on_alarm(int sig)
{
	(void)sig;
	_exit(EXIT_TIMEOUT);
}

static void NORETURN
usage(void)
{
	fprintf(stderr, "usage: enqueue [-hV] [-C confdir] [-Q queuedir]"
	    " < message 1< envelope\n");
	exit(2);
}

/* Copies descriptor 0 into the message; returns its size. */
static unsigned long long
copy_message(struct queue *q, struct qmsg *m)
{
	char buf[65536];
	unsigned long long size = 0;
	ssize_t n;

	while ((n = read_retry(0, buf, sizeof buf)) > 0) {
		if (qmsg_write(m, buf, (size_t)n) < 0) {
			qmsg_abort(q, m);
			fail(EXIT_WRITE_ERROR, "cannot write queue file");
		}
		size += (unsigned long long)n;
	}
	if (n < 0) {
		qmsg_abort(q, m);
		fail(EXIT_READ_ERROR, "cannot read message");
	}
	return size;
}

static void
read_envelope(struct buf *env)
{
	char chunk[8192];
	ssize_t n;

	while ((n = read_retry(1, chunk, sizeof chunk)) > 0)
		if (buf_append(env, chunk, (size_t)n) < 0)
			fail(errno == E2BIG ? EXIT_BAD_ENVELOPE : EXIT_NO_MEMORY,
			    "envelope too large");
	if (n < 0)
		fail(EXIT_READ_ERROR, "cannot read envelope");
}

/*
 * Checks the envelope's shape; returns 0 or an exit code.  *nrcpt gets
 * the number of recipients.
 */
static int
check_envelope(const struct buf *env, unsigned long *nrcpt)
{
	const char *p = env->data, *end = env->data + env->len, *z;

	*nrcpt = 0;
	if (env->len == 0)
		return EXIT_READ_ERROR;
	if (*p != 'F')
		return EXIT_BAD_ENVELOPE;
	for (;;) {
		z = memchr(p, '\0', (size_t)(end - p));
		if (z == NULL)
			return EXIT_READ_ERROR;	/* cut short */
		if (z - p - 1 > ADDRESS_MAX)
			return EXIT_ADDRESS_TOO_LONG;
		p = z + 1;
		if (p == end)
			return EXIT_READ_ERROR;
		if (*p == '\0')
			break;
		if (*p != 'T')
			return EXIT_BAD_ENVELOPE;
		++*nrcpt;
	}
	if (p + 1 != end || *nrcpt == 0)
		return EXIT_BAD_ENVELOPE;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *confdir = config_conf_dir();
	const char *queuedir = config_queue_dir();
	static struct config cfg;
	struct queue q;
	struct qmsg m = { .fd = -1 };
	struct buf env;
	unsigned long long size;
	unsigned long nrcpt;
	char err[512], date[64], hdr[200];
	int opt, code;
	uid_t invoker;

	version_option(argc, argv, "enqueue");

	while ((opt = getopt(argc, argv, "C:Q:h")) != -1) {
		if (opt == 'C')
			confdir = optarg;
		else if (opt == 'Q')
			queuedir = optarg;
		else
			usage();
	}
	if (optind != argc)
		usage();
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(TIME_LIMIT);
	log_init("enqueue");
	invoker = getuid();	/* for the trace line, before becoming the owner */
	if (become_queue_owner(queuedir, err, sizeof err) < 0) {
		fprintf(stderr, "enqueue: %s\n", err);
		fail(EXIT_QUEUE, err);
	}

	if (config_load(&cfg, confdir, 0, err, sizeof err) < 0) {
		fprintf(stderr, "enqueue: %s\n", err);
		fail(EXIT_CONFIG, err);
	}
	log_to_stderr(cfg.log_stderr);
	config_report_warnings();
	if (queue_open(&q, queuedir, err, sizeof err) < 0) {
		fprintf(stderr, "enqueue: %s\n", err);
		fail(EXIT_QUEUE, err);
	}
	if (cfg.queuesync_ordered)
		queue_sync_ordered(&q);
	if (qmsg_create(&q, &m) < 0)
		fail(EXIT_QUEUE, "cannot create queue file");

	format_date(date, sizeof date);
	snprintf(hdr, sizeof hdr, "Received: (postern invoked by uid %lu); %s\n",
	    (unsigned long)invoker, date);
	if (qmsg_write(&m, hdr, strlen(hdr)) < 0) {
		qmsg_abort(&q, &m);
		fail(EXIT_WRITE_ERROR, "cannot write queue file");
	}
	size = copy_message(&q, &m);

	buf_init(&env, ENVELOPE_MAX);
	read_envelope(&env);
	code = check_envelope(&env, &nrcpt);
	if (code != 0) {
		qmsg_abort(&q, &m);
		fail(code, "bad envelope");
	}
	if (qmsg_commit(&q, &m, env.data, env.len) < 0)
		fail(EXIT_WRITE_ERROR, "cannot commit queue file");
	queue_trigger(&q);
	log_msg(LOG_INFO, "queued id=%s from=<%s> size=%llu nrcpt=%lu uid=%lu",
	    m.id, env.data + 1, size, nrcpt, (unsigned long)invoker);
	buf_free(&env);
	queue_close(&q);
	config_free(&cfg);
	return 0;
}
