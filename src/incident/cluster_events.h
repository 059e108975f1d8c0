/*
 * cluster_events.h — the events every node of a cluster sends to the
 * leader through PostgreSQL (issue 19): what its checks saw, written in
 * order, kept on local disk while PostgreSQL cannot be reached, and
 * consumed by the leader exactly once.
 *
 * Sending (any node): cev_add() queues an event; at the end of the loop
 * iteration the queued events go out as one transaction (BEGIN, an INSERT
 * each, COMMIT) into cluster_events, one transaction in flight at a time,
 * so a node's events commit in the order it added them.  An event is
 * *durable* — on_durable says so — once its transaction committed, or,
 * when PostgreSQL is down or the transaction failed, once it is in the
 * local spool (spool.c, fdatasync'd once per batch).  While the spool
 * holds anything, new events go behind it; when the session is up again
 * the spool is sent in order in one transaction (its bound bounds it) and
 * cleared once that committed.  Each event carries (node, node_seq),
 * unique per node across restarts (the start time in ms × 10^6 plus a
 * count), and the INSERT does nothing on a pair already there: an event
 * sent again (its commit's answer lost with the session) is stored once.
 * Past the spool's bound an event is dropped: counted, logged once a
 * minute, never reported durable.
 *
 * Consuming (the leader): cev_consume() deletes up to limit of the oldest
 * events (FOR UPDATE SKIP LOCKED) and hands them to fn inside the same
 * transaction, so whatever fn queues on the session commits with the
 * deletion or not at all: a leader that dies mid-way leaves the events to
 * the next one, and what it made of them is not there twice.  A node's
 * events come in its order; events of different nodes in the order their
 * rows were numbered (a transaction that commits late may put an older
 * event of another node after a newer one).
 *
 * A consume keeps a transaction open across round trips: its session
 * must not carry other work meanwhile (it would join the transaction).
 *
 * On the loop thread only.
 */
#ifndef TOCSIN_CLUSTER_EVENTS_H
#define TOCSIN_CLUSTER_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

struct event_base;
struct pgc;
struct cev;

/* Every transaction of events NOTIFYs this channel: a LISTENing leader
 * consumes at once instead of at its next poll. */
#define CEV_CHANNEL	"tocsin_events"

/*
 * Send events of node over pg, spooling at spool_path (at most
 * spool_max bytes).  on_durable(arg, node_seq) for each event, in order,
 * once it is durable.  NULL (logged) when the spool cannot be opened.
 */
struct cev *cev_new(struct event_base *base, struct pgc *pg,
    const char *node, const char *spool_path, uint64_t spool_max,
    void (*on_durable)(void *arg, int64_t node_seq), void *arg);
/*
 * Stop; what is not durable yet is lost (nobody was told it was).  The
 * session goes first (pgc_free: the transaction in flight calls back
 * into e as it fails), then e.
 */
void cev_free(struct cev *e);
/*
 * Queue an event of check at at_ms with body (any text, JSON by
 * convention).  RETURN VALUE: its node_seq, or -1 (out of memory).
 */
int64_t cev_add(struct cev *e, const char *check, int64_t at_ms,
    const char *body);

struct cev_stats {
	uint64_t added, committed, spooled, dropped;
	uint64_t in_spool;		/* records the spool holds now */
	uint64_t queued;		/* neither committed nor spooled yet */
};
void cev_stats(const struct cev *e, struct cev_stats *st);

/* One consumed event; valid during fn only. */
struct cev_row {
	int64_t seq, node_seq, at_ms;
	const char *node, *check, *body;
};

/*
 * Consume up to limit events over pg (a BEGIN … COMMIT of its own):
 * fn(arg, rows, n) may queue its own writes on pg, which commit with the
 * deletion; then done(arg, committed, n).  committed false: nothing
 * happened (the events stay).  RETURN VALUE: 0, -1 (out of memory).
 */
int cev_consume(struct pgc *pg, int limit,
    void (*fn)(void *arg, const struct cev_row *rows, int n),
    void (*done)(void *arg, bool committed, int n), void *arg);

#endif
