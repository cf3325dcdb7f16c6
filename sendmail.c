/*
 * sendmail.c - postern-sendmail: the sendmail command that cron, mail(1),
 * PHP's mail() and the like call, with Postfix's command line
 * (postern-sendmail(8)).  Also mailq and newaliases, by the name it is
 * called by.
 *
 * It runs as the user who calls it and never touches the queue itself:
 * it reads the message, settles its envelope (the sender, the
 * recipients of the command line and, with -t, of the header), adds the
 * From:, Date: and Message-ID: fields a message must have, removes
 * Bcc:, and hands the result to enqueue, beside it, over the
 * qmail-queue protocol.  enqueue, installed set-user-ID to the queue's
 * owner, is the only privileged step.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "addrlist.h"
#include "config.h"
#include "dsn.h"
#include "masquerade.h"
#include "util.h"

#define HEADER_MAX (1024L * 1024)	/* the header section, in octets */
#define ENVELOPE_MAX (16L * 1024 * 1024)

struct submission {
	const char *sender;	/* -f, or NULL: the user at the origin */
	const char *fullname;	/* -F */
	int extract;		/* -t */
	int resent;		/* the header has Resent- recipient fields */
	int dot_ends;		/* a "." line ends the message (no -i) */
	char origin[256];	/* the domain of unqualified addresses */
	const struct config *cfg;
	char mail_dsn[DSN_PARAMS_MAX + 1];	/* -R, -V in SMTP form */
	char rcpt_dsn[DSN_PARAMS_MAX + 1];	/* -N */
	struct buf header;	/* the header section, LF line ends */
	struct buf env;		/* the qmail-queue envelope being built */
	size_t nrcpts;
	int bad_address;
};

static void NORETURN PRINTF_LIKE(2, 3)
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sendmail: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(code);
}

/* The directory of this program: enqueue and postern-queue are there. */
static void
sibling(const char *name, char *path, size_t size)
{
	if (sibling_program(name, path, size) < 0)
		die(EX_OSFILE, "cannot find my own directory");
}

static void NORETURN
run_sibling(const char *name, char *const extra[])
{
	char path[PATH_MAX + 32];
	char *argv[8];
	int n = 0;

	sibling(name, path, sizeof path);
	argv[n++] = (char *)name;
	while (*extra != NULL && n < 7)
		argv[n++] = *extra++;
	argv[n] = NULL;
	execv(path, argv);
	die(EX_OSFILE, "cannot run %s", path);
}

/* ---- the envelope ---- */

/* The DSN requests of the last envelope item, when there are any. */
static int
add_dsn(struct submission *s, const char *params)
{
	if (params[0] == '\0')
		return 0;
	return buf_append(&s->env, "P", 1) < 0 ||
	    buf_append(&s->env, params, strlen(params) + 1) < 0 ? -1 : 0;
}

/*
 * -N (never, or a list of success, failure, delay), -R (full or hdrs),
 * -V (an envelope ID, in xtext here) as postern-smtpd would take them
 * as NOTIFY, RET and ENVID (RFC 3461), for every recipient.
 */
static void
dsn_options(struct submission *s, const char *notify, const char *ret,
    const char *envid)
{
	struct dsn_mail m;
	struct dsn_rcpt r;
	char xtext[DSN_ENVID_MAX * 3 + 1];
	size_t n = 0;

	memset(&m, 0, sizeof m);
	memset(&r, 0, sizeof r);
	if (notify != NULL && dsn_rcpt_param(&r, "NOTIFY", notify) != 1)
		die(EX_USAGE, "-N %s: never, or success, failure, delay", notify);
	if (ret != NULL && dsn_mail_param(&m, "RET", ret) != 1)
		die(EX_USAGE, "-R %s: full or hdrs", ret);
	if (envid != NULL) {
		for (const char *p = envid; *p && n + 4 < sizeof xtext; p++)
			n += (size_t)snprintf(xtext + n, sizeof xtext - n,
			    *p > ' ' && *p <= '~' && *p != '+' && *p != '=' ?
			    "%c" : "+%02X", (unsigned char)*p);
		if (dsn_mail_param(&m, "ENVID", xtext) != 1)
			die(EX_USAGE, "-V: an envelope ID of at most %d "
			    "characters", DSN_ENVID_MAX);
	}
	dsn_mail_format(&m, s->mail_dsn, sizeof s->mail_dsn);
	dsn_rcpt_format(&r, s->rcpt_dsn, sizeof s->rcpt_dsn);
}

