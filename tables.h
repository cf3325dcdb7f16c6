/*
 * tables.h - the list files of the configuration directory (domains,
 * clients, senders, users, ...): their line formats, and loading each one
 * from its compiled FILE.db when that is current, else from the text.
 */
#ifndef POSTERN_TABLES_H
#define POSTERN_TABLES_H

#include "db.h"

enum table_id {
	TABLE_DOMAINS,
	TABLE_RELAYDOMAINS,
	TABLE_CLIENTS,
	TABLE_SENDERS,
	TABLE_RECIPIENTS,
	TABLE_USERS,
	TABLE_ALIASES,
	TABLE_ROUTES,
	TABLE_PASSWD,
	TABLE_POP3SECRETS,
	TABLE_COUNT
};

#define TABLE_BIT(id) (1u << (id))
#define TABLES_ALL ((1u << TABLE_COUNT) - 1)

struct table {
	struct db db;
	int present;		/* the text file exists */
};

const char *table_name(enum table_id id);
int table_load(struct table *t, enum table_id id, const char *dir,
    char *err, size_t errlen);
int table_compile(enum table_id id, const char *dir, int *present,
    char *err, size_t errlen);
const char *table_get(const struct table *t, const char *key);
const char *table_any(const struct table *t);
void table_free(struct table *t);

#endif
