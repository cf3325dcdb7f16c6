/*
 * libFuzzer target: RFC 5322 address lists as postern-sendmail -t reads
 * them from a header a local user wrote; every address it yields must
 * be a string inside the input's bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../addrlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
check(void *ctx, const char *addr)
{
	size_t *count = ctx;

	if (strlen(addr) >= 1024)
		abort();
	++*count;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t count = 0;

	(void)addrlist_parse((const char *)data, size, check, &count);
	if (count > size + 1)
		abort();
	return 0;
}
