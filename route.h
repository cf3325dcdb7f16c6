/*
 * route.h - RFC 5321 paths: parsing MAIL FROM and RCPT TO arguments
 * into addresses, and deciding what a recipient address means here.
 */
#ifndef POSTERN_ROUTE_H
#define POSTERN_ROUTE_H

#include <stddef.h>

#include "address.h"
#include "config.h"

enum rcpt_class {
	RCPT_LOCAL,		/* one of our domains, a known user */
	RCPT_UNKNOWN_USER,	/* one of our domains, no such user */
	RCPT_RELAY,		/* accepted to be passed on */
	RCPT_DENIED		/* relaying denied */
};

enum local_kind {
	LOCAL_NONE,
	LOCAL_USER,
	LOCAL_ALIAS
};

/* How a local address was found (route_local_match). */
struct local_match {
	enum local_kind kind;
	const char *value;	/* the entry past its TAB */
	char tag[LOCAL_PART_MAX + 1];	/* the subaddress used, or "" */
	size_t base_len;	/* with a tag: the local part before it */
	int catchall;		/* found as "@domain" in aliases */
};

enum rcpt_class route_classify(const struct config *c,
    const struct mailpath *p, int client_may_relay);
int route_is_local_domain(const struct config *c, const struct mailpath *p);
enum local_kind route_local_lookup(const struct config *c,
    const struct mailpath *p, const char **value);
enum local_kind route_local_match(const struct config *c,
    const struct mailpath *p, struct local_match *m);



/* deliver: where one envelope recipient goes, after alias expansion. */
enum dest_kind {
	DEST_LOCAL,
	DEST_REMOTE,
	DEST_LIST,	/* an alias with an owner: queued anew (list.c) */
	DEST_FAIL
};

#define ALIAS_DEPTH_MAX 10

struct dest {
	enum dest_kind kind;
	char addr[PATH_MAX_SMTP + 1];
	char domain[DOMAIN_MAX + 3];	/* remote: lower case, or [literal] */
	char maildir[1200];		/* local */
	char owner[PATH_MAX_SMTP + 1];	/* list: "owner-NAME@domain" */
	char reason[200];		/* fail: "5.x.y text" */
};

typedef int (*dest_fn)(void *ctx, const struct dest *d);

int route_mailbox(const struct config *c, const char *login, char *out,
    size_t outsize);
int route_is_lmtp(const struct config *c, const char *domain);
int route_expand(const struct config *c, const char *rcpt, dest_fn fn,
    void *ctx);
int route_list_members(const struct config *c, const char *list,
    int (*fn)(void *ctx, const char *member), void *ctx);
#endif
