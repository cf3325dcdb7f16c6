/*
 * deliver.c - drains the queue.  Each message in todo/ gets a state file
 * in state/ listing its final recipients (aliases expanded); every
 * message that is due is then tried in a child process of its own
 * (attempt.c), at most "concurrency" for local mail and as many more for
 * mail with remote recipients (children.c).  The parent never blocks on
 * a child: while children run it reaps those that end, kills those that
 * overrun, and admits and starts new mail.  A lock file keeps a second
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

#include "attempt.h"
#include "children.h"
#include "config.h"
#include "envelope.h"
#include "log.h"
#include "privdrop.h"
#include "qlock.h"
#include "queue.h"
#include "route.h"
#include "state.h"
#include "util.h"

#define GARBAGE_AGE 86400		/* seconds before orphans are removed */
#define ENVELOPE_MAX (64UL << 20)
#define SCAN_INTERVAL 60		/* daemon: state/ is read at least this often */
#define GARBAGE_INTERVAL 3600		/* daemon: and orphans looked for this often */

/* A message that is due, waiting for a child of its class. */
struct due_msg {
	char id[QUEUE_ID_MAX];
	enum child_class cls;
};

struct deliver {
	struct config cfg;
	struct queue q;
	int statefd;
	struct attempt_ctx ctx;
	int force;		/* -f: every deferred message is due */
	int flush;		/* -d: asked once to treat them so (deliver -f) */
	struct children ch;
	struct due_msg *waiting;	/* due, not yet started */
	size_t nwaiting, capwaiting;
	time_t earliest;	/* the soonest "next" not yet due */
	time_t last_scan;
	time_t last_garbage;
	int wake[2];		/* a byte for each SIGCHLD, SIGTERM, SIGINT */
	int fifo;		/* daemon: QUEUE/trigger */
	volatile sig_atomic_t stop;
};

static struct deliver *the_deliver;	/* for the signal handler only */

static void NORETURN
usage(void)
{
	fprintf(stderr, "usage: deliver [-hV] [-d | -f] [-C confdir] [-Q queuedir]"
	    " [-u user]\n");
	exit(2);
}

static void
on_signal(int sig)
{
	int saved = errno;

	if (the_deliver != NULL) {
		if (sig != SIGCHLD)
			the_deliver->stop = 1;
		(void)!write(the_deliver->wake[1], "", 1);
	}
	errno = saved;
}

/* ---- from todo/ to state/ ---- */

/*
 * One message's recipients as admission finds them, with the key each
 * is known by: a local one by its Maildir (b@example.org, B@example.org
 * and b@EXAMPLE.org are one mailbox, unless casesensitive tells them
 * apart), a remote one by its address with the domain in lower case.
 */
struct admission {
	struct msg_state *st;
	struct buf keys;	/* NUL-terminated keys, one per recipient */
	struct dsn_rcpt dsn;	/* of the envelope recipient being expanded */
	unsigned dests;		/* how many destinations it expanded to */
};

static void
dest_key(const struct dest *d, char *key, size_t size)
{
	char *at;

	if (d->kind == DEST_LOCAL) {
		snprintf(key, size, "L%s", d->maildir);
		return;
	}
	snprintf(key, size, "R%s", d->addr);
	if ((at = strrchr(key, '@')) != NULL)
		str_lower(at);
}

static int
already_listed(const struct buf *keys, const char *key)
{
	for (size_t off = 0; off < keys->len; off += strlen(keys->data + off) + 1)
		if (strcmp(keys->data + off, key) == 0)
			return 1;
	return 0;
}

/* A recipient with the DSN parameters of the one it came from. */
static int
add_rcpt(struct admission *a, enum rcpt_status status, const char *addr,
    const char *reason)
{
	if (state_add_rcpt(a->st, status, addr, reason) < 0)
		return -1;
	a->st->rcpts[a->st->nrcpts - 1].dsn = a->dsn;
	return 0;
}

static int
add_dest(void *ctx, const struct dest *d)
{
	struct admission *a = ctx;
	char key[sizeof d->maildir + 2];

	a->dests++;
	if (d->kind == DEST_FAIL) {
		attempt_log(a->st, d->addr, "none", "bounced", d->reason);
		return add_rcpt(a, RS_FAILED, d->addr, d->reason);
	}
	dest_key(d, key, sizeof key);
	if (already_listed(&a->keys, key))	/* one copy per mailbox */
		return 0;
	if (buf_append(&a->keys, key, strlen(key) + 1) < 0)
		return -1;
	return add_rcpt(a, RS_PENDING, d->addr, NULL);
}

