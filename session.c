/*
 * session.c - the SMTP protocol engine: line assembly, the verb table,
 * one handler per verb, and the replies.
 *
 * Replies go into a buffer that the driver writes out only before it
 * waits for more input, so a pipelined group of commands gets its
 * replies in order and in as few writes as possible (RFC 2920).
 */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "access.h"
#include "auth.h"
#include "dsn.h"
#include "log.h"
#include "content.h"
#include "message.h"
#include "route.h"
#include "srs.h"

#define NEEDS_HELO 1		/* 503 before HELO/EHLO */
#define TAKES_PARAMS 2		/* may use 4096-octet lines (ESMTP parameters) */
#define WHEN_DENIED 4		/* answered even for a denied client */

struct verb {
	const char *name;
	void (*run)(struct session *s, char *arg, size_t octets);
	unsigned flags;
};

static const char *
client_name(const struct session *s)
{
	return s->client->addr[0] ? s->client->addr : "local";
}

static void
out_append(struct session *s, const char *p, size_t n)
{
	if (s->outlen + n > sizeof s->out)
		session_flush(s);
	if (n > sizeof s->out)
		n = sizeof s->out;
	memcpy(s->out + s->outlen, p, n);
	s->outlen += n;
}

void
session_flush(struct session *s)
{
	if (s->outlen > 0)
		s->io.write_out(s->io.ctx, s->out, s->outlen);
	s->outlen = 0;
}

static void
out_line(struct session *s, const char *line)
{
	out_append(s, line, strlen(line));
	out_append(s, "\r\n", 2);
}

static void
tx_reset(struct session *s)
{
	struct tx *t = &s->tx;

	if (t->mail_given && s->checks.reset != NULL)
		s->checks.reset(s->checks.ctx, s);
	message_abort(s);
	buf_reset(&t->envelope);
	t->mail_given = 0;
	t->first_rcpt = 0;
	t->nrcpt = 0;
	t->rcpt_tried = 0;
	t->smtputf8 = 0;
	t->used_bdat = 0;
	t->write_failed = 0;
	t->too_big = 0;
	t->size = 0;
	t->id[0] = '\0';
	t->declared_size = 0;
	t->prepend[0] = '\0';
	t->hold = 0;
	t->discard = 0;
}

/* Sends a final line, drops any transaction, and ends the session. */
void
session_reply_close(struct session *s, const char *line)
{
	if (s->state == STATE_CLOSED)
		return;
	tx_reset(s);
	out_line(s, line);
	s->state = STATE_CLOSED;
}

/*
 * The one path for replies to commands.  Every 4xx and 5xx counts
 * towards maxerrors; the reply that reaches the limit is still sent.
 */
static void PRINTF_LIKE(2, 3)
reply(struct session *s, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	out_line(s, line);
	if (line[0] != '4' && line[0] != '5')
		return;
	if (++s->errors >= s->cfg->maxerrors) {
		char bye[320];
		log_msg(LOG_NOTICE, "too many errors: client=%s errors=%u",
		    client_name(s), s->errors);
		snprintf(bye, sizeof bye, "421 4.7.0 %s Error: too many errors",
		    s->cfg->hostname);
		session_reply_close(s, bye);
	}
}

/* A refusal: logged with the command and the address, then replied. */
static void
refuse(struct session *s, const char *cmd, const char *addr,
    const char *text)
{
	log_msg(LOG_NOTICE, "reject: cmd=%s client=%s helo=%s from=<%s> "
	    "to=<%s> reason=\"%s\"", cmd, client_name(s),
	    s->helo[0] ? s->helo : "-",
	    s->tx.mail_given ? s->tx.envelope.data + 1 : "",
	    addr ? addr : "", text);
	reply(s, "%s", text);
}

void
session_init(struct session *s, const struct config *cfg,
    const struct client *client, const struct sink_ops *sink, void *sinkctx,
    const struct session_io *io)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->client = client;
	s->sink = sink;
	s->sinkctx = sinkctx;
	s->io = *io;
	s->state = STATE_COMMAND;
	s->encrypted = client->encrypted;
	/* The envelope holds at most maxrcpt addresses and the sender. */
	buf_init(&s->tx.envelope,
	    ((size_t)cfg->maxrcpt + 2) * (PATH_MAX_SMTP + 2));
}

void
session_set_checks(struct session *s, const struct session_checks *c)
{
	s->checks = *c;
}

void
session_greet(struct session *s)
{
	char line[600];

	log_msg(LOG_INFO, "connect client=%s", client_name(s));
	if (s->client->denied && s->client->deny_reply[0] != '\0') {
		log_msg(LOG_NOTICE, "reject: cmd=CONNECT client=%s "
		    "reason=\"%s\"", client_name(s), s->client->deny_reply);
		str_copy(line, s->client->deny_reply, sizeof line);
	} else if (s->client->denied) {
		log_msg(LOG_NOTICE, "reject: cmd=CONNECT client=%s "
		    "reason=\"client denied by clients\"", client_name(s));
		snprintf(line, sizeof line, "554 5.7.1 %s Access denied",
		    s->cfg->hostname);
	} else {
		snprintf(line, sizeof line, "220 %s %s", s->cfg->hostname,
		    s->cfg->banner);
	}
	out_line(s, line);
}

