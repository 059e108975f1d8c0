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
 * A batch the disk refuses (full, an I/O error, a lock held by another
 * process past IDB_BUSY_MS) is rolled back and kept: its writes, with
 * copies of their arguments, are replayed in order before anything else,
 * every second, until they commit (the retry queue, idb_begin()).  Ids
 * that memory needs at once are given by store_sqlite.c, not by the
 * database, so a queued insert needs no answer.  Reads go through
 * idb_select() only, which never leaves a statement open; checkpoints run
 * in a helper thread (idb_ckpt_main()).
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

#include <pthread.h>
#include <time.h>
#include <unistd.h>

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
	/*
	 * 2 → 3: retention (incidents { retention }).  Events older than
	 * the retention are pruned after their day is rolled up into
	 * check_daily: per check and UTC day (days since the epoch), the
	 * seconds it counted as down and its state at the end of the day,
	 * so reports over any period still add up.  Events stay
	 * append-only for everything but the pruning.
	 */
	"DROP TRIGGER events_no_delete;"
	"CREATE INDEX events_at ON events (at);"
	"CREATE TABLE check_daily ("
	"  check_name TEXT NOT NULL, day INTEGER NOT NULL,"
	"  down_s INTEGER NOT NULL, end_state TEXT NOT NULL,"
	"  PRIMARY KEY (check_name, day));"
	"CREATE INDEX check_daily_day ON check_daily (day);",
	/*
	 * 3 → 4: change events (POST /api/v1/changes, change.c): what a
	 * pipeline or an operator changed, on which checks, hosts or groups
	 * (JSON arrays of names, as maintenance keeps them), so an incident
	 * opening soon after can name it as a possible cause.
	 */
	"CREATE TABLE changes ("
	"  id INTEGER PRIMARY KEY,"
	"  title TEXT NOT NULL, by TEXT,"
	"  checks TEXT, hosts TEXT, groups TEXT,"
	"  started_at INTEGER NOT NULL, ended_at INTEGER,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX changes_started ON changes (started_at);",
	/*
	 * 4 → 5: problem records (problem.c): the same root cause keeps
	 * failing.  status: open, known_error (a workaround is known),
	 * resolved (the fix is in; a recurrence reopens it).
	 */
	"CREATE TABLE problems ("
	"  id INTEGER PRIMARY KEY,"
	"  title TEXT NOT NULL,"
	"  status TEXT NOT NULL"
	"    CHECK (status IN ('open','known_error','resolved')),"
	"  root_cause TEXT, workaround TEXT, analysis TEXT, created_by TEXT,"
	"  opened_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	"  resolved_at INTEGER);"
	"CREATE INDEX problems_root ON problems (root_cause, id);"
	"CREATE TABLE problem_incidents ("
	"  problem_id INTEGER NOT NULL REFERENCES problems (id),"
	"  incident_id INTEGER NOT NULL REFERENCES incidents (id),"
	"  linked_at INTEGER NOT NULL,"
	"  PRIMARY KEY (problem_id, incident_id));"
	"CREATE INDEX problem_incidents_incident ON problem_incidents "
	"  (incident_id);",
};
#define IDB_VERSION \
	((int)(sizeof(idb_migrations) / sizeof(idb_migrations[0])))

/* Prepared statements, keyed by the address of their (static) SQL. */
struct idb_stmt {
	const char *sql;
	sqlite3_stmt *st;
};

/*
 * One write of the batch, kept until the batch is committed: if the
 * commit fails (a full disk, an I/O error, a lock held too long), the
 * batch is rolled back and these are replayed, in order, into the next
 * transaction — the retry queue.  Arguments are copies.
 */
struct idb_arg {
	char type;			/* as in idb_write()'s types */
	int64_t i;
	double d;
	char *s;			/* owned, may be NULL */
};
struct idb_op {
	const char *sql;		/* static storage */
	const char *types;		/* static storage */
	struct idb_arg *args;
	struct idb_op *next;
};

/*
 * Writes kept while the disk refuses.  Each retry replays them all on the
 * loop: 50 000 small writes take ~50-100 ms, once a second, and only
 * during an outage; past that, writes are lost (logged) and the
 * correlator's reconciliation recreates missing incidents later.
 */
