/*
 * route.c - RFC 5321 path grammar (section 4.1.2) with the RFC 6531
 * extension for UTF-8, and recipient classification.
 *
 * The parser is strict about the domain and the brackets, because
 * everything that routing decides rests on them: "%", "!" and a second
 * "@" are never routing, so an address like user@remote@example.org is
 * refused as a syntax error rather than guessed at.
 */
#include "route.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "log.h"
#include "util.h"

static int
is_atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Well-formed UTF-8 per RFC 3629: no overlongs, no surrogates. */
static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return 0;
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 ||
		    cp > 0x10ffff)))
			return 0;
		i += len;
	}
	return 1;
}

/* Dot-string or quoted-string; returns the length scanned, 0 on error. */
static size_t
scan_local_part(const char *s, int *utf8)
{
	const char *p = s;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '\\') {
				p++;
				c = (unsigned char)*p;
				if (c < 32 || c > 126)
					return 0;
			} else if (c >= 0x80) {
				*utf8 = 1;
			} else if (c < 32 || c > 126) {
				return 0;
			}
		}
		return (size_t)(p + 1 - s);
	}
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x80)
			*utf8 = 1;
		else if (!is_atext(c) && c != '.')
			break;
	}
	return (size_t)(p - s);
}

static int
valid_address_literal(const char *s, size_t n)
{
	char tmp[64];
	unsigned char addr[16];

	if (n >= sizeof tmp)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (str_casecmp_n(tmp, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, tmp + 5, addr) == 1;
	return inet_pton(AF_INET, tmp, addr) == 1;
}

/*
 * A domain name (letters, digits, hyphens, UTF-8 labels under SMTPUTF8)
 * or an address literal.  Returns the length scanned, 0 on error.
 */
static size_t
scan_domain(const char *s, int *utf8, int *literal)
{
	const char *p = s;
	size_t label = 0;

	if (*p == '[') {
		const char *end = strchr(p, ']');
		if (end == NULL || !valid_address_literal(p + 1,
		    (size_t)(end - p - 1)))
			return 0;
		*literal = 1;
		return (size_t)(end + 1 - s);
	}
	for (;; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalnum(c) || c >= 0x80) {
			if (c >= 0x80)
				*utf8 = 1;
			label++;
		} else if (c == '-' && label > 0) {
			label++;
		} else if (c == '.' && label > 0 && p[-1] != '-') {
			label = 0;
		} else {
			break;
		}
		if (label > 63)
			return 0;
	}
	if (p == s || (label > 0 && p[-1] == '-'))
		return 0;
	return (size_t)(p - s);
}

/* Skips an RFC 5321 source route "@a,@b:"; returns NULL on error. */
static const char *
skip_source_route(const char *p)
{
	int utf8 = 0, literal = 0;

	while (*p == '@') {
		size_t n = scan_domain(p + 1, &utf8, &literal);
		if (n == 0)
			return NULL;
		p += 1 + n;
		if (*p == ',')
			p++;
		else if (*p == ':')
			return p + 1;
		else
			return NULL;
	}
	return NULL;
}

static enum path_result
build_mailbox(struct mailpath *p, const char *local, size_t llen,
    const char *domain, size_t dlen)
{
	/* One trailing dot is the root, not part of the name. */
	if (dlen > 1 && domain[dlen - 1] == '.' && domain[0] != '[')
		dlen--;
	if (llen > LOCAL_PART_MAX || dlen > DOMAIN_MAX ||
	    llen + 1 + dlen + 2 > PATH_MAX_SMTP)
		return PATH_TOO_LONG;
	memcpy(p->addr, local, llen);
	p->addr[llen] = '@';
	memcpy(p->addr + llen + 1, domain, dlen);
	p->addr[llen + 1 + dlen] = '\0';
	p->local_len = llen;
	p->domain = p->addr + llen + 1;
	return PATH_OK;
}

static enum path_result
parse_mailbox(const char *s, struct mailpath *p, const char **end)
{
	size_t llen, dlen;
	enum path_result r;

	llen = scan_local_part(s, &p->has_utf8);
	if (llen == 0)
		return PATH_SYNTAX;
	if (s[llen] != '@') {
		/* RFC 5321 4.5.1: <postmaster> needs no domain. */
		if (llen == 10 && str_casecmp_n(s, "postmaster", 10) == 0) {
			memcpy(p->addr, s, 10);
			p->addr[10] = '\0';
			p->local_len = 10;
			*end = s + 10;
			return PATH_OK;
		}
		return PATH_SYNTAX;
	}
	dlen = scan_domain(s + llen + 1, &p->has_utf8, &p->is_literal);
	if (dlen == 0)
		return PATH_SYNTAX;
	r = build_mailbox(p, s, llen, s + llen + 1, dlen);
	*end = s + llen + 1 + dlen;
	return r;
}

enum path_result
path_parse(const char *s, struct mailpath *p, const char **rest,
    int allow_null, int smtputf8)
{
	enum path_result r;
	const char *end;
	int angle;

	memset(p, 0, sizeof *p);
	while (*s == ' ')
		s++;
	angle = *s == '<';
	if (angle) {
		s++;
		if (*s == '>') {
			if (!allow_null)
				return PATH_SYNTAX;
			p->is_null = 1;
			*rest = s + 1;
			return PATH_OK;
		}
		if (*s == '@' && (s = skip_source_route(s)) == NULL)
			return PATH_SYNTAX;
	}
	r = parse_mailbox(s, p, &end);
	if (r != PATH_OK)
		return r;
	if (angle) {
		if (*end != '>')
			return PATH_SYNTAX;
		end++;
	}
	if (*end != '\0' && *end != ' ')
		return PATH_SYNTAX;
	if (p->has_utf8) {
		if (!valid_utf8((const unsigned char *)p->addr,
		    strlen(p->addr)))
			return PATH_SYNTAX;
		if (!smtputf8)
			return PATH_NEEDS_SMTPUTF8;
	}
	*rest = end;
	return PATH_OK;
}

/* Whether d[0, n) is a domain name (not a literal), UTF-8 allowed. */
int
domain_syntax_ok(const char *d, size_t n)
{
	char tmp[DOMAIN_MAX + 1];
	int utf8 = 0, literal = 0;

	if (n == 0 || n > DOMAIN_MAX)
		return 0;
	memcpy(tmp, d, n);
	tmp[n] = '\0';
	return scan_domain(tmp, &utf8, &literal) == n && !literal &&
	    (!utf8 || valid_utf8((const unsigned char *)tmp, n));
}

/* The lookup key of an address: all of it in lower case. */
void
address_key(const struct mailpath *p, char *out, size_t outsize)
{
	str_copy(out, p->addr, outsize);
	str_lower(out);
}

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
		    "ignored (recompile it with makedb)", entry);
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
