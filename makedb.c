/*
 * makedb.c - compiles the list files of the configuration directory
 * into FILE.db, so that smtpd answers from a hash table mapped in one
 * system call instead of parsing a long text file per connection.
 * A FILE.db is used only while FILE is exactly as it was compiled;
 * after an edit smtpd reads the text again until makedb is rerun.
 * With -c it compiles nothing and checks the whole directory instead,
 * as postfix check does: every line the programs would ignore.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "tables.h"
#include "util.h"

static void NORETURN
usage(void)
{
	fprintf(stderr, "usage: postern-makedb [-chV] [-C confdir] [file ...]\n");
	exit(2);
}

static int
find_table(const char *name, enum table_id *id)
{
	for (int i = 0; i < TABLE_COUNT; i++)
		if (strcmp(name, table_name((enum table_id)i)) == 0) {
			*id = (enum table_id)i;
			return 0;
		}
	return -1;
}

static int
compile_one(enum table_id id, const char *dir, int named)
{
	char err[512];
	int present;

	if (table_compile(id, dir, &present, err, sizeof err) < 0) {
		config_report_warnings();
		fprintf(stderr, "postern-makedb: %s\n", err);
		return -1;
	}
	config_report_warnings();
	if (!present && named) {
		fprintf(stderr, "postern-makedb: %s/%s: no such file\n", dir,
		    table_name(id));
		return -1;
	}
	if (present)
		printf("%s/%s.db\n", dir, table_name(id));
	return 0;
}

/*
 * -c: reads smtpd.conf and every list as smtpd, deliver and pop3d do,
 * and reports each line they would ignore (and stale compiled images);
 * 0 when there is none.
 */
static int
check(const char *dir)
{
	struct config cfg;
	char err[512];
	unsigned long n;

	if (config_load(&cfg, dir, TABLES_ALL, err, sizeof err) < 0) {
		config_report_warnings();
		fprintf(stderr, "postern-makedb: %s\n", err);
		return 1;
	}
	n = config_report_warnings();
	config_free(&cfg);
	if (n > 0) {
		printf("%s: %lu warning%s\n", dir, n, n == 1 ? "" : "s");
		return 1;
	}
	printf("%s: no warnings\n", dir);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = config_conf_dir();
	enum table_id id;
	int opt, failed = 0, checking = 0;

	version_option(argc, argv, "postern-makedb");

	while ((opt = getopt(argc, argv, "C:ch")) != -1) {
		if (opt == 'C')
			dir = optarg;
		else if (opt == 'c')
			checking = 1;
		else
			usage();
	}
	umask(022);
	log_init("postern-makedb");
	log_to_stderr(1);
	if (checking && optind != argc)
		usage();
	if (checking)
		return check(dir);
	if (optind == argc) {
		for (int i = 0; i < TABLE_COUNT; i++)
			failed |= compile_one((enum table_id)i, dir, 0) < 0;
		return failed;
	}
	for (int i = optind; i < argc; i++) {
		if (find_table(argv[i], &id) < 0) {
			fprintf(stderr, "postern-makedb: %s: not a list file\n", argv[i]);
			failed = 1;
			continue;
		}
		failed |= compile_one(id, dir, 1) < 0;
	}
	return failed;
}
