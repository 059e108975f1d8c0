/*
 * cluster_locations.c — a check's state by quorum of locations
 * (cluster_locations.h; the node of each location is cluster_hash.c's
 * cluster_owner_at).
 */
#include "incident/cluster_locations.h"

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
