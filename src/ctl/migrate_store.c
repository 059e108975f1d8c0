/*
 * migrate_store.c — `tocsinctl migrate-store --to CONNINFO [--from FILE]`:
 * copy an incident log from SQLite (incidents.db) into PostgreSQL.
 *
 * A command-line tool, so plain blocking libpq (PQexec) is right here;
 * tocsind itself never blocks its loop on the database.  The target's
 * schema is created or migrated forward first (pg_schema.c; a database
 * newer than this binary is refused), then every table is copied in one
 * PostgreSQL transaction from one SQLite read transaction (a consistent
 * snapshot, even while tocsind writes), ids unchanged.  A target that
 * already holds rows is refused: the copy is never merged into a log.
 * The source must be at incidents.db schema version PG_SCHEMA_FROM_SQLITE
 * (start the tocsind of this version on it once to migrate it).
 *
 * Exit status: 0 copied, 1 an error (nothing committed), 2 usage.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "ctl/migrate_store.h"
#include "incident/pg_schema.h"

struct mig {
	sqlite3 *db;
	PGconn *pg;
};

static void
mig_close(struct mig *m)
{
	if (m->db != NULL)
		sqlite3_close(m->db);
	if (m->pg != NULL)
		PQfinish(m->pg);
	m->db = NULL;
	m->pg = NULL;
}

/* Run sql (no parameters); false after printing why. */
static bool
pg_run(struct mig *m, const char *sql, const char *what)
{
	PGresult *r = PQexec(m->pg, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "tocsinctl: migrate-store: %s: %s", what,
		    PQresultErrorMessage(r));
	PQclear(r);
	return ok;
}

/* The target's schema version (creating tocsin_schema), or -1. */
static int
pg_version(struct mig *m)
{
	PGresult *r;
	int v = -1;

	if (!pg_run(m, "CREATE TABLE IF NOT EXISTS tocsin_schema ("
	    "  one INT PRIMARY KEY DEFAULT 1 CHECK (one = 1),"
	    "  version INT NOT NULL);"
	    "INSERT INTO tocsin_schema (version) VALUES (0) "
	    "  ON CONFLICT DO NOTHING", "creating tocsin_schema"))
		return -1;
	r = PQexec(m->pg, "SELECT version FROM tocsin_schema FOR UPDATE");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoi(PQgetvalue(r, 0, 0));
	else
		fprintf(stderr, "tocsinctl: migrate-store: reading the schema "
		    "version: %s", PQresultErrorMessage(r));
	PQclear(r);
	return v;
}

/* Bring the target to pg_schema_version; false after printing why. */
static bool
pg_migrate(struct mig *m)
{
	char sql[96];
	int v;

	for (;;) {
		if (!pg_run(m, "BEGIN", "BEGIN"))
			return false;
		if ((v = pg_version(m)) < 0)
			goto fail;
		if (v > pg_schema_version) {
			fprintf(stderr, "tocsinctl: migrate-store: the database "
			    "is at schema version %d, newer than this "
			    "tocsinctl's %d: refused\n", v, pg_schema_version);
			goto fail;
		}
		if (v == pg_schema_version)
			return pg_run(m, "COMMIT", "COMMIT");
		snprintf(sql, sizeof(sql), "UPDATE tocsin_schema SET "
		    "version = %d", v + 1);
		if (!pg_run(m, pg_migrations[v], "migrating the schema") ||
		    !pg_run(m, sql, "migrating the schema") ||
		    !pg_run(m, "COMMIT", "COMMIT"))
			goto fail;
		printf("schema migrated to version %d\n", v + 1);
	}
fail:
	pg_run(m, "ROLLBACK", "ROLLBACK");
	return false;
}

