/*
 * checks.c - the checks of a recipient that ask others, in Postfix's
 * usual order: after the relay rules (session.c), the client's name,
 * its HELO and the sender's domain, the DNS lists, then the policy
 * servers; and the policy servers again at the end of the data with
 * policyeod.  Clients ruled relay and logged-in clients skip all but
 * the policy servers: a policy server is given client_address and
 * sasl_username and decides itself (a submission listener has its own
 * configuration directory, and its own policy lines, if any).  All the
 * DNS questions of a session share one resolver and its deadlines.
 */
#include "checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "content.h"
#include "envedit.h"
#include "log.h"
#include "util.h"

/* name=value\n, the value cut at a line end and to 1000 octets. */
static size_t
attribute(char *out, size_t size, size_t len, const char *name,
    const char *value)
{
	int n;

	if (len >= size)
		return len;
	n = snprintf(out + len, size - len, "%s=%.1000s\n", name,
	    value != NULL ? value : "");
	if (n < 0 || (size_t)n >= size - len)
		return size;
	for (size_t i = len + strlen(name) + 1; i < len + (size_t)n - 1; i++)
		if (out[i] == '\n' || out[i] == '\r')
			out[i] = '?';
	return len + (size_t)n;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? v : "";
}

/*
 * The attributes Postfix sends (SMTPD_POLICY_README), for state RCPT
 * or END-OF-MESSAGE, with an empty line at the end.  Its length, or
 * size when it does not fit.
 */
size_t
checks_policy_request(const struct session *s, const char *state,
    const char *rcpt, char *out, size_t size)
{
	char count[24], msgsize[24], instance[40];
	size_t n = 0;
	int eod = strcmp(state, "END-OF-MESSAGE") == 0;

	snprintf(count, sizeof count, "%u", eod ? s->tx.nrcpt : 0);
	snprintf(msgsize, sizeof msgsize, "%llu",
	    eod ? s->tx.size : s->tx.declared_size);
	snprintf(instance, sizeof instance, "%x.%x", (unsigned)getpid(),
	    s->tx.serial);
	n = attribute(out, size, n, "request", "smtpd_access_policy");
	n = attribute(out, size, n, "protocol_state", state);
	n = attribute(out, size, n, "protocol_name",
	    s->helo_kind == 2 ? "ESMTP" : "SMTP");
	n = attribute(out, size, n, "helo_name", s->helo);
	n = attribute(out, size, n, "queue_id", eod ? s->tx.id : "");
	n = attribute(out, size, n, "sender", s->tx.envelope.data ?
	    s->tx.envelope.data + 1 : "");
	n = attribute(out, size, n, "recipient", rcpt);
	n = attribute(out, size, n, "recipient_count", count);
	n = attribute(out, size, n, "client_address", s->client->addr);
	/* "unknown", Postfix's word, without a (confirmed) name */
	n = attribute(out, size, n, "client_name", s->client->name[0] ?
	    s->client->name : "unknown");
	n = attribute(out, size, n, "reverse_client_name",
	    s->client->reverse_name[0] ? s->client->reverse_name : "unknown");
	n = attribute(out, size, n, "client_port", env("TCPREMOTEPORT"));
	n = attribute(out, size, n, "server_address", env("TCPLOCALIP"));
	n = attribute(out, size, n, "server_port", env("TCPLOCALPORT"));
	n = attribute(out, size, n, "instance", instance);
	n = attribute(out, size, n, "sasl_method", "");
	n = attribute(out, size, n, "sasl_username", s->auth_user);
	n = attribute(out, size, n, "sasl_sender", "");
	n = attribute(out, size, n, "size", msgsize);
	n = attribute(out, size, n, "encryption_protocol",
	    s->encrypted ? env("SSL_PROTOCOL") : "");
	n = attribute(out, size, n, "encryption_cipher",
	    s->encrypted ? env("SSL_CIPHER") : "");
	n = attribute(out, size, n, "stress", "");
	n = attribute(out, size, n, "mail_version", "postern " POSTERN_VERSION);
	if (n + 1 >= size)
		return size;
	out[n++] = '\n';
	out[n] = '\0';
	return n;
}

