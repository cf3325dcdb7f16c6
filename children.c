/*
 * children.c - deliver's running children.  Each one tries one message
 * and exits; the parent never waits for one in particular, so it can go
 * on admitting and starting local mail while remote hosts are slow.  A
 * child still running past its deadline (messagetimeout, plus a grace
 * for saving its state) is killed; the parent then records the attempt
 * (attempt_lost), so nothing a remote party does can hold a slot for
 * longer than that.
 */
#include "children.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int
children_init(struct children *ch, unsigned limit)
{
	memset(ch, 0, sizeof *ch);
	ch->limit = limit;
	ch->nslots = limit * CHILD_CLASSES;
	ch->slot = calloc(ch->nslots, sizeof *ch->slot);
	return ch->slot == NULL ? -1 : 0;
}

int
children_has_room(const struct children *ch, enum child_class cls)
{
	return ch->running[cls] < ch->limit;
}

int
children_busy_with(const struct children *ch, const char *id)
{
	for (unsigned i = 0; i < ch->nslots; i++)
		if (ch->slot[i].pid != 0 && strcmp(ch->slot[i].id, id) == 0)
			return 1;
	return 0;
}

unsigned
children_count(const struct children *ch)
{
	unsigned n = 0;

	for (int c = 0; c < CHILD_CLASSES; c++)
		n += ch->running[c];
	return n;
}

static struct child *
free_slot(struct children *ch)
{
	for (unsigned i = 0; i < ch->nslots; i++)
		if (ch->slot[i].pid == 0)
			return &ch->slot[i];
	return NULL;
}

/*
 * Forks a child for id; it must be over by deadline and is killed at
 * deadline + grace.  Returns -1 when no child could be made.
 */
int
children_start(struct children *ch, enum child_class cls, const char *id,
    time_t deadline, time_t grace, child_job job, void *ctx)
{
	struct child *c = free_slot(ch);
	pid_t pid, parent = getpid();

	if (c == NULL || !children_has_room(ch, cls))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* A child outliving a killed parent would hold the queue lock
		 * and race the next deliver; dying with it is a crash, which
		 * the state files are made to survive. */
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		_exit(job(ctx, id, deadline));
	}
	memset(c, 0, sizeof *c);
	c->pid = pid;
	c->cls = cls;
	c->started = time(NULL);
	c->deadline = deadline + grace;
	str_copy(c->id, id, sizeof c->id);
	ch->running[cls]++;
	return 0;
}

static struct child *
find_pid(struct children *ch, pid_t pid)
{
	for (unsigned i = 0; i < ch->nslots; i++)
		if (ch->slot[i].pid == pid)
			return &ch->slot[i];
	return NULL;
}

/* Every child that has ended, without waiting for the others. */
void
children_reap(struct children *ch, child_ended fn, void *ctx)
{
	pid_t pid;
	int status;

	while (children_count(ch) > 0 &&
	    (pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = find_pid(ch, pid);
		if (c == NULL)
			continue;
		fn(ctx, c, status);
		ch->running[c->cls]--;
		c->pid = 0;
	}
}

void
children_kill_overdue(struct children *ch)
{
	time_t now = time(NULL);

	for (unsigned i = 0; i < ch->nslots; i++) {
		struct child *c = &ch->slot[i];
		if (c->pid == 0 || c->killed_at != 0 || now < c->deadline)
			continue;
		c->killed_at = now;
		kill(c->pid, SIGKILL);
	}
}

/* Shutdown: every child is asked to end now. */
void
children_stop_all(struct children *ch)
{
	for (unsigned i = 0; i < ch->nslots; i++)
		if (ch->slot[i].pid != 0)
			kill(ch->slot[i].pid, SIGTERM);
}

/* Milliseconds until the next child is due to be killed, at most max. */
int
children_ms_to_deadline(const struct children *ch, int max)
{
	time_t now = time(NULL);
	long long best = max;

	for (unsigned i = 0; i < ch->nslots; i++) {
		const struct child *c = &ch->slot[i];
		long long ms;
		if (c->pid == 0 || c->killed_at != 0)
			continue;
		ms = c->deadline > now ? (long long)(c->deadline - now) * 1000 : 0;
		if (ms < best)
			best = ms;
	}
	return (int)best;
}

void
children_free(struct children *ch)
{
	free(ch->slot);
	ch->slot = NULL;
}
