/*
 * series.c — GET /api/v1/series/CHECK/METRIC[,METRIC…]: the values of a
 * check's RRD file as JSON, from rrd_fetch, for the dashboard's
 * interactive charts and for scripts (docs/api.md has the shape).
 *
 * As a graph does (graph.c), the handler checks the request on the loop
 * and queues the flush of the file; a worker of pool.h waits for that
 * flush, reads and writes the JSON text; the loop sends it.  The reply is
 * bounded: at most SERIES_POINTS_MAX rows, else a 400 that says which
 * step would do, so a year at one-minute rows is never built in memory.
 * Owns no state beyond one request's job; never touches the disk on the
 * loop.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <rrd.h>

#include "api/api.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "metric/metric.h"
#include "metric/pool.h"
#include "metric/rrdio.h"

#define SERIES_METRICS_MAX	8
/*
 * 10 000 rows of 8 metrics is ~1 MB of JSON and a few ms on a worker;
 * a chart has no more pixels than that anyway.  A year at the hourly
 * archive (8 760 rows) fits.
 */
#define SERIES_POINTS_MAX	10000

/* One request between the loop and a worker (pool.h). */
struct sjob {
	struct evhttp_request *req;	/* borrowed until answered */
	struct metric_flush *flush;	/* waited for on the worker */
	char *check;			/* owned */
	char *path;			/* owned */
	char *metrics[SERIES_METRICS_MAX]; /* owned */
	char ds[SERIES_METRICS_MAX][METRIC_DS_MAX + 1];
	char unit[SERIES_METRICS_MAX][24];	/* 16 bytes at most, and "/s" */
	bool has_unit[SERIES_METRICS_MAX];
	unsigned nm;
	bool known;			/* the check is in the config */
	const char *cf;			/* a literal */
	time_t start, end;
	unsigned long step;		/* asked for; 0: the finest */
	/* the worker's answer */
	int code;
	char msg[512];
	char *text;			/* owned: the JSON on 200 */
};

static void
sjob_free(struct sjob *j)
{
	unsigned k;

	if (j == NULL)
		return;
	free(j->check);
	free(j->path);
	for (k = 0; k < j->nm; k++)
		free(j->metrics[k]);
	free(j->text);
	free(j);
}

static const struct metric *
series_last(const struct check *c, const char *name)
{
	unsigned i;

	for (i = 0; c != NULL && i < c->last.nmetrics; i++)
		if (strcmp(c->last.metrics[i].name, name) == 0)
			return &c->last.metrics[i];
	return NULL;
}

/*
 * The unit of the values stored: the last result's (perfdata UOM or the
 * plugin's); a counter is stored as its rate, "c" per second as "/s".
 * false when the check has no result naming the metric (yet).
 */
static bool
series_unit(const struct check *c, const char *name, char *out, size_t len)
{
	const struct metric *m = series_last(c, name);
	const char *u;

	if (m == NULL)
		return false;
	u = m->unit != NULL ? m->unit : "";
	if (m->flags & TOCSIN_METRIC_COUNTER)
		snprintf(out, len, "%s/s", strcmp(u, "c") == 0 ? "" : u);
	else
		snprintf(out, len, "%s", u);
	return true;
}

/* On the worker: the JSON text of the rows read.  NULL: out of memory. */
static char *
series_json(struct sjob *j, time_t start, unsigned long step,
    unsigned long rows, unsigned long nds, const int *col,
    const rrd_value_t *data)
{
	json_t *o, *ms, *pts, *row, *m;
	unsigned long r;
	unsigned k;
	char *text;
	int e = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	api_set(o, "check", api_str(j->check), &e);
	api_set(o, "cf", api_str(j->cf), &e);
	/* the time of a row is its end, as rrdtool fetch prints it */
	api_set(o, "start", json_integer((json_int_t)start + (json_int_t)step),
	    &e);
	api_set(o, "end", json_integer((json_int_t)start +
	    (json_int_t)(rows * step)), &e);
	api_set(o, "step", json_integer((json_int_t)step), &e);
	api_set(o, "rows", json_integer((json_int_t)rows), &e);
	api_set(o, "metrics", ms = json_array(), &e);
	for (k = 0; ms != NULL && k < j->nm; k++) {
		api_append(ms, m = json_object(), &e);
		if (m == NULL)
			break;
		api_set(m, "name", api_str(j->metrics[k]), &e);
		api_set(m, "ds", api_str(j->ds[k]), &e);
		api_set(m, "unit", j->has_unit[k] ? api_str(j->unit[k]) :
		    json_null(), &e);
	}
	api_set(o, "points", pts = json_array(), &e);
	for (r = 0; pts != NULL && r < rows && !e; r++) {
		api_append(pts, row = json_array(), &e);
		if (row == NULL)
			break;
		api_append(row, json_integer((json_int_t)start +
		    (json_int_t)((r + 1) * step)), &e);
		for (k = 0; k < j->nm; k++)
			api_append(row, api_num(data[r * nds +
			    (unsigned long)col[k]]), &e);
	}
	/* 15 digits: every figure a perfdata line gives, no 0.1000…01 */
	text = e ? NULL : json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(o);
	return text;
}

