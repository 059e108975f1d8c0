/*
 * api_checks.c — the checks' routes: GET /api/v1/status, GET
 * /api/v1/checks[/NAME], POST /api/v1/checks/NAME/run and .../result, and
 * POST /api/v1/reload.
 *
 * Owns nothing: every answer is built at request time from the config in
 * force (daemon_g.cf), the checks' status in it and stats_g.  What
 * changes state goes to the module that owns it (sched_run_now(),
 * sched_result(), a SIGHUP for a reload).  Replies, access and routing
 * are the server's (api.c); this file only adds its routes with
 * api_route_add() at start-up (api_checks_init()).
 *
 * Never blocks: a handler walks memory and fills an evbuffer.  A reply is
 * built whole before it is sent, so a full check list holds the loop for
 * time linear in the number of checks (measured: ~10 ms per 1,000 checks
 * with two metrics each); a chunked reply could bound that if it ever
 * matters.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api.h"
#include "api/api_checks.h"
#include "api/api_push.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/sched.h"
#include "core/state.h"
#include "core/stats.h"

/* libevent 2.1 does not name it */
#ifndef HTTP_ACCEPTED
#define HTTP_ACCEPTED		202
#endif

static api_handler api_get_status;
static api_handler api_get_checks;
static api_handler api_get_check;
static api_handler api_post_check;
static api_handler api_post_reload;

int
api_checks_init(void)
{
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/status", 0,
	    api_get_status, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_GET, "/api/v1/checks", 0,
	    api_get_checks, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_GET, "/api/v1/checks/", 0,
	    api_get_check, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/checks/", API_MUTATES,
	    api_post_check, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/reload", API_MUTATES,
	    api_post_reload, NULL) == -1)
		return -1;
	return 0;
}

/* ---- checks --------------------------------------------------------- */

/* Returns a new metric object, or NULL when out of memory. */
static json_t *
api_metric_json(const struct metric *m)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	api_set(o, "name", api_str(m->name != NULL ? m->name : ""), &err);
	api_set(o, "value", api_num(m->value), &err);
	api_set(o, "unit", api_str(m->unit), &err);
	api_set(o, "warn", api_threshold(m->warn), &err);
	api_set(o, "crit", api_threshold(m->crit), &err);
	api_set(o, "min", api_num(m->min), &err);
	api_set(o, "max", api_num(m->max), &err);
	if (m->flags & TOCSIN_METRIC_COUNTER)	/* stored as a rate (DERIVE) */
		api_set(o, "counter", json_true(), &err);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static const char *(*api_check_node)(const struct check *c);
static void (*api_check_extra)(const struct check *c, json_t *o);

void
api_checks_set_extra(void (*add)(const struct check *c, json_t *o))
{
	api_check_extra = add;
}

void
api_checks_set_node(const char *(*ran_by)(const struct check *c))
{
	api_check_node = ran_by;
}

/*
 * Returns a new CHECK object (docs/api.md, "Checks"), or NULL when out of
 * memory.
 */
