/*
 * enqueue.c - puts one message into the queue, speaking the qmail-queue
 * protocol: the message on descriptor 0 until end of file, then the
 * envelope on descriptor 1 (F sender NUL, T recipient NUL ..., NUL).
 * Exit codes are qmail-queue's, so filter chains built for qmail work.
 *
 * Installed set-user-ID to the queue's owner, it is how sendmail(8) lets
 * an ordinary user submit without being able to read or change the
 * queue, as qmail-queue is: then it takes no -C, -Q or environment, only
 * the directories it was built with, and enforces maxsize.
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
#include "dsn.h"
#include "envelope.h"
#include "util.h"

#define EXIT_ADDRESS_TOO_LONG 11
#define EXIT_REFUSED 31			/* too large: refused for good */
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
copy_message(struct queue *q, struct qmsg *m, unsigned long long maxsize)
{
	char buf[65536];
	unsigned long long size = 0;
	ssize_t n;

	while ((n = read_retry(0, buf, sizeof buf)) > 0) {
		size += (unsigned long long)n;
		if (maxsize > 0 && size > maxsize) {
			qmsg_abort(q, m);
			fail(EXIT_REFUSED, "message larger than maxsize");
		}
		if (qmsg_write(m, buf, (size_t)n) < 0) {
			qmsg_abort(q, m);
			fail(EXIT_WRITE_ERROR, "cannot write queue file");
		}
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
 * Checks the envelope's shape (envelope.h) and its DSN parameters;
 * returns 0 or an exit code.  *nrcpt gets the number of recipients.
 */
static int
check_envelope(const struct buf *env, unsigned long *nrcpt)
{
	struct env_reader r;
	struct env_item item;
	enum env_result res;

	*nrcpt = 0;
	if (env->len == 0)
		return EXIT_READ_ERROR;
	env_reader_init(&r, env->data, env->len);
	while ((res = env_next(&r, &item)) == ENV_ITEM) {
		struct dsn_mail m;
		struct dsn_rcpt rc;

		if (item.addr_len > ADDRESS_MAX)
			return EXIT_ADDRESS_TOO_LONG;
		if (item.params[0] != '\0' && (item.kind == 'F' ?
		    dsn_mail_parse(&m, item.params) :
		    dsn_rcpt_parse(&rc, item.params)) < 0)
			return EXIT_BAD_ENVELOPE;
		*nrcpt += item.kind == 'T';
	}
	if (res == ENV_CUT)
		return EXIT_READ_ERROR;
	if (res != ENV_END || *nrcpt == 0)
		return EXIT_BAD_ENVELOPE;
	return 0;
}

/*
 * Started set-user-ID by an ordinary user: the built-in directories
 * only (a directory the user chose could be any the owner can write,
 * a Maildir included), and the owner's identity for good, so that the
 * user can neither signal nor trace the process.  0, or -1 on error.
 */
static int
set_user_id(const char **confdir, const char **queuedir, int chosen)
{
	uid_t owner = geteuid();

	if (getuid() == owner || getuid() == 0)
		return 0;
	if (chosen) {
		errno = EPERM;
		return -1;
	}
	*confdir = CONFIG_DEFAULT_DIR;
	*queuedir = QUEUE_DEFAULT_DIR;
	return setresuid(owner, owner, owner);
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
	int opt, code, chosen = 0;
	uid_t invoker;

	version_option(argc, argv, "enqueue");

	while ((opt = getopt(argc, argv, "C:Q:h")) != -1) {
		if (opt == 'C')
			confdir = optarg;
		else if (opt == 'Q')
			queuedir = optarg;
		else
			usage();
		chosen = 1;
	}
	if (optind != argc)
		usage();
	invoker = getuid();	/* for the trace line, before becoming the owner */
	if (set_user_id(&confdir, &queuedir, chosen) < 0) {
		fprintf(stderr, "enqueue: %s\n", errno == EPERM ?
		    "-C and -Q are for root and the queue's owner" :
		    strerror(errno));
		exit(EXIT_QUEUE);
	}
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(TIME_LIMIT);
	log_init("enqueue");
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
	size = copy_message(&q, &m, cfg.maxsize);

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
