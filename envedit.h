/*
 * envedit.h - a content filter's changes to the envelope of the message
 * being received (envelope.h's items, before the closing NUL): add or
 * delete a recipient, change the sender.  Addresses come from a filter
 * as "<addr>" or "addr" and must be valid paths.
 */
#ifndef POSTERN_ENVEDIT_H
#define POSTERN_ENVEDIT_H

#include "util.h"

int envedit_add_rcpt(struct buf *env, const char *addr, const char *params);
int envedit_del_rcpt(struct buf *env, const char *addr);
int envedit_set_sender(struct buf *env, const char *addr);
unsigned envedit_count_rcpts(const struct buf *env);

#endif
