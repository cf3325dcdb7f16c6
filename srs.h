/* srs.h - the Sender Rewriting Scheme: SRS0 addresses, forward and back. */
#ifndef POSTERN_SRS_H
#define POSTERN_SRS_H

#include <stddef.h>
#include <time.h>

#define SRS_MAXAGE_DAYS 21	/* as postsrsd: three weeks to bounce */

enum srs_result {
	SRS_OK,
	SRS_MALFORMED,
	SRS_BAD_HASH,
	SRS_EXPIRED
};

int srs_is_srs(const char *local);
int srs_forward(const char *key, const char *srsdomain, const char *sender,
    time_t now, char *out, size_t size);
enum srs_result srs_reverse(const char *key, const char *local, time_t now,
    unsigned maxage_days, char *out, size_t size);

#endif
