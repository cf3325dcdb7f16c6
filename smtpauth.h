/*
 * smtpauth.h - deliver's SMTP AUTH (RFC 4954) to a route's host: the
 * credentials from the file smtpauth (host user password, mode 0600),
 * PLAIN or LOGIN, and only inside TLS.
 */
#ifndef POSTERN_SMTPAUTH_H
#define POSTERN_SMTPAUTH_H

#include <stddef.h>

#include "config.h"
#include "smtpconn.h"

struct smtpauth_cred {
	char user[256];
	char password[256];
};

int smtpauth_lookup(const struct config *c, const char *host,
    struct smtpauth_cred *cr, char *why, size_t whysize);
int smtpauth_login(struct conn *k, const struct smtpauth_cred *cr,
    const struct reply *ehlo, unsigned timeout, char *why, size_t whysize);

#endif
