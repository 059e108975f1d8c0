/*
 * store_follow.h — a follower's copy of the leader's incident log
 * (issue 19): the changesets the leader's mirror (store_mirror.c) puts in
 * store_log, applied in order to this node's own SQLite file, so that
 * every node reads the whole incident log locally.
 *
 * Every 250 ms the rows of store_log after the last one applied are read
 * (100 at most a time) and each changeset applied with
 * sqlite3changeset_apply: an insert of a row that is there already is
 * left out (its values are the leader's), an update whose old values
 * differ takes the leader's, a change of a missing row is left out, so
 * applying a changeset twice leaves the same rows.  The last sequence number applied is kept in state_path
 * (written after the apply, atomically): a follower killed between the
 * two applies that changeset again on restart, to the same effect.  A
 * follower further behind than store_log keeps (an hour) misses what was
 * pruned: catching up by copying the tables is not built.
 *
 * Only on a node that does not write the store itself.  On the loop
 * thread only.
 */
#ifndef TOCSIN_STORE_FOLLOW_H
#define TOCSIN_STORE_FOLLOW_H

#include <stdint.h>

struct event_base;
struct pgc;
struct sqlite3;

/* RETURN VALUE: 0, or -1 (logged). */
int sfollow_start(struct event_base *base, struct sqlite3 *db,
    struct pgc *pg, const char *state_path);
void sfollow_stop(void);
/* The last store_log seq applied (0: none). */
int64_t sfollow_applied(void);

#endif
