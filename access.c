/*
 * access.c - the clients file (longest prefix wins) and the senders and
 * recipients files (exact address, @domain, .subdomain).
 *
 * Client rules are keyed by their canonical masked network, so finding
 * the longest match is at most 33 (IPv4) or 129 (IPv6) hash probes,
 * whatever the size of the file.
 */
#include "access.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

enum client_action
access_client(const struct config *c, const char *addr)
{
	const struct table *t = &c->tables[TABLE_CLIENTS];
	struct client_net full, net;
	char key[INET6_ADDRSTRLEN + 8];
	const char *action;

	if (!t->present || addr[0] == '\0' ||
	    client_net_parse(&full, addr) < 0)
		return CLIENT_ALLOW;
	for (int prefix = (int)full.bits; prefix >= 0; prefix--) {
		net = full;
		client_net_narrow(&net, (unsigned)prefix);
		client_net_key(&net, key, sizeof key);
		action = table_get(t, key);
		if (action == NULL)
			continue;
		if (strcmp(action, "deny") == 0)
			return CLIENT_DENY;
		return strcmp(action, "relay") == 0 ? CLIENT_RELAY :
		    CLIENT_ALLOW;
	}
	return CLIENT_ALLOW;
}

/* senders or recipients: is this address refused? */
int
access_listed(const struct config *c, enum table_id id,
    const struct mailpath *p)
{
	const struct table *t = &c->tables[id];
	char key[PATH_MAX_SMTP + 2];
	const char *value, *dom;

	if (!t->present || p->is_null || p->domain == NULL)
		return 0;
	address_key(p, key, sizeof key);
	value = table_get(t, key);
	if (value != NULL && entry_matches_case(value, p, c->casesensitive))
		return 1;
	dom = key + p->local_len + 1;
	if (table_get(t, dom - 1) != NULL)	/* "@domain" */
		return 1;
	for (const char *d = dom; *d; d++)	/* ".parent.domain" */
		if (*d == '.' && table_get(t, d) != NULL)
			return 1;
	return 0;
}
