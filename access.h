/*
 * access.h - who may send, and which envelope addresses are refused:
 * the clients, senders and recipients files.
 */
#ifndef POSTERN_ACCESS_H
#define POSTERN_ACCESS_H

#include <stddef.h>

#include "config.h"
#include "route.h"
#include "tables.h"

enum client_action {
	CLIENT_ALLOW,
	CLIENT_DENY,
	CLIENT_RELAY
};

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

enum client_action access_client(const struct config *c, const char *addr);
int access_listed(const struct config *c, enum table_id id,
    const struct mailpath *p);
int entry_matches_case(const char *value, const struct mailpath *p,
    int casesensitive);

#endif