#define IDB_BACKLOG_MAX	50000
#define IDB_RETRY_S	1	/* retry a failed commit every second */
#define IDB_BUSY_MS	100	/* wait this long for another's lock */
#define IDB_CKPT_PAGES	256	/* wake the checkpointer at this WAL size */
#define IDB_WAL_LIMIT	(1024 * 1024)	/* WAL truncated to this */
#define IDB_WAL_HARD	(2 * 1024 * 1024) /* the loop checkpoints past this */
#define IDB_PAGE_GUESS	4096	/* bytes per WAL frame, near enough */

static struct {
	sqlite3 *db;
	char *path;
	struct event *commit_ev;
	struct event *retry_ev;
	bool in_txn;
	struct idb_stmt *stmts;
	unsigned nstmts;
	bool failed;		/* a write of this batch failed: roll back */
	bool warned;		/* a lost write was logged in this batch */
	bool down;		/* commits fail: writes only queue */
	bool held;		/* writes were queued outside a transaction */
	struct idb_op *ops, **ops_tail;	/* this batch, oldest first */
	unsigned nops;
	uint64_t dropped;	/* writes lost to IDB_BACKLOG_MAX */
	void (*flushed[4])(void); /* after a backlog was committed */
	void (*committed)(void);  /* after each commit (idb_on_commit) */
	void (*observe_commit)(void);	/* idb_observe: COMMIT succeeded */
	void (*observe_rollback)(void);	/* and: a transaction rolled back */

	/* the checkpointer: its own thread and connection */
	pthread_t ckpt;
	bool ckpt_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ckpt_stop, ckpt_wake;
	uint64_t ckpts;
	int wal_pages;		/* frames in the WAL after the last commit */
	uint64_t loop_ckpts;	/* checkpoints the loop had to run itself */
} idb_g;

static void
idb_commit_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	idb_commit();
}

static void
idb_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* an empty batch too: it tells whether the outage is over */
	if (idb_begin() == 0)
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

/* ---- the checkpointer ---------------------------------------------------- */

/*
 * Checkpoints copy the WAL back into the database file and fsync it:
 * milliseconds to seconds on a loaded disk, so not on the loop.  The
 * loop's connection has wal_autocheckpoint = 0; this thread, with its
 * own connection, runs a PASSIVE checkpoint (it never waits for or
 * blocks a writer) when the loop's commits have grown the WAL past
 * IDB_CKPT_PAGES pages, and at least every 5 s.  Once a checkpoint has
 * copied every frame, the loop's next commit starts the WAL over and
 * truncates the file to journal_size_limit (IDB_WAL_LIMIT).
 *
 * Under a sustained storm the loop commits while the thread copies, so a
 * passive pass from the thread rarely finds the WAL fully copied at the
 * moment the loop starts its next transaction, and the WAL would grow as
 * long as the storm lasts.  (A RESTART or TRUNCATE pass from the thread
 * is worse: it holds the checkpoint lock while it waits for a gap
 * between the loop's transactions, and every other checkpoint waits.)
 * So when a commit leaves the WAL past IDB_WAL_HARD, the thread stands
 * aside and the loop runs a PASSIVE pass itself, right after its commit,
 * when no transaction is open: the thread has copied most frames
 * already, so the loop copies the rest and syncs the database file once
 * per IDB_WAL_HARD of WAL (counted in stats_g.db_checkpoints_loop), and
 * the next transaction starts the WAL over.  The WAL stays a few MB whatever the write rate,
 * as long as no read stays open (idb_select() below closes each one).
 */
static void *
idb_ckpt_main(void *arg)
{
	sqlite3 *db = arg;
	struct timespec ts;
	int nlog, nckpt;

	pthread_mutex_lock(&idb_g.mu);
	while (!idb_g.ckpt_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 5;
		while (!idb_g.ckpt_wake && !idb_g.ckpt_stop)
			if (pthread_cond_timedwait(&idb_g.cv, &idb_g.mu,
			    &ts) != 0)
				break;
		if (idb_g.ckpt_stop)
			break;
		idb_g.ckpt_wake = false;
		if ((int64_t)idb_g.wal_pages * IDB_PAGE_GUESS >= IDB_WAL_HARD)
			continue;	/* the loop finishes this one */
		pthread_mutex_unlock(&idb_g.mu);
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
		    &nlog, &nckpt);
		pthread_mutex_lock(&idb_g.mu);
		idb_g.ckpts++;
	}
	pthread_mutex_unlock(&idb_g.mu);
	sqlite3_close(db);
	return NULL;
}

