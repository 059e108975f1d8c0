/*
 * store_sqlite.c — the incident log's store (store.h) on SQLite: every
 * SQL statement of the incident log, the maintenance windows and the
 * notifier's tables.  The connection, schema, migrations, statement cache
 * and the batch transaction are idb.c's; this file turns the interface's
 * structs into rows and back.
 *
 * Reads copy what they need out of the statement and reset it before
 * returning (idb_query() hands out a reset statement each time), so no
 * read is left open between calls.
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
level_of(const unsigned char *s)
{
	int i;

	for (i = 0; s != NULL && i < 3; i++)
		if (strcmp(level_names[i], (const char *)s) == 0)
			return i;
	return LEVEL_MEDIUM;
}

static int
status_of(const unsigned char *s)
{
	int i;

	for (i = INC_OPEN; s != NULL && i <= INC_CLOSED; i++)
		if (strcmp(incident_status_name(i), (const char *)s) == 0)
			return i;
	return -1;
}

static char *
col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? strdup((const char *)t) : NULL;
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

/* The end of a read: reset st; rc is the last sqlite3_step() result. */
static int
done(sqlite3_stmt *st, int rc, int err)
{
	if (st != NULL)
		sqlite3_reset(st);
	return err || rc != SQLITE_DONE ? -1 : 0;
}

/* ---- life cycle ------------------------------------------------------- */

int
store_open(struct event_base *base, const char *path)
{
	return idb_open(base, path);
}

void
store_close(void)
{
	idb_close();
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

/* ---- incidents -------------------------------------------------------- */

int64_t
store_incident_insert(const struct store_incident *inc)
{
	return idb_write("INSERT INTO incidents (title, status, impact, "
	    "urgency, priority, root_cause, grp, flapping, opened_at) "
	    "VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?)", "sssissii", inc->title,
	    level_name(inc->impact), level_name(inc->urgency),
	    (int64_t)inc->priority, inc->root_cause, inc->group,
	    (int64_t)inc->flapping, (int64_t)inc->opened_at);
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
	sqlite3_stmt *st = idb_query("SELECT 1 FROM incidents WHERE id = ?",
	    "i", id);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
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

/* One row of INCIDENT_COLS; -1 if it cannot be used (out of memory). */
static int
incident_row(sqlite3_stmt *st, struct store_incident *inc)
{
	inc->id = sqlite3_column_int64(st, 0);
	inc->title = col_str(st, 1);
	inc->status = status_of(sqlite3_column_text(st, 2));
	inc->impact = level_of(sqlite3_column_text(st, 3));
	inc->urgency = level_of(sqlite3_column_text(st, 4));
	inc->priority = sqlite3_column_int(st, 5);
	inc->root_cause = col_str(st, 6);
	inc->group = col_str(st, 7);
	inc->flapping = sqlite3_column_int(st, 8) != 0;
	inc->opened_at = sqlite3_column_int64(st, 9);
	inc->acknowledged_at = sqlite3_column_int64(st, 10);
	inc->acknowledged_by = col_str(st, 11);
	inc->resolved_at = sqlite3_column_int64(st, 12);
	inc->closed_at = sqlite3_column_int64(st, 13);
	return 0;
}

static int
incident_checks(struct store_incident *inc)
{
	sqlite3_stmt *st;
	struct store_inc_check *ic;
	int rc, err = 0;

	st = idb_query("SELECT check_name, role, state, detached FROM "
	    "incident_checks WHERE incident_id = ? ORDER BY rowid", "i",
	    inc->id);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *role = (const char *)sqlite3_column_text(st, 1);
		int s = state_from_name((const char *)
		    sqlite3_column_text(st, 2));
		int r;

		if (name == NULL || role == NULL)
			continue;
		for (r = 0; r < 3; r++)
			if (strcmp(role, role_names[r]) == 0)
				break;
		if ((ic = grow(&inc->checks, &inc->nchecks,
		    sizeof(*ic))) == NULL || (ic->name = strdup(name)) ==
		    NULL) {
			err = 1;
			break;
		}
		ic->role = r < 3 ? (enum inc_role)r : ROLE_MEMBER;
		ic->state = s < 0 ? STATE_CRITICAL : s;
		ic->detached = sqlite3_column_int(st, 3) != 0;
	}
	return done(st, rc, err);
}

static int
incident_timeline(struct store_incident *inc)
{
	sqlite3_stmt *st;
	struct store_timeline *t;
	int rc, err = 0;

	st = idb_query("SELECT at, kind, text FROM timeline "
	    "WHERE incident_id = ? ORDER BY id", "i", inc->id);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((t = grow(&inc->timeline, &inc->ntimeline,
		    sizeof(*t))) == NULL) {
			err = 1;
			break;
		}
		t->at = sqlite3_column_int64(st, 0);
		t->kind = col_str(st, 1);
		t->text = col_str(st, 2);
	}
	return done(st, rc, err);
}

