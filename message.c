/*
 * message.c - streams a message to the sink.
 *
 * The text is never held whole in memory: it passes through a fixed
 * buffer on its way to the sink.  Its size is counted as RFC 1870 counts
 * it (every line end as CRLF); past maxsize nothing more is stored and
 * the started file is removed at once, but the client's data is still
 * read to its end so that the 552 lands where the client expects it.
 */
#include "message.h"

#include <stdio.h>
#include <string.h>

#include "content.h"
#include "log.h"
#include "session.h"

static void
drop_message(struct session *s)
{
	if (s->tx.message_open) {
		s->sink->abort(s->sinkctx);
		s->tx.message_open = 0;
	}
	s->tx.msglen = 0;
}

static void
flush_buffer(struct session *s)
{
	struct tx *t = &s->tx;

	if (t->msglen == 0 || !t->message_open)
		return;
	if (s->sink->write(s->sinkctx, t->msgbuf, t->msglen) < 0) {
		t->write_failed = 1;
		drop_message(s);
	}
	t->msglen = 0;
}

static void
store(struct session *s, const char *p, size_t n)
{
	struct tx *t = &s->tx;

	if (t->message_open) {
		t->stored += (long long)n;
		content_feed(s, p, n);
	}
	while (n > 0 && t->message_open) {
		size_t room = sizeof t->msgbuf - t->msglen;
		size_t c = n < room ? n : room;
		memcpy(t->msgbuf + t->msglen, p, c);
		t->msglen += c;
		p += c;
		n -= c;
		if (t->msglen == sizeof t->msgbuf)
			flush_buffer(s);
	}
}

/* Replaces what could break the header or the log: controls, spaces. */
static void
clean_helo(char *dst, size_t dstsize, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < dstsize; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c > 32 && c < 127 ? (char)c : '?';
	}
	dst[i] = '\0';
}

/* RFC 3848 and RFC 6531: SMTP, ESMTP[S][A], UTF8SMTP[S][A]. */
static const char *
protocol_name(const struct session *s, char *buf, size_t size)
{
	const char *base = s->tx.smtputf8 ? "UTF8SMTP" :
	    s->helo_kind == 2 ? "ESMTP" : "SMTP";

	snprintf(buf, size, "%s%s%s", base,
	    s->encrypted && s->helo_kind == 2 ? "S" : "",
	    s->auth_user[0] ? "A" : "");
	return buf;
}

static void
write_received(struct session *s)
{
	const struct tx *t = &s->tx;
	char hdr[1200], helo[256], date[64], from[400], id[QUEUE_ID_MAX + 8];
	char proto[16];
	int n;

	clean_helo(helo, sizeof helo, s->helo);
	if (s->client->name[0])
		snprintf(from, sizeof from, "%s (%s %s)", helo,
		    s->client->name, s->client->literal);
	else if (s->client->addr[0])
		snprintf(from, sizeof from, "%s (%s)", helo,
		    s->client->literal);
	else
		snprintf(from, sizeof from, "%s (local)", helo);
	id[0] = '\0';
	if (t->id[0])
		snprintf(id, sizeof id, "id %s ", t->id);
	format_date(date, sizeof date);
	n = snprintf(hdr, sizeof hdr,
	    "Received: from %s by %s (postern) with %s\n\t%sfor <%s>; %s\n",
	    from, s->cfg->hostname, protocol_name(s, proto, sizeof proto), id,
	    t->envelope.data + t->first_rcpt + 1, date);
	if (n > 0)
		store(s, hdr, (size_t)n < sizeof hdr ? (size_t)n :
		    sizeof hdr - 1);
}

int
message_begin(struct session *s)
{
	struct tx *t = &s->tx;

	t->id[0] = '\0';
	if (s->sink->open(s->sinkctx, t->id, sizeof t->id) < 0)
		return -1;
	t->message_open = 1;
	t->size = 0;
	t->hops = 0;
	t->in_header = 1;
	t->at_line_start = 1;
	t->header_start_len = 0;
	t->msglen = 0;
	t->stored = 0;
	if (content_begin(s) < 0) {
		drop_message(s);
		return -1;
	}
	write_received(s);
	/* what the checks at RCPT added (PREPEND), below our Received */
	if (t->prepend[0] != '\0')
		store(s, t->prepend, strlen(t->prepend));
	return 0;
}

/* Counts Received: lines while still in the header section. */
static void
scan_header(struct tx *t, const char *p, size_t n)
{
	for (size_t i = 0; i < n && t->in_header; i++) {
		char c = p[i];
		if (t->at_line_start && c == '\n') {
			t->in_header = 0;
			break;
		}
		if (c == '\n') {
			t->at_line_start = 1;
			t->header_start_len = 0;
			continue;
		}
		if (t->at_line_start)
			t->header_start_len = 0;
		t->at_line_start = 0;
		if (t->header_start_len < sizeof t->header_start - 1) {
			t->header_start[t->header_start_len++] = c;
			if (t->header_start_len == 9 &&
			    str_casecmp_n(t->header_start, "received:", 9) == 0)
				t->hops++;
		}
	}
}

/* body_out_fn: receives message text with LF line ends. */
void
message_bytes(void *ctx, const char *p, size_t n)
{
	struct session *s = ctx;
	struct tx *t = &s->tx;
	unsigned long long lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	t->size += n + lines;
	if (t->in_header)
		scan_header(t, p, n);
	if (t->size > s->cfg->maxsize && !t->too_big) {
		t->too_big = 1;
		drop_message(s);
	}
	store(s, p, n);
}

