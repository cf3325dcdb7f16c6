/*
 * list.c - delivery to a mailing list: an alias NAME with an entry
 * "owner-NAME" beside it (route.c), as sendmail and Postfix's local(8)
 * treat one.  The message is queued anew, from the owner to the list's
 * members, so that their bounces go to the owner and not to the poster;
 * the new envelope takes nothing of the old one's DSN requests (RFC
 * 3461 5.2.7.1), and for the poster the list is where delivery ended.
 * The copy carries "Delivered-To: LIST" first: a message that already
 * has it went round a loop of lists.
 */
#include "list.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Members come from one aliases entry, itself at most a few KiB. */
#define LIST_ENVELOPE_MAX 65536

struct members {
	struct buf env;
	unsigned count;
};

static int
add_member(void *ctx, const char *member)
{
	struct members *m = ctx;

	m->count++;
	return buf_append(&m->env, "T", 1) < 0 ||
	    buf_append(&m->env, member, strlen(member) + 1) < 0 ? -1 : 0;
}

/* F owner, T each member, the closing NUL; -1 when none or too many. */
static int
list_envelope(const struct config *c, const struct dest *list,
    struct members *m)
{
	if (buf_append(&m->env, "F", 1) < 0 ||
	    buf_append(&m->env, list->owner, strlen(list->owner) + 1) < 0 ||
	    route_list_members(c, list->addr, add_member, m) < 0 ||
	    m->count == 0)
		return -1;
	return buf_append(&m->env, "", 1);
}

/* The copy: our Delivered-To line, then the message as queued. */
static int
write_copy(struct qmsg *out, const struct qmessage *msg, const char *list)
{
	char buf[8192];
	long long off = 0;
	ssize_t n;
	int len = snprintf(buf, sizeof buf, "Delivered-To: %s\n", list);

	if (len < 0 || (size_t)len >= sizeof buf ||
	    qmsg_write(out, buf, (size_t)len) < 0)
		return -1;
	while ((n = qmessage_read(msg, buf, sizeof buf, off)) > 0) {
		if (qmsg_write(out, buf, (size_t)n) < 0)
			return -1;
		off += n;
	}
	return n < 0 ? -1 : 0;
}

enum delivery_result
list_deliver(const struct config *c, struct queue *q,
    const struct qmessage *msg, const struct dest *list, char *reason,
    size_t reasonsize)
{
	struct members m = { .count = 0 };
	struct qmsg out = { .fd = -1 };
	enum delivery_result r = DELIVERY_DEFER;

	if (maildir_seen_delivered_to(msg, list->addr)) {
		snprintf(reason, reasonsize, "5.4.6 mailing list loop: "
		    "already sent to list %s", list->addr);
		return DELIVERY_FAIL;
	}
	buf_init(&m.env, LIST_ENVELOPE_MAX);
	if (list_envelope(c, list, &m) < 0) {
		snprintf(reason, reasonsize, "4.3.0 list %s: no members, or "
		    "too many", list->addr);
		goto out;
	}
	if (qmsg_create(q, &out) < 0) {
		snprintf(reason, reasonsize, "4.3.0 cannot queue the list's "
		    "copy: %s", strerror(errno));
		goto out;
	}
	if (write_copy(&out, msg, list->addr) < 0) {
		qmsg_abort(q, &out);
		snprintf(reason, reasonsize, "4.3.0 cannot write the list's "
		    "copy: %s", strerror(errno));
		goto out;
	}
	if (qmsg_commit(q, &out, m.env.data, m.env.len) < 0) {
		snprintf(reason, reasonsize, "4.3.0 cannot queue the list's "
		    "copy: %s", strerror(errno));
		goto out;
	}
	queue_trigger(q);
	snprintf(reason, reasonsize, "2.0.0 delivered to list %s: queued as "
	    "%s from <%s> to %u members", list->addr, out.id, list->owner,
	    m.count);
	r = DELIVERY_OK;
out:
	buf_free(&m.env);
	return r;
}
