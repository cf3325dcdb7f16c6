/*
 * dnslist.c - a DNS list line, as Postfix's postscreen_dnsbl_sites
 * writes one: ZONE[=FILTER][*WEIGHT].  FILTER is the answer that counts,
 * four octets, each a number or a bracketed list of numbers and ranges
 * (127.0.0.[2..11], 127.0.[0..255].[1;3;5..7]); without one, any answer
 * counts.  WEIGHT (dnsbl only, default 1, may be negative) adds to the
 * client's score.  And the names asked: the client's address reversed
 * (octets for IPv4, nibbles for IPv6) or the sender's domain, then the
 * zone (RFC 5782).
 */
#include "dnslist.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "util.h"

static void
set_bit(unsigned char *bits, unsigned v)
{
	bits[v / 8] |= (unsigned char)(1u << (v % 8));
}

/* A number 0..255 at *p, which moves past it; -1 when there is none. */
static int
octet_number(const char **p)
{
	char *end;
	long v;

	if (**p < '0' || **p > '9')
		return -1;
	v = strtol(*p, &end, 10);
	if (v > 255 || end - *p > 3)
		return -1;
	*p = end;
	return (int)v;
}

/* One octet of a filter: N, or [N;N..M;...].  Moves *p past it. */
static int
parse_octet(const char **p, unsigned char *bits)
{
	int lo, hi;

	if (**p != '[') {
		if ((lo = octet_number(p)) < 0)
			return -1;
		set_bit(bits, (unsigned)lo);
		return 0;
	}
	(*p)++;
	for (;;) {
		if ((lo = octet_number(p)) < 0)
			return -1;
		hi = lo;
		if (strncmp(*p, "..", 2) == 0) {
			*p += 2;
			if ((hi = octet_number(p)) < lo)
				return -1;
		}
		for (int v = lo; v <= hi; v++)
			set_bit(bits, (unsigned)v);
		if (**p == ']') {
			(*p)++;
			return 0;
		}
		if (**p != ';')
			return -1;
		(*p)++;
	}
}

static int
parse_filter(const char *p, const char *end, struct dnslist *l)
{
	memset(l->match, 0, sizeof l->match);
	for (int i = 0; i < 4; i++) {
		if (i > 0 && *p++ != '.')
			return -1;
		if (parse_octet(&p, l->match[i]) < 0)
			return -1;
	}
	return p == end ? 0 : -1;
}

static int
parse_weight(const char *p, int *weight)
{
	char *end;
	long v = strtol(p, &end, 10);

	if (end == p || *end != '\0' || v < -1000 || v > 1000)
		return -1;
	*weight = (int)v;
	return 0;
}

int
dnslist_add(struct config *c, enum dnslist_kind kind, const char *spec)
{
	struct dnslist l;
	const char *eq = strchr(spec, '='), *star = strchr(spec, '*');
	const char *zone_end = eq ? eq : star ? star : spec + strlen(spec);
	size_t zlen = (size_t)(zone_end - spec);

	if (c->ndnslists >= DNSLIST_MAX || zlen == 0 || zlen > 200 ||
	    !domain_syntax_ok(spec, zlen) || (star && eq && star < eq))
		return -1;
	memset(&l, 0, sizeof l);
	l.kind = kind;
	l.weight = 1;
	memcpy(l.zone, spec, zlen);
	l.zone[zlen] = '\0';
	if (eq != NULL && parse_filter(eq + 1, star ? star : eq + strlen(eq),
	    &l) < 0)
		return -1;
	if (eq == NULL)
		memset(l.match, 0xff, sizeof l.match);
	if (star != NULL && (kind != DNSLIST_BLOCK ||
	    parse_weight(star + 1, &l.weight) < 0))
		return -1;
	c->dnslists[c->ndnslists++] = l;
	return 0;
}

int
dnslist_matches(const struct dnslist *l, const unsigned char value[4])
{
	for (int i = 0; i < 4; i++)
		if (!(l->match[i][value[i] / 8] & (1u << (value[i] % 8))))
			return 0;
	return 1;
}

/* The IPv4 address of addr, written as one or as IPv4-mapped IPv6. */
static int
ipv4_of(const char *addr, unsigned char v4[4])
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, v4) == 1)
		return 1;
	if (inet_pton(AF_INET6, addr, a) != 1 || memcmp(a, mapped, 12) != 0)
		return 0;
	memcpy(v4, a + 12, 4);
	return 1;
}

/*
 * The name for the client's address in zone: "4.3.2.1.zone" for
 * 1.2.3.4 (and for ::ffff:1.2.3.4), 32 nibbles for other IPv6.
 * 0, or -1 for an address that is not one or a name too long.
 */
int
dnslist_client_name(const char *addr, const char *zone, char *out,
    size_t size)
{
	unsigned char a[16];
	size_t len = 0;
	int n;

	if (ipv4_of(addr, a)) {
		n = snprintf(out, size, "%u.%u.%u.%u.%s", a[3], a[2], a[1],
		    a[0], zone);
		return n > 0 && (size_t)n < size && n <= 253 ? 0 : -1;
	}
	if (inet_pton(AF_INET6, addr, a) != 1)
		return -1;
	for (int i = 15; i >= 0; i--) {
		if (len + 4 >= size)
			return -1;
		out[len++] = "0123456789abcdef"[a[i] & 0xf];
		out[len++] = '.';
		out[len++] = "0123456789abcdef"[a[i] >> 4];
		out[len++] = '.';
	}
	n = snprintf(out + len, size - len, "%s", zone);
	return n > 0 && (size_t)n < size - len && len + (size_t)n <= 253 ?
	    0 : -1;
}

/* The name for a sender's domain in zone: "domain.zone". */
int
dnslist_domain_name(const char *domain, const char *zone, char *out,
    size_t size)
{
	int n;

	if (domain[0] == '\0' || domain[0] == '[')
		return -1;
	n = snprintf(out, size, "%s.%s", domain, zone);
	return n > 0 && (size_t)n < size && n <= 253 ? 0 : -1;
}
