/*
 * libFuzzer target: the RFC 5321 path parser, and what the access and
 * routing code does with whatever it accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../access.h"
#include "../../config.h"
#include "../../route.h"

static struct config cfg;

static void
add(enum table_id id, const char *key, const char *value)
{
	struct db_builder b = { 0 };

	db_builder_add(&b, key, strlen(key), value, 1);
	db_build(&b, NULL, &cfg.tables[id].db, NULL, NULL);
	cfg.tables[id].present = 1;
	db_builder_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[1200];
	struct mailpath p;
	const char *rest, *value;

	if (cfg.maxrcpt == 0) {
		config_defaults(&cfg, "/nonexistent");
		add(TABLE_DOMAINS, "example.org", "");
		add(TABLE_USERS, "user@example.org", "user@example.org\t");
		add(TABLE_SENDERS, "@bad.test", "@bad.test");
	}
	if (size < 1 || size >= sizeof text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	cfg.casesensitive = data[0] & 4;
	if (path_parse(text, &p, &rest, data[0] & 1, data[0] & 2) != PATH_OK)
		return 0;
	if (strlen(p.addr) > PATH_MAX_SMTP || rest < text ||
	    rest > text + strlen(text))
		abort();
	(void)route_classify(&cfg, &p, 0);
	(void)access_listed(&cfg, TABLE_SENDERS, &p);
	(void)route_local_lookup(&cfg, &p, &value);
	return 0;
}
