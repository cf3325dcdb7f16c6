/*
 * attempt.c - one delivery attempt at one message, the whole job of a
 * child of deliver: every pending recipient is tried (local Maildirs
 * first, then each remote domain over one connection), each outcome is
 * recorded, the state file saved, one bounce queued for the recipients
 * that failed, and the message removed when none is pending.  When a
 * child does not finish (it crashed, or overran messagetimeout and was
 * killed), the parent records the attempt here instead, so such a
 * message backs off and expires like any other.
 */
#include "attempt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "list.h"
#include "log.h"
#include "maildir.h"
#include "qlock.h"
#include "remote.h"
#include "route.h"
#include "util.h"

#define RETRY_FIRST 300
#define RETRY_MAX 7200

void
attempt_log(const struct msg_state *st, const char *to, const char *relay,
    const char *status, const char *reason)
{
	log_msg(LOG_INFO, "id=%s to=<%s> relay=%s delay=%lld status=%s (%s)",
	    st->id, to, relay, (long long)(time(NULL) - st->arrival), status,
	    reason);
}

struct attempt {
	const struct attempt_ctx *ctx;
	struct msg_state st;
	struct qmessage msg;
	int missing;		/* the message file does not exist */
	time_t deadline;	/* messagetimeout after the child started */
};

/*
 * One outcome.  A success becomes "succeeded" (with as the status) when
 * the recipient's NOTIFY asks for a success report, else delivered.
 */
