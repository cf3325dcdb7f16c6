/*
 * db.c - the table image.
 *
 * Layout, host byte order (the file is compiled on the host that uses
 * it):
 *
 *	"PSTDB01\n"		8 octets of magic
 *	u32 nslots		a power of two, at least twice the records
 *	u32 nrecords
 *	u64 source mtime (s), u32 source mtime (ns), u64 source size
 *	nslots x { u32 hash, u32 offset }	offset 0: an empty slot
 *	records: u32 keylen, u32 vallen, key, value, NUL
 *
 * A mapped image is checked before use and every offset and length is
 * checked again at each lookup, so a damaged file can give wrong answers
 * about its own entries but can never make the reader step outside it.
 * The source fields record the text file the image was built from: a
 * reader uses the image only while the text file is unchanged.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util.h"

#define MAGIC "PSTDB01\n"
#define HEADER_SIZE 36
#define SLOT_SIZE 8
#define IMAGE_MAX 0xffffffffUL

static uint32_t
hash_key(const char *key, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static void
put32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, sizeof v);
}

static void
put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, sizeof v);
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

int
db_builder_add(struct db_builder *b, const char *key, size_t keylen,
    const char *value, unsigned line)
{
	struct db_entry *e;

	if (b->count == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		struct db_entry *n = realloc(b->entries, ncap * sizeof *n);
		if (n == NULL)
			return -1;
		b->entries = n;
		b->cap = ncap;
	}
	e = &b->entries[b->count];
	e->key = malloc(keylen + 1);
	e->value = strdup(value);
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		return -1;
	}
	memcpy(e->key, key, keylen);
	e->key[keylen] = '\0';
	e->keylen = keylen;
	e->line = line;
	b->count++;
	return 0;
}

void
db_builder_free(struct db_builder *b)
{
	for (size_t i = 0; i < b->count; i++) {
		free(b->entries[i].key);
		free(b->entries[i].value);
	}
	free(b->entries);
	memset(b, 0, sizeof *b);
}

static void
stamp_source(unsigned char *img, const struct stat *source)
{
	put64(img + 16, source ? (uint64_t)source->st_mtim.tv_sec : 0);
	put32(img + 24, source ? (uint32_t)source->st_mtim.tv_nsec : 0);
	put64(img + 28, source ? (uint64_t)source->st_size : 0);
}

/* Puts one record in its slot unless the key is already there. */
static int
insert(unsigned char *img, uint32_t nslots, size_t *end,
    const struct db_entry *e)
{
	size_t vlen = strlen(e->value);
	uint32_t h = hash_key(e->key, e->keylen), i = h & (nslots - 1);
	unsigned char *slot;

	for (;; i = (i + 1) & (nslots - 1)) {
		slot = img + HEADER_SIZE + (size_t)i * SLOT_SIZE;
		uint32_t off = get32(slot + 4);
		if (off == 0)
			break;
		if (get32(slot) == h && get32(img + off) == e->keylen &&
		    memcmp(img + off + 8, e->key, e->keylen) == 0)
			return 1;
	}
	put32(slot, h);
	put32(slot + 4, (uint32_t)*end);
	put32(img + *end, (uint32_t)e->keylen);
	put32(img + *end + 4, (uint32_t)vlen);
	memcpy(img + *end + 8, e->key, e->keylen);
	memcpy(img + *end + 8 + e->keylen, e->value, vlen + 1);
	*end += 8 + e->keylen + vlen + 1;
	return 0;
}

int
db_build(struct db_builder *b, const struct stat *source, struct db *out,
    db_dup_fn dup, void *ctx)
{
	uint32_t nslots = 16;
	size_t size, end;
	unsigned char *img;

	while (nslots < b->count * 2) {
		if (nslots > (1u << 28))
			return -1;
		nslots *= 2;
	}
	size = HEADER_SIZE + (size_t)nslots * SLOT_SIZE;
	for (size_t i = 0; i < b->count; i++)
		size += 8 + b->entries[i].keylen + strlen(b->entries[i].value) + 1;
	if (size > IMAGE_MAX)
		return -1;
	img = calloc(1, size);
	if (img == NULL)
		return -1;
	memcpy(img, MAGIC, 8);
	put32(img + 8, nslots);
	stamp_source(img, source);
	end = HEADER_SIZE + (size_t)nslots * SLOT_SIZE;
	uint32_t nrec = 0;
	for (size_t i = 0; i < b->count; i++) {
		if (insert(img, nslots, &end, &b->entries[i]) == 0)
			nrec++;
		else if (dup != NULL)
			dup(ctx, b->entries[i].line);
	}
	put32(img + 12, nrec);
	out->image = img;
	out->size = end;
	out->mapped = 0;
	return 0;
}

