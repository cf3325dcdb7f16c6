/*
 * envedit.c - content filters' changes to an envelope being built.
 *
 * The envelope is "F sender NUL [P params NUL]" then "T rcpt NUL [P
 * params NUL]" per recipient (envelope.h), without its closing NUL yet.
 * Every address a filter gives is parsed as an SMTP path first, so what
 * goes into the queue is what a client could have said.
 */
#include "envedit.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "dsn.h"

/* A filter's address as a path: 0 and *p, or -1. */
static int
parse(const char *addr, struct mailpath *p, int allow_null)
{
	char path[PATH_MAX_SMTP + 3];
	const char *rest;
	size_t n = strlen(addr);

	if (n > PATH_MAX_SMTP)
		return -1;
	if (addr[0] == '<')
		str_copy(path, addr, sizeof path);
	else
		snprintf(path, sizeof path, "<%s>", addr);
	return path_parse(path, p, &rest, allow_null, 1) == PATH_OK &&
	    *rest == '\0' ? 0 : -1;
}

/* The length of the item at off: its kind, its text and its NUL. */
static size_t
item_len(const struct buf *env, size_t off)
{
	return 1 + strnlen(env->data + off + 1, env->len - off - 1) + 1;
}

/* Adds a recipient; DSN parameters (NOTIFY, ORCPT) are kept, others not. */
int
envedit_add_rcpt(struct buf *env, const char *addr, const char *params)
{
	char text[4096], *tok, *save = NULL;
	struct mailpath p;
	struct dsn_rcpt dsn;

	if (parse(addr, &p, 0) < 0 || p.is_null)
		return -1;
	memset(&dsn, 0, sizeof dsn);
	str_copy(text, params != NULL ? params : "", sizeof text);
	for (tok = strtok_r(text, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		char *value = strchr(tok, '=');
		if (value != NULL)
			*value++ = '\0';
		(void)dsn_rcpt_param(&dsn, tok, value);
	}
	dsn_rcpt_format(&dsn, text, sizeof text);
	if (buf_append(env, "T", 1) < 0 ||
	    buf_append(env, p.addr, strlen(p.addr) + 1) < 0)
		return -1;
	if (text[0] != '\0' && (buf_append(env, "P", 1) < 0 ||
	    buf_append(env, text, strlen(text) + 1) < 0))
		return -1;
	return 0;
}

/* Deletes every recipient equal to addr (any case), with its P item. */
int
envedit_del_rcpt(struct buf *env, const char *addr)
{
	struct mailpath p;
	size_t off = 0;

	if (parse(addr, &p, 0) < 0)
		return -1;
	while (off < env->len) {
		size_t n = item_len(env, off);

		if (env->data[off] == 'T' &&
		    strcasecmp(env->data + off + 1, p.addr) == 0) {
			if (off + n < env->len && env->data[off + n] == 'P')
				n += item_len(env, off + n);
			memmove(env->data + off, env->data + off + n,
			    env->len - off - n);
			env->len -= n;
			continue;
		}
		off += n;
	}
	return 0;
}

/* The sender becomes addr ("<>" allowed); its P item stays. */
int
envedit_set_sender(struct buf *env, const char *addr)
{
	struct mailpath p;
	size_t old, n;

	if (parse(addr, &p, 1) < 0 || env->len == 0 || env->data[0] != 'F')
		return -1;
	old = item_len(env, 0) - 2;
	n = strlen(p.addr);
	if (n > old && buf_append(env, p.addr, n - old) < 0)	/* room */
		return -1;
	if (n > old)
		env->len -= n - old;
	memmove(env->data + 1 + n, env->data + 1 + old, env->len - 1 - old);
	memcpy(env->data + 1, p.addr, n);
	env->len = env->len - old + n;
	return 0;
}

unsigned
envedit_count_rcpts(const struct buf *env)
{
	unsigned count = 0;

	for (size_t off = 0; off < env->len; off += item_len(env, off))
		count += env->data[off] == 'T';
	return count;
}
