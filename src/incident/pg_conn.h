/*
 * pg_conn.h — one asynchronous PostgreSQL session on the daemon's event
 * loop (issue 19): the client the PostgreSQL store is to be built on.
 *
 * Nothing here blocks: the connection is made with PQconnectStart /
 * PQconnectPoll, the socket is non-blocking and watched by libevent, and
 * queries go out with PQsendQueryParams in pipeline mode, each batch
 * ended by a sync point, their results read with PQconsumeInput /
 * PQisBusy / PQgetResult as the socket becomes readable.  On connect the
 * schema is created or migrated forward (pg_schema.c) in one
 * transaction per version; a database newer than this binary is refused
 * and the session stays down (logged once).  A lost session is made
 * again after 1 s, doubling up to 30 s; the queries in flight get a
 * NULL result (their callers decide whether to retry), queries queued
 * while down wait and go out once the session is up.
 *
 * On the loop thread only.
 */
#ifndef TOCSIN_PG_CONN_H
#define TOCSIN_PG_CONN_H

#include <stdbool.h>

#include <libpq-fe.h>

struct event_base;
struct pgc;

/*
 * A query's answer: r is its result (PGRES_COMMAND_OK, _TUPLES_OK, or an
 * error status; valid during the call only), NULL if the session was
 * lost before it came.
 */
typedef void (*pgc_result_fn)(void *arg, const PGresult *r);

/*
 * A session to conninfo; on_up(arg, up) runs when it comes up (schema
 * current) and when it goes down.  NULL when out of memory.
 */
struct pgc *pgc_new(struct event_base *base, const char *conninfo,
    void (*on_up)(void *arg, bool up), void *arg);
/*
 * fn(arg, channel) for each NOTIFY the session gets (after a LISTEN the
 * caller sends, again each time the session comes up).
 */
void pgc_on_notify(struct pgc *c, void (*fn)(void *arg, const char *channel),
    void *arg);
/* Close the session; queued and in-flight queries get NULL. */
void pgc_free(struct pgc *c);
/* Is it up (connected, schema current)? */
bool pgc_up(const struct pgc *c);
/*
 * Queue sql with n text parameters (copied; NULL is SQL NULL).  Queries
 * queued in one loop iteration go out together, in order, as one
 * pipeline batch.  RETURN VALUE: 0, or -1 when out of memory.
 */
int pgc_query(struct pgc *c, const char *sql, int n,
    const char *const *params, pgc_result_fn fn, void *arg);
/* Queries queued or in flight. */
unsigned pgc_pending(const struct pgc *c);
/*
 * Retry at most every backoff_max_ms (at least 1 s; default 30 s), and
 * give up a connect (and its schema check) not done in connect_ms (0: no
 * deadline, the default; libpq's connect_timeout binds only its blocking
 * calls).  The backoff takes effect from the next attempt, the deadline
 * for the attempt under way too.
 */
void pgc_set_limits(struct pgc *c, int backoff_max_ms, int connect_ms);
/*
 * Drop the session now, as if it was lost (queries in flight get NULL,
 * on_up(false) if it was up), and make it again after the backoff: for a
 * caller whose answers stopped coming (a network partition that TCP
 * has not noticed yet).  Nothing when it is down already.
 */
void pgc_reset(struct pgc *c, const char *why);

#endif
