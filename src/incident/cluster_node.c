/*
 * cluster_node.c — tocsind as a node of a cluster (cluster { }, issue 19):
 * the pieces of cluster.h, cluster_checks.h and cluster_events.h put to
 * work on the daemon's checks, correlator and pager.
 *
 *   - Checks: a node runs only the checks it owns (sched_set_gate).  A
 *     check it comes to own is held back until its state is loaded from
 *     PostgreSQL (soft/hard, attempt, flap history, last result), then
 *     run at once if overdue; every result of an owned check is saved
 *     back (one upsert, pipelined with the loop iteration's others).  The
 *     checks a node does not own show the state their owner saved,
 *     refreshed every 2 s, so any node's /api/v1/checks is the cluster's.
 *   - Events: the node's hard changes do not reach its own correlator
 *     (bus_split); they go to PostgreSQL (cev, spooled on local disk while
 *     it is away).  The leader consumes every node's events in order and
 *     hands them to its correlator (bus_publish_correlated), committing
 *     the incident log before the events' deletion commits: a leader that
 *     dies in between leaves them to the next one, which applies them
 *     again (the correlator takes a repeated hard change as no change).
 *   - Paging: only the leader sends and escalates (notify_set_active).
 *   - API: a follower passes the leader's routes (incidents, paging,
 *     maintenance, changes, problems, SLOs) on to the leader's API
 *     (api_set_forward); GET /api/v1/cluster shows the membership.
 *   - PostgreSQL unreachable at start: after one lease without a
 *     membership read the node runs every check (alone, as a single node
 *     would) until it can read one.
 *
 * On the loop thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <jansson.h>

#include "api/api.h"
#include "api/api_checks.h"
#include "core/bus.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/sched.h"
#include "core/util.h"
#include "incident/cluster.h"
#include "incident/cluster_checks.h"
#include "incident/cluster_events.h"
#include "incident/cluster_locations.h"
#include "incident/cluster_node.h"
#include "incident/incident.h"
#include "incident/incident_int.h"
#include "incident/idb.h"
#include "incident/pg_conn.h"
#include "incident/slo.h"
#include "incident/store.h"
#include "incident/store_follow.h"
#include "incident/store_mirror.h"
#include "notify/notify.h"

/* a check's place on this node */
enum { CN_OTHER = 0, CN_LOADING = 1, CN_MINE = 2 };

/* the node's part in the incident log */
enum cn_role {
	CN_FOLLOWER,	/* applies the leader's changesets (store_follow) */
	CN_PROMOTING,	/* holds the lock, applying the rest of store_log */
	CN_LEADER,	/* correlates, pages, mirrors (store_mirror) */
};

#define CN_TICK_MS	250
#define CN_REFRESH_MS	2000
#define CN_FULL_MS	30000		/* and every row, this often */
#define CN_CONSUME	500		/* events a consume takes at most */
#define CN_SPOOL_MAX	(64ULL << 20)	/* bytes of spooled events */

/* One place's last result of a check (check_locations). */
struct cn_loc {
	int state;		/* -1: none */
	char *summary, *node;
	int64_t at_ms;
};

/* A located check: its places' results, and what was combined. */
struct cn_locs {
	struct cn_loc *v;	/* c->nlocations */
	int64_t combined_ms;	/* newest place result combined so far */
	int64_t combined_at;	/* mono, when */
};

static struct {
	struct event_base *base;
	struct cluster *cl;
	struct pgc *pg;		/* check states: saves, loads, refreshes */
	struct pgc *pgev;	/* this node's events out */
	struct pgc *pgcons;	/* the leader's consume */
	struct pgc *pgmir;	/* the leader's mirror of its log */
	enum cn_role role;
	int64_t promote_to;	/* store_log seq to apply first; -1 asking */
	char *follow_state;	/* store_follow's state file */
	struct cev *ev;
	char *node;
	char *location;		/* this node's, or NULL */
	char *api;		/* the address the others forward to */
	/* checks run from several places (locations = { … }) */
	uint8_t *runs_loc;	/* per check idx: this node runs it for its
				 * location */
	uint8_t *saving;	/* per check idx: to save this loop turn */
	struct cn_saved { uint32_t sig; int64_t at; } *saved;
	unsigned nsaving;
	struct event *flush;	/* flush_saves */
	struct cn_locs *locs;	/* per check idx: each place's last result */
	bool loc_reading;
	unsigned nlocated;
	struct config *cf;	/* the arrays below are this config's */
	unsigned n;
	uint8_t *place;		/* per check idx: CN_* */
	char **ran_by;		/* per check idx: node of its last result */
	unsigned long gen;	/* bumped on reconfigure: old loads dropped */
	bool loads_wanted;	/* a takeover load failed: try again */
	bool refreshing, consuming, consume_again, leader, alone;
	struct event *kick;		/* consume() from a clean stack */
	int64_t started_ms, last_refresh, lease_ms;
	int64_t last_full;		/* mono ms of the last full refresh */
	int64_t refreshed_wall;		/* Unix s of the last refresh */
	/*
	 * A check's state is saved only once the events its results made
	 * are durable: a save that overtook its event, then a kill, would
	 * hand the next owner a hard state whose event nobody has.
	 */
	int64_t last_seq, durable_seq;	/* of this node's events */
	struct cn_wait { unsigned idx; unsigned long gen; int64_t seq; } *waits;
	size_t nwaits, capwaits, headwaits;
	void (*release)(void);		/* replies held for events */
	struct event *tick;
} cn;

static int64_t
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
set_ran_by(unsigned idx, const char *node)
{
	if (idx >= cn.n || node == NULL)
		return;
	if (cn.ran_by[idx] != NULL && strcmp(cn.ran_by[idx], node) == 0)
		return;
	free(cn.ran_by[idx]);
	cn.ran_by[idx] = strdup(node);
}

