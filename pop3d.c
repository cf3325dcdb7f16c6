/*
 * pop3d.c - one POP3 session on descriptors 0 and 1, as started by a
 * super-server per connection.  This file reads the configuration,
 * finds the client, and cuts the input into command lines for the
 * engine in pop3.c, under the driver's timeouts.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access.h"
#include "client.h"
#include "config.h"
#include "driver.h"
#include "log.h"
#include "pop3.h"
#include "privdrop.h"
#include "util.h"

#define READ_BUF_SIZE 4096

static void NORETURN
usage(void)
{
	fprintf(stderr, "usage: pop3d [-hSTV] [-C confdir] [-t certfile] "
	    "[-u user] [-W wrapper]\n");
	exit(2);
}

/* Before any session exists: a -ERR greeting, and a line on stderr. */
static void NORETURN
die_unavailable(const char *why)
{
	static const char greeting[] =
	    "-ERR [SYS/TEMP] Service temporarily unavailable\r\n";

	(void)write_all(1, greeting, sizeof greeting - 1);
	fprintf(stderr, "pop3d: %s\n", why);
	log_msg(LOG_ERR, "fatal: %s", why);
	exit(1);
}

/*
 * Hands each complete line to the engine.  A line longer than
 * POP3_LINE_MAX is refused as a whole and skipped to its end; what a
 * client sent before STLS took effect is thrown away (RFC 2595 4).
 */
static void
run_session(struct pop3 *p, struct driver *d)
{
	char buf[READ_BUF_SIZE];
	size_t have = 0;
	int skipping = 0;

	while (p->state != POP3_CLOSED) {
		char *nl;
		ssize_t n;

		while (p->state != POP3_CLOSED &&
		    (nl = memchr(buf, '\n', have)) != NULL) {
			size_t len = (size_t)(nl - buf), rest = have - len - 1;

			if (len > 0 && buf[len - 1] == '\r')
				len--;
			buf[len] = '\0';
			if (skipping)
				skipping = 0;
			else if (len > POP3_LINE_MAX)
				pop3_line_too_long(p);
			else
				pop3_line(p, buf, len);
			memmove(buf, nl + 1, rest);
			have = rest;
			if (p->tls_started) {
				have = 0;
				p->tls_started = 0;
			}
		}
		if (p->state == POP3_CLOSED)	/* what follows QUIT is not read */
			break;
		if (have > POP3_LINE_MAX + 1) {
			if (!skipping)
				pop3_line_too_long(p);
			skipping = 1;
			have = 0;
		}
		pop3_flush(p);
		if (d->broken)
			break;
		n = driver_read(d, buf + have, sizeof buf - 1 - have);
		if (n == DRIVER_IDLE || n == DRIVER_EXPIRED) {
			pop3_timeout(p);
			break;
		}
		if (n == DRIVER_EOF) {
			pop3_eof(p);
			break;
		}
		have += (size_t)n;
	}
	if (d->broken)
		pop3_eof(p);
}

struct options {
	const char *confdir, *user;
	const char *tlscert;	/* -t: STLS through the wrapper */
	const char *wrapper;	/* -W */
	int encrypted;
	int resumed;		/* -T: the encrypted part, after STLS */
};

static void
parse_args(int argc, char **argv, struct options *o)
{
	int opt;

	o->confdir = config_conf_dir();
	o->wrapper = "/usr/bin/tlswrapper";
	while ((opt = getopt(argc, argv, "C:STt:u:W:h")) != -1) {
		switch (opt) {
		case 'S': o->encrypted = 1; break;
		case 'T': o->resumed = o->encrypted = 1; break;
		case 'C': o->confdir = optarg; break;
		case 't': o->tlscert = optarg; break;
		case 'u': o->user = optarg; break;
		case 'W': o->wrapper = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || (o->tlscert != NULL && o->resumed))
		usage();
}

int
main(int argc, char **argv)
{
	struct options o = { .user = NULL };
	static struct tlsexec tlsexec = { .request_fd = -1 };
	static struct config cfg;
	static struct pop3 pop3;
	struct client client;
	struct driver d;
	enum driver_tls tls;
	char err[512], tls_err[512] = "";
	int tls_by_exec = 0;

	version_option(argc, argv, "pop3d");

	parse_args(argc, argv, &o);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init("pop3d");
	/* -t: as smtpd's (tlsexec.c); the encrypted part is pop3d -T. */
	if (o.tlscert != NULL && tlsexec_prepare(&tlsexec,
	    &(struct tlsexec_args){ o.wrapper, o.tlscert, o.confdir, NULL,
	    o.user }, tls_err, sizeof tls_err) == 0)
		tls_by_exec = 1;
	/* Before any input, configuration included, is read. */
	if (o.user != NULL && drop_privileges(o.user, err, sizeof err) < 0)
		die_unavailable(err);
	if (config_load(&cfg, o.confdir, TABLE_BIT(TABLE_DOMAINS) |
	    TABLE_BIT(TABLE_CLIENTS) | TABLE_BIT(TABLE_USERS) |
	    TABLE_BIT(TABLE_ALIASES) | TABLE_BIT(TABLE_PASSWD) |
	    TABLE_BIT(TABLE_POP3SECRETS), err, sizeof err) < 0)
		die_unavailable(err);
	log_to_stderr(cfg.log_stderr);
	config_report_warnings();
	if (tls_err[0] != '\0')
		log_msg(LOG_ERR, "%s", tls_err);

	client_identify(&client, 0);
	driver_init(&d, cfg.pop3timeout, cfg.maxsessiontime);
	tls = driver_tls_setup(&d);
	if (tls_by_exec) {
		const char *mode = getenv("UCSPITLS");
		tls = mode != NULL && strcmp(mode, "!") == 0 ?
		    DRIVER_TLS_REQUIRED : DRIVER_TLS_OFFERED;
	}
	pop3_init(&pop3, &cfg, &d, client.addr[0] ? client.addr : "local",
	    o.encrypted, tls);
	if (tls_by_exec)
		pop3.tlsexec = &tlsexec;
	if (access_client(&cfg, client.addr) == CLIENT_DENY)
		pop3_refuse(&pop3);
	else if (o.resumed)
		/* after STLS: no greeting (RFC 2595 4) */
		log_msg(LOG_INFO, "pop3: client=%s resumed encrypted",
		    pop3.client);
	else
		pop3_greet(&pop3);
	run_session(&pop3, &d);
	pop3_end(&pop3);
	config_free(&cfg);
	return 0;
}
