/*
 * queuetool.c - postern-queue: the administrator's view of the queue,
 * and what can be done to the messages in it (postern-queue(8)).
 *
 * Reading (list, summary, show) takes no lock and changes nothing.
 * Changing (delete, hold, release, requeue) works on one message at a
 * time under the entry's lock (qlock.c), the lock deliver holds to
 * admit an entry and for a whole delivery attempt: a message is never
 * deleted half-way through an attempt, and never delivered once its
 * deletion is reported.  Afterwards deliver is woken through the
 * trigger FIFO.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "privdrop.h"
#include "qitem.h"
#include "qlock.h"
#include "queue.h"
#include "state.h"
#include "util.h"

#define EXIT_NOTFOUND 1		/* a named message is not in the queue */
#define EXIT_USAGE 2
#define EXIT_FAIL 3		/* the queue cannot be read, a change failed */
#define EXIT_BUSY 4		/* a message stayed locked by deliver */

struct tool {
	struct queue q;
	int statefd;
	struct qfilter filter;
	int json;
	int all;		/* -a: every message, for the changing commands */
	unsigned wait_ms;	/* how long to wait for deliver's lock */
	int selecting;		/* the messages come from a filter */
	int status;		/* the exit status so far */
};

static void
usage(void)
{
	fprintf(stderr, "usage: postern-queue [-hVja] [-C confdir] "
	    "[-Q queuedir] [-s sender] [-r recipient] [-o age] [-y age] "
	    "[-S state] [-w seconds] list | summary | show | delete | hold | "
	    "release | requeue | flush [ID ...]\n");
	exit(EXIT_USAGE);
}

static void
worse(struct tool *t, int status)
{
	/* usage, failure and busy outrank "not found" */
	if (status > t->status)
		t->status = status;
}

/* ---- output ---- */

static void
json_string(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	while (*p) {
		unsigned long cp = 0;
		size_t len = *p >= 0x80 ? utf8_sequence(p, &cp) : 1;

		if (*p == '"' || *p == '\\')
			printf("\\%c", *p++);
		else if (*p < 0x20 || *p == 0x7f || len == 0)
			printf("\\u%04x", *p++);	/* a stray byte: its value */
		else {
			fwrite(p, 1, len, stdout);
			p += len;
		}
	}
	putchar('"');
}

static const char *
status_name(char status)
{
	switch (status) {
	case 'P': return "pending";
	case 'D':
	case 'S':	/* its success report not yet queued */
		return "delivered";
	case 'L': return "relayed";
	case 'E': return "expanded";
	case 'F': return "failed";
	case 'R': return "reported";
	default: return "new";
	}
}

static void
print_json(const struct qitem *it)
{
	printf("{\"id\":");
	json_string(it->id);
	printf(",\"state\":\"%s\",\"arrival\":%lld,\"size\":%lld,"
	    "\"attempts\":%u,\"next\":%lld,\"sender\":",
	    qitem_state_name(it->state), (long long)it->arrival, it->size,
	    it->attempts, (long long)it->next);
	json_string(it->sender);
	printf(",\"recipients\":[");
	for (size_t i = 0; i < it->nrcpts; i++) {
		printf("%s{\"address\":", i ? "," : "");
		json_string(it->rcpts[i].addr);
		printf(",\"status\":\"%s\",\"reason\":",
		    status_name(it->rcpts[i].status));
		json_string(it->rcpts[i].reason);
		putchar('}');
	}
	printf("]}\n");
}

