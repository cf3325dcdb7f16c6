/*
 * queuesink.c - the sink that commits messages into the queue directory
 * in-process: no fork or exec per message.
 */
#include "queuesink.h"

#include "sink.h"

static int
qs_open(void *ctx, char *id, size_t idsize)
{
	struct queue_sink *qs = ctx;

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
qs_commit(void *ctx, const char *env, size_t envlen)
{
	struct queue_sink *qs = ctx;

	if (qmsg_commit(qs->queue, &qs->msg, env, envlen) < 0)
		return COMMIT_TEMPFAIL;
	queue_trigger(qs->queue);
	return COMMIT_OK;
}

static void
qs_abort(void *ctx)
{
	struct queue_sink *qs = ctx;

	qmsg_abort(qs->queue, &qs->msg);
}

const struct sink_ops queue_sink_ops = {
	qs_open, qs_write, qs_commit, qs_abort
};
