/*
 * problem.c — problem records: one per recurring root cause, linking its
 * incidents; their lifecycle (open → known_error → resolved, reopened
 * by a recurrence); the routes under /api/v1/problems.
 *
 * Owns nothing in memory: every problem lives in the incident log
 * (store.h), read when an incident opens (two indexed queries) or a
 * page is rendered (one).  Root causes are checks: a problem is "the
 * check shop-home keeps failing", named after the check.
 */
#include <stdbool.h>
#include <stddef.h>
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
#include "core/log.h"
#include "incident/problem.h"
#include "incident/store.h"

#define PROBLEM_LIST_MAX	1000
#define PROBLEM_TEXT_MAX	10000	/* bytes of a workaround, an analysis */

static bool
status_valid(const char *s)
{
	return strcmp(s, "open") == 0 || strcmp(s, "known_error") == 0 ||
	    strcmp(s, "resolved") == 0;
}

/* "7 days", "36 hours", "90 minutes": the window for people. */
static void
window_text(int64_t s, char *buf, size_t len)
{
	if (s >= 86400 && s % 86400 == 0)
		snprintf(buf, len, "%lld day%s", (long long)(s / 86400),
		    s == 86400 ? "" : "s");
	else if (s >= 3600 && s % 3600 == 0)
		snprintf(buf, len, "%lld hour%s", (long long)(s / 3600),
		    s == 3600 ? "" : "s");
	else
		snprintf(buf, len, "%lld minutes", (long long)(s + 59) / 60);
}

static void
problem_timeline(int64_t incident, time_t at, const struct store_problem *p)
{
	char *text;

	if (asprintf(&text, "%s #%lld: %s%s%s",
	    strcmp(p->status, "known_error") == 0 ? "known error" : "problem",
	    (long long)p->id, p->title, p->workaround ? "; workaround: " : "",
	    p->workaround ? p->workaround : "") < 0)
		return;
	store_timeline_add(incident, at, "problem", text);
	free(text);
}

