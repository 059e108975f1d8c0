/*
 * change.c — change events: POST/GET /api/v1/changes, stored in the
 * incident log (store.h), and the match of an opening incident's root
 * cause against the changes made shortly before it.
 *
 * A change names what it touched by check, host or group (any mix); an
 * incident's root cause matches when its name, its host or its group is
 * named.  "Shortly before" is incidents { change_window } (30m): the
 * change started at or before the incident opened and ended (or, with
 * no end, started) within the window before it.  Matching reads at most
 * CHANGE_SCAN changes of that window: one indexed query per incident
 * opened, none per check run.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/util.h"
#include "incident/change.h"
#include "incident/incident.h"
#include "incident/incident_int.h"
#include "incident/maint.h"
#include "incident/store.h"
#include "metric/metric.h"

#define CHANGE_SCAN	1000	/* changes looked at per incident */
#define CHANGE_LIST_MAX	1000	/* changes per GET */
#define CHANGE_NAMES	100	/* names per target list */
#define CHANGE_TEXT_MAX	1000	/* bytes of title, by, a name */

/* Is s one of the JSON array text's strings? */
static bool
names_have(const char *text, const char *s)
{
	json_t *a, *e;
	size_t i;
	bool found = false;

	if (text == NULL || s == NULL ||
	    (a = json_loads(text, 0, NULL)) == NULL)
		return false;
	json_array_foreach(a, i, e)
		if (json_is_string(e) && strcmp(json_string_value(e), s) == 0) {
			found = true;
			break;
		}
	json_decref(a);
	return found;
}

static bool
change_matches(const struct store_change_event *ch, const char *check,
    const char *host, const char *group)
{
	return names_have(ch->checks, check) || names_have(ch->hosts, host) ||
	    names_have(ch->groups, group);
}

static bool
change_names(int kind, const char *name, void *arg)
{
	const struct store_change_event *ch = arg;

	return names_have(kind == MAINT_CHECK ? ch->checks : kind ==
	    MAINT_HOST ? ch->hosts : ch->groups, name);
}

/*
 * The change freeze (maintenance "x" { freeze = true }, as the config in
 * force says) the change was made in, by its start or its end; or NULL.
 */
static const char *
change_freeze(const struct store_change_event *ch)
{
	const char *f = maint_freeze_at(ch->started_at, change_names,
	    (void *)ch);

	if (f == NULL && ch->ended_at != 0)
		f = maint_freeze_at(ch->ended_at, change_names, (void *)ch);
	return f;
}

/* When the change was made, as far as "before" is concerned. */
static time_t
change_at(const struct store_change_event *ch, time_t opened_at)
{
	return ch->ended_at != 0 && ch->ended_at <= opened_at ? ch->ended_at :
	    ch->started_at;
}

/*
 * The changes of (check, host, group) in the window before opened_at.
 * RETURN VALUE: 0 (*v: store_change_events_free()), or -1.
 */
static int
change_find(const char *check, const char *host, const char *group,
    time_t opened_at, int64_t window_s, struct store_change_event **pv,
    size_t *pn)
{
	struct store_change_event *v;
	size_t i, j, n;

	*pv = NULL;
	*pn = 0;
	if (window_s <= 0)
		return 0;
	if (store_change_events(opened_at - window_s, opened_at, CHANGE_SCAN,
	    &v, &n) == -1)
		return -1;
	for (i = j = 0; i < n; i++) {
		if (change_matches(&v[i], check, host, group)) {
			if (i != j) {
				struct store_change_event t = v[j];

				v[j] = v[i];
				v[i] = t;
			}
			j++;
		}
	}
	/* the non-matching ones are past j: free them, keep the count */
	for (i = j; i < n; i++) {
		free(v[i].title);
		free(v[i].by);
		free(v[i].checks);
		free(v[i].hosts);
		free(v[i].groups);
		memset(&v[i], 0, sizeof(v[i]));
	}
	*pv = v;
	*pn = j;
	return 0;
}

unsigned
change_graph_marks(const struct check *c, time_t since, time_t until,
    struct metric_mark *out, unsigned max)
{
	struct store_change_event *v;
	const char *title;
	size_t i, n, first;
	unsigned k = 0;