int
store_incidents_active(struct store_incident **pv, size_t *pn)
{
	struct store_incident *v = NULL, *inc;
	sqlite3_stmt *st;
	size_t n = 0, i;
	int rc, err = 0;

	*pv = NULL;
	*pn = 0;
	st = idb_query("SELECT " INCIDENT_COLS " FROM incidents "
	    "WHERE status != 'closed' ORDER BY id", "");
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((inc = grow(&v, &n, sizeof(*inc))) == NULL) {
			err = 1;
			break;
		}
		incident_row(st, inc);
	}
	if (done(st, rc, err) == -1)
		goto fail;
	for (i = 0; i < n; i++)
		if (incident_checks(&v[i]) == -1)
			goto fail;
	*pv = v;
	*pn = n;
	return 0;
fail:
	for (i = 0; i < n; i++)
		store_incident_clear(&v[i]);
	free(v);
	return -1;
}

int
store_incident_get(int64_t id, struct store_incident *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	st = idb_query("SELECT " INCIDENT_COLS " FROM incidents WHERE id = ?",
	    "i", id);
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		incident_row(st, out);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : -1;
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
	sqlite3_stmt *st;
	int64_t *ids = NULL, *p;
	size_t n = 0;
	int rc, err = 0;

	*pids = NULL;
	*pn = 0;
	if (check == NULL)
		st = idb_query("SELECT id FROM incidents "
		    "WHERE status IN (?, ?, ?, ?) ORDER BY id DESC "
		    "LIMIT ? OFFSET ?", "ssssii", want[0] ? "open" : "",
		    want[1] ? "acknowledged" : "", want[2] ? "resolved" : "",
		    want[3] ? "closed" : "", (int64_t)limit, (int64_t)offset);
	else
		st = idb_query("SELECT id FROM incidents "
		    "WHERE status IN (?, ?, ?, ?) AND id IN (SELECT "
		    "incident_id FROM incident_checks WHERE check_name = ?) "
		    "ORDER BY id DESC LIMIT ? OFFSET ?", "sssssii",
		    want[0] ? "open" : "", want[1] ? "acknowledged" : "",
		    want[2] ? "resolved" : "", want[3] ? "closed" : "", check,
		    (int64_t)limit, (int64_t)offset);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = grow(&ids, &n, sizeof(*p))) == NULL) {
			err = 1;
			break;
		}
		*p = sqlite3_column_int64(st, 0);
	}
	if (done(st, rc, err) == -1) {
		free(ids);
		return -1;
	}
	*pids = ids;
	*pn = n;
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
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, err = 0;

	*pv = NULL;
	*pn = 0;
	st = idb_query("SELECT name, type, state, hard, hard_state, attempt, "
	    "flapping, last_change, last_hard_change, summary "
	    "FROM check_state", "");
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_text(st, 0) == NULL ||
		    sqlite3_column_text(st, 1) == NULL)
			continue;
		if ((ck = grow(&v, &n, sizeof(*ck))) == NULL) {
			err = 1;
			break;
		}
		ck->name = col_str(st, 0);
		ck->type = col_str(st, 1);
		ck->st.state = sqlite3_column_int(st, 2);
		ck->st.hard = sqlite3_column_int(st, 3) != 0;
		ck->st.hard_state = sqlite3_column_int(st, 4);
		ck->st.attempt = sqlite3_column_int(st, 5);
		ck->st.flapping = sqlite3_column_int(st, 6) != 0;
		ck->st.last_change = sqlite3_column_int64(st, 7);
		ck->st.last_hard_change = sqlite3_column_int64(st, 8);
		ck->summary = col_str(st, 9);
		if (ck->name == NULL || ck->type == NULL) {
			err = 1;
			break;
		}
	}
	if (done(st, rc, err) == -1) {
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
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	st = idb_query("SELECT count(*), "
	    "count(acknowledged_at), avg(acknowledged_at - opened_at), "
	    "count(resolved_at), avg(resolved_at - opened_at) "
	    "FROM incidents WHERE opened_at >= ? AND opened_at < ?", "ii",
	    (int64_t)since, (int64_t)until);
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->incidents = sqlite3_column_int64(st, 0);
		out->acknowledged = sqlite3_column_int64(st, 1);
		out->mtta_s = sqlite3_column_double(st, 2);
		out->resolved = sqlite3_column_int64(st, 3);
		out->mttr_s = sqlite3_column_double(st, 4);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
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
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, err = 0;

	*pv = NULL;
	*pn = 0;
	st = idb_query("SELECT check_name, at, new_state FROM events "
	    "WHERE at < ? AND old_state != new_state "
	    "ORDER BY check_name, at, id", "i", (int64_t)until);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int s = state_from_name((const char *)
		    sqlite3_column_text(st, 2));

		if (sqlite3_column_text(st, 0) == NULL)
			continue;
		if ((c = grow(&v, &n, sizeof(*c))) == NULL ||
		    (c->check = col_str(st, 0)) == NULL) {
			err = 1;
			break;
		}
		c->at = sqlite3_column_int64(st, 1);
		c->state = s < 0 ? STATE_UNKNOWN : s;
	}
	if (done(st, rc, err) == -1) {
		store_changes_free(v, n);
		return -1;
	}
	*pv = v;
	*pn = n;
	return 0;
}