/*
 * The checkpointer's busy handler: the loop holds the write lock for a
 * moment per iteration, so poll every 50 µs (a shared-memory lock, cheap)
 * to find the gap between two of its transactions; give up after ~5 s.
 */
static int
idb_ckpt_busy(void *arg, int n)
{
	(void)arg;
	if (n >= 100000)
		return 0;
	usleep(50);
	return 1;
}

/* The loop's commits: wake the checkpointer when the WAL has grown. */
static int
idb_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)arg;
	(void)db;
	(void)name;
	if (!idb_g.ckpt_running) {
		idb_g.wal_pages = pages;
		return SQLITE_OK;
	}
	pthread_mutex_lock(&idb_g.mu);
	idb_g.wal_pages = pages;
	pthread_mutex_unlock(&idb_g.mu);
	if (pages >= IDB_CKPT_PAGES) {
		pthread_mutex_lock(&idb_g.mu);
		idb_g.ckpt_wake = true;
		pthread_cond_signal(&idb_g.cv);
		pthread_mutex_unlock(&idb_g.mu);
	}
	return SQLITE_OK;
}

static int
idb_ckpt_start(void)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(idb_g.path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("%s: checkpointer: %s", idb_g.path, db != NULL ?
		    sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_handler(db, idb_ckpt_busy, NULL);
	/* read the header: the connection learns the file is in WAL mode */
	if (sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		log_warnx("%s: checkpointer: %s", idb_g.path,
		    sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	pthread_mutex_init(&idb_g.mu, NULL);
	pthread_cond_init(&idb_g.cv, NULL);
	idb_g.ckpt_stop = idb_g.ckpt_wake = false;
	if (pthread_create(&idb_g.ckpt, NULL, idb_ckpt_main, db) != 0) {
		log_warnx("%s: cannot start the checkpointer", idb_g.path);
		sqlite3_close(db);
		pthread_cond_destroy(&idb_g.cv);
		pthread_mutex_destroy(&idb_g.mu);
		return -1;
	}
	idb_g.ckpt_running = true;
	sqlite3_wal_hook(idb_g.db, idb_wal_hook, NULL);
	return 0;
}

static void
idb_ckpt_stop(void)
{
	if (!idb_g.ckpt_running)
		return;
	pthread_mutex_lock(&idb_g.mu);
	idb_g.ckpt_stop = true;
	pthread_cond_signal(&idb_g.cv);
	pthread_mutex_unlock(&idb_g.mu);
	pthread_join(idb_g.ckpt, NULL);
	pthread_cond_destroy(&idb_g.cv);
	pthread_mutex_destroy(&idb_g.mu);
	idb_g.ckpt_running = false;
	if (idb_g.db != NULL)
		sqlite3_wal_hook(idb_g.db, NULL, NULL);
}

uint64_t
idb_loop_checkpoints(void)
{
	return idb_g.loop_ckpts;
}

uint64_t
idb_checkpoints(void)
{
	uint64_t n;

	if (!idb_g.ckpt_running)
		return idb_g.ckpts;
	pthread_mutex_lock(&idb_g.mu);
	n = idb_g.ckpts;
	pthread_mutex_unlock(&idb_g.mu);
	return n;
}

/* ---- open, close ------------------------------------------------------ */

int
idb_open(struct event_base *base, const char *path)
{
	char sql[64];
	int rc;

	memset(&idb_g, 0, sizeof(idb_g));
	idb_g.ops_tail = &idb_g.ops;
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
	/* another process holding a lock: wait a little, then retry later */
	sqlite3_busy_timeout(idb_g.db, IDB_BUSY_MS);
	/*
	 * journal_mode=WAL is the first statement that reads the file: a
	 * file that is not a database fails here, with SQLite's reason.
	 */
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %d",
	    IDB_WAL_LIMIT);
	if (idb_exec_sql("PRAGMA journal_mode = WAL") == -1 ||
	    idb_exec_sql("PRAGMA synchronous = NORMAL") == -1 ||
	    idb_exec_sql("PRAGMA foreign_keys = ON") == -1 ||
	    idb_exec_sql("PRAGMA wal_autocheckpoint = 0") == -1 ||
	    idb_exec_sql(sql) == -1)
		goto err;
	if (sqlite3_db_readonly(idb_g.db, "main") == 1) {
		log_warnx("%s: the database is read-only", path);
		goto err;
	}
	if (idb_exec_sql("PRAGMA quick_check") == -1 || idb_migrate() == -1)
		goto err;
	if ((idb_g.commit_ev = evtimer_new(base, idb_commit_cb, NULL)) ==
	    NULL || (idb_g.retry_ev = evtimer_new(base, idb_retry_cb,
	    NULL)) == NULL)
		goto err;
	if (idb_ckpt_start() == -1)
		goto err;
	return 0;
err:
	idb_close();
	return -1;
}

static void
idb_op_free(struct idb_op *op)
{
	size_t i;

	for (i = 0; op->types[i] != '\0'; i++)
		free(op->args[i].s);
	free(op->args);
	free(op);
}

/* Forget the batch's writes (committed, or given up). */
static void
idb_ops_clear(void)
{
	struct idb_op *op;

	while ((op = idb_g.ops) != NULL) {
		idb_g.ops = op->next;
		idb_op_free(op);
	}
	idb_g.ops_tail = &idb_g.ops;
	idb_g.nops = 0;
}

void
idb_close(void)
{
	unsigned i;

	if (idb_g.retry_ev != NULL)
		evtimer_del(idb_g.retry_ev);
	if (idb_g.ops != NULL && !idb_g.in_txn)
		idb_begin();	/* a last try for what an outage kept */
	if (idb_g.in_txn)
		idb_commit();
	if (idb_g.ops != NULL)
		log_errx("%s: %u writes could not be committed before the "
		    "stop and are lost", idb_g.path, idb_g.nops);
	idb_ops_clear();
	idb_ckpt_stop();
	for (i = 0; i < idb_g.nstmts; i++)
		sqlite3_finalize(idb_g.stmts[i].st);
	free(idb_g.stmts);
	if (idb_g.commit_ev != NULL)
		event_free(idb_g.commit_ev);
	if (idb_g.retry_ev != NULL)
		event_free(idb_g.retry_ev);
	if (idb_g.db != NULL)
		sqlite3_close(idb_g.db);
	free(idb_g.path);
	memset(&idb_g, 0, sizeof(idb_g));
	idb_g.ops_tail = &idb_g.ops;
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
idb_on_flush(void (*fn)(void))
{
	unsigned i;

	for (i = 0; i < 4; i++)
		if (idb_g.flushed[i] == NULL || idb_g.flushed[i] == fn) {
			idb_g.flushed[i] = fn;
			return 0;
		}
	return -1;
}

bool
idb_ok(void)
{
	return idb_g.db != NULL && !idb_g.down && !idb_g.held;
}

/* ---- statements ---------------------------------------------------------- */

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

/* Reset every cached statement still open (a read left half-stepped). */
static void
idb_reset_all(void)
{
	unsigned i;

	for (i = 0; i < idb_g.nstmts; i++)
		if (sqlite3_stmt_busy(idb_g.stmts[i].st))
			sqlite3_reset(idb_g.stmts[i].st);
}

static int
idb_bind_args(sqlite3_stmt *st, const char *types, const struct idb_arg *a)
{
	int i, rc = SQLITE_OK;

	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, a[i].i);
			break;
		case 't':	/* a time: 0 is NULL ("never") */
			rc = a[i].i == 0 ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_int64(st, i + 1, a[i].i);
			break;
		case 'd':
			rc = sqlite3_bind_double(st, i + 1, a[i].d);
			break;
		case 's':
			rc = a[i].s == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_text(st, i + 1, a[i].s, -1,
			    SQLITE_TRANSIENT);
			break;
		default:
			return -1;
		}
	}
	return rc == SQLITE_OK ? 0 : -1;
}

