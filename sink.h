/*
 * sink.h - where the session puts an accepted message: the queue
 * directory in-process, or a qmail-queue program named by QMAILQUEUE.
 * The session engine only knows this interface, so a test or a fuzzer
 * can give it a sink of its own.
 */
#ifndef POSTERN_SINK_H
#define POSTERN_SINK_H

#include <stddef.h>

#include "queue.h"

enum commit_result {
	COMMIT_OK,
	COMMIT_TEMPFAIL,	/* 451 4.3.0 */
	COMMIT_PERMFAIL		/* 554 5.3.0 */
};

struct sink_ops {
	/* Starts a message; fills id (may stay empty).  -1: temporary failure. */
	int (*open)(void *ctx, char *id, size_t idsize);
	int (*write)(void *ctx, const char *p, size_t n);
	enum commit_result (*commit)(void *ctx, const char *env, size_t envlen);
	void (*abort)(void *ctx);
	/* Holds the message being written once committed; NULL: cannot. */
	int (*hold)(void *ctx, const char *id);
	/* Commits a message made of pieces of what was written (content
	 * filters' changes: queue.h's map); NULL: cannot. */
	enum commit_result (*commit_pieces)(void *ctx,
	    const struct qextent *map, size_t nmap, const char *env,
	    size_t envlen);
};

extern const struct sink_ops queue_sink_ops;
extern const struct sink_ops qmailqueue_sink_ops;

#endif
