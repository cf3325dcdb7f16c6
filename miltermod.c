/*
 * miltermod.c - a filter's modification replies.
 *
 * Each is allowed only when the filter asked for that action at the
 * negotiation and smtpd offered it; its strings must be NUL-terminated
 * inside the packet.  A reply that breaks either rule is a protocol
 * error (MOD_BAD: the filter is given up); one that cannot be applied
 * (a field name that is no name, an address that is no path, no room)
 * is MOD_FAILED, which smtpd answers with a temporary failure.
 */
#include "miltermod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milterwire.h"
#include "util.h"

/* The n-th (0 first) NUL-terminated string of data, or NULL. */
static const char *
string_at(const char *data, size_t len, int nth)
{
	size_t off = 0;

	for (int i = 0; ; i++) {
		size_t n;
		if (off >= len || (n = strnlen(data + off, len - off)) ==
		    len - off)
			return NULL;
		if (i == nth)
			return data + off;
		off += n + 1;
	}
}

static int
result(int r)
{
	return r < 0 ? MOD_FAILED : MOD_DONE;
}

/* A header value as smtpd writes it: with its leading space. */
static int
field_op(char cmd, const char *data, size_t len, struct milter_mod_state *st,
    const struct milter_edit_ops *ops)
{
	const char *name, *value;
	unsigned long index = MILTERMOD_APPEND;
	char *spaced;
	int r;

	if (cmd != 'h') {
		if (len < 4)
			return MOD_BAD;
		index = milter_get_u32(data);
		data += 4;
		len -= 4;
	}
	if ((name = string_at(data, len, 0)) == NULL ||
	    (value = string_at(data, len, 1)) == NULL)
		return MOD_BAD;
	if (cmd == 'm' && value[0] == '\0')
		return result(ops->change_field(ops->ctx, name,
		    (unsigned)index, ""));
	if ((spaced = malloc(strlen(value) + 2)) == NULL)
		return MOD_FAILED;
	sprintf(spaced, "%s%s", st->leadspc ? "" : " ", value);
	if (cmd == 'm')
		r = ops->change_field(ops->ctx, name, (unsigned)index, spaced);
	else
		r = ops->insert_field(ops->ctx, cmd == 'h' ? MILTERMOD_APPEND :
		    (size_t)index, name, spaced);
	free(spaced);
	return result(r);
}

static int
envelope_op(char cmd, const char *data, size_t len,
    const struct milter_edit_ops *ops)
{
	const char *addr = string_at(data, len, 0), *args;

	if (addr == NULL)
		return MOD_BAD;
	args = string_at(data, len, 1);
	switch (cmd) {
	case '+':
		return result(ops->add_rcpt(ops->ctx, addr, ""));
	case '2':
		return result(ops->add_rcpt(ops->ctx, addr, args ? args : ""));
	case '-':
		return result(ops->del_rcpt(ops->ctx, addr));
	default:
		return result(ops->change_from(ops->ctx, addr, args ? args :
		    ""));
	}
}

/* The action each modification needs. */
static unsigned long
action_of(char cmd)
{
	switch (cmd) {
	case 'h':
	case 'i': return SMFIF_ADDHDRS;
	case 'm': return SMFIF_CHGHDRS;
	case 'b': return SMFIF_CHGBODY;
	case '+': return SMFIF_ADDRCPT;
	case '2': return SMFIF_ADDRCPT_PAR;
	case '-': return SMFIF_DELRCPT;
	case 'e': return SMFIF_CHGFROM;
	case 'q': return SMFIF_QUARANTINE;
	default: return 0;
	}
}

/*
 * One reply packet at the end of a message: MOD_NONE when it is no
 * modification (a verdict), else what became of it.
 */
int
milter_apply_mod(char cmd, const char *data, size_t len,
    struct milter_mod_state *st, const struct milter_edit_ops *ops)
{
	unsigned long action = action_of(cmd);
	const char *reason;

	if (action == 0)
		return MOD_NONE;
	if (!(st->actions & action))
		return MOD_BAD;
	switch (cmd) {
	case 'b':
		if (!st->body_started) {
			st->body_started = 1;
			if (ops->body_begin(ops->ctx) < 0)
				return MOD_FAILED;
		}
		return result(ops->body(ops->ctx, data, len));
	case 'q':
		if ((reason = string_at(data, len, 0)) == NULL)
			return MOD_BAD;
		st->quarantine = 1;
		str_copy(st->reason, reason, sizeof st->reason);
		return MOD_DONE;
	case 'h':
	case 'i':
	case 'm':
		return field_op(cmd, data, len, st, ops);
	default:
		return envelope_op(cmd, data, len, ops);
	}
}
