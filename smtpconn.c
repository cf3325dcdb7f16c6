/*
 * smtpconn.c - one connection of deliver's SMTP client (smtpconn.h).
 *
 * Every remote server is hostile: it may answer slowly, a line at a time,
 * forever.  So each exchange has a deadline that its lines do not
 * re-arm, a reply has at most REPLY_LINES_MAX lines and REPLY_OCTETS_MAX
 * octets, and nothing goes past the end of the whole attempt.  Through
 * the TLS program the same holds: deliver's deadlines and limits apply
 * to the clear text it relays, and the program is killed at the end.
 */
#include "smtpconn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define TLS_END_GRACE_MS 5000

void
conn_init(struct conn *k, long long end)
{
	memset(k, 0, sizeof *k);
	k->fd = -1;
	k->end = end;
}

/* The next exchange may take seconds, never past the attempt's end. */
void
conn_expect_within(struct conn *k, unsigned long long seconds)
{
	long long limit = monotonic_ms() + (long long)seconds * 1000;

	k->deadline = limit < k->end ? limit : k->end;
}

/* 1 ready, 0 the deadline passed, -1 error. */
static int
conn_wait(struct conn *k, short events)
{
	struct pollfd p = { .fd = k->fd, .events = events };
	long long left;
	int r;

	if (k->tls != NULL)
		return tlsclient_poll(k->tls, events, k->deadline);
	do {
		left = k->deadline - monotonic_ms();
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

/* A socket of deliver's own, within the current deadline. */
int
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
	if (conn_wait(k, POLLOUT) <= 0) {
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

/*
 * Through the TLS program, connected (and for implicit TLS, encrypted)
 * within the current deadline; else -1 and why.
 */
int
conn_open_tls(struct conn *k, struct tlsclient *t,
    const struct tlsclient_opts *o, char *why, size_t whysize)
{
	int e;

	if (tlsclient_start(t, o) < 0) {
		snprintf(why, whysize, "cannot run %s: %s", o->program,
		    strerror(errno));
		return -1;
	}
	k->tls = t;
	k->fd = t->fd;
	e = tlsclient_connected(t, k->deadline);
	if (e == 0) {
		k->encrypted = o->implicit;
		return 0;
	}
	str_copy(why, e == -2 ? strerror(ETIMEDOUT) : tlslog_reason(&t->log),
	    whysize);
	k->broken = 1;	/* nothing to wait for: killed at once */
	conn_close(k);
	return -1;
}

/*
 * Closes the connection.  The TLS program is given a few seconds to end
 * its session after a QUIT (the server closes, it exits), none after a
 * broken one: it may be stuck relaying a flood nobody reads.
 */
void
conn_close(struct conn *k)
{
	if (k->tls != NULL) {
		long long until = monotonic_ms() +
		    (k->broken ? 0 : TLS_END_GRACE_MS);
		tlsclient_end(k->tls, until < k->end ? until : k->end);
		k->tls = NULL;
	} else if (k->fd >= 0) {
		close(k->fd);
	}
	k->fd = -1;
}

void
conn_flush(struct conn *k)
{
	size_t off = 0;

	while (off < k->outlen && !k->broken) {
		ssize_t w;
		if (conn_wait(k, POLLOUT) <= 0) {
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

void
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

void
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
			if (conn_wait(k, POLLIN) <= 0) {
				conn_break(k, "timed out");
				return -1;
			}
			r = read_retry(k->fd, k->in, sizeof k->in);
			if (r < 0 && errno == EAGAIN)
				continue;
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
int
conn_read_reply(struct conn *k, struct reply *r)
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

/* The line of an EHLO reply that begins with keyword kw, or NULL. */
static const char *
keyword_line(const struct reply *r, const char *kw)
{
	size_t n = strlen(kw);
	const char *p = r->all;

	while (*p) {
		if (strncasecmp(p, kw, n) == 0 && (p[n] == '\n' || p[n] == ' '))
			return p;
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return NULL;
}

int
reply_has_keyword(const struct reply *r, const char *kw)
{
	return keyword_line(r, kw) != NULL;
}

/* What follows keyword kw on its line ("PLAIN LOGIN" after AUTH), or NULL. */
const char *
reply_keyword_args(const struct reply *r, const char *kw, char *out,
    size_t outsize)
{
	const char *p = keyword_line(r, kw);
	size_t n;

	if (p == NULL)
		return NULL;
	p += strlen(kw);
	p += strspn(p, " ");
	n = strcspn(p, "\n");
	if (n >= outsize)
		n = outsize - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}
