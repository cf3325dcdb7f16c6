/*
 * log.c - logging.  Every line is cleaned of control characters before it
 * is written, because most of what is logged (addresses, HELO names)
 * comes from the client and must not forge extra log lines.
 */
#include "log.h"

#include <paths.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *log_program = "postern";
static int log_stderr;
static int log_opened;

void
log_init(const char *program)
{
	log_program = program;
}

/* 1: standard error; 0: syslog; -1: nowhere (the fuzzers). */
void
log_to_stderr(int yes)
{
	log_stderr = yes;
}

static void
clean_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
log_msg(int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	clean_line(line);

	if (log_stderr < 0)
		return;
	if (log_stderr) {
		fprintf(stderr, "postern/%s[%ld]: %s\n", log_program,
		    (long)getpid(), line);
		fflush(stderr);
		return;
	}
	if (!log_opened) {
		static char ident[64];
		struct stat st;

		/* Without a syslog socket, libc would try to connect again for
		 * every line; the lines would be lost all the same. */
		if (stat(_PATH_LOG, &st) < 0 || !S_ISSOCK(st.st_mode)) {
			log_stderr = -1;
			return;
		}
		snprintf(ident, sizeof ident, "postern/%s", log_program);
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_opened = 1;
	}
	syslog(priority, "%s", line);
}
