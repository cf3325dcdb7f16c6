/*
 * db.h - constant hash tables of string keys and values, held in one
 * byte image: built in memory from a text file, or mapped from the
 * FILE.db that makedb(8) compiled, with the same lookup code for both.
 */
#ifndef POSTERN_DB_H
#define POSTERN_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct db {
	unsigned char *image;
	size_t size;
	int mapped;	/* 0 malloc'd, 1 mmap'd, 2 borrowed */
};

struct db_entry {
	char *key;
	char *value;
	size_t keylen;
	unsigned line;
};

struct db_builder {
	struct db_entry *entries;
	size_t count;
	size_t cap;
};

/* Called for each key seen twice: the first one wins. */
typedef void (*db_dup_fn)(void *ctx, unsigned line);

int db_builder_add(struct db_builder *b, const char *key, size_t keylen,
    const char *value, unsigned line);
int db_build(struct db_builder *b, const struct stat *source, struct db *out,
    db_dup_fn dup, void *ctx);
void db_builder_free(struct db_builder *b);

int db_map(struct db *d, int fd, const struct stat *source);
int db_use_image(struct db *d, unsigned char *image, size_t size);
const char *db_get(const struct db *d, const char *key, size_t keylen);
const char *db_any_value(const struct db *d);
size_t db_count(const struct db *d);
int db_write(const struct db *d, int dirfd, const char *name);
void db_close(struct db *d);

#endif
