/*
 * dnsq.c - the DNS lists' stub resolver (RFC 1035): A and TXT questions
 * over UDP, all of a session's in flight at once, each on a socket of its
 * own connect()ed to the nameserver (so the kernel drops datagrams from
 * anyone else), with a random ID and the question checked in the answer.
 * A question unanswered for a second goes to the next nameserver; one
 * unanswered at its deadline is FAILED, and the caller skips that list.
 * No EDNS: the answers are small, and a truncated one counts as failed.
 */
#include "dnsq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define RETRY_MS 1000
#define HEADER 12
#define ANSWER_MAX 4096

/* The nameserver lines of resolv.conf; 127.0.0.1 without any, as glibc. */
static void
read_servers(struct dnsq *d, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512], addr[128];

	while (f != NULL && d->nservers < DNSQ_SERVERS &&
	    fgets(line, sizeof line, f) != NULL) {
		size_t i = d->nservers;

		if (sscanf(line, "nameserver %127s", addr) != 1)
			continue;
		if (inet_pton(AF_INET, addr, d->servers[i]) == 1)
			d->server_family[i] = AF_INET;
		else if (inet_pton(AF_INET6, addr, d->servers[i]) == 1)
			d->server_family[i] = AF_INET6;
		else
			continue;
		d->nservers++;
	}
	if (f != NULL)
		fclose(f);
	if (d->nservers == 0) {
		inet_pton(AF_INET, "127.0.0.1", d->servers[0]);
		d->server_family[0] = AF_INET;
		d->nservers = 1;
	}
}

void
dnsq_init(struct dnsq *d, const char *resolv_conf, unsigned timeout_s)
{
	memset(d, 0, sizeof *d);
	read_servers(d, resolv_conf);
	d->timeout_ms = timeout_s * 1000LL;
}

/* The question in wire form after a header; 0 when the name cannot be. */
size_t
dnsq_build(unsigned char *p, size_t size, unsigned short id, const char *name,
    enum dnsq_type type)
{
	size_t n = HEADER, namelen = strlen(name);
	const char *label = name;

	if (namelen == 0 || namelen > 253 || size < HEADER + namelen + 6)
		return 0;
	memset(p, 0, HEADER);
	p[0] = (unsigned char)(id >> 8);
	p[1] = (unsigned char)id;
	p[2] = 0x01;		/* RD: the nameserver is a recursive resolver */
	p[5] = 1;		/* one question */
	while (*label != '\0') {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		if (len == 0 || len > 63)
			return 0;
		p[n++] = (unsigned char)len;
		memcpy(p + n, label, len);
		n += len;
		label += len + (dot != NULL);
	}
	p[n++] = 0;
	p[n++] = 0;
	p[n++] = (unsigned char)type;
	p[n++] = 0;
	p[n++] = 1;		/* class IN */
	return n;
}

/*
 * Reads the name at *off into out (dotted, lower case), following
 * compression pointers a bounded number of times; *off moves past it.
 * -1 when it is malformed or runs out of the message.
 */
static int
read_name(const unsigned char *p, size_t n, size_t *off, char *out,
    size_t outsize)
{
	size_t pos = *off, len = 0;
	int jumps = 0, jumped = 0;

	for (;;) {
		unsigned c;

		if (pos >= n)
			return -1;
		c = p[pos];
		if (c == 0) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= n || ++jumps > 32)
				return -1;
			if (!jumped)
				*off = pos + 2;
			jumped = 1;
			pos = ((c & 0x3f) << 8) | p[pos + 1];
			continue;
		}
		if ((c & 0xc0) != 0 || pos + 1 + c > n ||
		    len + c + 2 > outsize)
			return -1;
		if (len > 0)
			out[len++] = '.';
		for (unsigned i = 0; i < c; i++) {
			unsigned char ch = p[pos + 1 + i];
			out[len++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		}
		pos += 1 + c;
	}
	out[len] = '\0';
	return 0;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* A TXT record's strings, joined, printable ASCII only, cut to fit. */
static void
take_txt(const unsigned char *rd, size_t rdlen, char *out, size_t size)
{
	size_t i = 0, len = 0;

	while (i < rdlen) {
		size_t slen = rd[i++];

		for (size_t j = 0; j < slen && i + j < rdlen; j++)
			if (len + 1 < size)
				out[len++] = rd[i + j] >= 0x20 && rd[i + j] < 0x7f ?
				    (char)rd[i + j] : '?';
		i += slen;
	}
	out[len] = '\0';
}

