/*
 * cluster.c — membership, ownership and leadership of a cluster of
 * tocsind on PostgreSQL (cluster.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "core/log.h"
#include "core/util.h"
#include "incident/cluster.h"
#include "incident/cluster_hash.h"
#include "incident/cluster_locations.h"
#include "incident/pg_conn.h"

struct cl_node {
	char *name;
	char *location;
	char *config_hash;
	char *api;		/* its API's address, or NULL */
	int64_t age_ms;		/* server's now() - last_seen */
	int64_t last_seen;	/* Unix ms, the server's clock */
	int checks;
	bool alive;
	bool leader;		/* its session holds the lock */
	bool config_differs;	/* from the leader's (logged once) */
};

struct cluster {
	struct event_base *base;
	struct pgc *pg;
	char *node, *location, *config_hash, *api;
	int64_t lease_ms;
	int64_t started;	/* Unix s */
	struct event *beat;
	bool leader;		/* we hold the lock */
	bool inflight;		/* a beat's batch is out */
	int64_t sent_ms;	/* mono, when it went */
	unsigned checks;
	struct cl_node *nodes;
	size_t nnodes;
	const char **live;	/* names of the alive nodes, sorted */
	const char **live_locs;	/* and their locations (or NULL) */
	size_t nlive;
	char *leader_name;	/* of the last read, or NULL */
	void (*on_change)(void *);
	void *arg;
};

static void
nodes_free(struct cl_node *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].location);
		free(v[i].config_hash);
		free(v[i].api);
	}
	free(v);
}

static void
changed(struct cluster *c)
{
	if (c->on_change != NULL)
		c->on_change(c->arg);
}

static void
set_leader(struct cluster *c, bool on, const char *why)
{
	if (c->leader == on)
		return;
	c->leader = on;
	if (on)
		log_notice("cluster: node %s is the leader", c->node);
	else
		log_warnx("cluster: node %s is no longer the leader: %s",
		    c->node, why);
	changed(c);
}

/* ---- a beat: lock (until held), own row, every row --------------------- */

static void
on_lock(void *arg, const PGresult *r)
{
	struct cluster *c = arg;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    PQntuples(r) != 1)
		return;
	if (strcmp(PQgetvalue(r, 0, 0), "t") == 0)
		set_leader(c, true, NULL);
}

