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
	fprintf(stderr, "usage: pop3d [-hSV] [-C confdir] [-u user]\n");
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

static void
parse_args(int argc, char **argv, const char **confdir, const char **user,
    int *encrypted)
{
	int opt;

	*confdir = config_conf_dir();
	while ((opt = getopt(argc, argv, "C:Su:h")) != -1) {
		switch (opt) {
		case 'S':
			*encrypted = 1;
			break;
		case 'C':
			*confdir = optarg;
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
	const char *confdir, *user = NULL;
	int encrypted = 0;
	static struct config cfg;
	static struct pop3 pop3;
	struct client client;
	struct driver d;
	char err[512];

	version_option(argc, argv, "pop3d");

	parse_args(argc, argv, &confdir, &user, &encrypted);
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init("pop3d");
	/* Before any input, configuration included, is read. */
	if (user != NULL && drop_privileges(user, err, sizeof err) < 0)
		die_unavailable(err);
	if (config_load(&cfg, confdir, TABLE_BIT(TABLE_DOMAINS) |
	    TABLE_BIT(TABLE_CLIENTS) | TABLE_BIT(TABLE_USERS) |
	    TABLE_BIT(TABLE_ALIASES) | TABLE_BIT(TABLE_PASSWD) |
	    TABLE_BIT(TABLE_POP3SECRETS), err, sizeof err) < 0)
		die_unavailable(err);
	log_to_stderr(cfg.log_stderr);
	config_report_warnings();

	client_identify(&client, 0);
	driver_init(&d, cfg.pop3timeout, cfg.maxsessiontime);
	pop3_init(&pop3, &cfg, &d, client.addr[0] ? client.addr : "local",
	    encrypted, driver_tls_setup(&d));
	if (access_client(&cfg, client.addr) == CLIENT_DENY)
		pop3_refuse(&pop3);
	else
		pop3_greet(&pop3);
	run_session(&pop3, &d);
	pop3_end(&pop3);
	config_free(&cfg);
	return 0;
}
