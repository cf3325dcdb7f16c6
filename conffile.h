/*
 * conffile.h - reading the configuration directory's files line by line,
 * and the warnings about lines that were ignored.  A leaf: the lists
 * (tables.c) and smtpd.conf (config.c) both sit above it.
 */
#ifndef POSTERN_CONFFILE_H
#define POSTERN_CONFFILE_H

#include <stddef.h>

typedef int (*conf_line_fn)(void *ctx, char *line, const char *file,
    unsigned lineno);

int conf_read_lines(const char *dir, const char *name, conf_line_fn fn,
    void *ctx, char *err, size_t errlen);
void conf_warn(const char *file, unsigned lineno, const char *what);
unsigned long config_report_warnings(void);

#endif