/* One answer record at *off: A addresses or the first TXT kept. */
static int
read_record(const unsigned char *p, size_t n, size_t *off,
    const struct dnsq_question *q, struct dnsq_answer *a)
{
	char owner[256];
	unsigned type, rdlen;

	if (read_name(p, n, off, owner, sizeof owner) < 0 || *off + 10 > n)
		return -1;
	type = get16(p + *off);
	rdlen = get16(p + *off + 8);
	*off += 10;
	if (*off + rdlen > n)
		return -1;
	/* records of another type (a CNAME on the way) are passed over */
	if (type != q->type) {
		*off += rdlen;
		return 0;
	}
	if (type == DNSQ_A && rdlen == 4 && a->naddrs < DNSQ_ADDRS) {
		memcpy(a->addrs[a->naddrs++], p + *off, 4);
		a->status = DNSQ_FOUND;
	} else if (type == DNSQ_AAAA && rdlen == 16 &&
	    a->naddrs6 < DNSQ_ADDRS) {
		memcpy(a->addrs6[a->naddrs6++], p + *off, 16);
		a->status = DNSQ_FOUND;
	} else if (type == DNSQ_TXT && a->status != DNSQ_FOUND) {
		take_txt(p + *off, rdlen, a->txt, sizeof a->txt);
		a->status = DNSQ_FOUND;
	} else if (type == DNSQ_PTR && a->status != DNSQ_FOUND) {
		size_t at = *off;

		if (read_name(p, *off + rdlen, &at, a->name, sizeof a->name) < 0)
			return -1;
		a->status = DNSQ_FOUND;
	} else if (type == DNSQ_MX) {
		a->status = DNSQ_FOUND;
	}
	*off += rdlen;
	return 0;
}

/*
 * A response to question q: 0 with a->status set, or -1 when it is not
 * the answer to q (another ID, not a response, another question), which
 * the caller ignores as it would a forgery.
 */
int
dnsq_parse(const unsigned char *p, size_t n, const struct dnsq_question *q,
    struct dnsq_answer *a)
{
	char qname[256];
	size_t off = HEADER;
	unsigned ancount, rcode;

	memset(a, 0, sizeof *a);
	if (n < HEADER || get16(p) != q->id || !(p[2] & 0x80) ||
	    get16(p + 4) != 1)
		return -1;
	if (read_name(p, n, &off, qname, sizeof qname) < 0 || off + 4 > n ||
	    strcasecmp(qname, q->name) != 0 || get16(p + off) != q->type ||
	    get16(p + off + 2) != 1)
		return -1;
	off += 4;
	rcode = p[3] & 0x0f;
	if (rcode == 3) {
		a->status = DNSQ_NONE;
		return 0;
	}
	if (rcode != 0 || (p[2] & 0x02)) {	/* an error, or truncated */
		a->status = DNSQ_FAILED;
		return 0;
	}
	a->status = DNSQ_NONE;
	ancount = get16(p + 6);
	for (unsigned i = 0; i < ancount; i++)
		if (read_record(p, n, &off, q, a) < 0) {
			memset(a, 0, sizeof *a);
			a->status = DNSQ_FAILED;
			return 0;
		}
	return 0;
}

