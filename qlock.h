/*
 * qlock.h - the hand-off between deliver and the queue tool
 * (postern-queue): an entry is worked on only under an exclusive lock
 * on its file, and a held entry has a marker in hold/ (queue(5)).
 */
#ifndef POSTERN_QLOCK_H
#define POSTERN_QLOCK_H

#include "queue.h"

int qlock_fd(int dirfd, const char *id, int fd);
int qlock_entry(const struct queue *q, const char *id, unsigned wait_ms,
    char *where);
int queue_is_held(const struct queue *q, const char *id);
int queue_set_held(const struct queue *q, const char *id, int held);

#endif