static void
on_upsert(void *arg, const PGresult *r)
{
	struct cluster *c = arg;

	if (r != NULL && PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_PIPELINE_ABORTED)
		log_warnx("cluster: heartbeat of %s: %.*s", c->node,
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Did the live set or the leader change from the last read? */
static bool
differs(const char **live, size_t nlive, const char *leader,
    const struct cluster *c)
{
	size_t i;

	if (nlive != c->nlive || (leader == NULL) != (c->leader_name == NULL) ||
	    (leader != NULL && strcmp(leader, c->leader_name) != 0))
		return true;
	for (i = 0; i < nlive; i++)
		if (strcmp(live[i], c->live[i]) != 0)
			return true;
	return false;
}

static void
on_rows(void *arg, const PGresult *r)
{
	struct cluster *c = arg;
	struct cl_node *v;
	const char **live, *leader = NULL;
	size_t n, i, nlive = 0;
	bool change;

	c->inflight = false;
	if (r == NULL)
		return;		/* the session went: keep what we know */
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		if (PQresultStatus(r) != PGRES_PIPELINE_ABORTED)
			log_warnx("cluster: reading the nodes: %.*s",
			    (int)strcspn(PQresultErrorMessage(r), "\n"),
			    PQresultErrorMessage(r));
		return;
	}
	n = (size_t)PQntuples(r);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL ||
	    (live = calloc(n + 1, sizeof(*live))) == NULL) {
		free(v);
		return;
	}
	for (i = 0; i < n; i++) {
		v[i].name = xstrdup(PQgetvalue(r, (int)i, 0));
		v[i].location = PQgetisnull(r, (int)i, 1) ? NULL :
		    xstrdup(PQgetvalue(r, (int)i, 1));
		v[i].config_hash = xstrdup(PQgetvalue(r, (int)i, 2));
		v[i].age_ms = strtoll(PQgetvalue(r, (int)i, 3), NULL, 10);
		v[i].last_seen = strtoll(PQgetvalue(r, (int)i, 4), NULL, 10);
		v[i].checks = atoi(PQgetvalue(r, (int)i, 5));
		v[i].leader = strcmp(PQgetvalue(r, (int)i, 6), "t") == 0;
		v[i].api = PQgetisnull(r, (int)i, 7) ? NULL :
		    xstrdup(PQgetvalue(r, (int)i, 7));
		/* our row was written in this very batch */
		v[i].alive = v[i].age_ms < c->lease_ms ||
		    strcmp(v[i].name, c->node) == 0;
		if (v[i].alive)
			live[nlive++] = v[i].name;
		if (v[i].leader)
			leader = v[i].name;
	}
	qsort(live, nlive, sizeof(*live), name_cmp);
	change = differs(live, nlive, leader, c);
	free(c->live_locs);
	c->live_locs = calloc(nlive + 1, sizeof(*c->live_locs));
	for (i = 0; c->live_locs != NULL && i < nlive; i++) {
		size_t k;

		for (k = 0; k < n; k++)
			if (v[k].name == live[i])
				c->live_locs[i] = v[k].location;
	}
	if (change) {
		char list[512];
		size_t k, off = 0;

		list[0] = '\0';
		for (k = 0; k < nlive && off < sizeof(list); k++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", k > 0 ? ", " : "", live[k]);
		log_info("cluster: %zu live node%s (%s); leader %s", nlive,
		    nlive == 1 ? "" : "s", list, leader != NULL ? leader :
		    "none");
	}
	/* a configuration other than the leader's: said once, in the log */
	for (i = 0; leader != NULL && i < n; i++) {
		const char *ref = NULL, *was = NULL;
		size_t k;

		for (k = 0; k < n; k++)
			if (v[k].name == leader)
				ref = v[k].config_hash;
		for (k = 0; k < c->nnodes; k++)
			if (strcmp(c->nodes[k].name, v[i].name) == 0 &&
			    c->nodes[k].config_differs)
				was = c->nodes[k].config_hash;
		v[i].config_differs = v[i].alive && ref != NULL &&
		    strcmp(ref, v[i].config_hash) != 0;
		if (v[i].config_differs && (was == NULL ||
		    strcmp(was, v[i].config_hash) != 0))
			log_warnx("cluster: node %s runs another configuration "
			    "than the leader %s (checks hash %s, not %s)",
			    v[i].name, leader, v[i].config_hash, ref);
	}
	nodes_free(c->nodes, c->nnodes);
	free(c->live);
	free(c->leader_name);
	c->nodes = v;
	c->nnodes = n;
	c->live = live;
	c->nlive = nlive;
	c->leader_name = xstrdup(leader);
	if (change)
		changed(c);
}

static void
beat_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	char started[24], checks[16], key[16];
	const char *up[6] = { c->node, c->location, c->config_hash, started,
	    checks, c->api };
	const char *k[1] = { key };

	(void)fd;
	(void)what;
	if (!pgc_up(c->pg))
		return;
	if (c->inflight) {
		/* no answer in half a lease: the network may be gone */
		if (mono_ms() - c->sent_ms > c->lease_ms / 2) {
			set_leader(c, false, "PostgreSQL did not answer a "
			    "heartbeat in half a lease");
			c->inflight = false;
			pgc_reset(c->pg, "no answer to a heartbeat in half a "
			    "lease");
		}
		return;
	}
	snprintf(started, sizeof(started), "%lld", (long long)c->started);
	snprintf(checks, sizeof(checks), "%u", c->checks);
	snprintf(key, sizeof(key), "%d", CLUSTER_LEADER_KEY);
	c->inflight = true;
	c->sent_ms = mono_ms();
	if (!c->leader)
		pgc_query(c->pg, "SELECT pg_try_advisory_lock($1::bigint)", 1,
		    k, on_lock, c);
	pgc_query(c->pg,
	    "INSERT INTO cluster_nodes (name, location, config_hash, "
	    "started_at, last_seen, backend_pid, checks, api) "
	    "VALUES ($1, $2, $3, $4, now(), pg_backend_pid(), $5, $6) "
	    "ON CONFLICT (name) DO UPDATE SET location = EXCLUDED.location, "
	    "config_hash = EXCLUDED.config_hash, "
	    "started_at = EXCLUDED.started_at, last_seen = now(), "
	    "backend_pid = pg_backend_pid(), checks = EXCLUDED.checks, "
	    "api = EXCLUDED.api",
	    6, up, on_upsert, c);
	pgc_query(c->pg,
	    "SELECT n.name, n.location, n.config_hash, "
	    "(EXTRACT(EPOCH FROM now() - n.last_seen) * 1000)::bigint, "
	    "(EXTRACT(EPOCH FROM n.last_seen) * 1000)::bigint, n.checks, "
	    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' "
	    "AND l.granted AND l.pid = n.backend_pid AND l.classid = 0 "
	    "AND l.objid::bigint = $1::bigint AND l.objsubid = 1), n.api "
	    "FROM cluster_nodes n ORDER BY n.name", 1, k, on_rows, c);
}

/*
 * The server ends a silent session (TCP only) — and so releases the lock
 * — no sooner than a lease and 2 s after the last packet it had from us:
 * keepalives after ceil(lease) s of silence, two unanswered probes 1 s
 * apart; unacknowledged data given up after lease + 2 s.  We stop
 * counting ourselves the leader at most a lease after our last answered
 * beat (a beat goes every lease/4, and one unanswered for lease/2 ends
 * it), so two nodes never both lead, with 2 s to spare.
 */
static void
on_up(void *arg, bool up)
{
	struct cluster *c = arg;
	char idle[24], user[24];
	const char *p[2] = { idle, user };

	if (!up) {
		c->inflight = false;
		set_leader(c, false, "its session to PostgreSQL is gone");
		return;
	}
	snprintf(idle, sizeof(idle), "%lld",
	    (long long)((c->lease_ms + 999) / 1000));
	snprintf(user, sizeof(user), "%lld", (long long)(c->lease_ms + 2000));
	pgc_query(c->pg, "SELECT set_config('tcp_keepalives_idle', $1, "
	    "false), set_config('tcp_keepalives_interval', '1', false), "
	    "set_config('tcp_keepalives_count', '2', false), "
	    "set_config('tcp_user_timeout', $2, false)", 2, p, NULL, NULL);
	beat_cb(-1, 0, c);
}

