/*
 * fsorder.h - whether a file system commits a new directory entry and
 * the data of the file it names in one ordered journal, so that one
 * fsync of the file makes both durable (queue(5): queuesync ordered).
 */
#ifndef POSTERN_FSORDER_H
#define POSTERN_FSORDER_H

#include <stddef.h>

int fs_orders_links(int dirfd, char *why, size_t whylen);

#endif