static const char *
when(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

static void
print_human(const struct qitem *it)
{
	char at[32];

	printf("%-22s %9lld  %s  %-8s <%s>\n", it->id, it->size,
	    when(it->arrival, at, sizeof at), qitem_state_name(it->state),
	    it->sender);
	if (it->attempts > 0)
		printf("    attempts %u, next try %s\n", it->attempts,
		    when(it->next, at, sizeof at));
	for (size_t i = 0; i < it->nrcpts; i++)
		printf("    %-9s %s%s%s%s\n", status_name(it->rcpts[i].status),
		    it->rcpts[i].addr, it->rcpts[i].reason[0] ? " (" : "",
		    it->rcpts[i].reason, it->rcpts[i].reason[0] ? ")" : "");
}

/* ---- the messages of the queue ---- */

struct idlist {
	char (*ids)[QUEUE_ID_MAX];
	size_t n, cap;
};

static int
idlist_add(struct idlist *l, const char *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char (*ids)[QUEUE_ID_MAX] = reallocarray(l->ids, cap,
		    sizeof *ids);
		if (ids == NULL)
			return -1;
		l->ids = ids;
		l->cap = cap;
	}
	str_copy(l->ids[l->n++], id, QUEUE_ID_MAX);
	return 0;
}

static int
id_order(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Every ID in state/ and todo/, once each, sorted (hence by arrival). */
static int
queue_ids(struct tool *t, struct idlist *l)
{
	int dirs[2] = { t->statefd, t->q.todofd };

	for (int i = 0; i < 2; i++) {
		int fd = dup(dirs[i]);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;

		if (d == NULL) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.' && strlen(e->d_name) <
			    QUEUE_ID_MAX && idlist_add(l, e->d_name) < 0) {
				closedir(d);
				return -1;
			}
		closedir(d);
	}
	if (l->n > 1)
		qsort(l->ids, l->n, sizeof *l->ids, id_order);
	/* an entry admitted before a crash is in both: once is enough */
	size_t kept = 0;
	for (size_t i = 0; i < l->n; i++)
		if (kept == 0 || strcmp(l->ids[kept - 1], l->ids[i]) != 0)
			memmove(l->ids[kept++], l->ids[i], QUEUE_ID_MAX);
	l->n = kept;
	return 0;
}

typedef void (*item_fn)(struct tool *t, const struct qitem *it, void *ctx);

/* Calls fn for each message the filter selects; the count selected. */
static long
each_selected(struct tool *t, item_fn fn, void *ctx)
{
	struct idlist l = { 0 };
	time_t now = time(NULL);
	long selected = 0;

	if (queue_ids(t, &l) < 0) {
		fprintf(stderr, "postern-queue: cannot read the queue: %s\n",
		    strerror(errno));
		worse(t, EXIT_FAIL);
		free(l.ids);
		return 0;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct qitem it;

		if (qitem_read(&t->q, t->statefd, l.ids[i], &it) < 0)
			continue;	/* gone meanwhile, or not a message */
		if (qfilter_match(&t->filter, &it, now)) {
			selected++;
			fn(t, &it, ctx);
		}
		qitem_free(&it);
	}
	free(l.ids);
	return selected;
}

/* ---- list, summary, show ---- */

struct totals {
	long count[3];
	long long bytes;
	time_t oldest;
	char oldest_id[QUEUE_ID_MAX];
	struct domain_count { char *domain; long n; } *domains;
	size_t ndomains;
};

static void
count_domain(struct totals *s, const char *addr)
{
	const char *at = strrchr(addr, '@');
	const char *domain = at ? at + 1 : "(local)";
	struct domain_count *d;

	for (size_t i = 0; i < s->ndomains; i++)
		if (strcasecmp(s->domains[i].domain, domain) == 0) {
			s->domains[i].n++;
			return;
		}
	d = reallocarray(s->domains, s->ndomains + 1, sizeof *d);
	if (d == NULL)
		return;
	s->domains = d;
	d[s->ndomains].domain = strdup(domain);
	if (d[s->ndomains].domain == NULL)
		return;
	d[s->ndomains++].n = 1;
}

static void
add_up(struct tool *t, const struct qitem *it, void *ctx)
{
	struct totals *s = ctx;

	(void)t;
	s->count[it->state]++;
	s->bytes += it->size > 0 ? it->size : 0;
	if (s->oldest == 0 || it->arrival < s->oldest) {
		s->oldest = it->arrival;
		str_copy(s->oldest_id, it->id, sizeof s->oldest_id);
	}
	for (size_t i = 0; i < it->nrcpts; i++)
		if (it->rcpts[i].status == 'P' || it->rcpts[i].status == 'N')
			count_domain(s, it->rcpts[i].addr);
}