struct cluster *
cluster_new(struct event_base *base, const struct cluster_opts *o,
    void (*on_change)(void *), void *arg)
{
	struct cluster *c = calloc(1, sizeof(*c));
	struct timeval tv;
	int64_t every;

	if (c == NULL)
		return NULL;
	c->base = base;
	c->lease_ms = o->lease_ms > 0 ? o->lease_ms : 10000;
	c->started = (int64_t)time(NULL);
	c->on_change = on_change;
	c->arg = arg;
	c->node = xstrdup(o->node);
	c->location = xstrdup(o->location);
	c->config_hash = xstrdup(o->config_hash != NULL ? o->config_hash :
	    "");
	c->api = xstrdup(o->api);
	every = c->lease_ms / 4 > 100 ? c->lease_ms / 4 : 100;
	tv.tv_sec = (time_t)(every / 1000);
	tv.tv_usec = (suseconds_t)(every % 1000) * 1000;
	if ((c->beat = event_new(base, -1, EV_PERSIST, beat_cb, c)) == NULL ||
	    event_add(c->beat, &tv) != 0 ||
	    (c->pg = pgc_new(base, o->database, on_up, c)) == NULL) {
		cluster_free(c);
		return NULL;
	}
	/* back within a lease, and never stuck in a connect into nowhere */
	pgc_set_limits(c->pg, (int)(c->lease_ms / 2), (int)c->lease_ms);
	return c;
}

void
cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	if (c->beat != NULL)
		event_free(c->beat);
	c->on_change = NULL;
	pgc_free(c->pg);
	nodes_free(c->nodes, c->nnodes);
	free(c->live);
	free(c->live_locs);
	free(c->leader_name);
	free(c->node);
	free(c->location);
	free(c->config_hash);
	free(c->api);
	free(c);
}

bool
cluster_is_leader(const struct cluster *c)
{
	return c->leader;
}

bool
cluster_connected(const struct cluster *c)
{
	return pgc_up(c->pg);
}

const char *const *
cluster_live(const struct cluster *c, size_t *n)
{
	*n = c->nlive;
	return c->live;
}

const char *
cluster_owner_of(const struct cluster *c, const char *check)
{
	long i;

	if (c->nlive == 0)	/* nothing read yet: ours, alone */
		return c->node;
	i = cluster_owner(check, c->live, c->nlive);
	return i < 0 ? NULL : c->live[i];
}

bool
cluster_owns(const struct cluster *c, const char *check)
{
	const char *o = cluster_owner_of(c, check);

	return o != NULL && strcmp(o, c->node) == 0;
}

const char *
cluster_owner_in(const struct cluster *c, const char *check, const char *loc)
{
	long i;

	if (c->nlive == 0 || c->live_locs == NULL)	/* nothing read yet */
		return c->location != NULL && strcmp(c->location, loc) == 0 ?
		    c->node : NULL;
	i = cluster_owner_at(check, loc, c->live, c->live_locs, c->nlive);
	return i < 0 ? NULL : c->live[i];
}

const char *
cluster_leader_api(const struct cluster *c)
{
	size_t i;

	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].leader && c->nodes[i].alive)
			return c->nodes[i].api;
	return NULL;
}

const char *
cluster_node(const struct cluster *c)
{
	return c->node;
}

void
cluster_set_checks(struct cluster *c, unsigned n)
{
	c->checks = n;
}

json_t *
cluster_json(const struct cluster *c)
{
	json_t *o = json_object(), *a = json_array();
	const char *ref = NULL;
	size_t i;

	if (o == NULL || a == NULL) {
		json_decref(o);
		json_decref(a);
		return NULL;
	}
	/* the configuration the others are compared with: the leader's */
	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].leader)
			ref = c->nodes[i].config_hash;
	for (i = 0; i < c->nnodes; i++) {
		const struct cl_node *n = &c->nodes[i];
		char at[32];

		rfc3339((time_t)(n->last_seen / 1000), at, sizeof(at));
		json_array_append_new(a, json_pack("{s:s, s:s?, s:b, s:b, "
		    "s:i, s:s, s:s, s:b, s:s?}", "name", n->name, "location",
		    n->location, "alive", n->alive, "leader", n->leader,
		    "checks", n->checks, "last_seen", at, "config_hash",
		    n->config_hash, "config_differs", ref != NULL &&
		    strcmp(ref, n->config_hash) != 0, "api", n->api));
	}
	json_object_set_new(o, "leader", c->leader_name != NULL ?
	    json_string(c->leader_name) : json_null());
	json_object_set_new(o, "node", json_string(c->node));
	json_object_set_new(o, "connected", json_boolean(pgc_up(c->pg)));
	json_object_set_new(o, "nodes", a);
	return o;
}
