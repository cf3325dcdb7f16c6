/*
 * driver.c - moving bytes between a super-server's descriptors and a
 * protocol engine under two clocks: the idle timeout of each read and
 * write, and the deadline of the whole session, so that a client that
 * trickles one byte at a time is cut off like a silent one.  STARTTLS
 * and STLS hand the session to a UCSPI-TLS wrapper's descriptors.
 */
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static int
is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

void
driver_init(struct driver *d, unsigned timeout_s, unsigned session_s)
{
	memset(d, 0, sizeof *d);
	d->in = 0;
	d->out = 1;
	d->tls_ctl = d->tls_read = d->tls_write = -1;
	d->out_is_socket = is_socket(1);
	d->timeout_ms = (int)timeout_s * 1000;
	clock_gettime(CLOCK_MONOTONIC, &d->deadline);
	d->deadline.tv_sec += (time_t)session_s;
}

/* The smaller of the per-read timeout and what is left of the session. */
static int
next_timeout(const struct driver *d)
{
	struct timespec now;
	long long left;

	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Rounded up, so that a wait that times out is past the deadline. */
	left = (d->deadline.tv_sec - now.tv_sec) * 1000LL +
	    (d->deadline.tv_nsec - now.tv_nsec + 999999) / 1000000;
	if (left < 0)
		left = 0;
	return left < d->timeout_ms ? (int)left : d->timeout_ms;
}

static int
past_deadline(const struct driver *d)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > d->deadline.tv_sec ||
	    (now.tv_sec == d->deadline.tv_sec &&
	    now.tv_nsec >= d->deadline.tv_nsec);
}

/* Waits for fd to be ready; 1 ready, 0 timed out, -1 error. */
int
driver_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Bytes read, or DRIVER_EOF (also for errors), DRIVER_IDLE, DRIVER_EXPIRED. */
ssize_t
driver_read(struct driver *d, char *buf, size_t n)
{
	ssize_t got;
	int r;

	if (d->broken)
		return DRIVER_EOF;
	/* A client that always has more to send still stops here. */
	if (past_deadline(d))
		return DRIVER_EXPIRED;
	r = driver_wait_fd(d->in, POLLIN, next_timeout(d));
	if (r == 0)
		return past_deadline(d) ? DRIVER_EXPIRED : DRIVER_IDLE;
	got = r < 0 ? -1 : read_retry(d->in, buf, n);
	return got < 0 ? DRIVER_EOF : got;
}

static ssize_t
write_some(struct driver *d, const char *p, size_t n)
{
	if (d->out_is_socket)
		return send(d->out, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(d->out, p, n);
}

/* Every write has the same deadline as a read: a client that stops
 * reading is cut off like one that stops talking. */
void
driver_write(void *ctx, const char *p, size_t n)
{
	struct driver *d = ctx;

	while (n > 0 && !d->broken) {
		ssize_t w;

		if (driver_wait_fd(d->out, POLLOUT, next_timeout(d)) <= 0) {
			d->broken = 1;
			break;
		}
		w = write_some(d, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			d->broken = 1;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
}

int
driver_input_pending(void *ctx)
{
	struct driver *d = ctx;

	return driver_wait_fd(d->in, POLLIN, 0) > 0;
}

/*
 * The UCSPI-TLS handshake with the wrapper: "Y" on the control
 * descriptor starts TLS, and the wrapper answers with its variables,
 * "NAME=value" NUL ..., ended by an empty one (two NULs in a row).  From
 * then on the session reads and writes the wrapper's descriptors.
 */
int
driver_starttls(void *ctx)
{
	struct driver *d = ctx;
	char vars[4096];
	size_t len = 0;
	int nuls = 0;	/* NULs in a row: two end the list */

	if (write_all(d->tls_ctl, "Y", 1) < 0)
		return -1;
	while (nuls < 2) {
		char c;

		if (len == sizeof vars ||
		    driver_wait_fd(d->tls_ctl, POLLIN, next_timeout(d)) <= 0 ||
		    read_retry(d->tls_ctl, &c, 1) != 1)
			return -1;
		vars[len++] = c;
		nuls = c == '\0' ? nuls + 1 : 0;
	}
	for (size_t i = 0; i < len && vars[i]; i += strlen(vars + i) + 1)
		if (strncmp(vars + i, "SSL_PROTOCOL=", 13) == 0 ||
		    strncmp(vars + i, "SSL_CIPHER=", 11) == 0)
			log_msg(LOG_INFO, "tls: %s", vars + i);
	d->in = d->tls_read;
	d->out = d->tls_write;
	d->out_is_socket = is_socket(d->out);
	return 0;
}

/* A descriptor number from the environment, if it names an open one. */
static int
env_fd(const char *name)
{
	const char *v = getenv(name);
	unsigned long long fd;

	if (v == NULL || parse_ulong(v, 1024, &fd) < 0 ||
	    fcntl((int)fd, F_GETFD) < 0)
		return -1;
	return (int)fd;
}

/* SSLCTLFD, SSLREADFD, SSLWRITEFD from the wrapper; UCSPITLS "-" turns
 * TLS off and "!" makes it mandatory. */
enum driver_tls
driver_tls_setup(struct driver *d)
{
	const char *mode = getenv("UCSPITLS");

	d->tls_ctl = env_fd("SSLCTLFD");
	d->tls_read = env_fd("SSLREADFD");
	d->tls_write = env_fd("SSLWRITEFD");
	if (d->tls_ctl < 0 || d->tls_read < 0 || d->tls_write < 0 ||
	    (mode != NULL && strcmp(mode, "-") == 0))
		return DRIVER_TLS_NONE;
	if (mode != NULL && strcmp(mode, "!") == 0)
		return DRIVER_TLS_REQUIRED;
	return DRIVER_TLS_OFFERED;
}
