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
#include "incident/change.h"
#include "incident/incident.h"
#include "incident/incident_int.h"
#include "incident/maint.h"
#include "core/log.h"
#include "core/state.h"
#include "incident/slo.h"
#include "incident/store.h"

#define LIST_DEFAULT	100
#define LIST_MAX	1000

static const char *const role_names[] = {
	"root_cause", "member", "unreachable"
};
static const char *const level_names[] = { "low", "medium", "high" };

/* The attached checks, each with its live state if it still exists. */
static json_t *
incident_checks_json(const struct store_incident *inc)
{
	json_t *a = json_array(), *o;
	int err = a == NULL;
	size_t i;

	for (i = 0; !err && i < inc->nchecks; i++) {
		const struct store_inc_check *ic = &inc->checks[i];
		const struct check *c;
		const char *stored = state_name(ic->state);

		if (ic->detached)
			continue;
		c = conf_check(daemon_g.cf, ic->name);
		if ((o = json_object()) == NULL) {
			err = 1;
			break;
		}
		api_set(o, "name", api_str(ic->name), &err);
		api_set(o, "state", json_string(c != NULL ?
		    state_name(c->st.state) : stored), &err);
		api_set(o, "stored_state", json_string(stored), &err);
		api_set(o, "role", json_string(role_names[ic->role]), &err);
		api_append(a, o, &err);
	}
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
incident_timeline_json(const struct store_incident *inc)
{
	json_t *a = json_array(), *o;
	int err = a == NULL;
	size_t i;

	for (i = 0; !err && i < inc->ntimeline; i++) {
		const struct store_timeline *t = &inc->timeline[i];

		if ((o = json_object()) == NULL) {
			err = 1;
			break;
		}
		api_set(o, "at", api_time(t->at), &err);
		api_set(o, "kind", api_str(t->kind), &err);
		api_set(o, "text", api_str(t->text), &err);
		api_append(a, o, &err);
	}
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *
incident_json(int64_t id)
{
	struct store_incident inc;
	json_t *o;
	char prio[8];
	int err;

	if (store_incident_get(id, &inc) != 1)
		return NULL;
	if ((o = json_object()) == NULL) {
		store_incident_clear(&inc);
		return NULL;
	}
	err = 0;
	snprintf(prio, sizeof(prio), "P%d", inc.priority);
	api_set(o, "id", json_integer(inc.id), &err);
	api_set(o, "title", api_str(inc.title), &err);
	api_set(o, "status", (int)inc.status < 0 ? json_null() :
	    json_string(incident_status_name(inc.status)), &err);
	api_set(o, "priority", json_string(prio), &err);
	api_set(o, "impact", json_string(level_names[inc.impact]), &err);
	api_set(o, "urgency", json_string(level_names[inc.urgency]), &err);
	api_set(o, "root_cause", api_str(inc.root_cause), &err);
	api_set(o, "group", api_str(inc.group), &err);
	api_set(o, "flapping", json_boolean(inc.flapping), &err);
	api_set(o, "opened_at", api_time(inc.opened_at), &err);
	api_set(o, "acknowledged_at", api_time(inc.acknowledged_at), &err);
	api_set(o, "acknowledged_by", api_str(inc.acknowledged_by), &err);
	api_set(o, "resolved_at", api_time(inc.resolved_at), &err);
	api_set(o, "closed_at", api_time(inc.closed_at), &err);
	api_set(o, "checks", incident_checks_json(&inc), &err);
	api_set(o, "timeline", incident_timeline_json(&inc), &err);
	store_incident_clear(&inc);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- handlers ------------------------------------------------------------ */

static const char *
query_get(struct evkeyvalq *q, const char *key)
{
	return evhttp_find_header(q, key);
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
	int64_t *ids = NULL;
	size_t nids = 0, k;
	json_t *o = NULL, *a = NULL;
	int err = 0, i, total = 0;

	(void)rest;
	(void)arg;
	if (api_query(req, &q) == -1)
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
	store_commit();
	if (store_incident_ids(want, check, limit, offset, &ids, &nids) == -1 ||
	    (o = json_object()) == NULL || (a = json_array()) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	for (k = 0; !err && k < nids; k++)
		api_append(a, incident_json(ids[k]), &err);
	total = (int)nids;
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
	free(ids);
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
	store_commit();
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
counts_as_down(enum check_state state)
{
	/* up = OK or WARNING (degraded but serving) */
	return state != STATE_OK && state != STATE_WARNING;
}

struct avail {
	char *name;
	char *group;
	int64_t down_s;
	int64_t maint_s;		/* down, inside maintenance: not counted */
	int64_t unreachable_s;		/* the root cause's, not counted */
	enum check_state state_at_h;	/* when the rolled-up days end */
	bool seen;			/* has events after them */
	bool slo;			/* an SLO: not a service, not listed */
};

/*
 * a's check spent [from, to) in state st.  Down time counts, less what a
 * maintenance window covered (windows of the config in force and those
 * made through the API); UNREACHABLE time is the down parent's (counted
 * in its own availability), not the check's.
 */
static void
avail_add(struct avail *a, time_t from, time_t to, enum check_state st)
{
	int64_t m;

	if (to <= from)
		return;
	if (st == STATE_UNREACHABLE) {
		a->unreachable_s += to - from;
		return;
	}
	if (!counts_as_down(st))
		return;
	m = maint_covered(daemon_g.cf != NULL ? conf_check(daemon_g.cf,
	    a->name) : NULL, from, to);
	a->maint_s += m;
	a->down_s += (to - from) - m;
}

/* The entry for name in *av (added if new), or NULL (out of memory). */
static struct avail *
avail_get(struct avail **av, size_t *nav, const char *name)
{
	struct avail *v;
	size_t j;

	for (j = *nav; j > 0; j--)	/* the last one is the likely one */
		if (strcmp((*av)[j - 1].name, name) == 0)
			return &(*av)[j - 1];
	if ((v = reallocarray(*av, *nav + 1, sizeof(*v))) == NULL)
		return NULL;
	*av = v;
	v = &v[*nav];
	memset(v, 0, sizeof(*v));
	if ((v->name = strdup(name)) == NULL)
		return NULL;
	(*nav)++;
	return v;
}

/*
 * Downtime over [since, until) from the daily rollups of pruned days
 * (store_prune()): whole days count their down_s, a day cut by the
 * period counts its share; a day without a row keeps the state the
 * check ended the previous one in.  Sets *bt: where the rollups end (0
 * if there are none); each check's state there is its down_at_h.
 */
static int
report_dailies(time_t since, time_t until, struct avail **av, size_t *nav,
    int64_t *bt)
{
	struct store_daily *dv;
	struct avail *a;
	size_t n, i, k;
	int64_t h, from = since / 86400, d, ws, we;
	enum check_state carry;

	*bt = 0;
	if (store_dailies(from, INT64_MAX, &h, &dv, &n) == -1)
		return -1;
	*bt = h * 86400;
	for (i = 0; i < n; i = k) {
		if ((a = avail_get(av, nav, dv[i].check)) == NULL) {
			store_dailies_free(dv, n);
			return -1;
		}
		carry = STATE_OK;
		for (k = i; k < n && strcmp(dv[k].check, dv[i].check) == 0 &&
		    dv[k].day < from; k++)
			carry = dv[k].end_state;
		for (d = from; d < h && d * 86400 < until; d++) {
			ws = d * 86400 > since ? d * 86400 : since;
			we = d * 86400 + 86400 < until ? d * 86400 + 86400 :
			    until;
			if (k < n && strcmp(dv[k].check, dv[i].check) == 0 &&
			    dv[k].day == d) {
				if (we > ws)
					a->down_s += dv[k].down_s *
					    (we - ws) / 86400;
				carry = dv[k++].end_state;
			} else if (we > ws && counts_as_down(carry))
				a->down_s += we - ws;
		}
		while (k < n && strcmp(dv[k].check, dv[i].check) == 0)
			carry = dv[k++].end_state;
		a->state_at_h = carry;
	}
	store_dailies_free(dv, n);
	return 0;
}

/* Incidents and time lost per problem in [since, until). */
static json_t *
report_problems(time_t since, time_t until)
{
	struct store_problem_stats *v;
	json_t *a, *p;
	size_t i, n;
	int err = 0;

	if (store_report_problems(since, until, &v, &n) == -1)
		return NULL;
	a = json_array();
	for (i = 0; a != NULL && i < n; i++) {
		if ((p = json_object()) == NULL) {
			err = 1;
			break;
		}
		api_set(p, "id", json_integer(v[i].id), &err);
		api_set(p, "title", api_str(v[i].title), &err);
		api_set(p, "status", api_str(v[i].status), &err);
		api_set(p, "incidents", json_integer(v[i].incidents), &err);
		api_set(p, "lost_s", json_integer(v[i].lost_s), &err);
		api_append(a, p, &err);
	}
	store_problem_stats_free(v, n);
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *
incident_report(time_t since, time_t until)
{
	struct store_inc_stats is;
	struct store_change *ch = NULL;
	size_t nch = 0, r;
	json_t *o = json_object(), *checks = json_array(), *groups =
	    json_array(), *c;
	struct avail *av = NULL;
	size_t nav = 0, i, j;
	int64_t period = until - since, bt = 0, start;
	struct avail *cur = NULL;
	enum check_state cst = STATE_OK;
	time_t t0 = since;
	int err = o == NULL || checks == NULL || groups == NULL;

	if (period <= 0)
		period = 1;
	/* incidents opened in the period */
	if (store_report_incidents(since, until, &is) == -1)
		err = 1;

	/*
	 * Downtime per check: the rolled-up days first, then its hard
	 * state changes in time order from where they end (start); the
	 * state at start is the last change before it, else the state the
	 * rollups end in (OK if none).
	 */
	if (!err && report_dailies(since, until, &av, &nav, &bt) == -1)
		err = 1;
	start = since > bt ? since : bt;
	if (!err && store_changes(until, &ch, &nch) == -1)
		err = 1;
	for (r = 0; !err && r < nch; r++) {
		const char *name = ch[r].check;
		time_t at = ch[r].at;

		if (at < bt)
			continue;	/* its day is in the rollups */
		if (cur == NULL || strcmp(cur->name, name) != 0) {
			if (cur != NULL)
				avail_add(cur, t0, until, cst);
			if ((cur = avail_get(&av, &nav, name)) == NULL) {
				err = 1;
				break;
			}
			cur->seen = true;
			cst = cur->state_at_h;
			t0 = start;
		}
		if (at > start)
			avail_add(cur, t0 > start ? t0 : start, at, cst);
		cst = ch[r].state;
		t0 = at > start ? at : start;
	}
	store_changes_free(ch, nch);
	if (cur != NULL)
		avail_add(cur, t0, until, cst);
	/* no change since the rollups end: their end state to until */
	for (i = 0; !err && i < nav; i++)
		if (!av[i].seen)
			avail_add(&av[i], start, until, av[i].state_at_h);

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
	/* SLOs report their own figures (GET /api/v1/slos) */
	for (i = 0; i < nav; i++)
		av[i].slo = check_is_slo(conf_check(daemon_g.cf, av[i].name));
	for (i = 0; !err && i < nav; i++) {
		if (av[i].slo)
			continue;
		if ((c = json_object()) == NULL)
			break;
		api_set(c, "name", api_str(av[i].name), &err);
		api_set(c, "group", api_str(av[i].group), &err);
		api_set(c, "downtime_s", json_integer(av[i].down_s), &err);
		api_set(c, "maintenance_s", json_integer(av[i].maint_s), &err);
		api_set(c, "unreachable_s", json_integer(av[i].unreachable_s),
		    &err);
		api_set(c, "availability", json_real(100.0 *
		    (double)(period - av[i].down_s) / (double)period), &err);
		api_append(checks, c, &err);
	}
	/* a group's availability: the mean of its checks' */
	for (i = 0; !err && i < nav; i++) {
		double sum = 0;
		unsigned k = 0;

		if (av[i].group == NULL || av[i].slo)
			continue;
		for (j = 0; j < i; j++)
			if (av[j].group != NULL && !av[j].slo &&
			    strcmp(av[j].group, av[i].group) == 0)
				break;
		if (j < i)
			continue;
		for (j = i; j < nav; j++)
			if (av[j].group != NULL && !av[j].slo &&
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
		api_set(o, "incidents", json_integer(is.incidents), &err);
		api_set(o, "acknowledged", json_integer(is.acknowledged),
		    &err);
		api_set(o, "resolved", json_integer(is.resolved), &err);
		api_set(o, "mtta_s", is.acknowledged ? json_real(is.mtta_s) :
		    json_null(), &err);
		api_set(o, "mttr_s", is.resolved ? json_real(is.mttr_s) :
		    json_null(), &err);
		api_set(o, "checks", checks, &err);
		api_set(o, "groups", groups, &err);
		checks = groups = NULL;
		api_set(o, "problems", report_problems(since, until), &err);
		api_set(o, "changes_in_freeze", change_freeze_report(since,
		    until), &err);
	}
	json_decref(checks);
	json_decref(groups);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* s as a CSV field: always quoted, quotes doubled. */
static void
csv_field(struct evbuffer *b, const char *s, const char *sep)
{
	evbuffer_add(b, "\"", 1);
	for (; s != NULL && *s != '\0'; s++)
		evbuffer_add(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
	evbuffer_add_printf(b, "\"%s", sep);
}

/* The report's checks as CSV, a header row first. */
static struct evbuffer *
report_csv(json_t *o)
{
	struct evbuffer *b = evbuffer_new();
	json_t *c;
	size_t i;

	if (b == NULL)
		return NULL;
	evbuffer_add_printf(b, "check,group,availability,downtime_s,"
	    "maintenance_s,unreachable_s,since,until\r\n");
	json_array_foreach(json_object_get(o, "checks"), i, c) {
		csv_field(b, json_string_value(json_object_get(c, "name")), ",");
		csv_field(b, json_string_value(json_object_get(c, "group")),
		    ",");
		evbuffer_add_printf(b, "%.6f,%lld,%lld,%lld,%s,%s\r\n",
		    json_number_value(json_object_get(c, "availability")),
		    (long long)json_integer_value(json_object_get(c,
		    "downtime_s")),
		    (long long)json_integer_value(json_object_get(c,
		    "maintenance_s")),
		    (long long)json_integer_value(json_object_get(c,
		    "unreachable_s")),
		    json_string_value(json_object_get(o, "since")),
		    json_string_value(json_object_get(o, "until")));
	}
	return b;
}

/* Text into b, HTML-escaped. */
static void
html_text(struct evbuffer *b, const char *s)
{
	char *e = evhttp_htmlescape(s != NULL ? s : "");

	if (e != NULL)
		evbuffer_add(b, e, strlen(e));
	free(e);
}

/* The report as a printable, self-contained HTML page. */
static struct evbuffer *
report_html(json_t *o)
{
	struct evbuffer *b = evbuffer_new();
	json_t *c, *v;
	size_t i;

	if (b == NULL)
		return NULL;
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>Availability report</title>"
	    "<style>body{font:14px sans-serif;margin:2em}table{border-"
	    "collapse:collapse;margin:1em 0}td,th{border:1px solid #999;"
	    "padding:2px 8px;text-align:left}td.n{text-align:right}"
	    "@media print{body{margin:0}}</style></head><body>\n"
	    "<h1>Availability report</h1>\n<p>");
	html_text(b, json_string_value(json_object_get(o, "since")));
	evbuffer_add_printf(b, " to ");
	html_text(b, json_string_value(json_object_get(o, "until")));
	evbuffer_add_printf(b, " (UTC). Incidents opened: %lld, acknowledged:"
	    " %lld, resolved: %lld.", (long long)json_integer_value(
	    json_object_get(o, "incidents")), (long long)json_integer_value(
	    json_object_get(o, "acknowledged")), (long long)
	    json_integer_value(json_object_get(o, "resolved")));
	if (json_is_number(v = json_object_get(o, "mtta_s")))
		evbuffer_add_printf(b, " MTTA %.0f s.", json_number_value(v));
	if (json_is_number(v = json_object_get(o, "mttr_s")))
		evbuffer_add_printf(b, " MTTR %.0f s.", json_number_value(v));
	evbuffer_add_printf(b, "</p>\n<p>Down time inside maintenance "
	    "windows is not downtime; time UNREACHABLE behind a down parent "
	    "is the parent's.</p>\n<h2>Checks</h2>\n<table><tr><th>Check</th>"
	    "<th>Group</th><th>Availability %%</th><th>Downtime s</th>"
	    "<th>In maintenance s</th><th>Unreachable s</th></tr>\n");
	json_array_foreach(json_object_get(o, "checks"), i, c) {
		evbuffer_add_printf(b, "<tr><td>");
		html_text(b, json_string_value(json_object_get(c, "name")));
		evbuffer_add_printf(b, "</td><td>");
		html_text(b, json_string_value(json_object_get(c, "group")));
		evbuffer_add_printf(b, "</td><td class=\"n\">%.3f</td><td "
		    "class=\"n\">%lld</td><td class=\"n\">%lld</td><td "
		    "class=\"n\">%lld</td></tr>\n",
		    json_number_value(json_object_get(c, "availability")),
		    (long long)json_integer_value(json_object_get(c,
		    "downtime_s")),
		    (long long)json_integer_value(json_object_get(c,
		    "maintenance_s")),
		    (long long)json_integer_value(json_object_get(c,
		    "unreachable_s")));
	}
	evbuffer_add_printf(b, "</table>\n<h2>Groups</h2>\n<table><tr><th>"
	    "Group</th><th>Checks</th><th>Availability %%</th></tr>\n");
	json_array_foreach(json_object_get(o, "groups"), i, c) {
		evbuffer_add_printf(b, "<tr><td>");
		html_text(b, json_string_value(json_object_get(c, "name")));
		evbuffer_add_printf(b, "</td><td class=\"n\">%lld</td><td "
		    "class=\"n\">%.3f</td></tr>\n", (long long)
		    json_integer_value(json_object_get(c, "checks")),
		    json_number_value(json_object_get(c, "availability")));
	}
	evbuffer_add_printf(b, "</table>\n<h2>Problems</h2>\n<table><tr><th>#"
	    "</th><th>Title</th><th>Status</th><th>Incidents</th><th>Time "
	    "lost s</th></tr>\n");
	json_array_foreach(json_object_get(o, "problems"), i, c) {
		evbuffer_add_printf(b, "<tr><td>%lld</td><td>", (long long)
		    json_integer_value(json_object_get(c, "id")));
		html_text(b, json_string_value(json_object_get(c, "title")));
		evbuffer_add_printf(b, "</td><td>");
		html_text(b, json_string_value(json_object_get(c, "status")));
		evbuffer_add_printf(b, "</td><td class=\"n\">%lld</td><td "
		    "class=\"n\">%lld</td></tr>\n", (long long)
		    json_integer_value(json_object_get(c, "incidents")),
		    (long long)json_integer_value(json_object_get(c,
		    "lost_s")));
	}
	evbuffer_add_printf(b, "</table>\n<h2>Changes made during a change "
	    "freeze</h2>\n<table><tr><th>#</th><th>Started</th><th>Title</th>"
	    "<th>By</th><th>Freeze</th></tr>\n");
	json_array_foreach(json_object_get(o, "changes_in_freeze"), i, c) {
		evbuffer_add_printf(b, "<tr><td>%lld</td><td>", (long long)
		    json_integer_value(json_object_get(c, "id")));
		html_text(b, json_string_value(json_object_get(c,
		    "started_at")));
		evbuffer_add_printf(b, "</td><td>");
		html_text(b, json_string_value(json_object_get(c, "title")));
		evbuffer_add_printf(b, "</td><td>");
		html_text(b, json_string_value(json_object_get(c, "by")));
		evbuffer_add_printf(b, "</td><td>");
		html_text(b, json_string_value(json_object_get(c, "freeze")));
		evbuffer_add_printf(b, "</td></tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n<p><small>tocsind</small></p>"
	    "</body></html>\n");
	return b;
}

/* "2026-11" into the month's [since, until).  RETURN VALUE: 0 or -1. */
static int
parse_month(const char *s, time_t *since, time_t *until)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m", &tm)) == NULL || *end != '\0' ||
	    tm.tm_year < 70)
		return -1;
	tm.tm_mday = 1;
	*since = timegm(&tm);
	tm.tm_mon++;
	*until = timegm(&tm);		/* timegm normalises month 12 */
	return *since == (time_t)-1 || *until == (time_t)-1 ? -1 : 0;
}

/*
 * GET /api/v1/report[?since=30d][&until=RFC3339] or [?month=YYYY-MM],
 * [&format=json|csv|html]
 */
static void
report_get(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evkeyvalq q;
	struct evbuffer *b;
	const char *s, *u, *m, *f;
	int64_t ms = 30LL * 86400 * 1000;
	time_t now = time(NULL), until = now, since;
	json_t *o;

	(void)rest;
	(void)arg;
	if (api_query(req, &q) == -1)
		return;
	s = query_get(&q, "since");
	u = query_get(&q, "until");
	m = query_get(&q, "month");
	f = query_get(&q, "format");
	if (f != NULL && strcmp(f, "json") != 0 && strcmp(f, "csv") != 0 &&
	    strcmp(f, "html") != 0) {
		api_error(req, HTTP_BADREQUEST, "format: \"%s\" is not json, "
		    "csv or html", f);
		goto out;
	}
	if (m != NULL && (s != NULL || u != NULL)) {
		api_error(req, HTTP_BADREQUEST, "month: give either month or "
		    "since/until");
		goto out;
	}
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
	since = until - ms / 1000;
	if (m != NULL && parse_month(m, &since, &until) == -1) {
		api_error(req, HTTP_BADREQUEST, "month: \"%s\" is not a month "
		    "like 2026-11", m);
		goto out;
	}
	store_commit();
	o = incident_report(since, until);
	if (o == NULL || f == NULL || strcmp(f, "json") == 0) {
		api_reply(req, HTTP_OK, o);
		goto out;
	}
	b = f[0] == 'c' ? report_csv(o) : report_html(o);
	json_decref(o);
	if (b == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	if (f[0] == 'h')
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Security-Policy", "default-src 'none'; "
		    "style-src 'unsafe-inline'");
	api_send_type(req, HTTP_OK, f[0] == 'c' ? "text/csv; charset=utf-8" :
	    "text/html; charset=utf-8", b);
	evbuffer_free(b);
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