/* ---- the checks: who runs what ----------------------------------------- */

static bool
runs_here(const struct check *c)
{
	if (cn.cf != daemon_g.cf || c->idx >= cn.n)
		return false;
	if (c->nlocations > 0)
		return cn.runs_loc[c->idx] != 0;
	return cn.place[c->idx] == CN_MINE;
}

/*
 * Checks fed by what reaches one node — a heartbeat's pushes, traps —
 * or computed from the incident log (an SLO) run on the leader, and the
 * API passes their pushes on to it.
 */
static bool
leader_only(const struct check *c)
{
	static const char *const types[] = { "heartbeat", "slo", "trap",
	    "trap_listener", NULL };
	const char *t = ctype_name(c->type);
	int i;

	for (i = 0; t != NULL && types[i] != NULL; i++)
		if (strcmp(t, types[i]) == 0)
			return true;
	return false;
}

/* Is c's state machine this node's (it owns c, or combines its places)? */
static bool
owns_state(const struct check *c)
{
	return cn.cf == daemon_g.cf && c->idx < cn.n &&
	    cn.place[c->idx] == CN_MINE;
}

/* Does this node's location run c? */
static bool
in_locations(const struct check *c)
{
	unsigned i;

	for (i = 0; cn.location != NULL && i < c->nlocations; i++)
		if (strcmp(c->locations[i], cn.location) == 0)
			return true;
	return false;
}

static const char *
ran_by(const struct check *c)
{
	if (cn.cf != daemon_g.cf || c->idx >= cn.n)
		return NULL;
	return cn.ran_by[c->idx];
}

/* A takeover's load: names asked for, under which gen. */
struct cn_load {
	unsigned long gen;
	bool refresh;		/* the 2 s refresh of the others' checks */
	size_t n;
	char **names;
};

static void
load_free(struct cn_load *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l);
}

/* v (a row of check_state) into c. */
static void
apply_row(struct check *c, const struct ccs_state *v)
{
	c->st = v->st;
	c->st_real = v->st;
	c->local = false;
	if (v->summary != NULL) {
		free(c->last.summary);
		c->last.summary = strdup(v->summary);
	}
	if (v->last_run_ms > 0)
		c->last_check = (time_t)(v->last_run_ms / 1000);
	set_ran_by(c->idx, v->node);
}

static void
on_load(void *arg, const struct ccs_state *v, long k)
{
	struct cn_load *l = arg;
	struct check *c;
	int64_t now = wall_ms();
	size_t i;
	long j;

	if (l->refresh)
		cn.refreshing = false;
	if (l->gen != cn.gen || cn.cf != daemon_g.cf) {
		load_free(l);
		return;
	}
	if (k < 0) {
		if (!l->refresh)
			cn.loads_wanted = true;	/* the tick tries again */
		load_free(l);
		return;
	}
	for (j = 0; j < k; j++) {
		if ((c = conf_check(cn.cf, v[j].name)) == NULL)
			continue;
		if (l->refresh ? cn.place[c->idx] != CN_OTHER :
		    cn.place[c->idx] != CN_LOADING)
			continue;	/* its place changed meanwhile */
		apply_row(c, &v[j]);
	}
	if (!l->refresh) {
		/* the ones loaded (or never run anywhere) are ours now */
		for (i = 0; i < l->n; i++) {
			if ((c = conf_check(cn.cf, l->names[i])) == NULL ||
			    cn.place[c->idx] != CN_LOADING)
				continue;
			cn.place[c->idx] = CN_MINE;
			set_ran_by(c->idx, cn.node);
			if (c->last_check == 0 || now - (int64_t)c->last_check *
			    1000 >= c->interval_ms)
				sched_run_now(c);	/* overdue */
			else
				sched_resume(c);
		}
	}
	load_free(l);
}

/* Ask for the rows of the checks being taken over (CN_LOADING). */
static void
load_taken(void)
{
	struct cn_load *l;
	unsigned i;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->names = calloc(cn.n + 1, sizeof(*l->names))) == NULL) {
		free(l);
		return;
	}
	l->gen = cn.gen;
	for (i = 0; i < cn.n; i++)
		if (cn.place[i] == CN_LOADING &&
		    (l->names[l->n] = strdup(cn.cf->checks[i]->name)) != NULL)
			l->n++;
	if (l->n == 0 || ccs_load(cn.pg, (const char *const *)l->names, l->n,
	    on_load, l) != 0)
		load_free(l);
}

/*
 * The others' checks as their owners saved them: every 2 s the rows whose
 * state changed since the last read (a few), every 30 s all of them (the
 * last result's time and summary).  Not the name list of every check:
 * a node reading 20 000 rows every 2 s cost PostgreSQL more than the
 * checks did.
 */
static void
refresh(int64_t now)
{
	struct cn_load *l;
	int64_t since;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return;
	l->gen = cn.gen;
	l->refresh = true;
	since = now - cn.last_full >= CN_FULL_MS ? 0 :
	    cn.refreshed_wall - 2;	/* seconds: margin for the rounding */
	if (ccs_load_others(cn.pg, cn.node, since, on_load, l) != 0) {
		load_free(l);
		return;
	}
	if (since == 0)
		cn.last_full = now;
	cn.refreshed_wall = wall_ms() / 1000;
	cn.last_refresh = now;
	cn.refreshing = true;
}