void
problem_note_incident(int64_t id, const char *root, time_t now, long after,
    int64_t window_s)
{
	struct store_problem p;
	int64_t pid, *ids = NULL;
	size_t i, n = 0;
	char win[32], *title = NULL;
	int rc;

	if (after <= 0 || root == NULL)
		return;
	if ((rc = store_problem_of_root(root, &pid)) == -1)
		return;
	if (rc == 1 && store_problem_get(pid, &p) == 1) {
		/* a known problem: link; a recurrence reopens a resolved one */
		if (strcmp(p.status, "resolved") == 0) {
			free(p.status);
			p.status = strdup("open");
			p.resolved_at = 0;
			p.updated_at = now;
			if (p.status == NULL || store_problem_update(&p) == -1)
				goto out;
			log_notice("problem #%lld reopened: %s recurred "
			    "(incident #%lld)", (long long)pid, root,
			    (long long)id);
		}
		if (store_problem_link(pid, id, now) == 0)
			problem_timeline(id, now, &p);
		goto out;
	}
	if (store_incidents_of_root(root, now - window_s, &ids, &n) == -1 ||
	    n < (size_t)after)
		goto done;
	window_text(window_s, win, sizeof(win));
	if (asprintf(&title, "%s failed %zu times in %s", root, n, win) < 0)
		goto done;
	memset(&p, 0, sizeof(p));
	p.title = title;
	p.status = (char *)"open";
	p.root_cause = (char *)root;
	p.opened_at = p.updated_at = now;
	if ((p.id = store_problem_insert(&p)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		store_problem_link(p.id, ids[i], now);
	problem_timeline(id, now, &p);
	log_notice("problem #%lld opened: %s", (long long)p.id, title);
done:
	free(title);
	free(ids);
	return;
out:
	store_problem_clear(&p);
}

/* The whole problem as the API shows it.  NULL: none (or no memory). */
static json_t *
problem_json(int64_t id)
{
	struct store_problem p;
	json_t *o, *a;
	size_t i;
	int err = 0;

	if (store_problem_get(id, &p) != 1)
		return NULL;
	o = json_object();
	a = json_array();
	for (i = 0; a != NULL && i < p.nincidents; i++)
		api_append(a, json_integer(p.incidents[i]), &err);
	if (o == NULL) {
		json_decref(a);
		store_problem_clear(&p);
		return NULL;
	}
	api_set(o, "id", json_integer(p.id), &err);
	api_set(o, "title", api_str(p.title), &err);
	api_set(o, "status", api_str(p.status), &err);
	api_set(o, "root_cause", api_str(p.root_cause), &err);
	api_set(o, "incidents", a, &err);
	api_set(o, "workaround", api_str(p.workaround), &err);
	api_set(o, "root_cause_analysis", api_str(p.analysis), &err);
	api_set(o, "created_by", api_str(p.created_by), &err);
	api_set(o, "opened_at", api_time(p.opened_at), &err);
	api_set(o, "updated_at", api_time(p.updated_at), &err);
	api_set(o, "resolved_at", api_time(p.resolved_at), &err);
	store_problem_clear(&p);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
problem_brief_json(int64_t id)
{
	struct store_problem p;
	int64_t pid;
	json_t *o;
	int err = 0;

	if (store_problem_of_incident(id, &pid) != 1 ||
	    store_problem_get(pid, &p) != 1)
		return NULL;
	if ((o = json_object()) != NULL) {
		api_set(o, "id", json_integer(p.id), &err);
		api_set(o, "title", api_str(p.title), &err);
		api_set(o, "status", api_str(p.status), &err);
		api_set(o, "workaround", api_str(p.workaround), &err);
		if (err) {
			json_decref(o);
			o = NULL;
		}
	}
	store_problem_clear(&p);
	return o;
}

/* ---- the routes ------------------------------------------------------------- */

/* GET /api/v1/problems[?status=open|known_error|resolved] */
static void
problem_list(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evkeyvalq q;
	const char *status;
	int64_t *ids = NULL;
	size_t i, n = 0;
	json_t *o = NULL, *a;
	int err;

	(void)rest;
	(void)arg;
	if (api_query(req, &q) == -1)
		return;
	status = evhttp_find_header(&q, "status");
	if (status != NULL && strcmp(status, "all") == 0)
		status = NULL;
	if (status != NULL && !status_valid(status)) {
		api_error(req, HTTP_BADREQUEST, "status: \"%s\" is not open, "
		    "known_error, resolved or all", status);
		goto out;
	}
	store_commit();
	if (store_problem_ids(status, PROBLEM_LIST_MAX, &ids, &n) == -1) {
		api_error(req, HTTP_INTERNAL, "cannot read the problems");
		goto out;
	}
	o = json_object();
	a = json_array();
	err = o == NULL || a == NULL;
	for (i = 0; !err && i < n; i++)
		api_append(a, problem_json(ids[i]), &err);
	if (o != NULL)
		api_set(o, "problems", a, &err);
	else
		json_decref(a);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
out:
	free(ids);
	evhttp_clear_headers(&q);
}

static int64_t
parse_pid(struct evhttp_request *req, const char *rest)
{
	char *end;
	long long id = strtoll(rest, &end, 10);

	if (rest[0] < '0' || rest[0] > '9' || id <= 0 || *end != '\0') {
		api_error(req, HTTP_BADREQUEST, "malformed problem id: %s",
		    rest);
		return -1;
	}
	return id;
}

/* GET /api/v1/problems/ID */
static void
problem_get(struct evhttp_request *req, const char *rest, void *arg)
{
	int64_t id;
	json_t *o;

	(void)arg;
	if ((id = parse_pid(req, rest)) < 0)
		return;
	store_commit();
	if ((o = problem_json(id)) == NULL) {
		api_error(req, HTTP_NOTFOUND, "no such problem: %lld",
		    (long long)id);
		return;
	}
	api_reply(req, HTTP_OK, o);
}

/*
 * The body's changes into p (title, status, workaround,
 * root_cause_analysis) and the incidents to link into *inc (a borrowed
 * array, may be NULL).  RETURN VALUE: 0, or -1 after replying 400.
 */
static int
problem_from_body(struct evhttp_request *req, json_t *body,
    struct store_problem *p, json_t **inc, time_t now)
{
	static const struct { const char *key; size_t off; size_t max; }
	    strs[] = {
		{ "title", offsetof(struct store_problem, title), 1000 },
		{ "workaround", offsetof(struct store_problem, workaround),
		    PROBLEM_TEXT_MAX },
		{ "root_cause_analysis", offsetof(struct store_problem,
		    analysis), PROBLEM_TEXT_MAX },
		{ "status", offsetof(struct store_problem, status), 32 },
	};
	json_t *v, *e;
	size_t i;
	char **slot;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if ((v = json_object_get(body, strs[i].key)) == NULL)
			continue;
		slot = (char **)((char *)p + strs[i].off);
		if (json_is_null(v) && i != 0 && i != 3) {
			free(*slot);
			*slot = NULL;
			continue;
		}
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > strs[i].max) {
			api_error(req, HTTP_BADREQUEST, "%s: must be a "
			    "non-empty string of at most %zu bytes",
			    strs[i].key, strs[i].max);
			return -1;
		}
		free(*slot);
		if ((*slot = strdup(json_string_value(v))) == NULL) {
			api_error(req, HTTP_INTERNAL, "out of memory");
			return -1;
		}
	}
	if (p->status != NULL && !status_valid(p->status)) {
		api_error(req, HTTP_BADREQUEST, "status: \"%s\" is not open, "
		    "known_error or resolved", p->status);
		return -1;
	}
	*inc = json_object_get(body, "incidents");
	if (*inc != NULL && !json_is_array(*inc)) {
		api_error(req, HTTP_BADREQUEST, "incidents: must be an array "
		    "of incident ids");
		return -1;
	}
	json_array_foreach(*inc, i, e) {
		if (!json_is_integer(e) || json_integer_value(e) <= 0) {
			api_error(req, HTTP_BADREQUEST, "incidents: must be "
			    "an array of incident ids");
			return -1;
		}
		if (store_incident_exists(json_integer_value(e)) != 1) {
			api_error(req, HTTP_BADREQUEST, "incidents: no such "
			    "incident: %lld", (long long)json_integer_value(e));
			return -1;
		}
	}
	if (p->status != NULL && strcmp(p->status, "resolved") == 0) {
		if (p->resolved_at == 0)
			p->resolved_at = now;
	} else
		p->resolved_at = 0;
	p->updated_at = now;
	return 0;
}

/*
 * POST /api/v1/problems {"title", "root_cause", "incidents", …}: open
 * one by hand.  POST /api/v1/problems/ID {"status", "workaround",
 * "root_cause_analysis", "title", "incidents"}: change it.
 */
static void
problem_post(struct evhttp_request *req, const char *rest, void *arg)
{
	struct store_problem p;
	json_t *body, *inc = NULL, *v, *e;
	const char *by = NULL;
	time_t now = time(NULL);
	int64_t id = 0;
	size_t i;
	bool create = *rest == '\0';
	int code = 200;

	(void)arg;
	memset(&p, 0, sizeof(p));
	if (!create && (id = parse_pid(req, rest)) < 0)
		return;
	if ((body = api_body_json(req)) == NULL)
		return;
	if (store_commit() == -1) {
		api_error(req, HTTP_SERVUNAVAIL, "the incident log cannot be "
		    "written; nothing was changed");
		goto out;
	}
	if (!create) {
		int rc = store_problem_get(id, &p);

		if (rc != 1) {
			api_error(req, rc == 0 ? HTTP_NOTFOUND : HTTP_INTERNAL,
			    "no such problem: %lld", (long long)id);
			goto out;
		}
	}
	if (problem_from_body(req, body, &p, &inc, now) == -1)
		goto out;
	if (create) {
		if ((v = json_object_get(body, "by")) != NULL &&
		    json_is_string(v))
			by = json_string_value(v);
		if ((v = json_object_get(body, "root_cause")) != NULL &&
		    json_is_string(v) && json_string_length(v) > 0 &&
		    json_string_length(v) <= 1000)
			p.root_cause = strdup(json_string_value(v));
		else if (v != NULL && !json_is_null(v)) {
			api_error(req, HTTP_BADREQUEST, "root_cause: must be a "
			    "check's name");
			goto out;
		}
		if (p.title == NULL) {
			api_error(req, HTTP_BADREQUEST, "title: required");
			goto out;
		}
		if (p.status == NULL && (p.status = strdup("open")) == NULL)
			goto oom;
		if (by != NULL && (p.created_by = strdup(by)) == NULL)
			goto oom;
		p.opened_at = now;
		if ((id = p.id = store_problem_insert(&p)) < 0)
			goto fail;
		code = 201;
	} else if (store_problem_update(&p) == -1)
		goto fail;
	json_array_foreach(inc, i, e)
		if (store_problem_link(id, json_integer_value(e), now) == -1)
			goto fail;
	if (store_commit() == -1)
		goto fail;
	log_notice("problem #%lld %s: %s (%s)", (long long)id,
	    create ? "opened" : "updated", p.title, p.status);
	api_reply(req, code, problem_json(id));
	goto out;
oom:
	api_error(req, HTTP_INTERNAL, "out of memory");
	goto out;
fail:
	store_discard();
	api_error(req, HTTP_INTERNAL, "cannot store the problem");
out:
	store_problem_clear(&p);
	json_decref(body);
}

int
problem_api_init(void)
{
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/problems", 0, problem_list,
	    NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_GET, "/api/v1/problems/", 0, problem_get,
	    NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/problems", API_MUTATES,
	    problem_post, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/problems/", API_MUTATES,
	    problem_post, NULL) == -1)
		return -1;
	return 0;
}
