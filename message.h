/*
 * message.h - one message of a transaction on its way to the sink: the
 * Received header, size and hop counting, buffering, and the commit.
 */
#ifndef POSTERN_MESSAGE_H
#define POSTERN_MESSAGE_H

#include <stddef.h>

struct session;

int message_begin(struct session *s);
void message_bytes(void *ctx, const char *p, size_t n);
void message_finish(struct session *s, char *reply, size_t replysize);
void message_abort(struct session *s);
long long message_append(struct session *s, const char *p, size_t n);

#endif
