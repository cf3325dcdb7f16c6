/*
 * libFuzzer target: deliver's SMTP client against a hostile server.  A
 * thread plays the server on a loopback socket: it sends the fuzzer's
 * bytes as everything the server ever says, then closes its side and
 * reads whatever the client sends.  Whatever those bytes are, the client
 * must end the transaction with every recipient given an outcome and a
 * reason, within its buffers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../config.h"
#include "../../db.h"
#include "../../log.h"
#include "../../remote.h"

static struct config cfg;
static int listener = -1;
static struct qmessage msg = { .fd = -1 };

struct script {
	const uint8_t *data;
	size_t size;
};

static void *
serve(void *arg)
{
	struct script *s = arg;
	char sink[4096];
	int fd = accept(listener, NULL, NULL);

	if (fd < 0)
		return NULL;
	for (size_t off = 0; off < s->size;) {
		ssize_t w = send(fd, s->data + off, s->size - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, sink, sizeof sink) > 0)
		continue;
	close(fd);
	return NULL;
}

static void
set_up(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	struct db_builder b = { 0 };
	char route[64];
	static const char message[] = "Subject: fuzz\n\n.dot\nbody\n";
	FILE *f;

	log_init("fuzz");
	log_to_stderr(-1);
	config_defaults(&cfg, "/nonexistent");
	cfg.timeout = 2;
	cfg.connecttimeout = 2;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&a, len) < 0 ||
	    listen(listener, 4) < 0 ||
	    getsockname(listener, (struct sockaddr *)&a, &len) < 0)
		abort();
	snprintf(route, sizeof route, "127.0.0.1:%u tls=none", ntohs(a.sin_port));
	db_builder_add(&b, "*", 1, route, 1);
	db_build(&b, NULL, &cfg.tables[TABLE_ROUTES].db, NULL, NULL);
	cfg.tables[TABLE_ROUTES].present = 1;
	db_builder_free(&b);
	f = tmpfile();
	if (f == NULL || fwrite(message, 1, sizeof message - 1, f) !=
	    sizeof message - 1 || fflush(f) != 0)
		abort();
	msg.fd = fileno(f);
	msg.len = (long long)(sizeof message - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct remote_rcpt r[3] = {
		{ .addr = "a@example.net", .dsn = "NOTIFY=SUCCESS" },
		{ .addr = "b@example.net", .dsn = "" },
		{ .addr = "c@example.net", .dsn = "ORCPT=rfc822;c@example.net" },
	};
	struct remote_sender from = { "sender@example.org", "RET=HDRS" };
	struct script s = { data, size };
	char relay[300];
	pthread_t t;

	if (listener < 0)
		set_up();
	if (pthread_create(&t, NULL, serve, &s) != 0)
		abort();
	remote_deliver(&cfg, "example.net", &msg, &from, r, 3,
	    time(NULL) + 10, relay, sizeof relay);
	pthread_join(t, NULL);
	for (size_t i = 0; i < 3; i++)
		if (r[i].reason[0] == '\0' ||
		    strnlen(r[i].reason, sizeof r[i].reason) == sizeof r[i].reason)
			abort();
	return 0;
}