static json_t *
api_check_json(const struct check *c)
{
	const struct check_status *st = &c->st;
	const char *type = NULL;
	json_t *o, *a;
	unsigned i;
	int err = 0;

	type = ctype_name(c->type);
	if ((o = json_object()) == NULL)
		return NULL;
	api_set(o, "name", api_str(c->name), &err);
	api_set(o, "type", api_str(type), &err);
	api_set(o, "host", api_str(c->host_name), &err);
	api_set(o, "group", api_str(c->group), &err);
	api_set(o, "rule", api_str(c->rule), &err);
	api_set(o, "state", api_str(state_name(st->state)), &err);
	/* PENDING is neither: nothing was tried yet */
	api_set(o, "state_type", st->state == STATE_PENDING ? json_null() :
	    json_string(st->hard ? "hard" : "soft"), &err);
	api_set(o, "attempt", json_integer(st->attempt), &err);
	api_set(o, "max_attempts", json_integer(c->max_attempts), &err);
	api_set(o, "last_check", api_time(c->last_check), &err);
	api_set(o, "next_check", api_time(c->next_check), &err);
	api_set(o, "summary",
	    api_str(c->last.summary != NULL ? c->last.summary : ""), &err);
	api_set(o, "long_output", api_str(c->last.long_output), &err);
	api_set(o, "flapping", json_boolean(st->flapping), &err);
	api_set(o, "flap_percent", api_num(st->flap_percent), &err);
	api_set(o, "interval", api_seconds(c->interval_ms), &err);

	a = json_array();
	for (i = 0; a != NULL && i < c->ndepends; i++)
		api_append(a, api_str(c->depends_on[i]), &err);
	api_set(o, "depends_on", a, &err);

	api_set(o, "last_state_change", api_time(st->last_change), &err);
	api_set(o, "last_hard_state_change", api_time(st->last_hard_change),
	    &err);
	api_set(o, "duration_ms", json_integer(c->last.duration_ms), &err);

	a = json_array();
	for (i = 0; a != NULL && i < c->last.nmetrics; i++)
		api_append(a, api_metric_json(&c->last.metrics[i]), &err);
	api_set(o, "metrics", a, &err);
	if (api_check_node != NULL)
		api_set(o, "node", api_str(api_check_node(c)), &err);
	if (api_check_extra != NULL)
		api_check_extra(c, o);

	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Is token (len bytes, not NUL-terminated) one of the comma-separated
 * items of list?
 */
static bool
api_list_has(const char *list, const char *token, size_t len)
{
	size_t n;

	for (;;) {
		n = strcspn(list, ",");
		if (n == len && memcmp(list, token, len) == 0)
			return true;
		if (list[n] == '\0')
			return false;
		list += n + 1;
	}
}

/*
 * Filters of GET /api/v1/checks.  Each may be given more than once and a
 * check passes when it matches any value of each filter given.  state and
 * type also take comma lists (their values never contain a comma); group
 * does not, since a group is free text from the config.
 */
struct api_filter {
	unsigned states;		/* bit per enum check_state; 0: any */
	bool by_group;
	bool by_type;
	const struct evkeyvalq *q;	/* the parsed query */
};

/*
 * Checks the query and fills f.  RETURN VALUE: 0, or -1 after replying
 * 400 with the reason.
 */
static int
api_filter_parse(struct evhttp_request *req, const struct evkeyvalq *q,
    struct api_filter *f)
{
	const struct evkeyval *kv;
	const char *p;
	char name[16];
	size_t n;
	int s;

	memset(f, 0, sizeof(*f));
	f->q = q;
	TAILQ_FOREACH(kv, q, next) {
		if (strcmp(kv->key, "group") == 0) {
			f->by_group = true;
		} else if (strcmp(kv->key, "type") == 0) {
			f->by_type = true;
		} else if (strcmp(kv->key, "state") == 0) {
			for (p = kv->value;; p += n + 1) {
				n = strcspn(p, ",");
				s = -1;
				if (n < sizeof(name)) {
					memcpy(name, p, n);
					name[n] = '\0';
					s = state_from_name(name);
				}
				if (s < 0 || s >= STATE_COUNT) {
					api_error(req, HTTP_BADREQUEST,
					    "unknown state: %.*s", (int)n, p);
					return -1;
				}
				f->states |= 1u << s;
				if (p[n] == '\0')
					break;
			}
		} else {
			api_error(req, HTTP_BADREQUEST,
			    "unknown parameter: %s (use state, group or type)",
			    kv->key);
			return -1;
		}
	}
	return 0;
}

static bool
api_filter_match(const struct api_filter *f, const struct check *c)
{
	const struct evkeyval *kv;
	const char *type = NULL;
	bool group_ok = !f->by_group, type_ok = !f->by_type;

	if (f->states != 0 && ((unsigned)c->st.state >= STATE_COUNT ||
	    (f->states & (1u << c->st.state)) == 0))
		return false;
	type = ctype_name(c->type);
	TAILQ_FOREACH(kv, f->q, next) {
		if (!group_ok && strcmp(kv->key, "group") == 0 &&
		    c->group != NULL && strcmp(kv->value, c->group) == 0)
			group_ok = true;
		if (!type_ok && strcmp(kv->key, "type") == 0 &&
		    type != NULL && api_list_has(kv->value, type, strlen(type)))
			type_ok = true;
	}
	return group_ok && type_ok;
}

/* ---- handlers ------------------------------------------------------- */

/* GET /api/v1/status */
static void
api_get_status(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct config *cf = daemon_g.cf;
	unsigned count[STATE_COUNT] = { 0 };
	unsigned i, nchecks = 0, flapping = 0;
	json_t *o, *sub;
	time_t now;
	int err = 0;

	(void)arg;
	(void)rest;
	if (cf != NULL)
		nchecks = cf->nchecks;
	for (i = 0; i < nchecks; i++) {
		if ((unsigned)cf->checks[i]->st.state < STATE_COUNT)
			count[cf->checks[i]->st.state]++;
		if (cf->checks[i]->st.flapping)
			flapping++;
	}

	if ((o = json_object()) == NULL) {
		api_reply(req, HTTP_OK, NULL);
		return;
	}
	api_set(o, "version", api_str(daemon_g.version), &err);
	api_set(o, "started_at", api_time(daemon_g.started), &err);
	/* Wall clock, as started is: clamp a clock stepped backwards. */
	now = time(NULL);
	api_set(o, "uptime", json_integer(daemon_g.started != 0 &&
	    now > daemon_g.started ? now - daemon_g.started : 0), &err);

	if ((sub = json_object()) != NULL) {
		api_set(sub, "total", json_integer(nchecks), &err);
		for (i = 0; i < STATE_COUNT; i++)
			api_set(sub, state_name(i), json_integer(count[i]),
			    &err);
	}
	api_set(o, "checks", sub, &err);
	api_set(o, "flapping", json_integer(flapping), &err);
	api_set(o, "open_incidents", json_integer(
	    (json_int_t)stats_g.incidents_open), &err);

	if ((sub = json_object()) != NULL) {
		api_set(sub, "p50",
		    api_num(hist_quantile(&stats_g.sched_latency, 0.5)), &err);
		api_set(sub, "p99",
		    api_num(hist_quantile(&stats_g.sched_latency, 0.99)), &err);
		api_set(sub, "count",
		    json_integer((json_int_t)stats_g.sched_latency.count),
		    &err);
	}
	api_set(o, "schedule_latency", sub, &err);

	if ((sub = json_object()) != NULL) {
		api_set(sub, "p99", api_num(hist_quantile(&stats_g.loop_lag,
		    0.99)), &err);
		api_set(sub, "max", api_num(stats_g.loop_lag.max), &err);
		api_set(sub, "count",
		    json_integer((json_int_t)stats_g.loop_lag.count), &err);
	}
	api_set(o, "loop_lag", sub, &err);

	/* the incident log's cost on the loop: commits, and each change */
	if ((sub = json_object()) != NULL) {
		api_set(sub, "commits",
		    json_integer((json_int_t)stats_g.db_commit.count), &err);
		api_set(sub, "commit_p99", api_num(hist_quantile(
		    &stats_g.db_commit, 0.99)), &err);
		api_set(sub, "commit_max", api_num(stats_g.db_commit.max),
		    &err);
		api_set(sub, "changes",
		    json_integer((json_int_t)stats_g.db_write.count), &err);
		api_set(sub, "change_p99", api_num(hist_quantile(
		    &stats_g.db_write, 0.99)), &err);
		api_set(sub, "change_max", api_num(stats_g.db_write.max),
		    &err);
		api_set(sub, "loop_checkpoints", json_integer(
		    (json_int_t)stats_g.db_checkpoints_loop), &err);
	}
	api_set(o, "incident_log", sub, &err);

	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
}

/* GET /api/v1/checks[?state=S[,S…]][&group=G][&type=T[,T…]] */
/*
 * GET /api/v1/checks, streamed (api_stream()): a slice is the next checks
 * that pass the filter, up to API_SLICE bytes.  The position is an index
 * into the config in force: if a reload replaces it meanwhile, the list
 * goes on from the same index in the new one (a reader may then miss or
 * see twice a check near the cut, never read freed memory).  long_output
 * (up to 64 KiB a check) is left out: GET /api/v1/checks/NAME has it.
 */
struct api_list {
	struct evkeyvalq q;		/* the parsed query: f points into it */
	struct api_filter f;
	unsigned i, n;			/* next index; checks sent */
	bool opened;
};

static void
api_list_free(void *arg)
{
	struct api_list *l = arg;

	evhttp_clear_headers(&l->q);
	free(l);
}

static int
api_list_slice(void *arg, struct evbuffer *out)
{
	struct api_list *l = arg;
	const struct config *cf = daemon_g.cf;
	json_t *o;

	if (!l->opened) {
		if (evbuffer_add(out, "{\"checks\":[", 11) == -1)
			return -1;
		l->opened = true;
	}
	for (; cf != NULL && l->i < cf->nchecks &&
	    evbuffer_get_length(out) < API_SLICE; l->i++) {
		if (!api_filter_match(&l->f, cf->checks[l->i]))
			continue;
		if ((o = api_check_json(cf->checks[l->i])) == NULL)
			return -1;
		json_object_del(o, "long_output");
		if ((l->n++ > 0 && evbuffer_add(out, ",", 1) == -1) ||
		    api_add_json(out, o) == -1) {
			json_decref(o);
			return -1;
		}
		json_decref(o);
	}
	if (cf != NULL && l->i < cf->nchecks)
		return 0;
	return evbuffer_add(out, "]}", 2) == -1 ? -1 : 1;
}

static void
api_get_checks(struct evhttp_request *req, const char *rest, void *arg)
{
	struct api_list *l;

	(void)arg;
	(void)rest;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (api_query(req, &l->q) == -1) {
		free(l);
		return;
	}
	if (api_filter_parse(req, &l->q, &l->f) == -1) {
		api_list_free(l);
		return;
	}
	api_stream(req, "application/json", api_list_slice, api_list_free, l);
}

/* GET /api/v1/checks/NAME, NAME percent-encoded in rest. */
static void
api_get_check(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct check *c = NULL;
	char *name;

	(void)arg;
	if ((name = api_path_name(req, rest, "check")) == NULL)
		return;
	if (daemon_g.cf != NULL)
		c = conf_check(daemon_g.cf, name);
	/* GET /api/v1/checks/NAME/push: a heartbeat check's push URL */
	if (c == NULL && daemon_g.cf != NULL && strlen(name) > 5 &&
	    strcmp(name + strlen(name) - 5, "/push") == 0) {
		name[strlen(name) - 5] = '\0';
		if ((c = conf_check(daemon_g.cf, name)) != NULL) {
			api_push_url(req, c);
			free(name);
			return;
		}
		strcat(name, "/push");
	}
	if (c == NULL)
		api_error(req, HTTP_NOTFOUND, "no such check: %s", name);
	else
		api_reply(req, HTTP_OK, api_check_json(c));
	free(name);
}

/* ---- check mutations -------------------------------------------------- */

#define API_METRICS_MAX	256
#define API_NAME_MAX	256		/* a metric's name or unit */

/*
 * A threshold of a passive metric: a number (sent as its shortest text)
 * or a range in Nagios syntax as a string, or null.  RETURN VALUE: 0 and
 * *out set (NULL for null), or -1 with why filled in.
 */
static int
api_result_threshold(json_t *v, char **out, char *why, size_t len)
{
	char buf[64];

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_number(v)) {
		if (!isfinite(json_number_value(v))) {
			snprintf(why, len, "is not a finite number");
			return -1;
		}
		snprintf(buf, sizeof(buf), "%.17g", json_number_value(v));
		*out = strdup(buf);
		return 0;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 64 ||
	    strspn(json_string_value(v), "0123456789.+-eE:~@") !=
	    json_string_length(v)) {
		snprintf(why, len, "must be a number, a range such as "
		    "\"10:20\" or \"@~:5\", or null");
		return -1;
	}
	*out = strdup(json_string_value(v));
	return 0;
}

