/*
 * children.h - deliver's running children, one per message being tried:
 * two classes with a limit each, so that messages for slow remote hosts
 * never hold up local mail, and a deadline after which a child is
 * killed.
 */
#ifndef POSTERN_CHILDREN_H
#define POSTERN_CHILDREN_H

#include <sys/types.h>
#include <time.h>

#include "queue.h"

enum child_class {
	CHILD_LOCAL,	/* every pending recipient is local */
	CHILD_REMOTE,	/* some pending recipient is at a remote host */
	CHILD_CLASSES
};

struct child {
	pid_t pid;		/* 0: a free slot */
	enum child_class cls;
	time_t killed_at;	/* when it overran, 0 if never */
	time_t deadline;	/* killed when still running then */
	time_t started;
	char id[QUEUE_ID_MAX];
};

struct children {
	struct child *slot;
	unsigned nslots;
	unsigned limit;			/* per class */
	unsigned running[CHILD_CLASSES];
};

/* What a child runs; its return value is its exit status. */
typedef int (*child_job)(void *ctx, const char *id, time_t deadline);
/* Told about each child that ended: status as from waitpid. */
typedef void (*child_ended)(void *ctx, const struct child *c, int status);

int children_init(struct children *ch, unsigned limit);
int children_has_room(const struct children *ch, enum child_class cls);
int children_busy_with(const struct children *ch, const char *id);
unsigned children_count(const struct children *ch);
int children_start(struct children *ch, enum child_class cls,
    const char *id, time_t deadline, time_t grace, child_job job,
    void *ctx);
void children_reap(struct children *ch, child_ended fn, void *ctx);
void children_kill_overdue(struct children *ch);
void children_stop_all(struct children *ch);
int children_ms_to_deadline(const struct children *ch, int max);
void children_free(struct children *ch);

#endif
