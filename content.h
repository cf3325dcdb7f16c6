/*
 * content.h - a message as content filters see it while it streams in
 * (its header fields one by one, then its body) and the changes they
 * make at its end, written after it in the same queue file.
 */
#ifndef POSTERN_CONTENT_H
#define POSTERN_CONTENT_H

#include <stddef.h>

#include "sink.h"

struct session;

#define CONTENT_APPEND ((size_t)-1)	/* an index past every field */

int content_begin(struct session *s);
void content_feed(struct session *s, const char *p, size_t n);
void content_end(struct session *s);
void content_free(struct session *s);

int content_insert_field(struct session *s, size_t index, const char *name,
    const char *value);
int content_change_field(struct session *s, const char *name, unsigned nth,
    const char *value);
int content_body_begin(struct session *s);
int content_body(struct session *s, const char *p, size_t n);
int content_changed(const struct session *s);
int content_changes_end(struct session *s);
enum commit_result content_commit(struct session *s, const char *env,
    size_t envlen);

#endif
