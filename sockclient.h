/*
 * sockclient.h - smtpd's connections to the servers it asks (policy
 * servers, milters): "inet:HOST:PORT" or "unix:/PATH", every step by a
 * deadline (monotonic milliseconds).
 */
#ifndef POSTERN_SOCKCLIENT_H
#define POSTERN_SOCKCLIENT_H

#include <stddef.h>

int sock_ready(int fd, short events, long long deadline);
int sock_connect(const char *spec, long long deadline);
void sock_ack_at_once(int fd);
int sock_send_all(int fd, const char *p, size_t n, long long deadline);
int sock_read_exact(int fd, char *p, size_t n, long long deadline);

#endif
