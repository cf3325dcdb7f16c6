/*
 * hdrscan.c - a message's header fields and body, as it streams past.
 *
 * A field is a line that starts with a name (printable octets, no
 * colon) and a colon, with the lines after it that start with a space
 * or a tab.  The header section ends at the first empty line, or, as in
 * Postfix, at the first line that cannot start a field: that line is
 * the body's first.  A name longer than NAME_MAX makes the line no
 * field, so that what must go to the body is never more than one name.
 */
#include "hdrscan.h"

#include <string.h>

#define NAME_MAX_OCTETS 1000

void
hdrscan_init(struct hdrscan *h, const struct hdrscan_ops *ops)
{
	memset(h, 0, sizeof *h);
	h->ops = *ops;
	h->at_line_start = 1;
}

static void
flush_field(struct hdrscan *h)
{
	if (h->field_len > 0)
		h->ops.field(h->ops.ctx, h->text, h->len, h->field_off,
		    h->field_len);
	h->field_len = 0;
	h->len = 0;
}

/*
 * The header section is over at off (where an empty line is, when
 * empty_line); the body starts with what is kept of the current line.
 */
static void
end_header(struct hdrscan *h, long long off, int empty_line)
{
	h->in_body = 1;
	h->ops.end_of_header(h->ops.ctx, off, empty_line);
	if (h->len > 0)
		h->ops.body(h->ops.ctx, h->text, h->len);
	h->len = 0;
	h->field_len = 0;
}

static void
keep(struct hdrscan *h, char c)
{
	if (h->len < sizeof h->text)
		h->text[h->len++] = c;
	h->field_len++;
}

static int
name_octet(unsigned char c)
{
	return c > 32 && c < 127 && c != ':';
}

/* One octet of the header section; 1 when the body starts after it. */
static int
header_octet(struct hdrscan *h, char c)
{
	if (h->at_line_start) {
		h->at_line_start = 0;
		if (c == '\n') {	/* the empty line */
			flush_field(h);
			end_header(h, h->off, 1);
			return 1;
		}
		if ((c == ' ' || c == '\t') && h->field_len > 0) {
			keep(h, c);	/* a continuation line */
			return 0;
		}
		flush_field(h);
		h->field_off = h->off;
		h->name_done = 0;
		if (c == ' ' || c == '\t') {	/* continues nothing */
			end_header(h, h->off, 0);
			h->ops.body(h->ops.ctx, &c, 1);
			return 1;
		}
	}
	if (!h->name_done) {
		if (c == ':' && h->len > 0)
			h->name_done = 1;
		else if (!name_octet((unsigned char)c) ||
		    h->len >= NAME_MAX_OCTETS) {
			keep(h, c);
			end_header(h, h->field_off, 0);
			return 1;
		}
	}
	keep(h, c);
	if (c == '\n')
		h->at_line_start = 1;
	return 0;
}

void
hdrscan_feed(struct hdrscan *h, const char *p, size_t n)
{
	size_t i = 0;

	while (!h->in_body && i < n) {
		int body = header_octet(h, p[i]);
		h->off++;
		i++;
		if (body)
			break;
	}
	if (h->in_body && i < n) {
		h->ops.body(h->ops.ctx, p + i, n - i);
		h->off += (long long)(n - i);
	}
}

/* The stream is over: a field left pending is whole; so is the header. */
void
hdrscan_end(struct hdrscan *h)
{
	if (h->in_body)
		return;
	if (h->field_len > 0 && !h->name_done) {
		end_header(h, h->field_off, 0);
		return;
	}
	flush_field(h);
	end_header(h, h->off, 0);
}
