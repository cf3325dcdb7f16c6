/*
 * masquerade.c - Postfix's masquerade_domains in postern: with
 * "masquerade example.org", alice@host.example.org (any subdomain of a
 * listed domain) is shown as alice@example.org, so that mail from every
 * host of a site leaves under the site's name.  The listed domains are
 * tried in order and the first that matches decides; a domain equal to
 * one listed is left alone, as are the local parts of
 * masqueradeexceptions (root, say, whose host is worth knowing).
 * deliver applies it to the envelope sender of mail it sends to other
 * hosts; postern-sendmail also to the sender fields of the header.
 */
#include "masquerade.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* Whether the space-separated list has word (len octets; any case). */
static int
listed(const char *list, const char *word, size_t len)
{
	while (*list) {
		size_t n = strcspn(list, " ");

		if (n == len && strncasecmp(list, word, len) == 0)
			return 1;
		list += n;
		list += *list == ' ';
	}
	return 0;
}

/*
 * The listed domain that domain (len octets) is to be shown as, or NULL:
 * a domain under the first listed one it falls in or equals.
 */
static const char *
masquerade_domain(const struct config *c, const char *domain, size_t len,
    size_t *outlen)
{
	for (const char *m = c->masquerade; *m;) {
		size_t n = strcspn(m, " ");

		if (len == n && strncasecmp(domain, m, n) == 0)
			return NULL;
		if (len > n + 1 && domain[len - n - 1] == '.' &&
		    strncasecmp(domain + len - n, m, n) == 0) {
			*outlen = n;
			return m;
		}
		m += n;
		m += *m == ' ';
	}
	return NULL;
}

/* addr masqueraded into out: 1 when it changed, 0 when not (out = addr). */
int
masquerade_address(const struct config *c, const char *addr, char *out,
    size_t size)
{
	const char *at = strrchr(addr, '@'), *to;
	size_t tolen;

	str_copy(out, addr, size);
	if (at == NULL || at == addr ||
	    listed(c->masquerade_exceptions, addr, (size_t)(at - addr)) ||
	    (to = masquerade_domain(c, at + 1, strlen(at + 1), &tolen)) ==
	    NULL ||
	    (size_t)snprintf(out, size, "%.*s@%.*s", (int)(at - addr), addr,
	    (int)tolen, to) >= size) {
		str_copy(out, addr, size);
		return 0;
	}
	return 1;
}

static int
local_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || strchr("!#$%&'*+/=?^_`{|}~.-", ch);
}

static int
domain_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
}

/*
 * A header field's body (len octets) with each local@domain in it
 * masqueraded, into out (NUL-terminated); the number of addresses
 * changed, or -1 when out is too small.  Text, not a parse: an address
 * in a comment or a display name changes too, which does no harm.
 */
int
masquerade_field(const struct config *c, const char *value, size_t len,
    char *out, size_t size)
{
	size_t o = 0, i = 0, changed = 0;

	while (i < len) {
		size_t d = i + 1, dlen, tolen, l = i;
		const char *to = NULL;

		if (value[i] == '@') {
			while (d < len && domain_char(value[d]))
				d++;
			dlen = d - i - 1;
			while (l > 0 && local_char(value[l - 1]))
				l--;
			if (dlen > 0 && l < i &&
			    !listed(c->masquerade_exceptions, value + l, i - l))
				to = masquerade_domain(c, value + i + 1, dlen,
				    &tolen);
		}
		if (to == NULL) {
			if (o + 1 >= size)
				return -1;
			out[o++] = value[i++];
			continue;
		}
		if (o + tolen + 2 >= size)
			return -1;
		out[o++] = '@';
		memcpy(out + o, to, tolen);
		o += tolen;
		i = d;
		changed++;
	}
	if (o >= size)
		return -1;
	out[o] = '\0';
	return (int)changed;
}
