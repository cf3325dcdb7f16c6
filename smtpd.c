/*
 * smtpd.c - one SMTP session on descriptors 0 and 1, as started by a
 * super-server per connection.  This file is the I/O driver: it reads the
 * configuration, finds the client, and moves bytes between the socket
 * and the protocol engine in session.c under the timeout.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "checks.h"
#include "client.h"
#include "config.h"
#include "driver.h"
#include "log.h"
#include "privdrop.h"
#include "qmailqueue.h"
#include "queue.h"
#include "queuesink.h"
#include "session.h"
#include "sink.h"
#include "tlsexec.h"
#include "util.h"

#define READ_BUF_SIZE 16384

static void NORETURN
usage(void)
{
	fprintf(stderr, "usage: smtpd [-hLNSTV] [-C confdir] [-Q queuedir] "
	    "[-t certfile] [-u user] [-W wrapper]\n");
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

/*
 * Reads and drops what the client has already sent: closing a socket
 * with unread data makes the kernel send a reset, which can reach the
 * client before the reply it should read.  Bounded, and never waits.
 */
static void
drain_pending_input(struct driver *d)
{
	char junk[4096];
	size_t total = 0;
	ssize_t n;

	while (total < 65536 && driver_wait_fd(d->in, POLLIN, 0) > 0 &&
	    (n = read_retry(d->in, junk, sizeof junk)) > 0)
		total += (size_t)n;
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
	r = driver_wait_fd(d->in, POLLIN, (int)seconds * 1000);
	if (r == 0)
		return 0;
	if (r > 0 && read_retry(d->in, &c, 1) == 1) {
		drain_pending_input(d);
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

		session_flush(s);
		if (d->broken) {
			session_eof(s);
			break;
		}
		n = driver_read(d, buf, sizeof buf);
		if (n == DRIVER_IDLE || n == DRIVER_EXPIRED) {
			session_timeout(s, n == DRIVER_EXPIRED);
			break;
		}
		if (n == DRIVER_EOF) {
			session_eof(s);
			break;
		}
		session_feed(s, buf, (size_t)n);
	}
	session_flush(s);
}

struct options {
	const char *confdir, *queuedir, *user;
	const char *tlscert;	/* -t: STARTTLS through the wrapper */
	const char *wrapper;	/* -W */
	int encrypted, network, local;
	int resumed;		/* -T: the encrypted part, after STARTTLS */
};

