/*
 * tests/srstool.c - the SRS and HMAC code, driven from the tests:
 *	srstool hmac KEYHEX DATA	HMAC-SHA-256, in hex
 *	srstool forward KEY SRSDOMAIN SENDER [DAYS-AGO]
 *	srstool reverse KEY LOCALPART	the original address, or why not
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sha256.h"
#include "../srs.h"

int
main(int argc, char **argv)
{
	char out[600];

	if (argc == 4 && strcmp(argv[1], "hmac") == 0) {
		unsigned char key[512], mac[SHA256_SIZE];
		size_t n = strlen(argv[2]) / 2;

		for (size_t i = 0; i < n && i < sizeof key; i++)
			sscanf(argv[2] + 2 * i, "%2hhx", &key[i]);
		hmac_sha256(key, n, argv[3], strlen(argv[3]), mac);
		for (int i = 0; i < SHA256_SIZE; i++)
			printf("%02x", mac[i]);
		printf("\n");
		return 0;
	}
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "forward") == 0) {
		time_t t = time(NULL) - (argc == 6 ? atol(argv[5]) * 86400 : 0);
		if (srs_forward(argv[2], argv[3], argv[4], t, out, sizeof out) < 0)
			return 1;
		printf("%s\n", out);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "reverse") == 0) {
		static const char *why[] = { "ok", "malformed", "bad hash",
		    "expired" };
		enum srs_result r = srs_reverse(argv[2], argv[3], time(NULL),
		    SRS_MAXAGE_DAYS, out, sizeof out);
		printf("%s\n", r == SRS_OK ? out : why[r]);
		return r == SRS_OK ? 0 : 1;
	}
	fprintf(stderr, "usage: srstool hmac|forward|reverse ...\n");
	return 2;
}
