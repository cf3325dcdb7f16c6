/*
 * queuesink.c - the sink that commits messages into the queue directory
 * in-process: no fork or exec per message.
 */
#include "queuesink.h"

#include "qlock.h"
#include "sink.h"

/* A marker made for a message that never made it into the queue goes. */
static void
forget_hold(struct queue_sink *qs)
{
	if (qs->held)
		queue_set_held(qs->queue, qs->msg.id, 0);
	qs->held = 0;
}

static int
qs_open(void *ctx, char *id, size_t idsize)
{
	struct queue_sink *qs = ctx;

	qs->held = 0;
	if (qmsg_create(qs->queue, &qs->msg) < 0)
		return -1;
	str_copy(id, qs->msg.id, idsize);
	return 0;
}

static int
qs_write(void *ctx, const char *p, size_t n)
{
	struct queue_sink *qs = ctx;

	return qmsg_write(&qs->msg, p, n);
}

static enum commit_result
qs_commit_pieces(void *ctx, const struct qextent *map, size_t nmap,
    const char *env, size_t envlen)
{
	struct queue_sink *qs = ctx;

	if (qmsg_commit_map(qs->queue, &qs->msg, map, nmap, env, envlen) < 0) {
		forget_hold(qs);
		return COMMIT_TEMPFAIL;
	}
	qs->held = 0;
	queue_trigger(qs->queue);
	return COMMIT_OK;
}

static enum commit_result
qs_commit(void *ctx, const char *env, size_t envlen)
{
	return qs_commit_pieces(ctx, NULL, 0, env, envlen);
}

static void
qs_abort(void *ctx)
{
	struct queue_sink *qs = ctx;

	forget_hold(qs);
	qmsg_abort(qs->queue, &qs->msg);
}

static int
qs_hold(void *ctx, const char *id)
{
	struct queue_sink *qs = ctx;

	if (queue_set_held(qs->queue, id, 1) < 0)
		return -1;
	qs->held = 1;
	return 0;
}

const struct sink_ops queue_sink_ops = {
	qs_open, qs_write, qs_commit, qs_abort, qs_hold, qs_commit_pieces
};
