/*
 * pop3.c - the POP3 engine.
 *
 * AUTHORIZATION takes USER/PASS, APOP or AUTH PLAIN; a login opens and
 * locks the Maildir and moves to TRANSACTION.  DELE only marks: the
 * UPDATE state, in which messages are really removed, is entered by QUIT
 * from TRANSACTION and nothing else, so a dropped connection, a timeout
 * or a crash deletes nothing (RFC 1939 section 6).
 *
 * Replies go to an output buffer flushed when the reader has no more
 * pipelined commands (RFC 2449 PIPELINING) or when it is full; a
 * message is streamed through it in bounded pieces whatever its size.
 */
#include "pop3.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "route.h"
#include "tables.h"
#include "util.h"
#include "wire.h"

#define READ_CHUNK 65536	/* a piece of message: 2x on the wire */

/* ---- output ---- */

void
pop3_flush(struct pop3 *p)
{
	if (p->outlen > 0)
		driver_write(p->io, p->out, p->outlen);
	p->outlen = 0;
}

static void
put(struct pop3 *p, const char *data, size_t n)
{
	if (p->outlen + n > sizeof p->out)
		pop3_flush(p);
	if (n > sizeof p->out) {
		driver_write(p->io, data, n);
		return;
	}
	memcpy(p->out + p->outlen, data, n);
	p->outlen += n;
}