/* ---- maintenance ------------------------------------------------------------ */

int64_t
store_maint_insert(const struct store_maint *w)
{
	return idb_write("INSERT INTO maintenance (checks, hosts, groups, "
	    "starts_at, ends_at, comment, created_by, created_at) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?)", "sssiissi", w->checks, w->hosts,
	    w->groups, (int64_t)w->starts_at, (int64_t)w->ends_at,
	    w->comment, w->created_by, (int64_t)w->created_at);
}

int
store_maint_delete(int64_t id)
{
	return idb_write("DELETE FROM maintenance WHERE id = ?", "i", id) < 0 ?
	    -1 : 0;
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
	struct store_maint *v = NULL, *w;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, err = 0;

	*pv = NULL;
	*pn = 0;
	st = idb_query("SELECT id, checks, hosts, groups, starts_at, ends_at, "
	    "comment, created_by FROM maintenance ORDER BY id", "");
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((w = grow(&v, &n, sizeof(*w))) == NULL) {
			err = 1;
			break;
		}
		w->id = sqlite3_column_int64(st, 0);
		w->checks = col_str(st, 1);
		w->hosts = col_str(st, 2);
		w->groups = col_str(st, 3);
		w->starts_at = sqlite3_column_int64(st, 4);
		w->ends_at = sqlite3_column_int64(st, 5);
		w->comment = col_str(st, 6);
		w->created_by = col_str(st, 7);
	}
	if (done(st, rc, err) == -1) {
		store_maints_free(v, n);
		return -1;
	}
	*pv = v;
	*pn = n;
	return 0;
}

/* ---- escalations ------------------------------------------------------------- */

int
store_esc_epoch(int64_t id, int64_t *epoch)
{
	sqlite3_stmt *st;
	int rc;

	st = idb_query("SELECT epoch FROM notify_esc WHERE incident_id = ?",
	    "i", id);
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*epoch = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
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
	struct store_esc *v = NULL, *e;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, err = 0;

	*pv = NULL;
	*pn = 0;
	st = idb_query("SELECT incident_id, policy, epoch, step, round, "
	    "started_at, next_at FROM notify_esc WHERE active = 1 AND "
	    "next_at <= ? LIMIT ?", "ii", now_ms, (int64_t)limit);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((e = grow(&v, &n, sizeof(*e))) == NULL) {
			err = 1;
			break;
		}
		e->incident_id = sqlite3_column_int64(st, 0);
		e->policy = col_str(st, 1);
		e->epoch = sqlite3_column_int64(st, 2);
		e->step = sqlite3_column_int64(st, 3);
		e->round = sqlite3_column_int64(st, 4);
		e->started_ms = sqlite3_column_int64(st, 5);
		e->next_ms = sqlite3_column_int64(st, 6);
		e->active = true;
	}
	if (done(st, rc, err) == -1) {
		store_escs_free(v, n);
		return -1;
	}
	*pv = v;
	*pn = n;
	return 0;
}

/* min() over a column: 1 and *v, 0 if there are no rows, -1 on error. */
static int
min_of(sqlite3_stmt *st, int64_t *v)
{
	int rc, r = -1;

	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = sqlite3_column_type(st, 0) != SQLITE_NULL;
		if (r)
			*v = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return r;
}

