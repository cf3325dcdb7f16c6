/*
 * address.h - the syntax of mail addresses and of IP networks: parsing,
 * the canonical form, lookup keys.  A leaf: it uses nothing of postern's
 * but util.
 */
#ifndef POSTERN_ADDRESS_H
#define POSTERN_ADDRESS_H

#include <stddef.h>

#define LOCAL_PART_MAX 64
#define DOMAIN_MAX 255
#define PATH_MAX_SMTP 256

struct mailpath {
	char addr[PATH_MAX_SMTP + 1];	/* local@domain; "" for <> */
	size_t local_len;		/* the local part is addr[0, local_len) */
	const char *domain;		/* after the '@'; NULL for <> and <postmaster> */
	int is_null;
	int is_literal;			/* domain is [address literal] */
	int has_utf8;
};

enum path_result {
	PATH_OK,
	PATH_SYNTAX,
	PATH_TOO_LONG,
	PATH_NEEDS_SMTPUTF8
};

enum path_result path_parse(const char *s, struct mailpath *p,
    const char **rest, int allow_null, int smtputf8);
int domain_syntax_ok(const char *d, size_t n);
void address_key(const struct mailpath *p, char *out, size_t outsize);
int entry_matches_case(const char *value, const struct mailpath *p,
    int casesensitive);

/* An address with a prefix length; IPv4-mapped IPv6 is kept as IPv4. */
struct client_net {
	unsigned char addr[16];
	unsigned bits;		/* 32 or 128 */
	unsigned prefix;
	int mapped;		/* written as ::ffff:a.b.c.d */
};

int client_net_parse(struct client_net *n, const char *text);
void client_net_narrow(struct client_net *n, unsigned prefix);
void client_net_key(const struct client_net *n, char *out, size_t outsize);

/* "host", "host:port", "[192.0.2.1]:port", "[2001:db8::1]:port". */
int parse_host_port(const char *text, char *host, size_t hostsize,
    unsigned short *port);

#endif
