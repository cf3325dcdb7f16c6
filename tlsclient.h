/*
 * tlsclient.h - deliver's TLS: a separate program (gnutls-cli, Debian's
 * gnutls-bin) that connects to the remote host and relays clear text on
 * a socket deliver holds.  deliver speaks SMTP through it from the
 * first byte; at STARTTLS it tells the program to begin the handshake.
 * postern-deliver(8) says why this program.
 */
#ifndef POSTERN_TLSCLIENT_H
#define POSTERN_TLSCLIENT_H

#include <sys/types.h>

#include "tlslog.h"

struct tlsclient_opts {
	const char *program;
	const char *cafile;	/* "" the system's store */
	const char *address;	/* numeric, to connect to */
	unsigned short port;
	const char *name;	/* for SNI and verification; "" none */
	int implicit;		/* TLS from the first byte (SMTPS, 465) */
	int verify;		/* no session unless chain and name verify */
};

struct tlsclient {
	pid_t pid;
	int fd;			/* clear text, to and from the program */
	int logfd;		/* its messages (a pseudo-terminal); -1 ended */
	struct tlslog log;
};

int tlsclient_start(struct tlsclient *t, const struct tlsclient_opts *o);
int tlsclient_poll(struct tlsclient *t, short events, long long deadline);
int tlsclient_connected(struct tlsclient *t, long long deadline);
int tlsclient_handshake(struct tlsclient *t, long long deadline);
void tlsclient_end(struct tlsclient *t, long long deadline);

#endif
