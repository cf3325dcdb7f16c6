/*
 * miltermod.h - a filter's changes at the end of a message (the
 * milter protocol's modification replies), checked and handed to the
 * one who applies them.
 */
#ifndef POSTERN_MILTERMOD_H
#define POSTERN_MILTERMOD_H

#include <stddef.h>

/* the actions smtpd may offer (SMFIF_*) */
#define SMFIF_ADDHDRS 0x1UL
#define SMFIF_CHGBODY 0x2UL
#define SMFIF_ADDRCPT 0x4UL
#define SMFIF_DELRCPT 0x8UL
#define SMFIF_CHGHDRS 0x10UL
#define SMFIF_QUARANTINE 0x20UL
#define SMFIF_CHGFROM 0x40UL
#define SMFIF_ADDRCPT_PAR 0x80UL
/* the envelope's: possible whatever the sink */
#define SMFIF_ENVELOPE (SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_QUARANTINE | \
	SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR)
#define SMFIF_CONTENT (SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_CHGHDRS)

#define MILTERMOD_APPEND ((size_t)-1)

struct milter_edit_ops {
	int (*insert_field)(void *ctx, size_t index, const char *name,
	    const char *value);
	/* an empty value deletes the field */
	int (*change_field)(void *ctx, const char *name, unsigned nth,
	    const char *value);
	int (*body_begin)(void *ctx);
	int (*body)(void *ctx, const char *p, size_t n);
	int (*add_rcpt)(void *ctx, const char *rcpt, const char *args);
	int (*del_rcpt)(void *ctx, const char *rcpt);
	int (*change_from)(void *ctx, const char *from, const char *args);
	void *ctx;
};

/* What one filter has done in this end of message. */
struct milter_mod_state {
	unsigned long actions;	/* SMFIF_ negotiated with the filter */
	int leadspc;		/* its header values carry their own space */
	int body_started;
	int quarantine;
	char reason[200];	/* quarantine's */
};

enum milter_mod_result { MOD_NONE, MOD_DONE, MOD_BAD, MOD_FAILED };

int milter_apply_mod(char cmd, const char *data, size_t len,
    struct milter_mod_state *st, const struct milter_edit_ops *ops);

#endif