static void PRINTF_LIKE(2, 3)
respond(struct pop3 *p, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = format_clamped(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	line[n] = '\r';
	line[n + 1] = '\n';
	put(p, line, n + 2);
}

/* A reply after which the session ends. */
static void
respond_close(struct pop3 *p, const char *text)
{
	respond(p, "%s", text);
	p->state = POP3_CLOSED;
}

static void
count_error(struct pop3 *p, const char *text)
{
	if (++p->errors >= p->cfg->maxerrors) {
		log_msg(LOG_NOTICE, "pop3: client=%s too many errors", p->client);
		respond_close(p, "-ERR Too many errors, closing");
		return;
	}
	respond(p, "%s", text);
}

/* ---- state shared by the commands ---- */

static int
plaintext_allowed(const struct pop3 *p)
{
	if (p->encrypted)
		return 1;
	return p->cfg->authplaintext && p->tls != DRIVER_TLS_REQUIRED;
}

static void
maildrop_totals(const struct pop3 *p, size_t *count,
    unsigned long long *octets)
{
	*count = 0;
	*octets = 0;
	for (size_t i = 0; i < p->mb.count; i++)
		if (!p->mb.msgs[i].deleted) {
			(*count)++;
			*octets += p->mb.msgs[i].size;
		}
}

/* "N" naming a message that exists and is not deleted: its index. */
static int
message_arg(struct pop3 *p, const char *arg, size_t *index)
{
	unsigned long long n;

	if (parse_ulong(arg, p->mb.count, &n) < 0 || n == 0) {
		count_error(p, "-ERR No such message");
		return -1;
	}
	if (p->mb.msgs[n - 1].deleted) {
		respond(p, "-ERR Message %llu already deleted", n);
		return -1;
	}
	*index = (size_t)n - 1;
	return 0;
}

/* ---- AUTHORIZATION ---- */

static void
open_maildrop(struct pop3 *p, const char *user, const char *method)
{
	char maildir[1200], err[300];
	size_t count;
	unsigned long long octets;

	if (route_mailbox(p->cfg, user, maildir, sizeof maildir) < 0) {
		log_msg(LOG_NOTICE, "pop3: client=%s user=%s no mailbox",
		    p->client, user);
		respond(p, "-ERR [SYS/PERM] No mailbox here for this user");
		return;
	}
	switch (mailbox_open(&p->mb, maildir, err, sizeof err)) {
	case MAILBOX_LOCKED:
		log_msg(LOG_NOTICE, "pop3: client=%s user=%s mailbox in use",
		    p->client, user);
		respond(p, "-ERR [IN-USE] Mailbox in use by another session");
		return;
	case MAILBOX_ERROR:
		log_msg(LOG_ERR, "pop3: client=%s user=%s %s: %s", p->client,
		    user, maildir, err);
		respond(p, "-ERR [SYS/TEMP] Cannot open the mailbox");
		return;
	case MAILBOX_OK:
		break;
	}
	if (p->mb.truncated)
		log_msg(LOG_WARNING, "pop3: user=%s more than %d messages: "
		    "the rest wait for a later session", user,
		    MAILBOX_MAX_MESSAGES);
	str_copy(p->login, user, sizeof p->login);
	p->state = POP3_TRANSACTION;
	maildrop_totals(p, &count, &octets);
	log_msg(LOG_INFO, "pop3: client=%s user=%s method=%s login "
	    "messages=%zu octets=%llu", p->client, user, method, count, octets);
	respond(p, "+OK Logged in, %zu messages (%llu octets)", count, octets);
}

static void
refuse_login(struct pop3 *p, const char *user, const char *method,
    enum auth_result r)
{
	log_msg(LOG_NOTICE, "pop3: client=%s user=%s method=%s status=%s",
	    p->client, user, method, r == AUTH_TEMP ? "tempfail" : "failed");
	if (r == AUTH_TEMP) {
		respond(p, "-ERR [SYS/TEMP] Temporary authentication failure");
		return;
	}
	/* Slows guessing; the process serves this client alone. */
	if (p->cfg->authdelay > 0)
		sleep(p->cfg->authdelay);
	if (++p->failures >= p->cfg->authmaxfail) {
		respond_close(p, "-ERR [AUTH] Authentication failed; "
		    "too many failures, closing");
		return;
	}
	respond(p, "-ERR [AUTH] Authentication failed");
}

static void
login_with_password(struct pop3 *p, const char *user, char *password,
    const char *method)
{
	enum auth_result r = user[0] ? auth_check(p->cfg, user, password) :
	    AUTH_BAD;

	explicit_bzero(password, strlen(password));
	if (r == AUTH_OK)
		open_maildrop(p, user, method);
	else
		refuse_login(p, user, method, r);
}

static int
may_log_in(struct pop3 *p)
{
	if (plaintext_allowed(p))
		return 1;
	/* "use STLS" only where STLS is there to use */
	respond(p, p->tls == DRIVER_TLS_NONE ?
	    "-ERR [AUTH] Plaintext authentication needs TLS" :
	    "-ERR [AUTH] Plaintext authentication needs TLS: use STLS");
	return 0;
}

static void
cmd_user(struct pop3 *p, char *arg)
{
	if (!may_log_in(p))
		return;
	if (arg[0] == '\0' || strlen(arg) > POP3_USER_MAX) {
		count_error(p, "-ERR USER needs a name");
		return;
	}
	str_copy(p->user, arg, sizeof p->user);
	respond(p, "+OK Send PASS");
}

static void
cmd_pass(struct pop3 *p, char *arg)
{
	char user[POP3_USER_MAX + 1];

	if (p->user[0] == '\0') {
		count_error(p, "-ERR Send USER first");
		return;
	}
	str_copy(user, p->user, sizeof user);
	p->user[0] = '\0';
	if (!may_log_in(p))
		return;
	login_with_password(p, user, arg, "user");
}

/* APOP name digest: digest = MD5(greeting stamp + shared secret). */
static void
cmd_apop(struct pop3 *p, char *arg)
{
	char *digest = strrchr(arg, ' ');

	if (p->stamp[0] == '\0') {
		count_error(p, "-ERR APOP is not offered here");
		return;
	}
	if (digest == NULL || strlen(digest + 1) != 32 ||
	    digest - arg > POP3_USER_MAX) {
		count_error(p, "-ERR Usage: APOP name digest");
		return;
	}
	*digest++ = '\0';
	str_lower(digest);
	if (auth_check_apop(p->cfg, arg, p->stamp, digest) == AUTH_OK)
		open_maildrop(p, arg, "apop");
	else
		refuse_login(p, arg, "apop", AUTH_BAD);
}

/* The response to AUTH PLAIN: base64, "=" for empty, "*" to cancel. */
static void
finish_plain(struct pop3 *p, const char *response)
{
	char data[POP3_LINE_MAX], *pass;
	const char *user;
	size_t len;

	p->sasl_pending = 0;
	if (strcmp(response, "*") == 0) {
		respond(p, "-ERR Authentication cancelled");
		return;
	}
	if (strcmp(response, "=") == 0)
		response = "";
	if (base64_decode(response, data, sizeof data, &len) < 0 ||
	    auth_plain_split(data, len, &user, &pass) < 0)
		count_error(p, "-ERR Malformed AUTH PLAIN response");
	else
		login_with_password(p, user, pass, "plain");
	explicit_bzero(data, sizeof data);
}

static void
cmd_auth(struct pop3 *p, char *arg)
{
	char *initial = strchr(arg, ' ');

	if (arg[0] == '\0') {
		respond(p, "+OK Mechanisms follow\r\nPLAIN\r\n.");
		return;
	}
	if (initial != NULL)
		*initial++ = '\0';
	if (strcasecmp(arg, "PLAIN") != 0) {
		count_error(p, "-ERR Unrecognized authentication type");
		return;
	}
	if (!may_log_in(p))
		return;
	if (initial != NULL) {
		finish_plain(p, initial);
		return;
	}
	p->sasl_pending = 1;
	respond(p, "+ ");
}

static void
cmd_stls(struct pop3 *p, char *arg)
{
	(void)arg;
	if (p->tls == DRIVER_TLS_NONE || p->encrypted) {
		count_error(p, "-ERR STLS not available");
		return;
	}
	respond(p, "+OK Begin TLS negotiation");
	pop3_flush(p);
	if (p->tlsexec != NULL) {
		/* handed over: the wrapper and a new pop3d go on */
		if (tlsexec_starttls(p->tlsexec) < 0)
			log_msg(LOG_NOTICE, "pop3: client=%s TLS failed",
			    p->client);
		else
			log_msg(LOG_INFO, "pop3: client=%s handed to the TLS "
			    "wrapper", p->client);
		p->state = POP3_CLOSED;
		return;
	}
	if (driver_starttls(p->io) < 0) {
		log_msg(LOG_NOTICE, "pop3: client=%s TLS failed", p->client);
		p->state = POP3_CLOSED;
		return;
	}
	p->encrypted = 1;
	p->tls_started = 1;
	p->user[0] = '\0';
}

/* ---- both states ---- */

static void
cmd_capa(struct pop3 *p, char *arg)
{
	(void)arg;
	respond(p, "+OK Capability list follows");
	respond(p, "TOP");
	respond(p, "UIDL");
	respond(p, "RESP-CODES");
	respond(p, "AUTH-RESP-CODE");
	respond(p, "PIPELINING");
	if (p->state == POP3_AUTHORIZATION) {
		if (plaintext_allowed(p)) {
			respond(p, "USER");
			respond(p, "SASL PLAIN");
		}
		if (p->tls != DRIVER_TLS_NONE && !p->encrypted)
			respond(p, "STLS");
	}
	respond(p, "IMPLEMENTATION postern");
	respond(p, ".");
}

static void
cmd_quit(struct pop3 *p, char *arg)
{
	size_t count, deleted = 0, failed;
	unsigned long long octets;

	(void)arg;
	if (p->state != POP3_TRANSACTION) {
		respond_close(p, "+OK Bye");
		return;
	}
	for (size_t i = 0; i < p->mb.count; i++)
		deleted += p->mb.msgs[i].deleted != 0;
	failed = mailbox_update(&p->mb);
	maildrop_totals(p, &count, &octets);
	/* Unlocked before the reply: a client that logs in again as soon
	 * as it reads "+OK" must not find its own last session in the way. */
	mailbox_close(&p->mb);
	log_msg(LOG_INFO, "pop3: client=%s user=%s logout retrieved=%llu "
	    "octets=%llu deleted=%zu kept=%zu%s", p->client, p->login,
	    p->retrieved, p->retrieved_octets, deleted - failed, count,
	    failed ? " status=some-not-deleted" : "");
	if (failed > 0) {
		char text[120];
		snprintf(text, sizeof text, "-ERR [SYS/TEMP] %zu deleted "
		    "messages could not be removed", failed);
		respond_close(p, text);
		return;
	}
	respond_close(p, "+OK Bye");
}

/* ---- TRANSACTION ---- */

static void
cmd_stat(struct pop3 *p, char *arg)
{
	size_t count;
	unsigned long long octets;

	(void)arg;
	maildrop_totals(p, &count, &octets);
	respond(p, "+OK %zu %llu", count, octets);
}

/* LIST and UIDL: one message with an argument, a listing without. */
static void
list_or_uidl(struct pop3 *p, char *arg, int uidl)
{
	char id[UIDL_MAX + 1];
	size_t i;

	if (arg[0] != '\0') {
		if (message_arg(p, arg, &i) < 0)
			return;
		if (uidl) {
			mailbox_uidl(&p->mb, i, id, sizeof id);
			respond(p, "+OK %zu %s", i + 1, id);
		} else {
			respond(p, "+OK %zu %llu", i + 1, p->mb.msgs[i].size);
		}
		return;
	}
	respond(p, "+OK Listing follows");
	for (i = 0; i < p->mb.count; i++) {
		if (p->mb.msgs[i].deleted)
			continue;
		if (uidl) {
			mailbox_uidl(&p->mb, i, id, sizeof id);
			respond(p, "%zu %s", i + 1, id);
		} else {
			respond(p, "%zu %llu", i + 1, p->mb.msgs[i].size);
		}
	}
	respond(p, ".");
}

static void
cmd_list(struct pop3 *p, char *arg)
{
	list_or_uidl(p, arg, 0);
}

static void
cmd_uidl(struct pop3 *p, char *arg)
{
	list_or_uidl(p, arg, 1);
}

/* Streams message i, whole or its header and body_lines lines; the
 * reply is already "+OK".  A read error cannot be told to the client
 * any more: the session ends, so that it sees a cut, not a wrong text. */
static void
send_message(struct pop3 *p, int fd, unsigned long long body_lines)
{
	char in[READ_CHUNK];
	struct wire w;
	ssize_t n;
	off_t off = 0;
	size_t used;

	wire_init(&w, body_lines);
	while (!w.done && !p->io->broken &&
	    (n = pread(fd, in, sizeof in, off)) != 0) {
		if (n < 0) {
			log_msg(LOG_ERR, "pop3: user=%s read error in a "
			    "message", p->login);
			p->state = POP3_CLOSED;
			return;
		}
		if (p->outlen + 2 * (size_t)n > sizeof p->out)
			pop3_flush(p);
		p->outlen += wire_encode(&w, in, (size_t)n,
		    p->out + p->outlen, &used);
		off += n;
	}
	if (p->outlen + 2 > sizeof p->out)
		pop3_flush(p);
	p->outlen += wire_finish(&w, p->out + p->outlen);
	respond(p, ".");
}

static void
retrieve(struct pop3 *p, const char *numarg, unsigned long long body_lines)
{
	size_t i;
	int fd;

	if (message_arg(p, numarg, &i) < 0)
		return;
	fd = mailbox_open_message(&p->mb, i);
	if (fd < 0) {
		respond(p, "-ERR Message %zu was removed by another program",
		    i + 1);
		return;
	}
	if (body_lines == WIRE_ALL_LINES) {
		respond(p, "+OK %llu octets", p->mb.msgs[i].size);
		p->retrieved++;
		p->retrieved_octets += p->mb.msgs[i].size;
	} else {
		respond(p, "+OK Top of message follows");
	}
	send_message(p, fd, body_lines);
	close(fd);
}

static void
cmd_retr(struct pop3 *p, char *arg)
{
	retrieve(p, arg, WIRE_ALL_LINES);
}

/* TOP msg n: the header, the empty line, n lines of the body. */
static void
cmd_top(struct pop3 *p, char *arg)
{
	char *lines = strchr(arg, ' ');
	unsigned long long n;

	if (lines == NULL) {
		count_error(p, "-ERR Usage: TOP message lines");
		return;
	}
	*lines++ = '\0';
	if (parse_ulong(lines, WIRE_ALL_LINES - 1, &n) < 0) {
		count_error(p, "-ERR Usage: TOP message lines");
		return;
	}
	retrieve(p, arg, n);
}

static void
cmd_dele(struct pop3 *p, char *arg)
{
	size_t i;

	if (message_arg(p, arg, &i) < 0)
		return;
	p->mb.msgs[i].deleted = 1;
	respond(p, "+OK Message %zu deleted", i + 1);
}

static void
cmd_noop(struct pop3 *p, char *arg)
{
	(void)arg;
	respond(p, "+OK");
}

static void
cmd_rset(struct pop3 *p, char *arg)
{
	size_t count;
	unsigned long long octets;

	(void)arg;
	for (size_t i = 0; i < p->mb.count; i++)
		p->mb.msgs[i].deleted = 0;
	maildrop_totals(p, &count, &octets);
	respond(p, "+OK %zu messages (%llu octets)", count, octets);
}

/* ---- dispatch ---- */

#define IN_AUTHORIZATION 1
#define IN_TRANSACTION 2
#define NEEDS_ARG 4
#define NO_ARG 8

struct command {
	const char *name;
	void (*fn)(struct pop3 *p, char *arg);
	int flags;
};

static const struct command commands[] = {
	{ "USER", cmd_user, IN_AUTHORIZATION | NEEDS_ARG },
	{ "PASS", cmd_pass, IN_AUTHORIZATION },
	{ "APOP", cmd_apop, IN_AUTHORIZATION | NEEDS_ARG },
	{ "AUTH", cmd_auth, IN_AUTHORIZATION },
	{ "STLS", cmd_stls, IN_AUTHORIZATION | NO_ARG },
	{ "CAPA", cmd_capa, IN_AUTHORIZATION | IN_TRANSACTION | NO_ARG },
	{ "QUIT", cmd_quit, IN_AUTHORIZATION | IN_TRANSACTION | NO_ARG },
	{ "STAT", cmd_stat, IN_TRANSACTION | NO_ARG },
	{ "LIST", cmd_list, IN_TRANSACTION },
	{ "UIDL", cmd_uidl, IN_TRANSACTION },
	{ "RETR", cmd_retr, IN_TRANSACTION | NEEDS_ARG },
	{ "TOP", cmd_top, IN_TRANSACTION | NEEDS_ARG },
	{ "DELE", cmd_dele, IN_TRANSACTION | NEEDS_ARG },
	{ "NOOP", cmd_noop, IN_TRANSACTION | NO_ARG },
	{ "RSET", cmd_rset, IN_TRANSACTION | NO_ARG },
};

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* One line, CRLF removed; the reader has checked its length. */
void
pop3_line(struct pop3 *p, char *line, size_t len)
{
	const struct command *c;
	char *arg;
	int state = p->state == POP3_TRANSACTION ? IN_TRANSACTION :
	    IN_AUTHORIZATION;

	if (p->state == POP3_CLOSED)
		return;
	if (memchr(line, '\0', len) != NULL) {
		count_error(p, "-ERR NUL in command line");
		return;
	}
	if (p->sasl_pending) {
		finish_plain(p, line);
		explicit_bzero(line, len);
		return;
	}
	arg = strchr(line, ' ');
	if (arg != NULL)
		*arg++ = '\0';
	else
		arg = line + len;
	c = find_command(line);
	if (c == NULL) {
		count_error(p, "-ERR Unknown command");
		return;
	}
	if (!(c->flags & state)) {
		count_error(p, "-ERR Command not valid in this state");
		return;
	}
	if (((c->flags & NEEDS_ARG) && *arg == '\0') ||
	    ((c->flags & NO_ARG) && *arg != '\0')) {
		count_error(p, "-ERR Wrong arguments");
		return;
	}
	c->fn(p, arg);
	explicit_bzero(line, len);	/* PASS and AUTH carry secrets */
}

void
pop3_line_too_long(struct pop3 *p)
{
	p->sasl_pending = 0;
	count_error(p, "-ERR Line too long");
}

/* ---- the session's ends ---- */

void
pop3_init(struct pop3 *p, const struct config *cfg, struct driver *io,
    const char *client, int encrypted, enum driver_tls tls)
{
	memset(p, 0, sizeof *p);
	p->cfg = cfg;
	p->io = io;
	p->client = client;
	p->encrypted = encrypted;
	p->tls = tls;
	p->state = POP3_AUTHORIZATION;
	p->mb.dirfd = p->mb.curfd = p->mb.lockfd = -1;
	/* APOP needs a timestamp unique to this greeting (RFC 1939 7).
	 * Where TLS is mandatory it is never offered: it would be a login
	 * before STLS, and after STLS there is no new greeting. */
	if (cfg->tables[TABLE_POP3SECRETS].present &&
	    (encrypted || tls != DRIVER_TLS_REQUIRED)) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		snprintf(p->stamp, sizeof p->stamp, "<%ld.%lld.%ld@%s>",
		    (long)getpid(), (long long)now.tv_sec, now.tv_nsec,
		    cfg->hostname);
	}
}

