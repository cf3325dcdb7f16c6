/*
 * list.h - a set of strings read from a flat configuration file, kept
 * sorted for binary search.
 */
#ifndef POSTERN_LIST_H
#define POSTERN_LIST_H

#include <stddef.h>

struct list {
	char **items;
	size_t count;
	size_t cap;
};

int list_add(struct list *l, const char *s);
void list_sort(struct list *l);
int list_has(const struct list *l, const char *s);
void list_free(struct list *l);

#endif
