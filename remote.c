/*
 * remote.c - the SMTP client: one connection for all recipients of a
 * message at one domain.  The hosts come from routes (a domain or the
 * "*" smarthost), else from MX records, else from the domain itself;
 * each address of each host is tried in turn until one takes the
 * transaction.  EHLO, falling back to HELO; SIZE, 8BITMIME, SMTPUTF8 and
 * PIPELINING when offered; dot-stuffing and CRLF on the wire.  TLS as
 * the route or tlslevel asks (STARTTLS, or SMTPS from the first byte,
 * through the TLS program: smtpconn.c), and AUTH to a route's host with
 * credentials (smtpauth.c).
 *
 * Every remote server is hostile: deadlines that lines do not re-arm
 * (connecttimeout for the connect, timeout for each reply, and the body
 * at least 1 KiB a second), replies of bounded size (smtpconn.c), at
 * most maxmxaddresses addresses tried, nothing past the end of the
 * whole attempt.
 */
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "address.h"
#include "dns.h"
#include "log.h"
#include "masquerade.h"
#include "nexthop.h"
#include "route.h"
#include "smtpauth.h"
#include "smtpconn.h"
#include "srs.h"
#include "tables.h"
#include "util.h"

#define BODY_MIN_RATE 1024	/* octets a second the body may not fall below */

struct job {
	const struct config *c;
	long long end;		/* of the whole attempt, monotonic ms */
	unsigned addresses;	/* tried so far, at most maxmxaddresses */
	int pipelining;
	int dsn;		/* the host offers DSN: requests go with */
	int lmtp;		/* RFC 2033: LHLO, a reply per recipient */
	unsigned accepted;
	const struct qmessage *msg;
	const char *sender;
	const char *sender_dsn;
	struct remote_rcpt *r;
	size_t n;
	int eightbit;
	int needs_utf8;
	unsigned long long size;
	enum tls_level tls;	/* what the hosts being tried must give */
	int implicit;		/* SMTPS: TLS from the first byte */
	int has_cred;		/* log in with cred (a route's host) */
	struct smtpauth_cred cred;
	char lasterr[STATE_REASON_MAX + 1];
};

/* transaction(): this address may be tried again without TLS */
#define RETRY_CLEAR 1

/* The reply to what was just sent, within timeout. */
static int
await_reply(struct conn *k, const struct job *j, struct reply *r)
{
	conn_expect_within(k, j->c->timeout);
	conn_flush(k);
	return conn_read_reply(k, r);
}

static enum delivery_result
class_of(int code)
{
	if (code >= 200 && code < 300)
		return DELIVERY_OK;
	return code >= 500 ? DELIVERY_FAIL : DELIVERY_DEFER;
}

static void
set_result(struct remote_rcpt *rr, enum delivery_result res,
    const struct conn *k, const struct reply *r, const char *stage)
{
	rr->result = res;
	if (res == DELIVERY_OK)
		snprintf(rr->reason, sizeof rr->reason, "%s said: %s",
		    k->name, r->text);
	else
		snprintf(rr->reason, sizeof rr->reason,
		    "%s said: %s (in reply to %s)", k->name, r->text, stage);
}

/* Sends the message: LF to CRLF, leading dots doubled, then the end. */
static int
send_body(struct conn *k, const struct qmessage *msg)
{
	char buf[32768];
	long long off = 0;
	ssize_t n;
	int bol = 1;

	while ((n = qmessage_read(msg, buf, sizeof buf, off)) > 0) {
		size_t start = 0;
		for (size_t i = 0; i < (size_t)n; i++) {
			if (bol && buf[i] == '.')
				conn_put(k, ".", 1);
			bol = buf[i] == '\n';
			if (bol) {
				conn_put(k, buf + start, i - start);
				conn_put(k, "\r\n", 2);
				start = i + 1;
			}
		}
		conn_put(k, buf + start, (size_t)n - start);
		off += n;
	}
	if (n < 0)
		return -1;
	if (!bol)
		conn_put(k, "\r\n", 2);
	conn_put(k, ".\r\n", 3);
	conn_flush(k);
	return k->broken ? -1 : 0;
}

