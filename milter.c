/*
 * milter.c - the milter protocol, MTA side (see milter.h).
 *
 * Every packet is a 4-octet length in network order, a command octet
 * and its data.  smtpd offers protocol version 6, lets a filter decline
 * any event and any reply (SMFIP_NO* and SMFIP_NR_*), sends header
 * values with their leading space to those that ask (SMFIP_HDR_LEADSPC),
 * and offers every change to the message but the macro list
 * (miltermod.c); to a queue program (QMAILQUEUE), which has been sent
 * the message by the end of it, only the envelope's.  A filter is
 * hostile like any peer: every step has a deadline (milterconnecttimeout,
 * miltertimeout, and for all of a filter's replies at the end of a
 * message miltermessagetimeout), a reply is at most MILTER_PACKET_MAX
 * octets, and a filter that fails, is silent or says what the protocol
 * does not allow gets milterdefault: tempfail (every later command of
 * the session 451, as Postfix does) or accept (the filter is left out
 * for the rest of the session), logged.
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
#define SMFIP_NOBODY 0x10UL
#define SMFIP_NOHDRS 0x20UL
#define SMFIP_NOEOH 0x40UL
#define SMFIP_NR_HDR 0x80UL
#define SMFIP_NODATA 0x200UL
#define SMFIP_NR_DATA 0x10000UL
#define SMFIP_NR_EOH 0x40000UL
#define SMFIP_NR_BODY 0x80000UL
#define SMFIP_HDR_LEADSPC 0x100000UL
#define PROTOCOL_OFFERED 0x1FF3FFUL


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
	milter_put_u32(&p, ms->offered);
	milter_put_u32(&p, PROTOCOL_OFFERED);
	if (milter_send(f->fd, &p, deadline(ms)) < 0 ||
	    milter_read(f->fd, &p, deadline(ms)) < 0)
		return -1;
	if (p.cmd != 'O' || p.len < 12)
		return -1;
	version = milter_get_u32(p.data);
	if (version < 2 || version > MILTER_VERSION)
		return -1;
	/* what it declines beyond what was offered is not ours to skip;
	 * actions it asks for that were not offered it goes without */
	f->actions = milter_get_u32(p.data + 4) & ms->offered;
	f->protocol = milter_get_u32(p.data + 8) & PROTOCOL_OFFERED;
	return 0;
}

/* Macros for the next event: stage, then name/value pairs, NULL ended. */
static int
send_macros(struct milters *ms, struct milter_filter *f, char stage,
    const char *const *pairs)
{
	struct packet p = { .cmd = 'D' };

	if (pairs[0] == NULL)
		return 0;
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
			kind = event(ms, f, ms->leadspc_event != NULL &&
			    (f->protocol & SMFIP_HDR_LEADSPC) ?
			    ms->leadspc_event : ev, no_reply);
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
    const struct milter_client *client, int content_editable,
    struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'C' };
	char port[8], either[600];
	uint16_t nport = htons((uint16_t)client->port);
	const char *macros[] = { "j", cfg->hostname, "{daemon_name}", "postern",
		"{client_addr}", client->addr, "{client_name}", client->name,
		"_", either, NULL };

	memset(ms, 0, sizeof *ms);
	ms->cfg = cfg;
	ms->offered = SMFIF_ENVELOPE | (content_editable ? SMFIF_CONTENT : 0);
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
milters_helo(struct milters *ms, const char *helo, const char *tls_version,
    struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'H' };
	const char *macros[] = { "{tls_version}", tls_version, NULL };

	if (tls_version[0] == '\0')
		macros[0] = NULL;
	milter_put_str(&ev, helo);
	each_filter(ms, 'H', macros, &ev, SMFIP_NOHELO, SMFIP_NR_HELO, 1, v);
}

/* MAIL: "<sender>", then each ESMTP parameter as its own string. */
void
milters_mail(struct milters *ms, const char *sender, const char *args,
    const char *auth_user, const char *auth_type, struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'M' };
	char path[600], arg[600];
	const char *macros[] = { "{mail_addr}", sender, "{auth_authen}",
		auth_user, "{auth_type}", auth_type, NULL };

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
		macros[2] = NULL;	/* OpenDKIM signs when {auth_type} is set */
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

/* DATA: the queue ID is known from here on (macro i). */
void
milters_data(struct milters *ms, const char *id, struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'T' };
	const char *macros[] = { "i", ms->id, NULL };

	str_copy(ms->id, id, sizeof ms->id);
	ms->bodylen = 0;
	each_filter(ms, 'T', macros, &ev, SMFIP_NODATA, SMFIP_NR_DATA, 0, v);
}

/*
 * One header field, "Name: value\n" with its continuation lines: the
 * name, and the value without its last line end (with its leading
 * white space only for a filter that asked for it, as Sendmail does).
 */
void
milters_header(struct milters *ms, const char *field, size_t n,
    struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'L' }, bare = { .cmd = 'L' };
	const char *macros[] = { NULL };
	const char *colon = memchr(field, ':', n), *value;
	size_t vlen;

	memset(v, 0, sizeof *v);
	if (colon == NULL)
		return;
	value = colon + 1;
	vlen = n - (size_t)(value - field);
	while (vlen > 0 && (value[vlen - 1] == '\n'))
		vlen--;
	/* name NUL value NUL; the value with and without its white space */
	milter_put(&ev, field, (size_t)(colon - field));
	milter_put(&ev, "", 1);
	milter_put(&bare, ev.data, ev.len);
	milter_put(&ev, value, vlen);
	milter_put(&ev, "", 1);
	while (vlen > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		vlen--;
	}
	milter_put(&bare, value, vlen);
	milter_put(&bare, "", 1);
	ms->leadspc_event = &ev;
	each_filter(ms, 'L', macros, &bare, SMFIP_NOHDRS, SMFIP_NR_HDR, 0, v);
	ms->leadspc_event = NULL;
}

