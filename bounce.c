/*
 * bounce.c - one RFC 3464 delivery status notification for the failed
 * recipients of a message, queued through the same commit path as any
 * other mail, from the null sender to the envelope sender.  A message
 * from the null sender that fails goes once to postmaster, with the
 * sender DOUBLE_BOUNCE_SENDER; when that fails too it is only logged, so
 * bounces never loop.  With delaywarning, the recipients still pending
 * after that long get one "delayed" notice (never for the null sender).
 */
#include "bounce.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define HEADER_COPY_MAX 65536

struct writer {
	struct qmsg *m;
	int failed;
};

static void PRINTF_LIKE(2, 3)
put(struct writer *w, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = format_clamped(line, sizeof line, fmt, ap);
	va_end(ap);
	if (!w->failed && qmsg_write(w->m, line, n) < 0)
		w->failed = 1;
}

/* Reads 1 to max digits at *p; returns how many, 0 if none. */
static size_t
digits(const char *p, size_t max)
{
	size_t n = 0;

	while (n < max && isdigit((unsigned char)p[n]))
		n++;
	return n;
}

/* The first x.y.z status code (RFC 3463) in a reason, else 5.0.0. */
static void
status_of(const char *reason, char *out, size_t outsize)
{
	for (const char *p = reason; *p; p++) {
		size_t b, c;

		if ((*p != '4' && *p != '5') || p[1] != '.' ||
		    (p > reason && isdigit((unsigned char)p[-1])))
			continue;
		b = digits(p + 2, 3);
		if (b == 0 || p[2 + b] != '.')
			continue;
		c = digits(p + 3 + b, 3);
		if (c == 0 || isdigit((unsigned char)p[3 + b + c]))
			continue;
		snprintf(out, outsize, "%.*s", (int)(3 + b + c), p);
		return;
	}
	str_copy(out, "5.0.0", outsize);
}

static void
date_of(time_t t, char *out, size_t outsize)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, outsize, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		str_copy(out, "Thu, 01 Jan 1970 00:00:00 +0000", outsize);
}

/* What kind of notice, and what it says. */
struct notice {
	enum rcpt_status about;		/* RS_FAILED or RS_PENDING */
	const char *action;		/* "failed", "delayed" */
	const char *subject;
	const char *text;
	const char *retry_until;	/* delayed: Will-Retry-Until, else NULL */
};

static void
write_recipient_report(struct writer *w, const struct rcpt_state *r,
    const struct notice *n)
{
	char status[16];
	const char *said = strstr(r->reason, " said: ");

	status_of(r->reason, status, sizeof status);
	if (n->about == RS_PENDING && status[0] != '4')
		str_copy(status, "4.0.0", sizeof status);
	put(w, "\nFinal-Recipient: rfc822; %s\nAction: %s\nStatus: %s\n",
	    r->addr, n->action, status);
	if (n->retry_until != NULL)
		put(w, "Will-Retry-Until: %s\n", n->retry_until);
	if (said != NULL) {
		const char *text = said + 7, *end = strstr(text, " (in reply");
		put(w, "Remote-MTA: dns; %.*s\n", (int)strcspn(r->reason, "["),
		    r->reason);
		put(w, "Diagnostic-Code: smtp; %.*s\n",
		    (int)(end ? (size_t)(end - text) : strlen(text)), text);
	} else {
		put(w, "Diagnostic-Code: X-Postern; %s\n", r->reason);
	}
}

static void
copy_headers(struct writer *w, const struct qmessage *msg)
{
	char buf[4096];
	long long off = 0;
	ssize_t n;
	int bol = 1;

	while (off < HEADER_COPY_MAX &&
	    (n = qmessage_read(msg, buf, sizeof buf, off)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (bol && buf[i] == '\n') {
				if (i > 0 && !w->failed &&
				    qmsg_write(w->m, buf, (size_t)i) < 0)
					w->failed = 1;
				return;
			}
			bol = buf[i] == '\n';
		}
		if (!w->failed && qmsg_write(w->m, buf, (size_t)n) < 0)
			w->failed = 1;
		off += n;
	}
	if (!bol)
		put(w, "\n");
}

