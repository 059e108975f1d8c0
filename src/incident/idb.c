/*
 * idb.c — the incident database: state_dir/incidents.db on SQLite.
 *
 * Owns the one connection, the schema and its migrations, the cache of
 * prepared statements and the write transaction of a loop iteration.
 *
 * Durability: WAL with synchronous=NORMAL.  A commit is in the WAL file
 * when COMMIT returns, so a killed process (kill -9, a crash) loses
 * nothing committed; only a power loss can lose the last transactions
 * (FULL would fsync each commit: ~1–10 ms each on a disk, which the loop
 * cannot afford at storm rates).  Writes are batched: the first write of
 * a loop iteration opens a transaction and arms a zero-delay timer that
 * commits it on the next iteration, so a storm of changes costs one
 * commit per iteration, not one per row.  Anything shown to an API client
 * is committed first (idb_commit() from the API's pre-request hook), so
 * what a client has seen survives a kill -9.
 *
 * Schema versions live in PRAGMA user_version; idb_migrations[i] takes a
 * database from version i to i + 1, each in its own transaction.  A
 * database newer than this binary is refused rather than guessed at.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "incident/idb.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/util.h"

static const char *const idb_migrations[] = {
	/* 0 → 1 */
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY,"
	"  title TEXT NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN "
	"    ('open','acknowledged','resolved','closed')),"
	"  impact TEXT NOT NULL, urgency TEXT NOT NULL,"
	"  priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 5),"
	"  root_cause TEXT NOT NULL, grp TEXT,"
	"  flapping INTEGER NOT NULL DEFAULT 0,"
	"  opened_at INTEGER NOT NULL, acknowledged_at INTEGER,"
	"  acknowledged_by TEXT, resolved_at INTEGER, closed_at INTEGER);"
	"CREATE INDEX incidents_status ON incidents (status, id);"
	"CREATE INDEX incidents_root ON incidents (root_cause, id);"
	"CREATE TABLE incident_checks ("
	"  incident_id INTEGER NOT NULL REFERENCES incidents (id),"
	"  check_name TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN "
	"    ('root_cause','member','unreachable')),"
	"  state TEXT NOT NULL, attached_at INTEGER NOT NULL,"
	"  detached INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (incident_id, check_name));"
	"CREATE TABLE timeline ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents (id),"
	"  at INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);"
	"CREATE INDEX timeline_incident ON timeline (incident_id, id);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL, check_name TEXT NOT NULL,"
	"  old_state TEXT NOT NULL, new_state TEXT NOT NULL,"
	"  flap TEXT, summary TEXT,"
	"  incident_id INTEGER REFERENCES incidents (id),"
	"  suppressed INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX events_check ON events (check_name, at);"
	"CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN"
	"  SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN"
	"  SELECT RAISE(ABORT, 'events are append-only'); END;"
	"CREATE TABLE check_state ("
	"  name TEXT PRIMARY KEY, type TEXT NOT NULL,"
	"  state INTEGER NOT NULL, hard INTEGER NOT NULL,"
	"  hard_state INTEGER NOT NULL, attempt INTEGER NOT NULL,"
	"  flapping INTEGER NOT NULL, last_change INTEGER,"
	"  last_hard_change INTEGER, summary TEXT,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE maintenance ("
	"  id INTEGER PRIMARY KEY,"
	"  checks TEXT, hosts TEXT, groups TEXT,"
	"  starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL,"
	"  comment TEXT, created_by TEXT, created_at INTEGER NOT NULL);",
	/*
	 * 1 → 2: the notifier (notify.c).  notify_outbox: every page due,
	 * written before it is sent (at-least-once; idem_key is unique per
	 * incident, event, step and recipient); notify_esc: where each
	 * incident's escalation stands.  Times in milliseconds (wall).
	 */
	"CREATE TABLE notify_outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents (id),"
	"  event TEXT NOT NULL, channel TEXT NOT NULL, contact TEXT,"
	"  address TEXT, idem_key TEXT NOT NULL UNIQUE,"
	"  status TEXT NOT NULL CHECK (status IN ('pending','sent','dead')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  sending INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL, created_at INTEGER NOT NULL,"
	"  sent_at INTEGER, last_error TEXT);"
	"CREATE INDEX notify_outbox_due ON notify_outbox (status, next_at);"
	"CREATE INDEX notify_outbox_incident ON notify_outbox (incident_id);"
	"CREATE TABLE notify_esc ("
	"  incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),"
	"  policy TEXT NOT NULL, epoch INTEGER NOT NULL,"
	"  step INTEGER NOT NULL, round INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL, next_at INTEGER NOT NULL,"
	"  active INTEGER NOT NULL);"
	"CREATE INDEX notify_esc_due ON notify_esc (active, next_at);",
};
#define IDB_VERSION \
	((int)(sizeof(idb_migrations) / sizeof(idb_migrations[0])))

