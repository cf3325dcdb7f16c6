/*
 * clientcheck.h - what the client says about itself, checked as
 * Postfix's reject_unknown_client_hostname, ..._reverse_client_hostname,
 * reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname and
 * reject_unknown_sender_domain check it; and the client's name.
 */
#ifndef POSTERN_CLIENTCHECK_H
#define POSTERN_CLIENTCHECK_H

#include "config.h"
#include "dnsq.h"
#include "session.h"

struct clientcheck {
	const struct config *cfg;
	struct dnsq *q;
	struct client *client;
	int ptr_q;			/* -1: not asked */
	int name_judged;
	char name_reply[512];
	char sender[256];
	int domain_q[3];		/* MX, A, AAAA of the sender's domain */
	int sender_judged;
	char sender_reply[512];
	char helo_reply[512];
};

void clientcheck_start(struct clientcheck *c, const struct config *cfg,
    struct client *client, struct dnsq *q);
void clientcheck_sender(struct clientcheck *c, const char *sender);
const char *clientcheck_verdict(struct clientcheck *c,
    const struct session *s);
void clientcheck_names(struct clientcheck *c);
const char *helo_refusal(const struct config *cfg, const char *helo,
    char *reply, size_t size);

#endif
