/*
 * milter.c - the milter protocol, MTA side (see milter.h).
 *
 * Every packet is a 4-octet length in network order, a command octet
 * and its data.  smtpd offers protocol version 6, lets a filter decline
 * any event and any reply (SMFIP_NO* and SMFIP_NR_*), and offers no
 * message modification yet.  A filter is hostile like any peer: every
 * step has a deadline (milterconnecttimeout, miltertimeout), a reply is
 * at most MILTER_PACKET_MAX octets, and a filter that fails, is silent
 * or says what the protocol does not allow gets milterdefault: tempfail
 * (every later command of the session 451, as Postfix does) or accept
 * (the filter is left out for the rest of the session), logged.
 */
#include "milter.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "sockclient.h"
#include "util.h"

#define MILTER_VERSION 6

/* the steps a filter may decline (SMFIP_NO*) and the replies it may
 * leave out (SMFIP_NR_*): all of them */
#define SMFIP_NOCONNECT 0x1UL
#define SMFIP_NOHELO 0x2UL
#define SMFIP_NOMAIL 0x4UL
#define SMFIP_NORCPT 0x8UL
#define SMFIP_NR_CONN 0x1000UL
#define SMFIP_NR_HELO 0x2000UL
#define SMFIP_NR_MAIL 0x4000UL
#define SMFIP_NR_RCPT 0x8000UL
#define PROTOCOL_OFFERED 0xFF3FFUL


/* ---- one filter ---- */

static void
give_up(struct milters *ms, struct milter_filter *f, const char *why)
{
	int tempfail = !ms->cfg->milter_default_accept;

	log_msg(LOG_WARNING, "milter: %s: %s; default action %s", f->spec,
	    why, tempfail ? "tempfail" : "accept");
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->accepted_session = !tempfail;
}

static long long
deadline(const struct milters *ms)
{
	return monotonic_ms() + (long long)ms->cfg->miltertimeout * 1000;
}

/* Option negotiation (SMFIC_OPTNEG) on a new connection. */
static int
negotiate(struct milters *ms, struct milter_filter *f)
{
	struct packet p = { .cmd = 'O' };
	unsigned long version;

	milter_put_u32(&p, MILTER_VERSION);
	milter_put_u32(&p, 0);			/* no modifications offered */
	milter_put_u32(&p, PROTOCOL_OFFERED);
	if (milter_send(f->fd, &p, deadline(ms)) < 0 ||
	    milter_read(f->fd, &p, deadline(ms)) < 0)
		return -1;
	if (p.cmd != 'O' || p.len < 12)
		return -1;
	version = milter_get_u32(p.data);
	if (version < 2 || version > MILTER_VERSION)
		return -1;
	/* what it declines beyond what was offered is not ours to skip */
	f->protocol = milter_get_u32(p.data + 8) & PROTOCOL_OFFERED;
	return 0;
}

