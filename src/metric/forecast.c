/*
 * forecast.c — capacity forecasts from the metric store's RRD files.
 *
 * A least-squares line through one data source over a window — through
 * each day's maximum (minimum) when the window holds days, so a daily
 * cycle does not bend it; through the AVERAGE samples otherwise — its
 * quality (R²), and when that line reaches a threshold.  Used by the built-in
 * `forecast` check type (a normal check: its result goes through the state
 * machine and becomes an incident like any other, and its days_until
 * metric is stored like any other) and by GET /api/v1/forecast/CHECK/METRIC.
 *
 * Reading is a synchronous rrd_fetch_r of one window (a few thousand rows
 * at most: librrd picks the archive whose resolution fits the window),
 * after the file is flushed so nothing queued is missed; both run on a
 * worker of pool.h, never on the loop (the API's requests are refused
 * with 503 when api.graph_queue requests wait already).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <rrd.h>
#include <tocsin/plugin.h>

#include "api/api.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "metric/forecast.h"
#include "core/log.h"
#include "metric/metric.h"
#include "metric/pool.h"
#include "metric/rrdio.h"
#include "core/util.h"

/* Least squares through n points: slope, intercept at x = 0, and R². */
struct ols {
	double n, sx, sy, sxx, sxy, syy;
};

static void
ols_add(struct ols *o, double x, double y)
{
	o->n++;
	o->sx += x;
	o->sy += y;
	o->sxx += x * x;
	o->sxy += x * y;
	o->syy += y * y;
}

/* RETURN VALUE: 0, or -1 under 2 points or all at one x. */
static int
ols_fit(const struct ols *o, double *slope, double *at0, double *r2)
{
	double den = o->n * o->sxx - o->sx * o->sx;
	double sst = o->n * o->syy - o->sy * o->sy;
	double num;

	if (o->n < 2 || den <= 0)
		return -1;
	num = o->n * o->sxy - o->sx * o->sy;
	*slope = num / den;
	*at0 = (o->sy - *slope * o->sx) / o->n;
	/* every y alike: the flat line fits exactly */
	if (sst <= 1e-12 * (o->syy > 1 ? o->syy : 1) * o->n)
		*r2 = 1;
	else if (o->n < 3)
		*r2 = NAN;
	else			/* rounding can take it past 1 */
		*r2 = fmin(1, num * num / (den * sst));
	return 0;
}

/* The sum of squared residuals of ys[a..b) about the line or the mean. */
static double
sse_line(const double *xs, const double *ys, unsigned a, unsigned b)
{
	struct ols o = { 0, 0, 0, 0, 0, 0 };
	double slope, at0, r2, e = 0, d;
	unsigned i;

	for (i = a; i < b; i++)
		ols_add(&o, xs[i], ys[i]);
	if (ols_fit(&o, &slope, &at0, &r2) != 0)
		return 0;
	for (i = a; i < b; i++) {
		d = ys[i] - (at0 + slope * xs[i]);
		e += d * d;
	}
	return e;
}

static double
sse_mean(const double *ys, unsigned a, unsigned b)
{
	double m = 0, e = 0;
	unsigned i;

	for (i = a; i < b; i++)
		m += ys[i];
	m /= (double)(b - a);
	for (i = a; i < b; i++)
		e += (ys[i] - m) * (ys[i] - m);
	return e;
}

/*
 * One window of ds from one archive.  *names, *data: librrd's, freed by
 * fetch_free.  RETURN VALUE: the column of ds, or -1 with err set.
 */
static long
fetch(const char *path, const char *cf, const char *ds, time_t *start,
    time_t *end, unsigned long *step, unsigned long *nds, char ***names,
    rrd_value_t **data, char *err, size_t errlen)
{
	unsigned long col;

	*step = 1;
	*nds = 0;
	*names = NULL;
	*data = NULL;
	rrd_clear_error();
	if (rrdio_fetch(path, cf, start, end, step, nds, names, data) != 0) {
		snprintf(err, errlen, "%s", rrd_get_error());
		*step = 0;
		return -1;
	}
	for (col = 0; col < *nds; col++)
		if (strcmp((*names)[col], ds) == 0)
			return (long)col;
	snprintf(err, errlen, "no data source %s in %s", ds, path);
	*step = 0;
	return -1;
}

