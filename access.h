/*
 * access.h - who may send, and which envelope addresses are refused:
 * the clients, senders and recipients files.
 */
#ifndef POSTERN_ACCESS_H
#define POSTERN_ACCESS_H

#include <stddef.h>

#include "address.h"
#include "config.h"
#include "tables.h"

enum client_action {
	CLIENT_ALLOW,
	CLIENT_DENY,
	CLIENT_RELAY
};

enum client_action access_client(const struct config *c, const char *addr);
int access_listed(const struct config *c, enum table_id id,
    const struct mailpath *p);

#endif