/* The arguments of a va_list, copied.  NULL: out of memory, bad type. */
static struct idb_arg *
idb_args(const char *types, va_list ap)
{
	size_t n = strlen(types), i;
	struct idb_arg *a;
	const char *s;

	if ((a = calloc(n + 1, sizeof(*a))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		a[i].type = types[i];
		switch (types[i]) {
		case 'i':
		case 't':
			a[i].i = va_arg(ap, int64_t);
			break;
		case 'd':
			a[i].d = va_arg(ap, double);
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (s != NULL && (a[i].s = strdup(s)) == NULL)
				goto fail;
			break;
		default:
			goto fail;
		}
	}
	return a;
fail:
	while (i-- > 0)
		free(a[i].s);
	free(a);
	return NULL;
}

sqlite3_stmt *
idb_query(const char *sql, const char *types, ...)
{
	static const struct timeval zero = { 0, 0 };
	struct idb_arg *a;
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if (idb_g.db == NULL || (st = idb_stmt(sql)) == NULL)
		return NULL;
	va_start(ap, types);
	a = idb_args(types, ap);
	va_end(ap);
	rc = a != NULL ? idb_bind_args(st, types, a) : -1;
	if (a != NULL) {
		unsigned i;

		for (i = 0; types[i] != '\0'; i++)
			free(a[i].s);
		free(a);
	}
	if (rc == -1) {
		log_warnx("%s: cannot bind: %s", idb_g.path,
		    sqlite3_errmsg(idb_g.db));
		return NULL;
	}
	/* the end of this loop iteration resets it, stepped or not */
	if (idb_g.commit_ev != NULL)
		evtimer_add(idb_g.commit_ev, &zero);
	return st;
}

/* ---- reads ----------------------------------------------------------------- */

int
idb_select(struct idb_rows *out, const char *sql, const char *types, ...)
{
	sqlite3_value **v, **nv;
	struct idb_arg *a;
	sqlite3_stmt *st;
	size_t n = 0, cap = 0;
	va_list ap;
	int rc, ncol, i;

	memset(out, 0, sizeof(*out));
	if (idb_g.db == NULL || (st = idb_stmt(sql)) == NULL)
		return -1;
	va_start(ap, types);
	a = idb_args(types, ap);
	va_end(ap);
	if (a == NULL || idb_bind_args(st, types, a) == -1) {
		log_warnx("%s: cannot bind: %s", idb_g.path,
		    sqlite3_errmsg(idb_g.db));
		rc = SQLITE_ERROR;
		v = NULL;
		ncol = 0;
		goto out;
	}
	ncol = sqlite3_column_count(st);
	v = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = reallocarray(v, cap, (size_t)ncol *
			    sizeof(*v))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		for (i = 0; i < ncol; i++)
			if ((v[n * ncol + i] = sqlite3_value_dup(
			    sqlite3_column_value(st, i))) == NULL)
				break;
		if (i < ncol) {
			while (i-- > 0)
				sqlite3_value_free(v[n * ncol + i]);
			rc = SQLITE_NOMEM;
			break;
		}
		n++;
	}
	if (rc != SQLITE_DONE)
		log_warnx("%s: read failed: %s", idb_g.path,
		    sqlite3_errmsg(idb_g.db));
out:
	/* the one place a read ends: never left open */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (a != NULL) {
		for (i = 0; types[i] != '\0'; i++)
			free(a[i].s);
		free(a);
	}
	out->v = v;
	out->ncol = ncol;
	out->n = n;
	if (rc != SQLITE_DONE) {
		idb_rows_free(out);
		return -1;
	}
	return 0;
}

