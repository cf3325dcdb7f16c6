/* masquerade.h - a host's addresses shown as its domain's. */
#ifndef POSTERN_MASQUERADE_H
#define POSTERN_MASQUERADE_H

#include <stddef.h>

#include "config.h"

int masquerade_address(const struct config *c, const char *addr, char *out,
    size_t size);
int masquerade_field(const struct config *c, const char *value, size_t len,
    char *out, size_t size);

#endif
