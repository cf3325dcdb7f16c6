/*
 * smtpd.c - one SMTP session on descriptors 0 and 1, as started by a
 * super-server per connection.  This file is the I/O driver: it reads the
 * configuration, finds the client, and moves bytes between the socket
 * and the protocol engine in session.c under the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "client.h"
#include "config.h"
#include "log.h"
#include "privdrop.h"
#include "qmailqueue.h"
#include "queue.h"
#include "queuesink.h"
#include "session.h"
#include "sink.h"
#include "util.h"

#define READ_BUF_SIZE 16384

struct driver {
	int in;
	int out;
	int tls_ctl;		/* UCSPI-TLS: the wrapper's control descriptor */
	int tls_read;
	int tls_write;
	int out_is_socket;
	int timeout_ms;
	struct timespec deadline;	/* the whole session's */
	int broken;	/* the client stopped reading, or went away */
};

static void NORETURN
usage(void)
{
	fprintf(stderr, "usage: smtpd [-NS] [-C confdir] [-Q queuedir] [-u user]\n");
	exit(2);
}

/* Before any session exists: the 421 of SPEC, and a line on stderr. */
static void NORETURN
die_unavailable(const char *why)
{
	static const char greeting[] =
	    "421 4.3.0 Service temporarily unavailable\r\n";

	(void)write_all(1, greeting, sizeof greeting - 1);
	fprintf(stderr, "smtpd: %s\n", why);
	log_msg(LOG_ERR, "fatal: %s", why);
	exit(1);
}

/* The smaller of the per-read timeout and what is left of the session. */
static int
next_timeout(const struct driver *d)
{
	struct timespec now;
	long long left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Rounded up, so that a wait that times out is past the deadline. */
	left = (d->deadline.tv_sec - now.tv_sec) * 1000LL +
	    (d->deadline.tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (left < 0)
		left = 0;
	return left < d->timeout_ms ? (int)left : d->timeout_ms;
}

static int
past_deadline(const struct driver *d)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > d->deadline.tv_sec ||
	    (now.tv_sec == d->deadline.tv_sec &&
	    now.tv_nsec >= d->deadline.tv_nsec);
}

/* Waits for fd to be ready; 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

static ssize_t
write_some(struct driver *d, const char *p, size_t n)
{
	if (d->out_is_socket)
		return send(d->out, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(d->out, p, n);
}

/* Every write has the same deadline as a read: a client that stops
 * reading is cut off like one that stops talking. */