static void
fetch_free(unsigned long nds, char **names, rrd_value_t *data)
{
	unsigned long k;

	for (k = 0; k < nds; k++)
		free(names[k]);
	free(names);
	free(data);
}

int
forecast_fit(const char *path, const char *ds, time_t start, time_t end,
    struct forecast *f, char *err, size_t errlen)
{
	unsigned long step, nds, rows, r;
	char **names;
	rrd_value_t *data;
	struct ols o = { 0, 0, 0, 0, 0, 0 };
	double x, y, xfirst = 0, xlast = 0, r2;
	long col;
	int rc = -1;

	memset(f, 0, sizeof(*f));
	f->last = NAN;
	f->r2 = NAN;
	f->cf = "AVERAGE";
	col = fetch(path, "AVERAGE", ds, &start, &end, &step, &nds, &names,
	    &data, err, errlen);
	f->start = start;
	f->end = end;
	f->step = step;
	if (col < 0)
		goto out;
	rows = step > 0 ? (unsigned long)(end - start) / step : 0;
	/* row r holds the average of (start + r*step, start + (r+1)*step] */
	for (r = 0; r < rows; r++) {
		y = data[r * nds + (unsigned long)col];
		if (isnan(y))
			continue;
		/* x: seconds before end, of the middle of the row */
		x = (double)(start - end) + ((double)r + 0.5) * (double)step;
		if (o.n == 0)
			xfirst = x;
		xlast = x;
		ols_add(&o, x, y);
		f->last = y;
	}
	f->points = (unsigned)o.n;
	f->span = xlast - xfirst;
	if (ols_fit(&o, &f->slope, &f->value_now, &r2) != 0) {
		f->young = o.n < 2;
		snprintf(err, errlen, "%u known value%s of %s in the window: "
		    "not enough for a trend", f->points, f->points == 1 ? "" :
		    "s", ds);
		goto out;
	}
	f->r2 = r2;
	rc = 0;
out:
	fetch_free(nds, names, data);
	return rc;
}

/*
 * Daily extremes.  Days are counted back from end (day 0 is the last 24
 * hours, so the newest day is whole); a day counts when at least 3/4 of
 * its rows have a value (a half-empty first day would have a lower
 * maximum only for want of data and steepen the line).  Each day's point
 * is its extreme row, at that row's time: for a daily cycle the peaks lie
 * on the line the cycle rides, shifted by the cycle's amplitude, which is
 * what reaches a limit first.
 *
 * A level shift (a disk that took a big file at once, a link that was
 * upgraded): when two flat levels split at some day explain the days
 * better than any line (less than half the line's squared error), the
 * line is fitted to the days after the split only; fewer than
 * FORECAST_DAYS_MIN of them is "no trend" until there are.  Cost: a
 * step is only recognised with at least 2 days on each side.
 */
