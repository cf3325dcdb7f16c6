/*
 * dns.c - MX lookup through libresolv (RFC 5321 section 5.1): the MX
 * records in preference order, or, when the domain has none, the domain
 * itself as its own mail host.  A null MX (RFC 7505) means no mail.
 */
#include "dns.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int
by_preference(const void *a, const void *b)
{
	const struct mx_host *x = a, *y = b;

	return (x->pref > y->pref) - (x->pref < y->pref);
}

/* Keeps the max best (lowest preference) of the hosts seen so far. */
static void
keep_best(struct mx_host *hosts, size_t max, size_t *n,
    const struct mx_host *h)
{
	size_t worst = 0;

	if (*n < max) {
		hosts[(*n)++] = *h;
		return;
	}
	for (size_t i = 1; i < *n; i++)
		if (hosts[i].pref > hosts[worst].pref)
			worst = i;
	if (h->pref < hosts[worst].pref)
		hosts[worst] = *h;
}

/* The MX records of a DNS answer: the max most preferred into hosts. */
enum mx_result
dns_parse_mx(const unsigned char *answer, int len, struct mx_host *hosts,
    size_t max, size_t *n)
{
	struct mx_host h = { .port = 25 };
	ns_msg msg;
	ns_rr rr;

	if (ns_initparse(answer, len, &msg) < 0)
		return MX_TEMP;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		const unsigned char *rd;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return MX_TEMP;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
			continue;
		rd = ns_rr_rdata(rr);
		h.pref = (unsigned)(rd[0] << 8 | rd[1]);
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 2,
		    h.name, sizeof h.name) < 0)
			return MX_TEMP;
		keep_best(hosts, max, n, &h);
	}
	return MX_OK;
}

/* RFC 5321 section 5.1: hosts of equal preference in a random order. */
static void
shuffle_equals(struct mx_host *hosts, size_t n)
{
	for (size_t start = 0, end; start < n; start = end) {
		for (end = start + 1; end < n &&
		    hosts[end].pref == hosts[start].pref; end++)
			continue;
		for (size_t i = end - 1; i > start; i--) {
			size_t j = start + random_below(i - start + 1);
			struct mx_host t = hosts[i];
			hosts[i] = hosts[j];
			hosts[j] = t;
		}
	}
}

/*
 * res_query answers with the full length of the DNS message even when
 * that is more than the buffer holds; a length past the buffer is a
 * truncated answer, a temporary failure.  64 KiB holds any DNS message,
 * so that happens only with a resolver that lies.
 */
enum mx_result
dns_mx(const char *domain, struct mx_host *hosts, size_t max, size_t *n)
{
	const int size = 65536;
	unsigned char *answer = malloc((size_t)size);
	enum mx_result r = MX_OK;
	int len;

	*n = 0;
	if (answer == NULL)
		return MX_TEMP;
	len = res_query(domain, ns_c_in, ns_t_mx, answer, size);
	if (len < 0 && h_errno == HOST_NOT_FOUND)
		r = MX_NODOMAIN;
	else if ((len < 0 && h_errno != NO_DATA) || len > size)
		r = MX_TEMP;
	else if (len > 0)
		r = dns_parse_mx(answer, len, hosts, max, n);
	free(answer);
	if (r != MX_OK)
		return r;
	if (*n == 1 && hosts[0].name[0] == '\0')
		return MX_NULL;
	if (*n == 0) {	/* no MX: the domain is its own mail host */
		str_copy(hosts[0].name, domain, sizeof hosts[0].name);
		hosts[0].pref = 0;
		hosts[0].port = 25;
		*n = 1;
	}
	qsort(hosts, *n, sizeof *hosts, by_preference);
	shuffle_equals(hosts, *n);
	return MX_OK;
}
