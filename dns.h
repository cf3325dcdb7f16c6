/* dns.h - where to connect for a domain: routes, MX, address records. */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <stddef.h>

#define MX_MAX 16

struct mx_host {
	char name[256];
	unsigned pref;
	unsigned short port;
};

enum mx_result {
	MX_OK,
	MX_TEMP,	/* DNS trouble: try later */
	MX_NODOMAIN,	/* the domain does not exist */
	MX_NULL		/* RFC 7505 null MX: the domain takes no mail */
};

enum mx_result dns_parse_mx(const unsigned char *answer, int len,
    struct mx_host *hosts, size_t max, size_t *n);
enum mx_result dns_mx(const char *domain, struct mx_host *hosts,
    size_t max, size_t *n);

#endif
