/*
 * envelope.h - the queue envelope: qmail-queue's, "F sender NUL
 * (T recipient NUL)* NUL", with one addition of postern's: a "P" item
 * right after the sender or a recipient holds that one's DSN parameters
 * in their SMTP form (dsn.h).  It appears only when a client asked for
 * DSN, so every other envelope is qmail-queue's byte for byte.
 */
#ifndef POSTERN_ENVELOPE_H
#define POSTERN_ENVELOPE_H

#include <stddef.h>

enum env_result {
	ENV_ITEM,	/* *item is the next sender or recipient */
	ENV_END,	/* the closing NUL, at the very end */
	ENV_CUT,	/* an item without its NUL: cut short */
	ENV_BAD		/* anything else out of shape */
};

struct env_item {
	char kind;		/* 'F' or 'T' */
	const char *addr;
	size_t addr_len;
	const char *params;	/* its P item's text, "" when none */
};

struct env_reader {
	const char *p, *end;
	int started;
};

void env_reader_init(struct env_reader *r, const char *data, size_t len);
enum env_result env_next(struct env_reader *r, struct env_item *item);

#endif
