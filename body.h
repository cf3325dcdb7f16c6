/*
 * body.h - the byte-level state machine that turns what a client sends
 * after DATA (or in BDAT chunks) into message lines: line ends, bare CR
 * and bare LF, dot-unstuffing and the end-of-data marker.
 */
#ifndef POSTERN_BODY_H
#define POSTERN_BODY_H

#include <stddef.h>

typedef void (*body_out_fn)(void *ctx, const char *p, size_t n);

struct body {
	int state;
	int dot_stuffed;	/* DATA: dots and the end marker apply */
	int lf_is_line_end;	/* a pipe: bare LF is an ordinary line end */
	int bare_lf;		/* seen a bare LF (socket only) */
	int bare_cr;		/* seen a bare CR */
	int at_line_start;	/* last byte emitted was a line end, or none */
	body_out_fn out;
	void *ctx;
};

void body_begin(struct body *b, int dot_stuffed, int lf_is_line_end,
    body_out_fn out, void *ctx);
size_t body_feed(struct body *b, const char *p, size_t n, int *ended);
void body_end_chunks(struct body *b);

#endif
