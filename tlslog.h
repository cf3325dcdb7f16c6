/*
 * tlslog.h - what the TLS client program (gnutls-cli) says about its
 * connection, read line by line from its messages: whether it
 * connected, why not, when the handshake began, and the protocol and
 * certificate status it reported.  The messages carry text from the
 * remote host (its certificate's names), so they are parsed as hostile.
 */
#ifndef POSTERN_TLSLOG_H
#define POSTERN_TLSLOG_H

#include <stddef.h>

#define TLSLOG_LINE_MAX 512

struct tlslog {
	int connected;		/* "- Simple Client Mode:": talking to it */
	int handshaking;	/* "*** Starting TLS handshake" */
	int trusted;		/* the last "- Status:" said trusted */
	int status_seen;
	char protocol[16];	/* "TLS1.3", from "- Description:" */
	char status[160];	/* the last "- Status:", without the dash */
	char connect_error[160];	/* "Could not connect ...: REASON" */
	char error[160];	/* the first "*** " line: why it failed */
	char line[TLSLOG_LINE_MAX];
	size_t len;
	int overlong;		/* the line being read is cut: ignored */
};

void tlslog_init(struct tlslog *l);
void tlslog_feed(struct tlslog *l, const char *buf, size_t n);
const char *tlslog_reason(const struct tlslog *l);

#endif