/* A number field of a passive metric; null or absent → NAN. */
static int
api_result_number(json_t *v, bool required, double *out)
{
	*out = NAN;
	if (v == NULL || json_is_null(v))
		return required ? -1 : 0;
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return -1;
	*out = json_number_value(v);
	return 0;
}

/*
 * Reads metrics[i] of a passive result into m.  RETURN VALUE: 0, or -1
 * after replying 400 naming the field.
 */
static int
api_result_metric(struct evhttp_request *req, json_t *o, unsigned i,
    struct metric *m)
{
	static const char *const known[] = { "name", "value", "unit", "warn",
	    "crit", "min", "max", NULL };
	const char *key, *name;
	char why[128];
	json_t *v;
	unsigned k;

	memset(m, 0, sizeof(*m));
	m->min = m->max = NAN;
	if (!json_is_object(o)) {
		api_error(req, HTTP_BADREQUEST, "metrics[%u]: must be an "
		    "object", i);
		return -1;
	}
	json_object_foreach(o, key, v) {
		for (k = 0; known[k] != NULL; k++)
			if (strcmp(key, known[k]) == 0)
				break;
		if (known[k] == NULL) {
			api_error(req, HTTP_BADREQUEST, "metrics[%u].%s: "
			    "unknown field (known: name, value, unit, warn, "
			    "crit, min, max)", i, key);
			return -1;
		}
	}
	v = json_object_get(o, "name");
	name = json_is_string(v) ? json_string_value(v) : NULL;
	if (name == NULL || name[0] == '\0' ||
	    json_string_length(v) > API_NAME_MAX ||
	    strlen(name) != json_string_length(v) ||
	    strpbrk(name, "=\'\"\n\r\t") != NULL) {
		api_error(req, HTTP_BADREQUEST, "metrics[%u].name: must be a "
		    "non-empty string of at most %d bytes without = quotes or "
		    "control characters", i, API_NAME_MAX);
		return -1;
	}
	if (api_result_number(json_object_get(o, "value"), true,
	    &m->value) == -1) {
		api_error(req, HTTP_BADREQUEST, "metrics[%u].value: must be a "
		    "finite number", i);
		return -1;
	}
	v = json_object_get(o, "unit");
	if (v != NULL && !json_is_null(v) && (!json_is_string(v) ||
	    json_string_length(v) > 16 ||
	    strlen(json_string_value(v)) != json_string_length(v))) {
		api_error(req, HTTP_BADREQUEST, "metrics[%u].unit: must be a "
		    "string of at most 16 bytes, or null", i);
		return -1;
	}
	if (api_result_number(json_object_get(o, "min"), false,
	    &m->min) == -1 ||
	    api_result_number(json_object_get(o, "max"), false,
	    &m->max) == -1) {
		api_error(req, HTTP_BADREQUEST, "metrics[%u].%s: must be a "
		    "finite number or null", i, isnan(m->min) &&
		    json_object_get(o, "min") != NULL &&
		    !json_is_null(json_object_get(o, "min")) ? "min" : "max");
		return -1;
	}
	if ((m->name = strdup(name)) == NULL)
		goto oom;
	if (v != NULL && json_is_string(v) && json_string_length(v) > 0 &&
	    (m->unit = strdup(json_string_value(v))) == NULL)
		goto oom;
	if (api_result_threshold(json_object_get(o, "warn"), &m->warn, why,
	    sizeof(why)) == -1) {
		api_error(req, HTTP_BADREQUEST, "metrics[%u].warn: %s", i, why);
		return -1;
	}
	if (api_result_threshold(json_object_get(o, "crit"), &m->crit, why,
	    sizeof(why)) == -1) {
		api_error(req, HTTP_BADREQUEST, "metrics[%u].crit: %s", i, why);
		return -1;
	}
	return 0;
oom:
	api_reply(req, HTTP_INTERNAL, NULL);
	return -1;
}

