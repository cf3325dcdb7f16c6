/*
 * dsn.c - RFC 3461 parameters: checked strictly as they arrive (a
 * value that is not what the RFC allows is refused with 501, never
 * stored), written to the envelope in their SMTP form, read back.
 */
#include "dsn.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* xtext (RFC 3461 4): "!".."~" but "+" and "=", or "+" and two HEX. */
static int
xtext_valid(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++) {
		if (*s == '+') {
			if (!isxdigit((unsigned char)s[1]) ||
			    !isxdigit((unsigned char)s[2]) ||
			    islower((unsigned char)s[1]) ||
			    islower((unsigned char)s[2]))
				return 0;
			s += 2;
			n += 2;
		} else if (*s < '!' || *s > '~' || *s == '=') {
			return 0;
		}
	}
	return n <= max;
}

static unsigned
notify_keyword(const char *k, size_t len)
{
	static const struct { const char *name; unsigned bit; } words[] = {
		{ "NEVER", DSN_NOTIFY_NEVER },
		{ "SUCCESS", DSN_NOTIFY_SUCCESS },
		{ "FAILURE", DSN_NOTIFY_FAILURE },
		{ "DELAY", DSN_NOTIFY_DELAY },
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i].name) == len &&
		    str_casecmp_n(k, words[i].name, len) == 0)
			return words[i].bit;
	return 0;
}

/* "NEVER" alone, or a list of SUCCESS, FAILURE, DELAY; 0 if neither. */
static unsigned
parse_notify(const char *v)
{
	unsigned bits = 0;

	while (*v) {
		size_t len = strcspn(v, ",");
		unsigned bit = notify_keyword(v, len);

		if (bit == 0 || (bits & bit))
			return 0;
		bits |= bit;
		v += len;
		if (*v == ',' && *++v == '\0')
			return 0;
	}
	if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
		return 0;
	return bits;
}

/* "addr-type;xtext", the type an atom of letters, digits and "-". */
static int
orcpt_valid(const char *v)
{
	const char *semi = strchr(v, ';');

	if (semi == NULL || semi == v || strlen(v) > DSN_ORCPT_MAX)
		return 0;
	for (const char *p = v; p < semi; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
	return semi[1] != '\0' && xtext_valid(semi + 1, DSN_ORCPT_MAX);
}

int
dsn_mail_param(struct dsn_mail *m, const char *key, const char *value)
{
	if (strcasecmp(key, "RET") == 0) {
		if (m->ret != DSN_RET_NONE || value == NULL)
			return -1;
		if (strcasecmp(value, "FULL") == 0)
			m->ret = DSN_RET_FULL;
		else if (strcasecmp(value, "HDRS") == 0)
			m->ret = DSN_RET_HDRS;
		else
			return -1;
		return 1;
	}
	if (strcasecmp(key, "ENVID") == 0) {
		if (m->envid[0] != '\0' || value == NULL || *value == '\0' ||
		    !xtext_valid(value, DSN_ENVID_MAX))
			return -1;
		str_copy(m->envid, value, sizeof m->envid);
		return 1;
	}
	return 0;
}

int
dsn_rcpt_param(struct dsn_rcpt *r, const char *key, const char *value)
{
	if (strcasecmp(key, "NOTIFY") == 0) {
		if (r->notify != 0 || value == NULL ||
		    (r->notify = parse_notify(value)) == 0)
			return -1;
		return 1;
	}
	if (strcasecmp(key, "ORCPT") == 0) {
		if (r->orcpt[0] != '\0' || value == NULL || !orcpt_valid(value))
			return -1;
		str_copy(r->orcpt, value, sizeof r->orcpt);
		return 1;
	}
	return 0;
}

void
dsn_mail_format(const struct dsn_mail *m, char *out, size_t size)
{
	const char *ret = m->ret == DSN_RET_FULL ? "RET=FULL" :
	    m->ret == DSN_RET_HDRS ? "RET=HDRS" : "";

	snprintf(out, size, "%s%s%s%s", ret, *ret && m->envid[0] ? " " : "",
	    m->envid[0] ? "ENVID=" : "", m->envid);
}

void
dsn_rcpt_format(const struct dsn_rcpt *r, char *out, size_t size)
{
	char notify[40] = "";

	if (r->notify & DSN_NOTIFY_NEVER)
		str_copy(notify, "NEVER", sizeof notify);
	else
		snprintf(notify, sizeof notify, "%s%s%s",
		    r->notify & DSN_NOTIFY_SUCCESS ? ",SUCCESS" : "",
		    r->notify & DSN_NOTIFY_FAILURE ? ",FAILURE" : "",
		    r->notify & DSN_NOTIFY_DELAY ? ",DELAY" : "");
	snprintf(out, size, "%s%s%s%s%s", r->notify ? "NOTIFY=" : "",
	    notify[0] == ',' ? notify + 1 : notify,
	    r->notify && r->orcpt[0] ? " " : "", r->orcpt[0] ? "ORCPT=" : "",
	    r->orcpt);
}

/* Feeds each "KEY=VALUE" word of s to take; -1 at the first it refuses. */
static int
parse_words(const char *s, void *dst,
    int (*take)(void *dst, const char *key, const char *value))
{
	char copy[DSN_PARAMS_MAX + 1], *save = NULL;

	if (strlen(s) >= sizeof copy)
		return -1;
	str_copy(copy, s, sizeof copy);
	for (char *w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		if (take(dst, w, eq + 1) != 1)
			return -1;
	}
	return 0;
}

static int
take_mail(void *dst, const char *key, const char *value)
{
	return dsn_mail_param(dst, key, value);
}

static int
take_rcpt(void *dst, const char *key, const char *value)
{
	return dsn_rcpt_param(dst, key, value);
}

int
dsn_mail_parse(struct dsn_mail *m, const char *s)
{
	memset(m, 0, sizeof *m);
	return parse_words(s, m, take_mail);
}

int
dsn_rcpt_parse(struct dsn_rcpt *r, const char *s)
{
	memset(r, 0, sizeof *r);
	return parse_words(s, r, take_rcpt);
}

/*
 * Without NOTIFY: failures and delays are reported, successes not;
 * with it, exactly what it lists (NEVER: nothing).
 */
int
dsn_wants(const struct dsn_rcpt *r, unsigned event)
{
	if (r->notify == 0)
		return event != DSN_NOTIFY_SUCCESS;
	return (r->notify & event) != 0;
}

static int
hex_value(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : toupper((unsigned char)c) -
	    'A' + 10;
}

void
dsn_xtext_decode(const char *in, char *out, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return;
	while (*in && n + 1 < size) {
		int c = (unsigned char)*in++;
		if (c == '+' && isxdigit((unsigned char)in[0]) &&
		    isxdigit((unsigned char)in[1])) {
			c = hex_value(in[0]) * 16 + hex_value(in[1]);
			in += 2;
		}
		out[n++] = c >= ' ' && c <= '~' ? (char)c : '?';
	}
	out[n] = '\0';
}
