/*
 * libFuzzer target: the SMTP engine fed arbitrary bytes, in chunks whose
 * boundaries the input chooses, as a socket or as a pipe client, with a
 * sink that keeps nothing.  Commands, DATA, BDAT and pipelined bursts are
 * all reachable from the seeds in tests/fuzz/session/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../config.h"
#include "../../log.h"
#include "../../session.h"
#include "../../sink.h"

static size_t stored;

static int
null_open(void *ctx, char *id, size_t idsize)
{
	(void)ctx;
	strncpy(id, "FUZZ", idsize);
	return 0;
}

static int
null_write(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	stored += n;
	return 0;
}

static enum commit_result
null_commit(void *ctx, const char *env, size_t envlen)
{
	(void)ctx;
	/* The envelope must end with two NULs: sender's and the last one. */
	if (envlen < 3 || env[0] != 'F' || env[envlen - 1] != '\0' ||
	    env[envlen - 2] != '\0')
		abort();
	return COMMIT_OK;
}

static void
null_abort(void *ctx)
{
	(void)ctx;
}

static const struct sink_ops null_sink = {
	null_open, null_write, null_commit, null_abort
};

static void
discard_out(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
}

static int
no_input_pending(void *ctx)
{
	(void)ctx;
	return 0;
}

static int
fake_starttls(void *ctx)
{
	(void)ctx;
	return 0;
}

static struct config cfg;

static void
setup_config(void)
{
	struct db_builder b = { 0 };

	config_defaults(&cfg, "/nonexistent");
	cfg.maxsize = 4096;
	cfg.maxrcpt = 5;
	cfg.maxerrors = 50;
	db_builder_add(&b, "example.org", 11, "", 1);
	db_build(&b, NULL, &cfg.tables[TABLE_DOMAINS].db, NULL, NULL);
	cfg.tables[TABLE_DOMAINS].present = 1;
	db_builder_free(&b);
	/* AUTH in the clear, against a cheap hash (MD5-crypt of "pw"), no
	 * delay: the exchange is what is fuzzed, not the hashing. */
	memset(&b, 0, sizeof b);
	db_builder_add(&b, "u@example.org", 13, "$1$salt$IXp9zPHZ94CMcVBXaZFPN/", 1);
	db_build(&b, NULL, &cfg.tables[TABLE_PASSWD].db, NULL, NULL);
	cfg.tables[TABLE_PASSWD].present = 1;
	db_builder_free(&b);
	cfg.authplaintext = 1;
	cfg.authdelay = 0;
	log_init("fuzz");
	log_to_stderr(-1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct session s;
	struct client client = { .addr = "192.0.2.1", .literal = "[192.0.2.1]" };
	struct session_io io = { discard_out, no_input_pending, fake_starttls,
	    NULL, NULL };
	size_t chunk;
	unsigned char flags;

	if (cfg.maxsize == 0)
		setup_config();
	if (size < 2)
		return 0;
	flags = data[0];
	client.is_socket = data[0] & 1;
	cfg.barelf = (data[0] & 2) ? BARELF_REJECT : BARELF_NORMALIZE;
	chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	session_init(&s, &cfg, &client, &null_sink, NULL, &io);
	s.tls_available = (flags & 4) != 0;
	s.tls_required = (flags & 8) != 0;
	session_greet(&s);
	while (size > 0 && !session_closed(&s)) {
		size_t n = size < chunk ? size : chunk;
		session_feed(&s, (const char *)data, n);
		session_flush(&s);
		data += n;
		size -= n;
	}
	session_eof(&s);
	session_end(&s);
	return 0;
}