static void
list_one(struct tool *t, const struct qitem *it, void *ctx)
{
	add_up(t, it, ctx);
	if (t->json)
		print_json(it);
	else
		print_human(it);
}

static int
by_count(const void *a, const void *b)
{
	const struct domain_count *x = a, *y = b;

	return x->n != y->n ? (x->n < y->n ? 1 : -1) :
	    strcmp(x->domain, y->domain);
}

static void
free_totals(struct totals *s)
{
	for (size_t i = 0; i < s->ndomains; i++)
		free(s->domains[i].domain);
	free(s->domains);
}

static void
cmd_list(struct tool *t)
{
	struct totals s;
	long n;

	memset(&s, 0, sizeof s);
	n = each_selected(t, list_one, &s);

	if (!t->json)
		printf("-- %ld message%s, %lld bytes: %ld new, %ld deferred, "
		    "%ld held\n", n, n == 1 ? "" : "s", s.bytes,
		    s.count[QS_NEW], s.count[QS_DEFERRED], s.count[QS_HELD]);
	free_totals(&s);
}

static void
cmd_summary(struct tool *t)
{
	struct totals s;
	char at[32];
	long n;

	memset(&s, 0, sizeof s);
	n = each_selected(t, add_up, &s);

	if (s.ndomains > 1)
		qsort(s.domains, s.ndomains, sizeof *s.domains, by_count);
	if (t->json) {
		printf("{\"messages\":%ld,\"bytes\":%lld,\"new\":%ld,"
		    "\"deferred\":%ld,\"held\":%ld,\"oldest\":%lld,"
		    "\"domains\":{", n, s.bytes, s.count[QS_NEW],
		    s.count[QS_DEFERRED], s.count[QS_HELD],
		    (long long)s.oldest);
		for (size_t i = 0; i < s.ndomains; i++) {
			printf("%s", i ? "," : "");
			json_string(s.domains[i].domain);
			printf(":%ld", s.domains[i].n);
		}
		printf("}}\n");
	} else {
		printf("messages %ld, bytes %lld: %ld new, %ld deferred, "
		    "%ld held\n", n, s.bytes, s.count[QS_NEW],
		    s.count[QS_DEFERRED], s.count[QS_HELD]);
		if (n > 0)
			printf("oldest %s, arrived %s\n", s.oldest_id,
			    when(s.oldest, at, sizeof at));
		if (s.ndomains > 0)
			printf("recipients not yet delivered, by domain:\n");
		for (size_t i = 0; i < s.ndomains; i++)
			printf("%8ld %s\n", s.domains[i].n,
			    s.domains[i].domain);
	}
	free_totals(&s);
}

