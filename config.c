/*
 * config.c - reads smtpd.conf and the domain lists.  A file that is
 * absent takes its defaults; a file that exists but cannot be read is an
 * error, never a silent default, because a default may be wider than what
 * the administrator wrote.  A line that cannot be parsed is reported with
 * file and line number and skipped.
 */
#include "config.h"

#include "address.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "dnslist.h"
#include "log.h"
#include "nexthop.h"
#include "util.h"

static int
parse_choice(const char *v, const char *zero, const char *one, int *out)
{
	if (strcmp(v, one) == 0)
		*out = 1;
	else if (strcmp(v, zero) == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_bool(const char *v, int *out)
{
	return parse_choice(v, "no", "yes", out);
}

static int
parse_number(const char *v, unsigned long long max, unsigned long long *out)
{
	return parse_ulong(v, max, out);
}

static int
parse_uint(const char *v, unsigned *out)
{
	unsigned long long n;

	if (parse_number(v, 0xffffffffULL, &n) < 0)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/*
 * A value of words separated by blanks, kept with one space between
 * them; with domains, each must be a domain name.
 */
static int
word_list(const char *v, int domains, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	while (*v) {
		size_t len;

		v += strspn(v, " \t");
		len = strcspn(v, " \t");
		if (len == 0)
			break;
		if ((domains && !domain_syntax_ok(v, len)) ||
		    n + len + 2 > size)
			return -1;
		n += (size_t)snprintf(out + n, size - n, "%s%.*s", n ? " " : "",
		    (int)len, v);
		v += len;
	}
	return 0;
}

/* The keys of the checks that ask others: DNS lists, policy servers. */
static int
apply_checks_setting(struct config *c, const char *key, const char *v)
{
	if (strcmp(key, "dnsbl") == 0)
		return dnslist_add(c, DNSLIST_BLOCK, v);
	if (strcmp(key, "dnswl") == 0)
		return dnslist_add(c, DNSLIST_ALLOW, v);
	if (strcmp(key, "rhsbl") == 0)
		return dnslist_add(c, DNSLIST_SENDER, v);
	if (strcmp(key, "dnsblthreshold") == 0) {
		unsigned t;

		if (parse_uint(v, &t) < 0 || t == 0 || t > 1000)
			return -1;
		c->dnsblthreshold = (int)t;
		return 0;
	}
	if (strcmp(key, "dnsblreply") == 0)
		return parse_choice(v, "reject", "defer", &c->dnsbl_defer);
	if (strcmp(key, "dnsblcheck") == 0)
		return parse_choice(v, "rcpt", "connect", &c->dnsbl_at_connect);
	if (strcmp(key, "policy") == 0) {
		if (c->npolicies >= POLICY_MAX ||
		    (strncmp(v, "inet:", 5) != 0 && strncmp(v, "unix:/", 6) != 0))
			return -1;
		return str_copy(c->policies[c->npolicies++], v,
		    sizeof c->policies[0]) < sizeof c->policies[0] ? 0 : -1;
	}
	if (strcmp(key, "milter") == 0) {
		if (c->nmilters >= MILTER_MAX ||
		    (strncmp(v, "inet:", 5) != 0 && strncmp(v, "unix:/", 6) != 0))
			return -1;
		return str_copy(c->milters[c->nmilters++], v,
		    sizeof c->milters[0]) < sizeof c->milters[0] ? 0 : -1;
	}
	if (strcmp(key, "milterdefault") == 0)
		return parse_choice(v, "tempfail", "accept",
		    &c->milter_default_accept);
	if (strcmp(key, "milterconnecttimeout") == 0)
		return parse_uint(v, &c->milterconnecttimeout) < 0 ||
		    c->milterconnecttimeout == 0 ||
		    c->milterconnecttimeout > 3600 ? -1 : 0;
	if (strcmp(key, "miltertimeout") == 0)
		return parse_uint(v, &c->miltertimeout) < 0 ||
		    c->miltertimeout == 0 || c->miltertimeout > 3600 ? -1 : 0;
	if (strcmp(key, "miltermessagetimeout") == 0)
		return parse_uint(v, &c->miltermessagetimeout) < 0 ||
		    c->miltermessagetimeout == 0 ||
		    c->miltermessagetimeout > 3600 ? -1 : 0;
	if (strcmp(key, "policyeod") == 0)
		return parse_bool(v, &c->policy_eod);
	if (strcmp(key, "policytimeout") == 0)
		return parse_uint(v, &c->policytimeout) < 0 ||
		    c->policytimeout == 0 || c->policytimeout > 3600 ? -1 : 0;
	if (strcmp(key, "policydefault") == 0)
		return str_copy(c->policydefault, v, sizeof c->policydefault) <
		    sizeof c->policydefault ? 0 : -1;
	if (strcmp(key, "checkhelo") == 0)
		return parse_bool(v, &c->checkhelo);
	if (strcmp(key, "checksenderdomain") == 0)
		return parse_bool(v, &c->checksenderdomain);
	if (strcmp(key, "checkclientname") == 0) {
		static const char *const words[] = { "no", "lookup", "reverse",
		    "yes" };

		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			if (strcmp(v, words[i]) == 0) {
				c->checkclientname = (enum clientname_check)i;
				return 0;
			}
		return -1;
	}
	if (strcmp(key, "dnstimeout") == 0)
		return parse_uint(v, &c->dnstimeout) < 0 || c->dnstimeout == 0 ||
		    c->dnstimeout > 60 ? -1 : 0;
	return -2;
}

/* deliver's TLS: the level for MX hosts, the program, the CAs. */
static int
apply_tls_setting(struct config *c, const char *key, const char *v)
{
	if (strcmp(key, "tlslevel") == 0)
		return tls_level_parse(v, &c->tlslevel);
	if (strcmp(key, "tlsclient") == 0)
		return v[0] != '/' || str_copy(c->tlsclient, v,
		    sizeof c->tlsclient) >= sizeof c->tlsclient ? -1 : 0;
	if (strcmp(key, "tlscafile") == 0)
		return v[0] != '/' || str_copy(c->tlscafile, v,
		    sizeof c->tlscafile) >= sizeof c->tlscafile ? -1 : 0;
	return apply_checks_setting(c, key, v);
}

/* Returns 0 when the key and value were understood, -1 otherwise. */
static int
apply_setting(struct config *c, const char *key, const char *v)
{
	if (strcmp(key, "hostname") == 0)
		return str_copy(c->hostname, v, sizeof c->hostname) <
		    sizeof c->hostname ? 0 : -1;
	if (strcmp(key, "masquerade") == 0)
		return word_list(v, 1, c->masquerade, sizeof c->masquerade);
	if (strcmp(key, "masqueradeexceptions") == 0)
		return word_list(v, 0, c->masquerade_exceptions,
		    sizeof c->masquerade_exceptions);
	if (strcmp(key, "origin") == 0)
		return domain_syntax_ok(v, strlen(v)) && str_copy(c->origin, v,
		    sizeof c->origin) < sizeof c->origin ? 0 : -1;
	if (strcmp(key, "banner") == 0)
		return str_copy(c->banner, v, sizeof c->banner) <
		    sizeof c->banner ? 0 : -1;
	if (strcmp(key, "mailroot") == 0)
		return str_copy(c->mailroot, v, sizeof c->mailroot) <
		    sizeof c->mailroot ? 0 : -1;
	if (strcmp(key, "maxsize") == 0)
		return parse_number(v, 1ULL << 50, &c->maxsize);
	if (strcmp(key, "queuelifetime") == 0)
		return parse_number(v, 1ULL << 40, &c->queuelifetime);
	if (strcmp(key, "delaywarning") == 0)
		return parse_number(v, 1ULL << 40, &c->delaywarning);
	if (strcmp(key, "maxrcpt") == 0)
		return parse_uint(v, &c->maxrcpt) < 0 || c->maxrcpt == 0 ||
		    c->maxrcpt > 100000 ? -1 : 0;
	if (strcmp(key, "concurrency") == 0)
		return parse_uint(v, &c->concurrency) < 0 ||
		    c->concurrency == 0 || c->concurrency > 1000 ? -1 : 0;
	if (strcmp(key, "maxerrors") == 0)
		return parse_uint(v, &c->maxerrors) < 0 || c->maxerrors == 0
		    ? -1 : 0;
	if (strcmp(key, "timeout") == 0)
		return parse_uint(v, &c->timeout) < 0 || c->timeout == 0 ||
		    c->timeout > 86400 ? -1 : 0;
	if (strcmp(key, "connecttimeout") == 0)
		return parse_uint(v, &c->connecttimeout) < 0 ||
		    c->connecttimeout == 0 || c->connecttimeout > 3600 ? -1 : 0;
	if (strcmp(key, "messagetimeout") == 0)
		return parse_uint(v, &c->messagetimeout) < 0 ||
		    c->messagetimeout == 0 || c->messagetimeout > 604800 ?
		    -1 : 0;
	if (strcmp(key, "maxmxaddresses") == 0)
		return parse_uint(v, &c->maxmxaddresses) < 0 ||
		    c->maxmxaddresses == 0 || c->maxmxaddresses > 100 ? -1 : 0;
	if (strcmp(key, "pop3timeout") == 0)
		return parse_uint(v, &c->pop3timeout) < 0 ||
		    c->pop3timeout == 0 || c->pop3timeout > 86400 ? -1 : 0;
	if (strcmp(key, "maxsessiontime") == 0)
		return parse_uint(v, &c->maxsessiontime) < 0 ||
		    c->maxsessiontime == 0 || c->maxsessiontime > 604800 ?
		    -1 : 0;
	if (strcmp(key, "greetdelay") == 0)
		return parse_uint(v, &c->greetdelay) < 0 ||
		    c->greetdelay > 3600 ? -1 : 0;
	if (strcmp(key, "barelf") == 0) {
		int reject;

		if (parse_choice(v, "normalize", "reject", &reject) < 0)
			return -1;
		c->barelf = reject ? BARELF_REJECT : BARELF_NORMALIZE;
		return 0;
	}
	if (strcmp(key, "strictsync") == 0)
		return parse_bool(v, &c->strictsync);
	if (strcmp(key, "queuesync") == 0)
		return parse_choice(v, "portable", "ordered",
		    &c->queuesync_ordered);
	if (strcmp(key, "casesensitive") == 0)
		return parse_bool(v, &c->casesensitive);
	if (strcmp(key, "authplaintext") == 0)
		return parse_bool(v, &c->authplaintext);
	if (strcmp(key, "submission") == 0)
		return parse_bool(v, &c->submission);
	if (strcmp(key, "authmaxfail") == 0)
		return parse_uint(v, &c->authmaxfail) < 0 ||
		    c->authmaxfail == 0 ? -1 : 0;
	if (strcmp(key, "authdelay") == 0)
		return parse_uint(v, &c->authdelay) < 0 || c->authdelay > 60 ?
		    -1 : 0;
	if (strcmp(key, "checkpassword") == 0)
		return v[0] != '/' || str_copy(c->checkpassword, v,
		    sizeof c->checkpassword) >= sizeof c->checkpassword ? -1 : 0;
	if (strcmp(key, "vrfy") == 0)
		return parse_bool(v, &c->vrfy);
	if (strcmp(key, "expn") == 0)
		return parse_bool(v, &c->expn);
	if (strcmp(key, "log") == 0)
		return parse_choice(v, "syslog", "stderr", &c->log_stderr);
	if (strcmp(key, "srsdomain") == 0)
		return domain_syntax_ok(v, strlen(v)) && str_copy(c->srsdomain,
		    v, sizeof c->srsdomain) < sizeof c->srsdomain ? 0 : -1;
	if (strcmp(key, "recipientdelimiter") == 0)
		return strpbrk(v, "@\"\\ \t") == NULL &&
		    str_copy(c->recipient_delimiter, v,
		    sizeof c->recipient_delimiter) <
		    sizeof c->recipient_delimiter ? 0 : -1;
	return apply_tls_setting(c, key, v);
}

static int
setting_line(void *ctx, char *line, const char *file, unsigned lineno)
{
	struct config *c = ctx;
	char *key = line, *v = line;
	int r;

	while (*v && !isspace((unsigned char)*v))
		v++;
	if (*v == '\0') {
		conf_warn(file, lineno, "no value");
		return 0;
	}
	*v++ = '\0';
	v = str_trim(v);
	r = apply_setting(c, key, v);
	if (r == -2)
		conf_warn(file, lineno, "unknown key");
	else if (r < 0)
		conf_warn(file, lineno, "bad value");
	return 0;
}

/* The directories before -C and -Q: the environment, else the defaults. */
static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : fallback;
}

const char *
config_conf_dir(void)
{
	return env_or("POSTERN_CONF", CONFIG_DEFAULT_DIR);
}

const char *
config_queue_dir(void)
{
	return env_or("POSTERN_QUEUE", QUEUE_DEFAULT_DIR);
}

void
config_defaults(struct config *c, const char *dir)
{
	memset(c, 0, sizeof *c);
	c->dir = dir;
	if (gethostname(c->hostname, sizeof c->hostname) < 0 ||
	    c->hostname[0] == '\0')
		str_copy(c->hostname, "localhost", sizeof c->hostname);
	c->hostname[sizeof c->hostname - 1] = '\0';
	str_copy(c->banner, "ESMTP", sizeof c->banner);
	str_copy(c->mailroot, "/var/mail/postern", sizeof c->mailroot);
	c->maxsize = 26214400;
	c->queuelifetime = 432000;
	c->maxrcpt = 100;
	c->authmaxfail = 3;
	c->authdelay = 2;
	c->concurrency = 10;
	c->maxerrors = 10;
	c->timeout = 300;
	c->connecttimeout = 30;
	c->messagetimeout = 3600;
	c->maxmxaddresses = 5;
	c->tlslevel = TLS_MAY;
	c->milterconnecttimeout = 30;
	c->miltertimeout = 30;
	c->miltermessagetimeout = 300;
	str_copy(c->tlsclient, "/usr/bin/gnutls-cli", sizeof c->tlsclient);
	c->pop3timeout = 600;	/* RFC 1939: at least ten minutes */
	c->maxsessiontime = 3600;
	c->strictsync = 1;
	c->dnsblthreshold = 1;
	c->dnstimeout = 5;
	c->policytimeout = 10;
	str_copy(c->policydefault, "451 4.3.5 Server configuration problem",
	    sizeof c->policydefault);
}

/*
 * srsdomain's secret: the first line of the file srskey, at least 16
 * octets.  Without one SRS stays off, and says so: a guessable key would
 * let anyone use the host as a relay through forged SRS addresses.
 */
static void
load_srs_key(struct config *c, const char *dir)
{
	char path[1200];
	FILE *f;

	snprintf(path, sizeof path, "%s/srskey", dir);
	f = fopen(path, "re");
	if (f == NULL || fgets(c->srskey, sizeof c->srskey, f) == NULL)
		c->srskey[0] = '\0';
	if (f != NULL)
		fclose(f);
	c->srskey[strcspn(c->srskey, "\r\n")] = '\0';
	if (strlen(c->srskey) < 16) {
		conf_warn("srskey", 1, "missing, or shorter than 16 octets: "
		    "SRS is off");
		c->srsdomain[0] = '\0';
		c->srskey[0] = '\0';
	}
}

int
config_load(struct config *c, const char *dir, unsigned tables, char *err,
    size_t errlen)
{
	struct stat st;

	config_defaults(c, dir);
	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "configuration directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || access(dir, R_OK | X_OK) < 0) {
		snprintf(err, errlen, "configuration directory %s: %s", dir,
		    S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
		return -1;
	}
	if (conf_read_lines(dir, "smtpd.conf", setting_line, c, err,
	    errlen) < 0)
		return -1;
	if (c->srsdomain[0] != '\0')
		load_srs_key(c, dir);
	/* Only the lists this program consults: each one is a stat, an
	 * open and a map (or a parse) at every start. */
	for (int id = 0; id < TABLE_COUNT; id++)
		if ((tables & TABLE_BIT(id)) && table_load(&c->tables[id], (enum table_id)id, dir, err,
		    errlen) < 0)
			return -1;
	return 0;
}

void
config_free(struct config *c)
{
	for (int id = 0; id < TABLE_COUNT; id++)
		table_free(&c->tables[id]);
}
