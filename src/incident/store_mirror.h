/*
 * store_mirror.h — the incident log's batches mirrored into PostgreSQL
 * (issue 19): every batch the SQLite store commits is captured with
 * SQLite's session extension (a changeset: the rows it inserted, the
 * columns it changed, the rows it deleted) and applied to the same
 * tables of the PostgreSQL schema, in commit order, one PostgreSQL
 * transaction for all the batches not sent yet.
 *
 * The design this serves: the leader keeps the incident log in its local
 * SQLite file as today (synchronous reads for the correlator, the
 * notifier and the API) and PostgreSQL holds the same rows for the node
 * that leads next; a reply or a page is released only once PostgreSQL
 * has the batch (smirror_synced).  Only the mirror half is built.
 *
 *  - Order and atomicity: one transaction in flight at a time; while it
 *    is, newer batches are merged (sqlite3changegroup: an insert then an
 *    update of one row is one insert of its last values) and go next.
 *  - Foreign keys of the PostgreSQL schema are checked at commit
 *    (DEFERRABLE INITIALLY DEFERRED, schema 2): a changeset lists its
 *    changes table by table, not in statement order.
 *  - Idempotent: an INSERT does nothing on a row already there, an
 *    UPDATE sets values, a DELETE of a missing row deletes nothing; a
 *    transaction whose COMMIT's answer was lost with the session is sent
 *    again whole and leaves the same rows.
 *  - Nothing waits: while PostgreSQL is away the batches wait in memory
 *    (merged into one changeset, as big as the rows changed) and go when
 *    the session is back.
 *
 * One mirror a process (the store is one); on the loop thread only.
 */
#ifndef TOCSIN_STORE_MIRROR_H
#define TOCSIN_STORE_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct pgc;
struct sqlite3;

/*
 * Start mirroring the batches db commits (through idb: idb_observe) into
 * pg.  RETURN VALUE: 0, or -1 (logged: the session extension could not
 * be set up).
 */
int smirror_start(struct event_base *base, struct sqlite3 *db,
    struct pgc *pg);
void smirror_stop(void);
/*
 * Leave table out of PostgreSQL (the changesets in store_log keep it):
 * a cluster's check_state is written by each check's owner
 * (cluster_checks.h), not by the leader's log.  NULL: mirror every table.
 */
void smirror_skip(const char *table);

struct smirror_stats {
	uint64_t batches;	/* committed in SQLite with changes */
	uint64_t synced;	/* of them, in PostgreSQL */
	uint64_t txns;		/* PostgreSQL transactions committed */
	uint64_t changes;	/* rows sent (a resend counts again) */
	uint64_t failed;	/* transactions that failed (then resent) */
};
void smirror_stats(struct smirror_stats *st);
/* Is every batch committed so far in PostgreSQL? */
bool smirror_synced(void);
/* fn() each time the mirror becomes synced (a transaction committed). */
void smirror_on_synced(void (*fn)(void));
/*
 * A caller that commits its own writes with the store's batches (the
 * leader's consume of the cluster's events: the events' deletion and the
 * incidents they made, in one transaction):
 *   smirror_hold(true)   the mirror sends nothing of its own meanwhile
 *   smirror_join(pg)     queue everything not sent yet on pg, inside the
 *                        caller's open transaction: 1 queued, 0 nothing
 *                        to send, -1 failed (the caller must not commit)
 *   smirror_joined(ok)   its transaction committed (ok) or not (the
 *                        batches then go again in the mirror's own)
 *   smirror_hold(false)
 * smirror_busy(): a transaction of the mirror's own is out; do not join.
 */
void smirror_hold(bool on);
bool smirror_busy(void);
int smirror_join(struct pgc *pg);
void smirror_joined(bool committed);

#endif
