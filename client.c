/*
 * client.c - the client's address, first found wins: TCPREMOTEIP
 * (UCSPI: tcpserver, s6), REMOTE_ADDR (systemd with Accept=yes),
 * REMOTE_HOST when it is an address (stunnel's exec mode), then
 * getpeername() on the socket (inetd, xinetd).  A pipe or a file has no
 * address.  An IPv4-mapped IPv6 address is an IPv4 address.
 */
#include "client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "util.h"

static void
set_ipv4(struct client *c, const void *addr)
{
	inet_ntop(AF_INET, addr, c->addr, sizeof c->addr);
	snprintf(c->literal, sizeof c->literal, "[%s]", c->addr);
}

static void
set_ipv6(struct client *c, const struct in6_addr *a6)
{
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		set_ipv4(c, &a6->s6_addr[12]);
		return;
	}
	inet_ntop(AF_INET6, a6, c->addr, sizeof c->addr);
	snprintf(c->literal, sizeof c->literal, "[IPv6:%s]", c->addr);
}

/* Returns 0 when text is an IPv4 or IPv6 address. */
int
client_set_address(struct client *c, const char *text)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (text == NULL)
		return -1;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		set_ipv4(c, &a4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		set_ipv6(c, &a6);
		return 0;
	}
	return -1;
}

static int
from_peer(struct client *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	memset(&ss, 0, sizeof ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		set_ipv4(c, &((struct sockaddr_in *)&ss)->sin_addr);
		return 0;
	}
	if (ss.ss_family == AF_INET6) {
		set_ipv6(c, &((struct sockaddr_in6 *)&ss)->sin6_addr);
		return 0;
	}
	return -1;
}

void
client_identify(struct client *c, int fd)
{
	struct stat st;

	memset(c, 0, sizeof *c);
	c->is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
	if (client_set_address(c, getenv("TCPREMOTEIP")) == 0 ||
	    client_set_address(c, getenv("REMOTE_ADDR")) == 0 ||
	    client_set_address(c, getenv("REMOTE_HOST")) == 0)
		return;
	if (c->is_socket && from_peer(c, fd) == 0)
		return;
	c->addr[0] = c->literal[0] = '\0';
}
