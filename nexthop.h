/*
 * nexthop.h - the value of a routes entry: where postern-deliver sends
 * a domain's mail, over what, and how much TLS it demands.
 *   host[:port] [tls=LEVEL]         SMTP, port 25
 *   smtps:host[:port] [tls=LEVEL]   SMTP in TLS from the first byte, 465
 *   lmtp:host[:port], lmtp:unix:/path   LMTP (RFC 2033), port 24
 */
#ifndef POSTERN_NEXTHOP_H
#define POSTERN_NEXTHOP_H

#include "config.h"

enum nexthop_kind { NEXTHOP_SMTP, NEXTHOP_SMTPS, NEXTHOP_LMTP,
	NEXTHOP_LMTP_UNIX };

struct nexthop {
	enum nexthop_kind kind;
	char host[256];		/* a name or an address; the path for unix */
	unsigned short port;
	int tls_given;		/* tls= was written */
	enum tls_level tls;
};

const char *nexthop_parse(const char *value, struct nexthop *h);
int tls_level_parse(const char *s, enum tls_level *level);
const char *tls_level_name(enum tls_level level);

#endif