/* On a worker: wait for the flush, read, build the reply. */
static void
series_work(void *arg)
{
	struct sjob *j = arg;
	time_t start = j->start, end = j->end;
	unsigned long step = j->step > 0 ? j->step : 1, nds = 0, rows, k;
	char **names = NULL;
	rrd_value_t *data = NULL;
	int col[SERIES_METRICS_MAX];
	unsigned m;
	int rc;

	metric_flush_wait(j->flush);
	j->flush = NULL;
	if ((rc = rrdio_exists(j->path)) == -1) {
		j->code = HTTP_SERVUNAVAIL;
		snprintf(j->msg, sizeof(j->msg), "cannot read %s: %s", j->path,
		    rrd_get_error());
		return;
	}
	if (rc != 1) {
		j->code = HTTP_NOTFOUND;
		if (!j->known)
			snprintf(j->msg, sizeof(j->msg), "no check %s",
			    j->check);
		else
			snprintf(j->msg, sizeof(j->msg), "check %s: no metrics "
			    "stored yet", j->check);
		return;
	}
	/*
	 * rrd_fetch_r is reentrant, but graphs draw under metric_lock()
	 * with librrd's non-reentrant graph code, which fetches too: one
	 * reader of librrd at a time is the safe rule (a fetch is ms).
	 */
	rrd_clear_error();
	metric_lock();
	rc = rrdio_fetch(j->path, j->cf, &start, &end, &step, &nds, &names,
	    &data);
	metric_unlock();
	if (rc != 0) {
		j->code = HTTP_INTERNAL;
		snprintf(j->msg, sizeof(j->msg), "cannot read %s: %s", j->path,
		    rrd_get_error());
		return;
	}
	for (m = 0; m < j->nm; m++) {
		for (k = 0; k < nds; k++)
			if (strcmp(names[k], j->ds[m]) == 0)
				break;
		if (k == nds) {
			j->code = HTTP_NOTFOUND;
			snprintf(j->msg, sizeof(j->msg), "check %s: no metric "
			    "%s stored", j->check, j->metrics[m]);
			goto out;
		}
		col[m] = (int)k;
	}
	rows = step > 0 && end > start ? (unsigned long)(end - start) / step :
	    0;
	if (rows > SERIES_POINTS_MAX) {
		/* librrd chose a finer archive than the step asked for */
		j->code = HTTP_BADREQUEST;
		snprintf(j->msg, sizeof(j->msg), "%lu points from since to "
		    "until at the stored step of %lu s; at most %d: ask for "
		    "step=%lld or more, or a shorter range", rows, step,
		    SERIES_POINTS_MAX, (long long)((j->end - j->start +
		    SERIES_POINTS_MAX - 1) / SERIES_POINTS_MAX));
		goto out;
	}
	if ((j->text = series_json(j, start, step, rows, nds, col, data)) ==
	    NULL) {
		j->code = HTTP_INTERNAL;
		snprintf(j->msg, sizeof(j->msg), "out of memory");
		goto out;
	}
	j->code = HTTP_OK;
out:
	for (k = 0; k < nds; k++)
		free(names[k]);
	free(names);
	free(data);
}

static void
series_text_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* On the loop: the answer. */
static void
series_done(void *arg)
{
	struct sjob *j = arg;
	struct evbuffer *out;

	if (j->code != HTTP_OK) {
		if (j->code == HTTP_INTERNAL)
			log_warnx("series of %s: %s", j->check, j->msg);
		api_error(j->req, j->code, "%s", j->msg);
	} else if ((out = evbuffer_new()) == NULL ||
	    evbuffer_add_reference(out, j->text, strlen(j->text),
	    series_text_free, NULL) != 0) {
		if (out != NULL)
			evbuffer_free(out);
		api_reply(j->req, HTTP_INTERNAL, NULL);
	} else {
		j->text = NULL;		/* the buffer frees it */
		api_send(j->req, HTTP_OK, out);
		evbuffer_free(out);
	}
	sjob_free(j);
}

/*
 * The query: since/until as the graphs read them, step (a duration, or
 * seconds), cf.  RETURN VALUE: 0, or -1 after replying 400.
 */
