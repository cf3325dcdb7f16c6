/*
 * tables.c - parsing and loading the list files.
 *
 * Every file is parsed by one function per format into key and value
 * pairs; the keys are normalised (lower case, canonical addresses) so
 * that a lookup is one hash probe.  The same parsers serve smtpd, which
 * reads the text when no current FILE.db exists, and makedb, which
 * compiles FILE.db, so both always agree on what a line means.
 *
 * Values: clients hold the action; senders and recipients the entry as
 * written; users "address TAB maildir"; aliases "address TAB targets"
 * with the targets joined by commas; domains nothing.
 */
#include "tables.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "address.h"
#include "conffile.h"
#include "nexthop.h"
#include "util.h"

#define KEY_MAX 1100
#define VALUE_MAX 4200
#define LARGE_TEXT_TABLE 1000	/* entries: past this, advise makedb */

static const char *const names[TABLE_COUNT] = {
	"domains", "relaydomains", "clients", "senders", "recipients",
	"users", "aliases", "routes", "passwd", "pop3secrets"
};

const char *
table_name(enum table_id id)
{
	return names[id];
}

struct parsed {
	char key[KEY_MAX];
	char value[VALUE_MAX];
};

/* A domain as the tables hold it: lower case, no trailing dot. */
static int
normal_domain(char *out, size_t outsize, const char *d)
{
	size_t n = strlen(d);

	if (n > 1 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > DOMAIN_MAX || n >= outsize || !domain_syntax_ok(d, n))
		return -1;
	memcpy(out, d, n);
	out[n] = '\0';
	str_lower(out);
	return 0;
}

static const char *
parse_domain_line(char *line, struct parsed *p)
{
	if (normal_domain(p->key, sizeof p->key, line) < 0)
		return "not a domain";
	p->value[0] = '\0';
	return NULL;
}

static char *
next_word(char **s)
{
	char *w = *s, *e;

	while (isspace((unsigned char)*w))
		w++;
	if (*w == '\0')
		return NULL;
	e = w;
	while (*e && !isspace((unsigned char)*e))
		e++;
	if (*e)
		*e++ = '\0';
	*s = e;
	return w;
}

