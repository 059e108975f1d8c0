/*
 * test_cluster_locations.c — a check's node in each location, and its
 * state by quorum (src/incident/cluster_locations.c).
 */
#include <stdio.h>
#include <string.h>

#include "incident/cluster_hash.h"
#include "incident/cluster_locations.h"
#include "tap.h"

static const char *nodes[] = { "eu-a", "eu-b", "us-a", "us-b", "ap-a",
    "nowhere" };
static const char *locs[] = { "eu-1", "eu-1", "us-1", "us-1", "ap-1",
    NULL };

/* Each check: one node in each location, a node of that location. */
static void
one_node_a_location(void)
{
	const char *where[] = { "eu-1", "us-1", "ap-1" };
	char name[32];
	int i, k, bad = 0, per[6] = { 0 };

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "web-%d", i);
		for (k = 0; k < 3; k++) {
			long o = cluster_owner_at(name, where[k], nodes, locs,
			    6);

			if (o < 0 || strcmp(locs[o], where[k]) != 0)
				bad++;
			else
				per[o]++;
		}
	}
	CHECK_NUM(bad, 0);
	/* two nodes share a location's checks about evenly */
	printf("# eu-a %d, eu-b %d, us-a %d, us-b %d\n", per[0], per[1],
	    per[2], per[3]);
	CHECK(per[0] > 400 && per[1] > 400);
	CHECK(per[2] > 400 && per[3] > 400);
	CHECK_NUM(per[4], 1000);
	CHECK_NUM(per[5], 0);
	CHECK_NUM(cluster_owner_at("x", "sa-1", nodes, locs, 6), -1);
}

/* eu-b gone: its checks go to eu-a, no check of another place moves. */
static void
a_dead_node_s_checks_stay_in_its_location(void)
{
	const char *alive[] = { "eu-a", "us-a", "us-b", "ap-a" };
	const char *alocs[] = { "eu-1", "us-1", "us-1", "ap-1" };
	char name[32];
	int i, moved_other = 0, eu_not_a = 0;

	for (i = 0; i < 1000; i++) {
		long b, a;

		snprintf(name, sizeof(name), "web-%d", i);
		b = cluster_owner_at(name, "us-1", nodes, locs, 6);
		a = cluster_owner_at(name, "us-1", alive, alocs, 4);
		if (strcmp(nodes[b], alive[a]) != 0)
			moved_other++;
		a = cluster_owner_at(name, "eu-1", alive, alocs, 4);
		if (strcmp(alive[a], "eu-a") != 0)
			eu_not_a++;
	}
	CHECK_NUM(moved_other, 0);
	CHECK_NUM(eu_not_a, 0);
}

/* The same answers as cluster_owner over the location's nodes alone. */
static void
same_as_rendezvous_over_the_location(void)
{
	const char *eu[] = { "eu-a", "eu-b" };
	char name[32];
	int i, bad = 0;

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		if (strcmp(nodes[cluster_owner_at(name, "eu-1", nodes, locs,
		    6)], eu[cluster_owner(name, eu, 2)]) != 0)
			bad++;
	}
	CHECK_NUM(bad, 0);
}

static enum check_state
q(unsigned quorum, unsigned *known, enum check_state a, enum check_state b,
    enum check_state c)
{
	enum check_state s[3] = { a, b, c };

	return cluster_quorum_state(s, 3, quorum, known);
}

static void
quorum_of_locations(void)
{
	unsigned k;

	/* one place's trouble pages nobody; two places' does */
	CHECK_NUM(q(2, &k, STATE_CRITICAL, STATE_OK, STATE_OK), STATE_OK);
	CHECK_NUM(k, 3);
	CHECK_NUM(q(2, &k, STATE_CRITICAL, STATE_CRITICAL, STATE_OK),
	    STATE_CRITICAL);
	/* two agree on "at least WARNING" */
	CHECK_NUM(q(2, &k, STATE_CRITICAL, STATE_WARNING, STATE_OK),
	    STATE_WARNING);
	CHECK_NUM(q(1, &k, STATE_CRITICAL, STATE_OK, STATE_OK),
	    STATE_CRITICAL);
	CHECK_NUM(q(3, &k, STATE_CRITICAL, STATE_CRITICAL, STATE_WARNING),
	    STATE_WARNING);
	/* a location without a result counts for nothing */
	CHECK_NUM(q(2, &k, STATE_CRITICAL, STATE_UNKNOWN, STATE_OK),
	    STATE_OK);
	CHECK_NUM(k, 2);
	CHECK_NUM(q(2, &k, STATE_CRITICAL, STATE_PENDING, STATE_UNKNOWN),
	    STATE_UNKNOWN);
	CHECK_NUM(k, 1);
	CHECK_NUM(q(2, &k, STATE_CRITICAL, STATE_CRITICAL, STATE_UNKNOWN),
	    STATE_CRITICAL);
}

int
main(void)
{
	RUN(one_node_a_location);
	RUN(a_dead_node_s_checks_stay_in_its_location);
	RUN(same_as_rendezvous_over_the_location);
	RUN(quorum_of_locations);
	return TAP_END();
}
