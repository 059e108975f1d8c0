/*
 * store_sqlite.c — the incident log's store (store.h) on SQLite: every
 * SQL statement of the incident log, the maintenance windows and the
 * notifier's tables.  The connection, schema, migrations, statement cache
 * and the batch transaction are idb.c's; this file turns the interface's
 * structs into rows and back.
 *
 * Every read goes through idb_select(), which copies the rows out and
 * resets the statement before returning: no read is left open between
 * calls (an open read would pin the WAL).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/state.h"
#include "incident/idb.h"
#include "incident/store.h"

static const char *const level_names[] = { "low", "medium", "high" };
static const char *const role_names[] = {
	"root_cause", "member", "unreachable"
};

static const char *
level_name(enum level3 l)
{
	return (unsigned)l < 3 ? level_names[l] : "medium";
}

static enum level3
level_of(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < 3; i++)
		if (strcmp(level_names[i], s) == 0)
			return i;
	return LEVEL_MEDIUM;
}

static int
status_of(const char *s)
{
	int i;

	for (i = INC_OPEN; s != NULL && i <= INC_CLOSED; i++)
		if (strcmp(incident_status_name(i), s) == 0)
			return i;
	return -1;
}

/* Grow *v (of *n elements of size sz) by one zeroed element; NULL: ENOMEM */
static void *
grow(void *pv, size_t *n, size_t sz)
{
	void **v = pv;
	char *nv;

	if ((nv = reallocarray(*v, *n + 1, sz)) == NULL)
		return NULL;
	*v = nv;
	memset(nv + *n * sz, 0, sz);
	return nv + (*n)++ * sz;
}

/* Ids are given here, not by the database: a write kept for a retry
 * (idb.c) has none to give back, and memory needs it at once. */
static int64_t next_incident_id, next_maint_id, next_change_id;
static int64_t next_problem_id;

/*
 * Where pruning stands, in memory (restarting from the start after a
 * restart costs one pass over what is already gone): the day being
 * rolled up and the last check rolled up in it; the outbox row up to
 * which old rows were looked at (pending rows stay, so the old ones are
 * not always a prefix).
 */
static struct {
	int64_t day;
	char *last;
	int64_t outbox;
} prune_g = { -1, NULL, 0 };

static int64_t
next_id(int64_t *next, const char *max_sql)
{
	struct idb_rows r;

	if (*next == 0) {
		if (idb_select(&r, max_sql, "") == -1)
			return -1;
		*next = (r.n > 0 ? idb_int(&r, 0, 0) : 0) + 1;
		idb_rows_free(&r);
	}
	return (*next)++;
}

/* One integer (a min() or count()): 1 and *v, 0 if NULL, -1 on error. */
static int
one_int(const char *sql, int64_t *v)
{
	struct idb_rows r;
	int found;

	if (idb_select(&r, sql, "") == -1)
		return -1;
	if ((found = r.n > 0 && !idb_null(&r, 0, 0)))
		*v = idb_int(&r, 0, 0);
	idb_rows_free(&r);
	return found;
}

/* ---- life cycle ------------------------------------------------------- */

int
store_open(struct event_base *base, const char *path)
{
	next_incident_id = next_maint_id = next_change_id = 0;
	next_problem_id = 0;
	prune_g.day = -1;
	prune_g.outbox = 0;
	return idb_open(base, path);
}

void
store_close(void)
{
	idb_close();
	next_incident_id = next_maint_id = next_change_id = 0;
	next_problem_id = 0;
	free(prune_g.last);
	prune_g.last = NULL;
}

bool
store_ok(void)
{
	return idb_ok();
}

void
store_discard(void)
{
	idb_discard();
}

int
store_on_flush(void (*fn)(void))
{
	return idb_on_flush(fn);
}

int
store_begin(void)
{
	return idb_begin();
}

int
store_commit(void)
{
	return idb_commit();
}

bool
store_txn_open(void)
{
	return idb_txn_open();
}

void
store_on_commit(void (*fn)(void))
{
	idb_on_commit(fn);
}

/* ---- incidents -------------------------------------------------------- */

int64_t
store_incident_insert(const struct store_incident *inc)
{
	int64_t id = next_id(&next_incident_id, "SELECT max(id) FROM "
	    "incidents");

	if (id < 0 || idb_write("INSERT INTO incidents (id, title, status, "
	    "impact, urgency, priority, root_cause, grp, flapping, opened_at) "
	    "VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)", "isssissii", id,
	    inc->title, level_name(inc->impact), level_name(inc->urgency),
	    (int64_t)inc->priority, inc->root_cause, inc->group,
	    (int64_t)inc->flapping, (int64_t)inc->opened_at) < 0)
		return -1;
	return id;
}

int
store_incident_update(const struct store_incident *inc)
{
	return idb_write("UPDATE incidents SET title = ?, status = ?, "
	    "priority = ?, impact = ?, urgency = ?, flapping = ?, "
	    "acknowledged_at = ?, acknowledged_by = ?, resolved_at = ? "
	    "WHERE id = ?", "ssissitsti", inc->title,
	    incident_status_name(inc->status), (int64_t)inc->priority,
	    level_name(inc->impact), level_name(inc->urgency),
	    (int64_t)inc->flapping, (int64_t)inc->acknowledged_at,
	    inc->acknowledged_by, (int64_t)inc->resolved_at, inc->id) < 0 ?
	    -1 : 0;
}

int
store_incident_close(int64_t id, time_t at)
{
	return idb_write("UPDATE incidents SET status = 'closed', "
	    "closed_at = ? WHERE id = ?", "ii", (int64_t)at, id) < 0 ? -1 : 0;
}

