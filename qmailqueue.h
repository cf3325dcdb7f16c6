/* qmailqueue.h - the sink that feeds a qmail-queue compatible program. */
#ifndef POSTERN_QMAILQUEUE_H
#define POSTERN_QMAILQUEUE_H

#include <sys/types.h>

struct qmailqueue_sink {
	const char *program;
	pid_t pid;
	int msgfd;
	int envfd;
};

void qmailqueue_init(struct qmailqueue_sink *q, const char *program);

#endif
