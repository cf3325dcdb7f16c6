/*
 * log.c - logging.  Every line is cleaned before it is written, because
 * most of what is logged (addresses, HELO names) comes from the client:
 * it must not forge extra log lines, and must be safe to print on a
 * terminal.  ASCII controls become "?"; octets of invalid UTF-8, and the
 * UTF-8 of C1 controls (U+0080-U+009F, whose single octets some
 * terminals take as CSI and the like), of bidirectional and other
 * invisible formatting controls, become \xNN escapes.  Printable UTF-8
 * (SMTPUTF8 addresses) is kept as it is.
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

/* Code points a terminal or a bidi-aware viewer would act upon. */
static int
unsafe_code_point(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
	    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
	    (cp >= 0xfff9 && cp <= 0xfffb);
}

/* Copies in to out (of outsize), cleaned as the top of this file says. */
static void
clean_line(const char *in, char *out, size_t outsize)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	while (*s && o + 5 < outsize) {
		unsigned long cp = 0;
		size_t len = *s >= 0x80 ? utf8_sequence(s, &cp) : 1;

		if (*s < 0x20 || *s == 0x7f) {
			out[o++] = '?';
			s++;
		} else if (*s < 0x80 || (len > 0 && !unsafe_code_point(cp) &&
		    o + len < outsize)) {
			memcpy(out + o, s, len);
			o += len;
			s += len;
		} else {
			for (size_t k = 0; k < (len ? len : 1) &&
			    o + 5 < outsize; k++)
				o += (size_t)snprintf(out + o, outsize - o,
				    "\\x%02x", *s++);
		}
	}
	out[o] = '\0';
}

void
log_msg(int priority, const char *fmt, ...)
{
	char raw[2048], line[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	clean_line(raw, line, sizeof line);

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
