/*
 * content.c - the message for content filters, and their changes.
 *
 * While the message streams to the queue file, hdrscan.c splits it and
 * msgedit.c remembers where each header field lies; the checks' content
 * hook is told each field, the header's end and the body.  At the end
 * of the data a filter may add, insert, change or delete fields and
 * replace the body: each new field and the new body are written to the
 * same file after the message as received (never over it), and the
 * commit lists the pieces the message is now made of (queue(5), PQE2).
 * What a filter sends is checked like any input: a field name of
 * printable octets, a value whose line breaks all start a continuation
 * line, CR LF made LF.
 */
#include "content.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "session.h"

#define FIELD_NAME_MAX 997

/* The checks' verdict on a part of the message; the first refusal stays. */
static void
ask(struct session *s, enum content_part part, const char *p, size_t n)
{
	const char *why;

	if (s->tx.content_reply[0] == '\0' &&
	    (why = s->checks.content(s->checks.ctx, s, part, p, n)) != NULL)
		str_copy(s->tx.content_reply, why, sizeof s->tx.content_reply);
}

static void
on_field(void *ctx, const char *text, size_t n, long long off, long long len)
{
	struct session *s = ctx;

	msgedit_received(&s->tx.edit, text, n, off, len);
	ask(s, CONTENT_FIELD, text, n);
}

static void
on_end_of_header(void *ctx, long long off, int empty_line)
{
	struct session *s = ctx;

	msgedit_header_end(&s->tx.edit, off, empty_line);
	ask(s, CONTENT_END_OF_HEADER, "", 0);
}

static void
on_body(void *ctx, const char *p, size_t n)
{
	ask(ctx, CONTENT_BODY, p, n);
}

/* A message starts: its fields are to be found, if filters read it. */
int
content_begin(struct session *s)
{
	const struct hdrscan_ops ops = { on_field, on_end_of_header, on_body,
	    s };

	msgedit_free(&s->tx.edit);
	s->tx.content_reply[0] = '\0';
	if (s->checks.content == NULL)
		return 0;
	if (s->tx.scan == NULL && (s->tx.scan = malloc(sizeof *s->tx.scan)) ==
	    NULL)
		return -1;
	hdrscan_init(s->tx.scan, &ops);
	ask(s, CONTENT_BEGIN, s->tx.id, strlen(s->tx.id));
	return 0;
}

void
content_feed(struct session *s, const char *p, size_t n)
{
	if (s->checks.content != NULL && s->tx.scan != NULL)
		hdrscan_feed(s->tx.scan, p, n);
}

/* The message as received is all in the file. */
void
content_end(struct session *s)
{
	if (s->checks.content == NULL || s->tx.scan == NULL)
		return;
	hdrscan_end(s->tx.scan);
	msgedit_message_end(&s->tx.edit, s->tx.stored);
}

void
content_free(struct session *s)
{
	free(s->tx.scan);
	s->tx.scan = NULL;
	msgedit_free(&s->tx.edit);
}

static int
valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > FIELD_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= 32 ||
		    (unsigned char)name[i] >= 127 || name[i] == ':')
			return 0;
	return 1;
}

/*
 * "name:value\n" into out (2 * strlen(value) + strlen(name) + 4 octets
 * at least): CR LF and lone CR become LF, every line after the first
 * starts with white space (a tab where the filter gave none), and no
 * empty line is made.
 */
static size_t
format_field(char *out, const char *name, const char *value)
{
	size_t n = (size_t)sprintf(out, "%s:", name);

	for (const char *p = value; *p; p++) {
		char c = *p == '\r' ? '\n' : *p;

		if (*p == '\r' && p[1] == '\n')
			continue;
		if (c == '\n') {
			while (p[1] == '\r' || p[1] == '\n')
				p++;
			if (p[1] == '\0')
				break;
			out[n++] = '\n';
			if (p[1] != ' ' && p[1] != '\t')
				out[n++] = '\t';
			continue;
		}
		out[n++] = c;
	}
	out[n++] = '\n';
	return n;
}