static void
write_dsn(struct writer *w, const struct config *c,
    const struct msg_state *st, const char *to, const struct qmessage *msg,
    const struct notice *n)
{
	char now[64], arrival[64], boundary[QUEUE_ID_MAX + 32];
	const char *host = c->hostname;

	date_of(time(NULL), now, sizeof now);
	date_of(st->arrival, arrival, sizeof arrival);
	snprintf(boundary, sizeof boundary, "%s.%lld/%s", st->id,
	    (long long)time(NULL), host);
	put(w, "Received: (postern deliver); %s\n", now);
	put(w, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", host);
	put(w, "To: <%s>\nSubject: %s\n", to, n->subject);
	put(w, "Date: %s\nMessage-ID: <%s.%lld.%s@%s>\n", now, st->id,
	    (long long)time(NULL), n->action, host);
	put(w, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n");
	put(w, "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n\n", boundary);
	put(w, "This is a MIME-encapsulated message.\n\n--%s\n", boundary);
	put(w, "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=utf-8\n\n");
	put(w, "This is the mail system at host %s.\n\n%s\n\n", host,
	    n->text);
	for (size_t i = 0; i < st->nrcpts; i++)
		if (st->rcpts[i].status == n->about)
			put(w, "<%s>: %s\n", st->rcpts[i].addr,
			    st->rcpts[i].reason);
	put(w, "\n--%s\nContent-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n\n", boundary);
	put(w, "Reporting-MTA: dns; %s\nX-Postern-Queue-ID: %s\n"
	    "Arrival-Date: %s\n", host, st->id, arrival);
	for (size_t i = 0; i < st->nrcpts; i++)
		if (st->rcpts[i].status == n->about)
			write_recipient_report(w, &st->rcpts[i], n);
	put(w, "\n--%s\nContent-Description: Undelivered Message Headers\n"
	    "Content-Type: text/rfc822-headers\n\n", boundary);
	copy_headers(w, msg);
	put(w, "\n--%s--\n", boundary);
}

/* Queues notice n from from to to; 0, or -1 when it could not be. */
static int
queue_notice(const struct config *c, struct queue *q,
    const struct msg_state *st, const struct qmessage *msg, const char *from,
    const char *to, const struct notice *n)
{
	char env[STATE_ADDR_MAX + 300];
	struct qmsg m = { .fd = -1 };
	struct writer w = { .m = &m };
	size_t envlen;

	envlen = (size_t)snprintf(env, sizeof env, "F%s%cT%s%c", from, 0, to,
	    0) + 1;
	env[envlen - 1] = '\0';
	if (qmsg_create(q, &m) < 0)
		return -1;
	write_dsn(&w, c, st, to, msg, n);
	if (w.failed) {
		qmsg_abort(q, &m);
		return -1;
	}
	if (qmsg_commit(q, &m, env, envlen) < 0)
		return -1;
	queue_trigger(q);
	log_msg(LOG_INFO, "id=%s %s id=%s to=<%s> nrcpt=%zu", st->id,
	    n->about == RS_FAILED ? "bounce" : "delay notice", m.id, to,
	    state_count(st, n->about));
	return 0;
}

static void
mark_reported(struct msg_state *st)
{
	for (size_t i = 0; i < st->nrcpts; i++)
		if (st->rcpts[i].status == RS_FAILED)
			st->rcpts[i].status = RS_REPORTED;
}

/*
 * Queues the notification for every RS_FAILED recipient and marks them
 * RS_REPORTED.  Returns -1 when it could not be queued (try again later).
 */
int
bounce_failed(const struct config *c, struct queue *q, struct msg_state *st,
    const struct qmessage *msg)
{
	static const struct notice failed = { RS_FAILED, "failed",
	    "Undelivered Mail Returned to Sender",
	    "Your message could not be delivered to one or more recipients.\n"
	    "The reasons are below.", NULL };
	char to[STATE_ADDR_MAX + 300];
	const char *from = "";

	if (state_count(st, RS_FAILED) == 0)
		return 0;
	if (strcmp(st->sender, DOUBLE_BOUNCE_SENDER) == 0) {
		log_msg(LOG_WARNING, "id=%s double bounce failed too; "
		    "discarded", st->id);
		mark_reported(st);
		return 0;
	}
	if (st->sender[0] == '\0') {
		from = DOUBLE_BOUNCE_SENDER;
		snprintf(to, sizeof to, "postmaster@%s", c->hostname);
	} else {
		str_copy(to, st->sender, sizeof to);
	}
	if (queue_notice(c, q, st, msg, from, to, &failed) < 0)
		return -1;
	mark_reported(st);
	return 0;
}

/*
 * delaywarning: once a message has waited that long with recipients
 * still pending, its sender gets one notice (RFC 3464 "delayed"), as
 * Postfix's delay_warning_time.  Never to the null sender nor the
 * double-bounce sender.  Sets st->warned; -1 when it could not be queued.
 */
int
bounce_delayed(const struct config *c, struct queue *q, struct msg_state *st,
    const struct qmessage *msg)
{
	char until[64], text[300];
	struct notice delayed = { RS_PENDING, "delayed",
	    "Delayed Mail (still being retried)", text, until };
	time_t now = time(NULL);

	if (c->delaywarning == 0 || st->warned != 0 ||
	    state_count(st, RS_PENDING) == 0 ||
	    now - st->arrival < (time_t)c->delaywarning)
		return 0;
	if (st->sender[0] == '\0' || strcmp(st->sender, DOUBLE_BOUNCE_SENDER) == 0) {
		st->warned = now;
		return 0;
	}
	date_of(st->arrival + (time_t)c->queuelifetime, until, sizeof until);
	snprintf(text, sizeof text, "Your message has not been delivered yet "
	    "to the recipients below, after %lld seconds.\nThis is a warning "
	    "only: it will be retried until %s.", (long long)(now -
	    st->arrival), until);
	if (queue_notice(c, q, st, msg, "", st->sender, &delayed) < 0)
		return -1;
	st->warned = now;
	return 0;
}