/* ---- the verbs ---- */

/* AUTH needs credentials to check and, unless allowed, an encrypted channel. */
static int
auth_offered(const struct session *s)
{
	return auth_available(s->cfg) &&
	    (s->encrypted || s->cfg->authplaintext);
}

/*
 * Relaying, and exemption from strictsync and the DNS lists: a relay
 * client or a login.
 */
int
session_trusted(const struct session *s)
{
	return s->client->may_relay || s->auth_user[0] != '\0';
}


/* Records the client's HELO or EHLO name; 0 when accepted. */
static int
accept_helo(struct session *s, char *arg, int kind)
{
	size_t n;

	while (*arg == ' ')
		arg++;
	n = strlen(arg);
	while (n > 0 && arg[n - 1] == ' ')
		arg[--n] = '\0';
	if (*arg == '\0') {
		reply(s, "501 5.5.2 Syntax: %s hostname",
		    kind == 2 ? "EHLO" : "HELO");
		return -1;
	}
	if (strlen(arg) >= sizeof s->helo) {
		reply(s, "501 5.5.2 Error: name too long");
		return -1;
	}
	tx_reset(s);
	str_copy(s->helo, arg, sizeof s->helo);
	s->helo_kind = kind;
	return 0;
}

/* The checks' verdict on an accepted HELO/EHLO name: 0 go on. */
static int
judge_helo(struct session *s, const char *cmd)
{
	const char *why;

	if (s->checks.helo == NULL ||
	    (why = s->checks.helo(s->checks.ctx, s)) == NULL)
		return 0;
	refuse(s, cmd, NULL, why);
	s->helo[0] = '\0';
	s->helo_kind = 0;
	return -1;
}

static void
cmd_helo(struct session *s, char *arg, size_t octets)
{
	(void)octets;
	if (accept_helo(s, arg, 1) == 0 && judge_helo(s, "HELO") == 0)
		reply(s, "250 %s", s->cfg->hostname);
}

static void
cmd_ehlo(struct session *s, char *arg, size_t octets)
{
	char line[320];

	(void)octets;
	if (accept_helo(s, arg, 2) < 0 || judge_helo(s, "EHLO") < 0)
		return;
	snprintf(line, sizeof line, "250-%s", s->cfg->hostname);
	out_line(s, line);
	out_line(s, "250-PIPELINING");
	snprintf(line, sizeof line, "250-SIZE %llu", s->cfg->maxsize);
	out_line(s, line);
	out_line(s, "250-8BITMIME");
	out_line(s, "250-ENHANCEDSTATUSCODES");
	out_line(s, "250-SMTPUTF8");
	out_line(s, "250-DSN");
	if (s->tls_available && !s->encrypted)
		out_line(s, "250-STARTTLS");
	if (auth_offered(s))
		out_line(s, "250-AUTH PLAIN LOGIN");
	out_line(s, "250 CHUNKING");
}

/* Appends an F or T item to the envelope being built. */
static int
envelope_add(struct session *s, char kind, const char *addr)
{
	return buf_append(&s->tx.envelope, &kind, 1) < 0 ||
	    buf_append(&s->tx.envelope, addr, strlen(addr) + 1) < 0 ? -1 : 0;
}

/* Its DSN parameters (envelope.h), when the client gave any. */
static int
envelope_add_dsn(struct session *s, const char *params)
{
	if (params[0] == '\0')
		return 0;
	return buf_append(&s->tx.envelope, "P", 1) < 0 ||
	    buf_append(&s->tx.envelope, params, strlen(params) + 1) < 0 ?
	    -1 : 0;
}

/* The SMTP form of MAIL's (m) or RCPT's (r) DSN parameters. */
static const char *
dsn_params(const struct dsn_mail *m, const struct dsn_rcpt *r)
{
	static char text[DSN_PARAMS_MAX + 1];

	if (m != NULL)
		dsn_mail_format(m, text, sizeof text);
	else
		dsn_rcpt_format(r, text, sizeof text);
	return text;
}

struct mail_params {
	unsigned long long size;
	int smtputf8;
	int any;
	struct dsn_mail dsn;
};

