/*
 * config.h - the configuration directory of postern.conf(5), read once
 * per process and read-only afterwards.
 */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stddef.h>

#include "conffile.h"
#include "tables.h"

/* make CONFIG_DIR=... QUEUE_DIR=... sets them at build time. */
#ifndef CONFIG_DEFAULT_DIR
#define CONFIG_DEFAULT_DIR "/etc/postern"
#endif
#ifndef QUEUE_DEFAULT_DIR
#define QUEUE_DEFAULT_DIR "/var/spool/postern"
#endif

enum barelf_policy { BARELF_NORMALIZE, BARELF_REJECT };

/* How much TLS deliver demands of a next hop (Postfix's levels). */
enum tls_level {
	TLS_NONE,	/* clear text */
	TLS_MAY,	/* STARTTLS when offered, else clear text */
	TLS_ENCRYPT,	/* TLS or nothing; the certificate is not checked */
	TLS_VERIFY	/* TLS with a verified certificate chain and name */
};

#define DNSLIST_MAX 16
#define POLICY_MAX 4
#define MILTER_MAX 4

enum clientname_check {
	CLIENTNAME_NO,		/* no lookup: the client is "unknown" */
	CLIENTNAME_LOOKUP,	/* looked up and used, nothing refused */
	CLIENTNAME_REVERSE,	/* refused without a PTR name */
	CLIENTNAME_YES		/* refused without one that forward-confirms */
};

enum dnslist_kind {
	DNSLIST_BLOCK,		/* dnsbl: the client's address */
	DNSLIST_ALLOW,		/* dnswl: the client's address, exempts */
	DNSLIST_SENDER		/* rhsbl: the sender's domain */
};

/* One line of dnsbl, dnswl or rhsbl: a zone, which answers count, a weight. */
struct dnslist {
	enum dnslist_kind kind;
	char zone[256];
	int weight;
	/* the values of each octet of an answer that count: a bit each */
	unsigned char match[4][32];
};

struct config {
	const char *dir;
	char hostname[256];
	char origin[256];		/* sendmail: domain of bare user names */
	char masquerade[512];		/* domains, space-separated (masquerade.c) */
	char masquerade_exceptions[512];	/* local parts never masqueraded */
	char banner[256];
	char mailroot[1024];
	unsigned long long maxsize;
	unsigned long long queuelifetime;
	unsigned long long delaywarning;	/* 0: no delay notices */
	unsigned maxrcpt;
	unsigned concurrency;
	unsigned maxerrors;
	unsigned timeout;
	unsigned connecttimeout;	/* deliver: each connect */
	unsigned messagetimeout;	/* deliver: one attempt at one message */
	unsigned maxmxaddresses;	/* deliver: addresses per domain and attempt */
	enum tls_level tlslevel;	/* deliver: MX hosts and domain routes */
	char tlsclient[1024];		/* deliver: the TLS program */
	char tlscafile[1024];		/* deliver: trusted CAs; "" the system's */
	unsigned pop3timeout;
	unsigned maxsessiontime;
	unsigned greetdelay;
	enum barelf_policy barelf;
	int strictsync;
	int queuesync_ordered;		/* queuesync ordered */
	int casesensitive;
	int vrfy;
	int expn;
	int log_stderr;
	int authplaintext;		/* offer AUTH without TLS */
	int submission;			/* MAIL needs AUTH */
	unsigned authmaxfail;
	unsigned authdelay;
	char checkpassword[1024];
	struct dnslist dnslists[DNSLIST_MAX];
	size_t ndnslists;
	int dnsblthreshold;
	int dnsbl_defer;		/* dnsblreply defer: 450, not 554 */
	int dnsbl_at_connect;		/* dnsblcheck connect */
	unsigned dnstimeout;
	int checkhelo;
	enum clientname_check checkclientname;
	int checksenderdomain;
	char recipient_delimiter[9];	/* "+", "+-": user+tag is user's */
	char srsdomain[256];		/* SRS on: its domain; "" off */
	char srskey[256];		/* the secret, from the file srskey */
	/* policy servers: "inet:HOST:PORT" or "unix:/PATH" */
	char policies[POLICY_MAX][300];
	size_t npolicies;
	int policy_eod;			/* also at the end of the data */
	unsigned policytimeout;
	char policydefault[300];	/* the action when a server fails */
	/* milters: "inet:HOST:PORT" or "unix:/PATH", asked in order */
	char milters[MILTER_MAX][300];
	size_t nmilters;
	unsigned milterconnecttimeout;
	unsigned miltertimeout;		/* each event's reply */
	unsigned miltermessagetimeout;	/* all replies at end of message */
	int milter_default_accept;	/* milterdefault accept, not tempfail */
	struct table tables[TABLE_COUNT];
};


void config_defaults(struct config *c, const char *dir);
const char *config_conf_dir(void);
const char *config_queue_dir(void);
int config_load(struct config *c, const char *dir, unsigned tables,
    char *err, size_t errlen);
void config_free(struct config *c);

#endif
