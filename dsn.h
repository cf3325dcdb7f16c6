/*
 * dsn.h - what a sender asks of delivery status notifications (RFC
 * 3461): RET and ENVID given at MAIL, NOTIFY and ORCPT at each RCPT.
 * smtpd checks them as they arrive; the envelope keeps them in their
 * SMTP form ("RET=HDRS ENVID=x", "NOTIFY=SUCCESS ORCPT=rfc822;a@b"),
 * so that deliver reads them back with the same code and passes them,
 * as they were given, to a next hop that takes them.
 */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

#include <stddef.h>

#define DSN_ENVID_MAX 100	/* RFC 3461 4.4 */
#define DSN_ORCPT_MAX 500	/* RFC 3461 4.2 */
#define DSN_PARAMS_MAX (DSN_ORCPT_MAX + 64)	/* the SMTP form, either */

/* NOTIFY's keywords; 0 means no NOTIFY was given. */
enum {
	DSN_NOTIFY_NEVER = 1,
	DSN_NOTIFY_SUCCESS = 2,
	DSN_NOTIFY_FAILURE = 4,
	DSN_NOTIFY_DELAY = 8
};

enum dsn_ret { DSN_RET_NONE, DSN_RET_FULL, DSN_RET_HDRS };

struct dsn_mail {
	enum dsn_ret ret;
	char envid[DSN_ENVID_MAX + 1];		/* xtext; "" when not given */
};

struct dsn_rcpt {
	unsigned notify;
	char orcpt[DSN_ORCPT_MAX + 1];		/* "type;xtext"; "" not given */
};

/* One ESMTP parameter: 1 taken, 0 not a DSN keyword, -1 bad or repeated. */
int dsn_mail_param(struct dsn_mail *m, const char *key, const char *value);
int dsn_rcpt_param(struct dsn_rcpt *r, const char *key, const char *value);

/* The SMTP form; "" when nothing was asked. */
void dsn_mail_format(const struct dsn_mail *m, char *out, size_t size);
void dsn_rcpt_format(const struct dsn_rcpt *r, char *out, size_t size);

/* Reads the SMTP form back, as stored; 0, or -1 when it is not one. */
int dsn_mail_parse(struct dsn_mail *m, const char *s);
int dsn_rcpt_parse(struct dsn_rcpt *r, const char *s);

/* Whether a failure, delay or success is to be reported (rules of 5.2). */
int dsn_wants(const struct dsn_rcpt *r, unsigned event);

/* xtext decoded for a report; anything but printable ASCII becomes '?'. */
void dsn_xtext_decode(const char *in, char *out, size_t size);

#endif
