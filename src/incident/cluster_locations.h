/*
 * cluster_locations.h — checks run from several places (issue 19): which
 * node of a location runs a check, and what the check's state is when
 * each location saw it on its own.
 *
 * A check with locations = { "eu-1", "us-1", "ap-1" } runs on one live
 * node in each of them: rendezvous hashing (cluster_hash.h) of the check
 * over the live nodes of that location only, so a node of eu-1 dying
 * moves its checks to another node of eu-1 and never to another place.
 *
 * With quorum = q, the check's state is the q-th worst of the states the
 * locations reported (OK < WARNING < CRITICAL): the worst state at least
 * q locations agree the check is in, or worse.  {CRITICAL, OK, OK}, q 2:
 * OK (one place's network trouble pages nobody); {CRITICAL, CRITICAL,
 * OK}: CRITICAL; {CRITICAL, WARNING, OK}: WARNING.  A location without a
 * result (no live node there, no result yet, or UNKNOWN) counts for
 * nothing; fewer than q with a result is UNKNOWN.
 */
#ifndef TOCSIN_CLUSTER_LOCATIONS_H
#define TOCSIN_CLUSTER_LOCATIONS_H

#include <stddef.h>

#include "core/state.h"
#include "incident/cluster_hash.h"	/* cluster_owner_at(): the node */

/*
 * The state of a check from states[0..n) (one a location; STATE_UNKNOWN
 * or STATE_PENDING: no result) with quorum q (1..n).  *known: how many
 * locations had a result.
 */
enum check_state cluster_quorum_state(const enum check_state *states,
    size_t n, unsigned q, unsigned *known);

#endif
