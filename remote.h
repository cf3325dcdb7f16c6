/* remote.h - delivery over SMTP to the mail hosts of one domain. */
#ifndef POSTERN_REMOTE_H
#define POSTERN_REMOTE_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "maildir.h"
#include "state.h"

struct remote_rcpt {
	const char *addr;
	enum delivery_result result;
	char reason[STATE_REASON_MAX + 1];
};

void remote_deliver(const struct config *c, const char *domain,
    const struct qmessage *msg, const char *sender, struct remote_rcpt *r,
    size_t n, time_t deadline, char *relay, size_t relaysize);

#endif