/* Writes a filter's field after the message: 0, *off and *len set. */
static int
write_field(struct session *s, const char *name, const char *value,
    long long *off, long long *len)
{
	char *text;
	size_t n;

	if (!valid_name(name) || (text = malloc(strlen(name) +
	    2 * strlen(value) + 4)) == NULL)
		return -1;
	n = format_field(text, name, value);
	*off = message_append(s, text, n);
	*len = (long long)n;
	free(text);
	return *off < 0 ? -1 : 0;
}

/* A new field at index (CONTENT_APPEND: after the last).  -1 failed. */
int
content_insert_field(struct session *s, size_t index, const char *name,
    const char *value)
{
	long long off, len;

	if (write_field(s, name, value, &off, &len) < 0)
		return -1;
	return msgedit_insert(&s->tx.edit, index, name, off, len);
}

/* The nth field called name gets value; an empty value deletes it. */
int
content_change_field(struct session *s, const char *name, unsigned nth,
    const char *value)
{
	long long off = 0, len = 0;

	if (value[0] != '\0' && write_field(s, name, value, &off, &len) < 0)
		return -1;
	if (value[0] == '\0' && !valid_name(name))
		return -1;
	return msgedit_change(&s->tx.edit, name, nth, off, len);
}

/*
 * A filter replaces the body: it follows in content_body's chunks, with
 * CR LF line ends made LF.  A header that had no empty line after it
 * gets one, as the body's first octet.
 */
int
content_body_begin(struct session *s)
{
	long long off;

	msgedit_body_reset(&s->tx.edit);
	s->tx.edit.pending_cr = 0;
	if (s->tx.edit.separator)
		return 0;
	if ((off = message_append(s, "\n", 1)) < 0)
		return -1;
	return msgedit_body_piece(&s->tx.edit, off, 1);
}

int
content_body(struct session *s, const char *p, size_t n)
{
	struct msgedit *e = &s->tx.edit;
	char out[8192];
	size_t len = 0;
	long long off;

	for (size_t i = 0; i <= n; i++) {
		if (len + 2 > sizeof out || (i == n && len > 0)) {
			if ((off = message_append(s, out, len)) < 0 ||
			    msgedit_body_piece(e, off, (long long)len) < 0)
				return -1;
			len = 0;
		}
		if (i == n)
			break;
		/* a CR is held back until it is known not to end a line */
		if (e->pending_cr && p[i] != '\n')
			out[len++] = '\r';
		e->pending_cr = p[i] == '\r';
		if (!e->pending_cr)
			out[len++] = p[i];
	}
	return 0;
}

int
content_changed(const struct session *s)
{
	return s->tx.edit.changed;
}

/*
 * The filters are done: a CR the new body ended with, held back for an
 * LF that never came, is written now.  -1 failed.
 */
int
content_changes_end(struct session *s)
{
	long long off;

	if (!s->tx.edit.pending_cr)
		return 0;
	s->tx.edit.pending_cr = 0;
	off = message_append(s, "\r", 1);
	return off < 0 ? -1 : msgedit_body_piece(&s->tx.edit, off, 1);
}

/* Commits the message as the pieces the filters left. */
enum commit_result
content_commit(struct session *s, const char *env, size_t envlen)
{
	struct qextent *map;
	size_t n;
	enum commit_result r = COMMIT_TEMPFAIL;

	if (s->sink->commit_pieces == NULL ||
	    (map = calloc(QMAP_MAX, sizeof *map)) == NULL)
		return COMMIT_TEMPFAIL;
	n = msgedit_map(&s->tx.edit, map, QMAP_MAX);
	if (n > 0 && n <= QMAP_MAX)
		r = s->sink->commit_pieces(s->sinkctx, map, n, env, envlen);
	free(map);
	return r;
}
