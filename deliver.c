/*
 * deliver.c - drains the queue.  Each message in todo/ gets a state file
 * in state/ listing its final recipients (aliases expanded); each pass
 * then takes every message that is due, in a child process of its own,
 * at most "concurrency" at once, delivers its pending recipients (local
 * Maildirs, remote hosts by domain), records each outcome durably,
 * queues one bounce for the recipients that failed, and removes the
 * message when no recipient is pending.  A lock file keeps a second
 * deliver off the same queue.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "config.h"
#include "log.h"
#include "maildir.h"
#include "privdrop.h"
#include "queue.h"
#include "remote.h"
#include "route.h"
#include "state.h"
#include "util.h"

#define GARBAGE_AGE 86400		/* seconds before orphans are removed */
#define RETRY_FIRST 300
#define RETRY_MAX 7200
#define ENVELOPE_MAX (64UL << 20)

struct deliver {
	struct config cfg;
	struct queue q;
	int statefd;
	int force;
	time_t earliest;	/* the soonest "next" seen by the last pass */
	unsigned running;
	volatile sig_atomic_t stop;
};

static struct deliver *the_deliver;	/* for the signal handler only */

static void NORETURN
usage(void)
{
	fprintf(stderr, "usage: deliver [-d | -f] [-C confdir] [-Q queuedir]"
	    " [-u user]\n");
	exit(2);
}

static void
on_term(int sig)
{
	(void)sig;
	if (the_deliver != NULL)
		the_deliver->stop = 1;
}

/* ---- from todo/ to state/ ---- */

static void
log_attempt(const struct msg_state *st, const char *to, const char *relay,
    const char *status, const char *reason)
{
	log_msg(LOG_INFO, "id=%s to=<%s> relay=%s delay=%lld status=%s (%s)",
	    st->id, to, relay, (long long)(time(NULL) - st->arrival), status,
	    reason);
}


static int
add_dest(void *ctx, const struct dest *d)
{
	struct msg_state *st = ctx;

	if (d->kind == DEST_FAIL) {
		log_attempt(st, d->addr, "none", "bounced", d->reason);
		return state_add_rcpt(st, RS_FAILED, d->addr, d->reason);
	}
	for (size_t i = 0; i < st->nrcpts; i++)	/* one copy per address */
		if (strcmp(st->rcpts[i].addr, d->addr) == 0)
			return 0;
	return state_add_rcpt(st, RS_PENDING, d->addr, NULL);
}