	if (max == 0 || store_change_events(since, until, CHANGE_SCAN, &v,
	    &n) == -1)
		return 0;
	for (i = 0; i < n; i++)
		if (!change_matches(&v[i], c->name, c->host_name, c->group))
			v[i].id = 0;
	/* the newest max matching ones, oldest first */
	for (i = n, first = n; i > 0 && k < max; i--)
		if (v[i - 1].id != 0) {
			first = i - 1;
			k++;
		}
	for (i = first, k = 0; i < n && k < max; i++) {
		if (v[i].id == 0)
			continue;
		out[k].at = v[i].started_at;
		out[k].id = (long long)v[i].id;
		title = v[i].title != NULL ? v[i].title : "";
		snprintf(out[k].title, sizeof(out[k].title), "%.*s",
		    (int)utf8_prefix(title, sizeof(out[k].title) - 1), title);
		k++;
	}
	store_change_events_free(v, n);
	return k;
}

/* "4 min before", "40 s before", "in progress" into buf. */
static void
change_ago(const struct store_change_event *ch, time_t opened_at, char *buf,
    size_t len)
{
	time_t d = opened_at - change_at(ch, opened_at);

	if (ch->ended_at != 0 && ch->ended_at > opened_at)
		snprintf(buf, len, "still in progress");
	else if (d < 60)
		snprintf(buf, len, "%lld s before", (long long)d);
	else
		snprintf(buf, len, "%lld min before", (long long)(d + 30) / 60);
}

void
change_note_incident(int64_t id, const struct check *c, time_t opened_at,
    int64_t window_s)
{
	struct store_change_event *v;
	const char *freeze;
	size_t i, n;
	char ago[32], *text;

	if (change_find(c->name, c->host_name, c->group, opened_at, window_s,
	    &v, &n) == -1)
		return;
	for (i = 0; i < n; i++) {
		change_ago(&v[i], opened_at, ago, sizeof(ago));
		freeze = change_freeze(&v[i]);
		if (asprintf(&text, "possible cause: change #%lld '%s'%s%s, "
		    "%s%s%s%s", (long long)v[i].id, v[i].title, v[i].by ?
		    " by " : "", v[i].by ? v[i].by : "", ago, freeze ?
		    " (made during the change freeze \"" : "", freeze ?
		    freeze : "", freeze ? "\")" : "") < 0)
			break;
		store_timeline_add(id, opened_at, "change", text);
		log_notice("incident #%lld: possible cause: change #%lld",
		    (long long)id, (long long)v[i].id);
		free(text);
	}
	store_change_events_free(v, n);
}

static json_t *
names_json(const char *text)
{
	json_t *a;

	if (text != NULL && (a = json_loads(text, 0, NULL)) != NULL &&
	    json_is_array(a))
		return a;
	return json_array();
}