/* What RFC 1870 SIZE wants, and whether the text has 8-bit octets. */
static void
scan_message(struct job *j)
{
	char buf[32768];
	long long off = 0;
	ssize_t n;

	j->size = 0;
	j->eightbit = 0;
	while ((n = qmessage_read(j->msg, buf, sizeof buf, off)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			j->size += buf[i] == '\n' ? 2 : 1;
			j->eightbit |= (unsigned char)buf[i] >= 0x80;
		}
		off += n;
	}
}

static void
all_pending(struct job *j, enum delivery_result res, const struct conn *k,
    const struct reply *r, const char *stage)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->r[i].result == DELIVERY_DEFER && j->r[i].reason[0] == '\0')
			set_result(&j->r[i], res, k, r, stage);
}

/* A refusal of the whole transaction: broken means try again later. */
static int
refused(struct job *j, const struct conn *k, const struct reply *r,
    const char *stage)
{
	all_pending(j, k->broken ? DELIVERY_DEFER : class_of(r->code), k, r,
	    stage);
	return -1;
}

/* The greeting, then EHLO, falling back to HELO.  -1: try another host. */
static int
greet(struct conn *k, struct job *j, struct reply *ehlo)
{
	struct reply r;

	if (await_reply(k, j, &r) < 0 || r.code != 220) {
		snprintf(j->lasterr, sizeof j->lasterr, "4.4.2 %s greeting: %s",
		    k->name, r.text);
		return -1;
	}
	conn_cmd(k, "%s %s", j->lmtp ? "LHLO" : "EHLO", j->c->hostname);
	if (await_reply(k, j, ehlo) == 0 && ehlo->code == 250)
		return 0;
	r = *ehlo;
	if (k->broken || j->lmtp)	/* LMTP has no HELO to fall back to */
		goto lost;
	ehlo->all[0] = '\0';
	conn_cmd(k, "HELO %s", j->c->hostname);
	if (await_reply(k, j, &r) == 0 && r.code == 250)
		return 0;
lost:
	snprintf(j->lasterr, sizeof j->lasterr, "4.4.2 %s refused %s: %s",
	    k->name, j->lmtp ? "LHLO" : "HELO", r.text);
	return -1;
}

/* UTF-8 addresses need a server that says SMTPUTF8 (RFC 6531). */
static int
check_utf8(struct conn *k, struct job *j, const struct reply *ehlo)
{
	if (!j->needs_utf8 || reply_has_keyword(ehlo, "SMTPUTF8"))
		return 0;
	for (size_t i = 0; i < j->n; i++) {
		j->r[i].result = DELIVERY_FAIL;
		snprintf(j->r[i].reason, sizeof j->r[i].reason,
		    "5.6.7 %s does not support SMTPUTF8", k->name);
	}
	return -1;
}

/*
 * The sender another host sees: masqueraded (masquerade.c); then, with
 * srsdomain, a sender of a domain not ours leaves as an SRS0 address of
 * ours, so that the next host's SPF check of mail we forward passes,
 * and its bounces come back to us (smtpd reverses them).
 */
static const char *
outgoing_sender(const struct job *j, char *buf, size_t size)
{
	char shown[PATH_MAX_SMTP + 1];
	struct mailpath p;
	const char *rest;

	if (strcmp(j->sender, "#@[]") == 0 || j->sender[0] == '\0')
		return "";
	masquerade_address(j->c, j->sender, shown, sizeof shown);
	if (j->c->srsdomain[0] == '\0' ||
	    path_parse(shown, &p, &rest, 0, 1) != PATH_OK ||
	    route_is_local_domain(j->c, &p) ||
	    srs_forward(j->c->srskey, j->c->srsdomain, shown, time(NULL),
	    buf, size) < 0)
		str_copy(buf, shown, size);
	return buf;
}

