/*
 * bounce.c - one RFC 3464 delivery status notification for the failed
 * recipients of a message, queued through the same commit path as any
 * other mail, from the null sender to the envelope sender.  A message
 * from the null sender that fails goes once to postmaster, with the
 * sender DOUBLE_BOUNCE_SENDER; when that fails too it is only logged, so
 * bounces never loop.  With delaywarning, the recipients still pending
 * after that long get one "delayed" notice (never for the null sender).
 * The sender's DSN requests (RFC 3461) decide who is in each notice,
 * whether a success report goes, and how much of the message returns.
 */
#include "bounce.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dsn.h"
#include "log.h"
#include "util.h"

#define HEADER_COPY_MAX 65536
/* RET=FULL returns messages up to this size whole, larger ones' headers
 * (RFC 3461 6.2 allows it; Postfix's bounce_size_limit is 50000). */
#define RETURN_FULL_MAX (1024LL * 1024)

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

enum notice_kind { NOTICE_FAILED, NOTICE_DELAYED, NOTICE_SUCCESS };

/* What kind of notice, and what it says. */
struct notice {
	enum notice_kind kind;
	const char *log_name;
	const char *subject;
	const char *text;
	const char *retry_until;	/* delayed: Will-Retry-Until, else NULL */
};

/*
 * Whether r belongs in notice n: the failed and delayed as NOTIFY asks
 * (none without it, RFC 3461 5.2), the succeeded whose report is due.
 */
static int
in_notice(const struct notice *n, const struct rcpt_state *r)
{
	switch (n->kind) {
	case NOTICE_FAILED:
		return r->status == RS_FAILED &&
		    dsn_wants(&r->dsn, DSN_NOTIFY_FAILURE);
	case NOTICE_DELAYED:
		return r->status == RS_PENDING &&
		    dsn_wants(&r->dsn, DSN_NOTIFY_DELAY);
	case NOTICE_SUCCESS:
		return r->status == RS_DELIVERED_REPORT ||
		    r->status == RS_RELAYED_REPORT ||
		    r->status == RS_EXPANDED_REPORT;
	}
	return 0;
}

static size_t
notice_count(const struct notice *n, const struct msg_state *st)
{
	size_t count = 0;

	for (size_t i = 0; i < st->nrcpts; i++)
		count += in_notice(n, &st->rcpts[i]);
	return count;
}

/* RFC 3464's Action of r in notice n. */
static const char *
action_of(const struct notice *n, const struct rcpt_state *r)
{
	if (n->kind == NOTICE_FAILED)
		return "failed";
	if (n->kind == NOTICE_DELAYED)
		return "delayed";
	return r->status == RS_RELAYED_REPORT ? "relayed" :
	    r->status == RS_EXPANDED_REPORT ? "expanded" : "delivered";
}