/* A change as the API and the pages show it (opened_at 0: no "ago"). */
static json_t *
change_json(const struct store_change_event *ch, time_t opened_at)
{
	json_t *o = json_object();
	int err = o == NULL;

	if (err)
		return NULL;
	api_set(o, "id", json_integer(ch->id), &err);
	api_set(o, "title", api_str(ch->title), &err);
	api_set(o, "by", api_str(ch->by), &err);
	api_set(o, "checks", names_json(ch->checks), &err);
	api_set(o, "hosts", names_json(ch->hosts), &err);
	api_set(o, "groups", names_json(ch->groups), &err);
	api_set(o, "started_at", api_time(ch->started_at), &err);
	api_set(o, "ended_at", api_time(ch->ended_at), &err);
	api_set(o, "freeze", api_str(change_freeze(ch)), &err);
	if (opened_at != 0)
		api_set(o, "seconds_before", json_integer(opened_at -
		    change_at(ch, opened_at)), &err);
	else
		api_set(o, "created_at", api_time(ch->created_at), &err);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
change_recent_json(int64_t id)
{
	struct store_incident inc;
	struct store_change_event *v;
	const struct check *c;
	const char *host = NULL, *group;
	json_t *a;
	size_t i, n;
	int err = 0;

	if (store_incident_get(id, &inc) != 1)
		return NULL;
	/* the root cause's host and group now; its group as stored if gone */
	c = inc.root_cause ? conf_check(daemon_g.cf, inc.root_cause) : NULL;
	group = inc.group;
	if (c != NULL) {
		host = c->host_name;
		group = c->group;
	}
	if (change_find(inc.root_cause, host, group, inc.opened_at,
	    incident_change_window_s(), &v, &n) == -1) {
		store_incident_clear(&inc);
		return NULL;
	}
	a = json_array();
	for (i = 0; a != NULL && i < n; i++)
		api_append(a, change_json(&v[i], inc.opened_at), &err);
	store_change_events_free(v, n);
	store_incident_clear(&inc);
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* ---- the routes ------------------------------------------------------------- */

/*
 * key as a string or an array of names (keys: the singular, "group", and
 * the plural, "groups") into a JSON array text in *out (NULL if neither).
 * RETURN VALUE: 0, or -1 with *why set.
 */
static int
names_from_body(json_t *body, const char *one, const char *many, char **out,
    const char **why)
{
	json_t *a = NULL, *s = json_object_get(body, one), *m, *e;
	size_t i;

	*out = NULL;
	m = json_object_get(body, many);
	if ((s != NULL && !json_is_null(s) && !json_is_string(s)) ||
	    (m != NULL && !json_is_null(m) && !json_is_array(m))) {
		*why = "must be a name (singular key) or an array of names "
		    "(plural key)";
		return -1;
	}
	if ((a = json_array()) == NULL)
		goto oom;
	if (s != NULL && json_is_string(s))
		json_array_append(a, s);
	if (m != NULL && json_is_array(m))
		json_array_foreach(m, i, e)
			json_array_append(a, e);
	if (json_array_size(a) > CHANGE_NAMES) {
		*why = "too many names (at most 100)";
		goto fail;
	}
	json_array_foreach(a, i, e)
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > CHANGE_TEXT_MAX) {
			*why = "names must be non-empty strings";
			goto fail;
		}
	if (json_array_size(a) > 0 &&
	    (*out = json_dumps(a, JSON_COMPACT)) == NULL)
		goto oom;
	json_decref(a);
	return 0;
oom:
	*why = "out of memory";
fail:
	json_decref(a);
	return -1;
}

/* A string member (NULL if absent or null); *bad if not a string. */
static const char *
body_str(json_t *body, const char *key, bool *bad)
{
	json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v) || json_string_length(v) > CHANGE_TEXT_MAX) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

/* POST /api/v1/changes {"title","by","group"|"host"|"checks",…} */
static void
change_post(struct evhttp_request *req, const char *rest, void *arg)
{
	struct store_change_event ch;
	json_t *body, *o;
	const char *why = NULL, *bad_key = NULL, *s;
	char *checks = NULL, *hosts = NULL, *groups = NULL;
	time_t now = time(NULL);
	bool bad = false;

	(void)rest;
	(void)arg;
	if ((body = api_body_json(req)) == NULL)
		return;
	memset(&ch, 0, sizeof(ch));
	ch.created_at = ch.started_at = now;
	if ((ch.title = (char *)body_str(body, "title", &bad)) == NULL ||
	    *ch.title == '\0') {
		bad_key = "title";
		why = "required: a string (at most 1000 bytes)";
	} else if (ch.by = (char *)body_str(body, "by", &bad), bad) {
		bad_key = "by";
		why = "must be a string (at most 1000 bytes)";
	} else if (names_from_body(body, "check", "checks", &checks,
	    &why) == -1)
		bad_key = "checks";
	else if (names_from_body(body, "host", "hosts", &hosts, &why) == -1)
		bad_key = "hosts";
	else if (names_from_body(body, "group", "groups", &groups, &why) == -1)
		bad_key = "groups";
	else if (checks == NULL && hosts == NULL && groups == NULL) {
		bad_key = "group";
		why = "a change names the checks, hosts or groups it touched";
	} else if ((s = body_str(body, "started_at", &bad)) != NULL ?
	    maint_parse_time(s, &ch.started_at) == -1 : bad) {
		bad_key = "started_at";
		why = "must be a UTC time like 2026-12-01T02:00:00Z";
	} else if ((s = body_str(body, "ended_at", &bad)) != NULL ?
	    maint_parse_time(s, &ch.ended_at) == -1 : bad) {
		bad_key = "ended_at";
		why = "must be a UTC time like 2026-12-01T02:00:00Z";
	} else if (ch.ended_at != 0 && ch.ended_at < ch.started_at) {
		bad_key = "ended_at";
		why = "the change ends before it starts";
	}
	if (bad_key != NULL) {
		api_error(req, HTTP_BADREQUEST, "%s: %s", bad_key, why);
		goto out;
	}
	ch.checks = checks;
	ch.hosts = hosts;
	ch.groups = groups;
	/* the log must take it now, or nothing changes (a 5xx) */
	if (store_commit() == -1) {
		api_error(req, HTTP_SERVUNAVAIL, "the incident log cannot be "
		    "written; the change was not recorded");
		goto out;
	}
	if ((ch.id = store_change_event_insert(&ch)) < 0 ||
	    store_commit() == -1) {
		store_discard();
		api_error(req, HTTP_INTERNAL, "cannot store the change");
		goto out;
	}
	log_notice("change #%lld recorded: %s%s%s", (long long)ch.id,
	    ch.title, ch.by ? " by " : "", ch.by ? ch.by : "");
	if ((s = change_freeze(&ch)) != NULL)
		log_warnx("change #%lld was made during the change freeze "
		    "\"%s\"", (long long)ch.id, s);
	o = change_json(&ch, 0);
	api_reply(req, 201, o);
out:
	free(checks);
	free(hosts);
	free(groups);
	json_decref(body);
}

