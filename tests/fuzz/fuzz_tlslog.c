/*
 * libFuzzer target: gnutls-cli's messages as deliver reads them
 * (tlslog.c), with text a remote host chose (its certificate's names)
 * among them.  Fed whole and fed in two arbitrary pieces, the reading is
 * the same; every field stays NUL-terminated in its buffer; a protocol
 * is one that begins "TLS"; trusted only with a status that says so.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tlslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct tlslog *l)
{
	if (memchr(l->protocol, '\0', sizeof l->protocol) == NULL ||
	    memchr(l->status, '\0', sizeof l->status) == NULL ||
	    memchr(l->error, '\0', sizeof l->error) == NULL ||
	    memchr(l->connect_error, '\0', sizeof l->connect_error) == NULL)
		abort();
	if (l->protocol[0] && strncmp(l->protocol, "TLS", 3) != 0)
		abort();
	if (l->trusted && (!l->status_seen ||
	    strcmp(l->status, "The certificate is trusted.") != 0))
		abort();
	if (tlslog_reason(l) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tlslog whole, split;
	size_t cut = size ? data[0] % (size + 1) : 0;

	tlslog_init(&whole);
	tlslog_feed(&whole, (const char *)data, size);
	check(&whole);
	tlslog_init(&split);
	tlslog_feed(&split, (const char *)data, cut);
	tlslog_feed(&split, (const char *)data + cut, size - cut);
	check(&split);
	if (whole.connected != split.connected ||
	    whole.handshaking != split.handshaking ||
	    whole.trusted != split.trusted ||
	    strcmp(whole.protocol, split.protocol) != 0 ||
	    strcmp(whole.status, split.status) != 0 ||
	    strcmp(whole.error, split.error) != 0)
		abort();
	return 0;
}