/* Parses MAIL FROM parameters; returns the refusal, or NULL. */
static const char *
parse_mail_params(struct session *s, char *p, struct mail_params *mp)
{
	char *tok, *save = NULL;

	memset(mp, 0, sizeof *mp);
	for (tok = strtok_r(p, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		char *value = strchr(tok, '=');

		mp->any = 1;
		if (s->helo_kind != 2)
			return "555 5.5.4 Error: parameters need EHLO";
		if (value != NULL)
			*value++ = '\0';
		switch (dsn_mail_param(&mp->dsn, tok, value)) {
		case 1:
			continue;
		case -1:
			return "501 5.5.4 Error: bad or repeated DSN parameter";
		}
		if (str_casecmp_n(tok, "SIZE", 5) == 0) {
			if (value == NULL || parse_ulong(value, ~0ULL >> 1,
			    &mp->size) < 0)
				return "501 5.5.4 Error: bad SIZE parameter";
		} else if (str_casecmp_n(tok, "BODY", 5) == 0) {
			if (value == NULL ||
			    (str_casecmp_n(value, "7BIT", 5) != 0 &&
			    str_casecmp_n(value, "8BITMIME", 9) != 0))
				return "501 5.5.4 Error: unsupported BODY type";
		} else if (str_casecmp_n(tok, "AUTH", 5) == 0) {
			/* RFC 4954 5: accepted, and not passed on. */
			if (value == NULL)
				return "501 5.5.4 Error: bad AUTH parameter";
		} else if (str_casecmp_n(tok, "SMTPUTF8", 9) == 0) {
			if (value != NULL)
				return "501 5.5.4 Error: SMTPUTF8 takes no value";
			mp->smtputf8 = 1;
		} else {
			return "555 5.5.4 Error: unsupported parameter";
		}
	}
	return NULL;
}

static void
cmd_mail(struct session *s, char *arg, size_t octets)
{
	struct mailpath path;
	struct mail_params mp;
	const char *rest, *why;
	char params[CMD_LINE_MAX_ESMTP], raw_params[CMD_LINE_MAX_ESMTP];

	if (s->tx.mail_given) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->tls_required && !s->encrypted) {
		reply(s, "530 5.7.0 Error: must issue a STARTTLS command first");
		return;
	}
	if (s->cfg->submission && s->auth_user[0] == '\0') {
		reply(s, "530 5.7.0 Error: authentication required");
		return;
	}
	if (str_casecmp_n(arg, "FROM:", 5) != 0) {
		reply(s, "501 5.5.2 Syntax: MAIL FROM:<address>");
		return;
	}
	switch (path_parse(arg + 5, &path, &rest, 1, 1)) {
	case PATH_OK:
		break;
	case PATH_TOO_LONG:
		refuse(s, "MAIL", arg + 5, "501 5.1.7 Error: address too long");
		return;
	default:
		refuse(s, "MAIL", arg + 5,
		    "501 5.1.7 Error: bad sender address syntax");
		return;
	}
	str_copy(params, rest, sizeof params);
	str_copy(raw_params, rest, sizeof raw_params);
	why = parse_mail_params(s, params, &mp);
	if (why == NULL && octets > CMD_LINE_MAX && !mp.any)
		why = "500 5.5.2 Error: line too long";
	if (why == NULL && path.has_utf8 && !mp.smtputf8)
		why = "553 5.6.7 Error: non-ASCII address needs SMTPUTF8";
	if (why == NULL && mp.size > s->cfg->maxsize)
		why = "552 5.3.4 Error: message size exceeds fixed limit";
	if (why == NULL && access_listed(s->cfg, TABLE_SENDERS, &path))
		why = "550 5.7.1 Error: sender address rejected";
	/* Submission: a user sends only as the address it logged in as. */
	if (why == NULL && s->cfg->submission &&
	    strcasecmp(path.addr, s->auth_user) != 0)
		why = "553 5.7.1 Error: sender address not owned by the user";
	if (why == NULL && (envelope_add(s, 'F', path.addr) < 0 ||
	    envelope_add_dsn(s, dsn_params(&mp.dsn, NULL)) < 0))
		why = "452 4.3.1 Error: insufficient system resources";
	if (why != NULL) {
		buf_reset(&s->tx.envelope);
		refuse(s, "MAIL", path.addr, why);
		return;
	}
	s->tx.mail_given = 1;
	s->tx.smtputf8 = mp.smtputf8;
	s->tx.declared_size = mp.size;
	s->tx.serial++;
	if (s->checks.mail != NULL &&
	    (why = s->checks.mail(s->checks.ctx, s, path.addr,
	    raw_params)) != NULL) {
		tx_reset(s);
		refuse(s, "MAIL", path.addr, why);
		return;
	}
	reply(s, "250 2.1.0 Ok");
}

/*
 * Refusals first, the limit last: a refused recipient never counts.
 * The checks that may wait (DNS lists) come after the relay rules, so
 * that a recipient refused anyway costs no lookup, as in Postfix.
 */
