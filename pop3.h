/*
 * pop3.h - the POP3 protocol engine (RFC 1939, RFC 2449 CAPA, RFC 5034
 * SASL PLAIN, RFC 3206 response codes): one command line in, replies out
 * through the driver.  pop3d.c reads the lines.
 */
#ifndef POSTERN_POP3_H
#define POSTERN_POP3_H

#include <stddef.h>

#include "config.h"
#include "driver.h"
#include "tlsexec.h"
#include "mailbox.h"

#define POP3_LINE_MAX 1024	/* SASL responses make lines longer than 255 */
#define POP3_USER_MAX 256
#define POP3_OUT_SIZE (2 * 65536 + 8192)	/* a message piece, and replies */

enum pop3_state {
	POP3_AUTHORIZATION,
	POP3_TRANSACTION,
	POP3_CLOSED
};

struct pop3 {
	const struct config *cfg;
	struct driver *io;
	const char *client;		/* address, for the logs */
	enum pop3_state state;
	enum driver_tls tls;
	int encrypted;
	int tls_started;		/* input read before STLS is void */
	struct tlsexec *tlsexec;	/* STLS by a wrapper run anew, or NULL */
	int sasl_pending;		/* AUTH PLAIN awaits its response */
	char user[POP3_USER_MAX + 1];	/* USER's argument */
	char login[POP3_USER_MAX + 1];	/* who is logged in */
	char stamp[300];		/* APOP's "<...>", "" without APOP */
	unsigned failures;
	unsigned errors;
	struct mailbox mb;
	unsigned long long retrieved;
	unsigned long long retrieved_octets;
	char out[POP3_OUT_SIZE];
	size_t outlen;
};

void pop3_init(struct pop3 *p, const struct config *cfg, struct driver *io,
    const char *client, int encrypted, enum driver_tls tls);
void pop3_greet(struct pop3 *p);
void pop3_refuse(struct pop3 *p);
void pop3_line(struct pop3 *p, char *line, size_t len);
void pop3_line_too_long(struct pop3 *p);
void pop3_flush(struct pop3 *p);
void pop3_timeout(struct pop3 *p);
void pop3_eof(struct pop3 *p);
void pop3_end(struct pop3 *p);

#endif
