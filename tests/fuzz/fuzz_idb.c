/*
 * fuzz_idb.c — libFuzzer harness for opening the incident log: the bytes
 * are an incidents.db file as a crash, a bad disk or another program may
 * have left it (seeds: a fresh database and an old-version one).  Every
 * input must be either refused with a message or opened, migrated and
 * read, without a crash, a leak or a sanitizer report.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include config.h \
 *       -Iinclude -Isrc tests/fuzz/fuzz_idb.c src/idb.c src/log.c \
 *       src/util.c src/stats.c -lsqlite3 -levent -lm
 *   ./a.out -max_len=131072 tests/fuzz/corpus/idb
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "incident/idb.h"
#include "core/log.h"

static char path[256];
static struct event_base *base;

static void
remove_db(void)
{
	char p[300];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sqlite3_stmt *st;
	FILE *fp;

	if (base == NULL) {
		log_init(true, 0);	/* quiet: errors only */
		base = event_base_new();
		snprintf(path, sizeof(path), "/tmp/fuzz-idb-%d.db",
		    (int)getpid());
	}
	remove_db();
	if ((fp = fopen(path, "wb")) == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	if (idb_open(base, path) == 0) {
		/* what start-up reads, the way incident.c reads it */
		st = idb_query("SELECT id, title, status, impact, urgency, "
		    "priority, root_cause, grp, flapping, opened_at FROM "
		    "incidents WHERE status != 'closed' ORDER BY id", "");
		while (st != NULL && sqlite3_step(st) == SQLITE_ROW)
			(void)sqlite3_column_text(st, 1);
		st = idb_query("SELECT name, type, state FROM check_state", "");
		while (st != NULL && sqlite3_step(st) == SQLITE_ROW)
			(void)sqlite3_column_text(st, 0);
		idb_write("INSERT INTO events (at, check_name, old_state, "
		    "new_state) VALUES (1, 'x', 'OK', 'CRITICAL')", "");
		idb_close();
	}
	remove_db();
	return 0;
}
