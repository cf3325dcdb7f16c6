/*
 * addrlist.h - the addresses in an RFC 5322 address list, the body of
 * a To:, Cc: or Bcc: field, for sendmail -t.
 */
#ifndef POSTERN_ADDRLIST_H
#define POSTERN_ADDRLIST_H

#include <stddef.h>

/* Called with each address found (NUL-terminated, trimmed); nonzero
 * stops the walk and is returned. */
typedef int (*addrlist_fn)(void *ctx, const char *addr);

int addrlist_parse(const char *text, size_t len, addrlist_fn fn, void *ctx);

#endif
