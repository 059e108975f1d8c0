/*
 * cluster_outbox.h — the leader drives the pages of a cluster (issue 19):
 * the outbox rows (notify_outbox, the same rows and idempotency keys as a
 * single tocsind's) claimed in PostgreSQL with FOR UPDATE SKIP LOCKED,
 * marked with the claiming node, and settled (sent, retried, dead) only by
 * that node.
 *
 * A node that becomes the leader first takes back what a former leader
 * had in flight (cob_takeover: rows "sending" under another claimer are
 * due again), so a page in flight when a leader dies is sent again —
 * once, with its idempotency key unchanged — by the next.  A former
 * leader's late settle changes nothing (the row is no longer claimed by
 * it).  Only the holder of the leadership claims (the caller's rule).
 *
 * Every function queues one statement on pg and calls back with its
 * result: nothing waits.  On the loop thread only.
 */
#ifndef TOCSIN_CLUSTER_OUTBOX_H
#define TOCSIN_CLUSTER_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

struct pgc;

/* A claimed row; valid during the callback only. */
struct cob_row {
	int64_t id, incident_id, next_at;
	int attempts;
	bool resend;		/* it was in flight under a former leader */
	const char *event, *channel, *contact, *address, *idem_key;
};

/*
 * Rows in flight under another claimer than node are due again;
 * done(arg, n) with how many (-1: it failed).
 */
int cob_takeover(struct pgc *pg, const char *node,
    void (*done)(void *arg, long n), void *arg);
/*
 * Claim up to limit pending rows due at now_ms (oldest due first) for
 * node.  fn(arg, rows, n) once they are node's (n 0: none due; n -1: the
 * claim failed, nothing claimed).
 */
int cob_claim(struct pgc *pg, const char *node, int64_t now_ms, int limit,
    void (*fn)(void *arg, const struct cob_row *rows, int n), void *arg);
/*
 * Settle row id claimed by node: sent at at_ms; or due again at next_ms
 * (retry); or given up (dead).  done(arg, ok): ok false when the row was
 * not node's any more or the statement failed.  done may be NULL.
 */
int cob_sent(struct pgc *pg, const char *node, int64_t id, int64_t at_ms,
    int attempts, void (*done)(void *arg, bool ok), void *arg);
int cob_retry(struct pgc *pg, const char *node, int64_t id, int attempts,
    int64_t next_ms, const char *error, void (*done)(void *arg, bool ok),
    void *arg);
int cob_dead(struct pgc *pg, const char *node, int64_t id, int attempts,
    const char *error, void (*done)(void *arg, bool ok), void *arg);

#endif
