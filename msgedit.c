/*
 * msgedit.c - a message's header fields by position, the filters'
 * changes to them, and the list of pieces the result is made of.
 *
 * The milter protocol names a field to change by its name and which
 * occurrence of it (1 the first), and a place to insert one by its
 * index among all fields (0 the top); both count the fields as they
 * stand after the changes made so far, as Sendmail does.  A field that
 * is deleted leaves the list.
 */
#include "msgedit.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
msgedit_init(struct msgedit *e)
{
	memset(e, 0, sizeof *e);
}

void
msgedit_free(struct msgedit *e)
{
	free(e->field);
	msgedit_init(e);
}

/* The name of a field's text, for finding it again: "" when too long. */
static void
field_name(char *name, const char *text, size_t n)
{
	size_t len = 0;

	while (len < n && text[len] != ':')
		len++;
	if (len >= MSGEDIT_NAME_MAX || len == n)
		len = 0;
	memcpy(name, text, len);
	name[len] = '\0';
}

static int
insert_at(struct msgedit *e, size_t index, const char *name, long long off,
    long long len)
{
	struct msgfield *f;

	if (e->nfield >= MSGEDIT_FIELDS_MAX)
		return -1;
	if (e->field == NULL &&
	    (e->field = calloc(MSGEDIT_FIELDS_MAX, sizeof *e->field)) == NULL)
		return -1;
	if (index > e->nfield)
		index = e->nfield;
	f = &e->field[index];
	memmove(f + 1, f, (e->nfield - index) * sizeof *f);
	e->nfield++;
	f->off = off;
	f->len = len;
	if (strlen(name) < MSGEDIT_NAME_MAX)
		memcpy(f->name, name, strlen(name) + 1);
	else
		f->name[0] = '\0';
	return 0;
}

/* A field of the message as received, in the order they came. */
void
msgedit_received(struct msgedit *e, const char *text, size_t n,
    long long off, long long len)
{
	char name[MSGEDIT_NAME_MAX];

	field_name(name, text, n);
	if (!e->overflow && insert_at(e, e->nfield, name, off, len) == 0)
		return;
	/* past the limit, or out of memory: the field joins the last one,
	 * which then cannot be found by name (the fields received are one
	 * run of octets); with none, the header is one anonymous piece */
	e->overflow = 1;
	if (e->nfield == 0 && insert_at(e, 0, "", off, len) < 0)
		return;
	e->field[e->nfield - 1].len = off + len - e->field[e->nfield - 1].off;
	e->field[e->nfield - 1].name[0] = '\0';
}

void
msgedit_header_end(struct msgedit *e, long long off, int separator)
{
	e->eoh = off;
	e->separator = separator;
}

void
msgedit_message_end(struct msgedit *e, long long off)
{
	e->end = off;
}

/*
 * A new field (written at off, len octets) at index among the fields
 * as they stand; past the last, after it.  -1: too many fields.
 */
int
msgedit_insert(struct msgedit *e, size_t index, const char *name,
    long long off, long long len)
{
	if (insert_at(e, index, name, off, len) < 0)
		return -1;
	e->changed = 1;
	return 0;
}

/*
 * The nth field called name (1 the first) becomes the one written at
 * off, or goes when len is 0.  With fewer such fields, a new one is
 * added at the end, as libmilter documents; a deletion of none is none.
 */
int
msgedit_change(struct msgedit *e, const char *name, unsigned nth,
    long long off, long long len)
{
	unsigned seen = 0;

	if (nth == 0)
		nth = 1;
	for (size_t i = 0; i < e->nfield; i++) {
		struct msgfield *f = &e->field[i];

		if (strcasecmp(f->name, name) != 0 || ++seen < nth)
			continue;
		e->changed = 1;
		if (len == 0) {
			memmove(f, f + 1, (e->nfield - i - 1) * sizeof *f);
			e->nfield--;
		} else {
			f->off = off;
			f->len = len;
		}
		return 0;
	}
	return len == 0 ? 0 : msgedit_insert(e, e->nfield, name, off, len);
}

/* A filter starts a new body: what earlier ones gave is forgotten. */
void
msgedit_body_reset(struct msgedit *e)
{
	e->nbody = 0;
	e->body_replaced = 1;
	e->changed = 1;
}

int
msgedit_body_piece(struct msgedit *e, long long off, long long len)
{
	struct qextent *last = e->nbody ? &e->body[e->nbody - 1] : NULL;

	if (len == 0)
		return 0;
	if (last != NULL && last->off + last->len == off) {
		last->len += len;
		return 0;
	}
	if (e->nbody >= MSGEDIT_BODY_PIECES)
		return -1;
	e->body[e->nbody++] = (struct qextent){ off, len };
	return 0;
}

/* Appends a piece, joined to the last one when it follows it. */
static void
add_piece(struct qextent *map, size_t max, size_t *n, long long off,
    long long len)
{
	if (len <= 0)
		return;
	if (*n > 0 && *n <= max && map[*n - 1].off + map[*n - 1].len == off) {
		map[*n - 1].len += len;
		return;
	}
	if (*n < max)
		map[*n] = (struct qextent){ off, len };
	(*n)++;
}

/*
 * The message as the filters left it, as pieces of the file: the
 * fields, then the empty line and the body (the one received, or the
 * new one).  Returns how many pieces; more than max: they did not fit.
 * A new body after a header without an empty line needs one written by
 * the caller as the body's first piece.
 */
size_t
msgedit_map(const struct msgedit *e, struct qextent *map, size_t max)
{
	size_t n = 0;

	if (e->overflow && e->nfield == 0)
		return max + 1;	/* out of memory: the header is not known */
	for (size_t i = 0; i < e->nfield; i++)
		add_piece(map, max, &n, e->field[i].off, e->field[i].len);
	if (!e->body_replaced) {
		add_piece(map, max, &n, e->eoh, e->end - e->eoh);
		return n;
	}
	if (e->separator)
		add_piece(map, max, &n, e->eoh, 1);
	for (size_t i = 0; i < e->nbody; i++)
		add_piece(map, max, &n, e->body[i].off, e->body[i].len);
	return n;
}
