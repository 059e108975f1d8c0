/*
 * cluster_hash.h — which node runs a check (issue 19): rendezvous
 * (highest-random-weight) hashing of the check's name over the live
 * nodes' names.
 *
 * Every node computes the same owner from the same list of live nodes,
 * in any order, with no coordination; when a node joins or leaves, only
 * the checks it wins or held move, every other check stays where it is.
 * The weight of (node, check) is a 64-bit hash of both names (FNV-1a
 * over node, a zero byte and check, then the splitmix64 finalizer); ties
 * (practically never) go to the node whose name sorts first.
 */
#ifndef TOCSIN_CLUSTER_HASH_H
#define TOCSIN_CLUSTER_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The weight of check on node. */
uint64_t cluster_weight(const char *node, const char *check);
/*
 * The index in nodes[0..n) of the node that runs check, or -1 if n is 0.
 */
long cluster_owner(const char *check, const char *const *nodes, size_t n);
/*
 * The same over the nodes of location loc only (node_locs[i] is node i's
 * location, NULL for none; loc NULL: every node), or -1 when none is
 * there: a check run from several places (cluster_locations.h).
 */
long cluster_owner_at(const char *check, const char *loc,
    const char *const *nodes, const char *const *node_locs, size_t n);

#endif
