/*
 * smtpauth.c - logging in to a route's host (see smtpauth.h).
 *
 * The file is read at each use, so a changed password needs no restart;
 * it must be a regular file that only its owner (deliver's user, or
 * root) can read or write: a password others could read is a password
 * already lost, and sending it would hide that.  Passwords are never
 * logged: reasons quote only the server's replies.
 */
#include "smtpauth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "util.h"

#define SMTPAUTH_FILE "smtpauth"

/* "host user password": the password is the rest of the line. */
static int
match_line(char *line, const char *host, struct smtpauth_cred *cr)
{
	char *h = line, *u, *p;

	line[strcspn(line, "\r\n")] = '\0';
	h += strspn(h, " \t");
	if (*h == '#' || *h == '\0')
		return 0;
	u = h + strcspn(h, " \t");
	if (*u == '\0')
		return 0;
	*u++ = '\0';
	u += strspn(u, " \t");
	p = u + strcspn(u, " \t");
	if (*p == '\0')
		return 0;
	*p++ = '\0';
	p = str_trim(p);
	if (strcasecmp(h, host) != 0 || *p == '\0')
		return 0;
	return str_copy(cr->user, u, sizeof cr->user) < sizeof cr->user &&
	    str_copy(cr->password, p, sizeof cr->password) <
	    sizeof cr->password;
}

/*
 * 1 credentials for host, 0 none (no file, or no entry), -1 a file that
 * must not be used (why says so).
 */
int
smtpauth_lookup(const struct config *c, const char *host,
    struct smtpauth_cred *cr, char *why, size_t whysize)
{
	char path[1100], line[1024];
	struct stat st;
	int fd, found = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", c->dir, SMTPAUTH_FILE);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, whysize, "4.3.5 %s: %s", path, strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
	    (st.st_uid != geteuid() && st.st_uid != 0)) {
		snprintf(why, whysize, "4.3.5 %s is not a file of mode 0600 "
		    "owned by deliver's user: not used", path);
		goto bad;
	}
	f = fdopen(fd, "r");
	if (f == NULL)
		goto bad;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = match_line(line, host, cr);
	fclose(f);
	return found;
bad:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
await(struct conn *k, unsigned timeout, struct reply *r)
{
	conn_expect_within(k, timeout);
	conn_flush(k);
	return conn_read_reply(k, r);
}

/* AUTH PLAIN with the initial response (RFC 4616). */
static int
auth_plain(struct conn *k, const struct smtpauth_cred *cr, unsigned timeout,
    struct reply *r)
{
	char raw[520], b64[700];
	size_t nu = strlen(cr->user), np = strlen(cr->password);

	raw[0] = '\0';
	memcpy(raw + 1, cr->user, nu);
	raw[1 + nu] = '\0';
	memcpy(raw + 2 + nu, cr->password, np);
	if (base64_encode(raw, 2 + nu + np, b64, sizeof b64) < 0)
		return -1;
	conn_cmd(k, "AUTH PLAIN %s", b64);
	explicit_bzero(raw, sizeof raw);
	explicit_bzero(b64, sizeof b64);
	return await(k, timeout, r);
}

/* AUTH LOGIN: the user name and the password, each after a 334. */
static int
auth_login(struct conn *k, const struct smtpauth_cred *cr, unsigned timeout,
    struct reply *r)
{
	const char *step[2] = { cr->user, cr->password };
	char b64[400];

	conn_cmd(k, "AUTH LOGIN");
	for (int i = 0; i < 2; i++) {
		if (await(k, timeout, r) < 0 || r->code != 334)
			return 0;
		if (base64_encode(step[i], strlen(step[i]), b64,
		    sizeof b64) < 0)
			return -1;
		conn_cmd(k, "%s", b64);
		explicit_bzero(b64, sizeof b64);
	}
	return await(k, timeout, r);
}

static int
offers(const char *mechs, const char *mech)
{
	size_t n = strlen(mech);

	for (const char *p = mechs; *p; p += strcspn(p, " "), p += strspn(p, " "))
		if (strncasecmp(p, mech, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/* 0 logged in; -1 not (why: the server's reply, or what was missing). */
int
smtpauth_login(struct conn *k, const struct smtpauth_cred *cr,
    const struct reply *ehlo, unsigned timeout, char *why, size_t whysize)
{
	char mechs[256];
	struct reply r = { .code = -1 };
	int e;

	if (!k->encrypted) {
		snprintf(why, whysize, "4.7.0 credentials for %s go only "
		    "over TLS, and the session is not encrypted", k->name);
		return -1;
	}
	if (reply_keyword_args(ehlo, "AUTH", mechs, sizeof mechs) == NULL)
		mechs[0] = '\0';
	if (offers(mechs, "PLAIN"))
		e = auth_plain(k, cr, timeout, &r);
	else if (offers(mechs, "LOGIN"))
		e = auth_login(k, cr, timeout, &r);
	else {
		snprintf(why, whysize, "4.7.0 %s offers no AUTH PLAIN or LOGIN "
		    "for the credentials in smtpauth", k->name);
		return -1;
	}
	if (e == 0 && r.code == 235)
		return 0;
	snprintf(why, whysize, "4.7.0 %s refused AUTH: %s", k->name,
	    k->broken ? k->why : r.text);
	return -1;
}
