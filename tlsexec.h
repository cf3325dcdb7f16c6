/*
 * tlsexec.h - STARTTLS by handing the connection to a TLS wrapper run
 * anew (Debian's tlswrapper, without -n): see tlsexec.c.
 */
#ifndef POSTERN_TLSEXEC_H
#define POSTERN_TLSEXEC_H

#include <stddef.h>

#define TLSEXEC_ARGS_MAX 16

struct tlsexec {
	int request_fd;		/* the session's end: 'T' asks for the switch */
	char *argv[TLSEXEC_ARGS_MAX + 8];	/* the wrapper and what it runs */
};

int tlsexec_prepare(struct tlsexec *t, const char *wrapper, const char *cert,
    char *const *resume, char *err, size_t errlen);
int tlsexec_starttls(void *ctx);

#endif
