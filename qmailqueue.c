/*
 * qmailqueue.c - runs the program named by QMAILQUEUE once per message,
 * speaking the qmail-queue protocol: the message on its descriptor 0,
 * then the envelope on its descriptor 1.  Its exit status decides the
 * reply: 0 queued, 11 to 40 permanent refusal, anything else temporary.
 */
#include "qmailqueue.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sink.h"
#include "util.h"

void
qmailqueue_init(struct qmailqueue_sink *q, const char *program)
{
	q->program = program;
	q->pid = -1;
	q->msgfd = q->envfd = -1;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int
wait_child(struct qmailqueue_sink *q)
{
	int status;
	pid_t r;

	if (q->pid < 0)
		return -1;
	do
		r = waitpid(q->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	q->pid = -1;
	if (r < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int
qq_open(void *ctx, char *id, size_t idsize)
{
	struct qmailqueue_sink *q = ctx;
	int msg[2], env[2];

	if (idsize > 0)
		id[0] = '\0';
	if (pipe2(msg, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(env, O_CLOEXEC) < 0) {
		close(msg[0]);
		close(msg[1]);
		return -1;
	}
	q->pid = fork();
	if (q->pid == 0) {
		if (dup2(msg[0], 0) < 0 || dup2(env[0], 1) < 0)
			_exit(81);
		signal(SIGPIPE, SIG_DFL);
		execl(q->program, q->program, (char *)NULL);
		_exit(71);	/* cannot run it: a temporary failure */
	}
	close(msg[0]);
	close(env[0]);
	q->msgfd = msg[1];
	q->envfd = env[1];
	if (q->pid < 0) {
		close_fd(&q->msgfd);
		close_fd(&q->envfd);
		return -1;
	}
	return 0;
}

static int
qq_write(void *ctx, const char *p, size_t n)
{
	struct qmailqueue_sink *q = ctx;

	return write_all(q->msgfd, p, n);
}

static enum commit_result
qq_commit(void *ctx, const char *env, size_t envlen)
{
	struct qmailqueue_sink *q = ctx;
	int wrote, status;

	close_fd(&q->msgfd);
	wrote = write_all(q->envfd, env, envlen);
	close_fd(&q->envfd);
	status = wait_child(q);
	if (status == 0 && wrote == 0)
		return COMMIT_OK;
	if (status >= 11 && status <= 40)
		return COMMIT_PERMFAIL;
	return COMMIT_TEMPFAIL;
}

/* Without an envelope the program must give up and queue nothing. */
static void
qq_abort(void *ctx)
{
	struct qmailqueue_sink *q = ctx;

	close_fd(&q->msgfd);
	close_fd(&q->envfd);
	(void)wait_child(q);
}

const struct sink_ops qmailqueue_sink_ops = {
	qq_open, qq_write, qq_commit, qq_abort, NULL, NULL
};
