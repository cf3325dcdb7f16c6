/*
 * tlsclient.c - running the TLS client program (see tlsclient.h).
 *
 * gnutls-cli --starttls connects, relays clear text between the socket
 * and its standard input and output, and starts the handshake when it
 * gets SIGALRM; it prints "*** Starting TLS handshake" when it does
 * (a string its source keeps stable for programs like this one).  Two
 * things make the hand-over safe:
 *   - nothing is written to it after STARTTLS until that line is seen:
 *     once it is in the handshake it reads no input until the session
 *     is encrypted, and if the handshake fails it exits, so no command
 *     can leave in clear text;
 *   - its loop checks for the signal only between waits, so a signal
 *     that lands just before a wait is noticed only by the next one:
 *     the signal is sent again until the line comes.
 * Its messages (--logfile) go to a pseudo-terminal rather than a pipe:
 * stdio buffers a file that is a pipe until the program ends, but sends
 * each line to a terminal at once, so deliver learns when it connected
 * and how the handshake went while the session runs.
 */
#include "tlsclient.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

#define RESIGNAL_MS 100	/* how long a SIGALRM may go unanswered */

/* A pseudo-terminal: *master for deliver, *slave for the program. */
static int
open_pty(int *master, int *slave)
{
	char name[64];
	struct termios tio;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0)
		return -1;
	if (grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, name, sizeof name) != 0)
		goto fail;
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto fail;
	if (tcgetattr(*slave, &tio) == 0) {
		cfmakeraw(&tio);
		(void)tcsetattr(*slave, TCSANOW, &tio);
	}
	(void)fcntl(*master, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	close(*master);
	return -1;
}

static void
build_argv(const struct tlsclient_opts *o, char *port, char *sni, char *check,
    char *ca, const char **argv)
{
	size_t n = 0;

	argv[n++] = o->program;
	if (!o->implicit)
		argv[n++] = "--starttls";
	argv[n++] = "--logfile=/dev/stderr";
	/* TLS 1.2 or later, whatever the system's defaults */
	argv[n++] = "--priority=NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
	argv[n++] = "-p";
	argv[n++] = port;
	if (o->name[0]) {
		argv[n++] = sni;
		argv[n++] = check;
	}
	if (o->cafile[0])
		argv[n++] = ca;
	if (!o->verify)
		argv[n++] = "--insecure";	/* verified all the same: logged */
	argv[n++] = o->address;
	argv[n] = NULL;
}

static void
run_program(const struct tlsclient_opts *o, int sock, int slave)
{
	char port[8], sni[300], check[300], ca[PATH_MAX + 16];
	const char *argv[16];
	sigset_t none;

	snprintf(port, sizeof port, "%u", o->port);
	snprintf(sni, sizeof sni, "--sni-hostname=%s", o->name);
	snprintf(check, sizeof check, "--verify-hostname=%s", o->name);
	snprintf(ca, sizeof ca, "--x509cafile=%s", o->cafile);
	build_argv(o, port, sni, check, ca, argv);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGALRM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(sock, 0) < 0 || dup2(sock, 1) < 0 || dup2(slave, 2) < 0)
		_exit(127);
	execv(o->program, (char *const *)argv);
	dprintf(2, "*** cannot run %s: %s\n", o->program, strerror(errno));
	_exit(127);
}

int
tlsclient_start(struct tlsclient *t, const struct tlsclient_opts *o)
{
	int sp[2], slave, e;

	memset(t, 0, sizeof *t);
	t->fd = t->logfd = -1;
	tlslog_init(&t->log);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	if (open_pty(&t->logfd, &slave) < 0)
		goto fail_sp;
	t->pid = fork();
	if (t->pid < 0)
		goto fail_pty;
	if (t->pid == 0)
		run_program(o, sp[1], slave);
	close(sp[1]);
	close(slave);
	t->fd = sp[0];
	(void)fcntl(t->fd, F_SETFL, O_NONBLOCK);
	return 0;
fail_pty:
	e = errno;
	close(slave);
	close(t->logfd);
	t->logfd = -1;
	errno = e;
fail_sp:
	e = errno;
	close(sp[0]);
	close(sp[1]);
	errno = e;
	return -1;
}

/* Whatever the program has said; at its end, the log is closed. */
static void
read_log(struct tlsclient *t)
{
	char buf[4096];
	ssize_t r;

	while (t->logfd >= 0) {
		r = read(t->logfd, buf, sizeof buf);
		if (r > 0) {
			tlslog_feed(&t->log, buf, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		/* EIO: every holder of the terminal's other side is gone */
		close(t->logfd);
		t->logfd = -1;
	}
}

/*
 * Waits for events on the clear-text socket (0: none, only the log),
 * reading the program's messages meanwhile.  1 ready, 0 the deadline
 * passed, -1 error.
 */
int
tlsclient_poll(struct tlsclient *t, short events, long long deadline)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = t->fd, .events = events },
		    { .fd = t->logfd, .events = POLLIN } };
		long long left = deadline - monotonic_ms();
		int r;

		if (left <= 0)
			return 0;
		if (events == 0)
			p[0].fd = -1;
		r = poll(p, 2, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (p[1].revents)
			read_log(t);
		if (events != 0 && p[0].revents)
			return 1;
		if (events == 0 && r > 0)
			return 1;
	}
}

/*
 * Until the program is talking to the host (after the handshake, for
 * implicit TLS).  0 connected; -1 it could not (tlslog_reason says
 * why); -2 the deadline passed.
 */
int
tlsclient_connected(struct tlsclient *t, long long deadline)
{
	while (!t->log.connected) {
		if (t->logfd < 0)
			return -1;
		if (tlsclient_poll(t, 0, deadline) <= 0)
			return -2;
	}
	return 0;
}

/* After the host's 220 to STARTTLS: 0 the handshake has begun. */
int
tlsclient_handshake(struct tlsclient *t, long long deadline)
{
	while (!t->log.handshaking) {
		long long now = monotonic_ms(), until = now + RESIGNAL_MS;
		if (t->logfd < 0 || now >= deadline || kill(t->pid, SIGALRM) < 0)
			return -1;
		(void)tlsclient_poll(t, 0, until < deadline ? until : deadline);
	}
	return 0;
}

/*
 * Closes the clear text; the program then ends the TLS session and
 * exits, or is killed at the deadline.
 */
void
tlsclient_end(struct tlsclient *t, long long deadline)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	while (t->logfd >= 0 && tlsclient_poll(t, 0, deadline) > 0)
		continue;
	if (t->logfd >= 0) {
		close(t->logfd);
		t->logfd = -1;
	}
	if (t->pid > 0) {
		if (waitpid(t->pid, NULL, WNOHANG) == 0) {
			kill(t->pid, SIGKILL);
			(void)waitpid(t->pid, NULL, 0);
		}
		t->pid = 0;
	}
}
