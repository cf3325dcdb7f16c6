/*
 * list.c - sorted string sets.  Lookups are O(log n), so a list of a
 * hundred thousand domains costs a session about seventeen compares.
 */
#include "list.h"

#include <stdlib.h>
#include <string.h>

int
list_add(struct list *l, const char *s)
{
	char *copy;

	if (l->count == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;
		char **n = realloc(l->items, ncap * sizeof *n);
		if (n == NULL)
			return -1;
		l->items = n;
		l->cap = ncap;
	}
	copy = strdup(s);
	if (copy == NULL)
		return -1;
	l->items[l->count++] = copy;
	return 0;
}

static int
compare_items(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
list_sort(struct list *l)
{
	if (l->count > 1)
		qsort(l->items, l->count, sizeof *l->items, compare_items);
}

int
list_has(const struct list *l, const char *s)
{
	size_t lo = 0, hi = l->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s, l->items[mid]);
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

void
list_free(struct list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = l->cap = 0;
}
