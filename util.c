/*
 * util.c - helpers shared by every program.  Nothing here allocates
 * without a bound or reads without a length.
 */
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
buf_init(struct buf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

/* Returns -1 (errno ENOMEM or E2BIG) and leaves b unchanged on failure. */
int
buf_append(struct buf *b, const void *p, size_t n)
{
	size_t want, newcap;
	char *nd;

	if (n > b->limit || b->len > b->limit - n) {
		errno = E2BIG;
		return -1;
	}
	want = b->len + n;
	if (want > b->cap) {
		newcap = b->cap ? b->cap : 256;
		while (newcap < want)
			newcap = newcap > b->limit / 2 ? b->limit : newcap * 2;
		nd = realloc(b->data, newcap);
		if (nd == NULL)
			return -1;
		b->data = nd;
		b->cap = newcap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b, b->limit);
}

/* strlcpy semantics: always terminates, returns strlen(src). */
size_t
str_copy(char *dst, const char *src, size_t dstsize)
{
	size_t n = strlen(src);

	if (dstsize > 0) {
		size_t c = n < dstsize - 1 ? n : dstsize - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

/* Strips leading and trailing white space in place. */
char *
str_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

void
str_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* ASCII-only case-insensitive compare, so the locale never matters. */
int
str_casecmp_n(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
		if (ca != cb || ca == 0)
			return ca - cb;
	}
	return 0;
}

/* Decimal digits only, no sign, no blanks; refuses values over max. */
int
parse_ulong(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		unsigned d;
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* The length of the well-formed UTF-8 sequence at s, 0 if none; *cp its value. */
size_t
utf8_sequence(const unsigned char *s, unsigned long *cp)
{
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, *cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, *cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, *cp = s[0] & 0x07;
	else
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		*cp = *cp << 6 | (s[k] & 0x3f);
	}
	if ((len == 3 && (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff))) ||
	    (len == 4 && (*cp < 0x10000 || *cp > 0x10ffff)))
		return 0;
	return len;
}

/* Milliseconds on the monotonic clock: for deadlines, which a change of
 * the wall clock must not move. */
long long
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* dir/name in path: 1 when it is an executable, 0 when not, -1 too long. */
static int
executable_at(const char *dir, const char *name, char *path, size_t size)
{
	if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size)
		return -1;
	return access(path, X_OK) == 0;
}

/*
 * The path of another postern program, for one that runs it
 * (postern-sendmail runs enqueue, postern-queue runs deliver).  Installed,
 * the commands are in sbin/ and the others in libexec/postern/, found
 * from this program's own place first, so that DESTDIR and PREFIX need
 * no rebuild and a copy an older version left in sbin/ is not used; in
 * the build tree they are side by side; last, the LIBEXECDIR built in.
 * 0, or -1 when /proc cannot say where this program is, or a path would
 * not fit.  A program found nowhere is named in the build-tree place, so
 * that running it fails with a path the administrator can read.
 */
int
sibling_program(const char *name, char *path, size_t size)
{
	char self[4096], libexec[4200];
	const char *places[3];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;
	int i, r;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	snprintf(libexec, sizeof libexec, "%s/../libexec/postern", self);
	places[0] = libexec;
	places[1] = self;
	places[2] = LIBEXEC_DEFAULT_DIR;
	for (i = 0; i < 3; i++) {
		r = executable_at(places[i], name, path, size);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	return executable_at(self, name, path, size) < 0 ? -1 : 0;
}

/*
 * mkdirat, made durable: a directory just made is reachable after a
 * crash only once its parent is synced, and mail put in it (a queue
 * subdirectory, a new Maildir) would be lost with it.  0 when the
 * directory exists, made now or before; -1 on an error.
 */
int
mkdir_durable(int dirfd, const char *path, mode_t mode)
{
	char parent[4096];
	const char *slash = strrchr(path, '/');
	int pfd, r;

	if (mkdirat(dirfd, path, mode) < 0)
		return errno == EEXIST ? 0 : -1;
	if (slash == NULL)
		str_copy(parent, ".", sizeof parent);
	else if (slash == path)
		str_copy(parent, "/", sizeof parent);
	else if ((size_t)(slash - path) < sizeof parent)
		str_copy(parent, path, (size_t)(slash - path) + 1);
	else
		return -1;
	pfd = openat(dirfd, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return -1;
	r = fsync(pfd);
	close(pfd);
	return r;
}

int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
read_retry(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* RFC 5322 date in local time; strftime's names are the C locale's. */
void
format_date(char *out, size_t outsize)
{
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(out, outsize, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		str_copy(out, "Thu, 01 Jan 1970 00:00:00 +0000", outsize);
}

/* vsnprintf that returns the length actually in out: cut, never more. */
size_t
format_clamped(char *out, size_t outsize, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, outsize, fmt, ap);

	if (n < 0 || outsize == 0)
		return 0;
	return (size_t)n < outsize ? (size_t)n : outsize - 1;
}

/*
 * A uniformly random number in [0, n), from the kernel's generator;
 * rejection removes the modulo bias.  Where getrandom fails (very old
 * kernels), the clock and the process ID are random enough for what
 * this is used for: spreading load over equal mail hosts.
 */
size_t
random_below(size_t n)
{
	uint32_t limit, v;

	if (n <= 1)
		return 0;
	limit = UINT32_MAX - (uint32_t)((UINT32_MAX % n + 1) % n);
	do {
		if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			v = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() * 2654435761u;
			break;
		}
	} while (v > limit);
	return v % n;
}


/*
 * -V or --version anywhere among the arguments: prints "PROGRAM (postern)
 * VERSION" and exits 0, before anything else is looked at.
 */
void
version_option(int argc, char **argv, const char *program)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-V") == 0 ||
		    strcmp(argv[i], "--version") == 0) {
			printf("%s (postern) %s\n", program, POSTERN_VERSION);
			exit(0);
		}
}
