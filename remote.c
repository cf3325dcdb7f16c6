/*
 * remote.c - the SMTP client: one connection for all recipients of a
 * message at one domain.  The hosts come from routes (a domain or the
 * "*" smarthost), else from MX records, else from the domain itself;
 * each address of each host is tried in turn until one takes the
 * transaction.  EHLO, falling back to HELO; SIZE, 8BITMIME, SMTPUTF8 and
 * PIPELINING when offered; dot-stuffing and CRLF on the wire.
 *
 * Every remote server is hostile: it may answer slowly, a line at a time,
 * forever.  So each exchange has a deadline that its lines do not
 * re-arm (connecttimeout for the connect, timeout for each reply, and
 * the body at least 1 KiB a second), a reply has at most REPLY_LINES_MAX
 * lines and REPLY_OCTETS_MAX octets, at most maxmxaddresses addresses
 * are tried, and nothing goes past the end of the whole attempt.
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

#include "address.h"
#include "dns.h"
#include "masquerade.h"
#include "route.h"
#include "srs.h"
#include "tables.h"
#include "util.h"

#define REPLY_LINES_MAX 100
#define REPLY_OCTETS_MAX 65536
#define BODY_MIN_RATE 1024	/* octets a second the body may not fall below */

struct reply {
	int code;
	char text[512];		/* the first line, without the code */
	char all[2048];		/* every line, for EHLO keywords */
};

struct conn {
	int fd;
	int broken;
	long long deadline;	/* of the current exchange, monotonic ms */
	long long end;		/* of the whole attempt, monotonic ms */
	const char *why;	/* why the connection broke */
	char in[4096];
	size_t inlen, inpos;
	char out[65536];
	size_t outlen;
	char name[300];		/* host[address]:port, for logs */
};

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
	char lasterr[STATE_REASON_MAX + 1];
};

/* The next exchange may take seconds, never past the attempt's end. */
static void
expect_within(struct conn *k, unsigned long long seconds)
{
	long long limit = monotonic_ms() + (long long)seconds * 1000;

	k->deadline = limit < k->end ? limit : k->end;
}

/* 1 ready, 0 the deadline passed, -1 error. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int r;

	do {
		left = deadline - monotonic_ms();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
	} while (r < 0 && errno == EINTR);
	return r;
}

static void
conn_break(struct conn *k, const char *why)
{
	if (!k->broken)
		k->why = why;
	k->broken = 1;
}

static int
conn_open(struct conn *k, const struct addrinfo *ai)
{
	int err = 0;
	socklen_t len = sizeof err;

	k->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (k->fd < 0)
		return -1;
	if (connect(k->fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	if (wait_fd(k->fd, POLLOUT, k->deadline) <= 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		errno = err ? err : errno;
		goto fail;
	}
	return 0;
fail:
	err = errno;
	close(k->fd);
	k->fd = -1;
	errno = err;
	return -1;
}

static void
conn_flush(struct conn *k)
{
	size_t off = 0;

	while (off < k->outlen && !k->broken) {
		ssize_t w;
		if (wait_fd(k->fd, POLLOUT, k->deadline) <= 0) {
			conn_break(k, "timed out");
			break;
		}
		w = send(k->fd, k->out + off, k->outlen - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			conn_break(k, "lost connection");
			break;
		}
		off += (size_t)w;
	}
	k->outlen = 0;
}

static void
conn_put(struct conn *k, const char *p, size_t n)
{
	while (n > 0) {
		size_t room = sizeof k->out - k->outlen, c = n < room ? n : room;
		memcpy(k->out + k->outlen, p, c);
		k->outlen += c;
		p += c;
		n -= c;
		if (k->outlen == sizeof k->out)
			conn_flush(k);
	}
}

static void PRINTF_LIKE(2, 3)
conn_cmd(struct conn *k, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = format_clamped(line, sizeof line, fmt, ap);
	va_end(ap);
	conn_put(k, line, n);
	conn_put(k, "\r\n", 2);
}

/*
 * One line, without its line end; longer lines are cut, not buffered.
 * *budget is what the reply may still take, line ends included.
 */
static int
conn_line(struct conn *k, char *line, size_t size, size_t *budget)
{
	size_t len = 0;

	for (;;) {
		if (k->inpos == k->inlen) {
			ssize_t r;
			if (k->broken)
				return -1;
			if (wait_fd(k->fd, POLLIN, k->deadline) <= 0) {
				conn_break(k, "timed out");
				return -1;
			}
			r = read_retry(k->fd, k->in, sizeof k->in);
			if (r <= 0) {
				conn_break(k, "lost connection");
				return -1;
			}
			k->inlen = (size_t)r;
			k->inpos = 0;
		}
		if (*budget == 0) {
			conn_break(k, "reply too long");
			return -1;
		}
		(*budget)--;
		char ch = k->in[k->inpos++];
		if (ch == '\n')
			break;
		if (ch != '\r' && len + 1 < size)
			line[len++] = ch;
	}
	line[len] = '\0';
	return 0;
}

static int
bad_reply(struct conn *k, struct reply *r, const char *why)
{
	conn_break(k, why);
	r->code = -1;
	str_copy(r->text, k->why, sizeof r->text);
	return -1;
}