void
pop3_greet(struct pop3 *p)
{
	log_msg(LOG_INFO, "pop3: connect client=%s", p->client);
	if (p->stamp[0])
		respond(p, "+OK %s POP3 ready %s", p->cfg->hostname, p->stamp);
	else
		respond(p, "+OK %s POP3 ready", p->cfg->hostname);
}

void
pop3_refuse(struct pop3 *p)
{
	log_msg(LOG_NOTICE, "pop3: reject client=%s reason=\"client denied\"",
	    p->client);
	respond_close(p, "-ERR [SYS/PERM] Access denied");
}

void
pop3_timeout(struct pop3 *p)
{
	log_msg(LOG_NOTICE, "pop3: client=%s user=%s timeout: nothing "
	    "deleted", p->client, p->login[0] ? p->login : "-");
	respond_close(p, "-ERR Disconnected for inactivity");
}

void
pop3_eof(struct pop3 *p)
{
	if (p->state == POP3_TRANSACTION)
		log_msg(LOG_NOTICE, "pop3: client=%s user=%s lost connection "
		    "before QUIT: nothing deleted", p->client, p->login);
	p->state = POP3_CLOSED;
}

void
pop3_end(struct pop3 *p)
{
	pop3_flush(p);
	mailbox_close(&p->mb);
}