/* user -> user@origin; "<a@b>" -> a@b; then checked as an SMTP path. */
static int
add_address(struct submission *s, char tag, const char *addr)
{
	char qualified[PATH_MAX_SMTP + 8], wrapped[PATH_MAX_SMTP + 16];
	struct mailpath p;
	const char *rest;
	size_t n = strlen(addr);

	if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>') {
		addr++;
		n -= 2;
	}
	if (n > PATH_MAX_SMTP)
		return -1;
	snprintf(qualified, sizeof qualified, "%.*s", (int)n, addr);
	if (n > 0 && strchr(qualified, '@') == NULL &&
	    strlen(qualified) + strlen(s->origin) + 1 <= PATH_MAX_SMTP)
		snprintf(qualified + n, sizeof qualified - n, "@%s", s->origin);
	snprintf(wrapped, sizeof wrapped, "<%s>", qualified);
	if (path_parse(wrapped, &p, &rest, tag == 'F', 1) != PATH_OK ||
	    *rest != '\0')
		return -1;
	if (tag == 'F' && s->cfg != NULL &&
	    masquerade_address(s->cfg, p.addr, qualified, sizeof qualified))
		str_copy(p.addr, qualified, sizeof p.addr);
	if (buf_append(&s->env, &tag, 1) < 0 ||
	    buf_append(&s->env, p.addr, strlen(p.addr) + 1) < 0)
		return -1;
	if (add_dsn(s, tag == 'F' ? s->mail_dsn : s->rcpt_dsn) < 0)
		return -1;
	if (tag == 'T')
		s->nrcpts++;
	return 0;
}

static int
add_recipient(void *ctx, const char *addr)
{
	struct submission *s = ctx;

	if (add_address(s, 'T', addr) < 0) {
		fprintf(stderr, "sendmail: bad recipient address: %s\n", addr);
		s->bad_address = 1;
	}
	return 0;
}

static void
set_sender(struct submission *s)
{
	struct passwd *pw = getpwuid(getuid());
	char user[PATH_MAX_SMTP];
	const char *sender = s->sender;

	if (sender == NULL) {
		if (pw == NULL)
			die(EX_NOUSER, "who are you? (uid %lu unknown)",
			    (unsigned long)getuid());
		snprintf(user, sizeof user, "%s", pw->pw_name);
		sender = user;
	}
	if (strcmp(sender, "<>") == 0)
		sender = "";
	if (add_address(s, 'F', sender) < 0)
		die(EX_DATAERR, "bad sender address: %s", sender);
}

/* ---- the header ---- */

/* Whether the header has a field name (case-insensitive). */
static int
has_field(const struct submission *s, const char *name)
{
	size_t n = strlen(name);
	const char *p = s->header.data, *end = p + s->header.len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':')
			return 1;
		p = eol ? eol + 1 : end;
	}
	return 0;
}

/*
 * Walks the fields of the header: fn gets each field (its first line
 * and continuation lines) whole; a nonzero return drops the field, or
 * replaces it with what fn appended to kept.
 */
typedef int (*field_fn)(struct submission *s, const char *f, size_t n,
    struct buf *kept);

static void
each_field(struct submission *s, field_fn fn)
{
	struct buf kept;
	const char *p = s->header.data, *end = p + s->header.len;

	buf_init(&kept, HEADER_MAX + 4096);
	while (p < end) {
		const char *q = p;
		do {
			const char *eol = memchr(q, '\n', (size_t)(end - q));
			q = eol ? eol + 1 : end;
		} while (q < end && (*q == ' ' || *q == '\t'));
		if (!fn(s, p, (size_t)(q - p), &kept))
			buf_append(&kept, p, (size_t)(q - p));
		p = q;
	}
	buf_free(&s->header);
	s->header = kept;
}

static int
field_is(const char *f, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(f, name, k) == 0 && f[k] == ':';
}

/* -t: To, Cc and Bcc give recipients (Resent- ones, when present). */
static int
extract_field(struct submission *s, const char *f, size_t n, struct buf *kept)
{
	static const char *const plain[] = { "To", "Cc", "Bcc" };
	static const char *const resent[] = { "Resent-To", "Resent-Cc",
	    "Resent-Bcc" };
	const char *const *names = s->resent ? resent : plain;

	(void)kept;
	for (int i = 0; i < 3; i++)
		if (field_is(f, n, names[i])) {
			size_t k = strlen(names[i]) + 1;
			addrlist_parse(f + k, n - k, add_recipient, s);
		}
	return 0;
}

