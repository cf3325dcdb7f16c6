/*
 * attempt.h - one delivery attempt at one message: the job of each child
 * of deliver, and what the parent records when a child did not finish.
 */
#ifndef POSTERN_ATTEMPT_H
#define POSTERN_ATTEMPT_H

#include <time.h>

#include "config.h"
#include "queue.h"
#include "state.h"

struct attempt_ctx {
	const struct config *cfg;
	struct queue *q;
	int statefd;
};

void attempt_log(const struct msg_state *st, const char *to,
    const char *relay, const char *status, const char *reason);
int attempt_is_remote(const struct config *c, const struct msg_state *st);
int attempt_message(const struct attempt_ctx *a, const char *id,
    time_t deadline);
int attempt_lost(const struct attempt_ctx *a, const char *id,
    const char *what);

#endif
