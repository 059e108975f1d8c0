/*
 * aberration.c — Holt-Winters aberration detection, done by librrd itself.
 *
 * A check with aberration = yes gets, when its RRD file is made, a
 * HWPREDICT archive with a one-day season (metric_hw_rra); librrd then
 * keeps SEASONAL, DEVSEASONAL, DEVPREDICT and FAILURES with it and
 * updates them on every rrd_update.  FAILURES is 1 for a row when 7 of
 * the last 9 values were more than 2 DEVPREDICT from HWPREDICT (librrd's
 * defaults).  This module only reads that verdict.
 *
 * Why a check of its own (`aberration "NAME" { source = "CHECK:METRIC" }`)
 * and not a part of the source check's result: FAILURES exists only once
 * the writer thread has written the result, after the result is final;
 * folding it into the same result would delay every result of the
 * check for a file read.  As a check, the verdict goes through the state
 * machine like any other (soft/hard, incidents, notifications, flapping)
 * and its expected band is stored as metrics.  The read runs on a worker
 * of pool.h after the file is flushed, as forecast.c's.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rrd.h>
#include <tocsin/plugin.h>

#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "metric/aberration.h"
#include "metric/metric.h"
#include "metric/pool.h"
#include "metric/rrdio.h"

/* The newest known value of column col of cf over [start, end]. */
static int
fetch_last(const char *path, const char *cf, const char *ds, time_t start,
    time_t end, double *v, time_t *at, char *err, size_t errlen)
{
	unsigned long step = 1, nds = 0, col, k, rows, r;
	char **names = NULL;
	rrd_value_t *data = NULL;
	int rc = -1;

	*v = NAN;
	*at = 0;
	rrd_clear_error();
	if (rrdio_fetch(path, cf, &start, &end, &step, &nds, &names,
	    &data) != 0) {
		snprintf(err, errlen, "%s", rrd_get_error());
		return -1;
	}
	for (col = 0; col < nds; col++)
		if (strcmp(names[col], ds) == 0)
			break;
	if (col == nds) {
		snprintf(err, errlen, "no data source %s in %s", ds, path);
		goto out;
	}
	rows = step > 0 ? (unsigned long)(end - start) / step : 0;
	for (r = rows; r-- > 0; )
		if (!isnan(data[r * nds + col])) {
			*v = data[r * nds + col];
			*at = start + (time_t)((r + 1) * step);
			break;
		}
	rc = 0;
out:
	for (k = 0; k < nds; k++)
		free(names[k]);
	free(names);
	free(data);
	return rc;
}

int
aberration_read(const char *path, const char *ds, time_t end,
    struct aberration *a, bool *nohw, char *err, size_t errlen)
{
	double f;
	time_t at, t;
	/*
	 * The finest archive's last rows: librrd picks it for 3 hours; a
	 * source silent longer has no verdict (an error: no value).
	 */
	time_t start = end - 3 * 3600;

	memset(a, 0, sizeof(*a));
	a->value = a->predict = a->dev = NAN;
	*nohw = false;
	if (fetch_last(path, "AVERAGE", ds, start, end, &a->value, &t, err,
	    errlen) != 0)
		return -1;
	if (fetch_last(path, "FAILURES", ds, start, end, &f, &at, err,
	    errlen) != 0) {
		*nohw = strstr(err, "no data source") == NULL;
		return -1;
	}
	a->at = at;
	a->failing = f > 0.5;
	if (fetch_last(path, "HWPREDICT", ds, start, end, &a->predict, &t,
	    err, errlen) != 0 || fetch_last(path, "DEVPREDICT", ds, start,
	    end, &a->dev, &t, err, errlen) != 0)
		return -1;
	a->learning = isnan(a->predict) || isnan(a->dev);
	if (isnan(a->value)) {
		snprintf(err, errlen, "no value of %s in the last 3 hours", ds);
		return -1;
	}
	return 0;
}

/* ---- the aberration check type ---------------------------------------- */

struct abc {
	char *check;		/* source check */
	char *metric;		/* source metric */
	char ds[METRIC_DS_MAX + 1];
};