static void
send_mail_from(struct conn *k, struct job *j, const struct reply *ehlo)
{
	char srs[600];
	const char *from = outgoing_sender(j, srs, sizeof srs);
	char sizeparam[32] = "";

	if (reply_has_keyword(ehlo, "SIZE"))
		snprintf(sizeparam, sizeof sizeparam, " SIZE=%llu", j->size);
	conn_cmd(k, "MAIL FROM:<%s>%s%s%s%s%s", from, sizeparam,
	    j->eightbit && reply_has_keyword(ehlo, "8BITMIME") ? " BODY=8BITMIME" :
	    "", j->needs_utf8 ? " SMTPUTF8" : "",
	    j->dsn && j->sender_dsn[0] ? " " : "", j->dsn ? j->sender_dsn : "");
}

static int
mail_reply(struct conn *k, struct job *j)
{
	struct reply r;

	if (await_reply(k, j, &r) < 0 || r.code / 100 != 2)
		return refused(j, k, &r, "MAIL FROM");
	return 0;
}

static int
rcpt_reply(struct conn *k, struct job *j, size_t i)
{
	struct reply r;

	if (await_reply(k, j, &r) < 0) {
		all_pending(j, DELIVERY_DEFER, k, &r, "RCPT TO");
		return -1;
	}
	if (r.code / 100 == 2)
		j->accepted++;
	else
		set_result(&j->r[i], class_of(r.code), k, &r, "RCPT TO");
	return 0;
}

static int
data_reply(struct conn *k, struct job *j)
{
	struct reply r;

	if (await_reply(k, j, &r) < 0 || r.code != 354)
		return refused(j, k, &r, "DATA");
	return 0;
}

/*
 * MAIL, every RCPT and DATA.  With PIPELINING they go in one burst and
 * the replies are read after it; without, each waits for the reply to
 * the one before.  -1 when the transaction went no further.
 */
static int
envelope(struct conn *k, struct job *j, const struct reply *ehlo)
{
	struct reply r;

	send_mail_from(k, j, ehlo);
	if (!j->pipelining && mail_reply(k, j) < 0)
		return -1;
	for (size_t i = 0; i < j->n; i++) {
		conn_cmd(k, "RCPT TO:<%s>%s%s", j->r[i].addr,
		    j->dsn && j->r[i].dsn[0] ? " " : "",
		    j->dsn ? j->r[i].dsn : "");
		if (!j->pipelining && rcpt_reply(k, j, i) < 0)
			return -1;
	}
	if (!j->pipelining && j->accepted == 0)
		return -1;
	conn_cmd(k, "DATA");
	if (!j->pipelining)
		return data_reply(k, j);
	if (mail_reply(k, j) < 0)
		return -1;
	for (size_t i = 0; i < j->n; i++)
		if (rcpt_reply(k, j, i) < 0)
			return -1;
	if (j->accepted == 0) {
		(void)await_reply(k, j, &r);	/* DATA's refusal */
		return -1;
	}
	return data_reply(k, j);
}

/*
 * LMTP (RFC 2033): after the data, one reply for each recipient RCPT
 * accepted, in their order, each within timeout; those not answered when
 * the connection breaks are deferred.
 */
static void
lmtp_replies(struct conn *k, struct job *j)
{
	struct reply r;

	for (size_t i = 0; i < j->n; i++) {
		if (j->r[i].result != DELIVERY_DEFER || j->r[i].reason[0] != '\0')
			continue;	/* refused at RCPT: no reply comes */
		conn_expect_within(k, j->c->timeout);
		if (await_reply(k, j, &r) < 0) {
			all_pending(j, DELIVERY_DEFER, k, &r, "end of data");
			return;
		}
		set_result(&j->r[i], class_of(r.code), k, &r, "end of data");
	}
}

