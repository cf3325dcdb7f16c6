/*
 * session.h - the SMTP protocol engine.  It consumes bytes and produces
 * replies and queue actions; it never reads or waits itself, so the
 * socket driver in smtpd.c, a unit test or a fuzzer can all drive it.
 */
#ifndef POSTERN_SESSION_H
#define POSTERN_SESSION_H

#include <stddef.h>

#include "body.h"
#include "config.h"
#include "hdrscan.h"
#include "msgedit.h"
#include "queue.h"
#include "sink.h"
#include "util.h"

#define CMD_LINE_MAX 512		/* octets, with CRLF (RFC 5321 4.5.3.1.4) */
#define CMD_LINE_MAX_ESMTP 4096		/* with ESMTP parameters */
#define MAX_HOPS 100			/* Received: headers before a loop */
#define OUT_BUF_SIZE 4096
#define MSG_BUF_SIZE 32768

struct client {
	char addr[64];		/* printable address, "" when unknown */
	char literal[80];	/* "[192.0.2.1]", "[IPv6:2001:db8::1]" */
	int is_socket;		/* only CRLF.CRLF ends DATA */
	int may_relay;		/* ruled "relay" in clients */
	int denied;		/* ruled "deny" in clients */
	int encrypted;		/* behind a TLS wrapper (smtpd -S) */
	char deny_reply[512];	/* denied by a DNS list: the greeting */
	char name[256];		/* forward-confirmed name; "" unknown */
	char reverse_name[256];	/* its PTR name, confirmed or not */
};

struct session_io {
	/* Writes replies out; called when the buffer fills and on flush. */
	void (*write_out)(void *ctx, const char *p, size_t n);
	/* Whether the client has sent more than has been fed. */
	int (*input_pending)(void *ctx);
	/* STARTTLS: 0 encrypted from now on (UCSPI-TLS); 1 handed to a
	 * wrapper that starts a new session (tlsexec.c); -1 failed. */
	int (*starttls)(void *ctx);
	void *ctx;
	void *starttls_ctx;	/* starttls's own, when not ctx */
};

/*
 * Checks that ask others and may wait (DNS lists, policy servers,
 * milters): the driver's, or none.  helo judges an accepted HELO/EHLO
 * name, mail a sender, rcpt a deliverable recipient, data the whole
 * message before its commit: NULL, or the refusal; reset learns that a
 * transaction begun with MAIL is over.  They may add header lines
 * (tx.prepend), hold or discard the message.  content, when set, is
 * told the message as it streams in (content filters): its start (p
 * the queue ID), each header field, the header's end, then the body; its refusal is given at the
 * end of the data, and data may then change the message (content.h).
 */
struct session;
enum content_part { CONTENT_BEGIN, CONTENT_FIELD, CONTENT_END_OF_HEADER,
	CONTENT_BODY };
struct session_checks {
	const char *(*helo)(void *ctx, struct session *s);
	const char *(*mail)(void *ctx, struct session *s, const char *sender,
	    const char *params);
	const char *(*rcpt)(void *ctx, struct session *s, const char *rcpt);
	const char *(*data)(void *ctx, struct session *s);
	void (*reset)(void *ctx, struct session *s);	/* a transaction ends */
	const char *(*content)(void *ctx, struct session *s,
	    enum content_part part, const char *p, size_t n);
	void *ctx;
};

struct tx {
	int mail_given;
	struct buf envelope;	/* qmail-queue envelope being built */
	size_t first_rcpt;	/* offset of the first "T" in envelope */
	unsigned nrcpt;
	unsigned rcpt_tried;
	int smtputf8;
	int used_bdat;
	int message_open;	/* the sink holds a started message */
	int write_failed;
	int too_big;
	unsigned long long size;	/* as RFC 1870 counts it */
	unsigned hops;
	int in_header;
	int at_line_start;
	char header_start[10];
	size_t header_start_len;
	struct body body;
	char id[QUEUE_ID_MAX];
	unsigned long long declared_size;	/* MAIL's SIZE=, 0 without */
	char prepend[1024];	/* header lines the checks add */
	int hold;		/* a check asked for the message to be held */
	int discard;		/* a check asked for it to be thrown away */
	unsigned serial;	/* transactions so far in this session */
	char msgbuf[MSG_BUF_SIZE];
	size_t msglen;
	long long stored;	/* octets of the message given to the sink */
	struct hdrscan *scan;	/* content filters: the fields (content.c) */
	struct msgedit edit;	/* ...and their changes */
	char content_reply[600];	/* a filter's refusal during the data */
};

enum session_state {
	STATE_COMMAND,
	STATE_DATA,
	STATE_BDAT,
	STATE_CLOSED
};

struct session {
	const struct config *cfg;
	const struct client *client;
	const struct sink_ops *sink;
	void *sinkctx;
	struct session_io io;
	struct session_checks checks;

	enum session_state state;
	char line[CMD_LINE_MAX_ESMTP + 1];
	size_t linelen;
	int line_too_long;
	size_t feed_left;	/* unconsumed bytes of the current feed */

	int tls_available;	/* a UCSPI-TLS wrapper is in front */
	int tls_required;	/* UCSPITLS=!: no MAIL before STARTTLS */
	int encrypted;		/* -S, or after STARTTLS */
	int drop_input;		/* STARTTLS: the rest of this read is discarded */

	int helo_kind;		/* 0 none, 1 HELO, 2 EHLO */
	char helo[256];
	unsigned errors;
	unsigned messages;

	enum { AUTH_IDLE, AUTH_PLAIN_WAIT, AUTH_LOGIN_USER, AUTH_LOGIN_PASS }
	    auth_step;
	char auth_user[256];	/* authenticated as; "" when not */
	char auth_mechanism[8];	/* and how: "PLAIN" or "LOGIN" */
	char auth_login[256];	/* LOGIN: the user name, between steps */
	unsigned auth_failures;

	unsigned long long bdat_chunk;	/* size of the current chunk */
	unsigned long long bdat_left;
	int bdat_last;
	int bdat_discard;
	char bdat_reply[160];

	char out[OUT_BUF_SIZE];
	size_t outlen;

	struct tx tx;
};

void session_init(struct session *s, const struct config *cfg,
    const struct client *client, const struct sink_ops *sink, void *sinkctx,
    const struct session_io *io);
void session_set_checks(struct session *s, const struct session_checks *c);
int session_trusted(const struct session *s);
void session_greet(struct session *s);
void session_feed(struct session *s, const char *p, size_t n);
void session_eof(struct session *s);
void session_timeout(struct session *s, int whole_session);
void session_flush(struct session *s);
void session_reply_close(struct session *s, const char *line);
int session_closed(const struct session *s);
void session_end(struct session *s);

#endif
