/*
 * libFuzzer target: header field bodies as postern-sendmail masquerades
 * them (a local user writes them).  The output is NUL-terminated inside
 * its buffer, never longer than the input (masquerading only shortens),
 * and rewriting it again changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../config.h"
#include "../../masquerade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	static char out[8192], again[8192];
	int n;

	strcpy(c.masquerade, "example.org example.net");
	strcpy(c.masquerade_exceptions, "root");
	n = masquerade_field(&c, (const char *)data, size, out, sizeof out);
	if (n < 0)
		return 0;
	if (memchr(out, '\0', sizeof out) == NULL || strlen(out) > size)
		abort();
	if (memchr(data, '\0', size) == NULL &&
	    masquerade_field(&c, out, strlen(out), again, sizeof again) != 0)
		abort();
	return 0;
}