/* The message, within timeout plus its size at BODY_MIN_RATE. */
static void
body(struct conn *k, struct job *j)
{
	struct reply r;

	conn_expect_within(k, j->c->timeout + j->size / BODY_MIN_RATE);
	if (send_body(k, j->msg) < 0) {
		all_pending(j, DELIVERY_DEFER, k, &r, "end of data");
		return;
	}
	if (j->lmtp) {
		lmtp_replies(k, j);
		return;
	}
	if (await_reply(k, j, &r) < 0) {
		all_pending(j, DELIVERY_DEFER, k, &r, "end of data");
		return;
	}
	all_pending(j, class_of(r.code), k, &r, "end of data");
}

static void
quit(struct conn *k, const struct job *j)
{
	if (k->broken)
		return;
	conn_cmd(k, "QUIT");
	conn_expect_within(k, j->c->timeout);
	conn_flush(k);
}

/* The handshake failed (or the session broke in it): why, and what next. */
static int
handshake_failed(struct conn *k, struct job *j)
{
	snprintf(j->lasterr, sizeof j->lasterr, "4.7.5 TLS handshake with %s "
	    "failed: %s", k->name, tlslog_reason(&k->tls->log));
	if (j->tls != TLS_MAY)
		return -1;
	log_msg(LOG_INFO, "%s; trying again in clear text (tlslevel may)",
	    j->lasterr);
	return RETRY_CLEAR;
}

/*
 * STARTTLS when the level asks for it and the host offers it, then EHLO
 * again (RFC 3207: what was said before TLS is forgotten).  0 go on,
 * encrypted or in clear text as the level allows; -1 try another host;
 * RETRY_CLEAR.
 */
static int
start_tls(struct conn *k, struct job *j, struct reply *ehlo)
{
	struct reply r;

	if (k->tls == NULL || k->encrypted)
		return 0;
	if (!reply_has_keyword(ehlo, "STARTTLS")) {
		if (j->tls == TLS_MAY)
			return 0;
		snprintf(j->lasterr, sizeof j->lasterr, "4.7.4 TLS is required, "
		    "but was not offered by %s", k->name);
		quit(k, j);
		return -1;
	}
	conn_cmd(k, "STARTTLS");
	if (await_reply(k, j, &r) < 0 || r.code != 220) {
		if (j->tls == TLS_MAY && !k->broken)
			return 0;
		snprintf(j->lasterr, sizeof j->lasterr, "4.7.5 %s refused "
		    "STARTTLS: %s", k->name, r.text);
		quit(k, j);
		return -1;
	}
	conn_expect_within(k, j->c->timeout);
	if (tlsclient_handshake(k->tls, k->deadline) < 0)
		return handshake_failed(k, j);
	k->encrypted = 1;
	conn_cmd(k, "EHLO %s", j->c->hostname);
	if (await_reply(k, j, ehlo) == 0 && ehlo->code == 250)
		return 0;
	if (k->broken)
		return handshake_failed(k, j);
	snprintf(j->lasterr, sizeof j->lasterr, "4.4.2 %s refused EHLO in TLS: "
	    "%s", k->name, ehlo->text);
	quit(k, j);
	return -1;
}

/* AUTH with the route's credentials: the whole transaction waits on it. */
static int
log_in(struct conn *k, struct job *j, const struct reply *ehlo)
{
	char why[STATE_REASON_MAX + 1];

	if (!j->has_cred ||
	    smtpauth_login(k, &j->cred, ehlo, j->c->timeout, why,
	    sizeof why) == 0)
		return 0;
	for (size_t i = 0; i < j->n; i++) {
		j->r[i].result = DELIVERY_DEFER;
		str_copy(j->r[i].reason, why, sizeof j->r[i].reason);
	}
	quit(k, j);
	return -1;
}

/*
 * One transaction on an open connection.  Returns -1 when this host did
 * not get as far as answering for the recipients (try the next one),
 * RETRY_CLEAR when this address may be tried again without TLS.
 */