static int
copy_message(struct tool *t, const char *id)
{
	struct qmessage m;
	char buf[65536];
	long long off = 0;
	ssize_t n;

	if (qmessage_open(t->q.messfd, id, &m) < 0) {
		/* not yet admitted: the message part of todo/ID */
		if (qmessage_open(t->q.todofd, id, &m) < 0)
			return -1;
	}
	while ((n = qmessage_read(&m, buf, sizeof buf, off)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		off += n;
	}
	qmessage_close(&m);
	return n < 0 ? -1 : 0;
}

static void
cmd_show(struct tool *t, char **ids, int n)
{
	for (int i = 0; i < n; i++) {
		struct qitem it;

		if (qitem_read(&t->q, t->statefd, ids[i], &it) < 0) {
			fprintf(stderr, "postern-queue: %s: no such message\n",
			    ids[i]);
			worse(t, EXIT_NOTFOUND);
			continue;
		}
		if (t->json)
			print_json(&it);
		else {
			print_human(&it);
			printf("\n");
			if (copy_message(t, ids[i]) < 0) {
				fprintf(stderr, "postern-queue: %s: cannot read "
				    "the message\n", ids[i]);
				worse(t, EXIT_FAIL);
			}
		}
		qitem_free(&it);
	}
}

/* ---- delete, hold, release, requeue ---- */

enum change { DELETE, HOLD, RELEASE, REQUEUE };

static const char *const change_name[] = { "delete", "hold", "release",
    "requeue" };
static const char *const change_done[] = { "deleted", "held", "released",
    "requeued" };

/* The state file, if any, due now and with its back-off forgotten. */
static int
make_due(struct tool *t, const char *id)
{
	struct msg_state st;
	int r;

	if (state_read(t->statefd, id, &st) < 0)
		return errno == ENOENT ? 0 : -1;	/* new mail is due */
	st.next = 0;
	st.attempts = 0;
	r = state_write(t->q.tmpfd, t->statefd, &st);
	state_free(&st);
	return r;
}

static int
delete_locked(struct tool *t, const char *id)
{
	/* the state file first: a crash then leaves an orphan message,
	 * which deliver neither admits nor tries, and removes in a day */
	if ((unlinkat(t->statefd, id, 0) < 0 && errno != ENOENT) ||
	    fsync(t->statefd) < 0)
		return -1;
	if ((unlinkat(t->q.todofd, id, 0) < 0 && errno != ENOENT) ||
	    (unlinkat(t->q.messfd, id, 0) < 0 && errno != ENOENT))
		return -1;
	if (fsync(t->q.todofd) < 0 || fsync(t->q.messfd) < 0)
		return -1;
	return queue_is_held(&t->q, id) ? queue_set_held(&t->q, id, 0) : 0;
}

static int
change_locked(struct tool *t, const char *id, enum change c)
{
	switch (c) {
	case DELETE:
		return delete_locked(t, id);
	case HOLD:
		return queue_set_held(&t->q, id, 1);
	case RELEASE:
		return queue_set_held(&t->q, id, 0) < 0 ? -1 :
		    make_due(t, id);
	case REQUEUE:
		return make_due(t, id);
	}
	return -1;
}

static void
change_one(struct tool *t, const char *id, enum change c)
{
	char where;
	int fd = qlock_entry(&t->q, id, t->wait_ms, &where);

	if (fd < 0) {
		if (errno == ENOENT) {
			/* one a filter chose may have been delivered since */
			if (t->selecting)
				return;
			fprintf(stderr, "postern-queue: %s: no such message\n",
			    id);
			worse(t, EXIT_NOTFOUND);
		} else {
			fprintf(stderr, "postern-queue: %s: %s; try again\n",
			    id, errno == EWOULDBLOCK ? "being delivered now" :
			    strerror(errno));
			worse(t, errno == EWOULDBLOCK ? EXIT_BUSY : EXIT_FAIL);
		}
		return;
	}
	if (change_locked(t, id, c) < 0) {
		fprintf(stderr, "postern-queue: %s: %s\n", id, strerror(errno));
		worse(t, EXIT_FAIL);
	} else {
		log_msg(LOG_INFO, "id=%s %s by postern-queue (uid %lu)", id,
		    change_done[c], (unsigned long)getuid());
		printf("%s %s\n", id, change_done[c]);
	}
	close(fd);
}

static void
change_selected(struct tool *t, const struct qitem *it, void *ctx)
{
	change_one(t, it->id, *(enum change *)ctx);
}

static void
cmd_change(struct tool *t, enum change c, char **ids, int n)
{
	if (n > 0) {
		for (int i = 0; i < n; i++)
			change_one(t, ids[i], c);
	} else if (qfilter_active(&t->filter) || t->all) {
		t->selecting = 1;
		if (each_selected(t, change_selected, &c) == 0)
			printf("no message selected\n");
	} else {
		fprintf(stderr, "postern-queue: %s needs message IDs, a "
		    "filter, or -a for every message\n", change_name[c]);
		worse(t, EXIT_USAGE);
		return;
	}
	queue_trigger(&t->q);
}

/* flush is deliver -f, beside this program: it asks a running deliver
 * -d, or runs a pass itself. */
static void
cmd_flush(const char *confdir, const char *queuedir)
{
	char deliver[4096];

	if (sibling_program("deliver", deliver, sizeof deliver) < 0) {
		fprintf(stderr, "postern-queue: cannot find deliver\n");
		exit(EXIT_FAIL);
	}
	execl(deliver, "deliver", "-f", "-C", confdir, "-Q", queuedir,
	    (char *)NULL);
	fprintf(stderr, "postern-queue: %s: %s\n", deliver, strerror(errno));
	exit(EXIT_FAIL);
}

/* ---- main ---- */

static int
parse_state(const char *s)
{
	if (strcmp(s, "new") == 0)
		return QS_NEW;
	if (strcmp(s, "deferred") == 0)
		return QS_DEFERRED;
	if (strcmp(s, "held") == 0)
		return QS_HELD;
	return -1;
}

static void
parse_options(int argc, char **argv, struct tool *t, const char **confdir,
    const char **queuedir)
{
	unsigned long long wait = 10;
	int c;

	while ((c = getopt(argc, argv, "hVC:Q:jas:r:o:y:S:w:")) != -1) {
		switch (c) {
		case 'C': *confdir = optarg; break;
		case 'Q': *queuedir = optarg; break;
		case 'j': t->json = 1; break;
		case 'a': t->all = 1; break;
		case 's': t->filter.sender = optarg; break;
		case 'r': t->filter.rcpt = optarg; break;
		case 'o':
			if (parse_age(optarg, &t->filter.older) < 0)
				usage();
			break;
		case 'y':
			if (parse_age(optarg, &t->filter.younger) < 0)
				usage();
			break;
		case 'S':
			if ((t->filter.state = parse_state(optarg)) < 0)
				usage();
			break;
		case 'w':
			if (parse_ulong(optarg, 3600, &wait) < 0)
				usage();
			break;
		default:
			usage();
		}
	}
	t->wait_ms = (unsigned)wait * 1000;
}

static void
open_queue(struct tool *t, const char *confdir, const char *queuedir)
{
	static struct config cfg;
	char err[512];

	if (become_queue_owner(queuedir, err, sizeof err) < 0 ||
	    config_load(&cfg, confdir, 0, err, sizeof err) < 0 ||
	    queue_open(&t->q, queuedir, err, sizeof err) < 0) {
		fprintf(stderr, "postern-queue: %s\n", err);
		exit(EXIT_FAIL);
	}
	log_to_stderr(cfg.log_stderr);
	t->statefd = queue_subdir(&t->q, "state");
	if (t->statefd < 0) {
		fprintf(stderr, "postern-queue: %s/state: %s\n", queuedir,
		    strerror(errno));
		exit(EXIT_FAIL);
	}
}

int
main(int argc, char **argv)
{
	static struct tool t;
	const char *confdir = config_conf_dir(), *queuedir = config_queue_dir();
	const char *cmd;
	char **ids;
	int nids;

	version_option(argc, argv, "postern-queue");
	log_init("postern-queue");
	qfilter_init(&t.filter);
	parse_options(argc, argv, &t, &confdir, &queuedir);
	if (optind >= argc)
		usage();
	cmd = argv[optind];
	ids = argv + optind + 1;
	nids = argc - optind - 1;
	if (strcmp(cmd, "flush") == 0)
		cmd_flush(confdir, queuedir);
	open_queue(&t, confdir, queuedir);
	if (strcmp(cmd, "list") == 0 && nids == 0)
		cmd_list(&t);
	else if (strcmp(cmd, "summary") == 0 && nids == 0)
		cmd_summary(&t);
	else if (strcmp(cmd, "show") == 0 && nids > 0)
		cmd_show(&t, ids, nids);
	else {
		enum change c;
		for (c = DELETE; c <= REQUEUE; c++)
			if (strcmp(cmd, change_name[c]) == 0)
				break;
		if (c > REQUEUE)
			usage();
		cmd_change(&t, c, ids, nids);
	}
	fflush(stdout);
	return t.status;
}
