/*
 * libFuzzer target: a milter's reply packets as smtpd reads them (the
 * first octet the command, the rest its data), as verdicts and as the
 * changes at the end of a message.  Whatever a filter says, a refusal
 * is a 4xx or 5xx of one printable line, NUL-terminated within the
 * buffer, and every string a change hands on is NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../milter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t seen;

static int
field(void *ctx, size_t index, const char *name, const char *value)
{
	(void)ctx;
	seen += index + strlen(name) + strlen(value);
	return 0;
}

static int
change(void *ctx, const char *name, unsigned nth, const char *value)
{
	(void)ctx;
	seen += nth + strlen(name) + strlen(value);
	return 0;
}

static int
body_begin(void *ctx)
{
	(void)ctx;
	return 0;
}

static int
body(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	if (n > 0)
		seen += (unsigned char)p[n - 1];
	return 0;
}

static int
addr_args(void *ctx, const char *addr, const char *args)
{
	(void)ctx;
	seen += strlen(addr) + strlen(args);
	return 0;
}

static int
addr(void *ctx, const char *a)
{
	(void)ctx;
	seen += strlen(a);
	return 0;
}

static void
verdict(const uint8_t *data, size_t size)
{
	char reply[600];
	int kind;

	memset(reply, 'x', sizeof reply);
	kind = milter_parse_reply((char)data[0], (const char *)data + 1,
	    size - 1, reply, sizeof reply);
	if (kind != MILTER_REFUSE)
		return;
	if (memchr(reply, '\0', sizeof reply) == NULL ||
	    (reply[0] != '4' && reply[0] != '5'))
		abort();
	for (const char *p = reply; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct milter_edit_ops ops = { field, change, body_begin, body,
	    addr_args, addr, addr_args, NULL };
	struct milter_mod_state st = { .actions = 0xff };
	int r;

	if (size == 0)
		return 0;
	verdict(data, size);
	r = milter_apply_mod((char)data[0], (const char *)data + 1, size - 1,
	    &st, &ops);
	if (r != MOD_NONE && r != MOD_DONE && r != MOD_BAD && r != MOD_FAILED)
		abort();
	if (st.quarantine && memchr(st.reason, '\0', sizeof st.reason) == NULL)
		abort();
	return 0;
}
