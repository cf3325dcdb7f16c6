/*
 * qentry.c - reading queue entries (queue(5)): the trailer, the
 * checksum, and the message, whether it is one run of octets (PQE1, and
 * the two-file form before 0.5) or the pieces a PQE2 entry's map lists.
 *
 * Every entry is outside input here: a damaged disk, or anyone who
 * could write into the queue, may have made it.  Lengths and offsets
 * are checked against the file's size before anything is read with
 * them, and a map may list at most QMAP_MAX pieces.
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32.h"

/* The n (at most 16) lower-case hex digits at t; -1 if they are not. */
static long long
hex_field(const char *t, int n)
{
	unsigned long long v = 0;

	for (int i = 0; i < n; i++) {
		const char *d = strchr("0123456789abcdef", t[i]);

		if (t[i] == '\0' || d == NULL)
			return -1;
		v = v << 4 | (unsigned long long)(d - "0123456789abcdef");
	}
	return v > (unsigned long long)LLONG_MAX ? -1 : (long long)v;
}

/*
 * The pieces of a PQE2 entry's map, each inside the octets before the
 * map: 0, and *out (malloc'd, or NULL when out is NULL) and *total;
 * 1 when the map is not one; -1 on a read error.
 */
static int
read_map(int fd, const struct qentry *e, struct qextent **out, size_t *nout,
    long long *total)
{
	long long maplen = e->envoff - e->mapoff, sum = 0;
	size_t n = (size_t)(maplen / QMAP_RECORD);
	struct qextent *map = NULL;
	char *text;
	int r = 0;

	if (maplen <= 0 || maplen % QMAP_RECORD != 0 || n > QMAP_MAX)
		return 1;
	if ((text = malloc((size_t)maplen)) == NULL)
		return -1;
	if (pread(fd, text, (size_t)maplen, e->mapoff) != maplen ||
	    (out != NULL && (map = calloc(n, sizeof *map)) == NULL))
		r = -1;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *rec = text + i * QMAP_RECORD;
		long long off = hex_field(rec, 16), len = hex_field(rec + 17, 16);

		if (rec[16] != ' ' || rec[QMAP_RECORD - 1] != '\n' || off < 0 ||
		    len < 0 || off > e->mapoff || len > e->mapoff - off)
			r = 1;
		else {
			sum += len;	/* n * mapoff at most: no overflow */
			if (map != NULL)
				map[i] = (struct qextent){ off, len };
		}
	}
	free(text);
	if (r != 0) {
		free(map);
		return r;
	}
	if (out != NULL) {
		*out = map;
		*nout = n;
	}
	*total = sum;
	return 0;
}

/*
 * Whether fd is a one-file entry (message, envelope, trailer) whose
 * trailer accounts for every octet: 0, and *e filled; 1 when it is not
 * (a file cut short, or an old-format file); -1 on a read error.  The
 * checksum is only read here; qentry_verify checks it.
 */
int
qentry_parse(int fd, struct qentry *e)
{
	char t[QENTRY_TRAILER_SIZE + 1];
	struct stat st;
	long long a, n, c, body;

	memset(e, 0, sizeof *e);
	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size < QENTRY_TRAILER_SIZE)
		return 1;
	body = st.st_size - QENTRY_TRAILER_SIZE;
	if (pread(fd, t, QENTRY_TRAILER_SIZE, body) != QENTRY_TRAILER_SIZE)
		return -1;
	t[QENTRY_TRAILER_SIZE] = '\0';
	if ((memcmp(t, "PQE1 ", 5) != 0 && memcmp(t, "PQE2 ", 5) != 0) ||
	    t[21] != ' ' || t[38] != ' ' || t[QENTRY_TRAILER_SIZE - 1] != '\n')
		return 1;
	a = hex_field(t + 5, 16);
	n = hex_field(t + 22, 16);
	c = hex_field(t + 39, 8);
	if (a < 0 || n < 3 || c < 0 || a > body || n > body - a)
		return 1;
	e->version = t[3] - '0';
	e->envlen = n;
	e->envoff = body - n;
	e->crc = (uint32_t)c;
	e->mapoff = a;
	if (e->version == 1) {
		e->msglen = a;
		return a == e->envoff ? 0 : 1;
	}
	return read_map(fd, e, NULL, NULL, &e->msglen);
}

/*
 * Whether a parsed entry still has the checksum it was written with:
 * 0 yes, 1 no (a file torn by a crash, whose blocks did not all reach
 * the disk), -1 on a read error.
 */
int
qentry_verify(int fd, const struct qentry *e)
{
	char buf[65536];
	long long off = 0, end = e->envoff + e->envlen;
	uint32_t crc = 0;

	while (off < end) {
		size_t want = end - off < (long long)sizeof buf ?
		    (size_t)(end - off) : sizeof buf;
		ssize_t n = pread(fd, buf, want, off);

		if (n <= 0)
			return -1;
		crc = crc32_update(crc, buf, (size_t)n);
		off += n;
	}
	return crc == e->crc ? 0 : 1;
}

/*
 * The message of the entry or old-format message file open on fd, which
 * it takes over (closed on failure): a one-file entry's message, or the
 * file whole.
 */
int
qmessage_from_fd(int fd, struct qmessage *m)
{
	struct stat st;
	struct qentry e;
	int r;

	m->fd = fd;
	m->map = NULL;
	m->nmap = 0;
	r = qentry_parse(fd, &e);
	if (r == 0 && e.version == 2)
		r = read_map(fd, &e, &m->map, &m->nmap, &m->len);
	else if (r == 0)
		m->len = e.msglen;
	else if (r == 1 && fstat(fd, &st) == 0) {
		m->len = st.st_size;
		r = 0;
	}
	if (r != 0) {
		qmessage_close(m);
		return -1;
	}
	return 0;
}

/* Opens the message of entry id in dirfd (mess/, or todo/). */
int
qmessage_open(int dirfd, const char *id, struct qmessage *m)
{
	int fd = openat(dirfd, id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		m->fd = -1;
		m->map = NULL;
		m->nmap = 0;
		return -1;
	}
	return qmessage_from_fd(fd, m);
}

/*
 * pread within the message: never into the envelope that follows it.
 * With a map, one call reads from one piece at most.
 */
ssize_t
qmessage_read(const struct qmessage *m, void *buf, size_t n, long long off)
{
	if (off < 0 || off >= m->len)
		return 0;
	if ((long long)n > m->len - off)
		n = (size_t)(m->len - off);
	if (m->map == NULL)
		return pread(m->fd, buf, n, off);
	for (size_t i = 0; i < m->nmap; i++) {
		const struct qextent *x = &m->map[i];

		if (off < x->len) {
			if ((long long)n > x->len - off)
				n = (size_t)(x->len - off);
			return pread(m->fd, buf, n, x->off + off);
		}
		off -= x->len;
	}
	errno = EIO;	/* the pieces add up to m->len: not reached */
	return -1;
}

void
qmessage_close(struct qmessage *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	free(m->map);
	m->map = NULL;
	m->nmap = 0;
}
