/*
 * tlsexec.c - STARTTLS through Debian's tlswrapper, which cannot take
 * over a connection in mid-session safely (its -n mode lets clear text
 * through: postern-smtpd(8), CVE-2011-0411) but can start TLS on one
 * from its first byte.  So the session splits in two processes:
 *
 *   - before privileges are dropped, the process forks; the parent
 *     stays root (tlswrapper jails itself, which needs root), reads
 *     nothing from the network, and only waits on a pipe;
 *   - the child drops privileges and runs the clear-text session.  At
 *     STARTTLS it replies 220, throws away whatever it has read beyond
 *     the command, writes 'T' on the pipe and exits, reading nothing
 *     more;
 *   - the parent waits for the child to be gone, then executes the
 *     wrapper on the same connection, which runs the session's program
 *     afresh for the encrypted part.
 *
 * Whatever the client sent after STARTTLS and the session had not read
 * is still in the socket: the wrapper takes it for the TLS handshake,
 * which fails on clear text.  No clear text can reach the encrypted
 * session, because no process reads the socket across the switch.
 */
#include "tlsexec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* The parent: 'T' and the child gone, then the wrapper; else its end. */
static void NORETURN
wait_for_switch(struct tlsexec *t, pid_t child, int fd)
{
	char c = 0;
	ssize_t n = read_retry(fd, &c, 1);
	int status;

	close(fd);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			_exit(111);
	if (n == 1 && c == 'T') {
		execv(t->argv[0], t->argv);
		log_msg(LOG_ERR, "cannot run %s: %s", t->argv[0],
		    strerror(errno));
		_exit(111);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 111);
}

/*
 * Forks, to run "wrapper -f cert THIS-PROGRAM -T -C confdir [-Q
 * queuedir] [-u user]" when the session asks: the same program for the
 * encrypted part, with the same directories and user.  Returns 0 in the
 * child, which goes on with the session; -1 with err when it cannot
 * (then there is no STARTTLS).
 */
int
tlsexec_prepare(struct tlsexec *t, const struct tlsexec_args *a, char *err,
    size_t errlen)
{
	static char self[4096];
	ssize_t len;
	size_t n = 0;
	int p[2];
	pid_t child;

	if (geteuid() != 0) {
		snprintf(err, errlen, "STARTTLS through %s needs root (the "
		    "wrapper jails itself): not offered", a->wrapper);
		return -1;
	}
	len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0) {
		snprintf(err, errlen, "STARTTLS not offered: cannot find my "
		    "own program");
		return -1;
	}
	self[len] = '\0';
	t->argv[n++] = (char *)a->wrapper;
	t->argv[n++] = (char *)"-f";
	t->argv[n++] = (char *)a->cert;
	t->argv[n++] = self;
	t->argv[n++] = (char *)"-T";
	t->argv[n++] = (char *)"-C";
	t->argv[n++] = (char *)a->confdir;
	if (a->queuedir != NULL) {
		t->argv[n++] = (char *)"-Q";
		t->argv[n++] = (char *)a->queuedir;
	}
	if (a->user != NULL) {
		t->argv[n++] = (char *)"-u";
		t->argv[n++] = (char *)a->user;
	}
	t->argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) < 0 || (child = fork()) < 0) {
		snprintf(err, errlen, "STARTTLS not offered: %s",
		    strerror(errno));
		return -1;
	}
	if (child > 0) {
		close(p[1]);
		wait_for_switch(t, child, p[0]);
	}
	close(p[0]);
	/*
	 * No parent-death signal: it would not survive the privilege drop
	 * (the kernel clears it when credentials change).  Should the parent
	 * die, STARTTLS fails on the pipe (EPIPE) and the session ends, as
	 * any other, within its own deadlines.
	 */
	t->request_fd = p[1];
	return 0;
}

/* The session's STARTTLS: 1, handed over (the session ends); -1 failed. */
int
tlsexec_starttls(void *ctx)
{
	struct tlsexec *t = ctx;

	if (write_all(t->request_fd, "T", 1) < 0)
		return -1;
	close(t->request_fd);
	t->request_fd = -1;
	return 1;
}