/* Sends q to nameserver q->server, on a socket connected to it. */
static int
send_to_server(struct dnsq *d, struct dnsq_question *q)
{
	unsigned char pkt[HEADER + 260 + 6];
	struct sockaddr_storage ss;
	socklen_t len;
	size_t n;
	unsigned s = q->server % d->nservers;

	memset(&ss, 0, sizeof ss);
	if (d->server_family[s] == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(53);
		memcpy(&sin->sin_addr, d->servers[s], 4);
		len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(53);
		memcpy(&sin6->sin6_addr, d->servers[s], 16);
		len = sizeof *sin6;
	}
	if (q->fd >= 0)
		close(q->fd);
	q->fd = socket(d->server_family[s], SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	n = dnsq_build(pkt, sizeof pkt, q->id, q->name, q->type);
	if (q->fd < 0 || n == 0 ||
	    connect(q->fd, (struct sockaddr *)&ss, len) < 0 ||
	    send(q->fd, pkt, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	q->sent_ms = monotonic_ms();
	return 0;
}

static void
finish(struct dnsq_question *q, enum dnsq_status status)
{
	if (status != DNSQ_PENDING)
		q->answer.status = status;
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

/* Asks a question now; its index, or -1 when there is no room. */
int
dnsq_ask(struct dnsq *d, const char *name, enum dnsq_type type)
{
	struct dnsq_question *q;
	size_t i = 0;

	while (i < d->n && d->q[i].in_use)
		i++;
	if (i == DNSQ_MAX)
		return -1;
	if (i == d->n)
		d->n++;
	q = &d->q[i];
	memset(q, 0, sizeof *q);
	q->in_use = 1;
	q->fd = -1;
	q->type = type;
	q->id = (unsigned short)random_below(65536);
	if (str_copy(q->name, name, sizeof q->name) >= sizeof q->name ||
	    send_to_server(d, q) < 0)
		finish(q, DNSQ_FAILED);
	else if (d->deadline_ms < q->sent_ms + d->timeout_ms)
		d->deadline_ms = q->sent_ms + d->timeout_ms;
	return (int)i;
}

/* A question no longer wanted: its slot is free for another. */
void
dnsq_forget(struct dnsq *d, int i)
{
	if (i < 0 || (size_t)i >= d->n)
		return;
	finish(&d->q[i], DNSQ_PENDING);
	d->q[i].in_use = 0;
}

/*
 * Reads what came for q: 1 when q is answered now.  A nameserver that
 * is not there (ICMP port unreachable) sends q on to the next at once;
 * refused by all of them, q has failed.
 */
static int
receive(struct dnsq *d, struct dnsq_question *q)
{
	unsigned char buf[ANSWER_MAX];
	ssize_t r;

	while ((r = recv(q->fd, buf, sizeof buf, 0)) >= 0) {
		struct dnsq_answer a;

		if (dnsq_parse(buf, (size_t)r, q, &a) == 0) {
			q->answer = a;
			finish(q, DNSQ_PENDING);
			return 1;
		}
	}
	if (errno == ECONNREFUSED && ++q->refused < d->nservers) {
		q->sent_ms -= RETRY_MS;
		return 0;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		finish(q, DNSQ_FAILED);
		return 1;
	}
	return 0;
}

/* The pending questions, each on to the next server once RETRY_MS passes. */
static size_t
pending(struct dnsq *d, struct pollfd *pfd, size_t *which, long long now,
    long long *next)
{
	size_t np = 0;

	*next = d->deadline_ms;
	for (size_t i = 0; i < d->n; i++) {
		struct dnsq_question *q = &d->q[i];

		if (q->fd < 0)
			continue;
		if (now - q->sent_ms >= RETRY_MS) {
			q->server++;
			if (send_to_server(d, q) < 0) {
				finish(q, DNSQ_FAILED);
				continue;
			}
		}
		if (q->sent_ms + RETRY_MS < *next)
			*next = q->sent_ms + RETRY_MS;
		pfd[np].fd = q->fd;
		pfd[np].events = POLLIN;
		which[np++] = i;
	}
	return np;
}

/* Waits until every question is answered or the deadline has passed. */
void
dnsq_wait(struct dnsq *d)
{
	struct pollfd pfd[DNSQ_MAX];
	size_t which[DNSQ_MAX];

	for (;;) {
		long long now = monotonic_ms(), next;
		size_t np;

		if (now >= d->deadline_ms)
			break;
		np = pending(d, pfd, which, now, &next);
		if (np == 0)
			return;
		if (poll(pfd, np, (int)(next > now ? next - now : 0)) < 0 &&
		    errno != EINTR)
			break;
		for (size_t i = 0; i < np; i++)
			if (pfd[i].revents)
				receive(d, &d->q[which[i]]);
	}
	for (size_t i = 0; i < d->n; i++)
		if (d->q[i].fd >= 0)
			finish(&d->q[i], DNSQ_FAILED);
}

void
dnsq_close(struct dnsq *d)
{
	for (size_t i = 0; i < d->n; i++)
		finish(&d->q[i], DNSQ_PENDING);
}
