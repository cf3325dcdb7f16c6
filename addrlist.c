/*
 * addrlist.c - RFC 5322 address lists, read as sendmail -t needs them:
 * "Name <a@b>", "a@b (comment)", groups ("team: a@b, c@d;", and the
 * empty "undisclosed-recipients:;"), quoted strings and comments that
 * hold commas, colons and angle brackets, and address literals
 * ("[IPv6:2001:db8::1]") with their colons.  Each mailbox's address is
 * what is inside its angle brackets, or, without them, its text with
 * comments and surrounding blanks removed.  Obsolete forms (routes,
 * comments inside addresses) are taken as they come; sendmail checks
 * each result as an SMTP path afterwards.
 */
#include "addrlist.h"

#include <stdlib.h>
#include <string.h>

#define ADDR_MAX 1024

struct element {
	char text[ADDR_MAX];	/* the address, outside any angle brackets */
	char angle[ADDR_MAX];	/* the address inside them */
	size_t ntext, nangle;
	int in_angle, saw_angle, too_long;
};

static void
put(struct element *e, char c)
{
	char *buf = e->in_angle ? e->angle : e->text;
	size_t *n = e->in_angle ? &e->nangle : &e->ntext;

	if (*n + 1 >= ADDR_MAX) {
		e->too_long = 1;
		return;
	}
	buf[(*n)++] = c;
}

/* The element's address, trimmed, to fn; then a fresh element. */
static int
emit(struct element *e, addrlist_fn fn, void *ctx)
{
	char *a = e->saw_angle ? e->angle : e->text;
	size_t n = e->saw_angle ? e->nangle : e->ntext;
	int r = 0;

	a[n] = '\0';
	while (*a == ' ' || *a == '\t')
		a++;
	n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
		a[--n] = '\0';
	if (e->too_long)
		r = fn(ctx, "");	/* too long: as an invalid address */
	else if (n > 0)
		r = fn(ctx, a);
	memset(e, 0, sizeof *e);
	return r;
}

int
addrlist_parse(const char *s, size_t len, addrlist_fn fn, void *ctx)
{
	struct element *e = calloc(1, sizeof *e);
	int quoted = 0, literal = 0, comment = 0, r = 0;

	if (e == NULL)
		return -1;
	for (size_t i = 0; i < len && r == 0; i++) {
		char c = s[i];

		if (c == '\r' || c == '\n')
			c = ' ';	/* unfolded */
		if (quoted) {
			put(e, c);
			if (c == '\\' && i + 1 < len)
				put(e, s[++i]);
			else if (c == '"')
				quoted = 0;
		} else if (literal) {
			put(e, c);	/* [IPv6:...] holds colons */
			if (c == ']')
				literal = 0;
		} else if (comment > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				comment++;
			else if (c == ')')
				comment--;
		} else if (c == '(') {
			comment = 1;
		} else if (c == '"') {
			quoted = 1;
			put(e, c);
		} else if (c == '[') {
			literal = 1;
			put(e, c);
		} else if (c == '<' && !e->in_angle) {
			/* what came before was a display name */
			e->in_angle = e->saw_angle = 1;
			e->nangle = 0;
		} else if (c == '>' && e->in_angle) {
			e->in_angle = 0;
		} else if (!e->in_angle && (c == ',' || c == ';')) {
			r = emit(e, fn, ctx);
		} else if (!e->in_angle && c == ':') {
			e->ntext = 0;	/* a group's name */
		} else {
			put(e, c);
		}
	}
	if (r == 0)
		r = emit(e, fn, ctx);
	free(e);
	return r;
}
