/*
 * incident_api.c — incidents as the API shows them, the operator's
 * actions on them, and the report (availability, MTTA, MTTR).
 *
 * Everything is read from the database (the record), not from the
 * correlator's working set, so closed incidents and open ones look the
 * same.  Pending writes are committed first: what a client sees is
 * durable.  A check's state is the live one when the check still exists.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "incident/idb.h"
#include "incident/incident.h"
#include "incident/incident_int.h"
#include "core/log.h"
#include "core/state.h"

#define LIST_DEFAULT	100
#define LIST_MAX	1000

static json_t *
col_json(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? json_null() :
	    api_str((const char *)sqlite3_column_text(st, i));
}

static json_t *
col_time(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? json_null() :
	    api_time((time_t)sqlite3_column_int64(st, i));
}

static json_t *
incident_checks_json(int64_t id)
{
	sqlite3_stmt *st;
	json_t *a = json_array(), *o;
	int err = a == NULL;

	st = idb_query("SELECT check_name, role, state FROM incident_checks "
	    "WHERE incident_id = ? AND detached = 0 ORDER BY rowid", "i", id);
	if (st == NULL)
		err = 1;
	while (!err && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const struct check *c = name ? conf_check(daemon_g.cf, name) :
		    NULL;

		if ((o = json_object()) == NULL) {
			err = 1;
			break;
		}
		api_set(o, "name", api_str(name), &err);
		api_set(o, "state", c != NULL ? json_string(
		    state_name(c->st.state)) : col_json(st, 2), &err);
		api_set(o, "stored_state", col_json(st, 2), &err);
		api_set(o, "role", col_json(st, 1), &err);
		api_append(a, o, &err);
	}
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
incident_timeline_json(int64_t id)
{
	sqlite3_stmt *st;
	json_t *a = json_array(), *o;
	int err = a == NULL;

	st = idb_query("SELECT at, kind, text FROM timeline "
	    "WHERE incident_id = ? ORDER BY id", "i", id);
	if (st == NULL)
		err = 1;
	while (!err && sqlite3_step(st) == SQLITE_ROW) {
		if ((o = json_object()) == NULL) {
			err = 1;
			break;
		}
		api_set(o, "at", col_time(st, 0), &err);
		api_set(o, "kind", col_json(st, 1), &err);
		api_set(o, "text", col_json(st, 2), &err);
		api_append(a, o, &err);
	}
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

#define INCIDENT_COLS "id, title, status, priority, impact, urgency, " \
	"root_cause, grp, flapping, opened_at, acknowledged_at, " \
	"acknowledged_by, resolved_at, closed_at"

/* One incident from a row of INCIDENT_COLS. */
static json_t *
incident_row_json(sqlite3_stmt *st)
{
	int64_t id = sqlite3_column_int64(st, 0);
	json_t *o = json_object();
	char prio[8];
	int err = o == NULL;

	if (err)
		return NULL;
	snprintf(prio, sizeof(prio), "P%d", sqlite3_column_int(st, 3));
	api_set(o, "id", json_integer(id), &err);
	api_set(o, "title", col_json(st, 1), &err);
	api_set(o, "status", col_json(st, 2), &err);
	api_set(o, "priority", json_string(prio), &err);
	api_set(o, "impact", col_json(st, 4), &err);
	api_set(o, "urgency", col_json(st, 5), &err);
	api_set(o, "root_cause", col_json(st, 6), &err);
	api_set(o, "group", col_json(st, 7), &err);
	api_set(o, "flapping", json_boolean(sqlite3_column_int(st, 8)), &err);
	api_set(o, "opened_at", col_time(st, 9), &err);
	api_set(o, "acknowledged_at", col_time(st, 10), &err);
	api_set(o, "acknowledged_by", col_json(st, 11), &err);
	api_set(o, "resolved_at", col_time(st, 12), &err);
	api_set(o, "closed_at", col_time(st, 13), &err);
	/* the row's statement is cached: read it all before other queries */
	api_set(o, "checks", incident_checks_json(id), &err);
	api_set(o, "timeline", incident_timeline_json(id), &err);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
incident_json(int64_t id)
{
	sqlite3_stmt *st;

	st = idb_query("SELECT " INCIDENT_COLS " FROM incidents WHERE id = ?",
	    "i", id);
	if (st == NULL || sqlite3_step(st) != SQLITE_ROW)
		return NULL;
	return incident_row_json(st);
}

/* ---- handlers ------------------------------------------------------------ */

static const char *
query_get(struct evkeyvalq *q, const char *key)
{
	return evhttp_find_header(q, key);
}

static int
parse_query(struct evhttp_request *req, struct evkeyvalq *q)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;

	TAILQ_INIT(q);
	if (query != NULL && evhttp_parse_query_str(query, q) == -1) {
		evhttp_clear_headers(q);
		api_error(req, HTTP_BADREQUEST, "malformed query string");
		return -1;
	}
	return 0;
}

