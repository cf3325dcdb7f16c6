/*
 * body.c - message text as it arrives, one byte at a time.
 *
 * Output lines end in LF alone.  Over a socket the only end of data is
 * the five bytes CR LF . CR LF (the SMTP smuggling defence): a bare LF is
 * still a line end, so the message keeps its shape, but it never starts
 * or ends an end-of-data marker.  Over a pipe a lone LF is the normal
 * line end, so LF . LF ends the data.  A bare CR (one not followed by LF)
 * becomes a space, so no stray CR is ever stored.  The caller decides
 * from bare_lf and bare_cr whether the message is refused.
 */
#include "body.h"

enum {
	ST_LINE_START,		/* after a line end that may start an end marker */
	ST_LINE_START_LF,	/* after a bare LF: no end marker can start here */
	ST_DOT,			/* a dot at an eligible line start */
	ST_DOT_CR,		/* ".\r" at an eligible line start */
	ST_DOT_AFTER_LF,	/* a dot after a bare LF: stuffing, never an end */
	ST_TEXT,		/* inside a line */
	ST_CR			/* a CR inside a line or at a line start */
};

void
body_begin(struct body *b, int dot_stuffed, int lf_is_line_end,
    body_out_fn out, void *ctx)
{
	b->state = ST_LINE_START;
	b->dot_stuffed = dot_stuffed;
	b->lf_is_line_end = lf_is_line_end;
	b->bare_lf = 0;
	b->bare_cr = 0;
	b->at_line_start = 1;
	b->out = out;
	b->ctx = ctx;
}

static void
emit(struct body *b, const char *p, size_t n)
{
	if (n == 0)
		return;
	b->out(b->ctx, p, n);
	b->at_line_start = p[n - 1] == '\n';
}

/* A line end made of a lone LF. */
static void
bare_line_end(struct body *b)
{
	emit(b, "\n", 1);
	if (b->lf_is_line_end) {
		b->state = ST_LINE_START;
	} else {
		b->bare_lf = 1;
		b->state = ST_LINE_START_LF;
	}
}

static void
bare_cr(struct body *b)
{
	b->bare_cr = 1;
	emit(b, " ", 1);
}

/* Emits the run of ordinary text at p; returns its length. */
static size_t
text_run(struct body *b, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '\r' && p[i] != '\n')
		i++;
	emit(b, p, i);
	return i;
}

/*
 * Consumes bytes from p.  Returns how many were consumed; when the end
 * of data is found (DATA only) sets *ended and stops right after it, so
 * the caller can read pipelined commands from what is left.
 */
size_t
body_feed(struct body *b, const char *p, size_t n, int *ended)
{
	size_t i = 0;

	*ended = 0;
	while (i < n) {
		char c = p[i];

		switch (b->state) {
		case ST_LINE_START:
			if (c == '.' && b->dot_stuffed) {
				b->state = ST_DOT;
				i++;
				continue;
			}
			/* FALLTHROUGH */
		case ST_LINE_START_LF:
			if (c == '.' && b->dot_stuffed &&
			    b->state == ST_LINE_START_LF) {
				b->state = ST_DOT_AFTER_LF;
				i++;
				continue;
			}
			/* FALLTHROUGH */
		case ST_TEXT:
			if (c == '\r') {
				b->state = ST_CR;
				i++;
			} else if (c == '\n') {
				bare_line_end(b);
				i++;
			} else {
				i += text_run(b, p + i, n - i);
				b->state = ST_TEXT;
			}
			break;
		case ST_DOT:
			if (c == '\r') {
				b->state = ST_DOT_CR;
				i++;
			} else if (c == '\n' && b->lf_is_line_end) {
				*ended = 1;
				return i + 1;
			} else if (c == '\n') {
				/* ".\n" on a socket: a line holding a dot. */
				emit(b, ".", 1);
				bare_line_end(b);
				i++;
			} else {
				/* A stuffed dot: drop it, keep the rest. */
				b->state = ST_TEXT;
			}
			break;
		case ST_DOT_AFTER_LF:
			/* Unstuffed like any dot, but a lone dot stays. */
			if (c == '\r' || c == '\n')
				emit(b, ".", 1);
			b->state = ST_TEXT;
			break;
		case ST_DOT_CR:
			if (c == '\n') {
				*ended = 1;
				return i + 1;
			}
			/* ".\r" then more: the dot was stuffing, the CR bare. */
			bare_cr(b);
			b->state = ST_CR;
			if (c == '\r')
				i++;
			else
				b->state = ST_TEXT;
			break;
		case ST_CR:
			if (c == '\n') {
				emit(b, "\n", 1);
				b->state = ST_LINE_START;
				i++;
			} else {
				bare_cr(b);
				if (c == '\r')
					i++;
				else
					b->state = ST_TEXT;
			}
			break;
		}
	}
	return i;
}

/*
 * BDAT ... LAST: a CR left pending at the end is bare, and a last line
 * without a line end gets one.
 */
void
body_end_chunks(struct body *b)
{
	if (b->state == ST_CR)
		bare_cr(b);
	if (!b->at_line_start)
		emit(b, "\n", 1);
}
