/* client.h - who is at the other end of standard input. */
#ifndef POSTERN_CLIENT_H
#define POSTERN_CLIENT_H

#include "session.h"

void client_identify(struct client *c, int fd);
int client_set_address(struct client *c, const char *text);

#endif