static const char *
check_recipient(struct session *s, const struct mailpath *path, int srs)
{
	const char *why;

	if (access_listed(s->cfg, TABLE_RECIPIENTS, path))
		return "550 5.7.1 Error: recipient address rejected";
	/* an SRS address of ours was ours to send back: relaying it is */
	switch (route_classify(s->cfg, path, session_trusted(s) || srs)) {
	case RCPT_DENIED:
		return "554 5.7.1 Error: relay access denied";
	case RCPT_UNKNOWN_USER:
		return "550 5.1.1 Error: user unknown";
	default:
		break;
	}
	if (s->checks.rcpt != NULL &&
	    (why = s->checks.rcpt(s->checks.ctx, s, path->addr)) != NULL)
		return why;
	if (s->tx.nrcpt >= s->cfg->maxrcpt)
		return "452 4.5.3 Error: too many recipients";
	return NULL;
}

/*
 * A recipient that is one of our SRS addresses (srsdomain) stands for
 * the address it was made from: *path becomes that one, *srs is set.
 * NULL, or the refusal of a forged, damaged or expired one.
 */
static const char *
reverse_srs(struct session *s, struct mailpath *path, int *srs)
{
	char local[LOCAL_PART_MAX + 1], orig[PATH_MAX_SMTP + 1];
	const char *rest;
	enum srs_result r;

	*srs = 0;
	if (s->cfg->srsdomain[0] == '\0' || path->domain == NULL ||
	    strcasecmp(path->domain, s->cfg->srsdomain) != 0 ||
	    !srs_is_srs(path->addr))
		return NULL;
	snprintf(local, sizeof local, "%.*s", (int)path->local_len, path->addr);
	r = srs_reverse(s->cfg->srskey, local, time(NULL), SRS_MAXAGE_DAYS,
	    orig, sizeof orig);
	if (r != SRS_OK || path_parse(orig, path, &rest, 0, 1) != PATH_OK ||
	    *rest != '\0' || path->domain == NULL) {
		log_msg(LOG_NOTICE, "srs: client=%s to=<%s> refused: %s",
		    client_name(s), local, r == SRS_EXPIRED ? "expired" :
		    r == SRS_BAD_HASH ? "bad hash" : "malformed");
		return "550 5.7.1 Error: invalid or expired SRS address";
	}
	*srs = 1;
	return NULL;
}

