/*
 * dnsbl.c - the DNS lists' verdict for one session, as Postfix gives it
 * with permit_dnswl_client, postscreen's weighted dnsbl sites and
 * reject_rhsbl_sender.  A dnswl hit exempts the client; otherwise the
 * weights of the dnsbl zones that list it add up, and reaching
 * dnsblthreshold refuses it; any rhsbl hit refuses the sender.  A zone
 * that fails or does not answer in time is skipped and logged: it never
 * refuses anyone.  The refusal names the zone and carries its TXT text.
 */
#include "dnsbl.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "dnslist.h"
#include "log.h"
#include "util.h"

static int
any_list(const struct config *c, enum dnslist_kind kind)
{
	for (size_t i = 0; i < c->ndnslists; i++)
		if ((c->dnslists[i].kind == DNSLIST_SENDER) ==
		    (kind == DNSLIST_SENDER))
			return 1;
	return 0;
}

/* Asks every dnsbl and dnswl zone about the client, without waiting. */
void
dnsbl_start(struct dnsbl *b, const struct config *cfg,
    const char *client_addr, struct dnsq *q)
{
	memset(b, 0, sizeof *b);
	b->cfg = cfg;
	for (size_t i = 0; i < DNSLIST_MAX; i++)
		b->client_q[i] = b->sender_q[i] = -1;
	if (cfg->ndnslists == 0)
		return;
	b->active = 1;
	b->q = q;
	str_copy(b->client, client_addr, sizeof b->client);
	if (client_addr[0] == '\0' || !any_list(cfg, DNSLIST_BLOCK))
		return;
	for (size_t i = 0; i < cfg->ndnslists; i++) {
		char name[300];

		if (cfg->dnslists[i].kind == DNSLIST_SENDER ||
		    dnslist_client_name(client_addr, cfg->dnslists[i].zone,
		    name, sizeof name) < 0)
			continue;
		b->client_q[i] = dnsq_ask(b->q, name, DNSQ_A);
	}
}

/* A new sender: its domain asked of every rhsbl zone, the last one's forgotten. */
void
dnsbl_sender(struct dnsbl *b, const char *sender)
{
	const char *at = strrchr(sender, '@');

	if (!b->active)
		return;
	for (size_t i = 0; i < DNSLIST_MAX; i++) {
		dnsq_forget(b->q, b->sender_q[i]);
		b->sender_q[i] = -1;
	}
	b->sender_judged = 0;
	b->sender_reply[0] = '\0';
	str_copy(b->sender, sender, sizeof b->sender);
	if (at == NULL)		/* the null sender has no domain to ask */
		return;
	for (size_t i = 0; i < b->cfg->ndnslists; i++) {
		char name[300];

		if (b->cfg->dnslists[i].kind != DNSLIST_SENDER ||
		    dnslist_domain_name(at + 1, b->cfg->dnslists[i].zone, name,
		    sizeof name) < 0)
			continue;
		b->sender_q[i] = dnsq_ask(b->q, name, DNSQ_A);
	}
}

/*
 * Whether list i listed what question qi asked: the first answer its
 * filter takes, in value; a failed lookup is logged and counts as not.
 */
static int
listed(struct dnsbl *b, size_t i, int qi, unsigned char value[4])
{
	const struct dnslist *l = &b->cfg->dnslists[i];
	const struct dnsq_answer *a;

	if (qi < 0)
		return 0;
	a = &b->q->q[qi].answer;
	if (a->status != DNSQ_FOUND) {
		if (a->status != DNSQ_NONE)
			log_msg(LOG_WARNING, "dnsbl: zone=%s name=%s lookup "
			    "failed or timed out; skipped", l->zone,
			    b->q->q[qi].name);
		return 0;
	}
	for (size_t k = 0; k < a->naddrs; k++)
		if (dnslist_matches(l, a->addrs[k])) {
			memcpy(value, a->addrs[k], 4);
			return 1;
		}
	return 0;
}

/* The zone's TXT text for the listed name, "" when it has none in time. */
static void
zone_text(struct dnsbl *b, int qi, char *out, size_t size)
{
	int t = dnsq_ask(b->q, b->q->q[qi].name, DNSQ_TXT);

	out[0] = '\0';
	if (t < 0)
		return;
	dnsq_wait(b->q);
	if (b->q->q[t].answer.status == DNSQ_FOUND)
		snprintf(out, size, "; %s", b->q->q[t].answer.txt);
	dnsq_forget(b->q, t);
}

static void
refusal(struct dnsbl *b, const char *what, const char *who, size_t list,
    int qi, char *reply, size_t size)
{
	char text[DNSQ_TXT_MAX + 2];

	zone_text(b, qi, text, sizeof text);
	snprintf(reply, size, "%s Service unavailable; %s [%s] blocked using "
	    "%s%.*s", b->cfg->dnsbl_defer ? "450 4.7.1" : "554 5.7.1", what,
	    who, b->cfg->dnslists[list].zone, 200, text);
}

/* The client's verdict, once: NULL when it passes, else the refusal. */
const char *
dnsbl_client_verdict(struct dnsbl *b)
{
	unsigned char v[4];
	int score = 0, top = -1;

	if (!b->active || b->client[0] == '\0')
		return NULL;
	if (b->client_judged)
		return b->client_reply[0] ? b->client_reply : NULL;
	b->client_judged = 1;
	dnsq_wait(b->q);
	for (size_t i = 0; i < b->cfg->ndnslists; i++) {
		const struct dnslist *l = &b->cfg->dnslists[i];

		if (l->kind == DNSLIST_SENDER || !listed(b, i, b->client_q[i], v))
			continue;
		log_msg(LOG_INFO, "%s: client=%s zone=%s value=%u.%u.%u.%u "
		    "weight=%d", l->kind == DNSLIST_ALLOW ? "dnswl" : "dnsbl",
		    b->client, l->zone, v[0], v[1], v[2], v[3],
		    l->kind == DNSLIST_ALLOW ? 0 : l->weight);
		if (l->kind == DNSLIST_ALLOW)
			return NULL;	/* an allow-list hit wins */
		score += l->weight;
		if (top < 0 || l->weight > b->cfg->dnslists[top].weight)
			top = (int)i;
	}
	if (top >= 0 && score >= b->cfg->dnsblthreshold)
		refusal(b, "Client host", b->client, (size_t)top,
		    b->client_q[top], b->client_reply, sizeof b->client_reply);
	return b->client_reply[0] ? b->client_reply : NULL;
}

/* At RCPT: the client's verdict, then the sender's; NULL when both pass. */
const char *
dnsbl_verdict(struct dnsbl *b)
{
	const char *why = dnsbl_client_verdict(b);
	unsigned char v[4];

	if (why != NULL || !b->active)
		return why;
	if (b->sender_judged)
		return b->sender_reply[0] ? b->sender_reply : NULL;
	b->sender_judged = 1;
	dnsq_wait(b->q);
	for (size_t i = 0; i < b->cfg->ndnslists; i++) {
		if (b->cfg->dnslists[i].kind != DNSLIST_SENDER ||
		    !listed(b, i, b->sender_q[i], v))
			continue;
		log_msg(LOG_INFO, "rhsbl: client=%s from=<%s> zone=%s "
		    "value=%u.%u.%u.%u", b->client, b->sender,
		    b->cfg->dnslists[i].zone, v[0], v[1], v[2], v[3]);
		refusal(b, "Sender address", b->sender, i, b->sender_q[i],
		    b->sender_reply, sizeof b->sender_reply);
		break;
	}
	return b->sender_reply[0] ? b->sender_reply : NULL;
}