/* Bcc: never leaves the machine, -t or not (as Postfix). */
static int
drop_bcc(struct submission *s, const char *f, size_t n, struct buf *kept)
{
	(void)s;
	(void)kept;
	return field_is(f, n, "Bcc") || field_is(f, n, "Resent-Bcc");
}

/*
 * masquerade: the sender fields show the domain, not the host
 * (masquerade.c); a field too long to rewrite stays as it is.
 */
static int
masquerade_sender_field(struct submission *s, const char *f, size_t n,
    struct buf *kept)
{
	static const char *const names[] = { "From", "Sender", "Reply-To",
	    "Resent-From", "Resent-Sender" };
	char out[8192];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t k = strlen(names[i]) + 1;

		if (!field_is(f, n, names[i]))
			continue;
		if (masquerade_field(s->cfg, f + k, n - k, out, sizeof out) <= 0)
			return 0;
		buf_append(kept, f, k);
		buf_append(kept, out, strlen(out));
		return 1;
	}
	return 0;
}

static void
add_field(struct submission *s, const char *text)
{
	if (buf_append(&s->header, text, strlen(text)) < 0)
		die(EX_DATAERR, "header too large");
}

/* From:, Date: and Message-ID: when the message lacks them. */
static void
complete_header(struct submission *s)
{
	char line[1200], date[64], name[256] = "";
	struct passwd *pw = getpwuid(getuid());
	unsigned long long r = 0;
	const char *from = s->env.data + 1;

	if (!has_field(s, "From")) {
		if (s->fullname != NULL)
			snprintf(name, sizeof name, "%s", s->fullname);
		else if (pw != NULL && pw->pw_gecos != NULL)
			snprintf(name, sizeof name, "%.*s",
			    (int)strcspn(pw->pw_gecos, ","), pw->pw_gecos);
		for (char *p = name; *p; p++)	/* no quotes to break out of */
			if (*p == '"' || *p == '\\' || *p == '\n' || *p == '\r')
				*p = ' ';
		if (*from == '\0')
			from = "MAILER-DAEMON";
		snprintf(line, sizeof line, name[0] ? "From: \"%s\" <%s>\n" :
		    "From: %s%s\n", name[0] ? name : "", from);
		add_field(s, line);
	}
	if (!has_field(s, "Date")) {
		format_date(date, sizeof date);
		snprintf(line, sizeof line, "Date: %s\n", date);
		add_field(s, line);
	}
	if (!has_field(s, "Message-ID")) {
		if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
			r = (unsigned long long)getpid();
		snprintf(line, sizeof line, "Message-ID: <%llx.%llx@%s>\n",
		    (unsigned long long)time(NULL), r, s->origin);
		add_field(s, line);
	}
}

/* ---- reading the message ---- */

/* LF line ends; 1 when the line is the "." that ends the message. */
static int
normalize_line(const struct submission *s, char *line, size_t *n, int at_start)
{
	if (*n >= 2 && line[*n - 2] == '\r' && line[*n - 1] == '\n') {
		line[*n - 2] = '\n';
		(*n)--;
	}
	return s->dot_ends && at_start && *n == 2 && line[0] == '.' &&
	    line[1] == '\n';
}

/*
 * Reads the header section from in: up to the empty line (kept out of
 * it), the first line that is not a field, or the end.  An mbox "From "
 * line first is dropped.  Returns the line that ended it, if any, in
 * first (the body's first line); 1 if the message ended already.
 */
static int
read_header(struct submission *s, FILE *in, char *first, size_t *firstlen)
{
	char line[65536];
	int at_start = 1, top = 1;

	*firstlen = 0;
	while (fgets(line, sizeof line, in) != NULL) {
		size_t n = strlen(line);
		int whole = n > 0 && line[n - 1] == '\n';

		if (normalize_line(s, line, &n, at_start))
			return 1;
		if (top && n >= 5 && strncmp(line, "From ", 5) == 0) {
			top = 0;
			continue;
		}
		top = 0;
		if (at_start && (line[0] == '\n' || (line[0] != ' ' &&
		    line[0] != '\t' && strcspn(line, ":\n") == n - whole) ||
		    line[0] == ':')) {
			memcpy(first, line, n);
			first[n] = '\0';
			*firstlen = n;
			return 0;
		}
		if (s->header.len + n > HEADER_MAX)
			die(EX_DATAERR, "header larger than %ld octets", HEADER_MAX);
		buf_append(&s->header, line, n);
		at_start = whole;
	}
	if (s->header.len > 0 && s->header.data[s->header.len - 1] != '\n')
		buf_append(&s->header, "\n", 1);
	return 1;
}

