/*
 * log.h - one line per event, "key=value" after a fixed prefix, to
 * syslog (facility mail) or to standard error.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <syslog.h>

#include "util.h"

void log_init(const char *program);
void log_to_stderr(int yes);
void log_msg(int priority, const char *fmt, ...) PRINTF_LIKE(2, 3);

#endif