static void
write_recipient_report(struct writer *w, const struct rcpt_state *r,
    const struct notice *n)
{
	char status[16], orcpt[DSN_ORCPT_MAX + 1];
	const char *said = strstr(r->reason, " said: ");

	status_of(r->reason, status, sizeof status);
	if (n->kind == NOTICE_DELAYED && status[0] != '4')
		str_copy(status, "4.0.0", sizeof status);
	if (n->kind == NOTICE_SUCCESS)
		str_copy(status, "2.0.0", sizeof status);
	put(w, "\n");
	if (r->dsn.orcpt[0] != '\0') {
		dsn_xtext_decode(r->dsn.orcpt, orcpt, sizeof orcpt);
		put(w, "Original-Recipient: %s\n", orcpt);
	}
	put(w, "Final-Recipient: rfc822; %s\nAction: %s\nStatus: %s\n",
	    r->addr, action_of(n, r), status);
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
copy_message(struct writer *w, const struct qmessage *msg)
{
	char buf[8192];
	long long off = 0;
	ssize_t n;

	while ((n = qmessage_read(msg, buf, sizeof buf, off)) > 0) {
		if (!w->failed && qmsg_write(w->m, buf, (size_t)n) < 0)
			w->failed = 1;
		off += n;
	}
	if (n < 0)
		w->failed = 1;
}

/*
 * The third part: the whole message when a failure notice is asked for
 * with RET=FULL and the message is not too large; otherwise, and in
 * every other notice (RFC 3461 6.2), its header.
 */
static void
write_returned(struct writer *w, const struct msg_state *st,
    const struct qmessage *msg, const struct notice *n, const char *boundary)
{
	if (n->kind == NOTICE_FAILED && st->dsn.ret == DSN_RET_FULL &&
	    msg->len <= RETURN_FULL_MAX) {
		put(w, "\n--%s\nContent-Description: Undelivered Message\n"
		    "Content-Type: message/rfc822\n\n", boundary);
		copy_message(w, msg);
	} else {
		put(w, "\n--%s\nContent-Description: %s Message Headers\n"
		    "Content-Type: text/rfc822-headers\n\n", boundary,
		    n->kind == NOTICE_SUCCESS ? "Delivered" : "Undelivered");
		copy_headers(w, msg);
	}
	put(w, "\n--%s--\n", boundary);
}

static void
write_dsn(struct writer *w, const struct config *c,
    const struct msg_state *st, const char *to, const struct qmessage *msg,
    const struct notice *n)
{
	char now[64], arrival[64], boundary[QUEUE_ID_MAX + 32];
	char envid[DSN_ENVID_MAX + 1];
	const char *host = c->hostname;

	date_of(time(NULL), now, sizeof now);
	date_of(st->arrival, arrival, sizeof arrival);
	snprintf(boundary, sizeof boundary, "%s.%lld/%s", st->id,
	    (long long)time(NULL), host);
	put(w, "Received: (postern deliver); %s\n", now);
	put(w, "From: Mail Delivery System <MAILER-DAEMON@%s>\n", host);
	put(w, "To: <%s>\nSubject: %s\n", to, n->subject);
	put(w, "Date: %s\nMessage-ID: <%s.%lld.%s@%s>\n", now, st->id,
	    (long long)time(NULL), n->kind == NOTICE_FAILED ? "failed" :
	    n->kind == NOTICE_DELAYED ? "delayed" : "success", host);
	put(w, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n");
	put(w, "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n\n", boundary);
	put(w, "This is a MIME-encapsulated message.\n\n--%s\n", boundary);
	put(w, "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=utf-8\n\n");
	put(w, "This is the mail system at host %s.\n\n%s\n\n", host,
	    n->text);
	for (size_t i = 0; i < st->nrcpts; i++)
		if (in_notice(n, &st->rcpts[i]))
			put(w, "<%s>: %s\n", st->rcpts[i].addr,
			    st->rcpts[i].reason);
	put(w, "\n--%s\nContent-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n\n", boundary);
	put(w, "Reporting-MTA: dns; %s\n", host);
	if (st->dsn.envid[0] != '\0') {
		dsn_xtext_decode(st->dsn.envid, envid, sizeof envid);
		put(w, "Original-Envelope-Id: %s\n", envid);
	}
	put(w, "X-Postern-Queue-ID: %s\nArrival-Date: %s\n", st->id, arrival);
	for (size_t i = 0; i < st->nrcpts; i++)
		if (in_notice(n, &st->rcpts[i]))
			write_recipient_report(w, &st->rcpts[i], n);
	write_returned(w, st, msg, n, boundary);
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
	    n->log_name, m.id, to, notice_count(n, st));
	return 0;
}

/*
 * After the notice (or with none due): failed recipients are reported,
 * succeeded ones delivered.  Those NOTIFY kept out of it are logged.
 */
static void
mark_reported(struct msg_state *st, enum notice_kind kind)
{
	for (size_t i = 0; i < st->nrcpts; i++) {
		struct rcpt_state *r = &st->rcpts[i];
		if (kind == NOTICE_FAILED && r->status == RS_FAILED) {
			if (!dsn_wants(&r->dsn, DSN_NOTIFY_FAILURE))
				log_msg(LOG_INFO, "id=%s to=<%s> no failure "
				    "notice: NOTIFY without FAILURE", st->id,
				    r->addr);
			r->status = RS_REPORTED;
		} else if (kind == NOTICE_SUCCESS &&
		    state_succeeded(r->status)) {
			r->status = RS_DELIVERED;
		}
	}
}

/*
 * Queues the notification for every RS_FAILED recipient that NOTIFY
 * does not keep from it, and marks them all RS_REPORTED.  Returns -1
 * when it could not be queued (try again later).
 */
int
bounce_failed(const struct config *c, struct queue *q, struct msg_state *st,
    const struct qmessage *msg)
{
	static const struct notice failed = { NOTICE_FAILED, "bounce",
	    "Undelivered Mail Returned to Sender",
	    "Your message could not be delivered to one or more recipients.\n"
	    "The reasons are below.", NULL };
	char to[STATE_ADDR_MAX + 300];
	const char *from = "";

	if (state_count(st, RS_FAILED) == 0)
		return 0;
	if (notice_count(&failed, st) == 0) {
		mark_reported(st, NOTICE_FAILED);
		return 0;
	}
	if (strcmp(st->sender, DOUBLE_BOUNCE_SENDER) == 0) {
		log_msg(LOG_WARNING, "id=%s double bounce failed too; "
		    "discarded", st->id);
		mark_reported(st, NOTICE_FAILED);
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
	mark_reported(st, NOTICE_FAILED);
	return 0;
}

/*
 * delaywarning: once a message has waited that long with recipients
 * still pending, its sender gets one notice (RFC 3464 "delayed"), as
 * Postfix's delay_warning_time, about those whose NOTIFY allows it.
 * Never to the null sender nor the double-bounce sender.  Sets
 * st->warned; -1 when it could not be queued.
 */
int
bounce_delayed(const struct config *c, struct queue *q, struct msg_state *st,
    const struct qmessage *msg)
{
	char until[64], text[300];
	struct notice delayed = { NOTICE_DELAYED, "delay notice",
	    "Delayed Mail (still being retried)", text, until };
	time_t now = time(NULL);

	if (c->delaywarning == 0 || st->warned != 0 ||
	    state_count(st, RS_PENDING) == 0 ||
	    now - st->arrival < (time_t)c->delaywarning)
		return 0;
	if (st->sender[0] == '\0' ||
	    strcmp(st->sender, DOUBLE_BOUNCE_SENDER) == 0 ||
	    notice_count(&delayed, st) == 0) {
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

/*
 * NOTIFY=SUCCESS: one report for the recipients delivered, relayed to a
 * host without DSN, or expanded, with the message's header only; then
 * they are plainly delivered.  -1 when it could not be queued.
 */
int
bounce_success(const struct config *c, struct queue *q, struct msg_state *st,
    const struct qmessage *msg)
{
	static const struct notice success = { NOTICE_SUCCESS,
	    "success notice", "Successful Mail Delivery Report",
	    "Your message was successfully delivered to the destination(s)\n"
	    "listed below.  If the message was delivered to a mailbox you\n"
	    "will receive no further notifications.  Otherwise you may still\n"
	    "receive notifications of mail delivery errors from other systems.",
	    NULL };

	if (notice_count(&success, st) == 0)
		return 0;
	if (st->sender[0] != '\0' &&
	    strcmp(st->sender, DOUBLE_BOUNCE_SENDER) != 0 &&
	    queue_notice(c, q, st, msg, "", st->sender, &success) < 0)
		return -1;
	mark_reported(st, NOTICE_SUCCESS);
	return 0;
}