static const struct tocsin_option ab_options[] = {
	{ "source", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	    "CHECK:METRIC whose Holt-Winters verdict is reported (the check "
	    "needs aberration = yes)" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static void
ab_free(void *priv)
{
	struct abc *a = priv;

	if (a == NULL)
		return;
	free(a->check);
	free(a->metric);
	free(a);
}

static int
ab_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	const char *src = tocsin_conf_str(cf, "source");
	const char *colon = src != NULL ? strrchr(src, ':') : NULL;
	struct abc *a;

	(void)chk;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	if (colon == NULL || colon == src || colon[1] == '\0') {
		tocsin_conf_error(cf, "source", "\"%s\" is not CHECK:METRIC",
		    src != NULL ? src : "");
		ab_free(a);
		return -1;
	}
	if ((a->check = strndup(src, (size_t)(colon - src))) == NULL ||
	    (a->metric = strdup(colon + 1)) == NULL) {
		ab_free(a);
		return -1;
	}
	metric_ds_name(a->metric, a->ds);
	*priv = a;
	return 0;
}

/* One read, on a worker; the answer on the loop.  As forecast.c's fjob. */
struct ajob {
	struct tocsin_run *run;		/* NULL once cancelled */
	char *check, *metric, *path;	/* owned */
	char ds[METRIC_DS_MAX + 1];
	struct metric_flush *flush;
	time_t now;
	bool configured, hw_on;
	int rc;
	bool nohw;
	struct aberration ab;
	char err[256];
};

static void
ajob_free(struct ajob *j)
{
	if (j == NULL)
		return;
	free(j->check);
	free(j->metric);
	free(j->path);
	free(j);
}

static void
ab_work(void *arg)
{
	struct ajob *j = arg;

	metric_flush_wait(j->flush);
	j->flush = NULL;
	j->rc = aberration_read(j->path, j->ds, j->now, &j->ab, &j->nohw,
	    j->err, sizeof(j->err));
}

static void
ab_done(void *arg)
{
	struct ajob *j = arg;
	struct tocsin_run *run = j->run;
	const struct aberration *a = &j->ab;
	struct tocsin_metric m;
	char summary[512];
	double lo, hi;

	if (run == NULL) {
		ajob_free(j);
		return;
	}
	tocsin_run_set_data(run, NULL);
	if (j->rc != 0) {
		if (j->nohw)
			snprintf(summary, sizeof(summary), "%s:%s: no "
			    "Holt-Winters archives in %s (%s)", j->check,
			    j->metric, j->path, j->hw_on ? "the file predates "
			    "aberration = yes: move it away to start one that "
			    "has them" : "set aberration = yes on the check");
		else
			snprintf(summary, sizeof(summary), "%s:%s: %s",
			    j->check, j->metric, j->err);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, summary);
		goto out;
	}
	if (a->learning) {
		snprintf(summary, sizeof(summary), "%s:%s at %.4g: no "
		    "prediction yet (Holt-Winters learns a first day)",
		    j->check, j->metric, a->value);
		tocsin_run_finish(run, TOCSIN_OK, summary);
		goto out;
	}
	lo = a->predict - ABERRATION_DELTA * a->dev;
	hi = a->predict + ABERRATION_DELTA * a->dev;
	memset(&m, 0, sizeof(m));
	m.min = m.max = NAN;
	m.name = "expected";
	m.value = a->predict;
	tocsin_run_metric(run, &m);
	m.name = "band_low";
	m.value = lo;
	tocsin_run_metric(run, &m);
	m.name = "band_high";
	m.value = hi;
	tocsin_run_metric(run, &m);
	m.name = "failing";
	m.value = a->failing;
	tocsin_run_metric(run, &m);
	snprintf(summary, sizeof(summary), "%s:%s at %.4g %s the expected "
	    "band %.4g..%.4g%s", j->check, j->metric, a->value, a->failing ?
	    "has left" : "within", lo, hi, a->failing ? " (Holt-Winters: 7 "
	    "of the last 9 values outside it)" : "");
	tocsin_run_finish(run, a->failing ? TOCSIN_WARNING : TOCSIN_OK,
	    summary);
out:
	ajob_free(j);
}

static void
ab_start(struct tocsin_run *run, void *priv)
{
	struct abc *a = priv;
	const struct check *src;
	struct ajob *j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->check = strdup(a->check)) == NULL ||
	    (j->metric = strdup(a->metric)) == NULL) {
		ajob_free(j);
		tocsin_run_fail_local(run, ENOMEM, "starting the aberration "
		    "check");
		return;
	}
	j->run = run;
	memcpy(j->ds, a->ds, sizeof(j->ds));
	j->now = time(NULL);
	src = conf_check(daemon_g.cf, a->check);
	j->configured = src != NULL;
	j->hw_on = src != NULL && src->aberration;
	if ((j->path = metric_path(a->check)) == NULL) {
		ajob_free(j);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "the metric store is "
		    "not running");
		return;
	}
	metric_flush_start(a->check, &j->flush);
	if (pool_submit(ab_work, ab_done, j) != 0) {
		ab_work(j);
		ab_done(j);
		return;
	}
	tocsin_run_set_data(run, j);
}

static void
ab_cancel(struct tocsin_run *run, void *priv)
{
	struct ajob *j = tocsin_run_data(run);

	(void)priv;
	if (j != NULL)
		j->run = NULL;
}

static const struct tocsin_check_type ab_type = {
	.name = "aberration",
	.options = ab_options,
	.configure = ab_configure,
	.start = ab_start,
	.cancel = ab_cancel,
	.free = ab_free,
};

int
aberration_register(void)
{
	return tocsin_register_type(&ab_type);
}
