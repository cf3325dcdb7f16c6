/*
 * smtpconn.h - deliver's side of one SMTP or LMTP connection: buffered
 * commands, replies read within a deadline and size limits, over a
 * socket of its own or through the TLS client program (tlsclient.h).
 */
#ifndef POSTERN_SMTPCONN_H
#define POSTERN_SMTPCONN_H

#include <netdb.h>
#include <stddef.h>

#include "tlsclient.h"
#include "util.h"

#define REPLY_LINES_MAX 100
#define REPLY_OCTETS_MAX 65536

struct reply {
	int code;
	char text[512];		/* the first line, without the code */
	char all[2048];		/* every line, for EHLO keywords */
};

struct conn {
	int fd;
	int broken;
	long long deadline;	/* of the current exchange, monotonic ms */
	long long end;		/* of the whole attempt, monotonic ms */
	const char *why;	/* why the connection broke */
	char in[4096];
	size_t inlen, inpos;
	char out[65536];
	size_t outlen;
	char name[300];		/* host[address]:port, for logs */
	struct tlsclient *tls;	/* through the TLS program; NULL direct */
	int encrypted;		/* the TLS session is up */
};

void conn_init(struct conn *k, long long end);
void conn_expect_within(struct conn *k, unsigned long long seconds);
int conn_open(struct conn *k, const struct addrinfo *ai);
int conn_open_tls(struct conn *k, struct tlsclient *t,
    const struct tlsclient_opts *o, char *why, size_t whysize);
void conn_close(struct conn *k);
void conn_flush(struct conn *k);
void conn_put(struct conn *k, const char *p, size_t n);
void conn_cmd(struct conn *k, const char *fmt, ...) PRINTF_LIKE(2, 3);
int conn_read_reply(struct conn *k, struct reply *r);
int reply_has_keyword(const struct reply *r, const char *kw);
const char *reply_keyword_args(const struct reply *r, const char *kw,
    char *out, size_t outsize);

#endif