static void
log_queued(struct session *s)
{
	log_msg(LOG_INFO, "queued id=%s from=<%s> size=%llu nrcpt=%u client=%s",
	    s->tx.id[0] ? s->tx.id : "-", s->tx.envelope.data + 1,
	    s->tx.size, s->tx.nrcpt,
	    s->client->addr[0] ? s->client->addr : "local");
}

/* The reply to the end of a message: the refusal, or the commit's. */
static const char *
refusal(const struct session *s)
{
	const struct tx *t = &s->tx;
	int strict = s->cfg->barelf == BARELF_REJECT;

	if (t->too_big)
		return "552 5.3.4 Error: message too big";
	if (t->write_failed)
		return "451 4.3.0 Error: queue file write error";
	if (strict && t->body.bare_lf)
		return "550 5.6.0 Error: bare LF in message text";
	if (strict && t->body.bare_cr)
		return "550 5.6.0 Error: bare CR in message text";
	if (t->hops > MAX_HOPS)
		return "554 5.4.6 Error: too many hops (mail loop?)";
	if (t->content_reply[0] != '\0')
		return t->content_reply;
	return NULL;
}

/*
 * HOLD: the marker is made before the entry is committed, so that
 * deliver never sees the message unheld.  A sink that cannot hold (a
 * QMAILQUEUE program) queues it as it is, and says so in the log.
 */
static int
hold_before_commit(struct session *s)
{
	if (s->sink->hold == NULL) {
		log_msg(LOG_WARNING, "hold: id=%s cannot be held by this queue "
		    "program; queued as it is", s->tx.id);
		return 0;
	}
	if (s->sink->hold(s->sinkctx, s->tx.id) < 0)
		return -1;
	log_msg(LOG_NOTICE, "hold: id=%s client=%s reason=\"policy\"",
	    s->tx.id, s->client->addr[0] ? s->client->addr : "local");
	return 0;
}

void
message_finish(struct session *s, char *reply, size_t replysize)
{
	struct tx *t = &s->tx;
	const char *why = refusal(s);
	enum commit_result r;

	if (why == NULL) {
		flush_buffer(s);
		content_end(s);
	}
	why = refusal(s);
	if (why != NULL) {
		drop_message(s);
		str_copy(reply, why, replysize);
		log_msg(LOG_NOTICE, "reject: cmd=%s client=%s from=<%s> "
		    "size=%llu reason=\"%s\"", t->used_bdat ? "BDAT" : "DATA",
		    s->client->addr[0] ? s->client->addr : "local",
		    t->envelope.data + 1, t->size, why);
		return;
	}
	if (s->checks.data != NULL &&
	    (why = s->checks.data(s->checks.ctx, s)) != NULL) {
		drop_message(s);
		str_copy(reply, why, replysize);
		log_msg(LOG_NOTICE, "reject: cmd=END-OF-DATA client=%s "
		    "from=<%s> size=%llu reason=\"%s\"",
		    s->client->addr[0] ? s->client->addr : "local",
		    t->envelope.data + 1, t->size, why);
		return;
	}
	if (t->discard) {
		/* claimed delivered, as Postfix's DISCARD: nothing to tell */
		drop_message(s);
		log_msg(LOG_NOTICE, "discard: client=%s from=<%s> size=%llu "
		    "reason=\"policy\"", s->client->addr[0] ? s->client->addr :
		    "local", t->envelope.data + 1, t->size);
		str_copy(reply, "250 2.0.0 Ok", replysize);
		return;
	}
	if (t->hold && hold_before_commit(s) < 0) {
		drop_message(s);
		str_copy(reply, "451 4.3.0 Error: queue commit failed", replysize);
		return;
	}
	/* The envelope ends with one more NUL after the last recipient. */
	if (content_changes_end(s) < 0 || buf_append(&t->envelope, "", 1) < 0) {
		drop_message(s);
		str_copy(reply, "451 4.3.0 Error: out of memory", replysize);
		return;
	}
	t->message_open = 0;
	r = content_changed(s) ?
	    content_commit(s, t->envelope.data, t->envelope.len) :
	    s->sink->commit(s->sinkctx, t->envelope.data, t->envelope.len);
	if (r == COMMIT_OK) {
		s->messages++;
		log_queued(s);
		if (t->id[0])
			snprintf(reply, replysize, "250 2.0.0 Ok: queued as %s",
			    t->id);
		else
			str_copy(reply, "250 2.0.0 Ok: queued", replysize);
		return;
	}
	str_copy(reply, r == COMMIT_PERMFAIL ?
	    "554 5.3.0 Error: message refused by the queue program" :
	    "451 4.3.0 Error: queue commit failed", replysize);
	log_msg(LOG_WARNING, "commit failed: client=%s from=<%s> reason=\"%s\"",
	    s->client->addr[0] ? s->client->addr : "local",
	    t->envelope.data + 1, reply);
}

/*
 * Writes what a content filter adds after the message as received (the
 * buffer is empty by then): where it starts in the file, or -1.
 */
long long
message_append(struct session *s, const char *p, size_t n)
{
	struct tx *t = &s->tx;
	long long off = t->stored;

	if (!t->message_open || t->msglen != 0 ||
	    s->sink->write(s->sinkctx, p, n) < 0)
		return -1;
	t->stored += (long long)n;
	return off;
}

void
message_abort(struct session *s)
{
	drop_message(s);
}