/* Membership or leadership changed (or a tick): who runs what now. */
static void
recompute(void)
{
	const char *const *live;
	unsigned i, mine = 0;
	bool takes = false;
	size_t nlive;

	if (cn.cf != daemon_g.cf)
		return;
	live = cluster_live(cn.cl, &nlive);
	(void)live;
	for (i = 0; i < cn.n; i++) {
		struct check *c = cn.cf->checks[i];
		bool own = nlive == 0 ? cn.alone : leader_only(c) ?
		    cn.role == CN_LEADER : cluster_owns(cn.cl, c->name);

		if (c->nlocations > 0) {
			const char *r = NULL;
			bool run;

			if (in_locations(c))
				r = nlive > 0 ? cluster_owner_in(cn.cl, c->name,
				    cn.location) : cn.alone ? cn.node : NULL;
			run = r != NULL && strcmp(r, cn.node) == 0;
			if (run && !cn.runs_loc[i]) {
				cn.runs_loc[i] = 1;
				sched_run_now(c);	/* its place's first */
			}
			cn.runs_loc[i] = run;
		}
		if (!own)
			cn.place[i] = CN_OTHER;
		else if (cn.place[i] == CN_OTHER) {
			cn.place[i] = CN_LOADING;
			takes = true;
		}
		if (own)
			mine++;
	}
	cluster_set_checks(cn.cl, mine);
	if (takes) {
		if (!cluster_connected(cn.cl) && cn.alone) {
			/* nothing to load from: go on from what we have */
			for (i = 0; i < cn.n; i++)
				if (cn.place[i] == CN_LOADING) {
					cn.place[i] = CN_MINE;
					set_ran_by(i, cn.node);
					sched_run_now(cn.cf->checks[i]);
				}
		} else
			load_taken();
	}
}

static void
on_change(void *arg)
{
	size_t nlive;

	(void)arg;
	if (cluster_live(cn.cl, &nlive) != NULL && nlive > 0 && cn.alone) {
		log_info("cluster: membership read; node %s runs only its "
		    "own checks again", cn.node);
		cn.alone = false;
	}
	recompute();
}

/* ---- checks run from several places ------------------------------------ */

/* A PostgreSQL text[] literal of the located checks' names. */
static char *
located_names(void)
{
	const char **v;
	char *out;
	size_t n = 0, i;

	if ((v = calloc(cn.n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < cn.n; i++)
		if (cn.cf->checks[i]->nlocations > 0)
			v[n++] = cn.cf->checks[i]->name;
	out = ccs_array_literal(v, n);
	free(v);
	return out;
}

/* A place's result: into check_locations, not the state machine. */
static bool
take_result(struct check *c, struct result *r)
{
	char state[8], at[24];
	const char *p[6] = { c->name, cn.location, state, r->summary, at,
	    cn.node };

	if (cn.cl == NULL || c->nlocations == 0 || !in_locations(c))
		return false;
	snprintf(state, sizeof(state), "%d", (int)(r->local_err != 0 ?
	    STATE_UNKNOWN : r->state));
	snprintf(at, sizeof(at), "%lld", (long long)wall_ms());
	if (pgc_query(cn.pg, "INSERT INTO check_locations AS l (name, "
	    "location, state, summary, at_ms, node) VALUES ($1, $2, $3, $4, "
	    "$5, $6) ON CONFLICT (name, location) DO UPDATE SET state = "
	    "EXCLUDED.state, summary = EXCLUDED.summary, at_ms = "
	    "EXCLUDED.at_ms, node = EXCLUDED.node WHERE l.at_ms <= "
	    "EXCLUDED.at_ms", 6, p, NULL, NULL) != 0)
		log_warnx("cluster: check %s: its result from %s is lost (out "
		    "of memory)", c->name, cn.location);
	return true;
}

/* Combine the places' results of c into one, if a new one came. */
static void
combine(struct check *c, struct cn_locs *l, int64_t now)
{
	enum check_state states[64];
	struct result r;
	char buf[1024];
	size_t off = 0;
	unsigned k, known, fresh = 0, newer = 0;
	int64_t newest = 0, stale = 2 * c->interval_ms + c->timeout_ms +
	    cn.lease_ms, every;
	enum check_state st;

	for (k = 0; k < c->nlocations && k < 64; k++) {
		const struct cn_loc *x = &l->v[k];

		states[k] = STATE_UNKNOWN;	/* no result: counts for nothing */
		if (x->state < 0 || now - x->at_ms > stale)
			continue;
		states[k] = (enum check_state)x->state;
		fresh++;
		if (x->at_ms > l->combined_ms)
			newer++;
		if (x->at_ms > newest)
			newest = x->at_ms;
	}
	if (newer == 0)
		return;
	/* once every place has spoken, or once an interval */
	every = !c->st.hard && c->st.state != STATE_OK && c->st.state !=
	    STATE_PENDING ? c->retry_ms : c->interval_ms;
	if (newer < fresh && mono_ms() - l->combined_at < every)
		return;
	st = cluster_quorum_state(states, k, (unsigned)c->quorum, &known);
	off += (size_t)snprintf(buf, sizeof(buf), "%s in %u of %u location%s "
	    "(quorum %d):", state_name(st), known, c->nlocations,
	    c->nlocations == 1 ? "" : "s", c->quorum);
	for (k = 0; k < c->nlocations && k < 64 && off < sizeof(buf); k++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "%s %s %s%s%s", k > 0 ? ";" : "", c->locations[k],
		    l->v[k].state >= 0 && states[k] == (enum check_state)
		    l->v[k].state ? state_name(states[k]) : "-",
		    l->v[k].summary != NULL && l->v[k].state >= 0 ? " " : "",
		    l->v[k].summary != NULL && l->v[k].state >= 0 ?
		    l->v[k].summary : "");
	memset(&r, 0, sizeof(r));
	r.state = st;
	r.summary = result_text(buf, RESULT_SUMMARY_MAX, true);
	l->combined_ms = newest;
	l->combined_at = mono_ms();
	sched_result_combined(c, &r);
}

static void
on_locations(void *arg, const PGresult *r)
{
	int64_t now = wall_ms();
	unsigned i, k;
	int j;

	(void)arg;
	cn.loc_reading = false;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    cn.cf != daemon_g.cf)
		return;
	for (j = 0; j < PQntuples(r); j++) {
		struct check *c = conf_check(cn.cf, PQgetvalue(r, j, 0));
		const char *loc = PQgetvalue(r, j, 1);
		struct cn_locs *l;

		if (c == NULL || c->nlocations == 0)
			continue;
		l = &cn.locs[c->idx];
		if (l->v == NULL && (l->v = calloc(c->nlocations,
		    sizeof(*l->v))) == NULL)
			continue;
		for (k = 0; k < c->nlocations; k++) {
			if (strcmp(c->locations[k], loc) != 0)
				continue;
			l->v[k].state = atoi(PQgetvalue(r, j, 2));
			free(l->v[k].summary);
			l->v[k].summary = PQgetisnull(r, j, 3) ? NULL :
			    strdup(PQgetvalue(r, j, 3));
			l->v[k].at_ms = strtoll(PQgetvalue(r, j, 4), NULL, 10);
			free(l->v[k].node);
			l->v[k].node = strdup(PQgetvalue(r, j, 5));
		}
	}
	for (i = 0; i < cn.n; i++) {
		struct check *c = cn.cf->checks[i];

		if (c->nlocations > 0 && cn.place[i] == CN_MINE &&
		    cn.locs[i].v != NULL)
			combine(c, &cn.locs[i], now);
	}
}

static void
read_locations(void)
{
	char *names;
	const char *p[1];

	if (cn.nlocated == 0 || cn.loc_reading || !pgc_up(cn.pg) ||
	    (names = located_names()) == NULL)
		return;
	p[0] = names;
	if (pgc_query(cn.pg, "SELECT name, location, state, summary, at_ms, "
	    "node FROM check_locations WHERE name = ANY($1::text[])", 1, p,
	    on_locations, NULL) == 0)
		cn.loc_reading = true;
	free(names);
}

/* GET /api/v1/checks: a located check's places. */
static void
check_extra(const struct check *c, json_t *o)
{
	const struct cn_locs *l;
	json_t *a;
	unsigned k;

	if (c->nlocations == 0 || cn.cf != daemon_g.cf || c->idx >= cn.n)
		return;
	l = &cn.locs[c->idx];
	if ((a = json_array()) == NULL)
		return;
	for (k = 0; k < c->nlocations; k++) {
		const struct cn_loc *x = l->v != NULL ? &l->v[k] : NULL;
		bool has = x != NULL && x->state >= 0 && x->at_ms > 0;

		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:o, s:o}",
		    "location", c->locations[k], "state", has ?
		    json_string(state_name((enum check_state)x->state)) :
		    json_null(), "summary", has && x->summary != NULL ?
		    api_str(x->summary) : json_null(), "last_check", has ?
		    api_time((time_t)(x->at_ms / 1000)) : json_null(), "node",
		    has && x->node != NULL ? json_string(x->node) :
		    json_null()));
	}
	json_object_set_new(o, "locations", a);
	json_object_set_new(o, "quorum", json_integer(c->quorum));
}

