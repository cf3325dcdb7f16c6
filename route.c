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
#include <sys/stat.h>

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
 * The subaddress of p's local part: the first recipientdelimiter
 * character not at its start splits "user+tag" into base and tag.
 * 0 when there is none.
 */
static int
split_subaddress(const struct config *c, const struct mailpath *p,
    struct mailpath *base, char *tag, size_t tagsize)
{
	size_t i;
	const char *rest;
	char addr[PATH_MAX_SMTP + 1];

	if (c->recipient_delimiter[0] == '\0' || p->domain == NULL)
		return 0;
	for (i = 1; i < p->local_len; i++)
		if (strchr(c->recipient_delimiter, p->addr[i]) != NULL)
			break;
	if (i >= p->local_len)
		return 0;
	snprintf(addr, sizeof addr, "%.*s@%s", (int)i, p->addr, p->domain);
	if (path_parse(addr, base, &rest, 0, 1) != PATH_OK)
		return 0;
	snprintf(tag, tagsize, "%.*s", (int)(p->local_len - i - 1),
	    p->addr + i + 1);
	return 1;
}

/*
 * What a local address is, as Postfix looks it up: the address itself,
 * then without its subaddress (user+tag: user), then the catch-all
 * "@domain" of aliases.  m->tag is the subaddress when it was used.
 */
enum local_kind
route_local_match(const struct config *c, const struct mailpath *p,
    struct local_match *m)
{
	struct mailpath base;
	char key[DOMAIN_MAX + 2];
	const char *v;

	memset(m, 0, sizeof *m);
	if ((m->kind = route_local_lookup(c, p, &m->value)) != LOCAL_NONE)
		return m->kind;
	if (split_subaddress(c, p, &base, m->tag, sizeof m->tag) &&
	    (m->kind = route_local_lookup(c, &base, &m->value)) != LOCAL_NONE) {
		m->base_len = base.local_len;
		return m->kind;
	}
	m->tag[0] = '\0';
	if (p->domain == NULL || p->is_literal)
		return LOCAL_NONE;
	snprintf(key, sizeof key, "@%s", p->domain);
	str_lower(key);
	v = table_get(&c->tables[TABLE_ALIASES], key);
	if (v != NULL && (m->value = entry_value(v)) != NULL) {
		m->catchall = 1;
		m->kind = LOCAL_ALIAS;
	}
	return m->kind;
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
	struct local_match m;