/* Asks the policy servers; applies PREPEND, HOLD, DISCARD to the message. */
static const char *
ask_policy(struct checks *c, struct session *s, const char *state,
    const char *rcpt)
{
	static char reply[512];
	char req[8192];
	struct policy_result r;
	size_t n;

	if (c->cfg->npolicies == 0)
		return NULL;
	n = checks_policy_request(s, state, rcpt, req, sizeof req);
	if (n >= sizeof req)
		return NULL;
	policy_ask(&c->policy, req, n, &r);
	if (r.prepend[0] != '\0') {
		size_t used = strlen(s->tx.prepend);

		if (s->tx.message_open)
			log_msg(LOG_WARNING, "policy: PREPEND at the end of the "
			    "data is not supported; ignored");
		else if (used + strlen(r.prepend) < sizeof s->tx.prepend)
			memcpy(s->tx.prepend + used, r.prepend,
			    strlen(r.prepend) + 1);
	}
	s->tx.hold |= r.hold;
	s->tx.discard |= r.discard;
	if (r.verdict != POLICY_REFUSE)
		return NULL;
	str_copy(reply, r.reply, sizeof reply);
	return reply;
}

/* A milter verdict: its reply, or NULL; DISCARD and quarantine noted. */
static const char *
milter_outcome(struct session *s, const struct milter_verdict *v)
{
	s->tx.discard |= v->discard;
	s->tx.hold |= v->hold;
	return v->reply;
}

static const char *
check_helo(void *ctx, struct session *s)
{
	struct checks *c = ctx;
	struct milter_verdict v;

	if (c->milters.n == 0)
		return NULL;
	/* what the TLS wrapper says, as for the policy servers */
	milters_helo(&c->milters, s->helo, s->encrypted ? env("SSL_PROTOCOL") :
	    "", &v);
	return v.reply;
}

static const char *
check_mail(void *ctx, struct session *s, const char *sender,
    const char *params)
{
	struct checks *c = ctx;
	struct milter_verdict v;

	if (c->dns_used) {
		clientcheck_sender(&c->cc, sender);
		dnsbl_sender(&c->dnsbl, sender);
	}
	if (c->milters.n == 0)
		return NULL;
	milters_mail(&c->milters, sender, params, s->auth_user,
	    s->auth_mechanism, &v);
	return milter_outcome(s, &v);
}

static const char *
check_rcpt(void *ctx, struct session *s, const char *rcpt)
{
	struct checks *c = ctx;
	const char *why = NULL;
	struct milter_verdict v;

	if (c->dns_used)
		clientcheck_names(&c->cc);	/* for Received: too */
	if (c->dns_used && !session_trusted(s))
		why = clientcheck_verdict(&c->cc, s);
	if (c->dns_used && why == NULL && !session_trusted(s))
		why = dnsbl_verdict(&c->dnsbl);
	if (why == NULL)
		why = ask_policy(c, s, "RCPT", rcpt);
	if (why != NULL || c->milters.n == 0)
		return why;
	milters_rcpt(&c->milters, rcpt, &v);
	return milter_outcome(s, &v);
}

static void
check_reset(void *ctx, struct session *s)
{
	struct checks *c = ctx;

	(void)s;
	if (c->milters.n > 0)
		milters_abort(&c->milters);
}

/* The message as it streams in, to the milters. */
static const char *
check_content(void *ctx, struct session *s, enum content_part part,
    const char *p, size_t n)
{
	struct checks *c = ctx;
	struct milter_verdict v;

	switch (part) {
	case CONTENT_BEGIN:
		milters_data(&c->milters, p, &v);
		break;
	case CONTENT_FIELD:
		milters_header(&c->milters, p, n, &v);
		break;
	case CONTENT_END_OF_HEADER:
		milters_end_of_header(&c->milters, &v);
		break;
	default:
		milters_body(&c->milters, p, n, &v);
		break;
	}
	return milter_outcome(s, &v);
}

/* ---- the milters' changes at the end of the message ---- */

static int
edit_insert_field(void *ctx, size_t index, const char *name,
    const char *value)
{
	return content_insert_field(ctx, index == MILTERMOD_APPEND ?
	    CONTENT_APPEND : index, name, value);
}

static int
edit_change_field(void *ctx, const char *name, unsigned nth,
    const char *value)
{
	return content_change_field(ctx, name, nth, value);
}

static int
edit_body_begin(void *ctx)
{
	return content_body_begin(ctx);
}

static int
edit_body(void *ctx, const char *p, size_t n)
{
	return content_body(ctx, p, n);
}

static int
edit_add_rcpt(void *ctx, const char *rcpt, const char *args)
{
	struct session *s = ctx;

	if (s->tx.nrcpt >= s->cfg->maxrcpt ||
	    envedit_add_rcpt(&s->tx.envelope, rcpt, args) < 0)
		return -1;
	log_msg(LOG_INFO, "milter: id=%s recipient added: %s", s->tx.id,
	    rcpt);
	s->tx.nrcpt = envedit_count_rcpts(&s->tx.envelope);
	return 0;
}

