/* base64.h - RFC 4648 base64, for SASL (AUTH in smtpd and pop3d, and
 * deliver's AUTH to a smarthost). */
#ifndef POSTERN_BASE64_H
#define POSTERN_BASE64_H

#include <stddef.h>

int base64_decode(const char *in, char *out, size_t outsize, size_t *outlen);
int base64_encode(const char *in, size_t n, char *out, size_t outsize);

#endif