static int
transaction(struct conn *k, struct job *j)
{
	struct reply ehlo;
	int e;

	if (greet(k, j, &ehlo) < 0)
		return -1;
	if ((e = start_tls(k, j, &ehlo)) != 0)
		return e;
	if (log_in(k, j, &ehlo) < 0)
		return 0;
	if (check_utf8(k, j, &ehlo) < 0)
		return 0;
	j->pipelining = reply_has_keyword(&ehlo, "PIPELINING");
	j->dsn = reply_has_keyword(&ehlo, "DSN");
	j->accepted = 0;
	if (envelope(k, j, &ehlo) == 0)
		body(k, j);
	for (size_t i = 0; i < j->n; i++)
		j->r[i].dsn_passed = j->dsn && j->r[i].result == DELIVERY_OK;
	quit(k, j);	/* its reply changes nothing: not waited for */
	return 0;
}

static void
name_conn(struct conn *k, const char *host, const struct addrinfo *ai,
    unsigned short port)
{
	char addr[NI_MAXHOST];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL,
	    0, NI_NUMERICHOST) != 0)
		str_copy(addr, "?", sizeof addr);
	snprintf(k->name, sizeof k->name, "%s[%s]:%u", host, addr, port);
}

/* The relay for the log: where, and how it was encrypted. */
static void
name_relay(const struct conn *k, char *relay, size_t relaysize)
{
	const struct tlslog *l = k->tls ? &k->tls->log : NULL;

	if (l == NULL || !k->encrypted)
		snprintf(relay, relaysize, "%s tls=none", k->name);
	else
		snprintf(relay, relaysize, "%s tls=%s/%s", k->name,
		    l->protocol[0] ? l->protocol : "TLS",
		    l->trusted ? "verified" : "unverified");
}

/* May another address be tried?  Not past the limit or the attempt's end. */
static int
may_try_another(struct job *j)
{
	if (j->addresses >= j->c->maxmxaddresses) {
		snprintf(j->lasterr + strlen(j->lasterr),
		    sizeof j->lasterr - strlen(j->lasterr),
		    "; %u addresses tried", j->addresses);
		return 0;
	}
	if (monotonic_ms() >= j->end) {
		str_copy(j->lasterr, "4.4.2 delivery attempt ran out of time",
		    sizeof j->lasterr);
		return 0;
	}
	return 1;
}

/* An LMTP server on a UNIX socket ("unix:/path"): as try_host. */
static int
try_unix(struct job *j, const char *path, char *relay, size_t relaysize)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct addrinfo ai = { .ai_family = AF_UNIX,
	    .ai_socktype = SOCK_STREAM, .ai_addrlen = sizeof sun,
	    .ai_addr = (struct sockaddr *)&sun };
	struct conn k;
	int e;

	conn_init(&k, j->end);
	snprintf(k.name, sizeof k.name, "unix:%s", path);
	if (str_copy(sun.sun_path, path, sizeof sun.sun_path) >=
	    sizeof sun.sun_path) {
		snprintf(j->lasterr, sizeof j->lasterr, "5.3.5 %s: path too "
		    "long", k.name);
		return -2;
	}
	conn_expect_within(&k, j->c->connecttimeout);
	if (conn_open(&k, &ai) < 0) {
		snprintf(j->lasterr, sizeof j->lasterr,
		    "4.4.1 connect to %s: %s", k.name, strerror(errno));
		return -1;
	}
	e = transaction(&k, j);
	conn_close(&k);
	if (e == 0)
		str_copy(relay, k.name, relaysize);
	return e;
}