/*
 * The body of POST /api/v1/checks/NAME/result, checked strictly: every
 * field has one type, unknown fields are refused (a typo such as "sumary"
 * must not pass silently), and each 400 names the field.
 * RETURN VALUE: 0 and r filled, or -1 after replying.
 */
static int
api_result_parse(struct evhttp_request *req, json_t *body, struct result *r)
{
	static const char *const known[] = { "state", "summary",
	    "long_output", "metrics", NULL };
	const char *key;
	json_t *v, *a;
	size_t i;
	unsigned k;
	int s;

	memset(r, 0, sizeof(*r));
	json_object_foreach(body, key, v) {
		for (k = 0; known[k] != NULL; k++)
			if (strcmp(key, known[k]) == 0)
				break;
		if (known[k] == NULL) {
			api_error(req, HTTP_BADREQUEST, "%s: unknown field "
			    "(known: state, summary, long_output, metrics)",
			    key);
			return -1;
		}
	}
	v = json_object_get(body, "state");
	s = json_is_string(v) ? state_from_name(json_string_value(v)) : -1;
	if (s < 0 || s > STATE_UNKNOWN) {
		api_error(req, HTTP_BADREQUEST, "state: must be one of OK, "
		    "WARNING, CRITICAL, UNKNOWN (UNREACHABLE is worked out by "
		    "tocsind)");
		return -1;
	}
	r->state = (enum check_state)s;
	v = json_object_get(body, "summary");
	if (!json_is_string(v)) {
		api_error(req, HTTP_BADREQUEST, "summary: a string is "
		    "required");
		return -1;
	}
	/* as a plugin's: one line, no control bytes (result_text()) */
	if ((r->summary = result_text(json_string_value(v),
	    RESULT_SUMMARY_MAX, true)) == NULL)
		goto oom;
	v = json_object_get(body, "long_output");
	if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
		api_error(req, HTTP_BADREQUEST, "long_output: must be a string "
		    "or null");
		goto err;
	}
	if (json_is_string(v) && json_string_length(v) > 0 &&
	    (r->long_output = result_text(json_string_value(v),
	    RESULT_LONG_MAX, false)) == NULL)
		goto oom;
	a = json_object_get(body, "metrics");
	if (a != NULL && !json_is_null(a) && !json_is_array(a)) {
		api_error(req, HTTP_BADREQUEST, "metrics: must be an array");
		goto err;
	}
	if (json_array_size(a) > API_METRICS_MAX) {
		api_error(req, HTTP_BADREQUEST, "metrics: at most %d metrics",
		    API_METRICS_MAX);
		goto err;
	}
	if (json_array_size(a) > 0 && (r->metrics = calloc(json_array_size(a),
	    sizeof(*r->metrics))) == NULL)
		goto oom;
	json_array_foreach(a, i, v) {
		if (api_result_metric(req, v, (unsigned)i,
		    &r->metrics[r->nmetrics]) == -1) {
			metric_clear(&r->metrics[r->nmetrics]);
			goto err;
		}
		r->nmetrics++;
		for (k = 0; k + 1 < r->nmetrics; k++)
			if (strcmp(r->metrics[k].name,
			    r->metrics[r->nmetrics - 1].name) == 0) {
				api_error(req, HTTP_BADREQUEST, "metrics[%zu]."
				    "name: \"%s\" is given twice", i,
				    r->metrics[k].name);
				goto err;
			}
	}
	return 0;
