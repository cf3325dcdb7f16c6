/*
 * policy.h - a client of Postfix's policy delegation protocol
 * (SMTPD_POLICY_README): attributes as name=value lines and an empty
 * line to each configured policy server, one action= back, understood
 * as Postfix understands it.
 */
#ifndef POSTERN_POLICY_H
#define POSTERN_POLICY_H

#include <stddef.h>

#include "config.h"

#define POLICY_REPLY_MAX 4096	/* octets of one reply, all attributes */

enum policy_verdict {
	POLICY_DUNNO,		/* no opinion: the next server, then accept */
	POLICY_OK,		/* accept: no further server is asked */
	POLICY_REFUSE		/* reply holds the 4xx or 5xx to give */
};

/* What the servers asked for, beside the verdict. */
struct policy_result {
	enum policy_verdict verdict;
	char reply[512];
	char prepend[1024];	/* header lines to add, each ending in \n */
	int hold;		/* HOLD: queued, held for the administrator */
	int discard;		/* DISCARD: claimed delivered, thrown away */
};

struct policy {
	const struct config *cfg;
	int fd[POLICY_MAX];	/* one connection per server, kept */
};

void policy_init(struct policy *p, const struct config *cfg);
void policy_ask(struct policy *p, const char *attrs, size_t len,
    struct policy_result *r);
void policy_action(const char *server, const char *action,
    struct policy_result *r);
void policy_end(struct policy *p);

#endif