/*
 * Writes to enqueue.  A write that fails means enqueue stopped reading
 * (it refused a message over maxsize, say): nothing more is written,
 * and its exit status, not the broken pipe, says what happened.
 */
static int handover_broken;

static void
hand_over(int fd, const void *p, size_t n)
{
	if (!handover_broken && write_all(fd, p, n) < 0)
		handover_broken = 1;
}

/* The rest of the message, from in to fd, as it comes. */
static void
copy_body(const struct submission *s, FILE *in, int fd)
{
	char line[65536];
	int at_start = 1;

	while (!handover_broken && fgets(line, sizeof line, in) != NULL) {
		size_t n = strlen(line);
		int whole = n > 0 && line[n - 1] == '\n';

		if (normalize_line(s, line, &n, at_start))
			return;
		hand_over(fd, line, n);
		at_start = whole;
	}
}

/* ---- handing over ---- */

static int
exit_status(int status)
{
	if (!WIFEXITED(status))
		return EX_TEMPFAIL;
	switch (WEXITSTATUS(status)) {
	case 0:
		return EX_OK;
	case 11:	/* an address too long */
	case 31:	/* refused: larger than maxsize */
	case 91:	/* a malformed envelope */
		return EX_DATAERR;
	default:
		return EX_TEMPFAIL;
	}
}

