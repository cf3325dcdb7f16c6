/*
 * conffile.c - the files of the configuration directory as lines: the
 * one reader every list and smtpd.conf go through (comments, blank lines
 * and surrounding white space dropped, over-long lines refused), and the
 * warnings about lines that were ignored, held until the "log" key says
 * where they go.
 */
#include "conffile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define LINE_MAX_CONF 4096
#define MAX_WARNINGS 32

/*
 * Warnings are held until the "log" key is known, so that they reach the
 * destination the administrator chose.
 */
static char warnings[MAX_WARNINGS][256];
static unsigned nwarnings;
static unsigned long nsuppressed;

/* A line number of 0 means the file as a whole. */
void
conf_warn(const char *file, unsigned lineno, const char *what)
{
	if (nwarnings == MAX_WARNINGS) {
		nsuppressed++;
		return;
	}
	if (lineno == 0)
		snprintf(warnings[nwarnings++], sizeof warnings[0],
		    "config: file=%s: %s", file, what);
	else
		snprintf(warnings[nwarnings++], sizeof warnings[0],
		    "config: file=%s line=%u: %s; line ignored", file, lineno,
		    what);
}

/* Logs the warnings held so far, and forgets them; how many there were. */
unsigned long
config_report_warnings(void)
{
	unsigned long n = nwarnings + nsuppressed;

	for (unsigned i = 0; i < nwarnings; i++)
		log_msg(LOG_WARNING, "%s", warnings[i]);
	if (nsuppressed > 0)
		log_msg(LOG_WARNING, "config: %lu more warnings not shown",
		    nsuppressed);
	nwarnings = 0;
	nsuppressed = 0;
	return n;
}

/*
 * Calls fn for every significant line of DIR/NAME.  Returns 0 when the
 * file was read or is absent, -1 when it exists but cannot be read.
 */
int
conf_read_lines(const char *dir, const char *name, conf_line_fn fn,
    void *ctx, char *err, size_t errlen)
{
	char path[4096], line[LINE_MAX_CONF];
	unsigned lineno = 0;
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fp = fopen(path, "r");
	if (fp == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		size_t n = strlen(line);
		char *t;

		lineno++;
		if (n == sizeof line - 1 && line[n - 1] != '\n') {
			int c;
			while ((c = getc(fp)) != EOF && c != '\n')
				;
			conf_warn(name, lineno, "line too long");
			continue;
		}
		t = str_trim(line);
		if (*t == '\0' || *t == '#')
			continue;
		if (fn(ctx, t, name, lineno) < 0) {
			fclose(fp);
			snprintf(err, errlen, "out of memory reading %s", path);
			return -1;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

