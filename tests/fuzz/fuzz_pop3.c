/*
 * libFuzzer target: the POP3 engine fed arbitrary command lines, with a
 * real Maildir of three messages (re-made when a QUIT removed some) so
 * that LIST, RETR, TOP, UIDL, DELE and UPDATE run on files.  Logins use
 * a cheap MD5-crypt hash and an APOP secret; replies go to /dev/null.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../config.h"
#include "../../db.h"
#include "../../driver.h"
#include "../../log.h"
#include "../../pop3.h"

static struct config cfg;
static char maildir[256];

static void
add_table(enum table_id id, const char *key, const char *value)
{
	struct db_builder b = { 0 };

	db_builder_add(&b, key, strlen(key), value, strlen(value) + 1);
	db_build(&b, NULL, &cfg.tables[id].db, NULL, NULL);
	cfg.tables[id].present = 1;
	db_builder_free(&b);
}

static void
setup(void)
{
	char root[] = "/tmp/fuzz-pop3.XXXXXX";

	if (mkdtemp(root) == NULL)
		abort();
	config_defaults(&cfg, "/nonexistent");
	snprintf(cfg.mailroot, sizeof cfg.mailroot, "%s", root);
	snprintf(maildir, sizeof maildir, "%s/example.org/u/", root);
	cfg.maxerrors = 50;
	cfg.authplaintext = 1;
	cfg.authdelay = 0;
	add_table(TABLE_DOMAINS, "example.org", "");
	/* MD5-crypt of "pw": the exchange is fuzzed, not the hashing. */
	add_table(TABLE_PASSWD, "u@example.org", "$1$fz$ZPJ.gIjx8KLBpjpOXBnWg1");
	add_table(TABLE_POP3SECRETS, "u@example.org", "pw");
	log_init("fuzz");
	log_to_stderr(-1);
}

/* Three messages in new/ whenever fewer than three are left. */
static void
refill(void)
{
	static const char *const texts[] = {
		"Subject: a\n\nbody\n.dot\n",
		"Subject: b\r\n\r\nline\r\nno end",
		"",
	};
	char path[512];
	int fd, left = 0;

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%scur/170000000%d.M1P1Q%d.h,P=0:2,",
		    maildir, i, i);
		left += access(path, F_OK) == 0;
	}
	if (left == 3)
		return;
	snprintf(path, sizeof path, "rm -rf '%s'", maildir);
	if (system(path) != 0)
		abort();
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "mkdir -p '%scur'", maildir);
		if (system(path) != 0)
			abort();
		/* Named with a wrong P= on purpose: sizes come from names. */
		snprintf(path, sizeof path, "%scur/170000000%d.M1P1Q%d.h,P=0:2,",
		    maildir, i, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, texts[i], strlen(texts[i])) < 0)
			abort();
		close(fd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pop3 p;
	struct driver d;
	const char *end = (const char *)data + size, *line = (const char *)data;
	char buf[POP3_LINE_MAX + 1];

	if (maildir[0] == '\0')
		setup();
	refill();
	driver_init(&d, 60, 600);
	d.out = open("/dev/null", O_WRONLY);
	pop3_init(&p, &cfg, &d, "192.0.2.1", size > 0 && (data[0] & 1),
	    size > 0 && (data[0] & 2) ? DRIVER_TLS_OFFERED : DRIVER_TLS_NONE);
	pop3_greet(&p);
	while (line < end && p.state != POP3_CLOSED) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = (size_t)((nl ? nl : end) - line);

		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > POP3_LINE_MAX) {
			pop3_line_too_long(&p);
		} else {
			memcpy(buf, line, len);
			buf[len] = '\0';
			pop3_line(&p, buf, len);
		}
		pop3_flush(&p);
		line = nl ? nl + 1 : end;
	}
	p.tls_started = 0;
	pop3_eof(&p);
	pop3_end(&p);
	close(d.out);
	return 0;
}