static void
driver_write(void *ctx, const char *p, size_t n)
{
	struct driver *d = ctx;

	while (n > 0 && !d->broken) {
		ssize_t w;

		if (wait_fd(d->out, POLLOUT, next_timeout(d)) <= 0) {
			d->broken = 1;
			break;
		}
		w = write_some(d, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			d->broken = 1;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
}

/*
 * The UCSPI-TLS handshake with the wrapper: "Y" on the control
 * descriptor starts TLS, and the wrapper answers with its variables,
 * "NAME=value" NUL ..., ended by an empty one (two NULs in a row).  From
 * then on the session reads and writes the wrapper's descriptors.
 */
static int
driver_starttls(void *ctx)
{
	struct driver *d = ctx;
	char vars[4096];
	size_t len = 0;
	int nuls = 0;	/* NULs in a row: two end the list */
	struct stat st;

	if (write_all(d->tls_ctl, "Y", 1) < 0)
		return -1;
	while (nuls < 2) {
		char c;

		if (len == sizeof vars ||
		    wait_fd(d->tls_ctl, POLLIN, next_timeout(d)) <= 0 ||
		    read_retry(d->tls_ctl, &c, 1) != 1)
			return -1;
		vars[len++] = c;
		nuls = c == '\0' ? nuls + 1 : 0;
	}
	for (size_t i = 0; i < len && vars[i]; i += strlen(vars + i) + 1)
		if (strncmp(vars + i, "SSL_PROTOCOL=", 13) == 0 ||
		    strncmp(vars + i, "SSL_CIPHER=", 11) == 0)
			log_msg(LOG_INFO, "tls: %s", vars + i);
	d->in = d->tls_read;
	d->out = d->tls_write;
	d->out_is_socket = fstat(d->out, &st) == 0 && S_ISSOCK(st.st_mode);
	return 0;
}

/* A descriptor number from the environment, if it names an open one. */
static int
env_fd(const char *name)
{
	const char *v = getenv(name);
	unsigned long long fd;

	if (v == NULL || parse_ulong(v, 1024, &fd) < 0 ||
	    fcntl((int)fd, F_GETFD) < 0)
		return -1;
	return (int)fd;
}

/* UCSPITLS "-" turns TLS off; "!" makes it mandatory. */
static void
setup_ucspi_tls(struct driver *d, struct session *s)
{
	const char *mode = getenv("UCSPITLS");

	d->tls_ctl = env_fd("SSLCTLFD");
	d->tls_read = env_fd("SSLREADFD");
	d->tls_write = env_fd("SSLWRITEFD");
	if (d->tls_ctl < 0 || d->tls_read < 0 || d->tls_write < 0 ||
	    (mode != NULL && strcmp(mode, "-") == 0))
		return;
	s->tls_available = 1;
	s->tls_required = mode != NULL && strcmp(mode, "!") == 0;
}

static int
driver_input_pending(void *ctx)
{
	struct driver *d = ctx;

	return wait_fd(d->in, POLLIN, 0) > 0;
}

/*
 * greetdelay: a client that talks before the greeting is a spambot that
 * does not wait for replies; it gets 554 and is dropped.  Returns 0 to go
 * on, -1 to end the session.
 */
static int
greet_delay(struct session *s, struct driver *d, unsigned seconds)
{
	char c;
	int r;

	if (seconds == 0)
		return 0;
	r = wait_fd(d->in, POLLIN, (int)seconds * 1000);
	if (r == 0)
		return 0;
	if (r > 0 && read_retry(d->in, &c, 1) == 1) {
		log_msg(LOG_NOTICE, "reject: client=%s reason=\"talked "
		    "before greeting\"", s->client->addr[0] ?
		    s->client->addr : "local");
		session_reply_close(s, "554 5.5.0 Error: talked before greeting");
	} else {
		session_eof(s);
	}
	return -1;
}

static void
run_session(struct session *s, struct driver *d)
{
	char buf[READ_BUF_SIZE];

	while (!session_closed(s)) {
		ssize_t n;
		int r;

		session_flush(s);
		if (d->broken) {
			session_eof(s);
			break;
		}
		/* A client that always has more to send still stops here. */
		if (past_deadline(d)) {
			session_timeout(s, 1);
			break;
		}
		r = wait_fd(d->in, POLLIN, next_timeout(d));
		if (r == 0) {
			session_timeout(s, past_deadline(d));
			break;
		}
		n = r < 0 ? -1 : read_retry(d->in, buf, sizeof buf);
		if (n <= 0) {
			session_eof(s);
			break;
		}
		session_feed(s, buf, (size_t)n);
	}
	session_flush(s);
}

static void
parse_args(int argc, char **argv, const char **confdir, const char **queuedir,
    const char **user, int *encrypted, int *network)
{
	int opt;

	*confdir = config_conf_dir();
	*queuedir = config_queue_dir();
	while ((opt = getopt(argc, argv, "C:NQ:Su:h")) != -1) {
		switch (opt) {
		case 'N':
			*network = 1;
			break;
		case 'S':
			*encrypted = 1;
			break;
		case 'C':
			*confdir = optarg;
			break;
		case 'Q':
			*queuedir = optarg;
			break;
		case 'u':
			*user = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

int
main(int argc, char **argv)
{
	const char *confdir, *queuedir, *qmailqueue, *user = NULL;
	int encrypted = 0, network = 0;
	static struct config cfg;
	struct queue queue;
	struct queue_sink qsink = { .queue = &queue, .msg = { .fd = -1 } };
	struct qmailqueue_sink qqsink;
	struct client client;
	struct session *s;
	struct driver d = { .in = 0, .out = 1 };
	struct session_io io = { driver_write, driver_input_pending,
	    driver_starttls, &d };
	struct stat st;
	char err[512];

	parse_args(argc, argv, &confdir, &queuedir, &user, &encrypted, &network);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init("smtpd");
	/* Before any input, configuration included, is read. */
	if (user != NULL && drop_privileges(user, err, sizeof err) < 0)
		die_unavailable(err);
	if (config_load(&cfg, confdir,
	    TABLES_ALL & ~TABLE_BIT(TABLE_ROUTES), err, sizeof err) < 0)
		die_unavailable(err);
	log_to_stderr(cfg.log_stderr);
	config_report_warnings();

	qmailqueue = getenv("QMAILQUEUE");
	if (qmailqueue != NULL && *qmailqueue != '\0')
		qmailqueue_init(&qqsink, qmailqueue);
	else if (queue_open(&queue, queuedir, err, sizeof err) < 0)
		die_unavailable(err);

	s = malloc(sizeof *s);
	if (s == NULL)
		die_unavailable("out of memory");
	client_identify(&client, 0);
	client.encrypted = encrypted;
	/* -N: a network client behind a wrapper's pipes keeps socket rules. */
	if (network)
		client.is_socket = 1;
	switch (access_client(&cfg, client.addr)) {
	case CLIENT_DENY:
		client.denied = 1;
		break;
	case CLIENT_RELAY:
		client.may_relay = 1;
		break;
	default:
		break;
	}
	d.out_is_socket = fstat(1, &st) == 0 && S_ISSOCK(st.st_mode);
	d.timeout_ms = (int)cfg.timeout * 1000;
	clock_gettime(CLOCK_MONOTONIC, &d.deadline);
	d.deadline.tv_sec += (time_t)cfg.maxsessiontime;
	if (qmailqueue != NULL && *qmailqueue != '\0')
		session_init(s, &cfg, &client, &qmailqueue_sink_ops, &qqsink,
		    &io);
	else
		session_init(s, &cfg, &client, &queue_sink_ops, &qsink, &io);

	setup_ucspi_tls(&d, s);

	if (greet_delay(s, &d, cfg.greetdelay) == 0) {
		session_greet(s);
		run_session(s, &d);
	}
	session_flush(s);
	session_end(s);
	free(s);
	if (qmailqueue == NULL || *qmailqueue == '\0')
		queue_close(&queue);
	config_free(&cfg);
	return 0;
}