static int
is_address(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/*
 * Opens k to one address of host: through the TLS program unless the
 * level is none (or may, without the program: clear text, logged).
 */
static int
open_one(struct conn *k, struct tlsclient *t, struct job *j,
    const char *host, const struct addrinfo *ai, unsigned short port,
    int clear)
{
	char addr[NI_MAXHOST], why[200];
	struct tlsclient_opts o = { .program = j->c->tlsclient,
	    .cafile = j->c->tlscafile, .address = addr, .port = port,
	    .name = is_address(host) ? "" : host, .implicit = j->implicit,
	    .verify = j->tls == TLS_VERIFY };

	conn_expect_within(k, j->c->connecttimeout);
	if (j->tls == TLS_MAY && !clear && access(j->c->tlsclient, X_OK) < 0) {
		static int warned;
		if (!warned++)
			log_msg(LOG_WARNING, "tlsclient %s cannot be run (%s): "
			    "tlslevel may sends in clear text", j->c->tlsclient,
			    strerror(errno));
		clear = 1;
	}
	if (clear || j->tls == TLS_NONE) {
		if (conn_open(k, ai) == 0)
			return 0;
		snprintf(j->lasterr, sizeof j->lasterr,
		    "4.4.1 connect to %s: %s", k->name, strerror(errno));
		return -1;
	}
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL,
	    0, NI_NUMERICHOST) != 0)
		return -1;
	/* implicit TLS: the handshake is part of connecting */
	if (j->implicit)
		conn_expect_within(k, (unsigned long long)j->c->connecttimeout +
		    j->c->timeout);
	if (conn_open_tls(k, t, &o, why, sizeof why) == 0)
		return 0;
	snprintf(j->lasterr, sizeof j->lasterr, "%s %s: %s",
	    j->implicit ? "4.7.5 TLS connect to" : "4.4.1 connect to",
	    k->name, why);
	return -1;
}

/* 0 done with this domain, -1 try the next host, -2 stop trying. */
static int
try_host(struct job *j, const char *host, unsigned short port,
    char *relay, size_t relaysize)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char portstr[8];
	struct tlsclient t;
	struct conn k;
	int e = -1, clear = 0;

	if (strncmp(host, "unix:", 5) == 0)
		return try_unix(j, host + 5, relay, relaysize);

	snprintf(portstr, sizeof portstr, "%u", port);
	e = getaddrinfo(host, portstr, &hints, &res);
	if (e != 0) {
		snprintf(j->lasterr, sizeof j->lasterr, "4.4.3 %s: %s", host,
		    gai_strerror(e));
		return -1;
	}
	e = -1;
	for (ai = res; ai != NULL && e != 0 && e != -2; ) {
		if (!may_try_another(j)) {
			e = -2;
			break;
		}
		if (!clear)
			j->addresses++;
		conn_init(&k, j->end);
		name_conn(&k, host, ai, port);
		if (open_one(&k, &t, j, host, ai, port, clear) < 0) {
			ai = ai->ai_next;
			continue;
		}
		e = transaction(&k, j);
		if (e == 0)
			name_relay(&k, relay, relaysize);
		conn_close(&k);
		/* may: the same address again, once, without TLS */
		clear = e == RETRY_CLEAR;
		if (!clear)
			ai = ai->ai_next;
	}
	freeaddrinfo(res);
	return e == RETRY_CLEAR ? -1 : e;
}

/*
 * The level a route's host must meet: its tls=, else verify for a
 * smarthost or SMTPS (a provider's certificate is checkable, and a
 * password goes there), else tlslevel; LMTP, local, none.
 */
static enum tls_level
route_level(const struct config *c, const struct nexthop *h, int smarthost)
{
	if (h->kind == NEXTHOP_LMTP || h->kind == NEXTHOP_LMTP_UNIX)
		return TLS_NONE;
	if (h->tls_given)
		return h->tls;
	if (smarthost || h->kind == NEXTHOP_SMTPS)
		return TLS_VERIFY;
	return c->tlslevel;
}

/* A routes entry for domain: its host, TLS and credentials. */
static int
use_route(struct job *j, const char *route, int smarthost,
    struct mx_host *hosts, size_t *n)
{
	struct nexthop h;
	int e;

