/*
 * dnsbl.h - one session's DNS list checks: the client's address asked
 * of every dnsbl and dnswl zone as the session starts, the sender's
 * domain of every rhsbl zone at MAIL, the verdict at the first RCPT
 * (or before the greeting), all within dnstimeout.
 */
#ifndef POSTERN_DNSBL_H
#define POSTERN_DNSBL_H

#include <stddef.h>

#include "config.h"
#include "dnsq.h"

struct dnsbl {
	const struct config *cfg;
	struct dnsq *q;			/* the session's, shared */
	int active;			/* any list configured, an address to ask */
	char client[64];
	int client_q[DNSLIST_MAX];	/* question per list, -1 for none */
	int client_judged;
	char client_reply[512];		/* "" when the client passes */
	char sender[256];
	int sender_q[DNSLIST_MAX];
	int sender_judged;
	char sender_reply[512];
};

void dnsbl_start(struct dnsbl *b, const struct config *cfg,
    const char *client_addr, struct dnsq *q);
void dnsbl_sender(struct dnsbl *b, const char *sender);
const char *dnsbl_client_verdict(struct dnsbl *b);
const char *dnsbl_verdict(struct dnsbl *b);

#endif