static void
parse_args(int argc, char **argv, struct options *o)
{
	int opt;

	o->confdir = config_conf_dir();
	o->queuedir = config_queue_dir();
	o->wrapper = "/usr/bin/tlswrapper";
	while ((opt = getopt(argc, argv, "C:LNQ:STt:u:W:h")) != -1) {
		switch (opt) {
		case 'L': o->local = 1; break;
		case 'N': o->network = 1; break;
		case 'S': o->encrypted = 1; break;
		case 'T': o->resumed = o->encrypted = o->network = 1; break;
		case 'C': o->confdir = optarg; break;
		case 'Q': o->queuedir = optarg; break;
		case 't': o->tlscert = optarg; break;
		case 'u': o->user = optarg; break;
		case 'W': o->wrapper = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || (o->tlscert != NULL && o->resumed))
		usage();
}

#define RESOLV_CONF "/etc/resolv.conf"

int
main(int argc, char **argv)
{
	const char *qmailqueue;
	struct options o = { .user = NULL };
	static struct tlsexec tlsexec = { .request_fd = -1 };
	int tls_by_exec = 0;
	static struct config cfg;
	struct queue queue;
	struct queue_sink qsink = { .queue = &queue, .msg = { .fd = -1 } };
	struct qmailqueue_sink qqsink;
	struct client client;
	struct session *s;
	static struct checks checks;
	struct driver d;
	struct session_io io = { driver_write, driver_input_pending,
	    driver_starttls, &d, NULL };
	char err[512], tls_err[512] = "";

	version_option(argc, argv, "smtpd");

	parse_args(argc, argv, &o);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init("smtpd");
	/* -t: the parent that will run the wrapper forks off here, before
	 * the privileges go (tlsexec.c); the encrypted part is smtpd -T. */
	if (o.tlscert != NULL && tlsexec_prepare(&tlsexec,
	    &(struct tlsexec_args){ o.wrapper, o.tlscert, o.confdir,
	    o.queuedir, o.user }, tls_err, sizeof tls_err) == 0) {
		tls_by_exec = 1;
		io.starttls = tlsexec_starttls;
		io.starttls_ctx = &tlsexec;
	}
	/* Before any input, configuration included, is read. */
	if (o.user != NULL && drop_privileges(o.user, err, sizeof err) < 0)
		die_unavailable(err);
	if (o.user == NULL &&
	    become_queue_owner(o.queuedir, err, sizeof err) < 0)
		die_unavailable(err);
	/* -L: no AUTH, so no passwd (which the user may not read) */
	if (config_load(&cfg, o.confdir,
	    TABLES_ALL & ~TABLE_BIT(TABLE_ROUTES) &
	    ~TABLE_BIT(TABLE_POP3SECRETS) &
	    ~(o.local ? TABLE_BIT(TABLE_PASSWD) : 0U), err, sizeof err) < 0)
		die_unavailable(err);
	log_to_stderr(cfg.log_stderr);
	config_report_warnings();
	if (tls_err[0] != '\0')
		log_msg(LOG_ERR, "%s", tls_err);

	qmailqueue = getenv("QMAILQUEUE");
	if (qmailqueue != NULL && *qmailqueue != '\0')
		qmailqueue_init(&qqsink, qmailqueue);
	else if (queue_open(&queue, o.queuedir, err, sizeof err) < 0)
		die_unavailable(err);
	else if (cfg.queuesync_ordered)
		queue_sync_ordered(&queue);

	s = malloc(sizeof *s);
	if (s == NULL)
		die_unavailable("out of memory");
	client_identify(&client, 0);
	client.encrypted = o.encrypted;
	/* -N: a network client behind a wrapper's pipes keeps socket rules. */
	if (o.network)
		client.is_socket = 1;
	/*
	 * -L: a local user's submission over a pipe (sendmail -bs), who may
	 * send anywhere, as through sendmail itself.  Never on a network
	 * connection: a super-server started so would be an open relay.
	 */
	if (o.local && client.is_socket)
		die_unavailable("-L is for a local pipe, not a network client");
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
	if (o.local)
		client.may_relay = 1;
	driver_init(&d, cfg.timeout, cfg.maxsessiontime);
	if (qmailqueue != NULL && *qmailqueue != '\0')
		session_init(s, &cfg, &client, &qmailqueue_sink_ops, &qqsink,
		    &io);
	else
		session_init(s, &cfg, &client, &queue_sink_ops, &qsink, &io);

	switch (driver_tls_setup(&d)) {
	case DRIVER_TLS_REQUIRED:
		s->tls_required = 1;
		/* FALLTHROUGH */
	case DRIVER_TLS_OFFERED:
		s->tls_available = 1;
		break;
	case DRIVER_TLS_NONE:
		break;
	}
	if (tls_by_exec) {
		const char *mode = getenv("UCSPITLS");
		s->tls_available = 1;
		s->tls_required = mode != NULL && strcmp(mode, "!") == 0;
	}

	checks_start(&checks, &cfg, &client, s, RESOLV_CONF);
	if (o.resumed) {
		/* after STARTTLS: no greeting (RFC 3207), the client speaks */
		log_msg(LOG_INFO, "tls: client=%s resumed encrypted",
		    client.addr[0] ? client.addr : "local");
		run_session(s, &d);
	} else if (greet_delay(s, &d, cfg.greetdelay) == 0) {
		checks_at_connect(&checks, &client);
		session_greet(s);
		run_session(s, &d);
	}
	session_flush(s);
	session_end(s);
	checks_end(&checks);
	free(s);
	if (qmailqueue == NULL || *qmailqueue == '\0')
		queue_close(&queue);
	config_free(&cfg);
	return 0;
}