/* ---- results and events ------------------------------------------------ */

/* Save c's state with the loop turn's others (flush_saves). */
static void
save_state(const struct check *c)
{
	if (c->idx >= cn.n || cn.saving[c->idx])
		return;
	cn.saving[c->idx] = 1;
	cn.nsaving++;
	event_active(cn.flush, EV_TIMEOUT, 1);
}

/* The loop turn's saves, one statement for them all. */
static void
flush_saves(evutil_socket_t fd, short what, void *arg)
{
	struct ccs_state *v;
	size_t n = 0;
	unsigned i;

	(void)fd;
	(void)what;
	(void)arg;
	if (cn.nsaving == 0 || cn.cf != daemon_g.cf)
		return;
	if ((v = calloc(cn.nsaving, sizeof(*v))) == NULL) {
		log_warnx("cluster: %u check states not saved (out of memory)",
		    cn.nsaving);
		memset(cn.saving, 0, cn.n);
		cn.nsaving = 0;
		return;
	}
	for (i = 0; i < cn.n && n < cn.nsaving; i++) {
		const struct check *c = cn.cf->checks[i];

		if (!cn.saving[i])
			continue;
		cn.saving[i] = 0;
		v[n].name = c->name;
		v[n].type = ctype_name(c->type);
		v[n].st = c->local ? c->st_real : c->st;
		v[n].summary = c->last.summary;
		v[n].last_run_ms = c->last_check > 0 ?
		    (int64_t)c->last_check * 1000 : wall_ms();
		n++;
	}
	cn.nsaving = 0;
	if (ccs_save_batch(cn.pg, cn.node, v, n, NULL, NULL) != 0)
		log_warnx("cluster: %zu check states not saved (out of "
		    "memory)", n);
	free(v);
}

/*
 * Is c's state worth a save now?  When its status changed (state, hard,
 * attempt, hard state, flapping), or its last save is half a lease old:
 * a takeover then starts from a flap history and a last-run time at most
 * that old (an extra run at most), and a check OK run after run costs
 * PostgreSQL a row every half lease, not every result.
 */
