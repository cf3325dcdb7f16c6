/*
 * route.c - where an address goes: local domains, users and aliases,
 * recipient classification for smtpd, alias expansion and Maildirs for
 * deliver and pop3d.  Address syntax is address.c's; only the domain
 * decides ("%", "!" and a second "@" are never routing).
 */
#include "route.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "util.h"

static int
domain_listed(const struct config *c, enum table_id id, const char *domain)
{
	char lower[DOMAIN_MAX + 1];

	str_copy(lower, domain, sizeof lower);
	str_lower(lower);
	return table_get(&c->tables[id], lower) != NULL;
}

int
route_is_local_domain(const struct config *c, const struct mailpath *p)
{
	if (p->domain == NULL)
		return 1;	/* <postmaster> */
	return !p->is_literal && domain_listed(c, TABLE_DOMAINS, p->domain);
}

/*
 * An entry's value past "address TAB": the Maildir or the target list.
 * A value without the TAB comes only from a damaged .db file; it is
 * treated as no entry, so a damaged list can refuse mail (5.1.1) but
 * never crash a reader.
 */
static const char *
entry_value(const char *entry)
{
	const char *tab = entry == NULL ? NULL : strchr(entry, '\t');

	if (entry != NULL && tab == NULL)
		log_msg(LOG_WARNING, "damaged users or aliases entry \"%.64s\"; "
		    "ignored (recompile it with postern-makedb)", entry);
	return tab == NULL ? NULL : tab + 1;
}

/*
 * Looks an address up in users, then aliases.  *value gets what the
 * entry says: the Maildir (maybe empty) or "target,target".
 */
enum local_kind
route_local_lookup(const struct config *c, const struct mailpath *p,
    const char **value)
{
	char key[PATH_MAX_SMTP + 2];
	const char *v;

	if (p->domain == NULL)
		return LOCAL_NONE;
	address_key(p, key, sizeof key);
	v = table_get(&c->tables[TABLE_USERS], key);
	if (v != NULL && entry_matches_case(v, p, c->casesensitive) &&
	    (*value = entry_value(v)) != NULL)
		return LOCAL_USER;
	v = table_get(&c->tables[TABLE_ALIASES], key);
	if (v != NULL && entry_matches_case(v, p, c->casesensitive) &&
	    (*value = entry_value(v)) != NULL)
		return LOCAL_ALIAS;
	return LOCAL_NONE;
}

/*
 * Local parts are never routing: only the domain decides.  An address
 * literal is never local.  With a users or aliases file, a local address
 * must be listed in one of them (bare <postmaster> is always accepted).
 */
enum rcpt_class
route_classify(const struct config *c, const struct mailpath *p,
    int client_may_relay)
{
	const char *value;

	if (route_is_local_domain(c, p)) {
		if (p->domain != NULL &&
		    (c->tables[TABLE_USERS].present ||
		    c->tables[TABLE_ALIASES].present) &&
		    route_local_lookup(c, p, &value) == LOCAL_NONE)
			return RCPT_UNKNOWN_USER;
		return RCPT_LOCAL;
	}
	if (client_may_relay)
		return RCPT_RELAY;
	if (!p->is_literal && domain_listed(c, TABLE_RELAYDOMAINS, p->domain))
		return RCPT_RELAY;
	return RCPT_DENIED;
}

struct expansion {
	const struct config *c;
	dest_fn fn;
	void *ctx;
	const char *chain[ALIAS_DEPTH_MAX + 1];
	int depth;
};

static int
emit_fail(struct expansion *e, const char *addr, const char *reason)
{
	struct dest d;

	memset(&d, 0, sizeof d);
	d.kind = DEST_FAIL;
	str_copy(d.addr, addr, sizeof d.addr);
	str_copy(d.reason, reason, sizeof d.reason);
	return e->fn(e->ctx, &d);
}

/*
 * MAILROOT/domain/local/ for a local address without a users entry.
 * The local part becomes a path component, so anything that could climb
 * out of MAILROOT or hide a file is refused.
 */
static int
default_maildir(const struct config *c, const struct mailpath *p,
    char *out, size_t outsize)
{
	char local[LOCAL_PART_MAX + 1], domain[DOMAIN_MAX + 1];

	memcpy(local, p->addr, p->local_len);
	local[p->local_len] = '\0';
	if (local[0] == '.' || local[0] == '"' || strchr(local, '/') != NULL)
		return -1;
	if (!c->casesensitive)
		str_lower(local);
	str_copy(domain, p->domain, sizeof domain);
	str_lower(domain);
	return (size_t)snprintf(out, outsize, "%s/%s/%s/", c->mailroot, domain,
	    local) < outsize ? 0 : -1;
}