int
store_incident_check(int64_t id, const struct store_inc_check *ic,
    time_t attached_at)
{
	return idb_write("INSERT INTO incident_checks (incident_id, "
	    "check_name, role, state, attached_at, detached) "
	    "VALUES (?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (incident_id, check_name) DO UPDATE SET "
	    "role = excluded.role, state = excluded.state, "
	    "detached = excluded.detached",
	    "isssii", id, ic->name, role_names[ic->role],
	    state_name(ic->state), (int64_t)attached_at,
	    (int64_t)ic->detached) < 0 ? -1 : 0;
}

int
store_incident_exists(int64_t id)
{
	struct idb_rows r;
	int found;

	if (idb_select(&r, "SELECT 1 FROM incidents WHERE id = ?", "i",
	    id) == -1)
		return -1;
	found = r.n > 0;
	idb_rows_free(&r);
	return found;
}

int
store_timeline_add(int64_t id, time_t at, const char *kind, const char *text)
{
	return idb_write("INSERT INTO timeline (incident_id, at, kind, text) "
	    "VALUES (?, ?, ?, ?)", "iiss", id, (int64_t)at, kind, text) < 0 ?
	    -1 : 0;
}

void
store_incident_clear(struct store_incident *inc)
{
	size_t i;

	free(inc->title);
	free(inc->root_cause);
	free(inc->group);
	free(inc->acknowledged_by);
	for (i = 0; i < inc->nchecks; i++)
		free(inc->checks[i].name);
	free(inc->checks);
	for (i = 0; i < inc->ntimeline; i++) {
		free(inc->timeline[i].kind);
		free(inc->timeline[i].text);
	}
	free(inc->timeline);
	memset(inc, 0, sizeof(*inc));
}

void
store_incidents_free(struct store_incident *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		store_incident_clear(&v[i]);
	free(v);
}

#define INCIDENT_COLS "id, title, status, impact, urgency, priority, " \
	"root_cause, grp, flapping, opened_at, acknowledged_at, " \
	"acknowledged_by, resolved_at, closed_at"

/* Row i of INCIDENT_COLS. */
static void
incident_row(const struct idb_rows *r, size_t i, struct store_incident *inc)
{
	inc->id = idb_int(r, i, 0);
	inc->title = idb_strdup(r, i, 1);
	inc->status = status_of(idb_text(r, i, 2));
	inc->impact = level_of(idb_text(r, i, 3));
	inc->urgency = level_of(idb_text(r, i, 4));
	inc->priority = (int)idb_int(r, i, 5);
	inc->root_cause = idb_strdup(r, i, 6);
	inc->group = idb_strdup(r, i, 7);
	inc->flapping = idb_int(r, i, 8) != 0;
	inc->opened_at = idb_int(r, i, 9);
	inc->acknowledged_at = idb_int(r, i, 10);
	inc->acknowledged_by = idb_strdup(r, i, 11);
	inc->resolved_at = idb_int(r, i, 12);
	inc->closed_at = idb_int(r, i, 13);
}

static int
incident_checks(struct store_incident *inc)
{
	struct store_inc_check *ic;
	struct idb_rows r;
	size_t i;
	int err = 0;

	if (idb_select(&r, "SELECT check_name, role, state, detached FROM "
	    "incident_checks WHERE incident_id = ? ORDER BY rowid", "i",
	    inc->id) == -1)
		return -1;
	for (i = 0; i < r.n; i++) {
		const char *name = idb_text(&r, i, 0);
		const char *role = idb_text(&r, i, 1);
		int s = state_from_name(idb_text(&r, i, 2));
		int k;

		if (name == NULL || role == NULL)
			continue;
		for (k = 0; k < 3; k++)
			if (strcmp(role, role_names[k]) == 0)
				break;
		if ((ic = grow(&inc->checks, &inc->nchecks,
		    sizeof(*ic))) == NULL || (ic->name = strdup(name)) ==
		    NULL) {
			err = 1;
			break;
		}
		ic->role = k < 3 ? (enum inc_role)k : ROLE_MEMBER;
		ic->state = s < 0 ? STATE_CRITICAL : s;
		ic->detached = idb_int(&r, i, 3) != 0;
	}
	idb_rows_free(&r);
	return err ? -1 : 0;
}

static int
incident_timeline(struct store_incident *inc)
{
	struct store_timeline *t;
	struct idb_rows r;
	size_t i;
	int err = 0;

	if (idb_select(&r, "SELECT at, kind, text FROM timeline "
	    "WHERE incident_id = ? ORDER BY id", "i", inc->id) == -1)
		return -1;
	for (i = 0; i < r.n; i++) {
		if ((t = grow(&inc->timeline, &inc->ntimeline,
		    sizeof(*t))) == NULL) {
			err = 1;
			break;
		}
		t->at = idb_int(&r, i, 0);
		t->kind = idb_strdup(&r, i, 1);
		t->text = idb_strdup(&r, i, 2);
	}
	idb_rows_free(&r);
	return err ? -1 : 0;
}

int
store_incidents_active(struct store_incident **pv, size_t *pn)
{
	struct store_incident *v = NULL;
	struct idb_rows r;
	size_t i, n;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT " INCIDENT_COLS " FROM incidents "
	    "WHERE status != 'closed' ORDER BY id", "") == -1)
		return -1;
	if (r.n > 0 && (v = calloc(r.n, sizeof(*v))) == NULL) {
		idb_rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++)
		incident_row(&r, i, &v[i]);
	n = r.n;
	idb_rows_free(&r);
	for (i = 0; i < n; i++)
		if (incident_checks(&v[i]) == -1)
			goto fail;
	*pv = v;
	*pn = n;
	return 0;
fail:
	store_incidents_free(v, n);
	return -1;
}

