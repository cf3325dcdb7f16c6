/* bounce.h - delivery status notifications: failed, delayed, succeeded. */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include "config.h"
#include "queue.h"
#include "state.h"

#define DOUBLE_BOUNCE_SENDER "#@[]"

int bounce_delayed(const struct config *c, struct queue *q,
    struct msg_state *st, const struct qmessage *msg);
int bounce_success(const struct config *c, struct queue *q,
    struct msg_state *st, const struct qmessage *msg);
int bounce_failed(const struct config *c, struct queue *q,
    struct msg_state *st, const struct qmessage *msg);

#endif