	if (nexthop_parse(route, &h) != NULL) {
		snprintf(j->lasterr, sizeof j->lasterr, "4.3.5 bad route %s",
		    route);
		return -1;
	}
	j->lmtp = h.kind == NEXTHOP_LMTP || h.kind == NEXTHOP_LMTP_UNIX;
	j->implicit = h.kind == NEXTHOP_SMTPS;
	j->tls = route_level(j->c, &h, smarthost);
	if (h.kind == NEXTHOP_LMTP_UNIX)
		snprintf(hosts[0].name, sizeof hosts[0].name, "unix:%s", h.host);
	else
		str_copy(hosts[0].name, h.host, sizeof hosts[0].name);
	hosts[0].port = h.port;
	*n = 1;
	e = j->lmtp ? 0 : smtpauth_lookup(j->c, h.host, &j->cred, j->lasterr,
	    sizeof j->lasterr);
	j->has_cred = e == 1;
	return e < 0 ? -1 : 0;
}

/* The hosts for domain: a route, the literal, or the MX records. */
static int
find_hosts(struct job *j, const char *domain, struct mx_host *hosts,
    size_t *n)
{
	const struct table *routes = &j->c->tables[TABLE_ROUTES];
	const char *route = table_get(routes, domain);

	*n = 0;
	j->tls = j->c->tlslevel;
	if (route != NULL)
		return use_route(j, route, 0, hosts, n);
	if ((route = table_get(routes, "*")) != NULL)
		return use_route(j, route, 1, hosts, n);
	if (domain[0] == '[') {
		const char *a = domain + 1;
		if (strncasecmp(a, "IPv6:", 5) == 0)
			a += 5;
		str_copy(hosts[0].name, a, sizeof hosts[0].name);
		hosts[0].name[strcspn(hosts[0].name, "]")] = '\0';
		hosts[0].port = 25;
		*n = 1;
		return 0;
	}
	switch (dns_mx(domain, hosts, MX_MAX, n)) {
	case MX_OK:
		return 0;
	case MX_NODOMAIN:
		str_copy(j->lasterr, "5.1.2 domain not found", sizeof j->lasterr);
		return -2;
	case MX_NULL:
		str_copy(j->lasterr, "5.1.10 domain accepts no mail (null MX)",
		    sizeof j->lasterr);
		return -2;
	default:
		snprintf(j->lasterr, sizeof j->lasterr,
		    "4.4.3 DNS lookup of %s failed", domain);
		return -1;
	}
}

static int
non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

void
remote_deliver(const struct config *c, const char *domain,
    const struct qmessage *msg, const struct remote_sender *sender,
    struct remote_rcpt *r, size_t n, time_t deadline, char *relay,
    size_t relaysize)
{
	struct job j = { .c = c, .msg = msg, .sender = sender->addr,
	    .sender_dsn = sender->dsn, .r = r, .n = n };
	time_t left = deadline - time(NULL);
	struct mx_host hosts[MX_MAX];
	size_t nhosts;
	int found;

	str_copy(relay, "none", relaysize);
	j.needs_utf8 = non_ascii(sender->addr);
	for (size_t i = 0; i < n; i++) {
		r[i].result = DELIVERY_DEFER;
		r[i].reason[0] = '\0';
		r[i].dsn_passed = 0;
		j.needs_utf8 |= non_ascii(r[i].addr);
	}
	j.end = monotonic_ms() + (left > 0 ? (long long)left * 1000 : 0);
	scan_message(&j);
	found = find_hosts(&j, domain, hosts, &nhosts);
	for (size_t h = 0; found == 0 && h < nhosts; h++) {
		int e = try_host(&j, hosts[h].name, hosts[h].port, relay,
		    relaysize);
		if (e == 0)
			return;
		if (e == -2)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		r[i].result = found == -2 ? DELIVERY_FAIL : DELIVERY_DEFER;
		str_copy(r[i].reason, j.lasterr[0] ? j.lasterr :
		    "4.4.1 no host to try", sizeof r[i].reason);
	}
}