/* Prepared statements, keyed by the address of their (static) SQL. */
struct idb_stmt {
	const char *sql;
	sqlite3_stmt *st;
};

static struct {
	sqlite3 *db;
	char *path;
	struct event *commit_ev;
	bool in_txn;
	struct idb_stmt *stmts;
	unsigned nstmts;
	bool failed;		/* a write failed: logged once per txn */
} idb_g;

static void
idb_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	idb_commit();
}

static int
idb_exec_sql(const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(idb_g.db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("%s: %s", idb_g.path, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
idb_user_version(int *v)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(idb_g.db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK) {
		log_warnx("%s: %s", idb_g.path, sqlite3_errmsg(idb_g.db));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int(st, 0);
	else
		log_warnx("%s: %s", idb_g.path, sqlite3_errmsg(idb_g.db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
idb_migrate(void)
{
	char sql[64];
	int v;

	if (idb_user_version(&v) == -1)
		return -1;
	if (v > IDB_VERSION) {
		log_warnx("%s: schema version %d is newer than this tocsind "
		    "knows (%d); refusing to touch it", idb_g.path, v,
		    IDB_VERSION);
		return -1;
	}
	if (v < 0) {	/* user_version is any 32-bit number; not ours */
		log_warnx("%s: schema version %d is not one tocsind wrote; "
		    "refusing to touch it", idb_g.path, v);
		return -1;
	}
	for (; v < IDB_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (idb_exec_sql("BEGIN IMMEDIATE") == -1)
			return -1;
		if (idb_exec_sql(idb_migrations[v]) == -1 ||
		    idb_exec_sql(sql) == -1) {
			idb_exec_sql("ROLLBACK");
			log_warnx("%s: migration to schema version %d failed",
			    idb_g.path, v + 1);
			return -1;
		}
		if (idb_exec_sql("COMMIT") == -1)
			return -1;
		log_info("%s: schema migrated to version %d", idb_g.path,
		    v + 1);
	}
	return 0;
}

int
idb_open(struct event_base *base, const char *path)
{
	int rc;

	memset(&idb_g, 0, sizeof(idb_g));
	if ((idb_g.path = strdup(path)) == NULL)
		return -1;
	rc = sqlite3_open_v2(path, &idb_g.db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("%s: cannot open: %s", path, idb_g.db ?
		    sqlite3_errmsg(idb_g.db) : sqlite3_errstr(rc));
		goto err;
	}
	sqlite3_extended_result_codes(idb_g.db, 1);
	/*
	 * journal_mode=WAL is the first statement that reads the file: a
	 * file that is not a database fails here, with SQLite's reason.
	 */
	if (idb_exec_sql("PRAGMA journal_mode = WAL") == -1 ||
	    idb_exec_sql("PRAGMA synchronous = NORMAL") == -1 ||
	    idb_exec_sql("PRAGMA foreign_keys = ON") == -1)
		goto err;
	if (sqlite3_db_readonly(idb_g.db, "main") == 1) {
		log_warnx("%s: the database is read-only", path);
		goto err;
	}
	if (idb_exec_sql("PRAGMA quick_check") == -1 || idb_migrate() == -1)
		goto err;
	if ((idb_g.commit_ev = evtimer_new(base, idb_commit_cb, NULL)) ==
	    NULL)
		goto err;
	return 0;
err:
	idb_close();
	return -1;
}

void
idb_close(void)
{
	unsigned i;

	if (idb_g.in_txn)
		idb_commit();
	for (i = 0; i < idb_g.nstmts; i++)
		sqlite3_finalize(idb_g.stmts[i].st);
	free(idb_g.stmts);
	if (idb_g.commit_ev != NULL)
		event_free(idb_g.commit_ev);
	if (idb_g.db != NULL)
		sqlite3_close(idb_g.db);
	free(idb_g.path);
	memset(&idb_g, 0, sizeof(idb_g));
}

sqlite3 *
idb(void)
{
	return idb_g.db;
}

sqlite3 *
incident_db(void)
{
	return idb_g.db;
}

int
idb_begin(void)
{
	static const struct timeval zero = { 0, 0 };

	if (idb_g.db == NULL)
		return -1;
	if (idb_g.in_txn)
		return 0;
	if (idb_exec_sql("BEGIN IMMEDIATE") == -1)
		return -1;
	idb_g.in_txn = true;
	idb_g.failed = false;
	evtimer_add(idb_g.commit_ev, &zero);
	return 0;
}

int
idb_commit(void)
{
	int64_t t0;
	int rc;

	if (idb_g.db == NULL || !idb_g.in_txn)
		return 0;
	evtimer_del(idb_g.commit_ev);
	t0 = mono_us();
	rc = idb_exec_sql("COMMIT");
	if (rc == -1) {
		/* a full disk or an I/O error: keep the loop alive, say so */
		log_warnx("%s: commit failed; the changes of this moment "
		    "are lost", idb_g.path);
		idb_exec_sql("ROLLBACK");
	}
	idb_g.in_txn = false;
	hist_add(&stats_g.db_commit, (mono_us() - t0) / 1e6);
	return rc;
}

/* The cached statement for sql (a string with static storage), reset. */
static sqlite3_stmt *
idb_stmt(const char *sql)
{
	struct idb_stmt *v;
	sqlite3_stmt *st;
	unsigned i;

	for (i = 0; i < idb_g.nstmts; i++)
		if (idb_g.stmts[i].sql == sql) {
			sqlite3_reset(idb_g.stmts[i].st);
			sqlite3_clear_bindings(idb_g.stmts[i].st);
			return idb_g.stmts[i].st;
		}
	if (sqlite3_prepare_v3(idb_g.db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st, NULL) != SQLITE_OK) {
		log_warnx("%s: %s: %s", idb_g.path, sqlite3_errmsg(idb_g.db),
		    sql);
		return NULL;
	}
	if ((v = reallocarray(idb_g.stmts, idb_g.nstmts + 1,
	    sizeof(*v))) == NULL) {
		sqlite3_finalize(st);
		return NULL;
	}
	idb_g.stmts = v;
	v[idb_g.nstmts].sql = sql;
	v[idb_g.nstmts].st = st;
	idb_g.nstmts++;
	return st;
}

static int
idb_bind(sqlite3_stmt *st, const char *types, va_list ap)
{
	int i, rc = SQLITE_OK;
	const char *s;

	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 't':	/* a time: 0 is NULL ("never") */
		{
			int64_t t = va_arg(ap, int64_t);

			rc = t == 0 ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_int64(st, i + 1, t);
			break;
		}
		case 'd':
			rc = sqlite3_bind_double(st, i + 1, va_arg(ap, double));
			break;
		case 's':
			s = va_arg(ap, const char *);
			rc = s == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_text(st, i + 1, s, -1,
			    SQLITE_TRANSIENT);
			break;
		default:
			return -1;
		}
	}
	return rc == SQLITE_OK ? 0 : -1;
}

sqlite3_stmt *
idb_query(const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if (idb_g.db == NULL || (st = idb_stmt(sql)) == NULL)
		return NULL;
	va_start(ap, types);
	rc = idb_bind(st, types, ap);
	va_end(ap);
	if (rc == -1) {
		log_warnx("%s: cannot bind: %s", idb_g.path,
		    sqlite3_errmsg(idb_g.db));
		return NULL;
	}
	return st;
}

int64_t
idb_write(const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if (idb_g.db == NULL || idb_begin() == -1 ||
	    (st = idb_stmt(sql)) == NULL)
		return -1;
	va_start(ap, types);
	rc = idb_bind(st, types, ap);
	va_end(ap);
	if (rc == -1 || (rc = sqlite3_step(st)) != SQLITE_DONE) {
		if (!idb_g.failed)
			log_warnx("%s: write failed: %s", idb_g.path,
			    sqlite3_errmsg(idb_g.db));
		idb_g.failed = true;
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return sqlite3_last_insert_rowid(idb_g.db);
}
