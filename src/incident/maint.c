/*
 * maint.c — maintenance windows.
 *
 * Config windows (maintenance "NAME" { }) are either one-off (start, end)
 * or recurring (every = "daily 02:00" or "sun 02:00", duration); times are
 * UTC.  API windows (POST /api/v1/maintenance) are one-off, stored in the
 * incident database so that they survive a restart, and cached here.  A
 * window matches checks by name, by host or by group.
 *
 * A config window with freeze = true is a change freeze instead: no
 * incident is held back by it, and the changes recorded for what it
 * names (everything, when it names nothing) while it is open are marked
 * as made inside it (change.c: the API, timelines, pages).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/http.h>
#include <jansson.h>

#include "api/api.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/util.h"
#include "incident/incident_int.h"
#include "incident/maint.h"
#include "incident/store.h"
#include "lib/strv.h"

struct window {
	int64_t id;		/* API windows; 0 for config ones */
	char *name;		/* config windows */
	char **checks, **hosts, **groups;
	unsigned nchecks, nhosts, ngroups;
	time_t start, end;	/* one-off */
	int wday;		/* recurring: 0-6 (sun-sat), -1 daily */
	int minute;		/* recurring: minute of the day, -1: one-off */
	int64_t duration_s;
	char *comment;
	char *by;
	bool freeze;		/* a change freeze, not maintenance */
};

struct windows {
	struct window *v;
	unsigned n;
};

static struct windows api_windows;

static void
window_clear(struct window *w)
{
	free(w->name);
	strv_free(w->checks, w->nchecks);
	strv_free(w->hosts, w->nhosts);
	strv_free(w->groups, w->ngroups);
	free(w->comment);
	free(w->by);
}

static void
windows_free(void *p)
{
	struct windows *ws = p;
	unsigned i;

	if (ws == NULL)
		return;
	for (i = 0; i < ws->n; i++)
		window_clear(&ws->v[i]);
	free(ws->v);
	if (ws != &api_windows)
		free(ws);
}

int
maint_parse_time(const char *s, time_t *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL)
		return -1;
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL &&
	    (end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm)) == NULL &&
	    (end = strptime(s, "%Y-%m-%d %H:%M", &tm)) == NULL &&
	    (end = strptime(s, "%Y-%m-%dT%H:%M", &tm)) == NULL)
		return -1;
	if (*end == 'Z')
		end++;
	if (*end != '\0')
		return -1;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

