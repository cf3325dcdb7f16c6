/*
 * envelope.c - reads a queue envelope item by item, for enqueue (which
 * checks one a local user wrote), deliver and postern-queue.  The first
 * item must be the sender, each P follows an F or a T, and nothing may
 * follow the closing NUL.
 */
#include "envelope.h"

#include <string.h>

void
env_reader_init(struct env_reader *r, const char *data, size_t len)
{
	r->p = data;
	r->end = data + len;
	r->started = 0;
}

/* The NUL-terminated field at r->p, of kind; NULL when cut short. */
static const char *
field(struct env_reader *r, size_t *len)
{
	const char *z = memchr(r->p, '\0', (size_t)(r->end - r->p));

	if (z == NULL)
		return NULL;
	*len = (size_t)(z - r->p);
	r->p = z + 1;
	return z - *len;
}

enum env_result
env_next(struct env_reader *r, struct env_item *item)
{
	const char *f;
	size_t len;

	if (r->p >= r->end)
		return ENV_CUT;
	if (*r->p == '\0' && r->started)
		return r->p + 1 == r->end ? ENV_END : ENV_BAD;
	if (*r->p != (r->started ? 'T' : 'F'))
		return ENV_BAD;
	r->started = 1;
	if ((f = field(r, &len)) == NULL)
		return ENV_CUT;
	item->kind = f[0];
	item->addr = f + 1;
	item->addr_len = len - 1;
	item->params = "";
	if (r->p < r->end && *r->p == 'P') {
		if ((f = field(r, &len)) == NULL)
			return ENV_CUT;
		if (len < 2)
			return ENV_BAD;
		item->params = f + 1;
	}
	return ENV_ITEM;
}