	if (route_is_local_domain(c, p)) {
		if (p->domain != NULL &&
		    (c->tables[TABLE_USERS].present ||
		    c->tables[TABLE_ALIASES].present) &&
		    route_local_match(c, p, &m) == LOCAL_NONE)
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

/*
 * Calls fn for each target of alias p's entry; a target "@domain" (a
 * catch-all's, "@d1: @d2") is the same local part at that domain.
 */
static int
each_target(const struct mailpath *p, const char *targets,
    int (*fn)(void *ctx, const char *addr), void *ctx)
{
	char list[4200], *t, *save = NULL, mapped[PATH_MAX_SMTP + 2];
	int r = 0;

	str_copy(list, targets, sizeof list);
	for (t = strtok_r(list, ",", &save); t != NULL && r == 0;
	    t = strtok_r(NULL, ",", &save)) {
		size_t n;

		while (*t == ' ' || *t == '\t')
			t++;
		for (n = strlen(t); n > 0 && (t[n - 1] == ' ' ||
		    t[n - 1] == '\t'); n--)
			t[n - 1] = '\0';
		if (*t == '\0')
			continue;
		if (t[0] == '@') {
			snprintf(mapped, sizeof mapped, "%.*s%s",
			    (int)p->local_len, p->addr, t);
			t = mapped;
		}
		r = fn(ctx, t);
	}
	return r;
}

static int
expand_target(void *ctx, const char *addr)
{
	return expand_one(ctx, addr);
}

/* An alias's targets, each expanded in turn. */
static int
expand_alias(struct expansion *e, const struct mailpath *p,
    const char *targets)
{
	int r;

	for (int i = 0; i < e->depth; i++)
		if (strcasecmp(e->chain[i], p->addr) == 0)
			return emit_fail(e, p->addr, "5.4.6 alias loop");
	if (e->depth >= ALIAS_DEPTH_MAX)
		return emit_fail(e, p->addr, "5.4.6 aliases nested too deep");
	/* p lives in the caller's frame: it leaves the chain on every
	 * way out of this function. */
	e->chain[e->depth++] = p->addr;
	r = each_target(p, targets, expand_target, e);
	e->chain[--e->depth] = NULL;
	return r;
}

/*
 * A list is an alias NAME with an entry "owner-NAME" of its own (exact,
 * not a catch-all's nor a subaddress's), as in sendmail and Postfix's
 * local(8); owner gets that address.  0 when p is a plain alias.
 */
static int
list_owner(const struct config *c, const struct mailpath *p,
    const struct local_match *m, char *owner, size_t size)
{
	size_t local_len = m->tag[0] ? m->base_len : p->local_len;
	struct local_match om;
	struct mailpath op;
	const char *rest;

	if (m->catchall || p->domain == NULL ||
	    (local_len >= 6 && str_casecmp_n(p->addr, "owner-", 6) == 0))
		return 0;
	if ((size_t)snprintf(owner, size, "owner-%.*s@%s", (int)local_len,
	    p->addr, p->domain) >= size ||
	    path_parse(owner, &op, &rest, 0, 1) != PATH_OK || *rest != '\0')
		return 0;
	return route_local_match(c, &op, &om) != LOCAL_NONE &&
	    !om.catchall && om.tag[0] == '\0';
}

static int
emit_list(struct expansion *e, const struct mailpath *p, const char *owner)
{
	struct dest d;

	memset(&d, 0, sizeof d);
	d.kind = DEST_LIST;
	str_copy(d.addr, p->addr, sizeof d.addr);
	str_copy(d.owner, owner, sizeof d.owner);
	return e->fn(e->ctx, &d);
}

/*
 * A subaddress's Maildir++ folder, "MAILDIR.tag/", when it exists (as
 * Dovecot keeps folders); else the Maildir itself.  Only a tag that is
 * one plain path component can name a folder.
 */
static void
subaddress_folder(const char *tag, char *maildir, size_t size)
{
	char folder[1400];
	struct stat st;

	if (tag[0] == '\0' || tag[0] == '.' || strchr(tag, '/') != NULL)
		return;
	for (const char *t = tag; *t; t++)
		if ((unsigned char)*t <= 32 || (unsigned char)*t >= 127)
			return;
	if ((size_t)snprintf(folder, sizeof folder, "%s.%s/cur", maildir,
	    tag) >= sizeof folder || stat(folder, &st) < 0 ||
	    !S_ISDIR(st.st_mode))
		return;
	folder[strlen(folder) - 3] = '\0';	/* drop "cur" */
	str_copy(maildir, folder, size);
}

/* Whether domain's mail goes to an LMTP server (routes: "lmtp:..."). */
int
route_is_lmtp(const struct config *c, const char *domain)
{
	char lower[DOMAIN_MAX + 1];
	const char *route;

	str_copy(lower, domain, sizeof lower);
	str_lower(lower);
	route = table_get(&c->tables[TABLE_ROUTES], lower);
	return route != NULL && strncmp(route, "lmtp:", 5) == 0;
}

/* A local recipient handed to the domain's LMTP server, as a remote one. */
static int
emit_lmtp(struct expansion *e, const struct mailpath *p)
{
	struct dest d;

	memset(&d, 0, sizeof d);
	d.kind = DEST_REMOTE;
	str_copy(d.addr, p->addr, sizeof d.addr);
	str_copy(d.domain, p->domain, sizeof d.domain);
	str_lower(d.domain);
	return e->fn(e->ctx, &d);
}

static int
expand_local(struct expansion *e, const struct mailpath *p)
{
	const struct config *c = e->c;
	struct local_match m;
	struct mailpath mailbox = *p;
	struct dest d;

	memset(&d, 0, sizeof d);
	d.kind = DEST_LOCAL;
	str_copy(d.addr, p->addr, sizeof d.addr);
	switch (route_local_match(c, p, &m)) {
	case LOCAL_ALIAS:
		if (list_owner(c, p, &m, d.owner, sizeof d.owner))
			return emit_list(e, p, d.owner);
		return expand_alias(e, p, m.value);
	case LOCAL_USER:
		if (route_is_lmtp(c, p->domain))
			return emit_lmtp(e, p);
		if (*m.value) {
			str_copy(d.maildir, m.value, sizeof d.maildir);
			subaddress_folder(m.tag, d.maildir, sizeof d.maildir);
			return e->fn(e->ctx, &d);
		}
		break;
	case LOCAL_NONE:
		if (c->tables[TABLE_USERS].present ||
		    c->tables[TABLE_ALIASES].present)
			return emit_fail(e, p->addr, "5.1.1 user unknown");
		if (route_is_lmtp(c, p->domain))
			return emit_lmtp(e, p);
		/* every local part is a mailbox: user+tag is user's */
		split_subaddress(c, p, &mailbox, m.tag, sizeof m.tag);
		break;
	}
	if (m.tag[0] != '\0' && m.base_len > 0)
		mailbox.local_len = m.base_len;
	if (default_maildir(c, &mailbox, d.maildir, sizeof d.maildir) < 0)
		return emit_fail(e, p->addr, "5.1.3 unsafe mailbox name");
	subaddress_folder(m.tag, d.maildir, sizeof d.maildir);
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

/* list.c: the members of list (an alias), each as its entry names it. */
int
route_list_members(const struct config *c, const char *list,
    int (*fn)(void *ctx, const char *member), void *ctx)
{
	struct local_match m;
	struct mailpath p;
	const char *rest;

	if (path_parse(list, &p, &rest, 0, 1) != PATH_OK || *rest != '\0' ||
	    route_local_match(c, &p, &m) != LOCAL_ALIAS)
		return -1;
	return each_target(&p, m.value, fn, ctx);
}
