/*
 * address.c - the syntax of addresses, the leaf every comparison rests on:
 * RFC 5321 paths (source routes dropped, dot-strings and quoted strings,
 * domains, address literals, UTF-8 under SMTPUTF8), the canonical form
 * and lookup key of an address, and IP networks (CIDR) for the clients
 * list.  Nothing here knows about policy or configuration.
 *
 * The canonical form: a quoted local part that is also a valid
 * dot-string is the same address as that dot-string (RFC 5321 section
 * 4.1.2), so it is stored unquoted; any other quoted local part is stored
 * with only the backslashes it needs.  Lists, users, aliases and
 * duplicates therefore all compare one spelling of each address.
 */
#include "address.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

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

/* A Dot-string (RFC 5321 4.1.2): atoms of atext or UTF-8, single dots. */
static int
is_dot_string(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' ? s[i + 1] == '.' : !(c >= 0x80 || is_atext(c)))
			return 0;
	}
	return 1;
}

/*
 * The canonical spelling (see the top of this file) of the local part
 * s[0, n), n at most LOCAL_PART_MAX, into out; its length, or 0 when it
 * is neither a Dot-string nor a quoted string.
 */
static size_t
canonical_local_part(const char *s, size_t n, char *out)
{
	char content[LOCAL_PART_MAX] = { 0 };
	size_t len = 0, o = 0;

	if (s[0] != '"') {
		if (!is_dot_string(s, n))
			return 0;
		memcpy(out, s, n);
		return n;
	}
	for (size_t i = 1; i + 1 < n; i++) {	/* between the quotes */
		if (s[i] == '\\')
			i++;
		content[len++] = s[i];
	}
	if (is_dot_string(content, len)) {
		memcpy(out, content, len);
		return len;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (content[i] == '"' || content[i] == '\\')
			out[o++] = '\\';
		out[o++] = content[i];
	}
	out[o++] = '"';
	return o;
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
	char local[LOCAL_PART_MAX];
	const char *domain;
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
	if (llen > LOCAL_PART_MAX)
		return PATH_TOO_LONG;
	*end = s + llen + 1 + dlen;
	domain = s + llen + 1;
	if ((llen = canonical_local_part(s, llen, local)) == 0)
		return PATH_SYNTAX;
	r = build_mailbox(p, local, llen, domain, dlen);
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