int
store_incident_get(int64_t id, struct store_incident *out)
{
	struct idb_rows r;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (idb_select(&r, "SELECT " INCIDENT_COLS " FROM incidents "
	    "WHERE id = ?", "i", id) == -1)
		return -1;
	if ((n = r.n) > 0)
		incident_row(&r, 0, out);
	idb_rows_free(&r);
	if (n == 0)
		return 0;
	if (incident_checks(out) == -1 || incident_timeline(out) == -1) {
		store_incident_clear(out);
		return -1;
	}
	return 1;
}

int
store_incident_ids(const bool want[4], const char *check, long limit,
    long offset, int64_t **pids, size_t *pn)
{
	struct idb_rows r;
	int64_t *ids = NULL;
	size_t i;
	int rc;

	*pids = NULL;
	*pn = 0;
	if (check == NULL)
		rc = idb_select(&r, "SELECT id FROM incidents "
		    "WHERE status IN (?, ?, ?, ?) ORDER BY id DESC "
		    "LIMIT ? OFFSET ?", "ssssii", want[0] ? "open" : "",
		    want[1] ? "acknowledged" : "", want[2] ? "resolved" : "",
		    want[3] ? "closed" : "", (int64_t)limit, (int64_t)offset);
	else
		rc = idb_select(&r, "SELECT id FROM incidents "
		    "WHERE status IN (?, ?, ?, ?) AND id IN (SELECT "
		    "incident_id FROM incident_checks WHERE check_name = ?) "
		    "ORDER BY id DESC LIMIT ? OFFSET ?", "sssssii",
		    want[0] ? "open" : "", want[1] ? "acknowledged" : "",
		    want[2] ? "resolved" : "", want[3] ? "closed" : "", check,
		    (int64_t)limit, (int64_t)offset);
	if (rc == -1)
		return -1;
	if (r.n > 0 && (ids = calloc(r.n, sizeof(*ids))) == NULL) {
		idb_rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++)
		ids[i] = idb_int(&r, i, 0);
	*pids = ids;
	*pn = r.n;
	idb_rows_free(&r);
	return 0;
}

/* ---- events -------------------------------------------------------------- */

int
store_event_add(const struct store_event *ev)
{
	return idb_write("INSERT INTO events (at, check_name, old_state, "
	    "new_state, flap, summary, incident_id, suppressed) VALUES (?, ?, "
	    "?, ?, ?, ?, ?, ?)", "isssssti", (int64_t)ev->at, ev->check,
	    state_name(ev->old_state), state_name(ev->new_state), ev->flap,
	    ev->summary, ev->incident_id, (int64_t)ev->suppressed) < 0 ?
	    -1 : 0;
}

/* ---- check states ---------------------------------------------------------- */

int
store_check_state_save(const struct store_check_state *ck, time_t now)
{
	const struct check_status *s = &ck->st;

	return idb_write("INSERT INTO check_state (name, type, state, hard, "
	    "hard_state, attempt, flapping, last_change, last_hard_change, "
	    "summary, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (name) DO UPDATE SET type = excluded.type, "
	    "state = excluded.state, hard = excluded.hard, "
	    "hard_state = excluded.hard_state, attempt = excluded.attempt, "
	    "flapping = excluded.flapping, last_change = excluded.last_change, "
	    "last_hard_change = excluded.last_hard_change, "
	    "summary = excluded.summary, updated_at = excluded.updated_at",
	    "ssiiiiittsi", ck->name, ck->type, (int64_t)s->state,
	    (int64_t)s->hard, (int64_t)s->hard_state, (int64_t)s->attempt,
	    (int64_t)s->flapping, (int64_t)s->last_change,
	    (int64_t)s->last_hard_change, ck->summary, (int64_t)now) < 0 ?
	    -1 : 0;
}

void
store_check_states_free(struct store_check_state *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].name);
		free(v[i].type);
		free(v[i].summary);
	}
	free(v);
}

int
store_check_states(struct store_check_state **pv, size_t *pn)
{
	struct store_check_state *v = NULL, *ck;
	struct idb_rows r;
	size_t n = 0, i;
	int err = 0;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT name, type, state, hard, hard_state, "
	    "attempt, flapping, last_change, last_hard_change, summary "
	    "FROM check_state", "") == -1)
		return -1;
	for (i = 0; i < r.n; i++) {
		if (idb_null(&r, i, 0) || idb_null(&r, i, 1))
			continue;
		if ((ck = grow(&v, &n, sizeof(*ck))) == NULL) {
			err = 1;
			break;
		}
		ck->name = idb_strdup(&r, i, 0);
		ck->type = idb_strdup(&r, i, 1);
		ck->st.state = (int)idb_int(&r, i, 2);
		ck->st.hard = idb_int(&r, i, 3) != 0;
		ck->st.hard_state = (int)idb_int(&r, i, 4);
		ck->st.attempt = (int)idb_int(&r, i, 5);
		ck->st.flapping = idb_int(&r, i, 6) != 0;
		ck->st.last_change = idb_int(&r, i, 7);
		ck->st.last_hard_change = idb_int(&r, i, 8);
		ck->summary = idb_strdup(&r, i, 9);
		if (ck->name == NULL || ck->type == NULL) {
			err = 1;
			break;
		}
	}
	idb_rows_free(&r);
	if (err) {
		store_check_states_free(v, n);
		return -1;
	}
	*pv = v;
	*pn = n;
	return 0;
}

/* ---- the report ---------------------------------------------------------- */

int
store_report_incidents(time_t since, time_t until,
    struct store_inc_stats *out)
{
	struct idb_rows r;

	memset(out, 0, sizeof(*out));
	if (idb_select(&r, "SELECT count(*), "
	    "count(acknowledged_at), avg(acknowledged_at - opened_at), "
	    "count(resolved_at), avg(resolved_at - opened_at) "
	    "FROM incidents WHERE opened_at >= ? AND opened_at < ?", "ii",
	    (int64_t)since, (int64_t)until) == -1)
		return -1;
	if (r.n > 0) {
		out->incidents = idb_int(&r, 0, 0);
		out->acknowledged = idb_int(&r, 0, 1);
		out->mtta_s = idb_double(&r, 0, 2);
		out->resolved = idb_int(&r, 0, 3);
		out->mttr_s = idb_double(&r, 0, 4);
	}
	idb_rows_free(&r);
	return 0;
}

