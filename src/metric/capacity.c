/*
 * capacity.c — what runs out first, and when: one report over every
 * stored metric that has a limit, ranked by the time until its trend
 * reaches that limit.
 *
 * A metric's limit: metrics { capacity_limit } if it names the metric;
 * else from its check's last result (in this order): the
 * critical threshold, else the warning threshold (a range's upper end
 * going up; "10:" — alert below 10 — is a limit going down); else the
 * perfdata maximum (a disk's size, an interface's speed); else 100 for a
 * metric in %.  Counters (stored as rates) and the forecast checks' own
 * metrics are left out.  The trend is forecast_trend() over
 * metrics.capacity_window: the daily maxima (minima going down) and the
 * R² rule of the forecast check.
 *
 * Never on the loop: a timer (metrics.capacity_refresh) takes a snapshot
 * of the names and limits (strings copied, cheap), and one worker of
 * pool.h reads every file; the finished report replaces the cached one on
 * the loop, and GET /api/v1/capacity serves the cache.  Files are read
 * without a flush first: a day's maximum over weeks does not need the
 * last minute (with rrdcached, what it still holds is left out — up to
 * its -w delay).  Cost: one worker is busy for the whole run (bench/
 * capacity in the note measures it); graphs use the others.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <tocsin/plugin.h>

#include "api/api.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/util.h"
#include "metric/capacity.h"
#include "metric/forecast.h"
#include "metric/metric.h"
#include "metric/pool.h"

/* ---- metrics { } ----------------------------------------------------- */

/* capacity_limit = { "CHECK:METRIC VALUE [up|down]", … } */
struct caplimit {
	char *check, *metric;		/* owned */
	double value;
	bool falling;
};

struct capconf {
	int64_t refresh_ms;
	int64_t window_ms;
	struct caplimit *limits;	/* owned */
	unsigned nlimits;
	char **hw_types;		/* owned: aberration_types */
	unsigned nhw_types;
};