static bool
save_due(const struct check *c)
{
	const struct check_status *st = c->local ? &c->st_real : &c->st;
	struct cn_saved *sv = &cn.saved[c->idx];
	uint32_t sig = (uint32_t)st->state | (uint32_t)st->hard << 4 |
	    (uint32_t)st->hard_state << 5 | (uint32_t)st->flapping << 9 |
	    (uint32_t)st->attempt << 10;
	int64_t now = mono_ms();

	if (sv->at != 0 && sv->sig == sig && now - sv->at < cn.lease_ms / 2)
		return false;
	sv->sig = sig;
	sv->at = now;
	return true;
}

static void
on_result(const struct check *c, void *arg)
{
	struct cn_wait *v;

	(void)arg;
	if (!owns_state(c))
		return;
	set_ran_by(c->idx, cn.node);
	if (!save_due(c))
		return;
	if (cn.durable_seq >= cn.last_seq) {
		save_state(c);
		return;
	}
	/* after this node's events so far are durable (on_durable) */
	if (cn.nwaits == cn.capwaits) {
		size_t cap = cn.capwaits ? cn.capwaits * 2 : 64;

		if (cn.headwaits > 0) {		/* compact first */
			memmove(cn.waits, cn.waits + cn.headwaits,
			    (cn.nwaits - cn.headwaits) * sizeof(*cn.waits));
			cn.nwaits -= cn.headwaits;
			cn.headwaits = 0;
		}
		if (cn.nwaits == cn.capwaits) {
			if ((v = reallocarray(cn.waits, cap, sizeof(*v))) ==
			    NULL) {
				save_state(c);
				return;
			}
			cn.waits = v;
			cn.capwaits = cap;
		}
	}
	cn.waits[cn.nwaits].idx = c->idx;
	cn.waits[cn.nwaits].gen = cn.gen;
	cn.waits[cn.nwaits].seq = cn.last_seq;
	cn.nwaits++;
}

static void
on_durable(void *arg, int64_t seq)
{
	(void)arg;
	if (seq > cn.durable_seq)
		cn.durable_seq = seq;
	while (cn.headwaits < cn.nwaits &&
	    cn.waits[cn.headwaits].seq <= cn.durable_seq) {
		struct cn_wait *w = &cn.waits[cn.headwaits++];

		if (w->gen == cn.gen && cn.cf == daemon_g.cf && w->idx < cn.n &&
		    cn.place[w->idx] == CN_MINE)
			save_state(cn.cf->checks[w->idx]);
	}
	if (cn.headwaits == cn.nwaits)
		cn.headwaits = cn.nwaits = 0;
	if (cn.durable_seq >= cn.last_seq && cn.release != NULL)
		cn.release();
}

static void
on_hard(const struct state_event *ev, void *arg)
{
	json_t *o;
	char *body;
	int64_t seq;

	(void)arg;
	o = json_pack("{s:s, s:s, s:b, s:b, s:I, s:s}", "old",
	    state_name(ev->old_state), "new", state_name(ev->new_state),
	    "flap_start", ev->flap_start, "flap_stop", ev->flap_stop, "at",
	    (json_int_t)ev->at, "summary", ev->summary != NULL ? ev->summary :
	    "");
	if (o == NULL || (body = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		log_warnx("cluster: check %s: event lost (out of memory)",
		    ev->check->name);
		return;
	}
	json_decref(o);
	if ((seq = cev_add(cn.ev, ev->check->name, (int64_t)ev->at * 1000,
	    body)) < 0)
		log_warnx("cluster: check %s: event lost (out of memory)",
		    ev->check->name);
	else
		cn.last_seq = seq;
	free(body);
}

/* The leader: every node's events, in order, into the correlator. */
static void
on_events(void *arg, const struct cev_row *rows, int n)
{
	int64_t now = wall_ms(), mnow = mono_ms();
	int i;

	(void)arg;
	for (i = 0; i < n; i++) {
		struct state_event ev;
		struct check *c;
		json_t *o;
		const char *os, *ns, *sum;
		int old, nw;

		if ((c = conf_check(daemon_g.cf, rows[i].check)) == NULL) {
			log_info("cluster: event of check %s from %s: no such "
			    "check here (configurations differ?)",
			    rows[i].check, rows[i].node);
			continue;
		}
		if ((o = json_loads(rows[i].body, 0, NULL)) == NULL ||
		    json_unpack(o, "{s:s, s:s, s:s}", "old", &os, "new", &ns,
		    "summary", &sum) != 0 || (old = state_from_name(os)) < 0 ||
		    (nw = state_from_name(ns)) < 0) {
			log_warnx("cluster: event %" PRId64 " of check %s from "
			    "%s is malformed; skipped", rows[i].seq, c->name,
			    rows[i].node);
			json_decref(o);
			continue;
		}
		/* the leader's view of a check it does not run */
		if (!owns_state(c)) {
			c->st.hard_state = (enum check_state)nw;
			c->st.state = (enum check_state)nw;
			c->st.hard = true;
			c->st.last_hard_change = (time_t)(rows[i].at_ms / 1000);
			set_ran_by(c->idx, rows[i].node);
		}
		memset(&ev, 0, sizeof(ev));
		ev.check = c;
		ev.old_state = (enum check_state)old;
		ev.new_state = (enum check_state)nw;
		ev.flap_start = json_is_true(json_object_get(o, "flap_start"));
		ev.flap_stop = json_is_true(json_object_get(o, "flap_stop"));
		ev.at = (time_t)(rows[i].at_ms / 1000);
		ev.at_mono = mnow - (now > rows[i].at_ms ? now -
		    rows[i].at_ms : 0);
		ev.summary = sum;
		bus_publish_correlated(&ev);
		json_decref(o);
	}
	/*
	 * On disk, then into this very transaction: the incidents the events
	 * made commit in PostgreSQL with the events' deletion, or neither
	 * does (and the events are consumed again, by us or the next).
	 */
	if (n > 0 && (incident_commit() == -1 ||
	    smirror_join(cn.pgcons) == -1)) {
		log_warnx("cluster: the incident log could not be written or "
		    "mirrored; %d event%s consumed again later", n, n == 1 ?
		    "" : "s");
		pgc_query(cn.pgcons, "DO $$BEGIN RAISE EXCEPTION 'the incident "
		    "log could not be mirrored'; END$$", 0, NULL, NULL, NULL);
	}
}

static void
on_consumed(void *arg, bool committed, int n)
{
	(void)arg;
	cn.consuming = false;
	smirror_joined(committed);
	smirror_hold(false);
	if (committed && (n >= CN_CONSUME || cn.consume_again))
		event_active(cn.kick, EV_TIMEOUT, 1);	/* more waiting */
}

/*
 * The leader: take the events waiting — at once when a node's NOTIFY
 * says some came, else at the tick (a NOTIFY lost with a session).
 */
static void
consume(void)
{
	if (cn.role != CN_LEADER || cn.consuming || !pgc_up(cn.pgcons))
		return;
	if (smirror_busy()) {
		cn.consume_again = true;	/* when the mirror is done */
		return;
	}
	cn.consuming = true;
	cn.consume_again = false;
	smirror_hold(true);
	if (cev_consume(cn.pgcons, CN_CONSUME, on_events, on_consumed,
	    NULL) != 0) {
		cn.consuming = false;
		smirror_hold(false);
	}
}

static void
on_notify(void *arg, const char *channel)
{
	(void)arg;
	(void)channel;
	if (cn.consuming)
		cn.consume_again = true;	/* after this one */
	else
		consume();
}

static void
on_cons_up(void *arg, bool up)
{
	(void)arg;
	if (up)
		pgc_query(cn.pgcons, "LISTEN " CEV_CHANNEL, 0, NULL, NULL,
		    NULL);
}

/* ---- the incident log: follower, promoting, leader --------------------- */

static void
follow(void)
{
	if (sfollow_start(cn.base, idb(), cn.pg, cn.follow_state) != 0)
		log_warnx("cluster: cannot follow the leader's incident log "
		    "(%s)", cn.follow_state);
	incident_set_active(false);
	notify_set_active(false);
	cn.role = CN_FOLLOWER;
}

static void
on_log_end(void *arg, const PGresult *r)
{
	(void)arg;
	if (cn.role != CN_PROMOTING)
		return;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    PQntuples(r) != 1) {
		cn.promote_to = -2;	/* ask again */
		return;
	}
	cn.promote_to = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
}

