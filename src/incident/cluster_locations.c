/*
 * cluster_locations.c — a check's node in each location, and its state by
 * quorum of locations (cluster_locations.h).
 */
#include <stdint.h>
#include <string.h>

#include "incident/cluster_hash.h"
#include "incident/cluster_locations.h"

long
cluster_owner_at(const char *check, const char *loc,
    const char *const *nodes, const char *const *node_locs, size_t n)
{
	uint64_t best = 0, w;
	long owner = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (node_locs[i] == NULL || strcmp(node_locs[i], loc) != 0)
			continue;
		w = cluster_weight(nodes[i], check);
		if (owner < 0 || w > best || (w == best &&
		    strcmp(nodes[i], nodes[owner]) < 0)) {
			best = w;
			owner = (long)i;
		}
	}
	return owner;
}

enum check_state
cluster_quorum_state(const enum check_state *states, size_t n, unsigned q,
    unsigned *known)
{
	/* how many locations saw at least OK, WARNING, CRITICAL */
	unsigned atleast[3] = { 0, 0, 0 };
	size_t i;
	int s;

	*known = 0;
	for (i = 0; i < n; i++) {
		if (states[i] != STATE_OK && states[i] != STATE_WARNING &&
		    states[i] != STATE_CRITICAL)
			continue;
		(*known)++;
		for (s = 0; s <= (int)states[i]; s++)
			atleast[s]++;
	}
	if (q == 0)
		q = 1;
	if (*known < q)
		return STATE_UNKNOWN;
	for (s = STATE_CRITICAL; s > STATE_OK; s--)
		if (atleast[s] >= q)
			return (enum check_state)s;
	return STATE_OK;
}
