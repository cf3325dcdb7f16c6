/*
 * milterwire.h - the milter protocol's packets and replies (Sendmail's
 * content filter protocol, as Postfix speaks it).
 */
#ifndef POSTERN_MILTERWIRE_H
#define POSTERN_MILTERWIRE_H

#include <stddef.h>

#define MILTER_PACKET_MAX 65536	/* octets of one packet's data */

#define MILTER_TEMPFAIL_REPLY "451 4.7.1 Service unavailable - try again later"
#define MILTER_REJECT_REPLY "550 5.7.1 Command rejected"

struct packet {
	char cmd;
	char data[MILTER_PACKET_MAX];
	size_t len;
};

int milter_put(struct packet *p, const void *data, size_t n);
int milter_put_str(struct packet *p, const char *s);
int milter_put_u32(struct packet *p, unsigned long v);
unsigned long milter_get_u32(const char *p);
int milter_send(int fd, const struct packet *p, long long deadline);
int milter_read(int fd, struct packet *p, long long deadline);

/* What one reply packet means (milter_parse_reply). */
enum milter_reply { MILTER_CONTINUE, MILTER_ACCEPT, MILTER_REFUSE,
	MILTER_DISCARD, MILTER_QUARANTINE, MILTER_PROGRESS, MILTER_BAD };

/* One reply packet's command and data; a refusal's text into reply. */
int milter_parse_reply(char cmd, const char *data, size_t len,
    char *reply, size_t replysize);

#endif
