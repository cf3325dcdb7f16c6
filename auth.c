/*
 * auth.c - password checks for SMTP AUTH.
 *
 * The passwd file holds "user@domain:HASH" with crypt(3) hashes
 * (yescrypt, sha512-crypt, ...).  An unknown user costs the same hashing
 * as a known one (the password is checked against another user's hash,
 * so the method and its cost are those of the file), and a password
 * too long for crypt(3) is refused as a wrong one after the same work,
 * so neither the time nor the reply of a refusal tells who exists.  A
 * checkpassword program (djb's interface) gets "user NUL password NUL
 * timestamp NUL" on its descriptor 3 and exits 0 to accept, 1 to
 * refuse; anything else is a temporary failure.  Passwords are wiped
 * from memory after use and never logged.
 */
#include "auth.h"

#include <crypt.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "log.h"
#include "md5.h"
#include "tables.h"
#include "util.h"

#define CHECKPASSWORD_TIMEOUT 10	/* seconds */

typedef char *(*crypt_r_function)(const char *, const char *,
    struct crypt_data *);

/*
 * crypt_r from libcrypt, loaded on the first password check rather than
 * at start: most SMTP sessions never log in, and loading the library
 * cost each of them about 45 microseconds (bench/start).  NULL, logged
 * once, if it cannot be loaded: the login is then a temporary failure.
 */
static crypt_r_function
crypt_function(void)
{
	static crypt_r_function fn;
	static int tried;
	void *lib;

	if (tried)
		return fn;
	tried = 1;
	lib = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL);
	if (lib != NULL)
		*(void **)&fn = dlsym(lib, "crypt_r");
	if (fn == NULL)
		log_msg(LOG_ERR, "cannot load crypt_r from libcrypt.so.1: %s",
		    dlerror());
	return fn;
}

/* For unknown users when the file has no entry to borrow a hash from. */
static const char fallback_hash[] = "$6$postern.dummy.salt$";

int
auth_available(const struct config *c)
{
	return c->tables[TABLE_PASSWD].present || c->checkpassword[0] != '\0';
}

