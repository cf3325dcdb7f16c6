/*
 * clientcheck.c - the client's name and what it claims.  With
 * checkclientname, the client's address is asked for its PTR name as the
 * session starts; the name counts as the client's (Received:, the
 * policy servers) only when it forward-confirms: one of its A or AAAA
 * records is the client's address.  With checkhelo, the HELO name must
 * be a host name or an address literal, fully qualified, and not ours.
 * With checksenderdomain, the sender's domain must have an MX, A or AAAA
 * record.  Replies and codes are Postfix's.  A lookup that fails or is
 * late is logged and refuses nothing: only a clear "no such name" does.
 */
#include "clientcheck.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "address.h"
#include "dnslist.h"
#include "log.h"
#include "route.h"
#include "util.h"

/* An IPv6 client, not an IPv4 one written IPv4-mapped. */
static int
is_ipv6(const char *addr)
{
	return strchr(addr, ':') != NULL && strncmp(addr, "::ffff:", 7) != 0;
}

void
clientcheck_start(struct clientcheck *c, const struct config *cfg,
    struct client *client, struct dnsq *q)
{
	char name[300];

	memset(c, 0, sizeof *c);
	c->cfg = cfg;
	c->q = q;
	c->client = client;
	c->ptr_q = -1;
	for (int i = 0; i < 3; i++)
		c->domain_q[i] = -1;
	if (cfg->checkclientname == CLIENTNAME_NO || client->addr[0] == '\0')
		return;
	if (dnslist_client_name(client->addr, is_ipv6(client->addr) ?
	    "ip6.arpa" : "in-addr.arpa", name, sizeof name) == 0)
		c->ptr_q = dnsq_ask(q, name, DNSQ_PTR);
}

/* A new sender: its domain's MX, A and AAAA asked; the last one's forgotten. */
void
clientcheck_sender(struct clientcheck *c, const char *sender)
{
	static const enum dnsq_type types[3] = { DNSQ_MX, DNSQ_A, DNSQ_AAAA };
	const char *at = strrchr(sender, '@');

	for (int i = 0; i < 3; i++) {
		dnsq_forget(c->q, c->domain_q[i]);
		c->domain_q[i] = -1;
	}
	c->sender_judged = 0;
	c->sender_reply[0] = '\0';
	str_copy(c->sender, sender, sizeof c->sender);
	if (!c->cfg->checksenderdomain || at == NULL || at[1] == '[')
		return;
	for (int i = 0; i < 3; i++)
		c->domain_q[i] = dnsq_ask(c->q, at + 1, types[i]);
}

/* Whether the answer to question i holds the client's address. */
static int
has_address(const struct dnsq_answer *a, const char *addr)
{
	unsigned char v4[4], v6[16];

	if (inet_pton(AF_INET, addr, v4) == 1 ||
	    (strncmp(addr, "::ffff:", 7) == 0 &&
	    inet_pton(AF_INET, addr + 7, v4) == 1)) {
		for (size_t k = 0; k < a->naddrs; k++)
			if (memcmp(a->addrs[k], v4, 4) == 0)
				return 1;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, v6) != 1)
		return 0;
	for (size_t k = 0; k < a->naddrs6; k++)
		if (memcmp(a->addrs6[k], v6, 16) == 0)
			return 1;
	return 0;
}

static void
log_failed(const struct dnsq_question *q)
{
	log_msg(LOG_WARNING, "clientcheck: name=%s type=%d lookup failed or "
	    "timed out; nothing refused for it", q->name, (int)q->type);
}

/*
 * The PTR name, then whether it forward-confirms: client->name when it
 * does.  Returns 1 when the lookups were answered, 0 when one failed.
 */
static int
resolve_name(struct clientcheck *c)
{
	const struct dnsq_question *ptr;
	int fwd;

	dnsq_wait(c->q);
	ptr = &c->q->q[c->ptr_q];
	if (ptr->answer.status == DNSQ_FAILED) {
		log_failed(ptr);
		return 0;
	}
	/* a name that is no host name (it goes into Received:) is none */
	if (ptr->answer.status != DNSQ_FOUND ||
	    !domain_syntax_ok(ptr->answer.name, strlen(ptr->answer.name)))
		return 1;
	str_copy(c->client->reverse_name, ptr->answer.name,
	    sizeof c->client->reverse_name);
	fwd = dnsq_ask(c->q, c->client->reverse_name,
	    is_ipv6(c->client->addr) ? DNSQ_AAAA : DNSQ_A);
	if (fwd < 0)
		return 0;
	dnsq_wait(c->q);
	if (c->q->q[fwd].answer.status == DNSQ_FAILED) {
		log_failed(&c->q->q[fwd]);
		dnsq_forget(c->q, fwd);
		return 0;
	}
	if (has_address(&c->q->q[fwd].answer, c->client->addr))
		str_copy(c->client->name, c->client->reverse_name,
		    sizeof c->client->name);
	dnsq_forget(c->q, fwd);
	return 1;
}