int
store_report_problems(time_t since, time_t until,
    struct store_problem_stats **pv, size_t *pn)
{
	struct store_problem_stats *v = NULL;
	struct idb_rows r;
	size_t i;

	*pv = NULL;
	*pn = 0;
	/* ?1 until, ?2 since; an incident still open counts up to until */
	if (idb_select(&r, "SELECT p.id, p.title, p.status, count(i.id), "
	    "sum(min(coalesce(i.resolved_at, ?1), ?1) - max(i.opened_at, ?2)) "
	    "AS lost FROM problems p "
	    "JOIN problem_incidents pi ON pi.problem_id = p.id "
	    "JOIN incidents i ON i.id = pi.incident_id "
	    "WHERE i.opened_at < ?1 AND coalesce(i.resolved_at, ?1) > ?2 "
	    "GROUP BY p.id ORDER BY lost DESC, p.id", "ii", (int64_t)until,
	    (int64_t)since) == -1)
		return -1;
	if (r.n > 0 && (v = calloc(r.n, sizeof(*v))) == NULL) {
		idb_rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		v[i].id = idb_int(&r, i, 0);
		v[i].title = idb_strdup(&r, i, 1);
		v[i].status = idb_strdup(&r, i, 2);
		v[i].incidents = idb_int(&r, i, 3);
		v[i].lost_s = idb_int(&r, i, 4);
	}
	*pv = v;
	*pn = r.n;
	idb_rows_free(&r);
	return 0;
}

void
store_problem_stats_free(struct store_problem_stats *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].title);
		free(v[i].status);
	}
	free(v);
}

void
store_changes_free(struct store_change *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].check);
	free(v);
}

int
store_changes(time_t until, struct store_change **pv, size_t *pn)
{
	struct store_change *v = NULL, *c;
	struct idb_rows r;
	size_t n = 0, i;
	int err = 0;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT check_name, at, new_state FROM events "
	    "WHERE at < ? AND old_state != new_state "
	    "ORDER BY check_name, at, id", "i", (int64_t)until) == -1)
		return -1;
	for (i = 0; i < r.n; i++) {
		int s = state_from_name(idb_text(&r, i, 2));

		if (idb_null(&r, i, 0))
			continue;
		if ((c = grow(&v, &n, sizeof(*c))) == NULL ||
		    (c->check = idb_strdup(&r, i, 0)) == NULL) {
			err = 1;
			break;
		}
		c->at = idb_int(&r, i, 1);
		c->state = s < 0 ? STATE_UNKNOWN : s;
	}
	idb_rows_free(&r);
	if (err) {
		store_changes_free(v, n);
		return -1;
	}
	*pv = v;
	*pn = n;
	return 0;
}

/* ---- retention ---------------------------------------------------------------- */

static bool
daily_down(int s)
{
	/* as the report counts: up = OK or WARNING */
	return s >= 0 && s != STATE_OK && s != STATE_WARNING;
}

/* Roll check's events of day d up into its daily row. */
static int
prune_rollup(const char *check, int64_t d)
{
	struct idb_rows r;
	int64_t t0 = d * 86400, t1 = t0 + 86400, down = 0, at, last;
	int state = STATE_OK;
	size_t i;

	/* its state when the day began: the day before's end, else OK */
	if (idb_select(&r, "SELECT end_state FROM check_daily WHERE "
	    "check_name = ? AND day < ? ORDER BY day DESC LIMIT 1", "si",
	    check, d) == -1)
		return -1;
	if (r.n > 0 && (state = state_from_name(idb_text(&r, 0, 0))) < 0)
		state = STATE_UNKNOWN;
	idb_rows_free(&r);
	if (idb_select(&r, "SELECT at, new_state FROM events WHERE "
	    "check_name = ? AND at >= ? AND at < ? AND old_state != "
	    "new_state ORDER BY at, id", "sii", check, t0, t1) == -1)
		return -1;
	for (i = 0, last = t0; i < r.n; i++) {
		at = idb_int(&r, i, 0);
		if (daily_down(state))
			down += at - last;
		last = at;
		if ((state = state_from_name(idb_text(&r, i, 1))) < 0)
			state = STATE_UNKNOWN;
	}
	idb_rows_free(&r);
	if (daily_down(state))
		down += t1 - last;
	return idb_write("INSERT OR REPLACE INTO check_daily (check_name, "
	    "day, down_s, end_state) VALUES (?, ?, ?, ?)", "siis", check, d,
	    down, state_name(state)) < 0 ? -1 : 0;
}