/* Copy table t; *rows: how many.  False after printing why. */
static bool
copy_table(struct mig *m, const char *t, long *rows)
{
	char sql[256], *ins = NULL, **vals = NULL;
	size_t len = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	PGresult *r;
	bool ok = false;
	int n, i, rc;

	*rows = 0;
	snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY rowid", t);
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "tocsinctl: migrate-store: reading %s: %s\n",
		    t, sqlite3_errmsg(m->db));
		return false;
	}
	n = sqlite3_column_count(st);
	cap = 64 + (size_t)n * 48;
	if ((ins = malloc(cap)) == NULL ||
	    (vals = calloc((size_t)n + 1, sizeof(*vals))) == NULL)
		goto out;
	len = (size_t)snprintf(ins, cap, "INSERT INTO \"%s\" (", t);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(ins + len, cap - len, "%s\"%.40s\"",
		    i ? ", " : "", sqlite3_column_name(st, i));
	len += (size_t)snprintf(ins + len, cap - len, ") VALUES (");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(ins + len, cap - len, "%s$%d",
		    i ? ", " : "", i + 1);
	snprintf(ins + len, cap - len, ")");
	r = PQprepare(m->pg, "", ins, n, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "tocsinctl: migrate-store: %s: %s", t,
		    PQresultErrorMessage(r));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			vals[i] = sqlite3_column_type(st, i) == SQLITE_NULL ?
			    NULL : (char *)sqlite3_column_text(st, i);
		r = PQexecPrepared(m->pg, "", n, (const char *const *)vals,
		    NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "tocsinctl: migrate-store: %s row "
			    "%ld: %s", t, *rows + 1, PQresultErrorMessage(r));
			PQclear(r);
			goto out;
		}
		PQclear(r);
		(*rows)++;
	}
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "tocsinctl: migrate-store: reading %s: %s\n",
		    t, sqlite3_errmsg(m->db));
		goto out;
	}
	ok = true;
out:
	sqlite3_finalize(st);
	free(ins);
	free(vals);
	return ok;
}

/* Does any of the target's tables hold a row?  1 yes, 0 no, -1 error. */
static int
pg_has_rows(struct mig *m)
{
	char sql[128];
	PGresult *r;
	int i, has = 0;

	for (i = 0; pg_tables[i] != NULL && has == 0; i++) {
		snprintf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" LIMIT 1",
		    pg_tables[i]);
		r = PQexec(m->pg, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			fprintf(stderr, "tocsinctl: migrate-store: %s: %s",
			    pg_tables[i], PQresultErrorMessage(r));
			has = -1;
		} else if (PQntuples(r) > 0) {
			fprintf(stderr, "tocsinctl: migrate-store: the "
			    "database's %s already has rows: refused (copy "
			    "into an empty database)\n", pg_tables[i]);
			has = 1;
		}
		PQclear(r);
	}
	return has;
}

static int
sqlite_version(struct mig *m)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(m->db, "PRAGMA user_version", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
usage_(void)
{
	fprintf(stderr, "usage: tocsinctl migrate-store --to CONNINFO "
	    "[--from FILE]\n");
	return 2;
}

int
ctl_migrate_store(int argc, char *argv[], const char *default_from)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct mig m = { NULL, NULL };
	const char *to = NULL, *from = default_from;
	long rows, total = 0;
	int ch, v, i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 't')
			to = optarg;
		else if (ch == 'f')
			from = optarg;
		else
			return usage_();
	}
	if (to == NULL || optind != argc)
		return usage_();
	if (sqlite3_open_v2(from, &m.db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "tocsinctl: migrate-store: %s: %s\n", from,
		    sqlite3_errmsg(m.db));
		goto fail;
	}
	sqlite3_busy_timeout(m.db, 5000);
	if ((v = sqlite_version(&m)) != PG_SCHEMA_FROM_SQLITE) {
		fprintf(stderr, "tocsinctl: migrate-store: %s: schema version "
		    "%d, this tocsinctl copies version %d only (start the "
		    "tocsind of this version on it once first)\n", from, v,
		    PG_SCHEMA_FROM_SQLITE);
		goto fail;
	}
	m.pg = PQconnectdb(to);
	if (PQstatus(m.pg) != CONNECTION_OK) {
		fprintf(stderr, "tocsinctl: migrate-store: %s",
		    PQerrorMessage(m.pg));
		goto fail;
	}
	if (!pg_run(&m, "SET client_min_messages = warning", "SET") ||
	    !pg_migrate(&m))
		goto fail;
	if (sqlite3_exec(m.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    !pg_run(&m, "BEGIN", "BEGIN"))
		goto fail;
	if (pg_has_rows(&m) != 0)
		goto fail;
	for (i = 0; pg_tables[i] != NULL; i++) {
		if (!copy_table(&m, pg_tables[i], &rows))
			goto fail;
		printf("%-18s %ld rows\n", pg_tables[i], rows);
		total += rows;
	}
	if (!pg_run(&m, "COMMIT", "COMMIT"))
		goto fail;
	printf("copied %ld rows from %s\n", total, from);
	mig_close(&m);
	return 0;
fail:
	mig_close(&m);	/* an open transaction rolls back with the session */
	return 1;
}
