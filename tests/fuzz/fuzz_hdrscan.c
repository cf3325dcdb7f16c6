/*
 * libFuzzer target: a message as a client sends it, split into header
 * fields and body by hdrscan.c, fed in pieces of any size.  The fields
 * must follow one another from the first octet, the header end must
 * come once, right after the last field (or its empty line), and every
 * octet must be a field's or the body's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../hdrscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	long long next;		/* where the next field must start */
	long long eoh;
	int eoh_count, empty_line;
	long long body;
};

static void
field(void *ctx, const char *text, size_t n, long long off, long long len)
{
	struct seen *s = ctx;

	if (off != s->next || len <= 0 || (long long)n > len ||
	    n > HDRSCAN_FIELD_MAX || s->eoh_count > 0 || memchr(text, ':', n) ==
	    NULL)
		abort();
	s->next = off + len;
}

static void
end_of_header(void *ctx, long long off, int empty_line)
{
	struct seen *s = ctx;

	if (off != s->next || s->eoh_count++ > 0)
		abort();
	s->eoh = off;
	s->empty_line = empty_line;
}

static void
body(void *ctx, const char *p, size_t n)
{
	struct seen *s = ctx;

	(void)p;
	if (s->eoh_count != 1)
		abort();
	s->body += (long long)n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0 };
	const struct hdrscan_ops ops = { field, end_of_header, body, &s };
	static struct hdrscan h;
	size_t step = size > 0 ? data[0] % 7 + 1 : 1;

	hdrscan_init(&h, &ops);
	for (size_t off = 0; off < size; off += step)
		hdrscan_feed(&h, (const char *)data + off,
		    size - off < step ? size - off : step);
	hdrscan_end(&h);
	if (s.eoh_count != 1 ||
	    s.eoh + s.empty_line + s.body != (long long)size)
		abort();
	return 0;
}