int
store_prune(time_t before, unsigned max_rows)
{
	struct idb_rows r;
	int64_t d, hi;
	unsigned k;
	int more = 0;
	size_t i;

	/* events: the oldest day, if it ended before the cutoff */
	if (one_int("SELECT min(at) FROM events", &d) == 1 &&
	    (d = d / 86400) * 86400 + 86400 <= (int64_t)before) {
		if (d != prune_g.day) {
			prune_g.day = d;
			free(prune_g.last);
			prune_g.last = NULL;
		}
		/* its checks one by one, in name order (events_check) */
		for (k = 0; k < max_rows / 100 + 1; k++) {
			/* events_check: the day's rows lead each check's */
			if (idb_select(&r, "SELECT check_name FROM events "
			    "INDEXED BY events_check WHERE check_name > ? AND "
			    "at >= ? AND at < ? ORDER BY check_name LIMIT 1",
			    "sii",
			    prune_g.last != NULL ? prune_g.last : "",
			    d * 86400, d * 86400 + 86400) == -1)
				return -1;
			if (r.n == 0) {
				idb_rows_free(&r);
				break;
			}
			free(prune_g.last);
			prune_g.last = idb_strdup(&r, 0, 0);
			idb_rows_free(&r);
			if (prune_g.last == NULL ||
			    prune_rollup(prune_g.last, d) == -1)
				return -1;
		}
		/* all rolled up: the day's events go, a batch at a time */
		if (k == 0 && idb_write("DELETE FROM events WHERE id IN "
		    "(SELECT id FROM events WHERE at < ? ORDER BY at LIMIT ?)",
		    "ii", d * 86400 + 86400, (int64_t)max_rows) < 0)
			return -1;
		more = 1;
	}
	/* timeline lines: ids grow with time, the old ones come first */
	if (one_int("SELECT at FROM timeline ORDER BY id LIMIT 1", &d) == 1 &&
	    d < (int64_t)before) {
		if (idb_write("DELETE FROM timeline WHERE id IN (SELECT id FROM "
		    "timeline ORDER BY id LIMIT ?) AND at < ?", "ii",
		    (int64_t)max_rows, (int64_t)before) < 0)
			return -1;
		more = 1;
	}
	/* sent and dead pages, from where the last batch stopped */
	if (idb_select(&r, "SELECT id, created_at FROM notify_outbox WHERE "
	    "id > ? ORDER BY id LIMIT ?", "ii", prune_g.outbox,
	    (int64_t)max_rows) == -1)
		return -1;
	for (i = 0, hi = -1; i < r.n && idb_int(&r, i, 1) <
	    (int64_t)before * 1000; i++)
		hi = idb_int(&r, i, 0);
	idb_rows_free(&r);
	if (hi > 0) {
		if (idb_write("DELETE FROM notify_outbox WHERE id > ? AND "
		    "id <= ? AND status != 'pending'", "ii", prune_g.outbox,
		    hi) < 0)
			return -1;
		prune_g.outbox = hi;
		more = 1;
	}
	return more;
}

void
store_dailies_free(struct store_daily *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].check);
	free(v);
}

int
store_dailies(int64_t from, int64_t to, int64_t *horizon,
    struct store_daily **pv, size_t *pn)
{
	struct store_daily *v = NULL;
	struct idb_rows r;
	size_t i;
	int s;

	*pv = NULL;
	*pn = 0;
	*horizon = 0;
	if (one_int("SELECT max(day) + 1 FROM check_daily", horizon) == -1)
		return -1;
	if (idb_select(&r, "SELECT check_name, day, down_s, end_state FROM "
	    "check_daily WHERE day >= ? AND day < ? UNION ALL "
	    "SELECT check_name, max(day), down_s, end_state FROM check_daily "
	    "WHERE day < ? GROUP BY check_name ORDER BY 1, 2", "iii", from,
	    to, from) == -1)
		return -1;
	if (r.n > 0 && (v = calloc(r.n, sizeof(*v))) == NULL) {
		idb_rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		v[i].check = idb_strdup(&r, i, 0);
		v[i].day = idb_int(&r, i, 1);
		v[i].down_s = idb_int(&r, i, 2);
		s = state_from_name(idb_text(&r, i, 3));
		v[i].end_state = s < 0 ? STATE_UNKNOWN : s;
	}
	*pv = v;
	*pn = r.n;
	idb_rows_free(&r);
	return 0;
}

/* ---- change events ---------------------------------------------------------- */

int64_t
store_change_event_insert(const struct store_change_event *c)
{
	int64_t id = next_id(&next_change_id, "SELECT max(id) FROM changes");

	if (id < 0 || idb_write("INSERT INTO changes (id, title, by, checks, "
	    "hosts, groups, started_at, ended_at, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", "isssssiti", id, c->title,
	    c->by, c->checks, c->hosts, c->groups, (int64_t)c->started_at,
	    (int64_t)c->ended_at, (int64_t)c->created_at) < 0)
		return -1;
	return id;
}

void
store_change_events_free(struct store_change_event *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].title);
		free(v[i].by);
		free(v[i].checks);
		free(v[i].hosts);
		free(v[i].groups);
	}
	free(v);
}

int
store_change_events(time_t since, time_t until, long limit,
    struct store_change_event **pv, size_t *pn)
{
	struct store_change_event *v = NULL;
	struct idb_rows r;
	size_t i;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT id, title, by, checks, hosts, groups, "
	    "started_at, ended_at, created_at FROM changes "
	    "WHERE started_at <= ? AND coalesce(ended_at, started_at) >= ? "
	    "ORDER BY started_at, id LIMIT ?", "iii", (int64_t)until,
	    (int64_t)since, (int64_t)limit) == -1)
		return -1;
	if (r.n > 0 && (v = calloc(r.n, sizeof(*v))) == NULL) {
		idb_rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		v[i].id = idb_int(&r, i, 0);
		v[i].title = idb_strdup(&r, i, 1);
		v[i].by = idb_strdup(&r, i, 2);
		v[i].checks = idb_strdup(&r, i, 3);
		v[i].hosts = idb_strdup(&r, i, 4);
		v[i].groups = idb_strdup(&r, i, 5);
		v[i].started_at = idb_int(&r, i, 6);
		v[i].ended_at = idb_null(&r, i, 7) ? 0 : idb_int(&r, i, 7);
		v[i].created_at = idb_int(&r, i, 8);
	}
	*pv = v;
	*pn = r.n;
	idb_rows_free(&r);
	return 0;
}

/* ---- problem records --------------------------------------------------------- */

