/*
 * wire.c - stored message to POP3 transfer form, one pass, bounded
 * memory: out needs twice the input (an LF becomes CRLF, a leading '.'
 * becomes "..").  A CR already before an LF is kept as is, so a message
 * stored with CRLF is not doubled.
 */
#include "wire.h"

#include <string.h>
#include <unistd.h>

void
wire_init(struct wire *w, unsigned long long body_lines)
{
	w->line_start = 1;
	w->after_cr = 0;
	w->line_empty = 1;
	w->in_body = 0;
	w->done = 0;
	w->body_lines = body_lines;
}

/* A line ended: counts body lines for TOP, finds the header's end. */
static void
end_line(struct wire *w)
{
	if (w->in_body) {
		if (w->body_lines != WIRE_ALL_LINES && --w->body_lines == 0)
			w->done = 1;
	} else if (w->line_empty) {
		w->in_body = 1;
		if (w->body_lines == 0)
			w->done = 1;
	}
	w->line_start = 1;
	w->line_empty = 1;
}

/* Whether a line so far made only of CRs stays so with these bytes. */
static int
only_crs(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\r')
			return 0;
	return 1;
}

/* Encodes up to n bytes of in; out must hold 2 * n.  Works a line
 * piece at a time (memchr, memcpy): the bytes between line ends pass
 * unchanged.  Stops early when TOP has its lines; *consumed says how
 * far it read. */
size_t
wire_encode(struct wire *w, const char *in, size_t n, char *out,
    size_t *consumed)
{
	size_t i = 0, o = 0;

	while (i < n && !w->done) {
		const char *nl = memchr(in + i, '\n', n - i);
		size_t end = nl != NULL ? (size_t)(nl - in) : n;

		if (end > i) {
			if (w->line_start && in[i] == '.')
				out[o++] = '.';
			memcpy(out + o, in + i, end - i);
			o += end - i;
			if (w->line_empty)
				w->line_empty = only_crs(in + i, end - i);
			w->line_start = 0;
			w->after_cr = in[end - 1] == '\r';
		}
		i = end;
		if (nl == NULL)
			break;
		if (!w->after_cr)
			out[o++] = '\r';
		out[o++] = '\n';
		w->after_cr = 0;
		end_line(w);
		i++;
	}
	*consumed = i;
	return o;
}

/* The end of the message: a last line without its LF gets CRLF.  out
 * must hold 2 bytes. */
size_t
wire_finish(struct wire *w, char *out)
{
	size_t o = 0;

	if (w->done || w->line_start)
		return 0;
	if (!w->after_cr)
		out[o++] = '\r';
	out[o++] = '\n';
	return o;
}

/* The octets the whole message takes on the wire; -1 on a read error. */
int
wire_size(int fd, unsigned long long *size)
{
	char in[16384], out[2 * sizeof in];
	struct wire w;
	ssize_t n;
	off_t off = 0;
	size_t used;

	wire_init(&w, WIRE_ALL_LINES);
	*size = 0;
	while ((n = pread(fd, in, sizeof in, off)) > 0) {
		*size += wire_encode(&w, in, (size_t)n, out, &used);
		off += n;
	}
	*size += wire_finish(&w, out);
	return n < 0 ? -1 : 0;
}