/* RCPT's parameters: NOTIFY and ORCPT only.  NULL, or the refusal. */
static const char *
parse_rcpt_params(struct session *s, const char *rest, struct dsn_rcpt *dsn)
{
	char params[CMD_LINE_MAX_ESMTP], *tok, *save = NULL;

	memset(dsn, 0, sizeof *dsn);
	str_copy(params, rest, sizeof params);
	for (tok = strtok_r(params, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		char *value = strchr(tok, '=');

		if (s->helo_kind != 2)
			return "555 5.5.4 Error: parameters need EHLO";
		if (value != NULL)
			*value++ = '\0';
		switch (dsn_rcpt_param(dsn, tok, value)) {
		case 0:
			return "555 5.5.4 Error: unsupported parameter";
		case -1:
			return "501 5.5.4 Error: bad or repeated DSN parameter";
		}
	}
	return NULL;
}

static void
cmd_rcpt(struct session *s, char *arg, size_t octets)
{
	struct mailpath path;
	const char *rest, *why = NULL;
	size_t at = s->tx.envelope.len;
	struct dsn_rcpt dsn;
	int srs = 0;

	if (!s->tx.mail_given) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (str_casecmp_n(arg, "TO:", 3) != 0) {
		reply(s, "501 5.5.2 Syntax: RCPT TO:<address>");
		return;
	}
	s->tx.rcpt_tried++;
	switch (path_parse(arg + 3, &path, &rest, 0, s->tx.smtputf8)) {
	case PATH_OK:
		break;
	case PATH_TOO_LONG:
		refuse(s, "RCPT", arg + 3, "501 5.1.3 Error: address too long");
		return;
	case PATH_NEEDS_SMTPUTF8:
		refuse(s, "RCPT", arg + 3,
		    "553 5.6.7 Error: non-ASCII address needs SMTPUTF8");
		return;
	default:
		refuse(s, "RCPT", arg + 3,
		    "501 5.1.3 Error: bad recipient address syntax");
		return;
	}
	why = parse_rcpt_params(s, rest, &dsn);
	if (why == NULL && octets > CMD_LINE_MAX && dsn.notify == 0 &&
	    dsn.orcpt[0] == '\0')
		why = "500 5.5.2 Error: line too long";
	if (why == NULL)
		why = reverse_srs(s, &path, &srs);
	if (why == NULL)
		why = check_recipient(s, &path, srs);
	if (why == NULL && (envelope_add(s, 'T', path.addr) < 0 ||
	    envelope_add_dsn(s, dsn_params(NULL, &dsn)) < 0)) {
		s->tx.envelope.len = at;
		why = "452 4.3.1 Error: insufficient system resources";
	}
	if (why != NULL) {
		refuse(s, "RCPT", path.addr, why);
		return;
	}
	if (s->tx.nrcpt++ == 0)
		s->tx.first_rcpt = at;
	reply(s, "250 2.1.5 Ok");
}

/* Why DATA or BDAT cannot start a message now, or NULL. */
static const char *
transaction_not_ready(const struct session *s)
{
	if (s->helo_kind == 0)
		return "503 5.5.1 Error: send HELO/EHLO first";
	if (!s->tx.mail_given)
		return "503 5.5.1 Error: need MAIL command";
	if (s->tx.nrcpt == 0)
		return s->tx.rcpt_tried ?
		    "554 5.5.1 Error: no valid recipients" :
		    "503 5.5.1 Error: need RCPT command";
	return NULL;
}

/*
 * RFC 2920 forbids sending anything after DATA before the 354; a client
 * that does is a spammer's ratware or an SMTP smuggling attempt.
 */
static int
pipelined_after_data(struct session *s)
{
	if (!s->client->is_socket || !s->cfg->strictsync || session_trusted(s))
		return 0;
	return s->feed_left > 0 || s->io.input_pending(s->io.ctx);
}

static void
cmd_data(struct session *s, char *arg, size_t octets)
{
	const char *why = transaction_not_ready(s);

	(void)octets;
	if (why == NULL && s->tx.used_bdat)
		why = "503 5.5.1 Error: DATA after BDAT";
	if (why == NULL && *arg != '\0')
		why = "501 5.5.4 Syntax: DATA";
	if (why != NULL) {
		reply(s, "%s", why);
		return;
	}
	if (pipelined_after_data(s)) {
		log_msg(LOG_NOTICE, "reject: cmd=DATA client=%s "
		    "reason=\"data sent before 354\"", client_name(s));
		session_reply_close(s,
		    "554 5.5.0 Error: SMTP protocol synchronization");
		return;
	}
	if (message_begin(s) < 0) {
		log_msg(LOG_WARNING, "cannot open queue file: client=%s",
		    client_name(s));
		reply(s, "451 4.3.0 Error: queue file open failed");
		return;
	}
	body_begin(&s->tx.body, 1, !s->client->is_socket, message_bytes, s);
	s->state = STATE_DATA;
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
end_message(struct session *s)
{
	char line[200];

	s->state = STATE_COMMAND;
	message_finish(s, line, sizeof line);
	tx_reset(s);
	reply(s, "%s", line);
}

static int
parse_bdat(char *arg, unsigned long long *size, int *last)
{
	char *sp = strchr(arg, ' ');

	*last = 0;
	if (sp != NULL) {
		*sp++ = '\0';
		if (str_casecmp_n(sp, "LAST", 5) != 0)
			return -1;
		*last = 1;
	}
	return parse_ulong(arg, ~0ULL >> 1, size);
}

static void
bdat_chunk_done(struct session *s)
{
	s->state = STATE_COMMAND;
	if (s->bdat_discard) {
		reply(s, "%s", s->bdat_reply);
		return;
	}
	if (s->bdat_last) {
		body_end_chunks(&s->tx.body);
		end_message(s);
	} else if (s->tx.too_big || s->tx.write_failed) {
		end_message(s);
	} else {
		reply(s, "250 2.0.0 Ok: %llu octets received",
		    s->bdat_chunk);
	}
}

static void
cmd_bdat(struct session *s, char *arg, size_t octets)
{
	const char *why;

	(void)octets;
	if (parse_bdat(arg, &s->bdat_left, &s->bdat_last) < 0) {
		reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	s->bdat_chunk = s->bdat_left;
	/* The chunk is read even when it is refused (RFC 3030). */
	why = transaction_not_ready(s);
	s->bdat_discard = 0;
	if (why == NULL && !s->tx.used_bdat) {
		if (message_begin(s) < 0)
			why = "451 4.3.0 Error: queue file open failed";
		else
			body_begin(&s->tx.body, 0, !s->client->is_socket,
			    message_bytes, s);
	}
	if (why != NULL) {
		s->bdat_discard = 1;
		str_copy(s->bdat_reply, why, sizeof s->bdat_reply);
	} else {
		s->tx.used_bdat = 1;
	}
	s->state = STATE_BDAT;
	if (s->bdat_left == 0)
		bdat_chunk_done(s);
}

static void
cmd_rset(struct session *s, char *arg, size_t octets)
{
	(void)arg;
	(void)octets;
	tx_reset(s);
	reply(s, "250 2.0.0 Ok");
}

static void
cmd_noop(struct session *s, char *arg, size_t octets)
{
	(void)arg;
	(void)octets;
	reply(s, "250 2.0.0 Ok");
}

static void
cmd_quit(struct session *s, char *arg, size_t octets)
{
	char line[320];

	(void)arg;
	(void)octets;
	snprintf(line, sizeof line, "221 2.0.0 %s closing connection",
	    s->cfg->hostname);
	session_reply_close(s, line);
}

/* VRFY and EXPN take an address, with or without angle brackets. */
static int
parse_lookup_arg(struct session *s, char *arg, struct mailpath *path,
    const char *verb)
{
	const char *rest;

	if (path_parse(arg, path, &rest, 0, 1) != PATH_OK ||
	    path->domain == NULL || *rest != '\0') {
		reply(s, "501 5.5.2 Syntax: %s address", verb);
		return -1;
	}
	return 0;
}

static void
cmd_vrfy(struct session *s, char *arg, size_t octets)
{
	struct mailpath path;
	const char *value;
	int lists;

	(void)octets;
	if (!s->cfg->vrfy) {
		reply(s, "252 2.5.2 Cannot VRFY user, but will accept message");
		return;
	}
	if (parse_lookup_arg(s, arg, &path, "VRFY") < 0)
		return;
	lists = s->cfg->tables[TABLE_USERS].present ||
	    s->cfg->tables[TABLE_ALIASES].present;
	if (route_is_local_domain(s->cfg, &path) && !lists)
		reply(s, "252 2.5.2 Cannot VRFY user, but will accept message");
	else if (route_is_local_domain(s->cfg, &path) &&
	    route_local_lookup(s->cfg, &path, &value) != LOCAL_NONE)
		reply(s, "250 2.1.5 <%s>", path.addr);
	else
		refuse(s, "VRFY", path.addr, "550 5.1.1 Error: user unknown");
}

/* One 250 line per target of an alias; the last one without "-". */
static void
expand_alias(struct session *s, const char *targets)
{
	char line[PATH_MAX_SMTP + 20];

	while (*targets) {
		size_t n = strcspn(targets, ",");
		int last = targets[n] == '\0';
		if (n > PATH_MAX_SMTP)
			n = PATH_MAX_SMTP;
		if (last) {
			reply(s, "250 2.1.5 <%.*s>", (int)n, targets);
			return;
		}
		snprintf(line, sizeof line, "250-2.1.5 <%.*s>", (int)n, targets);
		out_line(s, line);
		targets += n + 1;
	}
}

static void
cmd_expn(struct session *s, char *arg, size_t octets)
{
	struct mailpath path;
	const char *value;
	enum local_kind kind = LOCAL_NONE;

	(void)octets;
	if (!s->cfg->expn) {
		reply(s, "502 5.5.1 Error: EXPN not available");
		return;
	}
	if (parse_lookup_arg(s, arg, &path, "EXPN") < 0)
		return;
	if (route_is_local_domain(s->cfg, &path))
		kind = route_local_lookup(s->cfg, &path, &value);
	if (kind == LOCAL_ALIAS)
		expand_alias(s, value);
	else if (kind == LOCAL_USER)
		reply(s, "250 2.1.5 <%s>", path.addr);
	else
		refuse(s, "EXPN", path.addr, "550 5.1.1 Error: user unknown");
}

static void
cmd_help(struct session *s, char *arg, size_t octets)
{
	char line[80];

	(void)arg;
	(void)octets;
	/* Only what this session offers, as the EHLO reply does. */
	snprintf(line, sizeof line, "214-2.0.0 NOOP QUIT VRFY EXPN HELP%s%s",
	    auth_offered(s) ? " AUTH" : "",
	    s->tls_available && !s->encrypted ? " STARTTLS" : "");
	out_line(s, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET");
	out_line(s, line);
	reply(s, "214 2.0.0 End of HELP information");
}

static void
cmd_obsolete(struct session *s, char *arg, size_t octets)
{
	(void)arg;
	(void)octets;
	reply(s, "502 5.5.1 Error: command not implemented");
}

/* ---- AUTH (RFC 4954), PLAIN (RFC 4616) and LOGIN ---- */

#define LOGIN_USER_PROMPT "334 VXNlcm5hbWU6"	/* "Username:" */
#define LOGIN_PASS_PROMPT "334 UGFzc3dvcmQ6"	/* "Password:" */

static void
finish_auth(struct session *s, const char *user, char *password,
    const char *mechanism)
{
	enum auth_result r = user[0] ? auth_check(s->cfg, user, password) :
	    AUTH_BAD;
	char bye[320];

	explicit_bzero(password, strlen(password));
	explicit_bzero(s->line, sizeof s->line);
	s->auth_step = AUTH_IDLE;
	log_msg(LOG_NOTICE, "auth: client=%s user=%s mechanism=%s status=%s",
	    client_name(s), user, mechanism, r == AUTH_OK ? "ok" :
	    r == AUTH_TEMP ? "tempfail" : "failed");
	if (r == AUTH_OK) {
		str_copy(s->auth_user, user, sizeof s->auth_user);
		str_copy(s->auth_mechanism, mechanism,
		    sizeof s->auth_mechanism);
		reply(s, "235 2.7.0 Authentication successful");
		return;
	}
	if (r == AUTH_TEMP) {
		reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
	/* Slows down guessing; the session is ours alone, so sleeping is
	 * cheap for everyone else. */
	if (s->cfg->authdelay > 0)
		sleep(s->cfg->authdelay);
	reply(s, "535 5.7.8 Error: authentication failed");
	if (++s->auth_failures >= s->cfg->authmaxfail) {
		snprintf(bye, sizeof bye,
		    "421 4.7.0 %s Error: too many authentication failures",
		    s->cfg->hostname);
		session_reply_close(s, bye);
	}
}

/* PLAIN: authzid NUL authcid NUL password; authzid empty or = authcid. */
static void
finish_plain(struct session *s, char *data, size_t len)
{
	const char *user;
	char *pass;

	if (auth_plain_split(data, len, &user, &pass) < 0) {
		explicit_bzero(data, len);
		s->auth_step = AUTH_IDLE;
		reply(s, "501 5.5.2 Error: malformed PLAIN response");
		return;
	}
	finish_auth(s, user, pass, "PLAIN");
	explicit_bzero(data, len);
}

/* One base64 line of the exchange, after a 334. */
static void
auth_continue(struct session *s, const char *line)
{
	char data[CMD_LINE_MAX_ESMTP];
	size_t len;

	if (strcmp(line, "*") == 0) {
		s->auth_step = AUTH_IDLE;
		reply(s, "501 5.0.0 Error: authentication canceled");
		return;
	}
	if (base64_decode(line, data, sizeof data, &len) < 0) {
		s->auth_step = AUTH_IDLE;
		reply(s, "501 5.5.2 Error: malformed authentication response");
		return;
	}
	switch (s->auth_step) {
	case AUTH_PLAIN_WAIT:
		finish_plain(s, data, len);
		break;
	case AUTH_LOGIN_USER:
		str_copy(s->auth_login, data, sizeof s->auth_login);
		s->auth_step = AUTH_LOGIN_PASS;
		out_line(s, LOGIN_PASS_PROMPT);
		break;
	default:
		finish_auth(s, s->auth_login, data, "LOGIN");
		break;
	}
	explicit_bzero(data, sizeof data);
}

static void
cmd_auth(struct session *s, char *arg, size_t octets)
{
	char *initial = strchr(arg, ' ');

	(void)octets;
	if (s->helo_kind != 2 || !auth_offered(s)) {
		reply(s, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (s->auth_user[0] != '\0') {
		reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->tx.mail_given) {
		reply(s, "503 5.5.1 Error: AUTH not allowed in a mail transaction");
		return;
	}
	if (initial != NULL)
		*initial++ = '\0';
	if (strcasecmp(arg, "PLAIN") == 0) {
		s->auth_step = AUTH_PLAIN_WAIT;
		if (initial == NULL)
			out_line(s, "334 ");
		else
			auth_continue(s, strcmp(initial, "=") == 0 ? "" : initial);
	} else if (strcasecmp(arg, "LOGIN") == 0) {
		s->auth_step = AUTH_LOGIN_USER;
		if (initial == NULL)
			out_line(s, LOGIN_USER_PROMPT);
		else
			auth_continue(s, initial);
	} else {
		reply(s, "504 5.5.4 Error: unsupported authentication mechanism");
	}
}

/*
 * STARTTLS (RFC 3207) through a UCSPI-TLS wrapper.  The 220 goes out in
 * the clear first; then the wrapper takes the connection, and everything
 * learnt before it (HELO, a transaction, a login) is forgotten, along
 * with any input already read: commands a client pipelined after
 * STARTTLS came in the clear and must not run inside TLS
 * (CVE-2011-0411).
 */
static void
cmd_starttls(struct session *s, char *arg, size_t octets)
{
	(void)octets;
	if (!s->tls_available || s->encrypted) {
		reply(s, "503 5.5.1 Error: TLS not available");
		return;
	}
	if (*arg != '\0') {
		reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	out_line(s, "220 2.0.0 Ready to start TLS");
	session_flush(s);
	s->drop_input = 1;
	switch (s->io.starttls(s->io.starttls_ctx ? s->io.starttls_ctx :
	    s->io.ctx)) {
	case -1:
		log_msg(LOG_WARNING, "starttls failed: client=%s",
		    client_name(s));
		tx_reset(s);
		s->state = STATE_CLOSED;
		return;
	case 1:
		/* handed over: the wrapper and a new session go on */
		log_msg(LOG_INFO, "starttls: client=%s handed to the TLS "
		    "wrapper", client_name(s));
		tx_reset(s);
		s->state = STATE_CLOSED;
		return;
	}
	tx_reset(s);
	s->encrypted = 1;
	s->helo_kind = 0;
	s->helo[0] = '\0';
	s->auth_user[0] = '\0';
	s->auth_step = AUTH_IDLE;
	log_msg(LOG_INFO, "starttls: client=%s", client_name(s));
}

static const struct verb verbs[] = {
	{ "HELO", cmd_helo, 0 },
	{ "EHLO", cmd_ehlo, 0 },
	{ "MAIL", cmd_mail, NEEDS_HELO | TAKES_PARAMS },
	{ "RCPT", cmd_rcpt, NEEDS_HELO | TAKES_PARAMS },
	{ "DATA", cmd_data, 0 },
	{ "BDAT", cmd_bdat, 0 },
	{ "RSET", cmd_rset, 0 },
	{ "NOOP", cmd_noop, 0 },
	{ "QUIT", cmd_quit, WHEN_DENIED },
	{ "VRFY", cmd_vrfy, 0 },
	{ "EXPN", cmd_expn, 0 },
	{ "HELP", cmd_help, 0 },
	{ "AUTH", cmd_auth, 0 },
	{ "STARTTLS", cmd_starttls, 0 },
	{ "SEND", cmd_obsolete, 0 },
	{ "SOML", cmd_obsolete, 0 },
	{ "SAML", cmd_obsolete, 0 },
	{ "TURN", cmd_obsolete, 0 },
};

static const struct verb *
find_verb(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strlen(verbs[i].name) == len &&
		    str_casecmp_n(verbs[i].name, name, len) == 0)
			return &verbs[i];
	return NULL;
}

/* ---- input ---- */

static void
run_command(struct session *s, size_t octets)
{
	char *line = s->line, *arg;
	size_t len = s->linelen, vlen;
	const struct verb *v;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	if (s->auth_step != AUTH_IDLE) {
		auth_continue(s, line);
		return;
	}
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len)) {
		reply(s, "500 5.5.2 Error: invalid character in command");
		return;
	}
	vlen = strcspn(line, " ");
	arg = line + vlen + (line[vlen] == ' ');
	v = find_verb(line, vlen);
	if (s->client->denied && (v == NULL || !(v->flags & WHEN_DENIED))) {
		reply(s, "503 5.5.1 Error: access denied");
		return;
	}
	if (v == NULL) {
		reply(s, "500 5.5.1 Error: command not recognized");
		return;
	}
	if (octets > CMD_LINE_MAX && !(v->flags & TAKES_PARAMS)) {
		reply(s, "500 5.5.2 Error: line too long");
		return;
	}
	if ((v->flags & NEEDS_HELO) && s->helo_kind == 0) {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	v->run(s, arg, octets);
}

static size_t
feed_command(struct session *s, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) + 1 : n;

	if (!s->line_too_long) {
		if (s->linelen + take <= CMD_LINE_MAX_ESMTP) {
			memcpy(s->line + s->linelen, p, take);
			s->linelen += take;
		} else {
			s->line_too_long = 1;
		}
	}
	if (nl == NULL)
		return take;
	s->feed_left = n - take;
	if (s->line_too_long) {
		s->auth_step = AUTH_IDLE;
		reply(s, "500 5.5.2 Error: line too long");
	}
	else
		run_command(s, s->linelen);
	s->linelen = 0;
	s->line_too_long = 0;
	return take;
}

static size_t
feed_data(struct session *s, const char *p, size_t n)
{
	int ended;
	size_t used = body_feed(&s->tx.body, p, n, &ended);

	if (ended)
		end_message(s);
	return used;
}

static size_t
feed_bdat(struct session *s, const char *p, size_t n)
{
	size_t take = n < s->bdat_left ? n : (size_t)s->bdat_left;
	int ended;

	if (!s->bdat_discard)
		body_feed(&s->tx.body, p, take, &ended);
	s->bdat_left -= take;
	if (s->bdat_left == 0)
		bdat_chunk_done(s);
	return take;
}

void
session_feed(struct session *s, const char *p, size_t n)
{
	while (n > 0) {
		size_t used;

		switch (s->state) {
		case STATE_COMMAND:
			used = feed_command(s, p, n);
			break;
		case STATE_DATA:
			used = feed_data(s, p, n);
			break;
		case STATE_BDAT:
			used = feed_bdat(s, p, n);
			break;
		default:
			return;
		}
		if (s->drop_input) {
			s->drop_input = 0;
			return;
		}
		p += used;
		n -= used;
	}
}

void
session_eof(struct session *s)
{
	if (s->state == STATE_DATA || s->state == STATE_BDAT)
		log_msg(LOG_NOTICE, "lost connection in %s: client=%s",
		    s->state == STATE_DATA ? "DATA" : "BDAT", client_name(s));
	tx_reset(s);
	s->state = STATE_CLOSED;
}

/* Silence for timeout seconds, or a session past maxsessiontime. */
void
session_timeout(struct session *s, int whole_session)
{
	char line[320];

	log_msg(LOG_NOTICE, "timeout: client=%s what=%s", client_name(s),
	    whole_session ? "session" : "read");
	snprintf(line, sizeof line, "421 4.4.2 %s Error: %s", s->cfg->hostname,
	    whole_session ? "session time limit exceeded" :
	    "timeout exceeded");
	session_reply_close(s, line);
}

int
session_closed(const struct session *s)
{
	return s->state == STATE_CLOSED;
}

void
session_end(struct session *s)
{
	tx_reset(s);
	log_msg(LOG_INFO, "disconnect client=%s messages=%u errors=%u",
	    client_name(s), s->messages, s->errors);
	buf_free(&s->tx.envelope);
	content_free(s);
}
