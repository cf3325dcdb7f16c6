/* sha256.h - SHA-256 and HMAC-SHA-256, for SRS. */
#ifndef POSTERN_SHA256_H
#define POSTERN_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_SIZE 32

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t used;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_SIZE]);
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
    unsigned char out[SHA256_SIZE]);

#endif