static int
parse_count(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL)
		return 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * GET /api/v1/incidents[?status=open,acknowledged|all][&check=NAME]
 * [&limit=N][&offset=N] — newest first.
 */
static void
inc_list(struct evhttp_request *req, const char *rest, void *arg)
{
	static const char *const names[] = { "open", "acknowledged",
	    "resolved", "closed" };
	struct evkeyvalq q;
	const char *status, *check;
	long limit = LIST_DEFAULT, offset = 0;
	bool want[4] = { true, true, false, false };
	sqlite3_stmt *st;
	json_t *o = NULL, *a = NULL;
	int err = 0, i, total = 0;

	(void)rest;
	(void)arg;
	if (parse_query(req, &q) == -1)
		return;
	status = query_get(&q, "status");
	check = query_get(&q, "check");
	if (parse_count(query_get(&q, "limit"), 1, LIST_MAX, &limit) == -1 ||
	    parse_count(query_get(&q, "offset"), 0, 1L << 40, &offset) == -1) {
		api_error(req, HTTP_BADREQUEST, "limit must be 1..%d and "
		    "offset >= 0", LIST_MAX);
		goto out;
	}
	if (status != NULL && strcmp(status, "all") == 0) {
		for (i = 0; i < 4; i++)
			want[i] = true;
	} else if (status != NULL) {
		const char *p = status;

		memset(want, 0, sizeof(want));
		while (*p != '\0') {
			size_t n = strcspn(p, ",");

			for (i = 0; i < 4; i++)
				if (strlen(names[i]) == n &&
				    strncmp(names[i], p, n) == 0)
					break;
			if (i == 4) {
				api_error(req, HTTP_BADREQUEST, "unknown status "
				    "in \"%s\" (open, acknowledged, resolved, "
				    "closed, all)", status);
				goto out;
			}
			want[i] = true;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	idb_commit();
	if (check == NULL)
		st = idb_query("SELECT " INCIDENT_COLS " FROM incidents "
		    "WHERE status IN (?, ?, ?, ?) ORDER BY id DESC "
		    "LIMIT ? OFFSET ?", "ssssii", want[0] ? "open" : "",
		    want[1] ? "acknowledged" : "", want[2] ? "resolved" : "",
		    want[3] ? "closed" : "", (int64_t)limit, (int64_t)offset);
	else
		st = idb_query("SELECT " INCIDENT_COLS " FROM incidents "
		    "WHERE status IN (?, ?, ?, ?) AND id IN (SELECT "
		    "incident_id FROM incident_checks WHERE check_name = ?) "
		    "ORDER BY id DESC LIMIT ? OFFSET ?", "sssssii",
		    want[0] ? "open" : "", want[1] ? "acknowledged" : "",
		    want[2] ? "resolved" : "", want[3] ? "closed" : "", check,
		    (int64_t)limit, (int64_t)offset);
	if (st == NULL || (o = json_object()) == NULL ||
	    (a = json_array()) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	/* rows first (the row statement is reused by nothing below) */
	{
		int64_t *ids = NULL;
		size_t n = 0, k;

		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t *v = reallocarray(ids, n + 1, sizeof(*v));

			if (v == NULL) {
				err = 1;
				break;
			}
			ids = v;
			ids[n++] = sqlite3_column_int64(st, 0);
		}
		for (k = 0; !err && k < n; k++)
			api_append(a, incident_json(ids[k]), &err);
		free(ids);
		total = (int)n;
	}
	api_set(o, "incidents", a, &err);
	a = NULL;
	api_set(o, "count", json_integer(total), &err);
	api_set(o, "offset", json_integer(offset), &err);
	api_set(o, "limit", json_integer(limit), &err);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
	o = NULL;
out:
	json_decref(a);
	json_decref(o);
	evhttp_clear_headers(&q);
}

/* rest: "ID" or "ID/ACTION"; -1 after replying 400 */
static int64_t
parse_id(struct evhttp_request *req, const char *rest, const char **action)
{
	char *end;
	long long id = strtoll(rest, &end, 10);

	if (rest[0] < '0' || rest[0] > '9' || id <= 0 ||
	    (*end != '\0' && *end != '/')) {
		api_error(req, HTTP_BADREQUEST, "malformed incident id: %s",
		    rest);
		return -1;
	}
	*action = *end == '/' ? end + 1 : NULL;
	return id;
}

/* GET /api/v1/incidents/ID */
static void
inc_get(struct evhttp_request *req, const char *rest, void *arg)
{
	const char *action;
	int64_t id;
	json_t *o;

	(void)arg;
	if ((id = parse_id(req, rest, &action)) < 0)
		return;
	if (action != NULL) {
		api_error(req, HTTP_NOTFOUND, "not found: %s", rest);
		return;
	}
	idb_commit();
	if ((o = incident_json(id)) == NULL) {
		api_error(req, HTTP_NOTFOUND, "no such incident: %lld",
		    (long long)id);
		return;
	}
	api_reply(req, HTTP_OK, o);
}

/* POST /api/v1/incidents/ID/ack|resolve|comment {"by":…, "comment":…} */
static void
inc_post(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *action, *by = NULL, *comment = NULL, *why = NULL;
	json_t *body = NULL, *v;
	int64_t id;
	int rc;

	(void)arg;
	if ((id = parse_id(req, rest, &action)) < 0)
		return;
	if (action == NULL || (strcmp(action, "ack") != 0 &&
	    strcmp(action, "resolve") != 0 && strcmp(action, "comment") != 0)) {
		api_error(req, HTTP_NOTFOUND, "unknown action on incident "
		    "%lld (ack, resolve, comment)", (long long)id);
		return;
	}
	/* ack and resolve may come without a body */
	if (evbuffer_get_length(in) > 0 || strcmp(action, "comment") == 0) {
		if ((body = api_body_json(req)) == NULL)
			return;
		if ((v = json_object_get(body, "by")) != NULL &&
		    !json_is_null(v)) {
			if (!json_is_string(v)) {
				api_error(req, HTTP_BADREQUEST, "by: must be a "
				    "string");
				goto out;
			}
			by = json_string_value(v);
		}
		if ((v = json_object_get(body, "comment")) != NULL &&
		    !json_is_null(v)) {
			if (!json_is_string(v)) {
				api_error(req, HTTP_BADREQUEST, "comment: must "
				    "be a string");
				goto out;
			}
			comment = json_string_value(v);
		}
	}
	if (strcmp(action, "ack") == 0)
		rc = incident_ack(id, by, comment, &why);
	else if (strcmp(action, "resolve") == 0)
		rc = incident_resolve(id, by, comment, &why);
	else if (comment == NULL) {
		api_error(req, HTTP_BADREQUEST, "comment: required");
		goto out;
	} else
		rc = incident_comment(id, by, comment, &why);
	switch (rc) {
	case 0:
		api_reply(req, HTTP_OK, incident_json(id));
		break;
	case -1:
		api_error(req, HTTP_NOTFOUND, "no such incident: %lld",
		    (long long)id);
		break;
	case -2:
		api_error(req, 409, "cannot %s incident %lld: %s", action,
		    (long long)id, why ? why : "not allowed");
		break;
	default:
		api_error(req, HTTP_INTERNAL, "the incident log could not be "
		    "written");
		break;
	}
out:
	json_decref(body);
}

/* ---- report --------------------------------------------------------------- */

static bool
counts_as_down(const char *state)
{
	/* up = OK or WARNING (degraded but serving) */
	return state != NULL && strcmp(state, "OK") != 0 &&
	    strcmp(state, "WARNING") != 0;
}

struct avail {
	char *name;
	char *group;
	int64_t down_s;
};

json_t *
incident_report(time_t since, time_t until)
{
	sqlite3_stmt *st;
	json_t *o = json_object(), *checks = json_array(), *groups =
	    json_array(), *c;
	struct avail *av = NULL;
	size_t nav = 0, i, j;
	int64_t period = until - since, n_inc = 0, n_ack = 0, n_res = 0;
	double mtta = 0, mttr = 0;
	char *cur = NULL;
	bool down = false;
	time_t t0 = since;
	int err = o == NULL || checks == NULL || groups == NULL;

	if (period <= 0)
		period = 1;
	/* incidents opened in the period */
	st = idb_query("SELECT count(*), "
	    "count(acknowledged_at), avg(acknowledged_at - opened_at), "
	    "count(resolved_at), avg(resolved_at - opened_at) "
	    "FROM incidents WHERE opened_at >= ? AND opened_at < ?", "ii",
	    (int64_t)since, (int64_t)until);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		n_inc = sqlite3_column_int64(st, 0);
		n_ack = sqlite3_column_int64(st, 1);
		mtta = sqlite3_column_double(st, 2);
		n_res = sqlite3_column_int64(st, 3);
		mttr = sqlite3_column_double(st, 4);
	} else
		err = 1;

	/*
	 * Downtime per check: walk its hard state changes in time order;
	 * the state at `since` is the last change before it (OK if none).
	 */
	st = idb_query("SELECT check_name, at, new_state FROM events "
	    "WHERE at < ? AND old_state != new_state "
	    "ORDER BY check_name, at, id", "i", (int64_t)until);
	while (!err && st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		time_t at = sqlite3_column_int64(st, 1);
		const char *ns = (const char *)sqlite3_column_text(st, 2);

		if (name == NULL)
			continue;
		if (cur == NULL || strcmp(cur, name) != 0) {
			struct avail *v;

			if (cur != NULL && down)
				av[nav - 1].down_s += until - t0;
			if ((v = reallocarray(av, nav + 1, sizeof(*v))) ==
			    NULL) {
				err = 1;
				break;
			}
			av = v;
			memset(&av[nav], 0, sizeof(av[nav]));
			av[nav].name = strdup(name);
			nav++;
			cur = av[nav - 1].name;
			down = false;
			t0 = since;
			if (cur == NULL) {
				err = 1;
				break;
			}
		}
		if (at > since && down)
			av[nav - 1].down_s += at - (t0 > since ? t0 : since);
		down = counts_as_down(ns);
		t0 = at > since ? at : since;
	}
	if (cur != NULL && down)
		av[nav - 1].down_s += until - t0;

	/* every configured check appears, also those with no event */
	for (i = 0; daemon_g.cf != NULL && i < daemon_g.cf->nchecks; i++) {
		const struct check *ck = daemon_g.cf->checks[i];

		for (j = 0; j < nav; j++)
			if (strcmp(av[j].name, ck->name) == 0)
				break;
		if (j == nav) {
			struct avail *v = reallocarray(av, nav + 1,
			    sizeof(*v));

			if (v == NULL) {
				err = 1;
				break;
			}
			av = v;
			memset(&av[nav], 0, sizeof(av[nav]));
			av[nav].name = strdup(ck->name);
			nav++;
		}
		if (ck->group != NULL)
			av[j].group = strdup(ck->group);
	}
	for (i = 0; !err && i < nav; i++) {
		if ((c = json_object()) == NULL)
			break;
		api_set(c, "name", api_str(av[i].name), &err);
		api_set(c, "group", api_str(av[i].group), &err);
		api_set(c, "downtime_s", json_integer(av[i].down_s), &err);
		api_set(c, "availability", json_real(100.0 *
		    (double)(period - av[i].down_s) / (double)period), &err);
		api_append(checks, c, &err);
	}
	/* a group's availability: the mean of its checks' */
	for (i = 0; !err && i < nav; i++) {
		double sum = 0;
		unsigned k = 0;

		if (av[i].group == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (av[j].group != NULL &&
			    strcmp(av[j].group, av[i].group) == 0)
				break;
		if (j < i)
			continue;
		for (j = i; j < nav; j++)
			if (av[j].group != NULL &&
			    strcmp(av[j].group, av[i].group) == 0) {
				sum += 100.0 * (double)(period - av[j].down_s) /
				    (double)period;
				k++;
			}
		if ((c = json_object()) == NULL)
			break;
		api_set(c, "name", api_str(av[i].group), &err);
		api_set(c, "checks", json_integer(k), &err);
		api_set(c, "availability", json_real(sum / k), &err);
		api_append(groups, c, &err);
	}
	for (i = 0; i < nav; i++) {
		free(av[i].name);
		free(av[i].group);
	}
	free(av);
	if (!err) {
		api_set(o, "since", api_time(since), &err);
		api_set(o, "until", api_time(until), &err);
		api_set(o, "incidents", json_integer(n_inc), &err);
		api_set(o, "acknowledged", json_integer(n_ack), &err);
		api_set(o, "resolved", json_integer(n_res), &err);
		api_set(o, "mtta_s", n_ack ? json_real(mtta) : json_null(),
		    &err);
		api_set(o, "mttr_s", n_res ? json_real(mttr) : json_null(),
		    &err);
		api_set(o, "checks", checks, &err);
		api_set(o, "groups", groups, &err);
		checks = groups = NULL;
	}
	json_decref(checks);
	json_decref(groups);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* GET /api/v1/report[?since=30d][&until=RFC3339] */
static void
report_get(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evkeyvalq q;
	const char *s, *u;
	int64_t ms = 30LL * 86400 * 1000;
	time_t now = time(NULL), until = now;

	(void)rest;
	(void)arg;
	if (parse_query(req, &q) == -1)
		return;
	s = query_get(&q, "since");
	u = query_get(&q, "until");
	if (s != NULL && (conf_parse_duration(s, &ms) == -1 || ms < 1000)) {
		api_error(req, HTTP_BADREQUEST, "since: \"%s\" is not a "
		    "duration like 30d", s);
		goto out;
	}
	if (u != NULL) {
		struct tm tm;
		const char *end;

		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(u, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
		    (*end != '\0' && strcmp(end, "Z") != 0)) {
			api_error(req, HTTP_BADREQUEST, "until: \"%s\" is not "
			    "an RFC 3339 UTC time", u);
			goto out;
		}
		until = timegm(&tm);
	}
	idb_commit();
	api_reply(req, HTTP_OK, incident_report(until - ms / 1000, until));
out:
	evhttp_clear_headers(&q);
}

int
incident_api_init(void)
{
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/incidents", 0, inc_list,
	    NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_GET, "/api/v1/incidents/", 0, inc_get,
	    NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/incidents/", API_MUTATES,
	    inc_post, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_GET, "/api/v1/report", 0, report_get,
	    NULL) == -1)
		return -1;
	return 0;
}
