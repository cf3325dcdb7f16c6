/*
 * libFuzzer target: queue envelopes as enqueue reads them from a local
 * user (envelope.c) and the DSN parameters in them (dsn.c).  Every item
 * must lie inside the input; parameters that parse must print back to a
 * form that parses to the same values (what deliver reads is what smtpd
 * wrote).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dsn.h"
#include "../../envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(char kind, const char *params)
{
	char text[DSN_PARAMS_MAX + 1], decoded[DSN_ORCPT_MAX + 1];

	if (kind == 'F') {
		struct dsn_mail a, b;
		if (dsn_mail_parse(&a, params) < 0)
			return;
		dsn_mail_format(&a, text, sizeof text);
		if (dsn_mail_parse(&b, text) < 0 || a.ret != b.ret ||
		    strcmp(a.envid, b.envid) != 0)
			abort();
		dsn_xtext_decode(a.envid, decoded, sizeof decoded);
	} else {
		struct dsn_rcpt a, b;
		if (dsn_rcpt_parse(&a, params) < 0)
			return;
		dsn_rcpt_format(&a, text, sizeof text);
		if (dsn_rcpt_parse(&b, text) < 0 || a.notify != b.notify ||
		    strcmp(a.orcpt, b.orcpt) != 0)
			abort();
		dsn_xtext_decode(a.orcpt, decoded, sizeof decoded);
	}
	if (strlen(decoded) > DSN_ORCPT_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *start = (const char *)data, *end = start + size;
	struct env_reader r;
	struct env_item item;

	env_reader_init(&r, start, size);
	while (env_next(&r, &item) == ENV_ITEM) {
		if (item.addr < start || item.addr + item.addr_len >= end ||
		    item.addr[item.addr_len] != '\0')
			abort();
		round_trip(item.kind, item.params);
	}
	return 0;
}
