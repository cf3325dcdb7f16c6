/*
 * wire.h - a stored message (LF line ends, as deliver writes it) in the
 * form POP3 sends it: CRLF line ends, a '.' that begins a line doubled
 * (RFC 1939 byte-stuffing), the last line ended.  Sizes in LIST and STAT
 * are counted by the same code that sends, so they are the octets RETR
 * sends between its "+OK" line and the terminating ".".
 */
#ifndef POSTERN_WIRE_H
#define POSTERN_WIRE_H

#include <stddef.h>

#define WIRE_ALL_LINES (~0ULL)

struct wire {
	int line_start;		/* the next byte begins a line */
	int after_cr;		/* the last byte was a CR */
	int line_empty;		/* the current line has no text yet */
	int in_body;		/* past the empty line after the header */
	int done;		/* TOP: the last wanted line is out */
	unsigned long long body_lines;	/* still to send (TOP) */
};

void wire_init(struct wire *w, unsigned long long body_lines);
size_t wire_encode(struct wire *w, const char *in, size_t n, char *out,
    size_t *consumed);
size_t wire_finish(struct wire *w, char *out);
int wire_size(int fd, unsigned long long *size);

#endif
