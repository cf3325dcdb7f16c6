/* nexthop.c - parsing a routes entry's value (see nexthop.h). */
#include "nexthop.h"

#include <string.h>

#include "address.h"
#include "util.h"

static const char *const level_names[] = { "none", "may", "encrypt",
	"verify" };

int
tls_level_parse(const char *s, enum tls_level *level)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*level = (enum tls_level)i;
			return 0;
		}
	return -1;
}

const char *
tls_level_name(enum tls_level level)
{
	return level_names[level];
}

/* The words after the host: only tls=LEVEL, once. */
static const char *
parse_options(const char *rest, struct nexthop *h)
{
	char word[64];
	size_t n;

	for (;;) {
		rest += strspn(rest, " \t");
		n = strcspn(rest, " \t");
		if (n == 0)
			return NULL;
		if (n >= sizeof word)
			return "unknown option";
		memcpy(word, rest, n);
		word[n] = '\0';
		rest += n;
		if (strncmp(word, "tls=", 4) != 0)
			return "unknown option";
		if (h->tls_given || tls_level_parse(word + 4, &h->tls) < 0)
			return "tls= must be none, may, encrypt or verify";
		h->tls_given = 1;
	}
}

/* NULL when value is a good route; else what is wrong with it. */
const char *
nexthop_parse(const char *value, struct nexthop *h)
{
	char where[300];
	size_t n = strcspn(value, " \t");
	const char *err, *hostport = where;

	memset(h, 0, sizeof *h);
	if (n == 0 || n >= sizeof where)
		return "bad HOST[:PORT]";
	memcpy(where, value, n);
	where[n] = '\0';
	if ((err = parse_options(value + n, h)) != NULL)
		return err;
	if (strncmp(where, "lmtp:unix:/", 11) == 0) {
		h->kind = NEXTHOP_LMTP_UNIX;
		if (str_copy(h->host, where + 10, sizeof h->host) >=
		    sizeof h->host)
			return "path too long";
	} else {
		if (strncmp(where, "lmtp:", 5) == 0) {
			h->kind = NEXTHOP_LMTP;
			hostport += 5;
		} else if (strncmp(where, "smtps:", 6) == 0) {
			h->kind = NEXTHOP_SMTPS;
			hostport += 6;
		}
		if (parse_host_port(hostport, h->host, sizeof h->host,
		    &h->port) < 0)
			return "bad HOST[:PORT]";
		/* a port of the kind's own when none is written */
		if (strchr(hostport[0] == '[' ? strchr(hostport, ']') :
		    hostport, ':') == NULL)
			h->port = h->kind == NEXTHOP_LMTP ? 24 :
			    h->kind == NEXTHOP_SMTPS ? 465 : 25;
	}
	if (h->tls_given && (h->kind == NEXTHOP_LMTP ||
	    h->kind == NEXTHOP_LMTP_UNIX))
		return "LMTP takes no tls=";
	if (h->kind == NEXTHOP_SMTPS && h->tls_given && h->tls < TLS_ENCRYPT)
		return "smtps: needs tls=encrypt or tls=verify";
	return NULL;
}
