/* privdrop.h - becoming the unprivileged user given with -u, or the queue's owner. */
#ifndef POSTERN_PRIVDROP_H
#define POSTERN_PRIVDROP_H

#include <stddef.h>

int drop_privileges(const char *user, char *err, size_t errlen);
int become_queue_owner(const char *queuedir, char *err, size_t errlen);

#endif
