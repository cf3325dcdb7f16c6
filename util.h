/*
 * util.h - small helpers shared by every postern program: bounded string
 * copies, case folding, number parsing, a growable byte buffer, and
 * read/write loops that retry on EINTR, unbiased random numbers.
 */
#ifndef POSTERN_UTIL_H
#define POSTERN_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))

/* A growable byte buffer; grows only up to its own limit. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
};

void buf_init(struct buf *b, size_t limit);
int buf_append(struct buf *b, const void *p, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

size_t str_copy(char *dst, const char *src, size_t dstsize);
void str_lower(char *s);
char *str_trim(char *s);
int str_casecmp_n(const char *a, const char *b, size_t n);
int parse_ulong(const char *s, unsigned long long max, unsigned long long *out);

size_t utf8_sequence(const unsigned char *s, unsigned long *cp);
int write_all(int fd, const void *p, size_t n);
int mkdir_durable(int dirfd, const char *path, mode_t mode);
ssize_t read_retry(int fd, void *p, size_t n);

size_t random_below(size_t n);
long long monotonic_ms(void);
#ifndef POSTERN_VERSION
#define POSTERN_VERSION "unknown"	/* built without the Makefile */
#endif

/* Where make install puts the programs no one types (make LIBEXECDIR=). */
#ifndef LIBEXEC_DEFAULT_DIR
#define LIBEXEC_DEFAULT_DIR "/usr/local/libexec/postern"
#endif
int sibling_program(const char *name, char *path, size_t size);
void version_option(int argc, char **argv, const char *program);

void format_date(char *out, size_t outsize);
size_t format_clamped(char *out, size_t outsize, const char *fmt, va_list ap)
    PRINTF_LIKE(3, 0);

#endif
