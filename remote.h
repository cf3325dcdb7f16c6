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
	const char *dsn;	/* its DSN parameters, SMTP form; "" none */
	enum delivery_result result;
	char reason[STATE_REASON_MAX + 1];
	int dsn_passed;		/* delivered, and the next hop took DSN */
};

/* The envelope sender and its DSN parameters (SMTP form; "" none). */
struct remote_sender {
	const char *addr;
	const char *dsn;
};

void remote_deliver(const struct config *c, const char *domain,
    const struct qmessage *msg, const struct remote_sender *sender,
    struct remote_rcpt *r, size_t n, time_t deadline, char *relay,
    size_t relaysize);

#endif
