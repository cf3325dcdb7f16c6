/*
 * driver.h - the descriptors of one per-connection session (0 and 1, or
 * a UCSPI-TLS wrapper's after STARTTLS/STLS) with the idle timeout and
 * the whole-session deadline that every read and write obeys.  Shared
 * by smtpd and pop3d.
 */
#ifndef POSTERN_DRIVER_H
#define POSTERN_DRIVER_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct driver {
	int in;
	int out;
	int tls_ctl;		/* UCSPI-TLS: the wrapper's control descriptor */
	int tls_read;
	int tls_write;
	int out_is_socket;
	int timeout_ms;
	struct timespec deadline;	/* the whole session's */
	int broken;	/* the client stopped reading, or went away */
};

enum driver_tls {
	DRIVER_TLS_NONE,	/* no wrapper, or UCSPITLS=- */
	DRIVER_TLS_OFFERED,
	DRIVER_TLS_REQUIRED	/* UCSPITLS=! */
};

/* What driver_read returns besides a count of bytes. */
#define DRIVER_EOF 0
#define DRIVER_IDLE (-1)	/* silent for the whole timeout */
#define DRIVER_EXPIRED (-2)	/* past the session's deadline */

void driver_init(struct driver *d, unsigned timeout_s, unsigned session_s);
enum driver_tls driver_tls_setup(struct driver *d);
int driver_wait_fd(int fd, short events, int timeout_ms);
ssize_t driver_read(struct driver *d, char *buf, size_t n);
void driver_write(void *ctx, const char *p, size_t n);
int driver_starttls(void *ctx);
int driver_input_pending(void *ctx);

#endif