static const struct tocsin_option cap_options[] = {
	{ "capacity_refresh", TOCSIN_OPT_DURATION, "10m", 0,
	    "how often the capacity report is computed again" },
	{ "capacity_window", TOCSIN_OPT_DURATION, "30d", 0,
	    "history each trend of the capacity report is fitted to" },
	{ "aberration_types", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "check types whose checks get aberration = yes unless they say "
	    "otherwise" },
	{ "capacity_limit", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "\"CHECK:METRIC VALUE [up|down]\": a metric's limit, over what "
	    "its results say" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static void
cap_conf_free(void *p)
{
	struct capconf *cc = p;

	if (cc == NULL)
		return;
	while (cc->nlimits > 0) {
		cc->nlimits--;
		free(cc->limits[cc->nlimits].check);
		free(cc->limits[cc->nlimits].metric);
	}
	free(cc->limits);
	while (cc->nhw_types > 0)
		free(cc->hw_types[--cc->nhw_types]);
	free(cc->hw_types);
	free(cc);
}

/* One capacity_limit entry into l.  RETURN VALUE: 0, or -1 if malformed. */
static int
cap_limit_parse(const char *text, struct caplimit *l)
{
	char *s, *name, *val, *dir, *colon, *end, *save = NULL;
	int rc = -1;

	memset(l, 0, sizeof(*l));
	if ((s = strdup(text)) == NULL)
		return -1;
	name = strtok_r(s, " \t", &save);
	val = strtok_r(NULL, " \t", &save);
	dir = strtok_r(NULL, " \t", &save);
	if (name == NULL || val == NULL || strtok_r(NULL, " \t", &save) !=
	    NULL || (colon = strrchr(name, ':')) == NULL || colon == name ||
	    colon[1] == '\0')
		goto out;
	l->value = strtod(val, &end);
	if (*end != '\0' || end == val || !isfinite(l->value))
		goto out;
	if (dir != NULL && strcmp(dir, "down") != 0 && strcmp(dir, "up") != 0)
		goto out;
	l->falling = dir != NULL && strcmp(dir, "down") == 0;
	if ((l->check = strndup(name, (size_t)(colon - name))) == NULL ||
	    (l->metric = strdup(colon + 1)) == NULL) {
		free(l->check);
		l->check = NULL;
		goto out;
	}
	rc = 0;
out:
	free(s);
	return rc;
}

static int
cap_conf_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct capconf *cc;
	unsigned i, n;
	int rc = 0;

	(void)cf;
	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		return -1;
	*state = cc;
	cc->refresh_ms = tocsin_conf_duration_ms(sec, "capacity_refresh");
	cc->window_ms = tocsin_conf_duration_ms(sec, "capacity_window");
	if (cc->refresh_ms < 1000 || cc->refresh_ms > 86400000) {
		tocsin_conf_error(sec, "capacity_refresh", "not in 1s..1d");
		rc = -1;
	}
	if (cc->window_ms < 3600000 || cc->window_ms > 395LL * 86400000) {
		tocsin_conf_error(sec, "capacity_window", "not in 1h..395d");
		rc = -1;
	}
	n = tocsin_conf_list_size(sec, "capacity_limit");
	if (n > 0 && (cc->limits = calloc(n, sizeof(*cc->limits))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const char *t = tocsin_conf_list_str(sec, "capacity_limit", i);

		if (cap_limit_parse(t, &cc->limits[cc->nlimits]) != 0) {
			tocsin_conf_error(sec, "capacity_limit", "\"%.100s\" is "
			    "not \"CHECK:METRIC VALUE [up|down]\"", t);
			rc = -1;
			continue;
		}
		cc->nlimits++;
	}
	n = tocsin_conf_list_size(sec, "aberration_types");
	if (n > 0 && (cc->hw_types = calloc(n, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if ((cc->hw_types[cc->nhw_types] = strdup(tocsin_conf_list_str(
		    sec, "aberration_types", i))) != NULL)
			cc->nhw_types++;
	return rc;
}

/*
 * After every check is built: aberration_types gives its checks
 * aberration = yes, unless a check (or its template) sets the key.  An
 * unknown type is not an error (its plugin may not be installed), but
 * nothing matches it.
 */
static void
cap_conf_finish(struct config *cf, void **state, struct conf_errors *errs)
{
	struct capconf *cc = *state;
	unsigned i, k;

	(void)errs;
	if (cc == NULL)
		return;
	for (i = 0; i < cf->nchecks; i++) {
		struct check *c = cf->checks[i];

		if (c->aberration_set || c->type == NULL ||
		    c->type->def == NULL)
			continue;
		for (k = 0; k < cc->nhw_types; k++)
			if (strcmp(cc->hw_types[k], c->type->def->name) == 0)
				c->aberration = true;
	}
}

static const struct conf_section cap_section = {
	"metrics", false, cap_options, NULL, cap_conf_load, cap_conf_finish,
	cap_conf_free,
};

int
capacity_register_config(void)
{
	return conf_section_register(&cap_section);
}

static struct capconf *
capconf(void)
{
	static struct capconf dflt = { 600000, 30LL * 86400000, NULL, 0, NULL,
	    0 };
	struct capconf *cc = daemon_g.cf != NULL ?
	    conf_section_state(daemon_g.cf, "metrics") : NULL;

	return cc != NULL ? cc : &dflt;
}

/* ---- the report ------------------------------------------------------ */

enum capclass { CAP_CROSSES, CAP_NEVER, CAP_NO_TREND };

struct caprow {
	char *check, *host, *group, *metric, *unit;	/* owned */
	char *path;			/* owned; made on the worker */
	char ds[METRIC_DS_MAX + 1];
	double limit;
	const char *source;		/* "crit", "warn", "max", "percent" */
	bool falling;
	/* the worker's answer */
	enum capclass cls;
	struct forecast fc;
	double tt;			/* seconds to the limit, -1 never */
	char reason[300];
};

struct report {
	struct caprow *rows;
	unsigned n, cap;
	time_t at;			/* when computed (the trends' end) */
	double seconds, cpu_seconds;	/* how long it took */
	int64_t window_ms;
	double loop_seconds;		/* the snapshot's time on the loop */
	unsigned refs;			/* the cache's, and each stream's */
	char *state_dir;		/* owned: where the files are */
	struct report *old;		/* owned: freed by the worker */
	bool stale;			/* shut down meanwhile: drop it */
};

static void report_free(struct report *r);
static void report_release(struct report *r);

static struct {
	struct event_base *base;
	struct event *timer;
	struct report *cache;		/* owned; NULL before the first */
	struct report *running;		/* borrowed by the worker */
	struct report *garbage;		/* owned: for the next worker to free */
	struct report *building;	/* owned: the snapshot being taken */
	const struct config *build_cf;	/* the config it is taken of */
	unsigned build_i;		/* the next check of it */
	struct event *step;
	int64_t period_ms;
} cap;

static void
report_free(struct report *r)
{
	unsigned i;

	if (r == NULL)
		return;
	report_free(r->old);
	free(r->state_dir);
	for (i = 0; i < r->n; i++) {
		free(r->rows[i].check);
		free(r->rows[i].host);
		free(r->rows[i].group);
		free(r->rows[i].metric);
		free(r->rows[i].unit);
		free(r->rows[i].path);
	}
	free(r->rows);
	free(r);
}

/*
 * The limit of m and which way it is approached.  RETURN VALUE: true
 * when it has one.
 */
static bool
limit_of(const struct metric *m, double *limit, const char **src,
    bool *falling)
{
	const char *const texts[2] = { m->crit, m->warn };
	static const char *const names[2] = { "crit", "warn" };
	struct tocsin_range r;
	int i;

	for (i = 0; i < 2; i++) {
		if (texts[i] == NULL || tocsin_range_parse(texts[i], &r) != 0 ||
		    r.inside)
			continue;
		if (isfinite(r.end)) {
			*limit = r.end;
			*falling = false;
		} else if (isfinite(r.start)) {
			*limit = r.start;
			*falling = true;
		} else
			continue;
		*src = names[i];
		return true;
	}
	if (isfinite(m->max) && m->max > 0) {
		*limit = m->max;
		*src = "max";
		*falling = false;
		return true;
	}
	if (m->unit != NULL && strcmp(m->unit, "%") == 0) {
		*limit = 100;
		*src = "percent";
		*falling = false;
		return true;
	}
	return false;
}

/*
 * A limit from metrics { capacity_limit }.  A linear scan: a handful of
 * entries is the expected use (cost: entries x metrics per snapshot).
 */
static bool
config_limit(const char *check, const char *metric, double *limit,
    const char **src, bool *falling)
{
	const struct capconf *cc = capconf();
	unsigned i;

	for (i = 0; i < cc->nlimits; i++)
		if (strcmp(cc->limits[i].check, check) == 0 &&
		    strcmp(cc->limits[i].metric, metric) == 0) {
			*limit = cc->limits[i].value;
			*falling = cc->limits[i].falling;
			*src = "config";
			return true;
		}
	return false;
}

/* c's metrics that have a limit, added to r.  RETURN VALUE: 0 or -1. */
static int
snapshot_check(struct report *r, const struct check *c)
{
	unsigned k;

	if (c->type != NULL && c->type->def != NULL &&
	    strcmp(c->type->def->name, "forecast") == 0)
		return 0;
	for (k = 0; k < c->last.nmetrics; k++) {
		const struct metric *m = &c->last.metrics[k];
		struct caprow *row, *nr;
		double limit;
		const char *src;
		bool falling;

		if ((m->flags & TOCSIN_METRIC_COUNTER) != 0)
			continue;
		if (!config_limit(c->name, m->name, &limit, &src, &falling) &&
		    !limit_of(m, &limit, &src, &falling))
			continue;
		if (r->n == r->cap) {
			unsigned ncap = r->cap < 64 ? 64 : r->cap * 2;

			if ((nr = reallocarray(r->rows, ncap,
			    sizeof(*nr))) == NULL)
				return -1;
			r->rows = nr;
			r->cap = ncap;
		}
		row = &r->rows[r->n];
		memset(row, 0, sizeof(*row));
		r->n++;
		row->check = strdup(c->name);
		row->host = xstrdup(c->host_name);
		row->group = xstrdup(c->group);
		row->metric = strdup(m->name);
		row->unit = xstrdup(m->unit);
		if (row->check == NULL || row->metric == NULL)
			return -1;
		metric_ds_name(m->name, row->ds);
		row->limit = limit;
		row->source = src;
		row->falling = falling;
	}
	return 0;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct caprow *x = a, *y = b;
	int c;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->cls == CAP_CROSSES && x->tt != y->tt)
		return x->tt < y->tt ? -1 : 1;
	if ((c = strcmp(x->check, y->check)) != 0)
		return c;
	return strcmp(x->metric, y->metric);
}

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* On a worker: every file read, every trend fitted, the rows ranked. */
static void
cap_work(void *arg)
{
	struct report *r = arg;
	double t0 = clock_s(CLOCK_MONOTONIC), c0 =
	    clock_s(CLOCK_THREAD_CPUTIME_ID);
	unsigned i;

	/* the last report's thousands of frees: here, not on the loop */
	report_free(r->old);
	r->old = NULL;
	for (i = 0; i < r->n; i++) {
		struct caprow *row = &r->rows[i];
		char err[200];

		row->tt = -1;
		row->cls = CAP_NO_TREND;
		if ((row->path = metric_rrd_path(r->state_dir, row->check)) ==
		    NULL) {
			snprintf(row->reason, sizeof(row->reason), "out of "
			    "memory");
			continue;
		}
		if (forecast_trend(row->path, row->ds, r->at -
		    (time_t)(r->window_ms / 1000), r->at, row->falling,
		    &row->fc, err, sizeof(err)) != 0) {
			snprintf(row->reason, sizeof(row->reason), "%s%s",
			    row->fc.step != 0 ? "no trend yet: " : "", err);
			continue;
		}
		if (!forecast_has_trend(&row->fc, row->reason,
		    sizeof(row->reason)))
			continue;
		row->tt = forecast_time_to(&row->fc, row->limit,
		    row->falling);
		row->cls = row->tt >= 0 ? CAP_CROSSES : CAP_NEVER;
	}
	if (r->n > 1)		/* rows may be NULL when there are none */
		qsort(r->rows, r->n, sizeof(*r->rows), row_cmp);
	r->seconds = clock_s(CLOCK_MONOTONIC) - t0;
	r->cpu_seconds = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
}

static void
cap_done(void *arg)
{
	struct report *r = arg;

	if (r != cap.running || r->stale) {
		report_free(r);
		return;
	}
	cap.running = NULL;
	report_release(cap.cache);
	r->refs = 1;
	cap.cache = r;
	log_debug("capacity: %u metrics with a limit read in %.3f s "
	    "(%.3f s CPU)", r->n, r->seconds, r->cpu_seconds);
}

static void
cap_arm(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 *
	    1000) };

	if (cap.timer != NULL)
		evtimer_add(cap.timer, &tv);
}

/*
 * The snapshot is taken SNAP_CHUNK checks per loop turn: 10 000 checks
 * in one go held the loop 8.5 ms (median; 39 ms at worst on a loaded
 * machine, bench/capacity).  A reload in between starts it again on the
 * new config (the old one is freed).
 */
#define SNAP_CHUNK	500

static void
on_snap_step(evutil_socket_t fd, short what, void *arg)
{
	struct report *r = cap.building;
	const struct config *cf = daemon_g.cf;
	double t0 = clock_s(CLOCK_MONOTONIC);
	struct timeval zero = { 0, 0 };
	unsigned end, i;

	(void)fd;
	(void)what;
	(void)arg;
	if (r == NULL)
		return;
	if (cf != cap.build_cf) {	/* reloaded: from the start */
		report_free(r);
		cap.building = NULL;
		cap_arm(0);
		return;
	}
	end = cap.build_i + SNAP_CHUNK;
	for (i = cap.build_i; cf != NULL && i < cf->nchecks && i < end; i++)
		if (snapshot_check(r, cf->checks[i]) != 0) {
			log_warnx("capacity: out of memory taking the snapshot");
			report_free(r);
			cap.building = NULL;
			return;
		}
	cap.build_i = i;
	r->loop_seconds += clock_s(CLOCK_MONOTONIC) - t0;
	if (cf != NULL && i < cf->nchecks) {
		evtimer_add(cap.step, &zero);
		return;
	}
	cap.building = NULL;
	r->old = cap.garbage;
	cap.garbage = NULL;
	r->at = time(NULL);
	r->window_ms = capconf()->window_ms;
	cap.running = r;
	if (pool_submit(cap_work, cap_done, r) != 0) {
		cap.running = NULL;
		report_free(r);
		log_warnx("capacity: no worker to compute the report");
	}
}

static void
on_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct report *r;
	const char *dir;

	(void)fd;
	(void)what;
	(void)arg;
	cap.period_ms = capconf()->refresh_ms;
	cap_arm(cap.period_ms);
	if (cap.running != NULL || cap.building != NULL ||
	    (dir = metric_dir()) == NULL)
		return;			/* the last one is still going */
	/* metric_dir() is state_dir + "/rrd"; the worker makes the paths */
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->state_dir = strndup(dir, strlen(dir) - 4)) == NULL) {
		report_free(r);
		log_warnx("capacity: out of memory taking the snapshot");
		return;
	}
	cap.building = r;
	cap.build_cf = daemon_g.cf;
	cap.build_i = 0;
	on_snap_step(-1, 0, NULL);
}