int
forecast_trend(const char *path, const char *ds, time_t start, time_t end,
    bool falling, struct forecast *f, char *err, size_t errlen)
{
	unsigned long step, nds, rows, r, per_day;
	char **names;
	rrd_value_t *data;
	const char *cf = falling ? "MIN" : "MAX";
	struct ols o = { 0, 0, 0, 0, 0, 0 };
	double *bx = NULL, *by = NULL, *xs = NULL, *ys = NULL, y, x, r2;
	double xfirst = 0;
	unsigned *bn = NULL, nb, b, n = 0, i, first = 0;
	time_t s0 = start, e0 = end;
	long col;
	int rc = -1;

	if (end - start < FORECAST_DAYS_MIN * 86400) {
		rc = forecast_fit(path, ds, start, end, f, err, errlen);
		f->falling = falling;
		return rc;
	}
	col = fetch(path, cf, ds, &start, &end, &step, &nds, &names, &data,
	    err, errlen);
	if (col < 0) {
		/* a file made elsewhere, with AVERAGE archives only */
		if (nds == 0) {
			start = s0;
			end = e0;
			cf = "AVERAGE";
			col = fetch(path, cf, ds, &start, &end, &step, &nds,
			    &names, &data, err, errlen);
		}
		if (col < 0) {
			memset(f, 0, sizeof(*f));
			f->last = f->r2 = NAN;
			fetch_free(nds, names, data);
			return -1;
		}
	}
	memset(f, 0, sizeof(*f));
	f->last = NAN;
	f->r2 = NAN;
	f->cf = cf;
	f->falling = falling;
	f->start = start;
	f->end = end;
	f->step = step;
	rows = step > 0 ? (unsigned long)(end - start) / step : 0;
	per_day = step > 0 && step < 86400 ? 86400 / step : 1;
	nb = (unsigned)((end - start + 86399) / 86400);
	if ((bx = calloc(nb + 1, sizeof(*bx))) == NULL ||
	    (by = calloc(nb + 1, sizeof(*by))) == NULL ||
	    (bn = calloc(nb + 1, sizeof(*bn))) == NULL ||
	    (xs = calloc(nb + 1, sizeof(*xs))) == NULL ||
	    (ys = calloc(nb + 1, sizeof(*ys))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (r = 0; r < rows; r++) {
		time_t tend = start + (time_t)((r + 1) * step);

		y = data[r * nds + (unsigned long)col];
		if (isnan(y))
			continue;
		x = (double)(tend - end) - (double)step / 2;
		if (f->points == 0)
			xfirst = x;
		f->span = x - xfirst;
		f->points++;
		f->last = y;
		b = (unsigned)((end - tend) / 86400);
		if (b >= nb)
			continue;
		if (bn[b] == 0 || (falling ? y < by[b] : y > by[b])) {
			by[b] = y;
			bx[b] = x;
		}
		bn[b]++;
	}
	/* oldest day first */
	for (b = nb; b-- > 0; )
		if ((double)bn[b] >= 0.75 * (double)per_day) {
			xs[n] = bx[b];
			ys[n] = by[b];
			n++;
		}
	f->days = n;
	if (n < FORECAST_DAYS_MIN) {
		/* too few whole days: the samples, as a short window */
		fetch_free(nds, names, data);
		names = NULL;
		data = NULL;
		nds = 0;
		rc = forecast_fit(path, ds, s0, e0, f, err, errlen);
		f->falling = falling;
		goto out;
	}
	if (n >= 4) {
		double line = sse_line(xs, ys, 0, n), best = INFINITY, e;
		unsigned k, kbest = 0;

		for (k = 2; k + 2 <= n; k++) {
			e = sse_mean(ys, 0, k) + sse_mean(ys, k, n);
			if (e < best) {
				best = e;
				kbest = k;
			}
		}
		if (kbest > 0 && best < line / 2) {
			first = kbest;
			f->shift = end + (time_t)xs[kbest];
		}
	}
	for (i = first; i < n; i++)
		ols_add(&o, xs[i], ys[i]);
	f->days = n - first;
	if (f->days < FORECAST_DAYS_MIN) {
		char at[32];

		rfc3339(f->shift, at, sizeof(at));
		snprintf(err, errlen, "a level shift near %s, %u day%s ago: "
		    "not enough days since for a trend", at, f->days,
		    f->days == 1 ? "" : "s");
		f->young = 1;
		goto out;
	}
	if (ols_fit(&o, &f->slope, &f->value_now, &r2) != 0) {
		snprintf(err, errlen, "no trend in %u days", f->days);
		goto out;
	}
	f->r2 = r2;
	rc = 0;
out:
	free(bx);
	free(by);
	free(bn);
	free(xs);
	free(ys);
	fetch_free(nds, names, data);
	return rc;
}

bool
forecast_has_trend(const struct forecast *f, char *why, size_t len)
{
	if (isnan(f->r2) || f->r2 >= FORECAST_R2_MIN)
		return true;
	snprintf(why, len, "no trend: the line explains %.0f %% of the "
	    "%s (under %.0f %%)", f->r2 * 100, f->days > 0 ? (f->falling ?
	    "daily minima" : "daily maxima") : "values", FORECAST_R2_MIN *
	    100);
	return false;
}

double
forecast_time_to(const struct forecast *f, double threshold, bool falling)
{
	double d = threshold - f->value_now;

	if (falling) {
		if (d >= 0)
			return 0;
		return f->slope < 0 ? d / f->slope : -1;
	}
	if (d <= 0)
		return 0;
	return f->slope > 0 ? d / f->slope : -1;
}

/* ---- the forecast check type --------------------------------------- */

struct fcc {
	char *check;		/* source check */
	char *metric;		/* source metric */
	char ds[METRIC_DS_MAX + 1];
	int64_t window_ms;
	int64_t warn_ms;
	int64_t crit_ms;
	int64_t min_history_ms;
	double threshold;
	bool falling;
};

static const struct tocsin_option fc_options[] = {
	{ "source", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	    "CHECK:METRIC whose history is extrapolated" },
	{ "window", TOCSIN_OPT_DURATION, "7d", 0,
	    "history the trend line is fitted to" },
	{ "threshold", TOCSIN_OPT_FLOAT, NULL, TOCSIN_OPT_REQUIRED,
	    "the value the metric must not reach" },
	{ "direction", TOCSIN_OPT_STR, "up", 0,
	    "up: alert while rising to threshold; down: while falling to it" },
	{ "warn", TOCSIN_OPT_DURATION, "14d", 0,
	    "WARNING when the threshold is reached sooner than this" },
	{ "crit", TOCSIN_OPT_DURATION, "3d", 0,
	    "CRITICAL when the threshold is reached sooner than this" },
	{ "min_history", TOCSIN_OPT_DURATION, NULL, 0,
	    "no alarm before the stored values span this much time "
	    "(default: 1d, or half the window if shorter)" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static const struct tocsin_check_type fc_type;

/* "CHECK:METRIC", split at the last ':'.  RETURN VALUE: 0 or -1. */
static int
split_source(const char *src, char **check, char **metric)
{
	const char *colon = strrchr(src, ':');

	if (colon == NULL || colon == src || colon[1] == '\0')
		return -1;
	*check = strndup(src, (size_t)(colon - src));
	*metric = strdup(colon + 1);
	return *check != NULL && *metric != NULL ? 0 : -1;
}

static void
fc_free(void *priv)
{
	struct fcc *f = priv;

	if (f == NULL)
		return;
	free(f->check);
	free(f->metric);
	free(f);
}

static int
fc_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	const char *src = tocsin_conf_str(cf, "source");
	const char *dir = tocsin_conf_str(cf, "direction");
	struct fcc *f;
	int bad = 0;

	(void)chk;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	if (src == NULL || split_source(src, &f->check, &f->metric) != 0) {
		tocsin_conf_error(cf, "source", "\"%s\" is not CHECK:METRIC",
		    src != NULL ? src : "");
		bad = 1;
	} else
		metric_ds_name(f->metric, f->ds);
	f->window_ms = tocsin_conf_duration_ms(cf, "window");
	f->warn_ms = tocsin_conf_duration_ms(cf, "warn");
	f->crit_ms = tocsin_conf_duration_ms(cf, "crit");
	f->threshold = tocsin_conf_float(cf, "threshold");
	if (tocsin_conf_is_set(cf, "min_history"))
		f->min_history_ms = tocsin_conf_duration_ms(cf, "min_history");
	else
		f->min_history_ms = f->window_ms / 2 < 86400000 ?
		    f->window_ms / 2 : 86400000;
	if (f->min_history_ms > f->window_ms) {
		tocsin_conf_error(cf, "min_history", "must not be longer than "
		    "window");
		bad = 1;
	}
	if (f->window_ms < 60000) {
		tocsin_conf_error(cf, "window", "must be at least 1m");
		bad = 1;
	}
	if (f->crit_ms > f->warn_ms) {
		tocsin_conf_error(cf, "crit", "must not be longer than warn");
		bad = 1;
	}
	if (!isfinite(f->threshold)) {
		tocsin_conf_error(cf, "threshold", "must be a finite number");
		bad = 1;
	}
	if (dir != NULL && strcmp(dir, "down") == 0)
		f->falling = true;
	else if (dir != NULL && strcmp(dir, "up") != 0) {
		tocsin_conf_error(cf, "direction", "\"%s\" is not up or down",
		    dir);
		bad = 1;
	}
	if (bad) {
		fc_free(f);
		return -1;
	}
	*priv = f;
	return 0;
}

/*
 * A forecast's read of the store, done by a worker (pool.h): the flush
 * wait and rrd_fetch_r stay off the loop.  The job holds copies of what
 * it needs, so a reload that frees the check's config while it runs
 * harms nothing; a cancelled run leaves run NULL and the answer is
 * dropped.
 */
struct fjob {
	struct tocsin_run *run;		/* NULL once cancelled */
	struct fcc f;			/* copy; check and metric owned */
	char *path;			/* owned */
	struct metric_flush *flush;
	time_t now;
	bool configured;		/* the source check exists */
	/* the worker's answer */
	int rc;
	bool exists;			/* the file exists */
	struct forecast fc;
	char err[256];
};

static void
fjob_free(struct fjob *j)
{
	if (j == NULL)
		return;
	free(j->f.check);
	free(j->f.metric);
	free(j->path);
	free(j);
}

static void
fc_work(void *arg)
{
	struct fjob *j = arg;

	metric_flush_wait(j->flush);
	j->flush = NULL;
	j->rc = forecast_trend(j->path, j->f.ds, j->now -
	    (time_t)(j->f.window_ms / 1000), j->now, j->f.falling, &j->fc,
	    j->err, sizeof(j->err));
	j->exists = rrdio_exists(j->path) == 1;
}

static void
fc_done(void *arg)
{
	struct fjob *j = arg;
	const struct fcc *f = &j->f;
	struct tocsin_run *run = j->run;
	struct forecast fc = j->fc;
	struct tocsin_metric m;
	char summary[512], at[32], warn[32], crit[32];
	time_t now = j->now;
	double tt, days;
	enum tocsin_state st;

	if (run == NULL) {		/* cancelled meanwhile */
		fjob_free(j);
		return;
	}
	tocsin_run_set_data(run, NULL);
	if (j->rc != 0) {
		/*
		 * A source check that is configured but has no file or not
		 * two values yet (a new install, a new check) is no fault:
		 * OK with the reason, not an incident on every first start.
		 * A source that is not configured, or a missing data source,
		 * is UNKNOWN.
		 */
		bool young = j->configured && (fc.young || !j->exists);

		snprintf(summary, sizeof(summary), "forecast of %s:%s: %s%s",
		    f->check, f->metric, young ? "no trend yet: " : "",
		    young && !j->exists ? "no values stored yet" : j->err);
		tocsin_run_finish(run, young ? TOCSIN_OK : TOCSIN_UNKNOWN,
		    summary);
		goto out;
	}
	if (fc.span * 1000 < (double)f->min_history_ms) {
		/* a trend of a few hours says little about weeks: no alarm */
		snprintf(summary, sizeof(summary), "forecast of %s:%s: no trend "
		    "yet: values span %.1f h, min_history is %.1f h", f->check,
		    f->metric, fc.span / 3600, (double)f->min_history_ms /
		    3600000.0);
		tocsin_run_finish(run, TOCSIN_OK, summary);
		goto out;
	}
	if (!forecast_has_trend(&fc, j->err, sizeof(j->err))) {
		/* a line through noise: no date rather than a wild one */
		snprintf(summary, sizeof(summary), "forecast of %s:%s: %s",
		    f->check, f->metric, j->err);
		tocsin_run_finish(run, TOCSIN_OK, summary);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	m.min = m.max = NAN;
	m.name = "slope_per_day";
	m.value = fc.slope * 86400;
	tocsin_run_metric(run, &m);
	tt = forecast_time_to(&fc, f->threshold, f->falling);
	if (tt < 0) {
		snprintf(summary, sizeof(summary), "%s:%s at %.4g, trend "
		    "%+.4g/day: never reaches %.4g", f->check, f->metric,
		    fc.value_now, fc.slope * 86400, f->threshold);
		tocsin_run_finish(run, TOCSIN_OK, summary);
		goto out;
	}
	days = tt / 86400;
	snprintf(warn, sizeof(warn), "%.6g:", (double)f->warn_ms / 86400000.0);
	snprintf(crit, sizeof(crit), "%.6g:", (double)f->crit_ms / 86400000.0);
	m.name = "days_until";
	m.value = days;
	m.unit = "d";
	m.warn = warn;
	m.crit = crit;
	tocsin_run_metric(run, &m);
	if (tt * 1000 <= (double)f->crit_ms)
		st = TOCSIN_CRITICAL;
	else if (tt * 1000 <= (double)f->warn_ms)
		st = TOCSIN_WARNING;
	else
		st = TOCSIN_OK;
	rfc3339(now + (time_t)tt, at, sizeof(at));
	snprintf(summary, sizeof(summary), "%s:%s at %.4g, trend %+.4g/day: "
	    "reaches %.4g in %.1f days (%s)", f->check, f->metric,
	    fc.value_now, fc.slope * 86400, f->threshold, days, at);
	tocsin_run_finish(run, st, summary);
out:
	fjob_free(j);
}

static void
fc_start(struct tocsin_run *run, void *priv)
{
	struct fcc *f = priv;
	struct fjob *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto nomem;
	j->run = run;
	j->f = *f;
	j->f.check = strdup(f->check);
	j->f.metric = strdup(f->metric);
	j->now = time(NULL);
	j->configured = conf_check(daemon_g.cf, f->check) != NULL;
	if (j->f.check == NULL || j->f.metric == NULL)
		goto nomem;
	if ((j->path = metric_path(f->check)) == NULL) {
		fjob_free(j);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "the metric store is "
		    "not running");
		return;
	}
	metric_flush_start(f->check, &j->flush);
	if (pool_submit(fc_work, fc_done, j) != 0) {
		/* no pool (out of memory, or a unit test): here, then */
		fc_work(j);
		fc_done(j);
		return;
	}
	tocsin_run_set_data(run, j);
	return;
nomem:
	fjob_free(j);
	tocsin_run_fail_local(run, ENOMEM, "starting the forecast");
}

static void
fc_cancel(struct tocsin_run *run, void *priv)
{
	struct fjob *j = tocsin_run_data(run);

	(void)priv;
	if (j != NULL)
		j->run = NULL;	/* fc_done() drops the answer */
}

static const struct tocsin_check_type fc_type = {
	.name = "forecast",
	.options = fc_options,
	.configure = fc_configure,
	.start = fc_start,
	.cancel = fc_cancel,
	.free = fc_free,
};

int
forecast_register(void)
{
	return tocsin_register_type(&fc_type);
}

/* ---- GET /api/v1/forecast/CHECK/METRIC ------------------------------- */

/* The forecast check watching check:metric in the config, or NULL. */
static const struct fcc *
fc_for(const char *check, const char *metric)
{
	const struct config *cf = daemon_g.cf;
	unsigned i;

	for (i = 0; cf != NULL && i < cf->nchecks; i++) {
		const struct check *c = cf->checks[i];
		const struct fcc *f = c->priv;

		if (c->type != NULL && c->type->def == &fc_type && f != NULL &&
		    strcmp(f->check, check) == 0 &&
		    strcmp(f->metric, metric) == 0)
			return f;
	}
	return NULL;
}

/* GET /api/v1/forecast: the read on a worker, the answer on the loop. */
struct fajob {
	struct evhttp_request *req;	/* borrowed until answered */
	char *check, *metric, *path;	/* owned */
	char ds[METRIC_DS_MAX + 1];
	struct metric_flush *flush;
	time_t now;
	int64_t window_ms, horizon_ms, min_history_ms;
	double threshold;
	bool falling;
	int rc;
	struct forecast fc;
	char err[256];
};

static void
fajob_free(struct fajob *j)
{
	if (j == NULL)
		return;
	free(j->check);
	free(j->metric);
	free(j->path);
	free(j);
}

static void
fa_work(void *arg)
{
	struct fajob *j = arg;

	metric_flush_wait(j->flush);
	j->flush = NULL;
	j->rc = forecast_trend(j->path, j->ds, j->now -
	    (time_t)(j->window_ms / 1000), j->now, j->falling, &j->fc, j->err,
	    sizeof(j->err));
}

static void
fa_done(void *arg)
{
	struct fajob *j = arg;
	struct evhttp_request *req = j->req;
	struct forecast fc = j->fc;
	double tt = -1;
	json_t *o;
	int e = 0;

	if (j->rc != 0) {
		if (fc.step == 0) {	/* no file, or no such metric in it */
			api_error(req, HTTP_NOTFOUND, "check %s, metric %s: %s",
			    j->check, j->metric, j->err);
			fajob_free(j);
			return;
		}
		/* too little history yet: a normal answer, with the reason */
		char why[sizeof(j->err)];

		snprintf(why, sizeof(why), "%s", j->err);
		snprintf(j->err, sizeof(j->err), "no trend yet: %.*s",
		    (int)sizeof(j->err) - 16, why);
		fc.slope = fc.value_now = NAN;
	} else if (fc.span * 1000 < (double)j->min_history_ms) {
		/*
		 * The forecast check's rule: a line through a few minutes
		 * says nothing about weeks (2 points after 5 minutes gave
		 * "full in 0.66 days, 3508 % at the horizon").  No trend,
		 * no numbers drawn from it.
		 */
		snprintf(j->err, sizeof(j->err), "no trend yet: values span "
		    "%.1f h, min_history is %.1f h", fc.span / 3600,
		    (double)j->min_history_ms / 3600000.0);
		fc.slope = fc.value_now = NAN;
	} else if (!forecast_has_trend(&fc, j->err, sizeof(j->err)))
		fc.slope = fc.value_now = NAN;
	if (isfinite(j->threshold) && !isnan(fc.slope))
		tt = forecast_time_to(&fc, j->threshold, j->falling);
	o = json_object();
	api_set(o, "check", api_str(j->check), &e);
	api_set(o, "metric", api_str(j->metric), &e);
	api_set(o, "ds", api_str(j->ds), &e);
	api_set(o, "start", api_time(fc.start), &e);
	api_set(o, "end", api_time(fc.end), &e);
	api_set(o, "window_s", json_integer(j->window_ms / 1000), &e);
	api_set(o, "min_history_s", json_integer(j->min_history_ms / 1000),
	    &e);
	api_set(o, "span_s", fc.points >= 2 ? api_num(fc.span) : json_null(),
	    &e);
	api_set(o, "step_s", json_integer((json_int_t)fc.step), &e);
	api_set(o, "points", json_integer(fc.points), &e);
	api_set(o, "fit", api_str(fc.days > 0 ? (fc.falling ?
	    "daily minima" : "daily maxima") : "samples"), &e);
	api_set(o, "days", json_integer(fc.days), &e);
	api_set(o, "r2", api_num(fc.r2), &e);
	api_set(o, "level_shift_at", api_time(fc.shift), &e);
	api_set(o, "last", api_num(fc.last), &e);
	api_set(o, "value_now", api_num(fc.value_now), &e);
	api_set(o, "slope_per_second", api_num(fc.slope), &e);
	api_set(o, "slope_per_day", api_num(fc.slope * 86400), &e);
	api_set(o, "horizon_s", json_integer(j->horizon_ms / 1000), &e);
	api_set(o, "horizon_at", api_time(fc.end + (time_t)(j->horizon_ms /
	    1000)), &e);
	api_set(o, "value_at_horizon", api_num(fc.value_now + fc.slope *
	    (double)(j->horizon_ms / 1000)), &e);
	api_set(o, "threshold", api_num(j->threshold), &e);
	api_set(o, "direction", api_str(j->falling ? "down" : "up"), &e);
	api_set(o, "time_to_threshold_s", tt >= 0 ? api_num(tt) :
	    json_null(), &e);
	api_set(o, "days_until", tt >= 0 ? api_num(tt / 86400) : json_null(),
	    &e);
	api_set(o, "crosses_at", tt >= 0 ? api_time(fc.end + (time_t)tt) :
	    json_null(), &e);
	if (isnan(fc.slope))
		api_set(o, "reason", api_str(j->err), &e);
	if (e) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
	fajob_free(j);
}

static void
get_forecast(struct evhttp_request *req, const char *rest, void *arg)
{
	const char *slash = strchr(rest, '/'), *v;
	char *enc = NULL, *check = NULL, *metric = NULL, *end;
	struct evkeyvalq kv;
	const struct fcc *f;
	struct fajob *j;
	time_t now = time(NULL);
	int64_t window_ms = 7 * 86400000LL, horizon_ms = 30 * 86400000LL;
	int64_t min_history_ms = -1;
	double threshold = NAN;
	bool falling = false;

	(void)arg;
	TAILQ_INIT(&kv);
	if (slash == NULL) {
		api_error(req, HTTP_NOTFOUND, "use /api/v1/forecast/CHECK/"
		    "METRIC");
		return;
	}
	if ((enc = strndup(rest, (size_t)(slash - rest))) == NULL ||
	    (check = api_path_name(req, enc, "check")) == NULL ||
	    (metric = api_path_name(req, slash + 1, "metric")) == NULL)
		goto out;
	if ((f = fc_for(check, metric)) != NULL) {
		window_ms = f->window_ms;
		threshold = f->threshold;
		falling = f->falling;
		min_history_ms = f->min_history_ms;
	}
	if (api_query(req, &kv) == -1)
		goto out;
	if ((v = evhttp_find_header(&kv, "window")) != NULL &&
	    (conf_parse_duration(v, &window_ms) != 0 || window_ms < 60000)) {
		api_error(req, HTTP_BADREQUEST, "window: \"%s\" is not a "
		    "duration of at least 1m", v);
		goto out;
	}
	if ((v = evhttp_find_header(&kv, "min_history")) != NULL &&
	    (conf_parse_duration(v, &min_history_ms) != 0 ||
	    min_history_ms < 0)) {
		api_error(req, HTTP_BADREQUEST, "min_history: \"%s\" is not "
		    "a duration", v);
		goto out;
	}
	/* the forecast check's default: half the window, at most a day */
	if (min_history_ms < 0)
		min_history_ms = window_ms / 2 < 86400000 ? window_ms / 2 :
		    86400000;
	if (min_history_ms > window_ms) {
		api_error(req, HTTP_BADREQUEST, "min_history: must not be "
		    "longer than window");
		goto out;
	}
	if ((v = evhttp_find_header(&kv, "horizon")) != NULL &&
	    (conf_parse_duration(v, &horizon_ms) != 0 || horizon_ms < 0)) {
		api_error(req, HTTP_BADREQUEST, "horizon: \"%s\" is not a "
		    "duration", v);
		goto out;
	}
	if ((v = evhttp_find_header(&kv, "threshold")) != NULL &&
	    (threshold = strtod(v, &end), *end != '\0' || end == v ||
	    !isfinite(threshold))) {
		api_error(req, HTTP_BADREQUEST, "threshold: \"%s\" is not a "
		    "number", v);
		goto out;
	}
	if ((v = evhttp_find_header(&kv, "direction")) != NULL) {
		if (strcmp(v, "up") != 0 && strcmp(v, "down") != 0) {
			api_error(req, HTTP_BADREQUEST, "direction: \"%s\" is "
			    "not up or down", v);
			goto out;
		}
		falling = strcmp(v, "down") == 0;
	}
	if (pool_full()) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "2");
		api_error(req, HTTP_SERVUNAVAIL, "busy: %u graphs and "
		    "forecasts waiting already; retry later", pool_queued());
		goto out;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->path = metric_path(check)) == NULL) {
		fajob_free(j);
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	j->req = req;
	j->check = check;
	j->metric = metric;
	check = metric = NULL;
	metric_ds_name(j->metric, j->ds);
	j->now = now;
	j->window_ms = window_ms;
	j->horizon_ms = horizon_ms;
	j->threshold = threshold;
	j->falling = falling;
	j->min_history_ms = min_history_ms;
	metric_flush_start(j->check, &j->flush);
	if (pool_submit(fa_work, fa_done, j) != 0) {
		metric_flush_wait(j->flush);
		fajob_free(j);
		api_reply(req, HTTP_INTERNAL, NULL);
	}
out:
	evhttp_clear_headers(&kv);
	free(enc);
	free(check);
	free(metric);
}

int
forecast_api_init(void)
{
	return api_route_add(EVHTTP_REQ_GET, "/api/v1/forecast/", 0,
	    get_forecast, NULL);
}
