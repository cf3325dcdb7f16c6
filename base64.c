/* base64.c - RFC 4648 base64: strict decoding, padded encoding. */
#include "base64.h"

#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Strict RFC 4648 base64; returns -1 on bad input or no room. */
int
base64_decode(const char *in, char *out, size_t outsize, size_t *outlen)
{
	size_t n = strlen(in), o = 0;

	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = b64_value(in[i + k])) < 0) {
				return -1;
			}
		}
		unsigned long bits = (unsigned long)v[0] << 18 |
		    (unsigned long)v[1] << 12 | (unsigned long)v[2] << 6 |
		    (unsigned long)v[3];
		for (int k = 0; k < 3 - pad; k++) {
			if (o + 1 >= outsize)
				return -1;
			out[o++] = (char)(bits >> (16 - 8 * k) & 0xff);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

/* n octets of in, padded; returns -1 when out has no room. */
int
base64_encode(const char *in, size_t n, char *out, size_t outsize)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	if ((n + 2) / 3 * 4 + 1 > outsize)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		unsigned long bits = (unsigned long)p[i] << 16;
		size_t left = n - i;
		if (left > 1)
			bits |= (unsigned long)p[i + 1] << 8;
		if (left > 2)
			bits |= p[i + 2];
		out[o++] = b64_alphabet[bits >> 18 & 63];
		out[o++] = b64_alphabet[bits >> 12 & 63];
		out[o++] = left > 1 ? b64_alphabet[bits >> 6 & 63] : '=';
		out[o++] = left > 2 ? b64_alphabet[bits & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}
