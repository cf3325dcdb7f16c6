/*
 * md5.c - RFC 1321 message digest, written from the RFC's description:
 * 64-byte blocks, four rounds of sixteen steps over four 32-bit words,
 * little-endian throughout.
 */
#include "md5.h"

#include <string.h>

/* floor(|sin(i + 1)| * 2^32), RFC 1321 section 3.4. */
static const uint32_t sine_table[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Left-rotation amounts, four per round. */
static const unsigned char shifts[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 },
};

static uint32_t
rotate_left(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static void
transform(struct md5 *m, const unsigned char *block)
{
	uint32_t x[16], a = m->state[0], b = m->state[1], c = m->state[2],
	    d = m->state[3];

	for (size_t i = 0; i < 16; i++)
		x[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
		    (uint32_t)block[4 * i + 2] << 16 |
		    (uint32_t)block[4 * i + 3] << 24;
	for (int i = 0; i < 64; i++) {
		uint32_t f, t;
		int round = i / 16, word;

		switch (round) {
		case 0:
			f = (b & c) | (~b & d);
			word = i;
			break;
		case 1:
			f = (d & b) | (~d & c);
			word = (5 * i + 1) % 16;
			break;
		case 2:
			f = b ^ c ^ d;
			word = (3 * i + 5) % 16;
			break;
		default:
			f = c ^ (b | ~d);
			word = (7 * i) % 16;
			break;
		}
		t = d;
		d = c;
		c = b;
		b = b + rotate_left(a + f + sine_table[i] + x[word],
		    shifts[round][i % 4]);
		a = t;
	}
	m->state[0] += a;
	m->state[1] += b;
	m->state[2] += c;
	m->state[3] += d;
}

void
md5_init(struct md5 *m)
{
	m->state[0] = 0x67452301;
	m->state[1] = 0xefcdab89;
	m->state[2] = 0x98badcfe;
	m->state[3] = 0x10325476;
	m->length = 0;
}

void
md5_update(struct md5 *m, const void *p, size_t n)
{
	const unsigned char *in = p;

	while (n > 0) {
		size_t used = (size_t)(m->length % 64), take = 64 - used;

		if (take > n)
			take = n;
		memcpy(m->block + used, in, take);
		m->length += take;
		in += take;
		n -= take;
		if (used + take == 64)
			transform(m, m->block);
	}
}

/* Pads (a 1 bit, zeros, the bit length) and writes 32 hex digits. */
void
md5_hex(struct md5 *m, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t bits = m->length * 8;
	unsigned char pad = 0x80, len[8];

	md5_update(m, &pad, 1);
	pad = 0;
	while (m->length % 64 != 56)
		md5_update(m, &pad, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (8 * i));
	md5_update(m, len, 8);
	for (size_t i = 0; i < 16; i++) {
		unsigned char byte = (unsigned char)(m->state[i / 4] >> (8 * (i % 4)));
		out[2 * i] = hex[byte >> 4];
		out[2 * i + 1] = hex[byte & 15];
	}
	out[32] = '\0';
	explicit_bzero(m, sizeof *m);
}
