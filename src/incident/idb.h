/*
 * idb.h — the SQLite store's connection (idb.c): one connection, the
 * schema and its migrations, cached statements, one write transaction
 * per loop iteration.  Used by store_sqlite.c only (and by tests that
 * look inside the database); everyone else goes through store.h.
 */
#ifndef TOCSIN_IDB_H
#define TOCSIN_IDB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

struct event_base;

/* Open/create path, check it, migrate.  RETURN VALUE: 0, or -1 (logged). */
int idb_open(struct event_base *base, const char *path);
/* Commit what is pending, close. */
void idb_close(void);
sqlite3 *idb(void);
/* The same connection (for tests that look inside the database). */
sqlite3 *incident_db(void);

/*
 * The batch: idb_begin() opens the iteration's transaction (committed
 * on the next iteration) after replaying the retry queue; idb_commit()
 * commits now.  A batch whose commit fails (a full disk, an I/O error, a
 * lock held too long) is rolled back and kept: it is replayed, in order,
 * before anything else, every second until it commits.  idb_commit()
 * RETURN VALUE: 0, or -1 when what was written is not on disk yet.
 */
int idb_begin(void);
int idb_commit(void);
/* Written but not committed yet: a batch open, or writes waiting for a
 * retry in a moment (not for the end of an outage)? */
bool idb_txn_open(void);
/* fn runs after each idb_commit() or idb_discard() that leaves no batch
 * open (one function). */
void idb_on_commit(void (*fn)(void));
/*
 * committed() right after each COMMIT of a batch that succeeded,
 * rolled_back() after each ROLLBACK (an outage, a discard): for a mirror
 * of the batches (store_mirror.c).  NULL, NULL: none.
 */
void idb_observe(void (*committed)(void), void (*rolled_back)(void));
/* Drop the batch's writes (a failed operator action: nothing applies). */
void idb_discard(void);
/* Is the last commit good (no writes waiting for the disk)? */
bool idb_ok(void);
/* fn runs after a commit that ended an outage (kept writes are in). */
int idb_on_flush(void (*fn)(void));
/* Checkpoints the checkpointer thread has run, and the loop (bench/). */
uint64_t idb_checkpoints(void);
uint64_t idb_loop_checkpoints(void);

/*
 * Writes: sql must have static storage (it keys the statement cache),
 * types too (kept with a queued write).  types names the arguments that
 * follow, one letter each: 'i' int64_t, 't' time as int64_t (0 binds
 * NULL), 'd' double, 's' text (NULL binds NULL; copied).
 * idb_write: runs an INSERT/UPDATE/DELETE inside the iteration's batch.
 * RETURN VALUE: the last insert rowid (> 0), 0 if the write is queued
 * for a retry (no rowid: give ids explicitly where they matter), or -1
 * if it is lost (it can never succeed, or the retry queue is full).
 */
int64_t idb_write(const char *sql, const char *types, ...);

/*
 * Reads: every read goes through idb_select(), which steps the statement
 * to its end and resets it before returning, so no read ever stays open
 * (an open read pins the WAL: checkpoints could not reset it, and it
 * would grow without bound).  The rows are copies.
 * RETURN VALUE: 0 (*out: idb_rows_free() it), or -1 (logged).
 */
struct idb_rows {
	sqlite3_value **v;		/* n rows of ncol values */
	int ncol;
	size_t n;
};
int idb_select(struct idb_rows *out, const char *sql, const char *types,
    ...);
void idb_rows_free(struct idb_rows *r);
int64_t idb_int(const struct idb_rows *r, size_t row, int col);
double idb_double(const struct idb_rows *r, size_t row, int col);
bool idb_null(const struct idb_rows *r, size_t row, int col);
/* Borrowed: valid until idb_rows_free(); NULL for NULL. */
const char *idb_text(const struct idb_rows *r, size_t row, int col);
/* Returns a new string (NULL for NULL); the caller frees it. */
char *idb_strdup(const struct idb_rows *r, size_t row, int col);

/*
 * For tests that look inside: a reset statement with bound arguments to
 * sqlite3_step() through.  Do not finalize it; it is reset at the end of
 * the loop iteration at the latest, stepped to its end or not.  The
 * daemon's own reads use idb_select().
 */
sqlite3_stmt *idb_query(const char *sql, const char *types, ...);

#endif
