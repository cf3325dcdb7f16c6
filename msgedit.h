/*
 * msgedit.h - the changes content filters make to a message at its end
 * (header fields added, inserted, changed or deleted, a new body), kept
 * as positions in the queue file: the message as received stays where
 * it was written, what the filters add is written after it, and the
 * result is a list of pieces (queue.h's map), so the message is still
 * written once and memory stays bounded by the number of fields.
 */
#ifndef POSTERN_MSGEDIT_H
#define POSTERN_MSGEDIT_H

#include <stddef.h>

#include "queue.h"

#define MSGEDIT_NAME_MAX 128	/* octets of a name kept to find it by */
#define MSGEDIT_FIELDS_MAX 2000	/* fields known, received and added */
#define MSGEDIT_BODY_PIECES 1000

struct msgfield {
	long long off;
	long long len;
	char name[MSGEDIT_NAME_MAX];	/* "" when too long to be found */
};

struct msgedit {
	struct msgfield *field;	/* in order; NULL until the first */
	size_t nfield;
	long long eoh;		/* the header section's end */
	long long end;		/* the end of the message as received */
	int separator;		/* an empty line is at eoh */
	struct qextent body[MSGEDIT_BODY_PIECES];	/* a new body */
	size_t nbody;
	int body_replaced;
	int pending_cr;		/* the new body's last chunk ended in CR */
	int changed;
	int overflow;		/* fields past MSGEDIT_FIELDS_MAX: joined */
};

void msgedit_init(struct msgedit *e);
void msgedit_free(struct msgedit *e);
void msgedit_received(struct msgedit *e, const char *text, size_t n,
    long long off, long long len);
void msgedit_header_end(struct msgedit *e, long long off, int separator);
void msgedit_message_end(struct msgedit *e, long long off);

int msgedit_insert(struct msgedit *e, size_t index, const char *name,
    long long off, long long len);
int msgedit_change(struct msgedit *e, const char *name, unsigned nth,
    long long off, long long len);
void msgedit_body_reset(struct msgedit *e);
int msgedit_body_piece(struct msgedit *e, long long off, long long len);

size_t msgedit_map(const struct msgedit *e, struct qextent *map, size_t max);

#endif
