/*
 * qitem.c - reading one queued message for postern-queue, and choosing
 * messages by sender, recipient, age and state.
 *
 * An admitted message is described by its state file (state/ID: final
 * recipients, attempts, last errors); new mail, not yet admitted by
 * deliver, by the envelope of its entry in todo/.  Nothing here writes,
 * so a listing never disturbs deliver; what it shows may be a moment
 * old.
 */
#include "qitem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "qlock.h"
#include "state.h"
#include "util.h"

#define ENVELOPE_LIMIT (16LL * 1024 * 1024)

/* A copy of s fit for a terminal: control characters become '?'. */
static char *
clean_copy(const char *s)
{
	char *c = strdup(s);

	if (c != NULL)
		for (char *p = c; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	return c;
}

static int
add_rcpt(struct qitem *it, char status, const char *addr,
    const char *reason)
{
	struct qitem_rcpt *r = reallocarray(it->rcpts, it->nrcpts + 1,
	    sizeof *r);

	if (r == NULL)
		return -1;
	it->rcpts = r;
	r = &r[it->nrcpts];
	r->status = status;
	r->addr = clean_copy(addr);
	r->reason = clean_copy(reason);
	if (r->addr == NULL || r->reason == NULL) {
		free(r->addr);
		free(r->reason);
		return -1;
	}
	it->nrcpts++;
	return 0;
}

static int
from_state(struct qitem *it, const struct msg_state *st)
{
	it->arrival = st->arrival;
	it->next = st->next;
	it->attempts = st->attempts;
	it->sender = clean_copy(st->sender);
	if (it->sender == NULL)
		return -1;
	for (size_t i = 0; i < st->nrcpts; i++)
		if (add_rcpt(it, (char)st->rcpts[i].status, st->rcpts[i].addr,
		    st->rcpts[i].reason) < 0)
			return -1;
	return 0;
}

/* The envelope of an entry not yet admitted (envelope.h). */
static int
from_envelope(struct qitem *it, const char *env, size_t len)
{
	struct env_reader r;
	struct env_item item;
	enum env_result res;

	env_reader_init(&r, env, len);
	while ((res = env_next(&r, &item)) == ENV_ITEM) {
		if (item.kind == 'F') {
			if ((it->sender = clean_copy(item.addr)) == NULL)
				return -1;
		} else if (add_rcpt(it, 'N', item.addr, "") < 0) {
			return -1;
		}
	}
	return res == ENV_END ? 0 : -1;
}

static int
read_at(int fd, long long off, long long len, char **out)
{
	char *b;

	if (len < 0 || len > ENVELOPE_LIMIT || (b = malloc((size_t)len + 1)) ==
	    NULL)
		return -1;
	if (pread(fd, b, (size_t)len, off) != (ssize_t)len) {
		free(b);
		return -1;
	}
	b[len] = '\0';
	*out = b;
	return 0;
}

/* New mail: the envelope of todo/ID, one-file or (before 0.5) two-file. */
static int
from_entry(const struct queue *q, const char *id, struct qitem *it)
{
	struct stat sb, msg;
	struct qentry e;
	char *env = NULL;
	int r = -1, fd = openat(q->todofd, id, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW);

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) == 0) {
		it->arrival = sb.st_mtime;
		if (qentry_parse(fd, &e) == 0) {
			it->size = e.msglen;
			if (read_at(fd, e.envoff, e.envlen, &env) == 0)
				r = from_envelope(it, env, (size_t)e.envlen);
		} else if (fstatat(q->messfd, id, &msg,
		    AT_SYMLINK_NOFOLLOW) == 0 &&
		    read_at(fd, 0, sb.st_size, &env) == 0) {
			it->size = msg.st_size;
			it->arrival = msg.st_mtime;
			r = from_envelope(it, env, (size_t)sb.st_size);
		}
	}
	free(env);
	close(fd);
	return r;
}

/* 0 and *it filled; -1 when id is not (or no longer) a queued message. */
int
qitem_read(const struct queue *q, int statefd, const char *id,
    struct qitem *it)
{
	struct msg_state st;
	struct qmessage m;
	int r;

	memset(it, 0, sizeof *it);
	str_copy(it->id, id, sizeof it->id);
	it->size = -1;
	if (state_read(statefd, id, &st) == 0) {
		r = from_state(it, &st);
		state_free(&st);
		if (qmessage_open(q->messfd, id, &m) == 0) {
			it->size = m.len;
			qmessage_close(&m);
		}
	} else
		r = errno == ENOENT ? from_entry(q, id, it) : -1;
	if (r < 0) {
		qitem_free(it);
		return -1;
	}
	it->state = queue_is_held(q, id) ? QS_HELD :
	    it->attempts > 0 ? QS_DEFERRED : QS_NEW;
	return 0;
}

void
qitem_free(struct qitem *it)
{
	for (size_t i = 0; i < it->nrcpts; i++) {
		free(it->rcpts[i].addr);
		free(it->rcpts[i].reason);
	}
	free(it->rcpts);
	free(it->sender);
	it->rcpts = NULL;
	it->sender = NULL;
	it->nrcpts = 0;
}

const char *
qitem_state_name(enum qitem_state s)
{
	return s == QS_HELD ? "held" : s == QS_DEFERRED ? "deferred" : "new";
}

void
qfilter_init(struct qfilter *f)
{
	f->sender = f->rcpt = NULL;
	f->older = f->younger = -1;
	f->state = -1;
}

int
qfilter_active(const struct qfilter *f)
{
	return f->sender != NULL || f->rcpt != NULL || f->older >= 0 ||
	    f->younger >= 0 || f->state >= 0;
}

int
qfilter_match(const struct qfilter *f, const struct qitem *it, time_t now)
{
	int any = f->rcpt == NULL;

	if (f->sender != NULL && strcasestr(it->sender, f->sender) == NULL)
		return 0;
	if (f->older >= 0 && now - it->arrival < f->older)
		return 0;
	if (f->younger >= 0 && now - it->arrival > f->younger)
		return 0;
	if (f->state >= 0 && (int)it->state != f->state)
		return 0;
	for (size_t i = 0; !any && i < it->nrcpts; i++)
		any = strcasestr(it->rcpts[i].addr, f->rcpt) != NULL;
	return any;
}

/* "90", "90s", "15m", "2h", "3d": seconds. */
int
parse_age(const char *s, long long *seconds)
{
	static const struct { char unit; long long factor; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char num[24];
	size_t n = strlen(s);
	long long factor = 1;
	unsigned long long v;

	if (n == 0 || n >= sizeof num)
		return -1;
	if (!isdigit((unsigned char)s[n - 1])) {
		size_t i;
		for (i = 0; i < sizeof units / sizeof units[0]; i++)
			if (units[i].unit == s[n - 1])
				break;
		if (i == sizeof units / sizeof units[0])
			return -1;
		factor = units[i].factor;
		n--;
	}
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_ulong(num, (1ULL << 40), &v) < 0)
		return -1;
	*seconds = (long long)v * factor;
	return 0;
}
