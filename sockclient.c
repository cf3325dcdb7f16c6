/* sockclient.c - connecting to and talking with a server by deadlines. */
#include "sockclient.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

/* Waits for fd to be ready for events until deadline; 1 when it is. */
int
sock_ready(int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;

	while ((left = deadline - monotonic_ms()) > 0) {
		int r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 0;
	}
	return 0;
}

/* A non-blocking connect to a unix: or inet: server, by the deadline. */
int
sock_connect(const char *spec, long long deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char host[256], *colon;
	int fd = -1, err = 0;
	socklen_t len = sizeof err;
	const int one = 1;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (str_copy(sun.sun_path, spec + 5, sizeof sun.sun_path) >=
		    sizeof sun.sun_path)
			return -1;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0 &&
		    errno != EINPROGRESS) {
			close(fd);
			return -1;
		}
	} else {
		/* inet:HOST:PORT, the host an address or a name; [::1]:PORT */
		str_copy(host, spec + 5, sizeof host);
		colon = strrchr(host, ':');
		if (colon == NULL)
			return -1;
		*colon = '\0';
		if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
			colon[-1] = '\0';
			memmove(host, host + 1, strlen(host));
		}
		if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
			return -1;
		fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		/* requests and replies are small and go back and forth:
		 * Nagle's wait for an ACK the peer delays would cost each
		 * exchange 40 ms */
		if (fd >= 0)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof one);
		if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
	}
	if (fd < 0)
		return -1;
	if (!sock_ready(fd, POLLOUT, deadline) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Acknowledges what arrives next at once (Linux's TCP_QUICKACK, which
 * lasts until the kernel's next delayed ACK).  A filter that sends two
 * packets in a row (a change, then its verdict) would otherwise have the
 * second held by Nagle's algorithm until this side's delayed ACK, 40 ms
 * later; libmilter sets no TCP_NODELAY.
 */
void
sock_ack_at_once(int fd)
{
#ifdef TCP_QUICKACK
	const int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
	(void)fd;
#endif
}

int
sock_send_all(int fd, const char *p, size_t n, long long deadline)
{
	while (n > 0) {
		ssize_t w;

		if (!sock_ready(fd, POLLOUT, deadline))
			return -1;
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
	}
	return 0;
}

/* Exactly n octets; -1 on EOF, error or the deadline. */
int
sock_read_exact(int fd, char *p, size_t n, long long deadline)
{
	while (n > 0) {
		ssize_t r;

		if (!sock_ready(fd, POLLIN, deadline))
			return -1;
		r = read(fd, p, n);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		}
	}
	return 0;
}
