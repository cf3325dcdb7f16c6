/*
 * srs.c - the Sender Rewriting Scheme (SRS0, as libsrs2, postsrsd and
 * OpenSMTPD write it), so that mail forwarded to another domain passes
 * its SPF check, and its bounces find their way back:
 *
 *	SRS0=HHHH=TT=domain=local@srsdomain
 *
 * TT is the day (days since 1970, mod 1024) in two base32 characters;
 * HHHH the first four base64 characters of an HMAC of "TTdomainlocal",
 * lower case, under the secret key (HMAC-SHA-256 here: only this host
 * ever checks its own addresses).  A reversed address is accepted only
 * with its hash (compared without case, as libsrs2 does, since some
 * MTAs lower-case local parts) and within maxage days.
 */
#include "srs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sha256.h"

#define HASH_LEN 4
#define DAY 86400

static const char base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char base64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The first HASH_LEN base64 characters of HMAC(key, lower(TT domain local)). */
static void
srs_hash(const char *key, const char *tt, const char *domain,
    const char *local, size_t locallen, char out[HASH_LEN + 1])
{
	char data[600];
	unsigned char mac[SHA256_SIZE];
	int n = snprintf(data, sizeof data, "%s%s%.*s", tt, domain,
	    (int)locallen, local);

	if (n < 0 || (size_t)n >= sizeof data)
		n = (int)sizeof data - 1;
	for (int i = 0; i < n; i++)
		data[i] = (char)tolower((unsigned char)data[i]);
	hmac_sha256(key, strlen(key), data, (size_t)n, mac);
	/* 4 characters are the first 24 bits */
	out[0] = base64[mac[0] >> 2];
	out[1] = base64[(mac[0] & 3) << 4 | mac[1] >> 4];
	out[2] = base64[(mac[1] & 15) << 2 | mac[2] >> 6];
	out[3] = base64[mac[2] & 63];
	out[4] = '\0';
}

static void
timestamp(time_t now, char out[3])
{
	unsigned day = (unsigned)(now / DAY) % 1024;

	out[0] = base32[day >> 5];
	out[1] = base32[day & 31];
	out[2] = '\0';
}

int
srs_is_srs(const char *local)
{
	return strncasecmp(local, "SRS0", 4) == 0 ||
	    strncasecmp(local, "SRS1", 4) == 0;
}

/*
 * sender (local@domain) as an SRS0 address at srsdomain, into out.
 * -1 for the null sender, an address already in SRS form (its bounces
 * go to the host that wrote it), or one too long to rewrite.
 */
int
srs_forward(const char *key, const char *srsdomain, const char *sender,
    time_t now, char *out, size_t size)
{
	const char *at = strrchr(sender, '@');
	char tt[3], hash[HASH_LEN + 1];
	size_t locallen;
	int n;

	if (at == NULL || at == sender || srs_is_srs(sender))
		return -1;
	locallen = (size_t)(at - sender);
	timestamp(now, tt);
	srs_hash(key, tt, at + 1, sender, locallen, hash);
	n = snprintf(out, size, "SRS0=%s=%s=%s=%.*s@%s", hash, tt, at + 1,
	    (int)locallen, sender, srsdomain);
	/* RFC 5321: 64 octets of local part, 256 of path */
	if (n < 0 || (size_t)n >= size || (size_t)n > 254 ||
	    (size_t)(strchr(out, '@') - out) > 64)
		return -1;
	return 0;
}

static int
base32_value(char c)
{
	const char *p = strchr(base32, toupper((unsigned char)c));

	return c != '\0' && p != NULL ? (int)(p - base32) : -1;
}

/*
 * The original address of an SRS0 local part, into out:
 * SRS_OK, or SRS_MALFORMED, SRS_BAD_HASH, SRS_EXPIRED.
 */
enum srs_result
srs_reverse(const char *key, const char *local, time_t now,
    unsigned maxage_days, char *out, size_t size)
{
	const char *hash, *tt, *domain, *orig;
	char want[HASH_LEN + 1], ttbuf[3], dom[256];
	int hi, lo;
	unsigned age;

	if (strncasecmp(local, "SRS0", 4) != 0 || strchr("=+-", local[4]) ==
	    NULL || local[4] == '\0')
		return SRS_MALFORMED;
	hash = local + 5;
	tt = strchr(hash, '=');
	if (tt == NULL || tt - hash != HASH_LEN)
		return SRS_MALFORMED;
	tt++;
	if (strlen(tt) < 3 || tt[2] != '=')
		return SRS_MALFORMED;
	domain = tt + 3;
	orig = strchr(domain, '=');
	if (orig == NULL || orig == domain || (size_t)(orig - domain) >=
	    sizeof dom || orig[1] == '\0')
		return SRS_MALFORMED;
	memcpy(dom, domain, (size_t)(orig - domain));
	dom[orig - domain] = '\0';
	orig++;
	memcpy(ttbuf, tt, 2);
	ttbuf[2] = '\0';
	srs_hash(key, ttbuf, dom, orig, strlen(orig), want);
	if (strncasecmp(want, hash, HASH_LEN) != 0)
		return SRS_BAD_HASH;
	hi = base32_value(tt[0]);
	lo = base32_value(tt[1]);
	if (hi < 0 || lo < 0)
		return SRS_MALFORMED;
	age = ((unsigned)(now / DAY) % 1024 + 1024 - (unsigned)(hi << 5 | lo)) %
	    1024;
	if (age > maxage_days)
		return SRS_EXPIRED;
	if ((size_t)snprintf(out, size, "%s@%s", orig, dom) >= size)
		return SRS_MALFORMED;
	return SRS_OK;
}