static const char *
parse_client_line(char *line, struct parsed *p)
{
	char *addr = next_word(&line), *action = next_word(&line), *slash;
	unsigned long long prefix;
	struct client_net net;

	if (addr == NULL || action == NULL || next_word(&line) != NULL)
		return "expected ADDRESS[/PREFIX] ACTION";
	if (strcmp(action, "allow") != 0 && strcmp(action, "deny") != 0 &&
	    strcmp(action, "relay") != 0)
		return "ACTION must be allow, deny or relay";
	slash = strchr(addr, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (client_net_parse(&net, addr) < 0)
		return "not an IPv4 or IPv6 address";
	if (slash != NULL) {
		/* ::ffff:a.b.c.d/N counts IPv6 bits; the rule is IPv4. */
		if (parse_ulong(slash, net.mapped ? 128 : net.bits,
		    &prefix) < 0 || (net.mapped && prefix < 96))
			return "bad prefix length";
		client_net_narrow(&net, (unsigned)(net.mapped ? prefix - 96 :
		    prefix));
	}
	client_net_key(&net, p->key, sizeof p->key);
	str_copy(p->value, action, sizeof p->value);
	return NULL;
}

/* senders, recipients: user@host, @host, .example.com */
static const char *
parse_address_pattern(char *line, struct parsed *p)
{
	char dom[DOMAIN_MAX + 1];
	struct mailpath path;
	const char *rest;

	if (strpbrk(line, " \t") != NULL)
		return "white space in an address";
	if (line[0] == '@' || line[0] == '.') {
		if (normal_domain(dom, sizeof dom, line + 1) < 0)
			return "not a domain";
		snprintf(p->key, sizeof p->key, "%c%s", line[0], dom);
		str_copy(p->value, p->key, sizeof p->value);
		return NULL;
	}
	if (path_parse(line, &path, &rest, 0, 1) != PATH_OK ||
	    path.domain == NULL || *rest != '\0')
		return "not an address";
	address_key(&path, p->key, sizeof p->key);
	str_copy(p->value, path.addr, sizeof p->value);
	return NULL;
}

static const char *
parse_user_line(char *line, struct parsed *p)
{
	char *addr = next_word(&line), *maildir = next_word(&line);
	struct mailpath path;
	const char *rest;

	if (addr == NULL || next_word(&line) != NULL)
		return "expected ADDRESS [MAILDIR]";
	if (path_parse(addr, &path, &rest, 0, 1) != PATH_OK ||
	    path.domain == NULL || path.is_literal)
		return "not an address";
	if (maildir != NULL && maildir[0] != '/')
		return "MAILDIR must be an absolute path";
	address_key(&path, p->key, sizeof p->key);
	if ((size_t)snprintf(p->value, sizeof p->value, "%s\t%s", path.addr,
	    maildir ? maildir : "") >= sizeof p->value)
		return "MAILDIR too long";
	return NULL;
}

/* A target: an address, or "@domain" for a catch-all's local part. */
static const char *
append_target(struct parsed *p, size_t *len, char *target, int catchall)
{
	char addr[PATH_MAX_SMTP + 2];
	struct mailpath path;
	const char *rest;
	size_t n;

	if (target[0] == '@') {
		if (!catchall)
			return "a target @domain is for an @domain alias only";
		if (normal_domain(addr + 1, sizeof addr - 1, target + 1) < 0)
			return "a target @domain is not a domain";
		addr[0] = '@';
	} else if (path_parse(target, &path, &rest, 0, 1) != PATH_OK ||
	    path.domain == NULL) {
		return "a target is not an address";
	} else {
		str_copy(addr, path.addr, sizeof addr);
	}
	n = strlen(addr);
	if (*len + n + 2 >= sizeof p->value)
		return "too many targets";
	if (p->value[*len - 1] != '\t')
		p->value[(*len)++] = ',';
	memcpy(p->value + *len, addr, n + 1);
	*len += n;
	return NULL;
}

/* name@domain: target, target, ...; @domain: ... is the catch-all */
static const char *
parse_alias_line(char *line, struct parsed *p)
{
	char *colon = strchr(line, ':'), *target, *save = NULL;
	struct mailpath path;
	const char *rest, *why;
	int catchall = line[0] == '@';
	size_t len;

	if (colon == NULL)
		return "expected ADDRESS: TARGET, TARGET";
	*colon = '\0';
	if (catchall) {
		p->key[0] = '@';
		if (normal_domain(p->key + 1, sizeof p->key - 1,
		    str_trim(line + 1)) < 0)
			return "not a domain";
	} else if (path_parse(line, &path, &rest, 0, 1) != PATH_OK ||
	    path.domain == NULL || path.is_literal || *rest != '\0') {
		return "not an address";
	} else {
		address_key(&path, p->key, sizeof p->key);
	}
	len = (size_t)snprintf(p->value, sizeof p->value, "%s\t",
	    catchall ? p->key : path.addr);
	for (target = strtok_r(colon + 1, ", \t", &save); target != NULL;
	    target = strtok_r(NULL, ", \t", &save))
		if ((why = append_target(p, &len, target, catchall)) != NULL)
			return why;
	if (p->value[len - 1] == '\t')
		return "no targets";
	return NULL;
}

/* domain NEXTHOP [tls=LEVEL], or * ... for a smarthost (nexthop.h) */
static const char *
parse_route_line(char *line, struct parsed *p)
{
	char *domain = next_word(&line);
	struct nexthop h;
	const char *err;

	line = str_trim(line);
	if (domain == NULL || *line == '\0')
		return "expected DOMAIN HOST[:PORT]";
	if (strcmp(domain, "*") == 0)
		str_copy(p->key, "*", sizeof p->key);
	else if (normal_domain(p->key, sizeof p->key, domain) < 0)
		return "not a domain";
	if ((err = nexthop_parse(line, &h)) != NULL)
		return err;
	if (str_copy(p->value, line, sizeof p->value) >= sizeof p->value)
		return "too long";
	return NULL;
}

/*
 * A credential entry: keyed by the address in lower case, its value
 * "address TAB credential", the address as written so that
 * casesensitive can compare local parts.
 */
static const char *
address_value(struct parsed *p, const struct mailpath *path,
    const char *credential)
{
	address_key(path, p->key, sizeof p->key);
	if ((size_t)snprintf(p->value, sizeof p->value, "%s\t%s", path->addr,
	    credential) >= sizeof p->value)
		return "too long";
	return NULL;
}

/* user@domain:CRYPT-HASH */
static const char *
parse_passwd_line(char *line, struct parsed *p)
{
	char *colon = strchr(line, ':');
	struct mailpath path;
	const char *rest;

	if (colon == NULL)
		return "expected USER:HASH";
	*colon = '\0';
	if (path_parse(line, &path, &rest, 0, 1) != PATH_OK ||
	    path.domain == NULL || *rest != '\0')
		return "not an address";
	if (colon[1] != '$' || strpbrk(colon + 1, " \t:") != NULL)
		return "not a crypt(3) hash";
	return address_value(p, &path, colon + 1);
}

/* user@domain:SECRET, the plaintext secret APOP needs (RFC 1939). */
static const char *
parse_secret_line(char *line, struct parsed *p)
{
	char *colon = strchr(line, ':');
	struct mailpath path;
	const char *rest;

	if (colon == NULL || colon[1] == '\0')
		return "expected USER:SECRET";
	*colon = '\0';
	if (path_parse(line, &path, &rest, 0, 1) != PATH_OK ||
	    path.domain == NULL || *rest != '\0')
		return "not an address";
	return address_value(p, &path, colon + 1);
}

typedef const char *(*parse_fn)(char *line, struct parsed *p);

static const parse_fn parsers[TABLE_COUNT] = {
	parse_domain_line, parse_domain_line, parse_client_line,
	parse_address_pattern, parse_address_pattern, parse_user_line,
	parse_alias_line, parse_route_line, parse_passwd_line,
	parse_secret_line
};

struct load_ctx {
	enum table_id id;
	struct db_builder builder;
};

static int
table_line(void *ctx, char *line, const char *file, unsigned lineno)
{
	struct load_ctx *lc = ctx;
	struct parsed p;
	const char *why = parsers[lc->id](line, &p);

	if (why != NULL) {
		conf_warn(file, lineno, why);
		return 0;
	}
	return db_builder_add(&lc->builder, p.key, strlen(p.key), p.value,
	    lineno);
}

static void
duplicate_line(void *ctx, unsigned line)
{
	conf_warn(names[((struct load_ctx *)ctx)->id], line,
	    "duplicate entry, the first one wins");
}

/* Reads the text file into t; 0, or -1 with err set. */
static int
load_text(struct table *t, enum table_id id, const char *dir,
    const struct stat *st, char *err, size_t errlen)
{
	struct load_ctx lc = { .id = id };
	int r;

	r = conf_read_lines(dir, names[id], table_line, &lc, err, errlen);
	if (r == 0 && db_build(&lc.builder, st, &t->db, duplicate_line,
	    &lc) < 0) {
		snprintf(err, errlen, "out of memory loading %s", names[id]);
		r = -1;
	}
	db_builder_free(&lc.builder);
	return r;
}

/* Uses DIR/NAME.db when it was compiled from the text file as it is. */
static int
load_compiled(struct table *t, enum table_id id, const char *dir,
    const struct stat *st)
{
	char path[4096];
	int fd, r;

	snprintf(path, sizeof path, "%s/%s.db", dir, names[id]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = db_map(&t->db, fd, st);
	close(fd);
	if (r < 0)
		conf_warn(names[id], 0, "the .db file is not current; "
		    "reading the text (run postern-makedb)");
	return r;
}

/* 1 when DIR/NAME exists (st filled), 0 when absent, -1 on error. */
static int
stat_text(enum table_id id, const char *dir, struct stat *st, char *err,
    size_t errlen)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, names[id]);
	if (stat(path, st) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
	return -1;
}

int
table_load(struct table *t, enum table_id id, const char *dir, char *err,
    size_t errlen)
{
	struct stat st;
	int r;

	memset(t, 0, sizeof *t);
	if ((r = stat_text(id, dir, &st, err, errlen)) <= 0)
		return r;
	t->present = 1;
	if (load_compiled(t, id, dir, &st) == 0)
		return 0;
	if (load_text(t, id, dir, &st, err, errlen) < 0)
		return -1;
	if (db_count(&t->db) > LARGE_TEXT_TABLE)
		conf_warn(names[id], 0, "a long list read as text at each "
		    "connection; compile it with postern-makedb");
	return 0;
}

/* makedb: DIR/NAME -> DIR/NAME.db.  *present says if the text exists. */
int
table_compile(enum table_id id, const char *dir, int *present, char *err,
    size_t errlen)
{
	char dbname[64];
	struct table t;
	struct stat st;
	int dirfd, r;

	if ((*present = stat_text(id, dir, &st, err, errlen)) <= 0)
		return *present;
	memset(&t, 0, sizeof t);
	if (load_text(&t, id, dir, &st, err, errlen) < 0)
		return -1;
	snprintf(dbname, sizeof dbname, "%s.db", names[id]);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = dirfd < 0 ? -1 : db_write(&t.db, dirfd, dbname);
	if (r < 0)
		snprintf(err, errlen, "cannot write %s/%s: %s", dir, dbname,
		    strerror(errno));
	if (dirfd >= 0)
		close(dirfd);
	db_close(&t.db);
	return r;
}

const char *
table_get(const struct table *t, const char *key)
{
	return db_get(&t->db, key, strlen(key));
}

/* The value of some entry of t, or NULL when it is empty. */
const char *
table_any(const struct table *t)
{
	return db_any_value(&t->db);
}

void
table_free(struct table *t)
{
	db_close(&t->db);
}