/* One whole reply, within the deadline of the exchange it answers. */
static int
read_reply(struct conn *k, struct reply *r)
{
	char line[1024];
	size_t all = 0, budget = REPLY_OCTETS_MAX;

	r->all[0] = '\0';
	for (unsigned n = 0;; n++) {
		if (n == REPLY_LINES_MAX)
			return bad_reply(k, r, "reply of too many lines");
		if (conn_line(k, line, sizeof line, &budget) < 0)
			return bad_reply(k, r, "lost connection");
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5')
			return bad_reply(k, r, "malformed reply");
		all += (size_t)snprintf(r->all + all, sizeof r->all - all,
		    "%s\n", line + (strlen(line) > 4 ? 4 : 3));
		if (all >= sizeof r->all)
			all = sizeof r->all - 1;
		if (line[3] != '-') {
			r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
			str_copy(r->text, line, sizeof r->text);
			return 0;
		}
	}
}

/* The reply to what was just sent, within timeout. */
static int
await_reply(struct conn *k, const struct job *j, struct reply *r)
{
	expect_within(k, j->c->timeout);
	conn_flush(k);
	return read_reply(k, r);
}

static int
has_keyword(const struct reply *r, const char *kw)
{
	size_t n = strlen(kw);
	const char *p = r->all;

	while (*p) {
		if (strncasecmp(p, kw, n) == 0 && (p[n] == '\n' || p[n] == ' '))
			return 1;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return 0;
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
	if (!j->needs_utf8 || has_keyword(ehlo, "SMTPUTF8"))
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

	if (has_keyword(ehlo, "SIZE"))
		snprintf(sizeparam, sizeof sizeparam, " SIZE=%llu", j->size);
	conn_cmd(k, "MAIL FROM:<%s>%s%s%s%s%s", from, sizeparam,
	    j->eightbit && has_keyword(ehlo, "8BITMIME") ? " BODY=8BITMIME" :
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
		expect_within(k, j->c->timeout);
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

	expect_within(k, j->c->timeout + j->size / BODY_MIN_RATE);
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

/*
 * One transaction on an open connection.  Returns -1 when this host did
 * not get as far as answering for the recipients (try the next one).
 */
static int
transaction(struct conn *k, struct job *j)
{
	struct reply ehlo;

	if (greet(k, j, &ehlo) < 0)
		return -1;
	if (check_utf8(k, j, &ehlo) < 0)
		return 0;
	j->pipelining = has_keyword(&ehlo, "PIPELINING");
	j->dsn = has_keyword(&ehlo, "DSN");
	j->accepted = 0;
	if (envelope(k, j, &ehlo) == 0)
		body(k, j);
	for (size_t i = 0; i < j->n; i++)
		j->r[i].dsn_passed = j->dsn && j->r[i].result == DELIVERY_OK;
	if (!k->broken) {	/* its reply changes nothing: not waited for */
		conn_cmd(k, "QUIT");
		expect_within(k, j->c->timeout);
		conn_flush(k);
	}
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

	memset(&k, 0, sizeof k);
	k.end = j->end;
	snprintf(k.name, sizeof k.name, "unix:%s", path);
	if (str_copy(sun.sun_path, path, sizeof sun.sun_path) >=
	    sizeof sun.sun_path) {
		snprintf(j->lasterr, sizeof j->lasterr, "5.3.5 %s: path too "
		    "long", k.name);
		return -2;
	}
	expect_within(&k, j->c->connecttimeout);
	if (conn_open(&k, &ai) < 0) {
		snprintf(j->lasterr, sizeof j->lasterr,
		    "4.4.1 connect to %s: %s", k.name, strerror(errno));
		return -1;
	}
	e = transaction(&k, j);
	close(k.fd);
	if (e == 0)
		str_copy(relay, k.name, relaysize);
	return e;
}

/* 0 done with this domain, -1 try the next host, -2 stop trying. */
static int
try_host(struct job *j, const char *host, unsigned short port,
    char *relay, size_t relaysize)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char portstr[8];
	struct conn k;
	int e = -1;

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
	for (ai = res; ai != NULL && e == -1; ai = ai->ai_next) {
		if (!may_try_another(j)) {
			e = -2;
			break;
		}
		j->addresses++;
		memset(&k, 0, sizeof k);
		k.end = j->end;
		name_conn(&k, host, ai, port);
		expect_within(&k, j->c->connecttimeout);
		if (conn_open(&k, ai) < 0) {
			snprintf(j->lasterr, sizeof j->lasterr,
			    "4.4.1 connect to %s: %s", k.name, strerror(errno));
			continue;
		}
		e = transaction(&k, j);
		close(k.fd);
		if (e == 0)
			str_copy(relay, k.name, relaysize);
	}
	freeaddrinfo(res);
	return e;
}

/* The hosts for domain: a route, the literal, or the MX records. */
static int
find_hosts(struct job *j, const char *domain, struct mx_host *hosts,
    size_t *n)
{
	const struct table *routes = &j->c->tables[TABLE_ROUTES];
	const char *route = table_get(routes, domain);

	*n = 0;
	if (route == NULL)
		route = table_get(routes, "*");
	if (route != NULL && strncmp(route, "lmtp:", 5) == 0) {
		j->lmtp = 1;
		route += 5;
		if (strncmp(route, "unix:", 5) == 0) {
			str_copy(hosts[0].name, route, sizeof hosts[0].name);
			*n = 1;
			return 0;
		}
	}
	if (route != NULL) {
		if (parse_host_port(route, hosts[0].name, sizeof hosts[0].name,
		    &hosts[0].port) < 0)
			return -1;
		/* LMTP has no port of its own to default to but 24 */
		if (j->lmtp && strchr(route[0] == '[' ? strchr(route, ']') :
		    route, ':') == NULL)
			hosts[0].port = 24;
		*n = 1;
		return 0;
	}
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