void
idb_rows_free(struct idb_rows *r)
{
	size_t i;

	for (i = 0; r->v != NULL && i < r->n * (size_t)r->ncol; i++)
		sqlite3_value_free(r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static sqlite3_value *
idb_val(const struct idb_rows *r, size_t row, int col)
{
	return r->v[row * (size_t)r->ncol + (size_t)col];
}

int64_t
idb_int(const struct idb_rows *r, size_t row, int col)
{
	return sqlite3_value_int64(idb_val(r, row, col));
}

double
idb_double(const struct idb_rows *r, size_t row, int col)
{
	return sqlite3_value_double(idb_val(r, row, col));
}

bool
idb_null(const struct idb_rows *r, size_t row, int col)
{
	return sqlite3_value_type(idb_val(r, row, col)) == SQLITE_NULL;
}

const char *
idb_text(const struct idb_rows *r, size_t row, int col)
{
	return (const char *)sqlite3_value_text(idb_val(r, row, col));
}

char *
idb_strdup(const struct idb_rows *r, size_t row, int col)
{
	const char *t = idb_text(r, row, col);

	return t != NULL ? strdup(t) : NULL;
}

/* ---- the batch --------------------------------------------------------- */

/* Errors that pass (a full disk, I/O, a lock): keep the batch, retry. */
static bool
idb_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PROTOCOL:
		return true;
	}
	return false;
}

