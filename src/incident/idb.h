/*
 * idb.h — the SQLite store's connection (idb.c): one connection, the
 * schema and its migrations, cached statements, one write transaction
 * per loop iteration.  Used by store_sqlite.c only (and by tests that
 * look inside the database); everyone else goes through store.h.
 */
#ifndef TOCSIN_IDB_H
#define TOCSIN_IDB_H

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

/* Open the iteration's transaction (committed on the next iteration). */
int idb_begin(void);
/* Commit now (if a transaction is open).  RETURN VALUE: 0 or -1. */
int idb_commit(void);

/*
 * Statements: sql must have static storage (it keys the statement
 * cache).  types names the arguments that follow, one letter each:
 * 'i' int64_t, 't' time as int64_t (0 binds NULL), 'd' double, 's' text
 * (NULL binds NULL).
 * idb_query: a reset statement with bound arguments, to sqlite3_step()
 * through; NULL on error (logged).  Do not finalize it.
 * idb_write: runs an INSERT/UPDATE/DELETE inside the iteration's
 * transaction.  RETURN VALUE: the last insert rowid (>= 0), or -1.
 */
sqlite3_stmt *idb_query(const char *sql, const char *types, ...);
int64_t idb_write(const char *sql, const char *types, ...);

#endif
