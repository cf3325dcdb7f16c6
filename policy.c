/*
 * policy.c - Postfix's policy delegation protocol, client side: one
 * connection per server, opened at the first request and kept for the
 * session (as Postfix keeps it), a request of name=value lines ended by
 * an empty line, a reply read to its empty line within policytimeout and
 * POLICY_REPLY_MAX octets.  A server that cannot be reached, is silent,
 * or answers what is not an action gets policydefault instead, logged.
 */
#include "policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "sockclient.h"
#include "util.h"

void
policy_init(struct policy *p, const struct config *cfg)
{
	p->cfg = cfg;
	for (size_t i = 0; i < POLICY_MAX; i++)
		p->fd[i] = -1;
}

void
policy_end(struct policy *p)
{
	for (size_t i = 0; i < POLICY_MAX; i++)
		if (p->fd[i] >= 0) {
			close(p->fd[i]);
			p->fd[i] = -1;
		}
}

/* The reply up to and with its empty line; -1 on EOF, timeout or excess. */
static int
read_reply(int fd, char *buf, size_t size, long long deadline)
{
	size_t len = 0;

	while (len + 1 < size) {
		ssize_t r;

		if (!sock_ready(fd, POLLIN, deadline))
			return -1;
		r = recv(fd, buf + len, size - 1 - len, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (r < 0)
			continue;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\n\n") != NULL)
			return 0;
	}
	return -1;
}

/* The value of action= in a reply; NULL when there is none. */
static char *
find_action(char *reply)
{
	for (char *line = reply; line != NULL && *line != '\n';) {
		char *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		if (strncmp(line, "action=", 7) == 0)
			return line + 7;
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* The reply text a server gave, printable ASCII only, bounded. */
static void
clean_text(char *dst, size_t size, const char *src)
{
	size_t n = 0;

	for (; *src != '\0' && n + 1 < size && n < 400; src++)
		dst[n++] = *src >= 0x20 && *src < 0x7f ? *src : '?';
	dst[n] = '\0';
}

static void
refuse(struct policy_result *r, const char *code, const char *text,
    const char *fallback)
{
	char clean[420];

	clean_text(clean, sizeof clean, *text ? text : fallback);
	r->verdict = POLICY_REFUSE;
	snprintf(r->reply, sizeof r->reply, "%s %s", code, clean);
}

/* "450 text", "550 5.7.1 text": the code, and X.7.1 where no enhanced one is. */
static int
numeric_action(const char *a, struct policy_result *r)
{
	char code[16];
	const char *text = a + 3;

	if ((a[0] != '4' && a[0] != '5') || !isdigit((unsigned char)a[1]) ||
	    !isdigit((unsigned char)a[2]) || (a[3] != ' ' && a[3] != '\0'))
		return 0;
	while (*text == ' ')
		text++;
	if (text[0] == a[0] && text[1] == '.' && isdigit((unsigned char)text[2]))
		snprintf(code, sizeof code, "%.3s", a);
	else
		snprintf(code, sizeof code, "%.3s %c.7.1", a, a[0]);
	refuse(r, code, text, "Access denied");
	return 1;
}

/* A header line for PREPEND: "Name: value", printable, bounded. */
static void
prepend(const char *server, const char *text, struct policy_result *r)
{
	const char *colon = strchr(text, ':');
	size_t used = strlen(r->prepend);
	char clean[420];

	if (colon == NULL || colon == text || strcspn(text, " \t") <
	    (size_t)(colon - text)) {
		log_msg(LOG_WARNING, "policy: server=%s PREPEND without a "
		    "header field; ignored", server);
		return;
	}
	clean_text(clean, sizeof clean, text);
	if (used + strlen(clean) + 2 < sizeof r->prepend)
		snprintf(r->prepend + used, sizeof r->prepend - used, "%s\n",
		    clean);
}

/* One action as Postfix's access(5) understands it, into r. */
void
policy_action(const char *server, const char *action, struct policy_result *r)
{
	size_t wlen = strcspn(action, " \t");
	const char *text = action + wlen;

	while (*text == ' ' || *text == '\t')
		text++;
#define IS(word) (wlen == strlen(word) && strncasecmp(action, word, wlen) == 0)
	if (numeric_action(action, r) || IS("DUNNO") || IS("DEFER_IF_REJECT"))
		return;
	if (IS("OK"))
		r->verdict = POLICY_OK;
	else if (IS("REJECT"))
		refuse(r, "554 5.7.1", text, "Access denied");
	else if (IS("DEFER") || IS("DEFER_IF_PERMIT"))
		refuse(r, "450 4.7.1", text, "Service unavailable");
	else if (IS("PREPEND"))
		prepend(server, text, r);
	else if (IS("HOLD"))
		r->hold = 1;
	else if (IS("DISCARD")) {
		r->discard = 1;
		r->verdict = POLICY_OK;
	} else if (IS("WARN"))
		log_msg(LOG_WARNING, "policy: server=%s warn: %.400s", server,
		    text);
	else
		log_msg(LOG_WARNING, "policy: server=%s action=\"%.100s\" "
		    "not supported; taken as DUNNO", server, action);
#undef IS
}

/* One request to server i: its action, or policydefault when it fails. */
static void
ask_one(struct policy *p, size_t i, const char *attrs, size_t len,
    struct policy_result *r)
{
	const char *spec = p->cfg->policies[i];
	long long deadline = monotonic_ms() + p->cfg->policytimeout * 1000LL;
	char reply[POLICY_REPLY_MAX + 1];
	const char *action = NULL;

	if (p->fd[i] < 0)
		p->fd[i] = sock_connect(spec, deadline);
	if (p->fd[i] >= 0 && sock_send_all(p->fd[i], attrs, len, deadline) == 0 &&
	    read_reply(p->fd[i], reply, sizeof reply, deadline) == 0)
		action = find_action(reply);
	if (action == NULL) {
		log_msg(LOG_WARNING, "policy: server=%s no answer, or no "
		    "action, within %us; default action \"%s\"", spec,
		    p->cfg->policytimeout, p->cfg->policydefault);
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
		action = p->cfg->policydefault;
	}
	policy_action(spec, action, r);
}

/* Asks each server in turn until one says OK or refuses. */
void
policy_ask(struct policy *p, const char *attrs, size_t len,
    struct policy_result *r)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < p->cfg->npolicies; i++) {
		ask_one(p, i, attrs, len, r);
		if (r->verdict != POLICY_DUNNO)
			break;
	}
}