oom:
	api_reply(req, HTTP_INTERNAL, NULL);
err:
	result_clear(r);
	return -1;
}

/*
 * POST /api/v1/checks/NAME/run — run the check now (after its current run
 * if one is going): 202 with the check as it is, the result comes later.
 * POST /api/v1/checks/NAME/result — a passive result, applied at once
 * like the end of a run (soft/hard, flapping, incidents): 200 with the
 * check after it.  NAME is percent-encoded and may itself hold an encoded
 * '/', so the action is what follows the last literal '/'.
 */
static void
api_post_check(struct evhttp_request *req, const char *rest, void *arg)
{
	const char *slash = strrchr(rest, '/');
	struct check *c = NULL;
	struct result r;
	char *enc, *name;
	json_t *body;

	(void)arg;
	if (slash == NULL || (strcmp(slash, "/run") != 0 &&
	    strcmp(slash, "/result") != 0)) {
		api_error(req, HTTP_NOTFOUND, "not found: /api/v1/checks/%s "
		    "(POST takes /api/v1/checks/NAME/run or .../result)",
		    rest);
		return;
	}
	if ((enc = strndup(rest, slash - rest)) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	name = api_path_name(req, enc, "check");
	free(enc);
	if (name == NULL)
		return;
	if (daemon_g.cf != NULL)
		c = conf_check(daemon_g.cf, name);
	if (c == NULL) {
		api_error(req, HTTP_NOTFOUND, "no such check: %s", name);
		free(name);
		return;
	}
	free(name);
	if (strcmp(slash, "/run") == 0) {
		log_info("check %s: run requested through the API", c->name);
		sched_run_now(c);
		api_reply(req, HTTP_ACCEPTED, api_check_json(c));
		return;
	}
	if ((body = api_body_json(req)) == NULL)
		return;
	if (api_result_parse(req, body, &r) == -1) {
		json_decref(body);
		return;
	}
	json_decref(body);
	/*
	 * The 200 promises the result is durable (a kill -9 right after
	 * keeps it): the incident log must take writes before the result
	 * is applied, and commits what it caused before the reply.
	 */
	if (api_sync() == -1) {
		result_clear(&r);
		api_error(req, HTTP_SERVUNAVAIL, "the incident log cannot be "
		    "written; the result was not applied");
		return;
	}
	log_debug("check %s: passive result %s through the API", c->name,
	    state_name(r.state));
	sched_result(c, &r);
	if (api_sync() == -1) {
		api_error(req, HTTP_INTERNAL, "the result was applied but the "
		    "incident log could not write it yet; it is kept and "
		    "retried");
		return;
	}
	api_reply(req, HTTP_OK, api_check_json(c));
}

/*
 * POST /api/v1/reload — what SIGHUP does.  The reload itself runs from
 * the signal event, after this reply is queued: reloading here, inside an
 * evhttp callback, could free the very evhttp that calls us (a changed
 * listen address).  So the answer is 202 and the outcome is in the log.
 */
static void
api_post_reload(struct evhttp_request *req, const char *rest, void *arg)
{
	json_t *o;
	int err = 0;

	(void)rest;
	(void)arg;
	if (kill(getpid(), SIGHUP) == -1) {
		api_error(req, HTTP_INTERNAL, "cannot signal a reload: %s",
		    strerror(errno));
		return;
	}
	log_info("api: reload requested");
	if ((o = json_object()) != NULL)
		api_set(o, "reload", json_string("requested"), &err);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_ACCEPTED, o);
}