static int
edit_del_rcpt(void *ctx, const char *rcpt)
{
	struct session *s = ctx;

	if (envedit_del_rcpt(&s->tx.envelope, rcpt) < 0)
		return -1;
	log_msg(LOG_INFO, "milter: id=%s recipient deleted: %s", s->tx.id,
	    rcpt);
	s->tx.nrcpt = envedit_count_rcpts(&s->tx.envelope);
	return 0;
}

static int
edit_change_from(void *ctx, const char *from, const char *args)
{
	struct session *s = ctx;

	(void)args;	/* RET and ENVID stay as the client gave them */
	if (envedit_set_sender(&s->tx.envelope, from) < 0)
		return -1;
	log_msg(LOG_INFO, "milter: id=%s sender changed: <%s>", s->tx.id,
	    s->tx.envelope.data + 1);
	return 0;
}

static const char *
milters_at_end(struct checks *c, struct session *s)
{
	const struct milter_edit_ops ops = { edit_insert_field,
	    edit_change_field, edit_body_begin, edit_body, edit_add_rcpt,
	    edit_del_rcpt, edit_change_from, s };
	struct milter_verdict v;
	const char *why;

	milters_end_of_message(&c->milters, &ops, &v);
	why = milter_outcome(s, &v);
	if (why == NULL && !s->tx.discard && s->tx.nrcpt == 0) {
		/* as Postfix: a message without recipients goes nowhere */
		log_msg(LOG_NOTICE, "milter: id=%s every recipient deleted; "
		    "discarded", s->tx.id);
		s->tx.discard = 1;
	}
	return why;
}

static const char *
check_data(void *ctx, struct session *s)
{
	struct checks *c = ctx;
	const char *why = NULL;

	if (c->cfg->policy_eod)
		why = ask_policy(c, s, "END-OF-MESSAGE", "");
	if (why == NULL && c->milters.n > 0)
		why = milters_at_end(c, s);
	return why;
}

/* The client's port, as the super-server says (TCPREMOTEPORT); 0 unknown. */
static unsigned
client_port(void)
{
	const char *p = getenv("TCPREMOTEPORT");
	unsigned long long port = 0;

	if (p == NULL || parse_ulong(p, 65535, &port) < 0)
		return 0;
	return (unsigned)port;
}

/*
 * A milter's refusal at connect: a 5xx refuses the session at the
 * greeting (554), a 4xx closes it (421), and every command after is
 * refused, as for a denied client.
 */
static void
refuse_client(struct client *client, const char *reply)
{
	if (reply == NULL)
		return;
	client->denied = 1;
	snprintf(client->deny_reply, sizeof client->deny_reply, "%s %s",
	    reply[0] == '5' ? "554" : "421", reply[3] ? reply + 4 : "");
}

/*
 * The DNS lists are asked as the session starts, so that the answers
 * come in during greetdelay and while the client says HELO and MAIL; a
 * relay client is never judged by them, so it costs none.
 */
void
checks_start(struct checks *c, const struct config *cfg,
    struct client *client, struct session *s, const char *resolv_conf)
{
	struct session_checks hooks = { check_helo, check_mail,
	    check_rcpt, check_data, check_reset, NULL, c };
	struct milter_client mc = { client->addr, "unknown", client_port() };
	struct milter_verdict v;

	c->cfg = cfg;
	c->client = client;
	policy_init(&c->policy, cfg);
	c->dns_used = cfg->ndnslists > 0 || cfg->checkhelo ||
	    cfg->checksenderdomain || cfg->checkclientname != CLIENTNAME_NO;
	if (c->dns_used) {
		dnsq_init(&c->q, resolv_conf, cfg->dnstimeout);
		clientcheck_start(&c->cc, cfg, client, &c->q);
		dnsbl_start(&c->dnsbl, cfg, client->may_relay ||
		    client->denied ? "" : client->addr, &c->q);
	}
	if (!client->denied && cfg->nmilters > 0) {
		milters_start(&c->milters, cfg, &mc,
		    s->sink->commit_pieces != NULL, &v);
		refuse_client(client, v.reply);
		hooks.content = check_content;
	}
	if (!client->denied)
		session_set_checks(s, &hooks);
}

/* dnsblcheck connect: the verdict is the greeting, a refusal as deny's. */
void
checks_at_connect(struct checks *c, struct client *client)
{
	const char *why;

	if (c->dns_used && c->cfg->dnsbl_at_connect && !client->may_relay &&
	    !client->denied && (why = dnsbl_client_verdict(&c->dnsbl)) != NULL) {
		client->denied = 1;
		str_copy(client->deny_reply, why, sizeof client->deny_reply);
	}
}

void
checks_end(struct checks *c)
{
	if (c->dns_used)
		dnsq_close(&c->q);
	policy_end(&c->policy);
	milters_end(&c->milters);
}