/* Run one queued write.  RETURN VALUE: SQLite's result code. */
static int
idb_run(const struct idb_op *op, int64_t *rowid)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = idb_stmt(op->sql)) == NULL)
		return sqlite3_errcode(idb_g.db) != SQLITE_OK ?
		    sqlite3_extended_errcode(idb_g.db) : SQLITE_ERROR;
	if (idb_bind_args(st, op->types, op->args) == -1)
		rc = SQLITE_MISMATCH;
	else
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE && rowid != NULL)
		*rowid = sqlite3_last_insert_rowid(idb_g.db);
	return rc;
}

static void
idb_rollback(void)
{
	idb_reset_all();
	if (!sqlite3_get_autocommit(idb_g.db))
		sqlite3_exec(idb_g.db, "ROLLBACK", NULL, NULL, NULL);
	idb_g.in_txn = false;
	if (idb_g.observe_rollback != NULL)
		idb_g.observe_rollback();
}

void
idb_observe(void (*committed)(void), void (*rolled_back)(void))
{
	idb_g.observe_commit = committed;
	idb_g.observe_rollback = rolled_back;
}

/* The batch could not be committed: keep it, retry in a second. */
static void
idb_outage(const char *what)
{
	static const struct timeval retry = { IDB_RETRY_S, 0 };

	if (!idb_g.down)
		log_errx("%s: %s: %s; %u writes are kept and retried every "
		    "%d s", idb_g.path, what, sqlite3_errmsg(idb_g.db),
		    idb_g.nops, IDB_RETRY_S);
	idb_g.down = true;
	idb_rollback();
	evtimer_add(idb_g.retry_ev, &retry);
	/* what waited for a commit waits no more: it is kept, not on disk */
	if (idb_g.committed != NULL)
		idb_g.committed();
}

int
idb_begin(void)
{
	static const struct timeval zero = { 0, 0 };
	struct idb_op *op, **pp;
	int rc;

	if (idb_g.db == NULL || idb_g.commit_ev == NULL)
		return -1;
	if (idb_g.in_txn)
		return 0;
	if (evtimer_pending(idb_g.retry_ev, NULL))
		return -1;	/* writes queue until the retry */
	idb_reset_all();
	if ((rc = sqlite3_exec(idb_g.db, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL)) != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_BUSY && !idb_g.down) {
			/* the checkpointer's short pass: queue, retry soon */
			static const struct timeval soon = { 0, 10000 };

			evtimer_add(idb_g.retry_ev, &soon);
			return -1;
		}
		idb_outage("cannot begin a transaction");
		return -1;
	}
	idb_g.in_txn = true;
	idb_g.failed = idb_g.warned = false;
	evtimer_add(idb_g.commit_ev, &zero);
	/* the retry queue first, in order */
	for (pp = &idb_g.ops; (op = *pp) != NULL; ) {
		rc = idb_run(op, NULL);
		if (rc == SQLITE_DONE) {
			pp = &op->next;
			continue;
		}
		if (idb_transient(rc)) {
			idb_outage("cannot replay the kept writes");
			return -1;
		}
		/* it can never succeed (a constraint): drop it, say so */
		log_errx("%s: a kept write fails for good and is dropped: "
		    "%s", idb_g.path, sqlite3_errmsg(idb_g.db));
		*pp = op->next;
		if (idb_g.ops_tail == &op->next)
			idb_g.ops_tail = pp;
		idb_op_free(op);
		idb_g.nops--;
	}
	return 0;
}

/*
 * idb_commit() with the after-commit hook: whatever was waiting for the
 * batch (an API reply) goes once no transaction is open any more, the
 * commit having succeeded or the batch having gone to the retry queue.
 */
static int idb_commit_run(void);

int
idb_commit(void)
{
	int rc = idb_commit_run();

	if (!idb_txn_open() && idb_g.committed != NULL)
		idb_g.committed();
	return rc;
}

/*
 * Written, not committed yet: a batch is open, or writes wait for the
 * retry a moment away (the checkpointer held the lock).  Writes kept
 * through an outage do not count: nobody can wait for those.
 */