void
capacity_reconfigure(void)
{
	int64_t ms = capconf()->refresh_ms;

	/* a shorter period takes effect now, not after the old one */
	if (ms != cap.period_ms && cap.timer != NULL) {
		cap.period_ms = ms;
		cap_arm(ms < 30000 ? ms : 30000);
	}
}

void
capacity_shutdown(void)
{
	if (cap.running != NULL)
		cap.running->stale = true;	/* cap_done frees it */
	cap.running = NULL;
	if (cap.timer != NULL)
		event_free(cap.timer);
	cap.timer = NULL;
	if (cap.step != NULL)
		event_free(cap.step);
	cap.step = NULL;
	report_free(cap.building);
	cap.building = NULL;
	report_release(cap.cache);	/* a stream may hold it still */
	cap.cache = NULL;
	report_free(cap.garbage);
	cap.garbage = NULL;
}

/* ---- GET /api/v1/capacity -------------------------------------------- */

static const char *const cls_names[] = { "crosses", "never", "no_trend" };

static json_t *
row_json(const struct report *r, const struct caprow *row, unsigned rank)
{
	const struct forecast *fc = &row->fc;
	bool t = row->cls != CAP_NO_TREND;
	json_t *o = json_object();
	int e = 0;

	api_set(o, "rank", json_integer(rank), &e);
	api_set(o, "check", api_str(row->check), &e);
	api_set(o, "host", api_str(row->host), &e);
	api_set(o, "group", api_str(row->group), &e);
	api_set(o, "metric", api_str(row->metric), &e);
	api_set(o, "unit", api_str(row->unit), &e);
	api_set(o, "limit", api_num(row->limit), &e);
	api_set(o, "limit_source", api_str(row->source), &e);
	api_set(o, "direction", api_str(row->falling ? "down" : "up"), &e);
	api_set(o, "trend", api_str(cls_names[row->cls]), &e);
	api_set(o, "last", api_num(fc->last), &e);
	api_set(o, "value_now", t ? api_num(fc->value_now) : json_null(), &e);
	api_set(o, "growth_per_week", t ? api_num(fc->slope * 7 * 86400) :
	    json_null(), &e);
	api_set(o, "r2", api_num(fc->r2), &e);
	api_set(o, "fit", api_str(fc->days > 0 ? (fc->falling ?
	    "daily minima" : "daily maxima") : "samples"), &e);
	api_set(o, "days", json_integer(fc->days), &e);
	api_set(o, "days_left", row->tt >= 0 ? api_num(row->tt / 86400) :
	    json_null(), &e);
	api_set(o, "crosses_at", row->tt >= 0 ? api_time(r->at +
	    (time_t)row->tt) : json_null(), &e);
	if (row->cls == CAP_NO_TREND)
		api_set(o, "reason", api_str(row->reason), &e);
	if (e) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void
csv_field(struct evbuffer *b, const char *s, bool last)
{
	const char *p;

	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n") == NULL)
		evbuffer_add(b, s, strlen(s));
	else {
		evbuffer_add(b, "\"", 1);
		for (p = s; *p != '\0'; p++) {
			if (*p == '"')
				evbuffer_add(b, "\"", 1);
			evbuffer_add(b, p, 1);
		}
		evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void
csv_num(struct evbuffer *b, double v, bool last)
{
	char s[64] = "";

	if (isfinite(v))
		snprintf(s, sizeof(s), "%.6g", v);
	csv_field(b, s, last);
}

static void
csv_row(struct evbuffer *b, const struct report *r,
    const struct caprow *row, unsigned rank)
{
	const struct forecast *fc = &row->fc;
	bool t = row->cls != CAP_NO_TREND;
	char at[32] = "";

	csv_num(b, rank, false);
	csv_field(b, row->check, false);
	csv_field(b, row->host, false);
	csv_field(b, row->group, false);
	csv_field(b, row->metric, false);
	csv_field(b, row->unit, false);
	csv_num(b, row->limit, false);
	csv_field(b, row->source, false);
	csv_field(b, row->falling ? "down" : "up", false);
	csv_field(b, cls_names[row->cls], false);
	csv_num(b, fc->last, false);
	csv_num(b, t ? fc->value_now : NAN, false);
	csv_num(b, t ? fc->slope * 7 * 86400 : NAN, false);
	csv_num(b, fc->r2, false);
	csv_num(b, row->tt >= 0 ? row->tt / 86400 : NAN, false);
	if (row->tt >= 0)
		rfc3339(r->at + (time_t)row->tt, at, sizeof(at));
	csv_field(b, at, true);
}

/*
 * A reply is streamed (api_stream) in slices of rows, so that 10 000 rows
 * (200 ms of JSON made at once, measured) never hold the loop.  The
 * stream holds a reference to the report it started with: a new report
 * meanwhile does not change or free it.
 */
struct capstream {
	struct report *r;		/* a reference */
	unsigned i;			/* next row */
	unsigned rank;
	int64_t horizon_ms;
	bool csv, all, head_done;
	unsigned beyond, never, notrend;
};

static bool
row_in(const struct caprow *row, int64_t horizon_ms)
{
	return row->cls == CAP_CROSSES && row->tt * 1000 <= (double)horizon_ms;
}

static int
cap_slice(void *state, struct evbuffer *out)
{
	struct capstream *st = state;
	const struct report *r = st->r;
	size_t start = evbuffer_get_length(out);
	json_t *o;
	char *text;
	int e = 0;

	if (!st->head_done) {
		st->head_done = true;
		if (st->csv) {
			evbuffer_add_printf(out, "rank,check,host,group,metric,"
			    "unit,limit,limit_source,direction,trend,last,"
			    "value_now,growth_per_week,r2,days_left,"
			    "crosses_at\r\n");
		} else {
			/* the counts first, then "rows": [ … ] */
			size_t n;

			o = json_object();
			api_set(o, "computed_at", api_time(r->at), &e);
			api_set(o, "compute_seconds", api_num(r->seconds), &e);
			api_set(o, "compute_cpu_seconds",
			    api_num(r->cpu_seconds), &e);
			api_set(o, "snapshot_seconds", api_num(r->loop_seconds),
			    &e);
			api_set(o, "refresh_s", json_integer(capconf()->
			    refresh_ms / 1000), &e);
			api_set(o, "window_s", json_integer(r->window_ms /
			    1000), &e);
			api_set(o, "horizon_s", json_integer(st->horizon_ms /
			    1000), &e);
			api_set(o, "metrics", json_integer(r->n), &e);
			api_set(o, "beyond_horizon", json_integer(st->beyond),
			    &e);
			api_set(o, "never", json_integer(st->never), &e);
			api_set(o, "no_trend", json_integer(st->notrend), &e);
			text = e ? NULL : json_dumps(o, JSON_COMPACT);
			json_decref(o);
			if (text == NULL || (n = strlen(text)) < 2)
				return -1;
			text[n - 1] = '\0';	/* the closing brace */
			evbuffer_add_printf(out, "%s,\"rows\":[", text);
			free(text);
		}
	}
	for (; st->i < r->n && evbuffer_get_length(out) - start < API_SLICE;
	    st->i++) {
		const struct caprow *row = &r->rows[st->i];

		if (!st->all && !row_in(row, st->horizon_ms))
			continue;
		st->rank++;
		if (st->csv) {
			csv_row(out, r, row, st->rank);
			continue;
		}
		if ((o = row_json(r, row, st->rank)) == NULL ||
		    (text = json_dumps(o, JSON_COMPACT)) == NULL) {
			json_decref(o);
			return -1;
		}
		json_decref(o);
		evbuffer_add_printf(out, "%s%s", st->rank > 1 ? "," : "",
		    text);
		free(text);
	}
	if (st->i < r->n)
		return 0;
	if (!st->csv)
		evbuffer_add(out, "]}", 2);
	return 1;
}

static void
report_release(struct report *r)
{
	if (r == NULL || --r->refs > 0)
		return;
	/* the next worker frees it; a second one waiting: here, rarely */
	if (cap.garbage == NULL && cap.timer != NULL)
		cap.garbage = r;
	else
		report_free(r);
}

static void
cap_stream_free(void *state)
{
	struct capstream *st = state;

	report_release(st->r);
	free(st);
}

static void
get_capacity(struct evhttp_request *req, const char *rest, void *arg)
{
	struct report *r = cap.cache;
	struct capstream *st = NULL;
	struct evkeyvalq kv;
	const char *v;
	int64_t horizon_ms = 90LL * 86400000;
	bool csv = false, all = false;
	unsigned i;

	(void)rest;
	(void)arg;
	TAILQ_INIT(&kv);
	if (api_query(req, &kv) == -1)
		return;
	if ((v = evhttp_find_header(&kv, "horizon")) != NULL &&
	    (conf_parse_duration(v, &horizon_ms) != 0 || horizon_ms < 0)) {
		api_error(req, HTTP_BADREQUEST, "horizon: \"%s\" is not a "
		    "duration", v);
		goto out;
	}
	if ((v = evhttp_find_header(&kv, "format")) != NULL) {
		if (strcmp(v, "csv") != 0 && strcmp(v, "json") != 0) {
			api_error(req, HTTP_BADREQUEST, "format: \"%s\" is not "
			    "json or csv", v);
			goto out;
		}
		csv = strcmp(v, "csv") == 0;
	}
	if ((v = evhttp_find_header(&kv, "all")) != NULL) {
		if (strcmp(v, "1") != 0 && strcmp(v, "0") != 0) {
			api_error(req, HTTP_BADREQUEST, "all: \"%s\" is not 0 "
			    "or 1", v);
			goto out;
		}
		all = strcmp(v, "1") == 0;
	}
	if (r == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "5");
		api_error(req, HTTP_SERVUNAVAIL, "the first capacity report "
		    "is being computed; retry later");
		goto out;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	st->r = r;
	r->refs++;
	st->horizon_ms = horizon_ms;
	st->csv = csv;
	st->all = all;
	/* the counts: one pass, no allocation */
	for (i = 0; i < r->n; i++) {
		const struct caprow *row = &r->rows[i];

		if (row_in(row, horizon_ms))
			continue;
		if (row->cls == CAP_CROSSES)
			st->beyond++;
		else if (row->cls == CAP_NEVER)
			st->never++;
		else
			st->notrend++;
	}
	api_stream(req, csv ? "text/csv; charset=utf-8" : "application/json",
	    cap_slice, cap_stream_free, st);
out:
	evhttp_clear_headers(&kv);
}

int
capacity_init(struct event_base *base)
{
	int64_t first;

	memset(&cap, 0, sizeof(cap));
	cap.base = base;
	if ((cap.timer = evtimer_new(base, on_refresh, NULL)) == NULL ||
	    (cap.step = evtimer_new(base, on_snap_step, NULL)) == NULL)
		return -1;
	/* once the checks have run (their limits come from results) */
	cap.period_ms = capconf()->refresh_ms;
	first = cap.period_ms < 30000 ? cap.period_ms : 30000;
	cap_arm(first);
	return api_route_add(EVHTTP_REQ_GET, "/api/v1/capacity", 0,
	    get_capacity, NULL);
}