static int
series_query(struct evhttp_request *req, struct sjob *j)
{
	struct evkeyvalq kv;
	const char *v;
	int64_t ms;
	bool given;
	int rc = -1;

	TAILQ_INIT(&kv);
	if (api_query(req, &kv) == -1)
		return -1;
	if (metric_query_range(req, &kv, time(NULL), &j->start, &j->end,
	    &given) != 0)
		goto out;
	j->step = 0;
	if ((v = evhttp_find_header(&kv, "step")) != NULL &&
	    (conf_parse_duration(v, &ms) != 0 || ms < 1000 ||
	    ms > 366 * 86400000LL)) {
		api_error(req, HTTP_BADREQUEST, "step: \"%s\" is not a "
		    "duration from 1s to a year (60, 5m, 1h)", v);
		goto out;
	}
	if (v != NULL)
		j->step = (unsigned long)(ms / 1000);
	if (j->step > 0 && (unsigned long)(j->end - j->start) / j->step >
	    SERIES_POINTS_MAX) {
		api_error(req, HTTP_BADREQUEST, "%lu points from since to "
		    "until at step=%lu; at most %d: ask for step=%lld or more, "
		    "or a shorter range", (unsigned long)(j->end - j->start) /
		    j->step, j->step, SERIES_POINTS_MAX,
		    (long long)((j->end - j->start + SERIES_POINTS_MAX - 1) /
		    SERIES_POINTS_MAX));
		goto out;
	}
	j->cf = "AVERAGE";
	if ((v = evhttp_find_header(&kv, "cf")) != NULL) {
		if (strcmp(v, "AVERAGE") == 0 || strcmp(v, "MIN") == 0 ||
		    strcmp(v, "MAX") == 0)
			j->cf = strcmp(v, "MIN") == 0 ? "MIN" :
			    strcmp(v, "MAX") == 0 ? "MAX" : "AVERAGE";
		else {
			api_error(req, HTTP_BADREQUEST, "cf: \"%s\" is not "
			    "AVERAGE, MIN or MAX", v);
			goto out;
		}
	}
	rc = 0;
out:
	evhttp_clear_headers(&kv);
	return rc;
}

static void
get_series(struct evhttp_request *req, const char *rest, void *arg)
{
	char *enc = NULL, *mlist = NULL, *p, *save = NULL;
	const char *slash = strchr(rest, '/');
	const struct check *c;
	struct sjob *j;
	unsigned k;

	(void)arg;
	if (slash == NULL || slash[1] == '\0') {
		api_error(req, HTTP_NOTFOUND, "use /api/v1/series/CHECK/"
		    "METRIC[,METRIC...]");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	j->req = req;
	if ((enc = strndup(rest, (size_t)(slash - rest))) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	if ((j->check = api_path_name(req, enc, "check")) == NULL ||
	    (mlist = api_path_name(req, slash + 1, "metric")) == NULL)
		goto out;
	if (series_query(req, j) != 0)
		goto out;
	c = daemon_g.cf != NULL ? conf_check(daemon_g.cf, j->check) : NULL;
	j->known = c != NULL;
	/* a comma list, unless the whole text is one metric of the check */
	if (series_last(c, mlist) != NULL || strchr(mlist, ',') == NULL) {
		if ((j->metrics[0] = strdup(mlist)) == NULL)
			goto oom;
		j->nm = 1;
	} else {
		for (p = strtok_r(mlist, ",", &save); p != NULL;
		    p = strtok_r(NULL, ",", &save)) {
			if (j->nm == SERIES_METRICS_MAX) {
				api_error(req, HTTP_BADREQUEST, "more than %d "
				    "metrics", SERIES_METRICS_MAX);
				goto out;
			}
			if ((j->metrics[j->nm] = strdup(p)) == NULL)
				goto oom;
			j->nm++;
		}
		if (j->nm == 0) {
			api_error(req, HTTP_BADREQUEST, "no metric named");
			goto out;
		}
	}
	for (k = 0; k < j->nm; k++) {
		metric_ds_name(j->metrics[k], j->ds[k]);
		j->has_unit[k] = series_unit(c, j->metrics[k], j->unit[k],
		    sizeof(j->unit[k]));
	}
	if (pool_full()) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "2");
		api_error(req, HTTP_SERVUNAVAIL, "busy: %u graphs and series "
		    "waiting already; retry later", pool_queued());
		goto out;
	}
	if ((j->path = metric_path(j->check)) == NULL) {
		api_error(req, HTTP_INTERNAL, "the metric store is not running");
		goto out;
	}
	/* the loop only queues the flush; the worker waits for it */
	metric_flush_start(j->check, &j->flush);
	if (pool_submit(series_work, series_done, j) != 0) {
		metric_flush_wait(j->flush);
		j->flush = NULL;
		goto oom;
	}
	j = NULL;		/* series_done() answers and frees it */
	goto out;
oom:
	api_reply(req, HTTP_INTERNAL, NULL);
out:
	sjob_free(j);
	free(enc);
	free(mlist);
}

int
metric_series_init(void)
{
	return api_route_add(EVHTTP_REQ_GET, "/api/v1/series/", 0, get_series,
	    NULL);
}