static int
equal_strings(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char diff = na != nb;

	for (size_t i = 0; i < na && i < nb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/*
 * A user's hash or secret in passwd or pop3secrets.  The entry is
 * "address TAB credential"; under casesensitive the local part of the
 * login must be the entry's, exactly.  An entry without the address
 * comes from an image compiled by an older makedb: usable only when
 * case does not matter.
 */
static const char *
credential(const struct config *c, enum table_id id, const char *user)
{
	char key[300];
	struct mailpath p;
	const char *entry, *tab, *rest;

	str_copy(key, user, sizeof key);
	str_lower(key);
	entry = table_get(&c->tables[id], key);
	if (entry == NULL)
		return NULL;
	tab = strchr(entry, '\t');
	if (tab == NULL)
		return c->casesensitive ? NULL : entry;
	if (c->casesensitive && (path_parse(user, &p, &rest, 0, 1) !=
	    PATH_OK || *rest != '\0' || !entry_matches_case(entry, &p, 1)))
		return NULL;
	return tab + 1;
}

/*
 * The hash an unknown user's password is checked against: some real
 * entry's, so that its method and cost (yescrypt's, sha512-crypt's
 * rounds) are the file's own.  Its result is never compared.
 */
static const char *
cost_alike_hash(const struct config *c)
{
	const char *any = table_any(&c->tables[TABLE_PASSWD]), *tab;

	if (any != NULL && (tab = strchr(any, '\t')) != NULL)
		any = tab + 1;
	return any != NULL && any[0] == '$' ? any : fallback_hash;
}

static enum auth_result
check_passwd_file(const struct config *c, const char *user,
    const char *password)
{
	const char *hash = credential(c, TABLE_PASSWD, user);
	int too_long = strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE;
	crypt_r_function crypt_fn = crypt_function();
	struct crypt_data *cd;
	const char *out;
	enum auth_result r;

	cd = crypt_fn != NULL ? calloc(1, sizeof *cd) : NULL;
	if (cd == NULL)
		return AUTH_TEMP;
	/* A password crypt(3) refuses still costs one hashing, then fails. */
	out = crypt_fn(too_long ? "" : password,
	    hash ? hash : cost_alike_hash(c), cd);
	if (hash == NULL || too_long)
		r = AUTH_BAD;
	else if (out == NULL || out[0] == '*')
		r = AUTH_TEMP;		/* a hash crypt(3) cannot use */
	else
		r = equal_strings(out, hash) ? AUTH_OK : AUTH_BAD;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return r;
}

static enum auth_result
wait_checkpassword(pid_t pid)
{
	int status;

	for (int i = 0; i < CHECKPASSWORD_TIMEOUT * 20; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (!WIFEXITED(status))
				return AUTH_TEMP;
			if (WEXITSTATUS(status) == 0)
				return AUTH_OK;
			return WEXITSTATUS(status) == 1 ? AUTH_BAD : AUTH_TEMP;
		}
		if (r < 0 && errno != EINTR)
			return AUTH_TEMP;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return AUTH_TEMP;
}

static enum auth_result
run_checkpassword(const char *program, const char *user,
    const char *password)
{
	char buf[700], stamp[32];
	size_t nu = strlen(user), np = strlen(password), ns;
	int fds[2];
	pid_t pid;
	enum auth_result r;

	snprintf(stamp, sizeof stamp, "%lld", (long long)time(NULL));
	ns = strlen(stamp);
	if (nu + np + ns + 3 > sizeof buf || pipe(fds) < 0)
		return AUTH_TEMP;
	pid = fork();
	if (pid == 0) {
		close(fds[1]);
		if (dup2(fds[0], 3) < 0)
			_exit(111);
		if (fds[0] != 3)
			close(fds[0]);
		signal(SIGPIPE, SIG_DFL);
		execl(program, program, "/bin/true", (char *)NULL);
		_exit(111);
	}
	close(fds[0]);
	if (pid < 0) {
		close(fds[1]);
		return AUTH_TEMP;
	}
	memcpy(buf, user, nu + 1);
	memcpy(buf + nu + 1, password, np + 1);
	memcpy(buf + nu + np + 2, stamp, ns + 1);
	(void)write_all(fds[1], buf, nu + np + ns + 3);
	explicit_bzero(buf, sizeof buf);
	close(fds[1]);
	r = wait_checkpassword(pid);
	return r;
}

enum auth_result
auth_check(const struct config *c, const char *user, const char *password)
{
	if (c->tables[TABLE_PASSWD].present) {
		enum auth_result r = check_passwd_file(c, user, password);
		if (r != AUTH_BAD || c->checkpassword[0] == '\0')
			return r;
	}
	if (c->checkpassword[0] != '\0')
		return run_checkpassword(c->checkpassword, user, password);
	return AUTH_BAD;
}

/*
 * APOP (RFC 1939): digest must be the MD5, in lower-case hex, of the
 * greeting's stamp followed by the user's secret from pop3secrets.  An
 * unknown user costs the same hashing as a known one.
 */
enum auth_result
auth_check_apop(const struct config *c, const char *user, const char *stamp,
    const char *digest)
{
	const char *secret = credential(c, TABLE_POP3SECRETS, user);
	struct md5 m;
	char want[33];
	int ok;

	md5_init(&m);
	md5_update(&m, stamp, strlen(stamp));
	md5_update(&m, secret ? secret : "", secret ? strlen(secret) : 0);
	md5_hex(&m, want);
	ok = secret != NULL && equal_strings(want, digest);
	explicit_bzero(want, sizeof want);
	return ok ? AUTH_OK : AUTH_BAD;
}

/*
 * RFC 4616 PLAIN, decoded: authzid NUL authcid NUL password.  Points
 * *user and *password into data; *user is "" when the authzid names
 * someone else, since acting as another user is refused.  -1 when the
 * response is malformed: fewer or more than two NULs (RFC 4616 section
 * 2 allows none in the password), or an empty authcid.
 */
int
auth_plain_split(char *data, size_t len, const char **user, char **password)
{
	char *u = memchr(data, '\0', len), *p;

	if (u == NULL || (p = memchr(u + 1, '\0',
	    len - (size_t)(u + 1 - data))) == NULL)
		return -1;
	if (memchr(p + 1, '\0', len - (size_t)(p + 1 - data)) != NULL ||
	    p == u + 1)
		return -1;
	u++;
	*user = data[0] != '\0' && strcmp(data, u) != 0 ? "" : u;
	*password = p + 1;
	return 0;
}