/* Macros for the next event: stage, then name/value pairs, NULL ended. */
static int
send_macros(struct milters *ms, struct milter_filter *f, char stage,
    const char *const *pairs)
{
	struct packet p = { .cmd = 'D' };

	milter_put(&p, &stage, 1);
	for (size_t i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
		if (milter_put_str(&p, pairs[i]) < 0 || milter_put_str(&p, pairs[i + 1]) < 0)
			return -1;
	return milter_send(f->fd, &p, deadline(ms));
}

/*
 * Sends one event and, unless the filter said it will not answer it,
 * reads its reply.  Returns the MILTER_ kind; a failure gives up the
 * filter and returns MILTER_BAD.
 */
static int
event(struct milters *ms, struct milter_filter *f, const struct packet *ev,
    unsigned long noreply)
{
	struct packet p;
	long long until = deadline(ms);
	int kind;

	if (milter_send(f->fd, ev, until) < 0) {
		give_up(ms, f, "cannot send");
		return MILTER_BAD;
	}
	if (f->protocol & noreply)
		return MILTER_CONTINUE;
	do {
		if (milter_read(f->fd, &p, until) < 0) {
			give_up(ms, f, "no reply in time, or a bad one");
			return MILTER_BAD;
		}
		kind = milter_parse_reply(p.cmd, p.data, p.len, ms->reply,
		    sizeof ms->reply);
		/* progress does not move the deadline: a filter could send
		 * it forever (libmilter sends it only at end of message) */
	} while (kind == MILTER_PROGRESS);
	if (kind == MILTER_BAD)
		give_up(ms, f, "a reply the protocol does not allow here");
	return kind;
}

/* ---- events to every filter ---- */

static int
in_play(const struct milter_filter *f)
{
	return f->fd >= 0 && !f->accepted_session && !f->accepted_message;
}

/* A filter given up under milterdefault tempfail refuses everything. */
static int
failed_tempfail(const struct milters *ms, const struct milter_filter *f)
{
	return f->fd < 0 && !f->accepted_session &&
	    !ms->cfg->milter_default_accept;
}

/*
 * The event to each filter in turn, until one refuses.  no_event and
 * no_reply are the SMFIP_ flags by which a filter declines it or its
 * reply; session_level: an ACCEPT holds for the whole session.
 */
static void
each_filter(struct milters *ms, char stage, const char *const *macros,
    const struct packet *ev, unsigned long no_event, unsigned long no_reply,
    int session_level, struct milter_verdict *v)
{
	memset(v, 0, sizeof *v);
	for (size_t i = 0; i < ms->n; i++) {
		struct milter_filter *f = &ms->f[i];
		int kind;

		if (failed_tempfail(ms, f)) {
			v->reply = MILTER_TEMPFAIL_REPLY;
			return;
		}
		if (!in_play(f) || (f->protocol & no_event))
			continue;
		if (send_macros(ms, f, stage, macros) < 0) {
			give_up(ms, f, "cannot send");
			kind = MILTER_BAD;
		} else {
			kind = event(ms, f, ev, no_reply);
		}
		switch (kind) {
		case MILTER_BAD:
			if (failed_tempfail(ms, f)) {
				v->reply = MILTER_TEMPFAIL_REPLY;
				return;
			}
			break;
		case MILTER_ACCEPT:
			if (session_level)
				f->accepted_session = 1;
			else
				f->accepted_message = 1;
			break;
		case MILTER_REFUSE:
			log_msg(LOG_INFO, "milter: %s: %s", f->spec, ms->reply);
			v->reply = ms->reply;
			return;
		case MILTER_DISCARD:
			/* the message is done with, for every filter */
			v->discard = 1;
			for (size_t k = 0; k < ms->n; k++)
				ms->f[k].accepted_message = 1;
			return;
		case MILTER_QUARANTINE:
			v->hold = 1;
			break;
		default:
			break;
		}
	}
}

void
milters_start(struct milters *ms, const struct config *cfg,
    const struct milter_client *client, struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'C' };
	char port[8], either[600];
	uint16_t nport = htons((uint16_t)client->port);
	const char *macros[] = { "j", cfg->hostname, "{daemon_name}", "postern",
		"{client_addr}", client->addr, "{client_name}", client->name,
		"_", either, NULL };

	memset(ms, 0, sizeof *ms);
	ms->cfg = cfg;
	for (size_t i = 0; i < cfg->nmilters; i++) {
		struct milter_filter *f = &ms->f[ms->n++];
		f->spec = cfg->milters[i];
		f->fd = sock_connect(f->spec, monotonic_ms() +
		    (long long)cfg->milterconnecttimeout * 1000);
		if (f->fd < 0)
			give_up(ms, f, "cannot connect");
		else if (negotiate(ms, f) < 0)
			give_up(ms, f, "option negotiation failed");
	}
	snprintf(port, sizeof port, "%u", client->port);
	snprintf(either, sizeof either, "%s [%s]", client->name,
	    client->addr[0] ? client->addr : "127.0.0.1");
	milter_put_str(&ev, client->name);
	if (client->addr[0] == '\0') {
		milter_put(&ev, "U", 1);	/* local: no address */
	} else {
		milter_put(&ev, strchr(client->addr, ':') ? "6" : "4", 1);
		milter_put(&ev, &nport, 2);
		milter_put_str(&ev, client->addr);
	}
	each_filter(ms, 'C', macros, &ev, SMFIP_NOCONNECT, SMFIP_NR_CONN, 1, v);
}

void
milters_helo(struct milters *ms, const char *helo, struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'H' };
	const char *macros[] = { NULL };

	milter_put_str(&ev, helo);
	each_filter(ms, 'H', macros, &ev, SMFIP_NOHELO, SMFIP_NR_HELO, 1, v);
}

/* MAIL: "<sender>", then each ESMTP parameter as its own string. */
void
milters_mail(struct milters *ms, const char *sender, const char *args,
    const char *auth_user, struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'M' };
	char path[600], arg[600];
	const char *macros[] = { "{mail_addr}", sender, "{auth_authen}",
		auth_user, NULL };

	for (size_t i = 0; i < ms->n; i++)
		ms->f[i].accepted_message = 0;
	snprintf(path, sizeof path, "<%s>", sender);
	milter_put_str(&ev, path);
	while (*args) {
		size_t n;
		args += strspn(args, " ");
		n = strcspn(args, " ");
		if (n == 0)
			break;
		snprintf(arg, sizeof arg, "%.*s", (int)n, args);
		if (milter_put_str(&ev, arg) < 0)
			break;
		args += n;
	}
	if (auth_user[0] == '\0')
		macros[2] = NULL;
	each_filter(ms, 'M', macros, &ev, SMFIP_NOMAIL, SMFIP_NR_MAIL, 0, v);
}

void
milters_rcpt(struct milters *ms, const char *rcpt, struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'R' };
	char path[600];
	const char *macros[] = { "{rcpt_addr}", rcpt, NULL };

	snprintf(path, sizeof path, "<%s>", rcpt);
	milter_put_str(&ev, path);
	each_filter(ms, 'R', macros, &ev, SMFIP_NORCPT, SMFIP_NR_RCPT, 0, v);
}

/* The transaction ended (RSET, a new MAIL, QUIT): SMFIC_ABORT, no reply. */
void
milters_abort(struct milters *ms)
{
	struct packet ev = { .cmd = 'A' };

	for (size_t i = 0; i < ms->n; i++) {
		struct milter_filter *f = &ms->f[i];
		if (f->fd >= 0 && !f->accepted_session &&
		    milter_send(f->fd, &ev, deadline(ms)) < 0)
			give_up(ms, f, "cannot send");
		f->accepted_message = 0;
	}
}

void
milters_end(struct milters *ms)
{
	struct packet ev = { .cmd = 'Q' };

	for (size_t i = 0; i < ms->n; i++) {
		struct milter_filter *f = &ms->f[i];
		if (f->fd < 0)
			continue;
		(void)milter_send(f->fd, &ev, deadline(ms));
		close(f->fd);
		f->fd = -1;
	}
	ms->n = 0;
}
