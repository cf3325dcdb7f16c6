/*
 * md5.h - RFC 1321 MD5, for POP3 APOP (RFC 1939) only: APOP's digest
 * is fixed by the protocol; nothing here relies on MD5 for security
 * beyond what APOP itself offers.
 */
#ifndef POSTERN_MD5_H
#define POSTERN_MD5_H

#include <stddef.h>
#include <stdint.h>

struct md5 {
	uint32_t state[4];
	uint64_t length;	/* bytes hashed so far */
	unsigned char block[64];
};

void md5_init(struct md5 *m);
void md5_update(struct md5 *m, const void *p, size_t n);
void md5_hex(struct md5 *m, char out[33]);

#endif