void
milters_end_of_header(struct milters *ms, struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'N' };
	const char *macros[] = { NULL };

	each_filter(ms, 'N', macros, &ev, SMFIP_NOEOH, SMFIP_NR_EOH, 0, v);
}

/* Sends the body text gathered so far, if any. */
static void
flush_body(struct milters *ms, struct milter_verdict *v)
{
	struct packet ev = { .cmd = 'B' };
	const char *macros[] = { NULL };

	memset(v, 0, sizeof *v);
	if (ms->bodylen == 0)
		return;
	milter_put(&ev, ms->body, ms->bodylen);
	ms->bodylen = 0;
	each_filter(ms, 'B', macros, &ev, SMFIP_NOBODY, SMFIP_NR_BODY, 0, v);
}

/*
 * Body text with LF line ends, sent as CR LF (what SMTP carries and
 * DKIM signs) in chunks of up to 65535 octets.
 */
void
milters_body(struct milters *ms, const char *p, size_t n,
    struct milter_verdict *v)
{
	memset(v, 0, sizeof *v);
	for (size_t i = 0; i < n && v->reply == NULL && !v->discard; i++) {
		if (ms->bodylen + 2 > sizeof ms->body)
			flush_body(ms, v);
		if (p[i] == '\n')
			ms->body[ms->bodylen++] = '\r';
		ms->body[ms->bodylen++] = p[i];
	}
}

/*
 * A filter's replies at the end of the message: its changes, applied
 * as they come, then its verdict.  Each packet within miltertimeout,
 * all of them within miltermessagetimeout, and a new body no larger
 * than maxsize.
 */
static int
end_of_message_one(struct milters *ms, struct milter_filter *f,
    const struct milter_edit_ops *ops, struct milter_verdict *v)
{
	struct milter_mod_state st = { .actions = f->actions,
	    .leadspc = !!(f->protocol & SMFIP_HDR_LEADSPC) };
	struct packet ev = { .cmd = 'E' }, p;
	const char *macros[] = { "i", ms->id, NULL };
	long long whole = monotonic_ms() +
	    (long long)ms->cfg->miltermessagetimeout * 1000;
	unsigned long long body = 0;
	int kind;

	if (send_macros(ms, f, 'E', macros) < 0 ||
	    milter_send(f->fd, &ev, deadline(ms)) < 0) {
		give_up(ms, f, "cannot send");
		return MILTER_BAD;
	}
	for (;;) {
		long long until = deadline(ms) < whole ? deadline(ms) : whole;
		int r;

		if (milter_read(f->fd, &p, until) < 0) {
			give_up(ms, f, "no reply in time, or a bad one");
			return MILTER_BAD;
		}
		if (p.cmd == 'b' && (body += p.len) > ms->cfg->maxsize) {
			give_up(ms, f, "a new body larger than maxsize");
			return MILTER_BAD;
		}
		r = milter_apply_mod(p.cmd, p.data, p.len, &st, ops);
		if (r == MOD_BAD) {
			give_up(ms, f, "a change it did not ask for, or a "
			    "malformed one");
			return MILTER_BAD;
		}
		if (r == MOD_FAILED) {
			log_msg(LOG_WARNING, "milter: %s: a change could not "
			    "be applied", f->spec);
			str_copy(ms->reply, "451 4.3.0 Error: a content "
			    "filter's change could not be applied",
			    sizeof ms->reply);
			return MILTER_REFUSE;
		}
		if (r == MOD_DONE)
			continue;
		kind = milter_parse_reply(p.cmd, p.data, p.len, ms->reply,
		    sizeof ms->reply);
		if (kind != MILTER_PROGRESS)
			break;
	}
	if (kind == MILTER_BAD || kind == MILTER_QUARANTINE) {
		give_up(ms, f, "a reply the protocol does not allow here");
		return MILTER_BAD;
	}
	if (st.quarantine) {
		log_msg(LOG_NOTICE, "milter: %s: quarantine: %s", f->spec,
		    st.reason);
		v->hold = 1;
	}
	return kind;
}

/* The end of the message: each filter in turn, until one refuses. */
void
milters_end_of_message(struct milters *ms, const struct milter_edit_ops *ops,
    struct milter_verdict *v)
{
	flush_body(ms, v);
	if (v->reply != NULL || v->discard)
		return;
	for (size_t i = 0; i < ms->n; i++) {
		struct milter_filter *f = &ms->f[i];
		int kind;

		if (failed_tempfail(ms, f)) {
			v->reply = MILTER_TEMPFAIL_REPLY;
			return;
		}
		if (!in_play(f))
			continue;
		kind = end_of_message_one(ms, f, ops, v);
		f->accepted_message = 0;
		if (kind == MILTER_BAD && failed_tempfail(ms, f)) {
			v->reply = MILTER_TEMPFAIL_REPLY;
			return;
		}
		if (kind == MILTER_REFUSE) {
			log_msg(LOG_INFO, "milter: %s: %s", f->spec, ms->reply);
			v->reply = ms->reply;
			return;
		}
		if (kind == MILTER_DISCARD) {
			v->discard = 1;
			return;
		}
	}
	for (size_t i = 0; i < ms->n; i++)
		ms->f[i].accepted_message = 0;
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
