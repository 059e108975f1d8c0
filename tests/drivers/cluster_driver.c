/*
 * cluster_driver.c — one cluster member (src/incident/cluster.c) against
 * a real PostgreSQL, for tests/integration/test_cluster.py and
 * bench/cluster:
 *
 *   cluster_driver CONNINFO NODE LOCATION|- LEASE_MS NCHECKS [CONFIG_HASH
 *       [LOCATIONS]]
 *
 * Runs until SIGTERM/SIGINT.  Prints one JSON line (flushed) at start and
 * whenever the live nodes, the leader or this node's leadership change,
 * and once a second while nothing changes:
 *   {"t": UNIX_MS, "node": N, "leader": B, "connected": B,
 *    "live": [NAMES], "owned": [I, ...], "cluster": {GET /api/v1/cluster}}
 * owned: the indexes i of the checks "check<i>" (0 <= i < NCHECKS) this
 * node owns by rendezvous hashing over the live nodes.  With LOCATIONS
 * ("eu-1,us-1"), every check runs in each of those places: owned lists
 * the checks this node runs for its own location (cluster_owner_in).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/time.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/log.h"
#include "incident/cluster.h"

static struct event_base *base;
static struct cluster *cl;
static const char *node_name;
static long nchecks;
static const char *my_location;
static bool located;

static void
report(void)
{
	json_t *o, *live, *owned;
	const char *const *names;
	struct timeval tv;
	char name[32], *s;
	size_t n, i;
	long k;

	gettimeofday(&tv, NULL);
	names = cluster_live(cl, &n);
	live = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(live, json_string(names[i]));
	owned = json_array();
	for (k = 0; k < nchecks; k++) {
		snprintf(name, sizeof(name), "check%ld", k);
		if (located ? my_location != NULL && (s = (char *)
		    cluster_owner_in(cl, name, my_location)) != NULL &&
		    strcmp(s, node_name) == 0 : cluster_owns(cl, name))
			json_array_append_new(owned, json_integer(k));
	}
	o = json_pack("{s:I, s:b, s:b, s:o, s:o, s:o}", "t",
	    (json_int_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, "leader",
	    cluster_is_leader(cl), "connected", cluster_connected(cl), "live",
	    live, "owned", owned, "cluster", cluster_json(cl));
	s = json_dumps(o, JSON_COMPACT);
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

static void
on_change(void *arg)
{
	(void)arg;
	report();
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	report();
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopexit(base, NULL);
}

int
main(int argc, char *argv[])
{
	struct cluster_opts o;
	struct event *t, *s1, *s2;
	struct timeval sec = { 1, 0 };

	if (argc < 6 || argc > 8) {
		fprintf(stderr, "usage: cluster_driver CONNINFO NODE "
		    "LOCATION|- LEASE_MS NCHECKS [CONFIG_HASH [LOCATIONS]]\n");
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.database = argv[1];
	o.node = argv[2];
	o.location = strcmp(argv[3], "-") == 0 ? NULL : argv[3];
	o.lease_ms = atol(argv[4]);
	nchecks = atol(argv[5]);
	o.config_hash = argc >= 7 ? argv[6] : "same";
	node_name = o.node;
	my_location = o.location;
	located = argc == 8;	/* the list itself: every check, everywhere */
	log_init(true, LOG_INFO);
	base = event_base_new();
	if ((cl = cluster_new(base, &o, on_change, NULL)) == NULL) {
		fprintf(stderr, "cluster_driver: out of memory\n");
		return 1;
	}
	t = event_new(base, -1, EV_PERSIST, tick, NULL);
	event_add(t, &sec);
	s1 = evsignal_new(base, SIGTERM, on_signal, NULL);
	s2 = evsignal_new(base, SIGINT, on_signal, NULL);
	event_add(s1, NULL);
	event_add(s2, NULL);
	report();
	event_base_dispatch(base);
	cluster_free(cl);
	event_free(t);
	event_free(s1);
	event_free(s2);
	event_base_free(base);
	return 0;
}
