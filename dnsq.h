/*
 * dnsq.h - a small stub resolver for the DNS lists: several A and TXT
 * questions sent at once over UDP to the nameservers of resolv.conf,
 * answered within one deadline.  libc only (smtpd does not load
 * libresolv), and every answer is parsed as hostile input.
 */
#ifndef POSTERN_DNSQ_H
#define POSTERN_DNSQ_H

#include <stddef.h>

#define DNSQ_MAX 32		/* questions in flight in one session */
#define DNSQ_SERVERS 3		/* as resolv.conf's MAXNS */
#define DNSQ_ADDRS 8		/* A records kept from one answer */
#define DNSQ_TXT_MAX 256	/* octets of TXT kept, cleaned */

enum dnsq_type {
	DNSQ_A = 1,
	DNSQ_PTR = 12,
	DNSQ_MX = 15,		/* only whether there is one */
	DNSQ_TXT = 16,
	DNSQ_AAAA = 28
};

enum dnsq_status {
	DNSQ_PENDING,		/* no answer yet */
	DNSQ_FOUND,		/* records of the type asked */
	DNSQ_NONE,		/* NXDOMAIN, or the name has no such record */
	DNSQ_FAILED		/* SERVFAIL, REFUSED, a broken answer, no server */
};

struct dnsq_answer {
	enum dnsq_status status;
	unsigned char addrs[DNSQ_ADDRS][4];
	size_t naddrs;
	unsigned char addrs6[DNSQ_ADDRS][16];
	size_t naddrs6;
	char txt[DNSQ_TXT_MAX];
	char name[256];		/* PTR: the first name */
};

struct dnsq_question {
	char name[256];
	enum dnsq_type type;
	unsigned short id;
	int fd;			/* a UDP socket of its own; -1 when done */
	unsigned server;	/* the nameserver asked last */
	unsigned refused;	/* nameservers that were not there */
	int in_use;
	long long sent_ms;
	struct dnsq_answer answer;
};

struct dnsq {
	struct dnsq_question q[DNSQ_MAX];
	size_t n;
	unsigned char servers[DNSQ_SERVERS][16];	/* IPv4 or IPv6 */
	int server_family[DNSQ_SERVERS];
	size_t nservers;
	long long timeout_ms;
	long long deadline_ms;	/* monotonic; 0 until the first question */
};

void dnsq_init(struct dnsq *d, const char *resolv_conf, unsigned timeout_s);
int dnsq_ask(struct dnsq *d, const char *name, enum dnsq_type type);
void dnsq_forget(struct dnsq *d, int i);
void dnsq_wait(struct dnsq *d);
void dnsq_close(struct dnsq *d);

/* For the fuzzer and the tests: one response, checked against its question. */
int dnsq_parse(const unsigned char *p, size_t n, const struct dnsq_question *q,
    struct dnsq_answer *a);
size_t dnsq_build(unsigned char *p, size_t size, unsigned short id,
    const char *name, enum dnsq_type type);

#endif
