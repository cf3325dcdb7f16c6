/*
 * libFuzzer target: the configuration parsers (smtpd.conf and every list
 * file) on arbitrary text, and the compiled-table reader on an arbitrary
 * image.  The first byte picks the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../config.h"
#include "../../db.h"
#include "../../log.h"
#include "../../tables.h"

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_image(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);
	struct db d = { 0 };

	memcpy(copy, data, size);
	if (db_use_image(&d, copy, size) == 0) {
		(void)db_get(&d, "user@example.org", 16);
		(void)db_get(&d, "", 0);
		(void)db_any_value(&d);
		if (size > 40)
			(void)db_get(&d, (const char *)data + size - 8, 8);
	}
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *files[] = {
		"smtpd.conf", "domains", "relaydomains", "clients", "senders",
		"recipients", "users", "aliases", "routes", "passwd"
	};
	char path[128], err[512];
	struct config cfg;
	unsigned which;
	FILE *f;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/postern-fuzz.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		log_init("fuzz");
		log_to_stderr(-1);
	}
	if (size < 1)
		return 0;
	which = data[0] % 11;
	if (which == 10) {
		fuzz_image(data + 1, size - 1);
		return 0;
	}
	snprintf(path, sizeof path, "%s/%s", dir, files[which]);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	fwrite(data + 1, 1, size - 1, f);
	fclose(f);
	if (config_load(&cfg, dir, TABLES_ALL, err, sizeof err) == 0)
		config_free(&cfg);
	log_to_stderr(-1);	/* smtpd.conf may have said "log stderr" */
	config_report_warnings();
	unlink(path);
	return 0;
}