int64_t
store_problem_insert(const struct store_problem *p)
{
	int64_t id = next_id(&next_problem_id, "SELECT max(id) FROM problems");

	if (id < 0 || idb_write("INSERT INTO problems (id, title, status, "
	    "root_cause, workaround, analysis, created_by, opened_at, "
	    "updated_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "issssssiit", id, p->title, p->status, p->root_cause,
	    p->workaround, p->analysis, p->created_by, (int64_t)p->opened_at,
	    (int64_t)p->updated_at, (int64_t)p->resolved_at) < 0)
		return -1;
	return id;
}

int
store_problem_update(const struct store_problem *p)
{
	return idb_write("UPDATE problems SET title = ?, status = ?, "
	    "workaround = ?, analysis = ?, updated_at = ?, resolved_at = ? "
	    "WHERE id = ?", "ssssiti", p->title, p->status, p->workaround,
	    p->analysis, (int64_t)p->updated_at, (int64_t)p->resolved_at,
	    p->id) < 0 ? -1 : 0;
}

int
store_problem_link(int64_t problem, int64_t incident, time_t at)
{
	return idb_write("INSERT OR IGNORE INTO problem_incidents "
	    "(problem_id, incident_id, linked_at) VALUES (?, ?, ?)", "iii",
	    problem, incident, (int64_t)at) < 0 ? -1 : 0;
}

void
store_problem_clear(struct store_problem *p)
{
	if (p == NULL)
		return;
	free(p->title);
	free(p->status);
	free(p->root_cause);
	free(p->workaround);
	free(p->analysis);
	free(p->created_by);
	free(p->incidents);
	memset(p, 0, sizeof(*p));
}

/* The ids of a one-column select, in order. */
static int
select_ids(struct idb_rows *r, int64_t **ids, size_t *n)
{
	size_t i;

	*ids = NULL;
	*n = 0;
	if (r->n > 0 && (*ids = calloc(r->n, sizeof(**ids))) == NULL) {
		idb_rows_free(r);
		return -1;
	}
	for (i = 0; i < r->n; i++)
		(*ids)[i] = idb_int(r, i, 0);
	*n = r->n;
	idb_rows_free(r);
	return 0;
}

int
store_problem_get(int64_t id, struct store_problem *out)
{
	struct idb_rows r;

	memset(out, 0, sizeof(*out));
	if (idb_select(&r, "SELECT id, title, status, root_cause, workaround, "
	    "analysis, created_by, opened_at, updated_at, resolved_at "
	    "FROM problems WHERE id = ?", "i", id) == -1)
		return -1;
	if (r.n == 0) {
		idb_rows_free(&r);
		return 0;
	}
	out->id = idb_int(&r, 0, 0);
	out->title = idb_strdup(&r, 0, 1);
	out->status = idb_strdup(&r, 0, 2);
	out->root_cause = idb_strdup(&r, 0, 3);
	out->workaround = idb_strdup(&r, 0, 4);
	out->analysis = idb_strdup(&r, 0, 5);
	out->created_by = idb_strdup(&r, 0, 6);
	out->opened_at = idb_int(&r, 0, 7);
	out->updated_at = idb_int(&r, 0, 8);
	out->resolved_at = idb_null(&r, 0, 9) ? 0 : idb_int(&r, 0, 9);
	idb_rows_free(&r);
	if (out->title == NULL || out->status == NULL ||
	    idb_select(&r, "SELECT incident_id FROM problem_incidents "
	    "WHERE problem_id = ? ORDER BY incident_id", "i", id) == -1 ||
	    select_ids(&r, &out->incidents, &out->nincidents) == -1) {
		store_problem_clear(out);
		return -1;
	}
	return 1;
}

int
store_problem_of_root(const char *root, int64_t *id)
{
	struct idb_rows r;
	int found;

	if (idb_select(&r, "SELECT max(id) FROM problems WHERE root_cause = ?",
	    "s", root) == -1)
		return -1;
	if ((found = r.n > 0 && !idb_null(&r, 0, 0)))
		*id = idb_int(&r, 0, 0);
	idb_rows_free(&r);
	return found;
}

int
store_problem_of_incident(int64_t incident, int64_t *id)
{
	struct idb_rows r;
	int found;

	if (idb_select(&r, "SELECT max(problem_id) FROM problem_incidents "
	    "WHERE incident_id = ?", "i", incident) == -1)
		return -1;
	if ((found = r.n > 0 && !idb_null(&r, 0, 0)))
		*id = idb_int(&r, 0, 0);
	idb_rows_free(&r);
	return found;
}

int
store_problem_ids(const char *status, long limit, int64_t **ids, size_t *n)
{
	struct idb_rows r;

	if (idb_select(&r, "SELECT id FROM problems WHERE ? IS NULL OR "
	    "status = ? ORDER BY id DESC LIMIT ?", "ssi", status, status,
	    (int64_t)limit) == -1)
		return -1;
	return select_ids(&r, ids, n);
}

int
store_incidents_of_root(const char *root, time_t since, int64_t **ids,
    size_t *n)
{
	struct idb_rows r;

	if (idb_select(&r, "SELECT id FROM incidents WHERE root_cause = ? "
	    "AND opened_at >= ? ORDER BY id", "si", root,
	    (int64_t)since) == -1)
		return -1;
	return select_ids(&r, ids, n);
}

/* ---- maintenance ------------------------------------------------------------ */

int64_t
store_maint_insert(const struct store_maint *w)
{
	int64_t id = next_id(&next_maint_id, "SELECT max(id) FROM "
	    "maintenance");

	if (id < 0 || idb_write("INSERT INTO maintenance (id, checks, hosts, "
	    "groups, starts_at, ends_at, comment, created_by, created_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", "isssiissi", id, w->checks,
	    w->hosts, w->groups, (int64_t)w->starts_at, (int64_t)w->ends_at,
	    w->comment, w->created_by, (int64_t)w->created_at) < 0)
		return -1;
	return id;
}

