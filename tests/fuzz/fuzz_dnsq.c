/*
 * libFuzzer target: a DNS list's answer as a hostile nameserver, or
 * anyone who can send a datagram, could make it, through the parser
 * smtpd's stub resolver uses.  The question is 1.2.0.192.bl.test, its ID
 * the answer's own (so the fuzzer gets past it), its type chosen by
 * the answer's last octet.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../dnsq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dnsq_type types[] = { DNSQ_A, DNSQ_TXT, DNSQ_PTR,
	    DNSQ_MX, DNSQ_AAAA };
	struct dnsq_question q;
	struct dnsq_answer a;
	unsigned char *copy;

	if (size < 2 || size > 4096)
		return 0;
	memset(&q, 0, sizeof q);
	strcpy(q.name, "1.2.0.192.bl.test");
	q.id = (unsigned short)(data[0] << 8 | data[1]);
	q.type = types[data[size - 1] % 5];
	/* An exact-size copy, so that any read past the answer is caught. */
	copy = malloc(size);
	memcpy(copy, data, size);
	if (dnsq_parse(copy, size, &q, &a) == 0) {
		if (a.naddrs > DNSQ_ADDRS || a.naddrs6 > DNSQ_ADDRS ||
		    strnlen(a.txt, sizeof a.txt) == sizeof a.txt ||
		    strnlen(a.name, sizeof a.name) == sizeof a.name)
			abort();
		for (size_t i = 0; a.txt[i] != '\0'; i++)
			if (a.txt[i] < 0x20 || a.txt[i] > 0x7e)
				abort();
	}
	free(copy);
	return 0;
}