static int
read_envelope(struct deliver *dv, const char *id, struct buf *env)
{
	char chunk[8192];
	ssize_t n;
	int fd = openat(dv->q.todofd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	while ((n = read_retry(fd, chunk, sizeof chunk)) > 0)
		if (buf_append(env, chunk, (size_t)n) < 0) {
			close(fd);
			return -1;
		}
	close(fd);
	if (n < 0 || env->len < 3 || env->data[0] != 'F' ||
	    env->data[env->len - 1] != '\0' || env->data[env->len - 2] != '\0')
		return -1;
	return 0;
}

static void
clean_address(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Builds state/ID from todo/ID; 0 done, -1 try again later. */
static int
admit(struct deliver *dv, const char *id)
{
	struct msg_state st;
	struct buf env;
	struct stat sb;
	const char *p, *end;
	int r = -1;

	if (fstatat(dv->q.messfd, id, &sb, 0) < 0) {
		/* An envelope without its message: a commit that never
		 * finished (queue(5)); nothing to deliver. */
		log_msg(LOG_WARNING, "id=%s envelope without message; removed",
		    id);
		unlinkat(dv->q.todofd, id, 0);
		return 0;
	}
	memset(&st, 0, sizeof st);
	str_copy(st.id, id, sizeof st.id);
	st.arrival = sb.st_mtime;
	buf_init(&env, ENVELOPE_MAX);
	if (read_envelope(dv, id, &env) < 0) {
		log_msg(LOG_ERR, "id=%s unreadable or malformed envelope", id);
		goto out;
	}
	str_copy(st.sender, env.data + 1, sizeof st.sender);
	clean_address(st.sender);
	end = env.data + env.len - 1;
	for (p = env.data + strlen(env.data) + 1; p < end && *p == 'T';
	    p += strlen(p) + 1) {
		char rcpt[STATE_ADDR_MAX + 1];
		str_copy(rcpt, p + 1, sizeof rcpt);
		clean_address(rcpt);
		if (route_expand(&dv->cfg, rcpt, add_dest, &st) < 0)
			goto out;
	}
	if (state_write(dv->q.tmpfd, dv->statefd, &st) < 0) {
		log_msg(LOG_ERR, "id=%s cannot write state: %s", id,
		    strerror(errno));
		goto out;
	}
	unlinkat(dv->q.todofd, id, 0);
	r = 0;
out:
	buf_free(&env);
	state_free(&st);
	return r;
}

/* ---- one message ---- */

static void
record(struct deliver *dv, struct msg_state *st, struct rcpt_state *r,
    enum delivery_result res, const char *relay, const char *reason)
{
	time_t now = time(NULL);

	str_copy(r->reason, reason, sizeof r->reason);
	for (char *p = r->reason; *p; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	if (res == DELIVERY_OK) {
		r->status = RS_DELIVERED;
		log_attempt(st, r->addr, relay, "sent", reason);
	} else if (res == DELIVERY_FAIL) {
		r->status = RS_FAILED;
		log_attempt(st, r->addr, relay, "bounced", reason);
	} else if (now - st->arrival >= (time_t)dv->cfg.queuelifetime) {
		char expired[STATE_REASON_MAX + 1];
		snprintf(expired, sizeof expired, "4.4.7 message expired "
		    "after %lld seconds in the queue; last error: %s",
		    (long long)(now - st->arrival), reason);
		str_copy(r->reason, expired, sizeof r->reason);
		r->status = RS_FAILED;
		log_attempt(st, r->addr, relay, "bounced", expired);
	} else {
		log_attempt(st, r->addr, relay, "deferred", reason);
	}
}

struct one_dest {
	struct dest d;
	int count;
};

static int
first_dest(void *ctx, const struct dest *d)
{
	struct one_dest *o = ctx;

	if (o->count++ == 0)
		o->d = *d;
	return 0;
}

static void
deliver_local(struct deliver *dv, struct msg_state *st, struct rcpt_state *r,
    const struct dest *d, int msgfd)
{
	char reason[STATE_REASON_MAX + 1];
	enum delivery_result res;

	res = maildir_deliver(d->maildir, msgfd,
	    strcmp(st->sender, DOUBLE_BOUNCE_SENDER) == 0 ? "" : st->sender,
	    r->addr, dv->cfg.hostname, reason, sizeof reason);
	record(dv, st, r, res, "local", reason);
}

/* All pending recipients at one domain, over one connection. */
static void
deliver_domain(struct deliver *dv, struct msg_state *st, const char *domain,
    char *const *domains, int msgfd)
{
	struct remote_rcpt *rr = calloc(st->nrcpts, sizeof *rr);
	size_t *index = calloc(st->nrcpts, sizeof *index), n = 0;
	char relay[300];

	if (rr == NULL || index == NULL) {
		free(rr);
		free(index);
		return;
	}
	for (size_t i = 0; i < st->nrcpts; i++)
		if (domains[i] != NULL && strcmp(domains[i], domain) == 0) {
			rr[n].addr = st->rcpts[i].addr;
			index[n++] = i;
		}
	remote_deliver(&dv->cfg, domain, msgfd, st->sender, rr, n, relay,
	    sizeof relay);
	for (size_t k = 0; k < n; k++)
		record(dv, st, &st->rcpts[index[k]], rr[k].result, relay,
		    rr[k].reason);
	free(rr);
	free(index);
}

static void
deliver_pending(struct deliver *dv, struct msg_state *st, int msgfd)
{
	char **domains = calloc(st->nrcpts ? st->nrcpts : 1, sizeof *domains);

	if (domains == NULL)
		return;
	for (size_t i = 0; i < st->nrcpts; i++) {
		struct one_dest o = { .count = 0 };
		struct rcpt_state *r = &st->rcpts[i];

		if (r->status != RS_PENDING)
			continue;
		route_expand(&dv->cfg, r->addr, first_dest, &o);
		if (o.count == 0)
			continue;
		if (o.d.kind == DEST_LOCAL)
			deliver_local(dv, st, r, &o.d, msgfd);
		else if (o.d.kind == DEST_FAIL)
			record(dv, st, r, DELIVERY_FAIL, "none", o.d.reason);
		else
			domains[i] = strdup(o.d.domain);
	}
	for (size_t i = 0; i < st->nrcpts; i++) {
		if (domains[i] == NULL)
			continue;
		deliver_domain(dv, st, domains[i], domains, msgfd);
		for (size_t k = st->nrcpts; k-- > i;)	/* that domain is done */
			if (domains[k] != NULL && k != i &&
			    strcmp(domains[k], domains[i]) == 0) {
				free(domains[k]);
				domains[k] = NULL;
			}
		free(domains[i]);
		domains[i] = NULL;
	}
	free(domains);
}

static time_t
next_attempt(const struct deliver *dv, const struct msg_state *st)
{
	time_t wait = RETRY_FIRST, last = st->arrival +
	    (time_t)dv->cfg.queuelifetime;

	for (unsigned i = 1; i < st->attempts && wait < RETRY_MAX; i++)
		wait *= 2;
	if (wait > RETRY_MAX)
		wait = RETRY_MAX;
	return time(NULL) + wait < last ? time(NULL) + wait : last;
}

static void
finish(struct deliver *dv, struct msg_state *st)
{
	unlinkat(dv->q.todofd, st->id, 0);
	unlinkat(dv->statefd, st->id, 0);
	unlinkat(dv->q.messfd, st->id, 0);
	fsync(dv->statefd);
	log_msg(LOG_INFO, "id=%s removed", st->id);
}

/* A child's whole job: one message, one attempt. */
static int
process_message(struct deliver *dv, const char *id)
{
	struct msg_state st;
	int msgfd;

	if (state_read(dv->statefd, id, &st) < 0) {
		log_msg(LOG_ERR, "id=%s unreadable state: %s", id,
		    strerror(errno));
		return 1;
	}
	msgfd = openat(dv->q.messfd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (msgfd < 0) {
		log_msg(LOG_ERR, "id=%s message file missing; state removed", id);
		unlinkat(dv->statefd, id, 0);
		state_free(&st);
		return 1;
	}
	st.attempts++;
	deliver_pending(dv, &st, msgfd);
	st.next = next_attempt(dv, &st);
	/* Outcomes are saved before the bounce, the bounce before "reported". */
	if (state_write(dv->q.tmpfd, dv->statefd, &st) < 0 ||
	    (state_count(&st, RS_FAILED) > 0 &&
	    (bounce_failed(&dv->cfg, &dv->q, &st, msgfd) < 0 ||
	    state_write(dv->q.tmpfd, dv->statefd, &st) < 0)))
		log_msg(LOG_ERR, "id=%s cannot save state or queue the bounce; "
		    "will retry: %s", id, strerror(errno));
	else if (state_count(&st, RS_PENDING) == 0)
		finish(dv, &st);
	close(msgfd);
	state_free(&st);
	return 0;
}

/* ---- the pass ---- */

static void
reap(struct deliver *dv, int block)
{
	while (dv->running > 0 && waitpid(-1, NULL, block ? 0 : WNOHANG) > 0)
		dv->running--;
}

static int
due(struct deliver *dv, const char *id)
{
	struct msg_state st;
	int r;

	if (dv->force)
		return 1;
	if (state_read(dv->statefd, id, &st) < 0)
		return 1;	/* let the child report it */
	r = st.next <= time(NULL);
	if (!r && (dv->earliest == 0 || st.next < dv->earliest))
		dv->earliest = st.next;
	state_free(&st);
	return r;
}

static void
start_child(struct deliver *dv, const char *id)
{
	pid_t pid, parent = getpid();

	while (dv->running >= dv->cfg.concurrency)
		reap(dv, 1);
	pid = fork();
	if (pid == 0) {
		/* A child outliving a killed parent would hold the queue lock
		 * and race the next deliver; dying with it is a crash, which
		 * the state files are made to survive. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		_exit(process_message(dv, id));
	}
	if (pid > 0)
		dv->running++;
	else
		process_message(dv, id);
}

typedef void (*entry_fn)(struct deliver *dv, const char *name);

static void
each_entry(struct deliver *dv, int dirfd, entry_fn fn)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *e;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL && !dv->stop)
		if (e->d_name[0] != '.')
			fn(dv, e->d_name);
	closedir(d);
}

static void
admit_entry(struct deliver *dv, const char *id)
{
	if (faccessat(dv->statefd, id, F_OK, 0) == 0)
		unlinkat(dv->q.todofd, id, 0);	/* admitted before a crash */
	else
		admit(dv, id);
}

static void
run_entry(struct deliver *dv, const char *id)
{
	if (due(dv, id))
		start_child(dv, id);
}

/* mess/ files with neither envelope nor state, and stale tmp/ files. */
static void
collect_garbage_in(struct deliver *dv, int dirfd, int check_refs)
{
	int fd = dup(dirfd);
	DIR *d;
	struct dirent *e;
	struct stat sb;
	time_t now = time(NULL);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    fstatat(dirfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    now - sb.st_mtime < GARBAGE_AGE)
			continue;
		if (check_refs &&
		    (faccessat(dv->q.todofd, e->d_name, F_OK, 0) == 0 ||
		    faccessat(dv->statefd, e->d_name, F_OK, 0) == 0))
			continue;
		log_msg(LOG_NOTICE, "removing orphan %s, %lld seconds old",
		    e->d_name, (long long)(now - sb.st_mtime));
		unlinkat(dirfd, e->d_name, 0);
	}
	closedir(d);
}

static void
pass(struct deliver *dv)
{
	each_entry(dv, dv->q.todofd, admit_entry);
	each_entry(dv, dv->statefd, run_entry);
	reap(dv, 1);
	/* Bounces queued by this pass are new todo/ entries: admit them now
	 * so that their first attempt is not a whole retry period away. */
	each_entry(dv, dv->q.todofd, admit_entry);
	collect_garbage_in(dv, dv->q.messfd, 1);
	collect_garbage_in(dv, dv->q.tmpfd, 0);
}

/*
 * Seconds until the soonest deferred message is due, at most max.  A
 * message deferred during the pass itself is not in dv->earliest, so the
 * wait is never longer than max: a retry is late by at most that much.
 */
static int
seconds_to_next(const struct deliver *dv, int max)
{
	time_t now = time(NULL);

	if (dv->earliest == 0 || dv->earliest - now >= max)
		return max;
	return dv->earliest > now ? (int)(dv->earliest - now) : 0;
}

static void
daemon_loop(struct deliver *dv)
{
	int fifo = openat(dv->q.dirfd, "trigger", O_RDWR | O_NONBLOCK |
	    O_CLOEXEC);
	char drain[256];

	while (!dv->stop) {
		struct pollfd p = { .fd = fifo, .events = POLLIN };
		dv->earliest = 0;
		pass(dv);
		if (poll(&p, fifo >= 0 ? 1 : 0,
		    seconds_to_next(dv, 60) * 1000) > 0)
			while (read(fifo, drain, sizeof drain) > 0)
				continue;
	}
	if (fifo >= 0)
		close(fifo);
}

static int
lock_queue(struct deliver *dv)
{
	int fd = openat(dv->q.dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);

	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return -1;
	return fd;	/* held until exit */
}

int
main(int argc, char **argv)
{
	static struct deliver dv;
	const char *confdir = config_conf_dir();
	const char *queuedir = config_queue_dir();
	const char *user = NULL;
	char err[512];
	int opt, daemon = 0;

	while ((opt = getopt(argc, argv, "C:Q:u:dfh")) != -1) {
		switch (opt) {
		case 'C': confdir = optarg; break;
		case 'Q': queuedir = optarg; break;
		case 'u': user = optarg; break;
		case 'd': daemon = 1; break;
		case 'f': dv.force = 1; break;
		default: usage();
		}
	}
	if (optind != argc || (daemon && dv.force))
		usage();
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	log_init("deliver");
	if (user != NULL && drop_privileges(user, err, sizeof err) < 0) {
		fprintf(stderr, "deliver: %s\n", err);
		return 1;
	}
	if (config_load(&dv.cfg, confdir,
	    TABLE_BIT(TABLE_DOMAINS) | TABLE_BIT(TABLE_USERS) |
	    TABLE_BIT(TABLE_ALIASES) | TABLE_BIT(TABLE_ROUTES), err, sizeof err) < 0) {
		fprintf(stderr, "deliver: %s\n", err);
		return 1;
	}
	log_to_stderr(dv.cfg.log_stderr);
	config_report_warnings();
	if (queue_open(&dv.q, queuedir, err, sizeof err) < 0) {
		fprintf(stderr, "deliver: %s\n", err);
		return 1;
	}
	if (mkdirat(dv.q.dirfd, "state", 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "deliver: %s/state: %s\n", queuedir,
		    strerror(errno));
		return 1;
	}
	dv.statefd = openat(dv.q.dirfd, "state", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (dv.statefd < 0 || lock_queue(&dv) < 0) {
		fprintf(stderr, "deliver: %s: %s\n", queuedir, dv.statefd < 0 ?
		    strerror(errno) : "another deliver is running");
		return 1;
	}
	the_deliver = &dv;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	if (daemon)
		daemon_loop(&dv);
	else
		pass(&dv);
	reap(&dv, 1);
	config_free(&dv.cfg);
	return 0;
}
