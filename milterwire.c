/*
 * milterwire.c - the milter protocol's packets: a 4-octet length in
 * network order, a command octet and its data; and what a filter's
 * reply packets mean.  A reply is at most MILTER_PACKET_MAX octets.
 */
#include "milterwire.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "sockclient.h"
#include "util.h"

int
milter_put(struct packet *p, const void *data, size_t n)
{
	if (p->len + n > sizeof p->data)
		return -1;
	memcpy(p->data + p->len, data, n);
	p->len += n;
	return 0;
}

int
milter_put_str(struct packet *p, const char *s)
{
	return milter_put(p, s, strlen(s) + 1);
}

int
milter_put_u32(struct packet *p, unsigned long v)
{
	uint32_t n = htonl((uint32_t)v);

	return milter_put(p, &n, 4);
}

unsigned long
milter_get_u32(const char *p)
{
	uint32_t n;

	memcpy(&n, p, 4);
	return ntohl(n);
}

int
milter_send(int fd, const struct packet *p, long long deadline)
{
	char small[5 + 1024];
	uint32_t n = htonl((uint32_t)(p->len + 1));

	memcpy(small, &n, 4);
	small[4] = p->cmd;
	/* a small packet in one write: one segment, not two */
	if (p->len <= sizeof small - 5) {
		memcpy(small + 5, p->data, p->len);
		return sock_send_all(fd, small, 5 + p->len, deadline);
	}
	return sock_send_all(fd, small, 5, deadline) < 0 ||
	    sock_send_all(fd, p->data, p->len, deadline) < 0 ? -1 : 0;
}

int
milter_read(int fd, struct packet *p, long long deadline)
{
	char head[5];
	unsigned long n;

	sock_ack_at_once(fd);
	if (sock_read_exact(fd, head, 5, deadline) < 0)
		return -1;
	n = milter_get_u32(head);
	if (n == 0 || n - 1 > sizeof p->data)
		return -1;
	p->cmd = head[4];
	p->len = n - 1;
	return sock_read_exact(fd, p->data, p->len, deadline);
}

/* ---- replies ---- */

/*
 * SMFIR_REPLYCODE's text as smtpd sends it: "4xx"/"5xx", one line; the
 * line breaks of a multi-line reply become spaces.  -1 if it is not one.
 */
static int
reply_code_text(const char *data, size_t len, char *reply, size_t size)
{
	size_t n = strnlen(data, len);

	if (n < 3 || n == len || (data[0] != '4' && data[0] != '5') ||
	    data[1] < '0' || data[1] > '9' || data[2] < '0' || data[2] > '9' ||
	    (n > 3 && data[3] != ' ' && data[3] != '-'))
		return -1;
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		reply[i] = c == '\r' || c == '\n' || c < 0x20 || c == 0x7f ?
		    ' ' : (char)c;
	}
	reply[n] = '\0';
	if (reply[3] == '-')
		reply[3] = ' ';
	return 0;
}

/* One reply packet: what it means, and for a refusal, the reply. */
int
milter_parse_reply(char cmd, const char *data, size_t len, char *reply,
    size_t replysize)
{
	switch (cmd) {
	case 'c':
	case 's':	/* skip: no more of this event; we send none */
		return MILTER_CONTINUE;
	case 'a':
		return MILTER_ACCEPT;
	case 'r':
		str_copy(reply, MILTER_REJECT_REPLY, replysize);
		return MILTER_REFUSE;
	case 't':
	case 'f':	/* connection failure: as tempfail */
		str_copy(reply, MILTER_TEMPFAIL_REPLY, replysize);
		return MILTER_REFUSE;
	case 'y':
		return reply_code_text(data, len, reply, replysize) < 0 ?
		    MILTER_BAD : MILTER_REFUSE;
	case 'd':
		return MILTER_DISCARD;
	case 'q':
		return MILTER_QUARANTINE;
	case 'p':
		return MILTER_PROGRESS;
	default:
		return MILTER_BAD;
	}
}

