/*
 * libFuzzer target: an MX answer as a hostile resolver or name server
 * could send it, through the parser deliver uses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mx_host hosts[MX_MAX];
	unsigned char *copy;
	size_t n = 0;

	if (size > 65535)
		return 0;
	/* An exact-size copy, so that any read past the answer is caught. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (dns_parse_mx(copy, (int)size, hosts, MX_MAX, &n) == MX_OK) {
		if (n > MX_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (strnlen(hosts[i].name, sizeof hosts[i].name) ==
			    sizeof hosts[i].name)
				abort();
	}
	free(copy);
	return 0;
}