static void
record(struct attempt *t, struct rcpt_state *r, enum delivery_result res,
    const char *relay, const char *reason, enum rcpt_status as)
{
	const struct msg_state *st = &t->st;
	time_t now = time(NULL);

	str_copy(r->reason, reason, sizeof r->reason);
	for (char *p = r->reason; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (res == DELIVERY_OK) {
		r->status = dsn_wants(&r->dsn, DSN_NOTIFY_SUCCESS) ? as :
		    RS_DELIVERED;
		attempt_log(st, r->addr, relay, "sent", reason);
	} else if (res == DELIVERY_FAIL) {
		r->status = RS_FAILED;
		attempt_log(st, r->addr, relay, "bounced", reason);
	} else if (now - st->arrival >= (time_t)t->ctx->cfg->queuelifetime) {
		char expired[STATE_REASON_MAX + 1];
		snprintf(expired, sizeof expired, "4.4.7 message expired "
		    "after %lld seconds in the queue; last error: %s",
		    (long long)(now - st->arrival), reason);
		str_copy(r->reason, expired, sizeof r->reason);
		r->status = RS_FAILED;
		attempt_log(st, r->addr, relay, "bounced", expired);
	} else {
		attempt_log(st, r->addr, relay, "deferred", reason);
	}
}

struct one_dest {
	struct dest d;
	int count;
};

static int
first_dest(void *ctx, const struct dest *d)
{
	struct one_dest *o = ctx;

	if (o->count++ == 0)
		o->d = *d;
	return 0;
}

static void
deliver_local(struct attempt *t, struct rcpt_state *r, const struct dest *d)
{
	char reason[STATE_REASON_MAX + 1];
	enum delivery_result res;
	const char *sender = t->st.sender;

	if (strcmp(sender, DOUBLE_BOUNCE_SENDER) == 0)
		sender = "";
	res = maildir_deliver(d->maildir, &t->msg, sender, r->addr,
	    t->ctx->cfg->hostname, reason, sizeof reason);
	record(t, r, res, "local", reason, RS_DELIVERED_REPORT);
}

/* A list: the message queued anew, from its owner to its members. */
static void
deliver_list(struct attempt *t, struct rcpt_state *r, const struct dest *d)
{
	char reason[STATE_REASON_MAX + 1];
	enum delivery_result res;

	res = list_deliver(t->ctx->cfg, t->ctx->q, &t->msg, d, reason,
	    sizeof reason);
	record(t, r, res, "list", reason, RS_DELIVERED_REPORT);
}

/* All pending recipients at one domain, over one connection. */
static void
deliver_domain(struct attempt *t, const char *domain, char *const *domains)
{
	struct msg_state *st = &t->st;
	struct remote_rcpt *rr = calloc(st->nrcpts, sizeof *rr);
	size_t *index = calloc(st->nrcpts, sizeof *index), n = 0;
	char relay[400], sender_dsn[DSN_PARAMS_MAX + 1];
	char (*rcpt_dsn)[DSN_PARAMS_MAX + 1] = calloc(st->nrcpts,
	    sizeof *rcpt_dsn);
	struct remote_sender from = { st->sender, sender_dsn };
	int lmtp = route_is_lmtp(t->ctx->cfg, domain);

	if (rr == NULL || index == NULL || rcpt_dsn == NULL)
		goto out;
	dsn_mail_format(&st->dsn, sender_dsn, sizeof sender_dsn);
	for (size_t i = 0; i < st->nrcpts; i++)
		if (domains[i] != NULL && strcmp(domains[i], domain) == 0) {
			dsn_rcpt_format(&st->rcpts[i].dsn, rcpt_dsn[n],
			    sizeof rcpt_dsn[n]);
			rr[n].addr = st->rcpts[i].addr;
			rr[n].dsn = rcpt_dsn[n];
			index[n++] = i;
		}
	remote_deliver(t->ctx->cfg, domain, &t->msg, &from, rr, n,
	    t->deadline, relay, sizeof relay);
	/* A next hop with DSN reports for itself; LMTP delivers; any other
	 * host took it on without a promise to report: "relayed". */
	for (size_t k = 0; k < n; k++)
		record(t, &st->rcpts[index[k]], rr[k].result, relay,
		    rr[k].reason, rr[k].dsn_passed ? RS_DELIVERED :
		    lmtp ? RS_DELIVERED_REPORT : RS_RELAYED_REPORT);
out:
	free(rr);
	free(index);
	free(rcpt_dsn);
}

/* Local recipients at once; remote ones gathered by domain, then sent. */
static void
deliver_pending(struct attempt *t)
{
	struct msg_state *st = &t->st;
	char **domains = calloc(st->nrcpts ? st->nrcpts : 1, sizeof *domains);

	if (domains == NULL)
		return;
	for (size_t i = 0; i < st->nrcpts; i++) {
		struct one_dest o = { .count = 0 };
		struct rcpt_state *r = &st->rcpts[i];

		if (r->status != RS_PENDING)
			continue;
		route_expand(t->ctx->cfg, r->addr, first_dest, &o);
		if (o.count == 0)
			continue;
		if (o.d.kind == DEST_LOCAL)
			deliver_local(t, r, &o.d);
		else if (o.d.kind == DEST_LIST)
			deliver_list(t, r, &o.d);
		else if (o.d.kind == DEST_FAIL)
			record(t, r, DELIVERY_FAIL, "none", o.d.reason,
			    RS_DELIVERED);
		else
			domains[i] = strdup(o.d.domain);
	}
	for (size_t i = 0; i < st->nrcpts; i++) {
		if (domains[i] == NULL)
			continue;
		deliver_domain(t, domains[i], domains);
		for (size_t k = st->nrcpts; k-- > i;)	/* that domain is done */
			if (domains[k] != NULL && k != i &&
			    strcmp(domains[k], domains[i]) == 0) {
				free(domains[k]);
				domains[k] = NULL;
			}
		free(domains[i]);
		domains[i] = NULL;
	}
	free(domains);
}

/* Back-off: 5 minutes, doubled per attempt up to 2 hours; never past expiry. */
static time_t
next_attempt(const struct config *c, const struct msg_state *st)
{
	time_t wait = RETRY_FIRST, last = st->arrival +
	    (time_t)c->queuelifetime;

	for (unsigned i = 1; i < st->attempts && wait < RETRY_MAX; i++)
		wait *= 2;
	if (wait > RETRY_MAX)
		wait = RETRY_MAX;
	return time(NULL) + wait < last ? time(NULL) + wait : last;
}

/*
 * The message goes before its state file: a crash in between leaves a
 * state file with nothing pending and no message, which the next
 * attempt removes quietly, never a message nobody refers to.
 */
static void
finish(const struct attempt_ctx *a, const struct msg_state *st)
{
	unlinkat(a->q->todofd, st->id, 0);
	unlinkat(a->q->messfd, st->id, 0);
	unlinkat(a->statefd, st->id, 0);
	fsync(a->statefd);
	log_msg(LOG_INFO, "id=%s removed", st->id);
}

/* Does some pending recipient of st go to a remote host? */
int
attempt_is_remote(const struct config *c, const struct msg_state *st)
{
	for (size_t i = 0; i < st->nrcpts; i++) {
		struct one_dest o = { .count = 0 };
		if (st->rcpts[i].status != RS_PENDING)
			continue;
		route_expand(c, st->rcpts[i].addr, first_dest, &o);
		if (o.count > 0 && o.d.kind == DEST_REMOTE)
			return 1;
	}
	return 0;
}

/*
 * Outcomes are saved before the bounce, the bounce before "reported";
 * likewise the delay notice before "warned" (a crash between the two
 * sends it twice, never not at all).
 */
static size_t
success_reports_due(const struct msg_state *st)
{
	return state_count(st, RS_DELIVERED_REPORT) +
	    state_count(st, RS_RELAYED_REPORT) +
	    state_count(st, RS_EXPANDED_REPORT);
}

/* The failure notice, then the success report, each saved once queued. */
static int
queue_reports(struct attempt *t)
{
	const struct attempt_ctx *a = t->ctx;
	struct msg_state *st = &t->st;

	if (state_count(st, RS_FAILED) > 0 &&
	    (bounce_failed(a->cfg, a->q, st, &t->msg) < 0 ||
	    state_write(a->q->tmpfd, a->statefd, st) < 0))
		return -1;
	if (success_reports_due(st) > 0 &&
	    (bounce_success(a->cfg, a->q, st, &t->msg) < 0 ||
	    state_write(a->q->tmpfd, a->statefd, st) < 0))
		return -1;
	return 0;
}

static void
save_and_report(struct attempt *t)
{
	const struct attempt_ctx *a = t->ctx;
	struct msg_state *st = &t->st;
	time_t warned = st->warned;

	if (state_write(a->q->tmpfd, a->statefd, st) < 0 ||
	    queue_reports(t) < 0)
		log_msg(LOG_ERR, "id=%s cannot save state or queue a "
		    "notice; will retry: %s", st->id, strerror(errno));
	else if (state_count(st, RS_PENDING) == 0)
		finish(a, st);
	else if (bounce_delayed(a->cfg, a->q, st, &t->msg) < 0 ||
	    (st->warned != warned &&
	    state_write(a->q->tmpfd, a->statefd, st) < 0))
		log_msg(LOG_ERR, "id=%s cannot queue the delay notice or save "
		    "that it went; will retry: %s", st->id, strerror(errno));
}

/*
 * The message of id, locked for the attempt (qlock.c): 0 go on; 1 leave
 * it alone, as postern-queue holds it, deleted it or put it on hold.
 * t->msg.fd is -1 when the message file cannot be opened.
 */
static int
lock_message(struct attempt *t, const char *id)
{
	const struct attempt_ctx *a = t->ctx;

	if (qmessage_open(a->q->messfd, id, &t->msg) < 0) {
		t->missing = errno == ENOENT;
		return 0;
	}
	if (qlock_fd(a->q->messfd, id, t->msg.fd) < 0 ||
	    queue_is_held(a->q, id) ||
	    faccessat(a->statefd, id, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		qmessage_close(&t->msg);
		return 1;
	}
	return 0;
}

/* A child's whole job: one message, one attempt, over by deadline. */
int
attempt_message(const struct attempt_ctx *a, const char *id, time_t deadline)
{
	struct attempt t = { .ctx = a, .deadline = deadline };

	if (lock_message(&t, id) != 0)
		return 0;
	if (state_read(a->statefd, id, &t.st) < 0) {
		log_msg(LOG_ERR, "id=%s unreadable state: %s", id,
		    strerror(errno));
		qmessage_close(&t.msg);
		return 1;
	}
	if (t.msg.fd < 0 && t.missing &&
	    state_count(&t.st, RS_PENDING) == 0 &&
	    state_count(&t.st, RS_FAILED) == 0) {
		log_msg(LOG_INFO, "id=%s removed (finished before a crash)", id);
		unlinkat(a->statefd, id, 0);
		state_free(&t.st);
		return 0;
	}
	if (t.msg.fd < 0) {
		log_msg(LOG_ERR, "id=%s message file missing; state removed",
		    id);
		unlinkat(a->statefd, id, 0);
		state_free(&t.st);
		return 1;
	}
	t.st.attempts++;
	deliver_pending(&t);
	t.st.next = next_attempt(a->cfg, &t.st);
	save_and_report(&t);
	qmessage_close(&t.msg);
	state_free(&t.st);
	return 0;
}

/*
 * The parent's record of an attempt whose child did not finish: it
 * counts, and backs off, as a deferral of every pending recipient; past
 * queuelifetime they fail (4.4.7) and are due at once, so the next child
 * only has to send the bounce.
 */
int
attempt_lost(const struct attempt_ctx *a, const char *id, const char *what)
{
	struct msg_state st;
	time_t now = time(NULL);
	int expired, saved;

	if (state_read(a->statefd, id, &st) < 0)
		return -1;	/* finished, or removed: nothing to record */
	expired = now - st.arrival >= (time_t)a->cfg->queuelifetime;
	st.attempts++;
	st.next = expired ? now : next_attempt(a->cfg, &st);
	for (size_t i = 0; i < st.nrcpts; i++) {
		struct rcpt_state *r = &st.rcpts[i];
		if (r->status != RS_PENDING)
			continue;
		if (expired) {
			snprintf(r->reason, sizeof r->reason, "4.4.7 message "
			    "expired after %lld seconds in the queue; last "
			    "error: %s", (long long)(now - st.arrival), what);
			r->status = RS_FAILED;
		} else {
			snprintf(r->reason, sizeof r->reason, "4.3.0 %s", what);
		}
		attempt_log(&st, r->addr, "none", expired ? "bounced" :
		    "deferred", r->reason);
	}
	saved = state_write(a->q->tmpfd, a->statefd, &st);
	state_free(&st);
	return saved;
}