/* The client's names, looked up once (the verdict, the Received line). */
void
clientcheck_names(struct clientcheck *c)
{
	int answered;

	if (c->ptr_q < 0 || c->name_judged)
		return;
	c->name_judged = 1;
	answered = resolve_name(c);
	if (!answered)
		return;
	if (c->cfg->checkclientname == CLIENTNAME_REVERSE &&
	    c->client->reverse_name[0] == '\0')
		snprintf(c->name_reply, sizeof c->name_reply, "450 4.7.25 "
		    "Client host rejected: cannot find your reverse hostname, "
		    "[%s]", c->client->addr);
	else if (c->cfg->checkclientname == CLIENTNAME_YES &&
	    c->client->name[0] == '\0')
		snprintf(c->name_reply, sizeof c->name_reply, "450 4.7.25 "
		    "Client host rejected: cannot find your hostname, [%s]",
		    c->client->addr);
}

/* The HELO name as it may be quoted in a reply: printable, bounded. */
static void
quote_helo(char *out, size_t size, const char *helo)
{
	size_t n = 0;

	for (; *helo != '\0' && n + 1 < size && n < 100; helo++)
		out[n++] = *helo > 32 && *helo < 127 ? *helo : '?';
	out[n] = '\0';
}

static int
is_address_literal(const char *h)
{
	unsigned char a[16];
	char inner[300];
	size_t len = strlen(h);

	if (len < 3 || h[0] != '[' || h[len - 1] != ']' || len - 2 >= sizeof inner)
		return 0;
	memcpy(inner, h + 1, len - 2);
	inner[len - 2] = '\0';
	return inet_pton(AF_INET, inner, a) == 1 ||
	    (strncasecmp(inner, "IPv6:", 5) == 0 &&
	    inet_pton(AF_INET6, inner + 5, a) == 1);
}

/* checkhelo: NULL when the HELO name passes, else the refusal in reply. */
const char *
helo_refusal(const struct config *cfg, const char *helo, char *reply,
    size_t size)
{
	struct mailpath p;
	char q[110];

	quote_helo(q, sizeof q, helo);
	if (is_address_literal(helo))
		return NULL;
	if (!domain_syntax_ok(helo, strlen(helo))) {
		snprintf(reply, size, "501 5.5.2 <%s>: Helo command rejected: "
		    "Invalid name", q);
		return reply;
	}
	if (strchr(helo, '.') == NULL) {
		snprintf(reply, size, "504 5.5.2 <%s>: Helo command rejected: "
		    "need fully-qualified hostname", q);
		return reply;
	}
	memset(&p, 0, sizeof p);
	snprintf(p.addr, sizeof p.addr, "x@%s", helo);
	p.local_len = 1;
	p.domain = p.addr + 2;
	if (strcasecmp(helo, cfg->hostname) == 0 ||
	    route_is_local_domain(cfg, &p)) {
		snprintf(reply, size, "550 5.7.1 <%s>: Helo command rejected: "
		    "You are not me", q);
		return reply;
	}
	return NULL;
}

/* The sender's domain: refused only when every answer says none. */
static const char *
sender_verdict(struct clientcheck *c)
{
	int none = 0;

	if (c->domain_q[0] < 0 || c->sender_judged)
		return c->sender_reply[0] ? c->sender_reply : NULL;
	c->sender_judged = 1;
	dnsq_wait(c->q);
	for (int i = 0; i < 3; i++) {
		const struct dnsq_question *q;

		if (c->domain_q[i] < 0)
			return NULL;
		q = &c->q->q[c->domain_q[i]];
		if (q->answer.status == DNSQ_FOUND)
			return NULL;
		if (q->answer.status == DNSQ_FAILED) {
			log_failed(q);
			return NULL;
		}
		none++;
	}
	if (none == 3)
		snprintf(c->sender_reply, sizeof c->sender_reply, "450 4.1.8 "
		    "<%s>: Sender address rejected: Domain not found",
		    c->sender);
	return c->sender_reply[0] ? c->sender_reply : NULL;
}

/* At RCPT: the client's name, its HELO, the sender's domain, in that order. */
const char *
clientcheck_verdict(struct clientcheck *c, const struct session *s)
{
	clientcheck_names(c);
	if (c->name_reply[0] != '\0')
		return c->name_reply;
	if (c->cfg->checkhelo && helo_refusal(c->cfg, s->helo, c->helo_reply,
	    sizeof c->helo_reply) != NULL)
		return c->helo_reply;
	return sender_verdict(c);
}