int
store_maint_delete(int64_t id)
{
	return idb_write("DELETE FROM maintenance WHERE id = ?", "i", id) < 0 ?
	    -1 : 0;
}

int
store_maint_end(int64_t id, time_t at)
{
	return idb_write("UPDATE maintenance SET ends_at = ? WHERE id = ?",
	    "ii", (int64_t)at, id) < 0 ? -1 : 0;
}

int
store_maint_purge(time_t before)
{
	return idb_write("DELETE FROM maintenance WHERE ends_at < ?", "i",
	    (int64_t)before) < 0 ? -1 : 0;
}

void
store_maints_free(struct store_maint *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].checks);
		free(v[i].hosts);
		free(v[i].groups);
		free(v[i].comment);
		free(v[i].created_by);
	}
	free(v);
}

int
store_maints(struct store_maint **pv, size_t *pn)
{
	struct store_maint *v = NULL;
	struct idb_rows r;
	size_t i;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT id, checks, hosts, groups, starts_at, "
	    "ends_at, comment, created_by FROM maintenance ORDER BY id",
	    "") == -1)
		return -1;
	if (r.n > 0 && (v = calloc(r.n, sizeof(*v))) == NULL) {
		idb_rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		v[i].id = idb_int(&r, i, 0);
		v[i].checks = idb_strdup(&r, i, 1);
		v[i].hosts = idb_strdup(&r, i, 2);
		v[i].groups = idb_strdup(&r, i, 3);
		v[i].starts_at = idb_int(&r, i, 4);
		v[i].ends_at = idb_int(&r, i, 5);
		v[i].comment = idb_strdup(&r, i, 6);
		v[i].created_by = idb_strdup(&r, i, 7);
	}
	*pv = v;
	*pn = r.n;
	idb_rows_free(&r);
	return 0;
}

/* ---- escalations ------------------------------------------------------------- */

int
store_esc_epoch(int64_t id, int64_t *epoch)
{
	struct idb_rows r;
	int found;

	if (idb_select(&r, "SELECT epoch FROM notify_esc WHERE "
	    "incident_id = ?", "i", id) == -1)
		return -1;
	if ((found = r.n > 0))
		*epoch = idb_int(&r, 0, 0);
	idb_rows_free(&r);
	return found;
}

int
store_esc_start(int64_t id, const char *policy, int64_t epoch,
    int64_t started_ms, int64_t next_ms)
{
	return idb_write("INSERT OR REPLACE INTO notify_esc (incident_id, "
	    "policy, epoch, step, round, started_at, next_at, active) "
	    "VALUES (?, ?, ?, 0, 0, ?, ?, 1)", "isiii", id, policy, epoch,
	    started_ms, next_ms) < 0 ? -1 : 0;
}

int
store_esc_update(const struct store_esc *e)
{
	return idb_write("UPDATE notify_esc SET step = ?, round = ?, "
	    "started_at = ?, next_at = ?, active = ? WHERE incident_id = ?",
	    "iiiiii", e->step, e->round, e->started_ms, e->next_ms,
	    (int64_t)e->active, e->incident_id) < 0 ? -1 : 0;
}

int
store_esc_stop(int64_t id)
{
	return idb_write("UPDATE notify_esc SET active = 0 WHERE "
	    "incident_id = ?", "i", id) < 0 ? -1 : 0;
}

int
store_esc_delete(int64_t id)
{
	return idb_write("DELETE FROM notify_esc WHERE incident_id = ?", "i",
	    id) < 0 ? -1 : 0;
}

void
store_escs_free(struct store_esc *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].policy);
	free(v);
}

int
store_esc_due(int64_t now_ms, unsigned limit, struct store_esc **pv,
    size_t *pn)
{
	struct store_esc *v = NULL;
	struct idb_rows r;
	size_t i;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT incident_id, policy, epoch, step, round, "
	    "started_at, next_at FROM notify_esc WHERE active = 1 AND "
	    "next_at <= ? LIMIT ?", "ii", now_ms, (int64_t)limit) == -1)
		return -1;
	if (r.n > 0 && (v = calloc(r.n, sizeof(*v))) == NULL) {
		idb_rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		v[i].incident_id = idb_int(&r, i, 0);
		v[i].policy = idb_strdup(&r, i, 1);
		v[i].epoch = idb_int(&r, i, 2);
		v[i].step = idb_int(&r, i, 3);
		v[i].round = idb_int(&r, i, 4);
		v[i].started_ms = idb_int(&r, i, 5);
		v[i].next_ms = idb_int(&r, i, 6);
		v[i].active = true;
	}
	*pv = v;
	*pn = r.n;
	idb_rows_free(&r);
	return 0;
}

int
store_esc_next(int64_t *next_ms)
{
	return one_int("SELECT min(next_at) FROM notify_esc "
	    "WHERE active = 1", next_ms);
}

/* ---- the outbox ------------------------------------------------------------ */

int
store_outbox_add(int64_t id, const char *event, const char *channel,
    const char *contact, const char *address, const char *idem_key,
    int64_t now_ms)
{
	return idb_write("INSERT OR IGNORE INTO notify_outbox (incident_id, "
	    "event, channel, contact, address, idem_key, status, next_at, "
	    "created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
	    "isssssii", id, event, channel, contact, address, idem_key,
	    now_ms, now_ms) < 0 ? -1 : 0;
}

void
store_outboxes_free(struct store_outbox *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].event);
		free(v[i].channel);
		free(v[i].contact);
		free(v[i].address);
		free(v[i].idem_key);
		free(v[i].status);
		free(v[i].last_error);
	}
	free(v);
}

/* Rows of OUTBOX_COLS into a new array. */
#define OUTBOX_COLS "id, incident_id, event, channel, contact, address, " \
	"idem_key, attempts, status, created_at, sent_at, next_at, last_error"