static int
submit(struct submission *s, FILE *in, const char *first, size_t firstlen,
    int ended)
{
	char path[PATH_MAX + 32];
	int msg[2], env[2], status;
	pid_t pid;

	sibling("enqueue", path, sizeof path);
	if (pipe(msg) < 0 || pipe(env) < 0)
		die(EX_OSERR, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die(EX_OSERR, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(msg[0], 0) < 0 || dup2(env[0], 1) < 0)
			_exit(EX_OSERR);
		close(msg[0]); close(msg[1]); close(env[0]); close(env[1]);
		execl(path, "enqueue", (char *)NULL);
		fprintf(stderr, "sendmail: cannot run %s: %s\n", path,
		    strerror(errno));
		_exit(EX_OSFILE);
	}
	close(msg[0]);
	close(env[0]);
	hand_over(msg[1], s->header.data, s->header.len);
	hand_over(msg[1], "\n", 1);
	if (firstlen > 0 && first[0] != '\n')
		hand_over(msg[1], first, firstlen);
	if (!ended)
		copy_body(s, in, msg[1]);
	close(msg[1]);
	hand_over(env[1], s->env.data, s->env.len);
	hand_over(env[1], "", 1);
	close(env[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die(EX_OSERR, "waitpid: %s", strerror(errno));
	if (exit_status(status) == EX_OK && handover_broken) {
		fprintf(stderr, "sendmail: enqueue stopped reading\n");
		return EX_TEMPFAIL;
	}
	if (exit_status(status) != EX_OK)
		fprintf(stderr, "sendmail: enqueue refused the message (status "
		    "%d)\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return exit_status(status);
}

/* ---- the command line ---- */

static void NORETURN
usage(void)
{
	fprintf(stderr, "usage: sendmail [-itv] [-f sender] [-F name] "
	    "[-o option] [-b mode] [-C confdir] [-N dsn] [-R ret] "
	    "[-V envid] [-q] [recipient ...]\n");
	exit(EX_USAGE);
}

/* An option's value: the rest of its word, or the next word. */
static const char *
value(char **argv, int *i, const char *rest)
{
	if (*rest != '\0')
		return rest;
	if (argv[*i + 1] == NULL)
		usage();
	return argv[++*i];
}

/*
 * -bs: an SMTP session on standard input and output, as smtpd serves a
 * local pipe (-L: the user may send anywhere, as here), its messages
 * going to enqueue through the qmail-queue protocol.
 */
static void NORETURN
smtp_session(const char *confdir)
{
	char enqueue[PATH_MAX + 32], smtpd[PATH_MAX + 32];

	sibling("enqueue", enqueue, sizeof enqueue);
	sibling("smtpd", smtpd, sizeof smtpd);
	if (setenv("QMAILQUEUE", enqueue, 1) < 0)
		die(EX_OSERR, "setenv: %s", strerror(errno));
	execl(smtpd, "smtpd", "-L", "-C", confdir, (char *)NULL);
	die(EX_OSFILE, "cannot run %s: %s", smtpd, strerror(errno));
}

static void NORETURN
newaliases(void)
{
	printf("newaliases: postern reads its aliases file as it is; "
	    "postern-makedb(8) compiles a large one: nothing to do here\n");
	exit(EX_OK);
}

int
main(int argc, char **argv)
{
	static struct submission s;
	static struct config cfg;
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 :
	    argv[0], *confdir = config_conf_dir(), *mode = "m";
	char err[512], first[65536];
	size_t firstlen;
	const char *notify = NULL, *ret = NULL, *envid = NULL;
	int i, ended;

	(void)argc;
	if (strcmp(name, "mailq") == 0)
		mode = "p";
	else if (strcmp(name, "newaliases") == 0)
		mode = "i";
	/* -V is the DSN envelope ID here, as in Postfix: --version only */
	if (argv[1] != NULL && strcmp(argv[1], "--version") == 0)
		version_option(2, argv, "sendmail");
	signal(SIGPIPE, SIG_IGN);
	s.dot_ends = 1;
	buf_init(&s.header, HEADER_MAX + 4096);
	buf_init(&s.env, ENVELOPE_MAX);
	for (i = 1; argv[i] != NULL && argv[i][0] == '-'; i++) {
		const char *a = argv[i] + 1;

		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		switch (*a) {
		case 't': s.extract = 1; break;
		case 'i': s.dot_ends = 0; break;
		case 'v': case 'm': case 'n': case 'U': case 'G': break;
		case 'f': case 'r': s.sender = value(argv, &i, a + 1); break;
		case 'F': s.fullname = value(argv, &i, a + 1); break;
		case 'C': confdir = value(argv, &i, a + 1); break;
		case 'b': mode = value(argv, &i, a + 1); break;
		case 'q': mode = "q"; break;
		case 'o':	/* -oi as -i; -oem, -odb and the rest: as Postfix, none matter */
			if (strcmp(a, "oi") == 0)
				s.dot_ends = 0;
			else if (a[1] == '\0')
				(void)value(argv, &i, "");
			break;
		case 'N': notify = value(argv, &i, a + 1); break;
		case 'R': ret = value(argv, &i, a + 1); break;
		case 'V': envid = value(argv, &i, a + 1); break;
		case 'X': case 'B': case 'L': case 'h': case 'O':
			(void)value(argv, &i, a + 1);	/* as Postfix: ignored */
			break;
		default:
			usage();
		}
	}
	dsn_options(&s, notify, ret, envid);
	/* -C for what runs next too (a set-user-ID enqueue ignores it) */
	if (setenv("POSTERN_CONF", confdir, 1) < 0)
		die(EX_OSERR, "setenv: %s", strerror(errno));
	if (strcmp(mode, "s") == 0)
		smtp_session(confdir);
	switch (mode[0]) {
	case 'p':
		run_sibling("postern-queue", (char *[]){ "list", NULL });
	case 'q':
		run_sibling("postern-queue", (char *[]){ "flush", NULL });
	case 'i':
		newaliases();
	case 'm':
		break;
	default:
		die(EX_USAGE, "-b%s is not supported", mode);
	}
	if (config_load(&cfg, confdir, 0, err, sizeof err) < 0)
		die(EX_CONFIG, "%s", err);
	snprintf(s.origin, sizeof s.origin, "%s", cfg.origin[0] ?
	    cfg.origin : cfg.hostname);
	s.cfg = &cfg;
	set_sender(&s);
	for (; argv[i] != NULL; i++)
		addrlist_parse(argv[i], strlen(argv[i]), add_recipient, &s);
	ended = read_header(&s, stdin, first, &firstlen);
	if (s.extract) {
		s.resent = has_field(&s, "Resent-To") ||
		    has_field(&s, "Resent-Cc") || has_field(&s, "Resent-Bcc");
		each_field(&s, extract_field);
	}
	each_field(&s, drop_bcc);
	if (s.bad_address)
		die(EX_DATAERR, "not sent: a recipient address is not valid");
	if (s.nrcpts == 0)
		die(EX_USAGE, "no recipients%s", s.extract ? " in the header" :
		    " given");
	complete_header(&s);
	if (cfg.masquerade[0] != '\0')
		each_field(&s, masquerade_sender_field);
	return submit(&s, stdin, first, firstlen, ended);
}