/* The rest of the former leader's log is applied: lead. */
static void
promote(void)
{
	sfollow_stop();
	/* a page the former leader had in flight goes again, same key */
	if (store_outbox_unsend() == -1)
		log_warnx("cluster: cannot take back the pages in flight");
	if (incident_reload(cn.base, daemon_g.cf) != 0)
		log_warnx("cluster: cannot read the incident log back");
	slo_stop();
	(void)slo_start();
	/* check_state in PostgreSQL is the owners' (cluster_checks.h) */
	smirror_skip("check_state");
	if (smirror_start(cn.base, idb(), cn.pgmir) != 0)
		log_warnx("cluster: cannot mirror the incident log");
	incident_set_active(true);
	notify_set_active(true);
	cn.role = CN_LEADER;
	recompute();		/* the leader's own checks */
	log_notice("cluster: node %s leads: %u incident%s open, applied the "
	    "log to %lld", cn.node, incident_open_count(),
	    incident_open_count() == 1 ? "" : "s", (long long)cn.promote_to);
}

static void
demote(void)
{
	bool synced = smirror_synced();

	smirror_stop();
	if (!synced)
		log_warnx("cluster: node %s lost the leadership with changes "
		    "of the incident log not in PostgreSQL; the new leader "
		    "does not have them", cn.node);
	follow();
	recompute();
}

static void
roles(bool leader)
{
	if (leader != cn.leader) {
		cn.leader = leader;
		log_info("cluster: node %s %s", cn.node, leader ?
		    "holds the leadership; applying the rest of the log" :
		    "does not lead");
	}
	if (!leader) {
		if (cn.role == CN_LEADER)
			demote();
		else if (cn.role == CN_PROMOTING)
			cn.role = CN_FOLLOWER;
		return;
	}
	if (cn.role == CN_FOLLOWER) {
		cn.role = CN_PROMOTING;
		cn.promote_to = -2;
	}
	if (cn.role != CN_PROMOTING)
		return;
	if (cn.promote_to == -2 && pgc_up(cn.pg)) {
		cn.promote_to = -1;
		if (pgc_query(cn.pg, "SELECT COALESCE(max(seq), 0) FROM "
		    "store_log", 0, NULL, on_log_end, NULL) != 0)
			cn.promote_to = -2;
	}
	if (cn.promote_to >= 0 && sfollow_applied() >= cn.promote_to)
		promote();
}

/* ---- the tick ---------------------------------------------------------- */

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	consume();
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = mono_ms();

	(void)fd;
	(void)what;
	(void)arg;
	if (cn.cf != daemon_g.cf)
		return;
	roles(cluster_is_leader(cn.cl));
	if (!cn.alone && now - cn.started_ms > cn.lease_ms) {
		size_t nlive;

		if (cluster_live(cn.cl, &nlive), nlive == 0) {
			log_warnx("cluster: no membership read in a lease "
			    "(PostgreSQL unreachable?): node %s runs every "
			    "check until it can read one", cn.node);
			cn.alone = true;
			recompute();
		}
	}
	if (cn.loads_wanted && cluster_connected(cn.cl)) {
		cn.loads_wanted = false;
		load_taken();
	}
	consume();
	read_locations();
	if (!cn.refreshing && now - cn.last_refresh >= CN_REFRESH_MS &&
	    pgc_up(cn.pg))
		refresh(now);
}