/*
 * An envelope recipient and its DSN parameters, expanded.  An alias of
 * several addresses is RFC 3461's "multiple-recipient alias" (5.2.7.3,
 * way c): each address inherits ORCPT and NOTIFY without SUCCESS, and a
 * NOTIFY=SUCCESS of the alias is answered by one "expanded" report.
 */
static int
admit_recipient(const struct config *c, struct admission *a,
    const char *rcpt, const char *params)
{
	size_t first = a->st->nrcpts;

	if (dsn_rcpt_parse(&a->dsn, params) < 0)
		memset(&a->dsn, 0, sizeof a->dsn);	/* enqueue checked it */
	a->dests = 0;
	if (route_expand(c, rcpt, add_dest, a) < 0)
		return -1;
	if (a->dests <= 1)
		return 0;
	for (size_t i = first; i < a->st->nrcpts; i++)
		a->st->rcpts[i].dsn.notify &= ~(unsigned)DSN_NOTIFY_SUCCESS;
	if (a->dsn.notify & DSN_NOTIFY_SUCCESS) {
		char reason[64];
		snprintf(reason, sizeof reason, "2.0.0 expanded to %u "
		    "addresses", a->dests);
		return add_rcpt(a, RS_EXPANDED_REPORT, rcpt, reason);
	}
	return 0;
}

