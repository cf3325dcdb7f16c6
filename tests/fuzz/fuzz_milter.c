/*
 * libFuzzer target: a milter's reply packets as smtpd reads them (the
 * first octet the command, the rest its data).  Whatever a filter says,
 * a refusal is a 4xx or 5xx of one printable line, NUL-terminated
 * within the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../milter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reply[600];
	int kind;

	if (size == 0)
		return 0;
	memset(reply, 'x', sizeof reply);
	kind = milter_parse_reply((char)data[0], (const char *)data + 1,
	    size - 1, reply, sizeof reply);
	if (kind != MILTER_REFUSE)
		return 0;
	if (memchr(reply, '\0', sizeof reply) == NULL ||
	    (reply[0] != '4' && reply[0] != '5'))
		abort();
	for (const char *p = reply; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	return 0;
}
