/*
 * qitem.h - a queued message as postern-queue reports it: read from
 * its entry (new mail) or its state file (admitted mail), and the
 * filters that select messages.
 */
#ifndef POSTERN_QITEM_H
#define POSTERN_QITEM_H

#include <stddef.h>
#include <time.h>

#include "queue.h"

enum qitem_state { QS_NEW, QS_DEFERRED, QS_HELD };

struct qitem_rcpt {
	char status;		/* state(5) letter; 'N' not yet admitted */
	char *addr;
	char *reason;
};

struct qitem {
	char id[QUEUE_ID_MAX];
	enum qitem_state state;
	time_t arrival;
	time_t next;		/* 0: due now, or not yet admitted */
	unsigned attempts;
	long long size;		/* of the message, -1 if unknown */
	char *sender;
	struct qitem_rcpt *rcpts;
	size_t nrcpts;
};

struct qfilter {
	const char *sender;	/* the sender contains this (any case) */
	const char *rcpt;	/* some recipient contains this */
	long long older;	/* arrived at least this many seconds ago */
	long long younger;	/* at most; -1: no limit either way */
	int state;		/* an enum qitem_state, or -1 */
};

int qitem_read(const struct queue *q, int statefd, const char *id,
    struct qitem *it);
void qitem_free(struct qitem *it);
void qfilter_init(struct qfilter *f);
int qfilter_active(const struct qfilter *f);
int qfilter_match(const struct qfilter *f, const struct qitem *it,
    time_t now);
int parse_age(const char *s, long long *seconds);
const char *qitem_state_name(enum qitem_state s);

#endif
