/*
 * tlslog.c - reading gnutls-cli's messages (see tlslog.h).  The lines
 * that matter are ones gnutls-cli's source marks as read by other
 * programs ("- Simple Client Mode:", "*** Starting TLS handshake") and
 * its session report ("- Status:", "- Description:").  A certificate's
 * names are printed before the status lines, so the last status line
 * is gnutls-cli's own, whatever a name contains; and no decision rests
 * on these lines: under verify, gnutls-cli itself ends the handshake
 * when the certificate fails.  They feed the log and the reasons.
 */
#include "tlslog.h"

#include <string.h>

#include "util.h"

void
tlslog_init(struct tlslog *l)
{
	memset(l, 0, sizeof *l);
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "(TLS1.3-X.509)-(ECDHE-...)": "TLS1.3"; "(TLS1.2)-(...)" likewise. */
static void
take_protocol(struct tlslog *l, const char *d)
{
	size_t n;

	if (*d != '(')
		return;
	d++;
	n = strcspn(d, "-)");
	if (n == 0 || n >= sizeof l->protocol || !starts(d, "TLS"))
		return;
	memcpy(l->protocol, d, n);
	l->protocol[n] = '\0';
}

static void
take_status(struct tlslog *l, const char *s)
{
	size_t n = str_copy(l->status, s, sizeof l->status);

	if (n >= sizeof l->status)
		n = sizeof l->status - 1;
	while (n > 0 && l->status[n - 1] == ' ')
		l->status[--n] = '\0';
	l->status_seen = 1;
	l->trusted = strcmp(l->status, "The certificate is trusted.") == 0;
}

static void
one_line(struct tlslog *l, const char *s)
{
	if (strcmp(s, "- Simple Client Mode:") == 0)
		l->connected = 1;
	else if (strcmp(s, "*** Starting TLS handshake") == 0)
		l->handshaking = 1;
	else if (starts(s, "- Status: "))
		take_status(l, s + 10);
	else if (starts(s, "- Description: "))
		take_protocol(l, s + 15);
	else if (starts(s, "Could not connect to ") && l->connect_error[0] == '\0') {
		/* "Could not connect to 127.0.0.1:25: Connection refused" */
		const char *reason = strstr(s + 21, ": ");
		str_copy(l->connect_error, reason ? reason + 2 : s,
		    sizeof l->connect_error);
	} else if (starts(s, "*** ") && l->error[0] == '\0')
		str_copy(l->error, s + 4, sizeof l->error);
}

/* Lines end in LF (a CR before it is dropped); an overlong one is skipped. */
void
tlslog_feed(struct tlslog *l, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = buf[i];
		if (ch == '\n') {
			l->line[l->len] = '\0';
			if (!l->overlong)
				one_line(l, l->line);
			l->len = 0;
			l->overlong = 0;
		} else if (ch == '\r') {
			continue;
		} else if (l->len + 1 < sizeof l->line) {
			l->line[l->len++] = ch == '\0' ? ' ' : ch;
		} else {
			l->overlong = 1;
		}
	}
}

/* Why the connection or its handshake failed, as far as the lines say. */
const char *
tlslog_reason(const struct tlslog *l)
{
	if (l->connect_error[0])
		return l->connect_error;
	if (l->status_seen && !l->trusted)
		return l->status;
	if (l->error[0])
		return l->error;
	return "the TLS program ended";
}
