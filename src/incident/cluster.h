/*
 * cluster.h — this node's membership of a cluster of tocsind sharing one
 * PostgreSQL database (issue 19): heartbeat rows, who is alive, which
 * node owns a check, and which node leads (correlates and pages).
 *
 * Everything lives in PostgreSQL, on one asynchronous session (pg_conn):
 *
 *   - Membership: every beat (lease / 4) a node upserts its row of
 *     cluster_nodes (last_seen = the server's now()) and reads every row
 *     in the same batch; a node is alive while the server's now() minus
 *     its last_seen is under the lease.  One clock, the server's: the
 *     nodes' clocks may disagree.
 *   - Ownership: rendezvous hashing (cluster_hash.h) of the check's name
 *     over the live nodes, so a membership change moves only the checks
 *     of the node that came or went.
 *   - Leadership: a session-level advisory lock (pg_try_advisory_lock),
 *     tried every beat until held.  The server releases it when the
 *     session ends: at once for a process that dies (its socket closes),
 *     within the server's TCP keepalive/user timeouts (set per session
 *     from the lease) for a node cut off.  A node stops counting itself
 *     the leader the moment its session is gone, or its beat is not
 *     answered within half a lease (it then drops the session itself).
 *   - While the session is down the node keeps the membership it last
 *     read (its checks stay where they were) and is not the leader.
 *
 * On the loop thread only.
 */
#ifndef TOCSIN_CLUSTER_H
#define TOCSIN_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct cluster;

struct cluster_opts {
	const char *database;		/* libpq conninfo or URI */
	const char *node;		/* this node's name */
	const char *location;		/* or NULL */
	const char *config_hash;	/* of this node's configuration */
	const char *api;		/* where its API answers, or NULL */
	int64_t lease_ms;
};

/* The advisory lock key of the leadership (pg_try_advisory_lock(KEY)). */
#define CLUSTER_LEADER_KEY	7630161

/*
 * Join: the session is made at once, the first beat as soon as it is up.
 * on_change(arg) runs when the live nodes, the leader or this node's
 * leadership change.  NULL when out of memory.
 */
struct cluster *cluster_new(struct event_base *base,
    const struct cluster_opts *o, void (*on_change)(void *arg), void *arg);
void cluster_free(struct cluster *c);

/* Does this node hold the leadership now? */
bool cluster_is_leader(const struct cluster *c);
/* Is the session up? */
bool cluster_connected(const struct cluster *c);
/* The name of the node that owns check (of the live ones), or NULL. */
const char *cluster_owner_of(const struct cluster *c, const char *check);
/* Does this node own check? */
bool cluster_owns(const struct cluster *c, const char *check);
/*
 * A check run from several places: the live node of location loc that
 * runs it (cluster_locations.h), or NULL when no live node is there.
 */
const char *cluster_owner_in(const struct cluster *c, const char *check,
    const char *loc);
/* The live nodes' names, sorted; *n of them. */
const char *const *cluster_live(const struct cluster *c, size_t *n);
/* The API address of the live leader (NULL: none, or not said). */
const char *cluster_leader_api(const struct cluster *c);
/* This node's name. */
const char *cluster_node(const struct cluster *c);
/* How many checks this node says it runs (in its row; 0 by default). */
void cluster_set_checks(struct cluster *c, unsigned n);
/*
 * The membership as GET /api/v1/cluster shows it: {"leader": NAME|null,
 * "node": THIS, "connected": B, "nodes": [{"name", "location", "alive",
 * "leader", "checks", "last_seen", "config_hash", "config_differs",
 * "api"}]}.
 */
json_t *cluster_json(const struct cluster *c);

#endif
