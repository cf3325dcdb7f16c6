/*
 * checks.h - smtpd's checks that ask others, behind session_checks: the
 * DNS lists, then the policy servers, in the order Postfix's
 * smtpd_recipient_restrictions usually names them, then the milters
 * (as Postfix asks its smtpd_milters after its restrictions).
 */
#ifndef POSTERN_CHECKS_H
#define POSTERN_CHECKS_H

#include "clientcheck.h"
#include "dnsbl.h"
#include "dnsq.h"
#include "milter.h"
#include "policy.h"
#include "session.h"

struct checks {
	const struct config *cfg;
	struct client *client;
	struct dnsq q;			/* the session's DNS questions */
	int dns_used;
	struct clientcheck cc;
	struct dnsbl dnsbl;
	struct policy policy;
	struct milters milters;
};

void checks_start(struct checks *c, const struct config *cfg,
    struct client *client, struct session *s, const char *resolv_conf);
void checks_at_connect(struct checks *c, struct client *client);
void checks_end(struct checks *c);

/* For the tests: the request smtpd sends a policy server. */
size_t checks_policy_request(const struct session *s, const char *state,
    const char *rcpt, char *out, size_t size);

#endif
