/* maildir.h - delivery of one message into one Maildir. */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stddef.h>

#include "queue.h"

enum delivery_result {
	DELIVERY_OK,
	DELIVERY_DEFER,		/* 4xx: try again later */
	DELIVERY_FAIL		/* 5xx: bounce */
};

int maildir_create(const char *dir);
int maildir_seen_delivered_to(const struct qmessage *msg,
    const char *recipient);
enum delivery_result maildir_deliver(const char *maildir,
    const struct qmessage *msg, const char *sender, const char *recipient, const char *hostname,
    char *reason, size_t reasonsize);

#endif