bool
cnode_unmirrored(void)
{
	return cn.cl != NULL && cn.role == CN_LEADER && !smirror_synced();
}

bool
cnode_reply_waits(void)
{
	return cnode_unmirrored() || (cn.cl != NULL &&
	    cn.durable_seq < cn.last_seq);
}

void
cnode_on_release(void (*fn)(void))
{
	cn.release = fn;
}

/* ---- the API ----------------------------------------------------------- */

static const char *
forward_target(void)
{
	const char *a;

	if (cn.cl == NULL || cn.role == CN_LEADER)
		return NULL;
	if (cn.role == CN_PROMOTING)
		return "";	/* a moment: the log is being applied */
	a = cluster_leader_api(cn.cl);
	if (a == NULL || (cn.api != NULL && strcmp(a, cn.api) == 0))
		return "";	/* none, or our own row from before */
	return a;
}

static void
cluster_get(struct evhttp_request *req, const char *rest, void *arg)
{
	(void)rest;
	(void)arg;
	if (cn.cl == NULL) {
		api_error(req, HTTP_NOTFOUND, "this tocsind is not a node of a "
		    "cluster (no cluster { } in its configuration)");
		return;
	}
	api_reply(req, HTTP_OK, cluster_json(cn.cl));
}

/* ---- start, reload, stop ----------------------------------------------- */

/* What the nodes compare: the checks as configured (config_differs). */
static char *
config_hash(const struct config *cf)
{
	uint64_t h = 1469598103934665603ULL;
	char buf[512], *out;
	unsigned i;
	size_t k, len;

	for (i = 0; i < cf->nchecks; i++) {
		const struct check *c = cf->checks[i];

		len = (size_t)snprintf(buf, sizeof(buf), "%s|%s|%s|%s|%lld|"
		    "%lld|%lld|%d\n", c->name, ctype_name(c->type),
		    c->host_name != NULL ? c->host_name : "",
		    c->group != NULL ? c->group : "",
		    (long long)c->interval_ms, (long long)c->retry_ms,
		    (long long)c->timeout_ms, c->max_attempts);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		for (k = 0; k < len; k++) {
			h ^= (unsigned char)buf[k];
			h *= 1099511628211ULL;
		}
	}
	if (asprintf(&out, "%016" PRIx64, h) < 0)
		return NULL;
	return out;
}

static void
locs_free(struct cn_locs *v, const struct config *cf, unsigned n)
{
	unsigned i, k;

	for (i = 0; v != NULL && i < n; i++) {
		if (v[i].v == NULL)
			continue;
		for (k = 0; k < cf->checks[i]->nlocations; k++) {
			free(v[i].v[k].summary);
			free(v[i].v[k].node);
		}
		free(v[i].v);
	}
	free(v);
}

/* The per-check arrays of cn.cf. */
static void
arrays_free(void)
{
	unsigned i;

	for (i = 0; i < cn.n; i++)
		free(cn.ran_by[i]);
	free(cn.ran_by);
	free(cn.place);
	free(cn.runs_loc);
	free(cn.saving);
	free(cn.saved);
	cn.saved = NULL;
	locs_free(cn.locs, cn.cf, cn.n);
	cn.ran_by = NULL;
	cn.place = cn.runs_loc = cn.saving = NULL;
	cn.nsaving = 0;
	cn.locs = NULL;
}

static int
arrays_for(struct config *cf)
{
	uint8_t *place, *runs, *saving;
	struct cn_saved *saved;
	struct cn_locs *locs;
	char **rb;
	unsigned i;

	place = calloc(cf->nchecks + 1, 1);
	runs = calloc(cf->nchecks + 1, 1);
	rb = calloc(cf->nchecks + 1, sizeof(*rb));
	locs = calloc(cf->nchecks + 1, sizeof(*locs));
	saving = calloc(cf->nchecks + 1, 1);
	saved = calloc(cf->nchecks + 1, sizeof(*saved));
	if (place == NULL || runs == NULL || rb == NULL || locs == NULL ||
	    saving == NULL || saved == NULL) {
		free(saved);
		free(saving);
		free(place);
		free(runs);
		free(rb);
		free(locs);
		return -1;
	}
	/* the old config is still there (a reload frees it after) */
	arrays_free();
	cn.place = place;
	cn.runs_loc = runs;
	cn.saving = saving;
	cn.saved = saved;
	cn.ran_by = rb;
	cn.locs = locs;
	cn.n = cf->nchecks;
	cn.cf = cf;
	cn.gen++;
	cn.nlocated = 0;
	for (i = 0; i < cf->nchecks; i++)
		if (cf->checks[i]->nlocations > 0)
			cn.nlocated++;
	return 0;
}

bool
cnode_enabled(const struct config *cf)
{
	const struct cluster_conf *cc = conf_section_state(cf, "cluster");

	return cc != NULL && cc->enabled;
}