/*
 * pop3d: the Maildir of a login name.  Only a mailbox of users (or, with
 * neither users nor aliases, the default path in a local domain) has
 * one: an alias is an address, not a mailbox.
 */
int
route_mailbox(const struct config *c, const char *login, char *out,
    size_t outsize)
{
	struct mailpath p;
	const char *rest, *value;

	if (path_parse(login, &p, &rest, 0, 1) != PATH_OK || *rest != '\0' ||
	    p.domain == NULL || !route_is_local_domain(c, &p))
		return -1;
	if (route_local_lookup(c, &p, &value) == LOCAL_USER) {
		if (*value)
			return str_copy(out, value, outsize) < outsize ? 0 : -1;
	} else if (c->tables[TABLE_USERS].present ||
	    c->tables[TABLE_ALIASES].present) {
		return -1;
	}
	return default_maildir(c, &p, out, outsize);
}

static int expand_one(struct expansion *e, const char *rcpt);

static int
expand_alias(struct expansion *e, const char *addr, const char *targets)
{
	char list[4200], *t, *save = NULL;
	int r = 0;

	for (int i = 0; i < e->depth; i++)
		if (strcasecmp(e->chain[i], addr) == 0)
			return emit_fail(e, addr, "5.4.6 alias loop");
	if (e->depth >= ALIAS_DEPTH_MAX)
		return emit_fail(e, addr, "5.4.6 aliases nested too deep");
	str_copy(list, targets, sizeof list);
	/* addr lives in the caller's frame: it leaves the chain on every
	 * way out of this function. */
	e->chain[e->depth++] = addr;
	for (t = strtok_r(list, ",", &save); t != NULL && r == 0;
	    t = strtok_r(NULL, ",", &save))
		r = expand_one(e, t);
	e->chain[--e->depth] = NULL;
	return r;
}

static int
expand_local(struct expansion *e, const struct mailpath *p)
{
	const struct config *c = e->c;
	const char *value;
	struct dest d;

	memset(&d, 0, sizeof d);
	d.kind = DEST_LOCAL;
	str_copy(d.addr, p->addr, sizeof d.addr);
	switch (route_local_lookup(c, p, &value)) {
	case LOCAL_ALIAS:
		return expand_alias(e, p->addr, value);
	case LOCAL_USER:
		if (*value) {
			str_copy(d.maildir, value, sizeof d.maildir);
			return e->fn(e->ctx, &d);
		}
		break;
	case LOCAL_NONE:
		if (c->tables[TABLE_USERS].present ||
		    c->tables[TABLE_ALIASES].present)
			return emit_fail(e, p->addr, "5.1.1 user unknown");
		break;
	}
	if (default_maildir(c, p, d.maildir, sizeof d.maildir) < 0)
		return emit_fail(e, p->addr, "5.1.3 unsafe mailbox name");
	return e->fn(e->ctx, &d);
}

static int
expand_one(struct expansion *e, const char *rcpt)
{
	char postmaster[DOMAIN_MAX + 16];
	struct mailpath p;
	const char *rest;
	struct dest d;

	if (path_parse(rcpt, &p, &rest, 0, 1) != PATH_OK || *rest != '\0')
		return emit_fail(e, rcpt, "5.1.3 bad recipient address");
	if (p.domain == NULL) {		/* the bare RFC 5321 postmaster */
		snprintf(postmaster, sizeof postmaster, "postmaster@%s",
		    e->c->hostname);
		return expand_one(e, postmaster);
	}
	if (route_is_local_domain(e->c, &p))
		return expand_local(e, &p);
	memset(&d, 0, sizeof d);
	d.kind = DEST_REMOTE;
	str_copy(d.addr, p.addr, sizeof d.addr);
	str_copy(d.domain, p.domain, sizeof d.domain);
	str_lower(d.domain);
	return e->fn(e->ctx, &d);
}

/*
 * Calls fn for every final destination of rcpt: aliases are expanded
 * (loops and nesting past ALIAS_DEPTH_MAX fail), local users get their
 * Maildir, everything else is remote.
 */
int
route_expand(const struct config *c, const char *rcpt, dest_fn fn, void *ctx)
{
	struct expansion e;

	memset(&e, 0, sizeof e);
	e.c = c;
	e.fn = fn;
	e.ctx = ctx;
	return expand_one(&e, rcpt);
}
