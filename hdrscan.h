/*
 * hdrscan.h - splits a message into its header fields and its body as
 * it streams past (LF line ends), remembering where each field lies, so
 * that content filters can be told the fields one by one and their
 * changes applied by position.  Memory is one field's worth.
 */
#ifndef POSTERN_HDRSCAN_H
#define POSTERN_HDRSCAN_H

#include <stddef.h>

/* Octets of one field kept for the callback; a longer field is cut. */
#define HDRSCAN_FIELD_MAX 65000

struct hdrscan_ops {
	/* A whole field, "Name: value\n" with its continuation lines, cut
	 * to HDRSCAN_FIELD_MAX; off and len give all of it in the stream. */
	void (*field)(void *ctx, const char *text, size_t n, long long off,
	    long long len);
	/* The header section ends at off: an empty line starts there (the
	 * body follows it), or the stream ends there, or a line that is no
	 * header field starts there (it is the body's first line). */
	void (*end_of_header)(void *ctx, long long off, int empty_line);
	void (*body)(void *ctx, const char *p, size_t n);
	void *ctx;
};

struct hdrscan {
	struct hdrscan_ops ops;
	long long off;		/* octets seen */
	int in_body;
	int at_line_start;
	int name_done;		/* the field's name ended with ':' */
	long long field_off;	/* where the pending field starts */
	long long field_len;
	char text[HDRSCAN_FIELD_MAX];
	size_t len;		/* octets of the pending field in text */
};

void hdrscan_init(struct hdrscan *h, const struct hdrscan_ops *ops);
void hdrscan_feed(struct hdrscan *h, const char *p, size_t n);
void hdrscan_end(struct hdrscan *h);

#endif