int
cnode_start(struct event_base *base, struct config *cf, const char *listen)
{
	const struct cluster_conf *cc = conf_section_state(cf, "cluster");
	struct cluster_opts o;
	struct timeval tv = { 0, CN_TICK_MS * 1000 };
	char *spool = NULL, *hash;
	void (*rel)(void);

	/* the route is there on one node too: it says what it is not */
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/cluster", 0, cluster_get,
	    NULL) != 0)
		return -1;
	if (cc == NULL || !cc->enabled)
		return 0;
	if (cc->api == NULL && (strncmp(listen, "0.0.0.0:", 8) == 0 ||
	    strncmp(listen, "[::]:", 5) == 0 || listen[0] == ':' ||
	    !cluster_api_ok(listen))) {
		log_errx("cluster: api { listen = \"%s\" } is no address the "
		    "other nodes can reach (a wildcard, or a name: they are "
		    "sent to an IP address); say which in cluster { api = "
		    "\"ADDRESS:PORT\" }", listen);
		return -1;
	}
	rel = cn.release;	/* set before the start */
	memset(&cn, 0, sizeof(cn));
	cn.release = rel;
	cn.base = base;
	cn.node = strdup(cc->node);
	cn.location = cc->location != NULL ? strdup(cc->location) : NULL;
	cn.api = strdup(cc->api != NULL ? cc->api : listen);
	cn.started_ms = mono_ms();
	cn.lease_ms = cc->lease_ms;
	cn.last_refresh = cn.started_ms;
	cn.last_full = cn.started_ms - CN_FULL_MS;
	hash = config_hash(cf);
	if (cn.node == NULL || cn.api == NULL || hash == NULL ||
	    arrays_for(cf) == -1 ||
	    asprintf(&spool, "%s/cluster-events.spool", cf->state_dir) < 0) {
		free(hash);
		log_warnx("cluster: out of memory");
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.database = cc->database;
	o.node = cc->node;
	o.location = cc->location;
	o.config_hash = hash;
	o.lease_ms = cc->lease_ms;
	o.api = cn.api;
	/* before the first result: the correlator hears only the leader */
	bus_split(true);
	sched_set_gate(runs_here);
	sched_set_result_hook(take_result);
	api_checks_set_node(ran_by);
	api_checks_set_extra(check_extra);
	api_set_forward(forward_target);
	notify_set_active(false);
	notify_set_hold(cnode_unmirrored);
	if (bus_subscribe(on_hard, NULL) != 0 ||
	    bus_result_subscribe(on_result, NULL) != 0 ||
	    api_routes_mark_leader_path("/api/v1/push/") != 0 ||
	    (cn.cl = cluster_new(base, &o, on_change, NULL)) == NULL ||
	    (cn.pg = pgc_new(base, cc->database, NULL, NULL)) == NULL ||
	    (cn.pgev = pgc_new(base, cc->database, NULL, NULL)) == NULL ||
	    (cn.pgcons = pgc_new(base, cc->database, on_cons_up, NULL)) ==
	    NULL ||
	    (cn.kick = event_new(base, -1, 0, kick_cb, NULL)) == NULL ||
	    (cn.pgmir = pgc_new(base, cc->database, NULL, NULL)) == NULL ||
	    (cn.tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL)) ==
	    NULL || event_add(cn.tick, &tv) != 0 ||
	    (cn.flush = event_new(base, -1, 0, flush_saves, NULL)) == NULL) {
		free(hash);
		free(spool);
		log_warnx("cluster: cannot start (out of memory)");
		return -1;
	}
	free(hash);
	pgc_set_limits(cn.pg, (int)(cc->lease_ms / 2), (int)cc->lease_ms);
	pgc_set_limits(cn.pgev, (int)(cc->lease_ms / 2), (int)cc->lease_ms);
	pgc_set_limits(cn.pgcons, (int)(cc->lease_ms / 2),
	    (int)cc->lease_ms);
	pgc_set_limits(cn.pgmir, (int)(cc->lease_ms / 2), (int)cc->lease_ms);
	pgc_on_notify(cn.pgcons, on_notify, NULL);
	if (asprintf(&cn.follow_state, "%s/cluster-follow.state",
	    cf->state_dir) < 0) {
		cn.follow_state = NULL;
		free(spool);
		return -1;
	}
	follow();
	if ((cn.ev = cev_new(base, cn.pgev, cn.node, spool, CN_SPOOL_MAX,
	    on_durable, NULL)) == NULL) {
		free(spool);
		return -1;
	}
	free(spool);
	log_info("cluster: node %s%s%s, lease %lld ms, API for the others "
	    "on %s", cn.node, cc->location != NULL ? " in " : "",
	    cc->location != NULL ? cc->location : "",
	    (long long)cc->lease_ms, cn.api);
	return 0;
}

void
cnode_reconfigure(struct config *cf)
{
	if (cn.cl == NULL)
		return;
	if (arrays_for(cf) == -1) {
		log_warnx("cluster: out of memory: no check runs here until "
		    "the next reload");
		return;
	}
	recompute();
}

void
cnode_stop(void)
{
	if (cn.cl == NULL)
		return;
	sched_set_gate(NULL);
	sched_set_result_hook(NULL);
	api_checks_set_extra(NULL);
	api_set_forward(NULL);
	notify_set_hold(NULL);
	if (cn.tick != NULL)
		event_free(cn.tick);
	if (cn.flush != NULL)
		event_free(cn.flush);
	if (cn.kick != NULL)
		event_free(cn.kick);
	/* sessions first: their callbacks still find cn, the mirror whole */
	pgc_free(cn.pgcons);
	cn.pgcons = NULL;
	pgc_free(cn.pgmir);
	cn.pgmir = NULL;
	pgc_free(cn.pg);
	cn.pg = NULL;
	pgc_free(cn.pgev);	/* cev_free(): its session first */
	cev_free(cn.ev);
	if (cn.role == CN_LEADER)
		smirror_stop();
	else
		sfollow_stop();
	cluster_free(cn.cl);
	arrays_free();
	free(cn.location);
	free(cn.node);
	free(cn.api);
	free(cn.follow_state);
	free(cn.waits);
	smirror_skip(NULL);
	memset(&cn, 0, sizeof(cn));
}