/* "7d" (that long ago) or an RFC 3339 UTC time into *t; -1 if neither. */
static int
parse_since(const char *s, time_t now, time_t *t)
{
	int64_t ms;

	if (maint_parse_time(s, t) == 0)
		return 0;
	if (conf_parse_duration(s, &ms) == -1 || ms < 0)
		return -1;
	*t = now - ms / 1000;
	return 0;
}

/* GET /api/v1/changes[?since=7d|TIME][&until=TIME] */
static void
change_list(struct evhttp_request *req, const char *rest, void *arg)
{
	struct store_change_event *v = NULL;
	struct evkeyvalq q;
	const char *s;
	time_t now = time(NULL), since = now - 7 * 86400, until = now;
	json_t *o = NULL, *a;
	size_t i, n = 0;
	int err = 0;

	(void)rest;
	(void)arg;
	if (api_query(req, &q) == -1)
		return;
	if ((s = evhttp_find_header(&q, "since")) != NULL &&
	    parse_since(s, now, &since) == -1) {
		api_error(req, HTTP_BADREQUEST, "since: \"%s\" is neither a "
		    "duration like 7d nor a UTC time", s);
		goto out;
	}
	if ((s = evhttp_find_header(&q, "until")) != NULL &&
	    maint_parse_time(s, &until) == -1) {
		api_error(req, HTTP_BADREQUEST, "until: \"%s\" is not a UTC "
		    "time", s);
		goto out;
	}
	store_commit();
	if (store_change_events(since, until, CHANGE_LIST_MAX, &v, &n) == -1) {
		api_error(req, HTTP_INTERNAL, "cannot read the changes");
		goto out;
	}
	o = json_object();
	a = json_array();
	err = o == NULL || a == NULL;
	for (i = 0; !err && i < n; i++)
		api_append(a, change_json(&v[i], 0), &err);
	if (o != NULL)
		api_set(o, "changes", a, &err);
	else
		json_decref(a);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
out:
	store_change_events_free(v, n);
	evhttp_clear_headers(&q);
}

json_t *
change_freeze_report(time_t since, time_t until)
{
	struct store_change_event *v = NULL;
	json_t *a;
	size_t i, n = 0;
	int err = 0;

	if (store_change_events(since, until, CHANGE_LIST_MAX, &v, &n) == -1)
		return NULL;
	a = json_array();
	err = a == NULL;
	for (i = 0; !err && i < n; i++)
		if (change_freeze(&v[i]) != NULL)
			api_append(a, change_json(&v[i], 0), &err);
	store_change_events_free(v, n);
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int
change_api_init(void)
{
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/changes", 0, change_list,
	    NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/changes", API_MUTATES,
	    change_post, NULL) == -1)
		return -1;
	return 0;
}