bool
idb_txn_open(void)
{
	return idb_g.in_txn || (idb_g.ops != NULL && !idb_g.down);
}

void
idb_on_commit(void (*fn)(void))
{
	idb_g.committed = fn;
}

static int
idb_commit_run(void)
{
	int64_t t0;
	unsigned n = idb_g.nops;
	bool was_down = idb_g.down;
	int rc;

	if (idb_g.db == NULL || idb_g.commit_ev == NULL)
		return 0;
	evtimer_del(idb_g.commit_ev);
	idb_reset_all();
	if (!idb_g.in_txn && idb_g.ops != NULL && !idb_g.down)
		idb_begin();	/* writes queued a moment ago: now */
	if (!idb_g.in_txn) {
		/* nothing open: a backlog makes this a failure */
		return idb_g.ops != NULL ? -1 : 0;
	}
	if (idb_g.failed) {
		idb_outage("a write failed");
		return -1;
	}
	t0 = mono_us();
	rc = sqlite3_exec(idb_g.db, "COMMIT", NULL, NULL, NULL);
	hist_add(&stats_g.db_commit, (mono_us() - t0) / 1e6);
	if (rc != SQLITE_OK) {
		/* a full disk or an I/O error: the retry queue keeps it */
		idb_outage("commit failed");
		return -1;
	}
	idb_g.in_txn = false;
	idb_ops_clear();
	if (idb_g.observe_commit != NULL)
		idb_g.observe_commit();
	if ((int64_t)idb_g.wal_pages * IDB_PAGE_GUESS >= IDB_WAL_HARD) {
		int nlog, nckpt;

		/* the thread cannot catch up alone: no writer now, finish */
		idb_g.loop_ckpts++;
		stats_g.db_checkpoints_loop++;
		sqlite3_wal_checkpoint_v2(idb_g.db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
	}
	if (was_down) {
		idb_g.down = false;
		log_notice("%s: writable again; %u kept writes committed",
		    idb_g.path, n);
	}
	if (was_down || idb_g.held) {
		idb_g.held = false;
		evtimer_del(idb_g.retry_ev);
		for (unsigned i = 0; i < 4 && idb_g.flushed[i] != NULL; i++)
			idb_g.flushed[i]();
	}
	return 0;
}

void
idb_discard(void)
{
	if (idb_g.in_txn)
		idb_rollback();
	idb_ops_clear();
	if (idb_g.commit_ev != NULL)
		evtimer_del(idb_g.commit_ev);
	if (!idb_txn_open() && idb_g.committed != NULL)
		idb_g.committed();
}

int64_t
idb_write(const char *sql, const char *types, ...)
{
	struct idb_op *op;
	int64_t rowid = 0;
	va_list ap;
	int rc;

	if (idb_g.db == NULL)
		return -1;
	if (idb_g.nops >= IDB_BACKLOG_MAX) {
		if (idb_g.dropped++ % 10000 == 0)
			log_errx("%s: %u writes are waiting already; this "
			    "one is lost", idb_g.path, idb_g.nops);
		return -1;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return -1;
	op->sql = sql;
	op->types = types;
	va_start(ap, types);
	op->args = idb_args(types, ap);
	va_end(ap);
	if (op->args == NULL) {
		free(op);
		return -1;
	}
	if (idb_begin() == -1) {
		/* an outage: queued, committed at the retry */
		*idb_g.ops_tail = op;
		idb_g.ops_tail = &op->next;
		idb_g.nops++;
		idb_g.held = true;
		return 0;
	}
	rc = idb_run(op, &rowid);
	if (rc != SQLITE_DONE && !idb_transient(rc)) {
		/* a write that can never succeed: lost, as before */
		if (!idb_g.warned)
			log_warnx("%s: write failed: %s", idb_g.path,
			    sqlite3_errmsg(idb_g.db));
		idb_g.warned = true;
		idb_op_free(op);
		return -1;
	}
	*idb_g.ops_tail = op;
	idb_g.ops_tail = &op->next;
	idb_g.nops++;
	if (rc != SQLITE_DONE) {
		/* the disk refuses: the batch is retried whole */
		idb_g.failed = true;
		if (sqlite3_get_autocommit(idb_g.db))
			idb_outage("write failed");
		return 0;
	}
	return rowid;
}