/* "daily 02:00", "sun 02:00" → wday (-1 daily) and minute of day. */
static int
parse_every(const char *s, int *wday, int *minute)
{
	static const char *days[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	char day[16];
	int h, m, n = 0, i;

	if (sscanf(s, "%15s %d:%d%n", day, &h, &m, &n) != 3 ||
	    s[n] != '\0' || h < 0 || h > 23 || m < 0 || m > 59)
		return -1;
	*minute = h * 60 + m;
	if (strcasecmp(day, "daily") == 0) {
		*wday = -1;
		return 0;
	}
	for (i = 0; i < 7; i++)
		if (strncasecmp(day, days[i], 3) == 0) {
			*wday = i;
			return 0;
		}
	return -1;
}

static bool
strv_has(char *const *v, unsigned n, const char *s)
{
	unsigned i;

	if (s == NULL)
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static bool
window_matches(const struct window *w, const struct check *c)
{
	return strv_has(w->checks, w->nchecks, c->name) ||
	    strv_has(w->hosts, w->nhosts, c->host_name) ||
	    strv_has(w->groups, w->ngroups, c->group);
}

static bool
window_open(const struct window *w, time_t now)
{
	struct tm tm;
	time_t day_start, s;
	int back;

	if (w->minute < 0)
		return now >= w->start && now < w->end;
	/* recurring: did an occurrence start within duration before now? */
	gmtime_r(&now, &tm);
	day_start = now - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
	for (back = 0; back <= 7 + (int)(w->duration_s / 86400); back++) {
		int wd = ((tm.tm_wday - back) % 7 + 7) % 7;

		if (w->wday >= 0 && wd != w->wday)
			continue;
		s = day_start - (time_t)back * 86400 + w->minute * 60;
		if (now >= s && now < s + w->duration_s)
			return true;
	}
	return false;
}

bool
maint_active(const struct check *c, time_t now)
{
	const struct windows *cw;
	unsigned i;

	if (c == NULL)
		return false;
	cw = conf_section_state(daemon_g.cf, "maintenance");
	for (i = 0; cw != NULL && i < cw->n; i++)
		if (!cw->v[i].freeze && window_matches(&cw->v[i], c) &&
		    window_open(&cw->v[i], now))
			return true;
	for (i = 0; i < api_windows.n; i++)
		if (window_matches(&api_windows.v[i], c) &&
		    window_open(&api_windows.v[i], now))
			return true;
	return false;
}

/* Ended API windows stay listed this long (GET /api/v1/maintenance). */
#define MAINT_LISTED_ENDED	86400

/* Intervals [a, b), for maint_covered(). */
struct span {
	time_t a, b;
};

static int
span_cmp(const void *x, const void *y)
{
	const struct span *p = x, *q = y;

	return p->a < q->a ? -1 : p->a > q->a;
}

/* [s, e) cut to [a, b), appended to *v when something is left. */
static int
span_add(time_t s, time_t e, time_t a, time_t b, struct span **v, size_t *n,
    size_t *cap)
{
	struct span *nv;
	size_t nc;

	s = s > a ? s : a;
	e = e < b ? e : b;
	if (e <= s)
		return 0;
	if (*n == *cap) {
		nc = *cap ? *cap * 2 : 16;
		if ((nv = reallocarray(*v, nc, sizeof(**v))) == NULL)
			return -1;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = (struct span){ s, e };
	return 0;
}

/* w's occurrences that meet [a, b), cut to it, appended to *v. */
static int
window_spans(const struct window *w, time_t a, time_t b, struct span **v,
    size_t *n, size_t *cap)
{
	int64_t day, last;
	struct tm tm;
	time_t d0, s;

	if (w->minute < 0)
		return span_add(w->start, w->end, a, b, v, n, cap);
	/* recurring: each day (or weekday) whose occurrence meets [a, b) */
	last = (int64_t)b / 86400;
	for (day = (int64_t)(a - w->duration_s) / 86400 - 1; day <= last;
	    day++) {
		d0 = (time_t)(day * 86400);
		gmtime_r(&d0, &tm);
		if (w->wday >= 0 && tm.tm_wday != w->wday)
			continue;
		s = d0 + w->minute * 60;
		if (span_add(s, s + (time_t)w->duration_s, a, b, v, n,
		    cap) == -1)
			return -1;
	}
	return 0;
}

int64_t
maint_covered(const struct check *c, time_t a, time_t b)
{
	const struct windows *cw;
	struct span *v = NULL;
	size_t n = 0, cap = 0, i;
	time_t end = 0;
	int64_t sum = 0;
	unsigned k;

	if (c == NULL || b <= a)
		return 0;
	cw = conf_section_state(daemon_g.cf, "maintenance");
	for (k = 0; cw != NULL && k < cw->n; k++)
		if (!cw->v[k].freeze && window_matches(&cw->v[k], c) &&
		    window_spans(&cw->v[k], a, b, &v, &n, &cap) == -1)
			goto out;
	for (k = 0; k < api_windows.n; k++)
		if (window_matches(&api_windows.v[k], c) &&
		    window_spans(&api_windows.v[k], a, b, &v, &n, &cap) == -1)
			goto out;
	/* the union: overlapping windows count once */
	if (n > 1)			/* v is NULL when there are none */
		qsort(v, n, sizeof(*v), span_cmp);
	for (i = 0; i < n; i++) {
		time_t s = v[i].a > end ? v[i].a : end;

		if (v[i].b > s)
			sum += v[i].b - s;
		if (v[i].b > end)
			end = v[i].b;
	}
out:
	free(v);
	return sum;
}

const char *
maint_freeze_at(time_t t, bool (*names)(int kind, const char *name,
    void *arg), void *arg)
{
	const struct windows *cw;
	const struct window *w;
	unsigned i, k;

	cw = conf_section_state(daemon_g.cf, "maintenance");
	for (i = 0; cw != NULL && i < cw->n; i++) {
		w = &cw->v[i];
		if (!w->freeze || !window_open(w, t))
			continue;
		if (w->nchecks + w->nhosts + w->ngroups == 0)
			return w->name;
		for (k = 0; k < w->nchecks; k++)
			if (names(MAINT_CHECK, w->checks[k], arg))
				return w->name;
		for (k = 0; k < w->nhosts; k++)
			if (names(MAINT_HOST, w->hosts[k], arg))
				return w->name;
		for (k = 0; k < w->ngroups; k++)
			if (names(MAINT_GROUP, w->groups[k], arg))
				return w->name;
	}
	return NULL;
}

/* ---- config ------------------------------------------------------------- */

static const struct tocsin_option maint_options[] = {
	{ "checks", TOCSIN_OPT_STR_LIST, NULL, 0, "check names" },
	{ "hosts", TOCSIN_OPT_STR_LIST, NULL, 0, "host names" },
	{ "groups", TOCSIN_OPT_STR_LIST, NULL, 0, "group names" },
	{ "start", TOCSIN_OPT_STR, NULL, 0, "one-off: UTC start" },
	{ "end", TOCSIN_OPT_STR, NULL, 0, "one-off: UTC end" },
	{ "every", TOCSIN_OPT_STR, NULL, 0, "\"daily HH:MM\" or \"sun HH:MM\"" },
	{ "duration", TOCSIN_OPT_DURATION, NULL, 0, "recurring: length" },
	{ "comment", TOCSIN_OPT_STR, NULL, 0, "why" },
	{ "freeze", TOCSIN_OPT_BOOL, "false", 0, "a change freeze" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static int
strv_from_conf(struct tocsin_conf *sec, const char *key, char ***v,
    unsigned *n)
{
	unsigned i, k = tocsin_conf_list_size(sec, key);

	*v = NULL;
	*n = 0;
	if (k == 0)
		return 0;
	if ((*v = calloc(k, sizeof(**v))) == NULL)
		return -1;
	for (i = 0; i < k; i++)
		if (((*v)[i] = strdup(tocsin_conf_list_str(sec, key, i))) ==
		    NULL)
			return -1;
	*n = k;
	return 0;
}

static int
maint_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct windows *ws = *state;
	struct window w, *v;
	const char *every = tocsin_conf_str(sec, "every");
	int rc = 0;

	(void)cf;
	if (ws == NULL && (ws = *state = calloc(1, sizeof(*ws))) == NULL)
		return -1;
	memset(&w, 0, sizeof(w));
	w.minute = -1;
	if ((w.name = strdup(conf_title(sec))) == NULL ||
	    strv_from_conf(sec, "checks", &w.checks, &w.nchecks) == -1 ||
	    strv_from_conf(sec, "hosts", &w.hosts, &w.nhosts) == -1 ||
	    strv_from_conf(sec, "groups", &w.groups, &w.ngroups) == -1) {
		window_clear(&w);
		return -1;
	}
	if (tocsin_conf_str(sec, "comment") != NULL)
		w.comment = strdup(tocsin_conf_str(sec, "comment"));
	w.freeze = tocsin_conf_bool(sec, "freeze") == 1;
	/* a freeze without names freezes everything */
	if (w.nchecks + w.nhosts + w.ngroups == 0 && !w.freeze) {
		tocsin_conf_error(sec, NULL, "names no checks, hosts or groups");
		rc = -1;
	}
	if (every != NULL) {
		if (parse_every(every, &w.wday, &w.minute) == -1) {
			tocsin_conf_error(sec, "every", "\"%s\" is not "
			    "\"daily HH:MM\" or \"DAY HH:MM\" (sun…sat)", every);
			rc = -1;
		}
		if (!tocsin_conf_is_set(sec, "duration") ||
		    (w.duration_s = tocsin_conf_duration_ms(sec, "duration") /
		    1000) <= 0) {
			tocsin_conf_error(sec, "every", "a recurring window "
			    "needs a duration > 0");
			rc = -1;
		}
		if (tocsin_conf_is_set(sec, "start") ||
		    tocsin_conf_is_set(sec, "end")) {
			tocsin_conf_error(sec, "start", "use either every + "
			    "duration or start + end");
			rc = -1;
		}
	} else {
		const char *s = tocsin_conf_str(sec, "start");
		const char *e = tocsin_conf_str(sec, "end");

		if (s == NULL || maint_parse_time(s, &w.start) == -1) {
			tocsin_conf_error(sec, "start", s ? "\"%s\" is not a "
			    "UTC time like 2026-12-01T02:00:00Z" :
			    "%sa one-off window needs start and end", s ? s :
			    "");
			rc = -1;
		}
		if (e == NULL || maint_parse_time(e, &w.end) == -1) {
			tocsin_conf_error(sec, "end", e ? "\"%s\" is not a UTC "
			    "time like 2026-12-01T04:00:00Z" : "%sa one-off "
			    "window needs start and end", e ? e : "");
			rc = -1;
		} else if (rc == 0 && w.end <= w.start) {
			tocsin_conf_error(sec, "end", "ends before it starts");
			rc = -1;
		}
	}
	if (rc == -1 || (v = reallocarray(ws->v, ws->n + 1,
	    sizeof(*v))) == NULL) {
		window_clear(&w);
		return -1;
	}
	ws->v = v;
	v[ws->n++] = w;
	return 0;
}

static const struct conf_section maint_section = {
	"maintenance", true, maint_options, NULL, maint_load, NULL,
	windows_free,
};

int
maint_register_config(void)
{
	return conf_section_register(&maint_section);
}

/* ---- API windows ----------------------------------------------------------- */

/* Names as stored in the database: a JSON array text (NULL if none). */
static char *
strv_text(char *const *v, unsigned n)
{
	json_t *a;
	char *t;
	unsigned i;

	if (n == 0 || (a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	t = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return t;
}

static void
strv_parse(const unsigned char *text, char ***v, unsigned *n)
{
	json_t *a, *e;
	size_t i;

	*v = NULL;
	*n = 0;
	if (text == NULL ||
	    (a = json_loads((const char *)text, 0, NULL)) == NULL)
		return;
	if (json_is_array(a) &&
	    (*v = calloc(json_array_size(a) + 1, sizeof(**v))) != NULL)
		json_array_foreach(a, i, e)
			if (json_is_string(e) && ((*v)[*n] =
			    strdup(json_string_value(e))) != NULL)
				(*n)++;
	json_decref(a);
}

static json_t *
strv_json(char *const *v, unsigned n)
{
	json_t *a = json_array();
	unsigned i;
	int err = 0;

	for (i = 0; a != NULL && i < n; i++)
		api_append(a, api_str(v[i]), &err);
	if (err) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
window_json(const struct window *w, time_t now)
{
	static const char *days[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	json_t *o = json_object();
	char every[32];
	int err = 0;

	if (o == NULL)
		return NULL;
	api_set(o, "id", w->id ? json_integer(w->id) : json_null(), &err);
	api_set(o, "name", api_str(w->name), &err);
	api_set(o, "source", json_string(w->id ? "api" : "config"), &err);
	api_set(o, "checks", strv_json(w->checks, w->nchecks), &err);
	api_set(o, "hosts", strv_json(w->hosts, w->nhosts), &err);
	api_set(o, "groups", strv_json(w->groups, w->ngroups), &err);
	if (w->minute < 0) {
		api_set(o, "start", api_time(w->start), &err);
		api_set(o, "end", api_time(w->end), &err);
	} else {
		snprintf(every, sizeof(every), "%s %02d:%02d", w->wday < 0 ?
		    "daily" : days[w->wday], w->minute / 60, w->minute % 60);
		api_set(o, "every", json_string(every), &err);
		api_set(o, "duration", json_integer(w->duration_s), &err);
	}
	api_set(o, "comment", api_str(w->comment), &err);
	api_set(o, "freeze", json_boolean(w->freeze), &err);
	api_set(o, "created_by", api_str(w->by), &err);
	api_set(o, "active", json_boolean(window_open(w, now)), &err);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
maint_get(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct windows *cw = conf_section_state(daemon_g.cf,
	    "maintenance");
	json_t *o = json_object(), *a = json_array();
	time_t now = time(NULL);
	unsigned i;
	int err = o == NULL || a == NULL;

	(void)rest;
	(void)arg;
	for (i = 0; cw != NULL && i < cw->n; i++)
		api_append(a, window_json(&cw->v[i], now), &err);
	/* ended ones are kept as history (reports, SLOs), listed a day */
	for (i = 0; i < api_windows.n; i++)
		if (api_windows.v[i].end >= now - MAINT_LISTED_ENDED)
			api_append(a, window_json(&api_windows.v[i], now),
			    &err);
	if (o != NULL)
		api_set(o, "windows", a, &err);
	else
		json_decref(a);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
}

/* A JSON array of strings into v; -1 with *why set if it is not one. */
static int
strv_from_json(json_t *body, const char *key, char ***v, unsigned *n,
    const char **why)
{
	json_t *a = json_object_get(body, key), *e;
	size_t i;

	*v = NULL;
	*n = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a)) {
		*why = "must be an array of names";
		return -1;
	}
	if ((*v = calloc(json_array_size(a) + 1, sizeof(**v))) == NULL)
		return -1;
	json_array_foreach(a, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0) {
			*why = "must be an array of names";
			return -1;
		}
		if (((*v)[*n] = strdup(json_string_value(e))) == NULL)
			return -1;
		(*n)++;
	}
	return 0;
}

static const char *
json_opt_str(json_t *body, const char *key, int *bad)
{
	json_t *v = json_object_get(body, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

static void
maint_post(struct evhttp_request *req, const char *rest, void *arg)
{
	struct window w, *v;
	json_t *body;
	char *cj, *hj, *gj;
	struct store_maint row;
	const char *why = NULL, *s, *bad_key = NULL;
	int64_t dur_ms;
	time_t now = time(NULL);
	int bad = 0;

	(void)rest;
	(void)arg;
	if ((body = api_body_json(req)) == NULL)
		return;
	memset(&w, 0, sizeof(w));
	w.minute = -1;
	w.start = now;
	if (strv_from_json(body, "checks", &w.checks, &w.nchecks, &why) == -1)
		bad_key = "checks";
	else if (strv_from_json(body, "hosts", &w.hosts, &w.nhosts,
	    &why) == -1)
		bad_key = "hosts";
	else if (strv_from_json(body, "groups", &w.groups, &w.ngroups,
	    &why) == -1)
		bad_key = "groups";
	else if (w.nchecks + w.nhosts + w.ngroups == 0) {
		bad_key = "checks";
		why = "a window needs checks, hosts or groups";
	} else if ((s = json_opt_str(body, "start", &bad)) != NULL &&
	    maint_parse_time(s, &w.start) == -1) {
		bad_key = "start";
		why = "must be a UTC time like 2026-12-01T02:00:00Z";
	} else if (bad) {
		bad_key = "start";
		why = "must be a string";
	} else if ((s = json_opt_str(body, "end", &bad)) != NULL) {
		if (maint_parse_time(s, &w.end) == -1) {
			bad_key = "end";
			why = "must be a UTC time like 2026-12-01T04:00:00Z";
		}
	} else if (!bad && (s = json_opt_str(body, "duration", &bad)) !=
	    NULL) {
		if (conf_parse_duration(s, &dur_ms) == -1 || dur_ms < 1000) {
			bad_key = "duration";
			why = "must be a duration like 2h";
		} else
			w.end = w.start + dur_ms / 1000;
	} else {
		bad_key = "end";
		why = bad ? "must be a string" : "give end or duration";
	}
	if (bad_key == NULL && w.end <= w.start) {
		bad_key = "end";
		why = "the window ends before it starts";
	}
	bad = 0;
	if (bad_key == NULL) {
		s = json_opt_str(body, "comment", &bad);
		w.comment = s ? strdup(s) : NULL;
		s = json_opt_str(body, "by", &bad);
		w.by = s ? strdup(s) : NULL;
		if (bad) {
			bad_key = "comment";
			why = "comment and by must be strings";
		}
	}
	if (bad_key != NULL) {
		api_error(req, HTTP_BADREQUEST, "%s: %s", bad_key,
		    why ? why : "out of memory");
		goto out;
	}
	/* the log must take it now, or nothing changes (a 5xx) */
	if (store_commit() == -1) {
		api_error(req, HTTP_SERVUNAVAIL, "the incident log cannot be "
		    "written; the window was not created");
		goto out;
	}
	cj = strv_text(w.checks, w.nchecks);
	hj = strv_text(w.hosts, w.nhosts);
	gj = strv_text(w.groups, w.ngroups);
	memset(&row, 0, sizeof(row));
	row.checks = cj;
	row.hosts = hj;
	row.groups = gj;
	row.starts_at = w.start;
	row.ends_at = w.end;
	row.comment = w.comment;
	row.created_by = w.by;
	row.created_at = now;
	w.id = store_maint_insert(&row);
	free(cj);
	free(hj);
	free(gj);
	if (w.id < 0 || store_commit() == -1) {
		store_discard();
		api_error(req, HTTP_INTERNAL, "cannot store the window");
		goto out;
	}
	if ((v = reallocarray(api_windows.v, api_windows.n + 1,
	    sizeof(*v))) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	api_windows.v = v;
	v[api_windows.n++] = w;
	log_notice("maintenance window #%lld created by %s", (long long)w.id,
	    w.by ? w.by : "an operator");
	api_reply(req, 201, window_json(&v[api_windows.n - 1], now));
	json_decref(body);
	return;
out:
	window_clear(&w);
	json_decref(body);
}

/*
 * DELETE /api/v1/maintenance/ID: a window yet to begin is removed; one
 * under way ends now, and what it covered so far stays maintenance for
 * the report and SLOs; one that has ended is history (409).
 */
static void
maint_delete(struct evhttp_request *req, const char *rest, void *arg)
{
	char *end, at[32];
	long long id;
	unsigned i;
	time_t now = time(NULL);
	struct window *w;

	(void)arg;
	id = strtoll(rest, &end, 10);
	if (*rest == '\0' || *end != '\0' || id <= 0) {
		api_error(req, HTTP_BADREQUEST, "malformed window id: %s", rest);
		return;
	}
	for (i = 0; i < api_windows.n; i++)
		if (api_windows.v[i].id == id)
			break;
	if (i == api_windows.n) {
		api_error(req, HTTP_NOTFOUND, "no maintenance window %lld "
		    "(windows from the config file cannot be deleted here)",
		    id);
		return;
	}
	w = &api_windows.v[i];
	if (w->end <= now) {
		rfc3339(w->end, at, sizeof(at));
		api_error(req, 409, "maintenance window %lld ended at %s: it "
		    "is history now (reports and SLOs count it)", id, at);
		return;
	}
	if (store_commit() == -1) {
		/* earlier writes wait for the disk: change nothing now */
		api_error(req, HTTP_SERVUNAVAIL, "the incident log cannot be "
		    "written; the window was not deleted");
		return;
	}
	if (w->start < now) {
		/* under way: it ends now */
		if (store_maint_end(id, now) == -1 || store_commit() == -1) {
			store_discard();
			api_error(req, HTTP_INTERNAL, "cannot end the window");
			return;
		}
		w->end = now;
		log_notice("maintenance window #%lld ended early", id);
		api_reply(req, HTTP_OK, json_pack("{s:I,s:o}", "deleted",
		    (json_int_t)id, "ended_at", api_time(now)));
		return;
	}
	if (store_maint_delete(id) == -1 || store_commit() == -1) {
		store_discard();
		api_error(req, HTTP_INTERNAL, "cannot delete the window");
		return;
	}
	window_clear(&api_windows.v[i]);
	memmove(&api_windows.v[i], &api_windows.v[i + 1],
	    (api_windows.n - i - 1) * sizeof(api_windows.v[0]));
	api_windows.n--;
	log_notice("maintenance window #%lld deleted", id);
	api_reply(req, HTTP_OK, json_pack("{s:I}", "deleted", (json_int_t)id));
}

/*
 * API windows from the store.  Ended ones are kept for incidents {
 * retention } (0: for good), as the events they explain: a report or an
 * SLO over a past month subtracts them after a restart too.
 */
static int
maint_load_db(void)
{
	const struct inc_conf *ic = incident_conf();
	struct store_maint *rows;
	struct window w, *v;
	size_t n, i;
	int rc = 0;

	if (ic != NULL && ic->retention_ms > 0)
		store_maint_purge(time(NULL) - (time_t)(ic->retention_ms /
		    1000));
	if (store_maints(&rows, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		memset(&w, 0, sizeof(w));
		w.minute = -1;
		w.id = rows[i].id;
		strv_parse((const unsigned char *)rows[i].checks, &w.checks,
		    &w.nchecks);
		strv_parse((const unsigned char *)rows[i].hosts, &w.hosts,
		    &w.nhosts);
		strv_parse((const unsigned char *)rows[i].groups, &w.groups,
		    &w.ngroups);
		w.start = rows[i].starts_at;
		w.end = rows[i].ends_at;
		w.comment = rows[i].comment;
		w.by = rows[i].created_by;
		rows[i].comment = rows[i].created_by = NULL;
		if ((v = reallocarray(api_windows.v, api_windows.n + 1,
		    sizeof(*v))) == NULL) {
			window_clear(&w);
			rc = -1;
			break;
		}
		api_windows.v = v;
		v[api_windows.n++] = w;
	}
	store_maints_free(rows, n);
	return rc;
}

int
maint_api_init(void)
{
	if (maint_load_db() == -1)
		return -1;
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/maintenance", 0,
	    maint_get, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/maintenance", API_MUTATES,
	    maint_post, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_DELETE, "/api/v1/maintenance/",
	    API_MUTATES, maint_delete, NULL) == -1)
		return -1;
	return 0;
}

void
maint_shutdown(void)
{
	windows_free(&api_windows);
	memset(&api_windows, 0, sizeof(api_windows));
}
