/*
 * remote.c - the SMTP client: one connection for all recipients of a
 * message at one domain.  The hosts come from routes (a domain or the
 * "*" smarthost), else from MX records, else from the domain itself;
 * each address of each host is tried in turn until one takes the
 * transaction.  EHLO, falling back to HELO; SIZE, 8BITMIME, SMTPUTF8 and
 * PIPELINING when offered; dot-stuffing and CRLF on the wire; a timeout
 * on every step.
 */
#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "tables.h"
#include "util.h"

struct reply {
	int code;
	char text[512];		/* the first line, without the code */
	char all[2048];		/* every line, for EHLO keywords */
};

struct conn {
	int fd;
	int timeout_ms;
	int broken;
	char in[4096];
	size_t inlen, inpos;
	char out[65536];
	size_t outlen;
	char name[300];		/* host[address]:port, for logs */
};

struct job {
	const struct config *c;
	int msgfd;
	const char *sender;
	struct remote_rcpt *r;
	size_t n;
	int eightbit;
	int needs_utf8;
	unsigned long long size;
	char lasterr[STATE_REASON_MAX + 1];
};

static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

static int
conn_open(struct conn *k, const struct addrinfo *ai, int timeout_ms)
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
	if (wait_fd(k->fd, POLLOUT, timeout_ms) <= 0) {
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
		if (wait_fd(k->fd, POLLOUT, k->timeout_ms) <= 0) {
			k->broken = 1;
			break;
		}
		w = send(k->fd, k->out + off, k->outlen - off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			k->broken = 1;
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

/* One line, without its line end; longer lines are cut, not buffered. */
static int
conn_line(struct conn *k, char *line, size_t size)
{
	size_t len = 0;

	for (;;) {
		if (k->inpos == k->inlen) {
			ssize_t r;
			if (k->broken ||
			    wait_fd(k->fd, POLLIN, k->timeout_ms) <= 0)
				return -1;
			r = read_retry(k->fd, k->in, sizeof k->in);
			if (r <= 0)
				return -1;
			k->inlen = (size_t)r;
			k->inpos = 0;
		}
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
read_reply(struct conn *k, struct reply *r)
{
	char line[1024];
	size_t all = 0;

	r->all[0] = '\0';
	for (;;) {
		if (conn_line(k, line, sizeof line) < 0) {
			k->broken = 1;
			r->code = -1;
			str_copy(r->text, "lost connection", sizeof r->text);
			return -1;
		}
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5') {
			k->broken = 1;
			r->code = -1;
			str_copy(r->text, "malformed reply", sizeof r->text);
			return -1;
		}
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
send_body(struct conn *k, int msgfd)
{
	char buf[32768];
	off_t off = 0;
	ssize_t n;
	int bol = 1;

	while ((n = pread(msgfd, buf, sizeof buf, off)) > 0) {
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
	off_t off = 0;
	ssize_t n;

	j->size = 0;
	j->eightbit = 0;
	while ((n = pread(j->msgfd, buf, sizeof buf, off)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			j->size += buf[i] == '\n' ? 2 : 1;
			j->eightbit |= (unsigned char)buf[i] >= 0x80;
		}
		off += n;
	}
}

static int
greet(struct conn *k, struct job *j, struct reply *ehlo)
{
	struct reply r;

	if (read_reply(k, &r) < 0 || r.code != 220) {
		snprintf(j->lasterr, sizeof j->lasterr, "4.4.2 %s greeting: %s",
		    k->name, r.text);
		return -1;
	}
	conn_cmd(k, "EHLO %s", j->c->hostname);
	conn_flush(k);
	if (read_reply(k, ehlo) == 0 && ehlo->code == 250)
		return 0;
	if (k->broken)
		goto lost;
	ehlo->all[0] = '\0';
	conn_cmd(k, "HELO %s", j->c->hostname);
	conn_flush(k);
	if (read_reply(k, &r) == 0 && r.code == 250)
		return 0;
lost:
	snprintf(j->lasterr, sizeof j->lasterr, "4.4.2 %s refused HELO: %s",
	    k->name, r.text);
	return -1;
}

static void
all_pending(struct job *j, enum delivery_result res, const struct conn *k,
    const struct reply *r, const char *stage)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->r[i].result == DELIVERY_DEFER && j->r[i].reason[0] == '\0')
			set_result(&j->r[i], res, k, r, stage);
}

/*
 * One transaction on an open connection.  Returns -1 when this host did
 * not get as far as answering for the recipients (try the next one).
 */
static int
transaction(struct conn *k, struct job *j)
{
	struct reply ehlo, r;
	int pipelining, accepted = 0;
	char sizeparam[32] = "";
	const char *mailfrom = strcmp(j->sender, "#@[]") == 0 ? "" : j->sender;

	if (greet(k, j, &ehlo) < 0)
		return -1;
	pipelining = has_keyword(&ehlo, "PIPELINING");
	if (j->needs_utf8 && !has_keyword(&ehlo, "SMTPUTF8")) {
		for (size_t i = 0; i < j->n; i++) {
			j->r[i].result = DELIVERY_FAIL;
			snprintf(j->r[i].reason, sizeof j->r[i].reason,
			    "5.6.7 %s does not support SMTPUTF8", k->name);
		}
		return 0;
	}
	if (has_keyword(&ehlo, "SIZE"))
		snprintf(sizeparam, sizeof sizeparam, " SIZE=%llu", j->size);
	conn_cmd(k, "MAIL FROM:<%s>%s%s%s", mailfrom, sizeparam,
	    j->eightbit && has_keyword(&ehlo, "8BITMIME") ? " BODY=8BITMIME" :
	    "", j->needs_utf8 ? " SMTPUTF8" : "");
	if (!pipelining) {
		conn_flush(k);
		if (read_reply(k, &r) < 0 || r.code / 100 != 2) {
			all_pending(j, k->broken ? DELIVERY_DEFER :
			    class_of(r.code), k, &r, "MAIL FROM");
			return 0;
		}
	}
	for (size_t i = 0; i < j->n; i++) {
		conn_cmd(k, "RCPT TO:<%s>", j->r[i].addr);
		if (pipelining)
			continue;
		conn_flush(k);
		if (read_reply(k, &r) < 0) {
			all_pending(j, DELIVERY_DEFER, k, &r, "RCPT TO");
			return 0;
		}
		if (r.code / 100 == 2)
			accepted++, j->r[i].result = DELIVERY_DEFER;
		else
			set_result(&j->r[i], class_of(r.code), k, &r, "RCPT TO");
	}
	if (pipelining) {
		conn_cmd(k, "DATA");
		conn_flush(k);
		if (read_reply(k, &r) < 0 || r.code / 100 != 2) {
			all_pending(j, k->broken ? DELIVERY_DEFER :
			    class_of(r.code), k, &r, "MAIL FROM");
			return 0;
		}
		for (size_t i = 0; i < j->n; i++) {
			if (read_reply(k, &r) < 0) {
				all_pending(j, DELIVERY_DEFER, k, &r, "RCPT TO");
				return 0;
			}
			if (r.code / 100 == 2)
				accepted++;
			else
				set_result(&j->r[i], class_of(r.code), k, &r,
				    "RCPT TO");
		}
	} else if (accepted > 0) {
		conn_cmd(k, "DATA");
		conn_flush(k);
	}
	if (accepted == 0) {
		if (pipelining)
			(void)read_reply(k, &r);	/* DATA's refusal */
		conn_cmd(k, "QUIT");
		conn_flush(k);
		return 0;
	}
	if (read_reply(k, &r) < 0 || r.code != 354) {
		all_pending(j, k->broken ? DELIVERY_DEFER : class_of(r.code),
		    k, &r, "DATA");
		return 0;
	}
	if (send_body(k, j->msgfd) < 0 || read_reply(k, &r) < 0) {
		all_pending(j, DELIVERY_DEFER, k, &r, "end of data");
		return 0;
	}
	all_pending(j, class_of(r.code), k, &r, "end of data");
	conn_cmd(k, "QUIT");
	conn_flush(k);
	return 0;
}

static int
try_host(struct job *j, const char *host, unsigned short port,
    char *relay, size_t relaysize)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char portstr[8], addr[NI_MAXHOST];
	struct conn k;
	int e;

	snprintf(portstr, sizeof portstr, "%u", port);
	e = getaddrinfo(host, portstr, &hints, &res);
	if (e != 0) {
		snprintf(j->lasterr, sizeof j->lasterr, "4.4.3 %s: %s", host,
		    gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		memset(&k, 0, sizeof k);
		k.timeout_ms = (int)j->c->timeout * 1000;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr,
		    NULL, 0, NI_NUMERICHOST);
		snprintf(k.name, sizeof k.name, "%s[%s]:%u", host, addr, port);
		if (conn_open(&k, ai, k.timeout_ms) < 0) {
			snprintf(j->lasterr, sizeof j->lasterr,
			    "4.4.1 connect to %s: %s", k.name, strerror(errno));
			continue;
		}
		e = transaction(&k, j);
		close(k.fd);
		if (e == 0) {
			str_copy(relay, k.name, relaysize);
			freeaddrinfo(res);
			return 0;
		}
	}
	freeaddrinfo(res);
	return -1;
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
	if (route != NULL) {
		if (parse_host_port(route, hosts[0].name, sizeof hosts[0].name,
		    &hosts[0].port) < 0)
			return -1;
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
remote_deliver(const struct config *c, const char *domain, int msgfd,
    const char *sender, struct remote_rcpt *r, size_t n, char *relay,
    size_t relaysize)
{
	struct job j = { .c = c, .msgfd = msgfd, .sender = sender, .r = r,
	    .n = n };
	struct mx_host hosts[MX_MAX];
	size_t nhosts;
	int found;

	str_copy(relay, "none", relaysize);
	j.needs_utf8 = non_ascii(sender);
	for (size_t i = 0; i < n; i++) {
		r[i].result = DELIVERY_DEFER;
		r[i].reason[0] = '\0';
		j.needs_utf8 |= non_ascii(r[i].addr);
	}
	scan_message(&j);
	found = find_hosts(&j, domain, hosts, &nhosts);
	for (size_t h = 0; found == 0 && h < nhosts; h++)
		if (try_host(&j, hosts[h].name, hosts[h].port, relay,
		    relaysize) == 0)
			return;
	for (size_t i = 0; i < n; i++) {
		r[i].result = found == -2 ? DELIVERY_FAIL : DELIVERY_DEFER;
		str_copy(r[i].reason, j.lasterr[0] ? j.lasterr :
		    "4.4.1 no host to try", sizeof r[i].reason);
	}
}
