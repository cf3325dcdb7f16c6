/* list.h - delivery to a mailing list: the message queued anew. */
#ifndef POSTERN_LIST_H
#define POSTERN_LIST_H

#include <stddef.h>

#include "config.h"
#include "maildir.h"
#include "queue.h"
#include "route.h"

enum delivery_result list_deliver(const struct config *c, struct queue *q,
    const struct qmessage *msg, const struct dest *list, char *reason,
    size_t reasonsize);

#endif
