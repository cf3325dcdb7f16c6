/*
 * auth.h - checking a user's password: against the passwd file's
 * crypt(3) hashes, or through a checkpassword program; APOP digests
 * against pop3secrets; SASL PLAIN responses.
 */
#ifndef POSTERN_AUTH_H
#define POSTERN_AUTH_H

#include <stddef.h>

#include "base64.h"
#include "config.h"

enum auth_result {
	AUTH_OK,
	AUTH_BAD,	/* 535 5.7.8 */
	AUTH_TEMP	/* 454 4.7.0 */
};

int auth_available(const struct config *c);
enum auth_result auth_check(const struct config *c, const char *user,
    const char *password);
enum auth_result auth_check_apop(const struct config *c, const char *user,
    const char *stamp, const char *digest);
int auth_plain_split(char *data, size_t len, const char **user,
    char **password);

#endif
