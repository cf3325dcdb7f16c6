/*
 * state.c - the state file, QUEUE/state/ID, one line per fact:
 *
 *	postern-state 1
 *	arrival SECONDS
 *	next SECONDS
 *	attempts N
 *	warned SECONDS			(once the delay notice went)
 *	sender ADDRESS			(empty for the null sender)
 *	dsn RET=... ENVID=...		(when the sender asked, RFC 3461)
 *	P ADDRESS TAB REASON		one per final recipient; P pending,
 *	D ..., F ..., R ...		delivered, failed, failure reported,
 *	S ..., L ..., E ...		succeeded with a success report due
 *	rcpt-dsn NOTIFY=... ORCPT=...	(of the recipient just above)
 *
 * It is replaced whole, through tmp/, fsync and rename, so a crash
 * leaves the old state or the new one, never a mixture.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int
state_add_rcpt(struct msg_state *st, enum rcpt_status status,
    const char *addr, const char *reason)
{
	struct rcpt_state *r;

	if (st->nrcpts == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 8;
		struct rcpt_state *n = realloc(st->rcpts, ncap * sizeof *n);
		if (n == NULL)
			return -1;
		st->rcpts = n;
		st->cap = ncap;
	}
	r = &st->rcpts[st->nrcpts++];
	r->status = status;
	memset(&r->dsn, 0, sizeof r->dsn);
	str_copy(r->addr, addr, sizeof r->addr);
	str_copy(r->reason, reason ? reason : "", sizeof r->reason);
	/* Neither may hold the separators of the file. */
	for (char *p = r->reason; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	return 0;
}

/* "KEY NUMBER": 1 and *v set when line is that key, 0 otherwise. */
static int
number_field(const char *line, const char *key, unsigned long long *v)
{
	size_t n = strlen(key);

	return strncmp(line, key, n) == 0 && line[n] == ' ' &&
	    parse_ulong(line + n + 1, 1ULL << 62, v) == 0;
}

static int
parse_line(struct msg_state *st, char *line)
{
	char *tab;
	unsigned long long v;

	if (number_field(line, "arrival", &v))
		st->arrival = (time_t)v;
	else if (number_field(line, "next", &v))
		st->next = (time_t)v;
	else if (number_field(line, "attempts", &v))
		st->attempts = (unsigned)v;
	else if (number_field(line, "warned", &v))
		st->warned = (time_t)v;
	else if (strncmp(line, "sender ", 7) == 0)
		str_copy(st->sender, line + 7, sizeof st->sender);
	else if (strncmp(line, "dsn ", 4) == 0)
		return dsn_mail_parse(&st->dsn, line + 4);
	else if (strncmp(line, "rcpt-dsn ", 9) == 0)
		return st->nrcpts == 0 ? -1 :
		    dsn_rcpt_parse(&st->rcpts[st->nrcpts - 1].dsn, line + 9);
	else if (strchr("PDFRSLE", line[0]) != NULL && line[0] &&
	    line[1] == ' ') {
		tab = strchr(line + 2, '\t');
		if (tab != NULL)
			*tab++ = '\0';
		return state_add_rcpt(st, (enum rcpt_status)line[0], line + 2,
		    tab);
	} else if (strcmp(line, "postern-state 1") != 0)
		return -1;
	return 0;
}

/* Returns 0, or -1 with errno (ENOENT: no state yet; EINVAL: damaged). */
int
state_read(int dirfd, const char *id, struct msg_state *st)
{
	char line[STATE_ADDR_MAX + STATE_REASON_MAX + 16];
	FILE *fp;
	int fd;

	memset(st, 0, sizeof *st);
	str_copy(st->id, id, sizeof st->id);
	fd = openat(dirfd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	fp = fdopen(fd, "r");
	if (fp == NULL) {
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (parse_line(st, line) < 0) {
			fclose(fp);
			state_free(st);
			errno = EINVAL;
			return -1;
		}
	}
	fclose(fp);
	if (st->arrival == 0) {
		state_free(st);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
state_write(int tmpdirfd, int dirfd, const struct msg_state *st)
{
	char tmp[QUEUE_ID_MAX + 16], params[DSN_PARAMS_MAX + 1];
	FILE *fp;
	int fd, ok;

	snprintf(tmp, sizeof tmp, "%s.state", st->id);
	fd = openat(tmpdirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	fp = fdopen(fd, "w");
	if (fp == NULL) {
		close(fd);
		unlinkat(tmpdirfd, tmp, 0);
		return -1;
	}
	fprintf(fp, "postern-state 1\narrival %lld\nnext %lld\nattempts %u\n"
	    "sender %s\n", (long long)st->arrival, (long long)st->next,
	    st->attempts, st->sender);
	if (st->warned != 0)
		fprintf(fp, "warned %lld\n", (long long)st->warned);
	dsn_mail_format(&st->dsn, params, sizeof params);
	if (params[0] != '\0')
		fprintf(fp, "dsn %s\n", params);
	for (size_t i = 0; i < st->nrcpts; i++) {
		fprintf(fp, "%c %s\t%s\n", st->rcpts[i].status,
		    st->rcpts[i].addr, st->rcpts[i].reason);
		dsn_rcpt_format(&st->rcpts[i].dsn, params, sizeof params);
		if (params[0] != '\0')
			fprintf(fp, "rcpt-dsn %s\n", params);
	}
	ok = fflush(fp) == 0 && fsync(fd) == 0;
	if (fclose(fp) != 0)
		ok = 0;
	if (!ok || renameat(tmpdirfd, tmp, dirfd, st->id) < 0 ||
	    fsync(dirfd) < 0) {
		unlinkat(tmpdirfd, tmp, 0);
		return -1;
	}
	return 0;
}

size_t
state_count(const struct msg_state *st, enum rcpt_status status)
{
	size_t n = 0;

	for (size_t i = 0; i < st->nrcpts; i++)
		n += st->rcpts[i].status == status;
	return n;
}

/* Delivered, whether or not a success report is still due. */
int
state_succeeded(enum rcpt_status status)
{
	return status == RS_DELIVERED || status == RS_DELIVERED_REPORT ||
	    status == RS_RELAYED_REPORT || status == RS_EXPANDED_REPORT;
}

void
state_free(struct msg_state *st)
{
	free(st->rcpts);
	st->rcpts = NULL;
	st->nrcpts = st->cap = 0;
}