/* Appends len octets of fd from off to env. */
static int
read_part(int fd, long long off, long long len, struct buf *env)
{
	char chunk[8192];

	while (len > 0) {
		size_t want = len < (long long)sizeof chunk ? (size_t)len :
		    sizeof chunk;
		ssize_t n = pread(fd, chunk, want, off);
		if (n <= 0 || buf_append(env, chunk, (size_t)n) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

enum entry_kind {
	ENTRY_ONE_FILE,		/* todo/ID holds message and envelope */
	ENTRY_TWO_FILES,	/* todo/ID the envelope, mess/ID the message */
	ENTRY_GARBAGE,		/* neither: a commit cut short */
	ENTRY_UNREADABLE	/* an I/O error: try again later */
};

/*
 * The envelope of entry id and when it was queued: from a one-file
 * entry (between its message and its trailer), or from an envelope file
 * beside its message in mess/ (the format before 0.5, still read so that
 * a queue survives the upgrade).
 */
static enum entry_kind
read_envelope(struct deliver *dv, int fd, const char *id, struct buf *env,
    time_t *arrival)
{
	struct stat entry, message;
	struct qentry e;
	enum entry_kind kind = ENTRY_UNREADABLE;

	if (fstat(fd, &entry) < 0)
		return ENTRY_UNREADABLE;
	*arrival = entry.st_mtime;
	switch (qentry_parse(fd, &e)) {
	case 0:
		/* Torn by a crash (blocks of it never written): garbage,
		 * as a file cut short. */
		switch (qentry_verify(fd, &e)) {
		case 0:
			if (read_part(fd, e.envoff, e.envlen, env) == 0)
				kind = ENTRY_ONE_FILE;
			break;
		case 1:
			kind = ENTRY_GARBAGE;
			break;
		}
		break;
	case 1:
		if (fstatat(dv->q.messfd, id, &message, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(message.st_mode))
			kind = ENTRY_GARBAGE;
		else if (read_part(fd, 0, entry.st_size, env) == 0) {
			*arrival = message.st_mtime;
			kind = ENTRY_TWO_FILES;
		}
		break;
	}
	/* its shape is envelope.c's to check, in admit_locked */
	return kind;
}

static void
clean_address(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/*
 * An admitted entry leaves todo/: a one-file entry moves to mess/, an
 * envelope file is removed.  Not synced: after a crash todo/ID is still
 * there beside state/ID, and admit_entry does this again.
 */
static void
leave_todo(struct deliver *dv, const char *id, int one_file)
{
	if (one_file)
		renameat(dv->q.todofd, id, dv->q.messfd, id);
	else
		unlinkat(dv->q.todofd, id, 0);
}

static int
admit_locked(struct deliver *dv, int fd, const char *id,
    enum child_class *cls)
{
	struct msg_state st;
	struct admission adm = { .st = &st };
	struct buf env;
	struct env_reader er;
	struct env_item item;
	enum env_result res;
	enum entry_kind kind;
	int r = -1;

	memset(&st, 0, sizeof st);
	str_copy(st.id, id, sizeof st.id);
	buf_init(&env, ENVELOPE_MAX);
	buf_init(&adm.keys, ENVELOPE_MAX);
	kind = read_envelope(dv, fd, id, &env, &st.arrival);
	if (kind == ENTRY_GARBAGE) {
		/* A commit that never finished (queue(5)): an entry cut short,
		 * or an envelope without its message.  Nothing to deliver. */
		log_msg(LOG_WARNING, "id=%s incomplete queue entry; removed",
		    id);
		unlinkat(dv->q.todofd, id, 0);
		r = 0;
		goto out;
	}
	if (kind == ENTRY_UNREADABLE) {
		log_msg(LOG_ERR, "id=%s unreadable or malformed envelope", id);
		goto out;
	}
	env_reader_init(&er, env.data, env.len);
	while ((res = env_next(&er, &item)) == ENV_ITEM) {
		char addr[STATE_ADDR_MAX + 1];

		str_copy(addr, item.addr, sizeof addr);
		clean_address(addr);
		if (item.kind == 'F') {
			str_copy(st.sender, addr, sizeof st.sender);
			if (dsn_mail_parse(&st.dsn, item.params) < 0)
				memset(&st.dsn, 0, sizeof st.dsn);
		} else if (admit_recipient(&dv->cfg, &adm, addr,
		    item.params) < 0) {
			goto out;
		}
	}
	if (res != ENV_END) {
		log_msg(LOG_ERR, "id=%s malformed envelope", id);
		goto out;
	}
	if (state_write(dv->q.tmpfd, dv->statefd, &st) < 0) {
		log_msg(LOG_ERR, "id=%s cannot write state: %s", id,
		    strerror(errno));
		goto out;
	}
	leave_todo(dv, id, kind == ENTRY_ONE_FILE);
	*cls = attempt_is_remote(&dv->cfg, &st) ? CHILD_REMOTE : CHILD_LOCAL;
	r = 1;
out:
	buf_free(&env);
	buf_free(&adm.keys);
	state_free(&st);
	return r;
}

/*
 * Builds state/ID from todo/ID, under the entry's lock (qlock.c); 1 a
 * message to deliver (of class *cls), 0 nothing to deliver (gone, or
 * garbage), -1 try again later (postern-queue holds the lock, say).
 */
static int
admit(struct deliver *dv, const char *id, enum child_class *cls)
{
	int fd = openat(dv->q.todofd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (qlock_fd(dv->q.todofd, id, fd) < 0)
		r = errno == ENOENT ? 0 : -1;
	else
		r = admit_locked(dv, fd, id, cls);
	close(fd);
	return r;
}

/* ---- garbage ---- */

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

/* ---- what is due ---- */

static void
add_waiting(struct deliver *dv, const char *id, enum child_class cls)
{
	if (dv->nwaiting == dv->capwaiting) {
		size_t cap = dv->capwaiting ? dv->capwaiting * 2 : 64;
		struct due_msg *w = reallocarray(dv->waiting, cap, sizeof *w);
		if (w == NULL)
			return;		/* found again at the next scan */
		dv->waiting = w;
		dv->capwaiting = cap;
	}
	str_copy(dv->waiting[dv->nwaiting].id, id, QUEUE_ID_MAX);
	dv->waiting[dv->nwaiting++].cls = cls;
}

static int
is_waiting(const struct deliver *dv, const char *id)
{
	for (size_t i = 0; i < dv->nwaiting; i++)
		if (strcmp(dv->waiting[i].id, id) == 0)
			return 1;
	return 0;
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

/* New mail is due at once. */
static void
admit_entry(struct deliver *dv, const char *id)
{
	enum child_class cls;

	if (faccessat(dv->statefd, id, F_OK, 0) == 0)	/* admitted before a crash */
		leave_todo(dv, id, faccessat(dv->q.messfd, id, F_OK,
		    AT_SYMLINK_NOFOLLOW) != 0);
	else if (admit(dv, id, &cls) == 1 && !queue_is_held(&dv->q, id))
		add_waiting(dv, id, cls);
}

/* A deferred message is due when its "next" has come, or under -f. */
static void
scan_entry(struct deliver *dv, const char *id)
{
	struct msg_state st;
	enum child_class cls = CHILD_REMOTE;

	if (children_busy_with(&dv->ch, id) || is_waiting(dv, id) ||
	    queue_is_held(&dv->q, id))
		return;
	if (state_read(dv->statefd, id, &st) == 0) {
		if (!dv->force && st.next > time(NULL)) {
			if (dv->earliest == 0 || st.next < dv->earliest)
				dv->earliest = st.next;
			state_free(&st);
			return;
		}
		if (!attempt_is_remote(&dv->cfg, &st))
			cls = CHILD_LOCAL;
		state_free(&st);
	}	/* unreadable: a child reports it */
	add_waiting(dv, id, cls);
}

static void
scan_state(struct deliver *dv)
{
	int forced = dv->force;

	dv->earliest = 0;
	dv->last_scan = time(NULL);
	if (dv->flush) {
		log_msg(LOG_INFO, "asked to retry every message now");
		dv->force = 1;
	}
	each_entry(dv, dv->statefd, scan_entry);
	dv->force = forced;
	dv->flush = 0;
}


/* ---- children ---- */

static int
run_attempt(void *ctx, const char *id, time_t deadline)
{
	struct deliver *dv = ctx;

	return attempt_message(&dv->ctx, id, deadline);
}

/* Starts every waiting message whose class has room, in order. */
static void
start_waiting(struct deliver *dv)
{
	size_t kept = 0;
	time_t now = time(NULL), grace = dv->cfg.messagetimeout / 10 + 5;

	for (size_t i = 0; i < dv->nwaiting; i++) {
		struct due_msg *m = &dv->waiting[i];
		if (dv->stop || children_start(&dv->ch, m->cls, m->id,
		    now + (time_t)dv->cfg.messagetimeout, grace, run_attempt,
		    dv) < 0)
			dv->waiting[kept++] = *m;
	}
	dv->nwaiting = kept;
}

/* A child that did not end in order is logged; its attempt recorded. */
static void
note_ended(void *ctx, const struct child *c, int status)
{
	struct deliver *dv = ctx;
	char what[128];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (dv->stop && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) {
		/* stopped with us: tried again at the next start, not counted */
		log_msg(LOG_INFO, "id=%s delivery attempt stopped by shutdown",
		    c->id);
		return;
	}
	if (c->killed_at != 0)
		snprintf(what, sizeof what, "delivery attempt killed after %lld "
		    "seconds (messagetimeout %u)",
		    (long long)(c->killed_at - c->started),
		    dv->cfg.messagetimeout);
	else if (WIFSIGNALED(status))
		snprintf(what, sizeof what, "delivery process killed by signal "
		    "%d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(what, sizeof what, "delivery process exited with "
		    "status %d", WEXITSTATUS(status));
	log_msg(LOG_ERR, "id=%s %s", c->id, what);
	if (WIFSIGNALED(status))
		attempt_lost(&dv->ctx, c->id, what);
}

static void
collect_garbage(struct deliver *dv)
{
	dv->last_garbage = time(NULL);
	collect_garbage_in(dv, dv->q.messfd, 1);
	collect_garbage_in(dv, dv->q.tmpfd, 0);
}

/* ---- the loop ---- */

/* Waits for a child to end, a signal, the trigger or timeout_ms. */
static int
wait_event(struct deliver *dv, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = dv->wake[0], .events = POLLIN },
		{ .fd = dv->fifo, .events = POLLIN },
	};
	char drain[256];
	ssize_t n;
	int triggered = 0;

	if (poll(p, dv->fifo >= 0 ? 2 : 1, timeout_ms) > 0) {
		while (read(dv->wake[0], drain, sizeof drain) > 0)
			continue;
		if (dv->fifo >= 0 && (p[1].revents & POLLIN)) {
			while ((n = read(dv->fifo, drain, sizeof drain)) > 0)
				if (memchr(drain, 'f', (size_t)n) != NULL)
					dv->flush = 1;
			triggered = 1;
		}
	}
	children_reap(&dv->ch, note_ended, dv);
	children_kill_overdue(&dv->ch);
	return triggered;
}

/* Milliseconds until something is due: a deferred message, a kill. */
static int
ms_to_next(const struct deliver *dv, int daemon)
{
	time_t now = time(NULL);
	long long ms = daemon ? SCAN_INTERVAL * 1000 : 60000;

	if (daemon && dv->earliest != 0)
		ms = dv->earliest > now ? (dv->earliest - now) * 1000LL : 0;
	if (daemon && dv->last_scan + SCAN_INTERVAL - now < ms / 1000)
		ms = (dv->last_scan + SCAN_INTERVAL - now) * 1000LL;
	if (ms < 0)
		ms = 0;
	return children_ms_to_deadline(&dv->ch, (int)ms);
}

/*
 * One run: admission, then every due message.  Without -d it ends when
 * everything due at its start (and all mail admitted meanwhile, bounces
 * included) has been tried; with -d it goes on until SIGTERM, reading
 * state/ again when the trigger fires, a deferred message falls due, or
 * SCAN_INTERVAL passes.
 */
static void
run(struct deliver *dv, int daemon)
{
	each_entry(dv, dv->q.todofd, admit_entry);
	scan_state(dv);
	while (!dv->stop) {
		start_waiting(dv);
		if (!daemon && dv->nwaiting == 0 && children_count(&dv->ch) == 0)
			break;
		if (wait_event(dv, ms_to_next(dv, daemon)) ||
		    (daemon && (time(NULL) - dv->last_scan >= SCAN_INTERVAL ||
		    (dv->earliest != 0 && dv->earliest <= time(NULL))))) {
			each_entry(dv, dv->q.todofd, admit_entry);
			scan_state(dv);
			if (time(NULL) - dv->last_garbage >= GARBAGE_INTERVAL)
				collect_garbage(dv);
		} else {
			each_entry(dv, dv->q.todofd, admit_entry);
		}
	}
	if (dv->stop)
		children_stop_all(&dv->ch);
	while (children_count(&dv->ch) > 0)
		wait_event(dv, children_ms_to_deadline(&dv->ch, 1000));
	collect_garbage(dv);
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

/*
 * Another deliver holds the queue: when it is a daemon (someone reads
 * the trigger FIFO), it is asked for a pass now, or with -f to retry
 * every deferred message now (the byte 'f'; smtpd's wake-up is a NUL).
 * -1 when nobody listens: a one-shot deliver is running.
 */
static int
ask_daemon(struct deliver *dv)
{
	int fd = openat(dv->q.dirfd, "trigger", O_WRONLY | O_NONBLOCK |
	    O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (fd < 0)
		return -1;
	r = write(fd, dv->force ? "f" : "", 1) == 1 ? 0 : -1;
	close(fd);
	return r;
}

/* The children's table, the wake-up pipe and its signals, the FIFO. */
static int
start_parent(struct deliver *dv, int daemon)
{
	struct sigaction sa = { .sa_handler = on_signal };

	dv->ctx.cfg = &dv->cfg;
	dv->ctx.q = &dv->q;
	dv->ctx.statefd = dv->statefd;
	dv->fifo = -1;
	if (children_init(&dv->ch, dv->cfg.concurrency) < 0 ||
	    pipe2(dv->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	if (daemon)
		dv->fifo = openat(dv->q.dirfd, "trigger", O_RDWR | O_NONBLOCK |
		    O_CLOEXEC | O_NOFOLLOW);
	the_deliver = dv;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return 0;
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

	version_option(argc, argv, "deliver");

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
	if ((user != NULL ? drop_privileges(user, err, sizeof err) :
	    become_queue_owner(queuedir, err, sizeof err)) < 0) {
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
	if (dv.cfg.queuesync_ordered)	/* for the bounces it queues */
		queue_sync_ordered(&dv.q);
	dv.statefd = queue_subdir(&dv.q, "state");
	if (dv.statefd < 0) {
		fprintf(stderr, "deliver: %s/state: %s\n", queuedir,
		    strerror(errno));
		return 1;
	}
	if (lock_queue(&dv) < 0) {
		if (!daemon && ask_daemon(&dv) == 0) {
			fprintf(stderr, "deliver: the running deliver -d was "
			    "asked to %s now\n", dv.force ?
			    "retry every message" : "run a pass");
			return 0;
		}
		fprintf(stderr, "deliver: %s: another deliver is running\n",
		    queuedir);
		return 1;
	}
	if (start_parent(&dv, daemon) < 0) {
		fprintf(stderr, "deliver: %s\n", strerror(errno));
		return 1;
	}
	run(&dv, daemon);
	children_free(&dv.ch);
	free(dv.waiting);
	config_free(&dv.cfg);
	return 0;
}
