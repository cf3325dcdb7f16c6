/*
 * dnslist.h - the dnsbl, dnswl and rhsbl lines of smtpd.conf, and the
 * names looked up in them (RFC 5782).
 */
#ifndef POSTERN_DNSLIST_H
#define POSTERN_DNSLIST_H

#include <stddef.h>

#include "config.h"

int dnslist_add(struct config *c, enum dnslist_kind kind, const char *spec);
int dnslist_matches(const struct dnslist *l, const unsigned char value[4]);
int dnslist_client_name(const char *addr, const char *zone, char *out,
    size_t size);
int dnslist_domain_name(const char *domain, const char *zone, char *out,
    size_t size);

#endif
