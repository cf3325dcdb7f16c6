/*
 * mailbox.h - one Maildir as a POP3 maildrop: locked for the session,
 * new/ moved into cur/ when it opens, messages numbered in delivery
 * order, deletions carried out only by mailbox_update.
 */
#ifndef POSTERN_MAILBOX_H
#define POSTERN_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#define MAILBOX_MAX_MESSAGES 100000	/* more wait for the next session */
#define UIDL_MAX 70			/* RFC 1939 */

/* 16 bytes a message, and its name: memory follows the count of
 * messages, never their size. */
struct mailbox_msg {
	unsigned long long size;	/* octets on the wire */
	uint32_t name;			/* offset into names: the cur/ file */
	uint32_t deleted;
};

struct mailbox {
	int dirfd;		/* the Maildir */
	int curfd;		/* its cur/ */
	int lockfd;
	struct mailbox_msg *msgs;
	size_t count;
	size_t cap;
	char *names;
	size_t names_len;
	size_t names_cap;
	int truncated;		/* more than MAILBOX_MAX_MESSAGES */
};

enum mailbox_result {
	MAILBOX_OK,
	MAILBOX_LOCKED,		/* another session has it */
	MAILBOX_ERROR
};

enum mailbox_result mailbox_open(struct mailbox *mb, const char *maildir,
    char *err, size_t errlen);
int mailbox_open_message(const struct mailbox *mb, size_t i);
void mailbox_uidl(const struct mailbox *mb, size_t i, char *out,
    size_t outsize);
size_t mailbox_update(struct mailbox *mb);
void mailbox_close(struct mailbox *mb);

#endif
