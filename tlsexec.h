/*
 * tlsexec.h - STARTTLS by handing the connection to a TLS wrapper run
 * anew (Debian's tlswrapper, without -n): see tlsexec.c.
 */
#ifndef POSTERN_TLSEXEC_H
#define POSTERN_TLSEXEC_H

#include <stddef.h>

struct tlsexec {
	int request_fd;		/* the session's end: 'T' asks for the switch */
	char *argv[16];		/* the wrapper and what it runs */
};

/* What the wrapper runs the program with: smtpd's -Q, and -u, or NULL. */
struct tlsexec_args {
	const char *wrapper, *cert;
	const char *confdir, *queuedir, *user;
};

int tlsexec_prepare(struct tlsexec *t, const struct tlsexec_args *a,
    char *err, size_t errlen);
int tlsexec_starttls(void *ctx);

#endif
