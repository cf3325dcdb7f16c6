/*
 * access.c - the clients file (longest prefix wins) and the senders and
 * recipients files (exact address, @domain, .subdomain).
 *
 * Client rules are keyed by their canonical masked network, so finding
 * the longest match is at most 33 (IPv4) or 129 (IPv6) hash probes,
 * whatever the size of the file.
 */
#include "access.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
client_net_parse(struct client_net *n, const char *text)
{
	memset(n, 0, sizeof *n);
	if (inet_pton(AF_INET, text, n->addr) == 1) {
		n->bits = n->prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, text, n->addr) != 1)
		return -1;
	if (memcmp(n->addr, v4mapped, sizeof v4mapped) == 0) {
		memmove(n->addr, n->addr + 12, 4);
		memset(n->addr + 4, 0, 12);
		n->bits = n->prefix = 32;
		n->mapped = 1;
		return 0;
	}
	n->bits = n->prefix = 128;
	return 0;
}

/* Keeps the first prefix bits and clears the rest. */
void
client_net_narrow(struct client_net *n, unsigned prefix)
{
	unsigned bytes = n->bits / 8;

	if (prefix > n->bits)
		prefix = n->bits;
	n->prefix = prefix;
	for (unsigned i = 0; i < bytes; i++) {
		unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
		if (keep < 8)
			n->addr[i] &= (unsigned char)(0xff00 >> keep);
	}
}

void
client_net_key(const struct client_net *n, char *out, size_t outsize)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(n->bits == 32 ? AF_INET : AF_INET6, n->addr, text,
	    sizeof text);
	snprintf(out, outsize, "%s/%u", text, n->prefix);
}

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

/*
 * The stored entry (value) begins with the address as written; under
 * casesensitive its local part must equal the one asked about.
 */
int
entry_matches_case(const char *value, const struct mailpath *p,
    int casesensitive)
{
	const char *end = strchr(value, '\t'), *at;

	if (!casesensitive)
		return 1;
	if (end == NULL)
		end = value + strlen(value);
	at = end;
	while (at > value && at[-1] != '@')
		at--;
	if (at == value)
		return 0;
	return (size_t)(at - 1 - value) == p->local_len &&
	    memcmp(value, p->addr, p->local_len) == 0;
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