static int
outbox_rows(const struct idb_rows *r, struct store_outbox **pv, size_t *pn)
{
	struct store_outbox *v = NULL;
	size_t i;

	if (r->n > 0 && (v = calloc(r->n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < r->n; i++) {
		v[i].id = idb_int(r, i, 0);
		v[i].incident_id = idb_int(r, i, 1);
		v[i].event = idb_strdup(r, i, 2);
		v[i].channel = idb_strdup(r, i, 3);
		v[i].contact = idb_strdup(r, i, 4);
		v[i].address = idb_strdup(r, i, 5);
		v[i].idem_key = idb_strdup(r, i, 6);
		v[i].attempts = (int)idb_int(r, i, 7);
		v[i].status = idb_strdup(r, i, 8);
		v[i].created_ms = idb_int(r, i, 9);
		v[i].sent_ms = idb_int(r, i, 10);
		v[i].next_ms = idb_int(r, i, 11);
		v[i].last_error = idb_strdup(r, i, 12);
	}
	*pv = v;
	*pn = r->n;
	return 0;
}

int
store_outbox_due(int64_t now_ms, unsigned limit, struct store_outbox **pv,
    size_t *pn)
{
	struct idb_rows r;
	int rc;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT " OUTBOX_COLS " FROM notify_outbox "
	    "WHERE status = 'pending' AND sending = 0 AND next_at <= ? "
	    "ORDER BY next_at, id LIMIT ?", "ii", now_ms,
	    (int64_t)limit) == -1)
		return -1;
	rc = outbox_rows(&r, pv, pn);
	idb_rows_free(&r);
	return rc;
}

int
store_outbox_before(const struct store_outbox *o, int64_t *next_ms,
    bool *sending)
{
	struct idb_rows r;
	int found;

	if (idb_select(&r, "SELECT next_at, sending FROM notify_outbox "
	    "WHERE incident_id = ? AND channel = ? AND contact IS ? "
	    "AND status = 'pending' AND id < ? ORDER BY id LIMIT 1",
	    "issi", o->incident_id, o->channel, o->contact, o->id) == -1)
		return -1;
	if ((found = r.n > 0)) {
		*next_ms = idb_int(&r, 0, 0);
		*sending = idb_int(&r, 0, 1) != 0;
	}
	idb_rows_free(&r);
	return found;
}

int
store_outbox_postpone(int64_t row, int64_t next_ms)
{
	return idb_write("UPDATE notify_outbox SET next_at = ? WHERE id = ?",
	    "ii", next_ms, row) < 0 ? -1 : 0;
}

int
store_outbox_sending(int64_t row)
{
	return idb_write("UPDATE notify_outbox SET sending = 1 WHERE id = ?",
	    "i", row) < 0 ? -1 : 0;
}

int
store_outbox_sent(int64_t row, int64_t at_ms, int attempts)
{
	return idb_write("UPDATE notify_outbox SET status = 'sent', "
	    "sent_at = ?, attempts = ?, sending = 0, last_error = NULL "
	    "WHERE id = ?", "iii", at_ms, (int64_t)attempts, row) < 0 ? -1 : 0;
}

int
store_outbox_retry(int64_t row, int attempts, int64_t next_ms,
    const char *error)
{
	return idb_write("UPDATE notify_outbox SET attempts = ?, next_at = ?, "
	    "sending = 0, last_error = ? WHERE id = ?", "iisi",
	    (int64_t)attempts, next_ms, error, row) < 0 ? -1 : 0;
}

int
store_outbox_dead(int64_t row, int attempts, const char *error)
{
	return idb_write("UPDATE notify_outbox SET status = 'dead', "
	    "attempts = ?, sending = 0, last_error = ? WHERE id = ?",
	    "isi", (int64_t)attempts, error, row) < 0 ? -1 : 0;
}

int
store_outbox_unsend(void)
{
	return idb_write("UPDATE notify_outbox SET sending = 0 "
	    "WHERE sending = 1", "") < 0 ? -1 : 0;
}

int
store_outbox_next(int64_t *next_ms)
{
	return one_int("SELECT min(next_at) FROM notify_outbox "
	    "WHERE status = 'pending' AND sending = 0", next_ms);
}

int64_t
store_outbox_pending(void)
{
	int64_t n = 0;

	if (one_int("SELECT count(*) FROM notify_outbox "
	    "WHERE status = 'pending'", &n) == -1)
		return -1;
	return n;
}

void
store_recipients_free(struct store_recipient *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].channel);
		free(v[i].contact);
	}
	free(v);
}

int
store_outbox_recipients(int64_t id, struct store_recipient **pv, size_t *pn)
{
	struct store_recipient *v = NULL;
	struct idb_rows r;
	size_t i;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT DISTINCT channel, contact FROM "
	    "notify_outbox WHERE incident_id = ? AND event IN "
	    "('incident.opened', 'incident.escalated')", "i", id) == -1)
		return -1;
	if (r.n > 0 && (v = calloc(r.n, sizeof(*v))) == NULL) {
		idb_rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		v[i].channel = idb_strdup(&r, i, 0);
		v[i].contact = idb_strdup(&r, i, 1);
	}
	*pv = v;
	*pn = r.n;
	idb_rows_free(&r);
	return 0;
}

int
store_outbox_list(int64_t id, const char *status, int64_t limit,
    struct store_outbox **pv, size_t *pn)
{
	struct idb_rows r;
	int rc;

	*pv = NULL;
	*pn = 0;
	if (idb_select(&r, "SELECT " OUTBOX_COLS " FROM notify_outbox "
	    "WHERE (? < 0 OR incident_id = ?) AND (? IS NULL OR status = ?) "
	    "ORDER BY id DESC LIMIT ?", "iissi", id, id, status, status,
	    limit) == -1)
		return -1;
	rc = outbox_rows(&r, pv, pn);
	idb_rows_free(&r);
	return rc;
}