int
store_esc_next(int64_t *next_ms)
{
	return min_of(idb_query("SELECT min(next_at) FROM notify_esc "
	    "WHERE active = 1", ""), next_ms);
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

int
store_outbox_due(int64_t now_ms, unsigned limit, struct store_outbox **pv,
    size_t *pn)
{
	struct store_outbox *v = NULL, *r;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, err = 0;

	*pv = NULL;
	*pn = 0;
	st = idb_query("SELECT id, incident_id, event, channel, contact, "
	    "address, idem_key, attempts FROM notify_outbox WHERE status = "
	    "'pending' AND sending = 0 AND next_at <= ? ORDER BY next_at, id "
	    "LIMIT ?", "ii", now_ms, (int64_t)limit);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = grow(&v, &n, sizeof(*r))) == NULL) {
			err = 1;
			break;
		}
		r->id = sqlite3_column_int64(st, 0);
		r->incident_id = sqlite3_column_int64(st, 1);
		r->event = col_str(st, 2);
		r->channel = col_str(st, 3);
		r->contact = col_str(st, 4);
		r->address = col_str(st, 5);
		r->idem_key = col_str(st, 6);
		r->attempts = sqlite3_column_int(st, 7);
	}
	if (done(st, rc, err) == -1) {
		store_outboxes_free(v, n);
		return -1;
	}
	*pv = v;
	*pn = n;
	return 0;
}

int
store_outbox_before(const struct store_outbox *r, int64_t *next_ms,
    bool *sending)
{
	sqlite3_stmt *st;
	int rc;

	st = idb_query("SELECT next_at, sending FROM notify_outbox "
	    "WHERE incident_id = ? AND channel = ? AND contact IS ? "
	    "AND status = 'pending' AND id < ? ORDER BY id LIMIT 1",
	    "issi", r->incident_id, r->channel, r->contact, r->id);
	if (st == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*next_ms = sqlite3_column_int64(st, 0);
		*sending = sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
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
	return min_of(idb_query("SELECT min(next_at) FROM notify_outbox "
	    "WHERE status = 'pending' AND sending = 0", ""), next_ms);
}

int64_t
store_outbox_pending(void)
{
	int64_t n = 0;

	if (min_of(idb_query("SELECT count(*) FROM notify_outbox "
	    "WHERE status = 'pending'", ""), &n) == -1)
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
	struct store_recipient *v = NULL, *r;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, err = 0;

	*pv = NULL;
	*pn = 0;
	st = idb_query("SELECT DISTINCT channel, contact FROM notify_outbox "
	    "WHERE incident_id = ? AND event IN "
	    "('incident.opened', 'incident.escalated')", "i", id);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = grow(&v, &n, sizeof(*r))) == NULL) {
			err = 1;
			break;
		}
		r->channel = col_str(st, 0);
		r->contact = col_str(st, 1);
	}
	if (done(st, rc, err) == -1) {
		store_recipients_free(v, n);
		return -1;
	}
	*pv = v;
	*pn = n;
	return 0;
}

int
store_outbox_list(int64_t id, const char *status, int64_t limit,
    struct store_outbox **pv, size_t *pn)
{
	struct store_outbox *v = NULL, *r;
	sqlite3_stmt *st;
	size_t n = 0;
	int rc, err = 0;

	*pv = NULL;
	*pn = 0;
	st = idb_query("SELECT id, incident_id, event, channel, contact, "
	    "address, idem_key, status, attempts, created_at, sent_at, "
	    "next_at, last_error FROM notify_outbox WHERE (? < 0 OR "
	    "incident_id = ?) AND (? IS NULL OR status = ?) ORDER BY id DESC "
	    "LIMIT ?", "iissi", id, id, status, status, limit);
	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = grow(&v, &n, sizeof(*r))) == NULL) {
			err = 1;
			break;
		}
		r->id = sqlite3_column_int64(st, 0);
		r->incident_id = sqlite3_column_int64(st, 1);
		r->event = col_str(st, 2);
		r->channel = col_str(st, 3);
		r->contact = col_str(st, 4);
		r->address = col_str(st, 5);
		r->idem_key = col_str(st, 6);
		r->status = col_str(st, 7);
		r->attempts = sqlite3_column_int(st, 8);
		r->created_ms = sqlite3_column_int64(st, 9);
		r->sent_ms = sqlite3_column_int64(st, 10);
		r->next_ms = sqlite3_column_int64(st, 11);
		r->last_error = col_str(st, 12);
	}
	if (done(st, rc, err) == -1) {
		store_outboxes_free(v, n);
		return -1;
	}
	*pv = v;
	*pn = n;
	return 0;
}