static int
valid_header(const unsigned char *img, size_t size)
{
	uint32_t nslots;

	if (size < HEADER_SIZE || memcmp(img, MAGIC, 8) != 0)
		return 0;
	nslots = get32(img + 8);
	if (nslots == 0 || (nslots & (nslots - 1)) != 0)
		return 0;
	return (size - HEADER_SIZE) / SLOT_SIZE >= nslots;
}

static int
same_source(const unsigned char *img, const struct stat *source)
{
	return get64(img + 16) == (uint64_t)source->st_mtim.tv_sec &&
	    get32(img + 24) == (uint32_t)source->st_mtim.tv_nsec &&
	    get64(img + 28) == (uint64_t)source->st_size;
}

/*
 * Maps a compiled file.  Returns 0 when it is sound and was built from
 * exactly the text file described by source, -1 otherwise (the caller
 * then reads the text).
 */
int
db_map(struct db *d, int fd, const struct stat *source)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0 || st.st_size < HEADER_SIZE ||
	    (uint64_t)st.st_size > IMAGE_MAX)
		return -1;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	if (!valid_header(p, (size_t)st.st_size) || !same_source(p, source)) {
		munmap(p, (size_t)st.st_size);
		return -1;
	}
	d->image = p;
	d->size = (size_t)st.st_size;
	d->mapped = 1;
	return 0;
}

/*
 * Takes an image already in memory (the fuzzer's way in): checked as a
 * mapped file is, but with no source to compare.  The caller keeps
 * ownership of the memory.
 */
int
db_use_image(struct db *d, unsigned char *image, size_t size)
{
	if (!valid_header(image, size))
		return -1;
	d->image = image;
	d->size = size;
	d->mapped = 2;
	return 0;
}

/*
 * The record at off, if it lies wholly inside the image: its key, the
 * key's length and its value (NUL-terminated).
 */
static int
record_at(const struct db *d, size_t off, const char **key, size_t *klen,
    const char **value)
{
	const unsigned char *img = d->image;
	size_t avail, vlen;

	if (off == 0 || off > d->size - 8)
		return -1;
	avail = d->size - off - 8;
	*klen = get32(img + off);
	vlen = get32(img + off + 4);
	/* klen + vlen + 1 must fit in what follows. */
	if (*klen > avail || vlen >= avail - *klen ||
	    img[off + 8 + *klen + vlen] != '\0')
		return -1;
	*key = (const char *)img + off + 8;
	*value = *key + *klen;
	return 0;
}

static size_t
slot_offset(const struct db *d, uint32_t i)
{
	return get32(d->image + HEADER_SIZE + (size_t)i * SLOT_SIZE + 4);
}

/* Returns the value (NUL-terminated) for key, or NULL. */
const char *
db_get(const struct db *d, const char *key, size_t keylen)
{
	const unsigned char *img = d->image;
	uint32_t nslots, h, i;

	if (img == NULL)
		return NULL;
	nslots = get32(img + 8);
	h = hash_key(key, keylen);
	i = h & (nslots - 1);
	for (uint32_t probe = 0; probe < nslots; probe++) {
		size_t off = slot_offset(d, i), klen;
		const char *k, *v;

		if (off == 0)
			return NULL;
		if (get32(img + HEADER_SIZE + (size_t)i * SLOT_SIZE) == h &&
		    record_at(d, off, &k, &klen, &v) == 0 && klen == keylen &&
		    memcmp(k, key, keylen) == 0)
			return v;
		i = (i + 1) & (nslots - 1);
	}
	return NULL;
}

/* The value of some entry, or NULL when there is none. */
const char *
db_any_value(const struct db *d)
{
	uint32_t nslots;

	if (d->image == NULL)
		return NULL;
	nslots = get32(d->image + 8);
	for (uint32_t i = 0; i < nslots; i++) {
		const char *k, *v;
		size_t klen;
		if (record_at(d, slot_offset(d, i), &k, &klen, &v) == 0)
			return v;
	}
	return NULL;
}

size_t
db_count(const struct db *d)
{
	return d->image ? get32(d->image + 12) : 0;
}

/* Writes the image to dirfd/name through a temporary file and rename. */
int
db_write(const struct db *d, int dirfd, const char *name)
{
	char tmp[300];
	int fd;

	snprintf(tmp, sizeof tmp, ".%s.%ld.tmp", name, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	if (write_all(fd, d->image, d->size) < 0 || fsync(fd) < 0) {
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

void
db_close(struct db *d)
{
	if (d->image != NULL) {
		if (d->mapped == 1)
			munmap(d->image, d->size);
		else if (d->mapped == 0)
			free(d->image);
	}
	memset(d, 0, sizeof *d);
}
