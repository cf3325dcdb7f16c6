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

static enum mx_result
parse_answer(const unsigned char *answer, int len, struct mx_host *hosts,
    size_t max, size_t *n)
{
	ns_msg msg;
	ns_rr rr;

	if (ns_initparse(answer, len, &msg) < 0)
		return MX_TEMP;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) && *n < max; i++) {
		const unsigned char *rd;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return MX_TEMP;
		if (ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3)
			continue;
		rd = ns_rr_rdata(rr);
		hosts[*n].pref = (unsigned)(rd[0] << 8 | rd[1]);
		hosts[*n].port = 25;
		if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 2,
		    hosts[*n].name, sizeof hosts[*n].name) < 0)
			return MX_TEMP;
		(*n)++;
	}
	return MX_OK;
}

enum mx_result
dns_mx(const char *domain, struct mx_host *hosts, size_t max, size_t *n)
{
	unsigned char answer[8192];
	int len;

	*n = 0;
	len = res_query(domain, ns_c_in, ns_t_mx, answer, sizeof answer);
	if (len < 0) {
		if (h_errno == HOST_NOT_FOUND)
			return MX_NODOMAIN;
		if (h_errno != NO_DATA)
			return MX_TEMP;
		len = 0;
	}
	if (len > 0 && parse_answer(answer, len, hosts, max, n) != MX_OK)
		return MX_TEMP;
	if (*n == 1 && hosts[0].name[0] == '\0')
		return MX_NULL;
	if (*n == 0) {	/* no MX: the domain is its own mail host */
		str_copy(hosts[0].name, domain, sizeof hosts[0].name);
		hosts[0].pref = 0;
		hosts[0].port = 25;
		*n = 1;
	}
	qsort(hosts, *n, sizeof *hosts, by_preference);
	return MX_OK;
}

/* "host", "host:port", "[192.0.2.1]:port", "[2001:db8::1]:port". */
int
parse_host_port(const char *text, char *host, size_t hostsize,
    unsigned short *port)
{
	const char *colon, *end;
	unsigned long long p = 25;

	if (text[0] == '[') {
		end = strchr(text, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		colon = end[1] == ':' ? end + 1 : NULL;
		text++;
	} else {
		colon = strrchr(text, ':');
		end = colon ? colon : text + strlen(text);
	}
	if (end == text || (size_t)(end - text) >= hostsize)
		return -1;
	if (colon != NULL && (parse_ulong(colon + 1, 65535, &p) < 0 || p == 0))
		return -1;
	memcpy(host, text, (size_t)(end - text));
	host[end - text] = '\0';
	*port = (unsigned short)p;
	return 0;
}
