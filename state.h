/*
 * state.h - deliver's record of one message: when it arrived, its
 * sender, when to try again, and every final recipient's fate.
 */
#ifndef POSTERN_STATE_H
#define POSTERN_STATE_H

#include <stddef.h>
#include <time.h>

#include "dsn.h"
#include "queue.h"

#define STATE_ADDR_MAX 1000
#define STATE_REASON_MAX 400

enum rcpt_status {
	RS_PENDING = 'P',	/* not yet delivered */
	RS_DELIVERED = 'D',
	RS_FAILED = 'F',	/* failed for good, bounce not yet sent */
	RS_REPORTED = 'R',	/* failed, and the bounce is queued */
	/* Succeeded, and NOTIFY=SUCCESS asks for a report not yet queued;
	 * once it is, the recipient becomes RS_DELIVERED. */
	RS_DELIVERED_REPORT = 'S',	/* "delivered" (RFC 3464) */
	RS_RELAYED_REPORT = 'L',	/* "relayed": the next hop had no DSN */
	RS_EXPANDED_REPORT = 'E'	/* "expanded": an alias of several */
};

struct rcpt_state {
	enum rcpt_status status;
	char addr[STATE_ADDR_MAX + 1];
	char reason[STATE_REASON_MAX + 1];	/* the last error */
	struct dsn_rcpt dsn;
};

struct msg_state {
	char id[QUEUE_ID_MAX];
	time_t arrival;
	time_t next;		/* not before this time */
	unsigned attempts;
	time_t warned;		/* the delay notice went then; 0 not yet */
	char sender[STATE_ADDR_MAX + 1];
	struct dsn_mail dsn;
	struct rcpt_state *rcpts;
	size_t nrcpts;
	size_t cap;
};

int state_add_rcpt(struct msg_state *st, enum rcpt_status status,
    const char *addr, const char *reason);
int state_read(int dirfd, const char *id, struct msg_state *st);
int state_write(int tmpdirfd, int dirfd, const struct msg_state *st);
size_t state_count(const struct msg_state *st, enum rcpt_status status);
int state_succeeded(enum rcpt_status status);
void state_free(struct msg_state *st);

#endif
