/*
 * milter.h - smtpd's client of the milter protocol (Sendmail's content
 * filter protocol, version 6, as Postfix speaks it): one connection per
 * session to each configured filter, the session's events in order
 * (connect, HELO, MAIL, RCPT, DATA, each header field, the header's
 * end, the body, the end of the message), the filters' verdicts, and
 * their changes to the message.
 */
#ifndef POSTERN_MILTER_H
#define POSTERN_MILTER_H

#include <stddef.h>

#include "config.h"
#include "miltermod.h"
#include "milterwire.h"


/* What the filters decided at one event. */
struct milter_verdict {
	const char *reply;	/* NULL: go on; else the 4xx/5xx to give */
	int discard;		/* accept, then throw away (SMFIR_DISCARD) */
	int hold;		/* quarantine: queue it held (SMFIR_QUARANTINE) */
};

struct milter_filter {
	const char *spec;	/* inet:HOST:PORT or unix:/PATH */
	int fd;			/* -1: not connected, or given up */
	unsigned long protocol;	/* the filter's SMFIP_ flags */
	unsigned long actions;	/* the SMFIF_ actions it may take */
	int accepted_session;	/* SMFIR_ACCEPT at connect or HELO */
	int accepted_message;	/* SMFIR_ACCEPT in this transaction */
};

/* What the connect event tells the filters. */
struct milter_client {
	const char *addr;	/* "" when local */
	const char *name;	/* the client's verified name, or "unknown" */
	unsigned port;
};

struct milters {
	const struct config *cfg;
	struct milter_filter f[MILTER_MAX];
	size_t n;
	unsigned long offered;	/* SMFIF_ actions smtpd can apply */
	char id[64];		/* the message's queue ID: macro i */
	/* a header event as filters with SMFIP_HDR_LEADSPC get it */
	const struct packet *leadspc_event;
	char reply[600];	/* the last verdict's reply */
	char body[MILTER_PACKET_MAX - 1];	/* body text, CR LF, to send */
	size_t bodylen;
};

void milters_start(struct milters *ms, const struct config *cfg,
    const struct milter_client *client, int content_editable,
    struct milter_verdict *v);
void milters_helo(struct milters *ms, const char *helo,
    const char *tls_version, struct milter_verdict *v);
void milters_mail(struct milters *ms, const char *sender, const char *args,
    const char *auth_user, const char *auth_type, struct milter_verdict *v);
void milters_rcpt(struct milters *ms, const char *rcpt,
    struct milter_verdict *v);
void milters_data(struct milters *ms, const char *id,
    struct milter_verdict *v);
void milters_header(struct milters *ms, const char *field, size_t n,
    struct milter_verdict *v);
void milters_end_of_header(struct milters *ms, struct milter_verdict *v);
void milters_body(struct milters *ms, const char *p, size_t n,
    struct milter_verdict *v);
void milters_end_of_message(struct milters *ms,
    const struct milter_edit_ops *ops, struct milter_verdict *v);
void milters_abort(struct milters *ms);
void milters_end(struct milters *ms);

#endif
