/*
 * graph.c — GET /api/v1/graph/CHECK/METRIC[,METRIC…].png|.svg, drawn by
 * librrd's graph API (rrd_graph_v, in memory: no rrdtool process, no
 * temporary file).
 *
 * Query: since (a duration before now, "1d", or a Unix time), until (the
 * same, default now), width and height (pixels of the whole image,
 * 200..4000 x 100..2000).  The y-axis fits the values; thresholds of the
 * check's last result are drawn as horizontal lines (orange warn, red
 * crit) when they are in or near the values' range, and the key says
 * which are above.  Values are drawn in their base unit (ms as s), the
 * axis labelled with it; the key has the range's last, average, maximum
 * and minimum.  The response headers X-Tocsin-Y-Range, X-Tocsin-Y-Unit
 * and X-Tocsin-Key say the same as text.  The file is flushed from the
 * store (and rrdcached) first, so the graph shows every value.
 *
 * Drawing is CPU work of milliseconds to a second (a 4000x2000 PNG of
 * five years: ~350 ms), so it never runs on the loop: the handler checks
 * the request and builds librrd's arguments, a worker of pool.h waits for
 * the flush and draws, and the loop sends the image.  When
 * api.graph_queue requests already wait, the answer is 503 with
 * Retry-After at once: a burst of graphs costs the loop nothing and
 * waits no longer than the queue takes.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <rrd.h>

#include "api/api.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "metric/forecast.h"
#include "metric/metric.h"
#include "metric/pool.h"
#include "metric/rrdio.h"

#define GRAPH_MAX_METRICS	8

static metric_marks_fn *marks_fn;	/* the changes, or NULL */

static const char *const colors[GRAPH_MAX_METRICS] = {
	"1F77B4", "2CA02C", "9467BD", "8C564B", "17BECF", "7F7F7F",
	"BCBD22", "E377C2",
};
static const char *const color_names[GRAPH_MAX_METRICS] = {
	"blue", "green", "purple", "brown", "cyan", "grey", "olive", "pink",
};

/*
 * "1d" or "-1d" (that long before now), "now", or a Unix time.
 * RETURN VALUE: 0, or -1.
 */
int
metric_parse_when(const char *text, time_t now, time_t *out)
{
	int64_t ms;
	char *end;
	long long v;

	if (text == NULL || *text == '\0')
		return -1;
	if (strcmp(text, "now") == 0) {
		*out = now;
		return 0;
	}
	v = strtoll(text, &end, 10);
	if (*end == '\0' && v >= 100000000LL) {
		*out = (time_t)v;
		return 0;
	}
	/* rrdtool's own spelling of "a day ago" */
	if (*text == '-' && text[1] >= '0' && text[1] <= '9')
		text++;
	if (conf_parse_duration(text, &ms) != 0 || ms < 0)
		return -1;
	*out = now - (time_t)(ms / 1000);
	return 0;
}

/* Copy s into buf with ':' and '\' escaped for an rrd_graph argument. */
static void
esc_colon(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 3 < len; s++) {
		if (*s == ':' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o] = '\0';
}

/* The finite bounds of a Nagios range, for threshold lines. */
static int
range_lines(const char *text, double v[2])
{
	struct tocsin_range r;
	int n = 0;

	if (text == NULL || tocsin_range_parse(text, &r) != 0)
		return 0;
	if (isfinite(r.start) && r.start != 0)
		v[n++] = r.start;
	if (isfinite(r.end))
		v[n++] = r.end;
	return n;
}

static const struct metric *
last_metric(const struct check *c, const char *name)
{
	unsigned i;

	for (i = 0; c != NULL && i < c->last.nmetrics; i++)
		if (strcmp(c->last.metrics[i].name, name) == 0)
			return &c->last.metrics[i];
	return NULL;
}

/* Does the file have data source ds? -1: not an RRD file. */
static int
has_ds(const char *path, const char *ds)
{
	rrd_info_t *info, *i;
	char key[METRIC_DS_MAX + 16];
	int found = 0;

	snprintf(key, sizeof(key), "ds[%s].index", ds);
	rrd_clear_error();
	if ((info = rrdio_info(path)) == NULL)
		return -1;
	for (i = info; i != NULL; i = i->next)
		if (strcmp(i->key, key) == 0)
			found = 1;
	rrd_info_free(info);
	return found;
}

#define GRAPH_TIME_MIN		315532800	/* 1980-01-01 UTC */
#define GRAPH_FUTURE_MAX	(366 * 86400)

struct gq {
	time_t start, end;
	long width, height;
	bool since_given;
	int trend;		/* 0 none, 1 up, 2 down (?trend=) */
};

/*
 * since/until of a query: what the graphs and GET /api/v1/series accept.
 * librrd reads nothing before 1980 ("the first entry to fetch should be
 * after 1980"): that was a 500 for since=100000000 (issue 14).  The
 * request is what is wrong, so it is a 400 that says so.
 */
int
metric_query_range(struct evhttp_request *req, const struct evkeyvalq *kv,
    time_t now, time_t *start, time_t *end, bool *since_given)
{
	const char *v;

	*start = now - 86400;
	*end = now;
	*since_given = evhttp_find_header(kv, "since") != NULL;
	if ((v = evhttp_find_header(kv, "since")) != NULL &&
	    metric_parse_when(v, now, start) != 0) {
		api_error(req, HTTP_BADREQUEST, "since: \"%s\" is neither a "
		    "duration (1d, -1d) nor a Unix time", v);
		return -1;
	}
	if ((v = evhttp_find_header(kv, "until")) != NULL &&
	    metric_parse_when(v, now, end) != 0) {
		api_error(req, HTTP_BADREQUEST, "until: \"%s\" is neither a "
		    "duration (1h, -1h), now nor a Unix time", v);
		return -1;
	}
	if (*start < GRAPH_TIME_MIN || *end < GRAPH_TIME_MIN) {
		api_error(req, HTTP_BADREQUEST, "%s: %lld is before 1980 "
		    "(%lld), where no RRD file has data", *start <
		    GRAPH_TIME_MIN ? "since" : "until", (long long)(*start <
		    GRAPH_TIME_MIN ? *start : *end),
		    (long long)GRAPH_TIME_MIN);
		return -1;
	}
	if (*end > now + GRAPH_FUTURE_MAX || *start > now +
	    GRAPH_FUTURE_MAX) {
		api_error(req, HTTP_BADREQUEST, "%s: more than a year ahead",
		    *end > now + GRAPH_FUTURE_MAX ? "until" : "since");
		return -1;
	}
	if (*end <= *start) {
		api_error(req, HTTP_BADREQUEST, "since must be before until");
		return -1;
	}
	return 0;
}

static int
graph_query(struct evhttp_request *req, struct gq *q)
{
	struct evkeyvalq kv;
	const char *v;
	char *end;
	int rc = -1;

	TAILQ_INIT(&kv);
	q->width = 800;
	q->height = 300;
	if (api_query(req, &kv) == -1)
		return -1;
	if (metric_query_range(req, &kv, time(NULL), &q->start, &q->end,
	    &q->since_given) != 0)
		goto out;
	q->trend = 0;
	if ((v = evhttp_find_header(&kv, "trend")) != NULL) {
		if (strcmp(v, "up") == 0)
			q->trend = 1;
		else if (strcmp(v, "down") == 0)
			q->trend = 2;
		else {
			api_error(req, HTTP_BADREQUEST, "trend: \"%s\" is not "
			    "up or down", v);
			goto out;
		}
	}
	if ((v = evhttp_find_header(&kv, "width")) != NULL &&
	    ((q->width = strtol(v, &end, 10)) < 200 || q->width > 4000 ||
	    *end != '\0' || end == v)) {
		api_error(req, HTTP_BADREQUEST, "width: \"%s\" is not a "
		    "number of pixels from 200 to 4000", v);
		goto out;
	}
	if ((v = evhttp_find_header(&kv, "height")) != NULL &&
	    ((q->height = strtol(v, &end, 10)) < 100 || q->height > 2000 ||
	    *end != '\0' || end == v)) {
		api_error(req, HTTP_BADREQUEST, "height: \"%s\" is not a "
		    "number of pixels from 100 to 2000", v);
		goto out;
	}
	rc = 0;
out:
	evhttp_clear_headers(&kv);
	return rc;
}

/* Splits "a,b,c" in place (unless the whole is a known metric). */
static unsigned
split_metrics(char *list, const struct check *c, char **out, unsigned max)
{
	unsigned n = 0;
	char *p, *save = NULL;

	if (last_metric(c, list) != NULL || strchr(list, ',') == NULL) {
		out[0] = list;
		return 1;
	}
	for (p = strtok_r(list, ",", &save); p != NULL && n < max;
	    p = strtok_r(NULL, ",", &save))
		out[n++] = p;
	return n;
}

/*
 * One graph request between the loop and a worker (pool.h).  The loop
 * fills everything from the config (names, thresholds: loop data) and
 * queues the flush of the file; the worker waits for that flush, checks
 * the data sources and draws; the loop replies.
 */
struct gjob {
	struct evhttp_request *req;	/* borrowed until answered */
	struct metric_flush *flush;	/* waited for on the worker */
	char *checkname;		/* owned */
	char *path;			/* owned */
	char *metrics[GRAPH_MAX_METRICS]; /* owned copies */
	unsigned nm;
	char *args[80];			/* borrowed from own[] or literals */
	char *own[80];			/* owned */
	unsigned nargs, nown;
	unsigned hw_from;		/* the band's args start here; 0 none */
	int trend;			/* as struct gq's; one metric only */
	time_t trend_start;		/* the trend is fitted from here */
	time_t trend_end;		/* and drawn to here */
	double trend_lo, trend_hi;	/* its values drawn (axis unit) */
	bool svg;
	bool auto_start;		/* no since: start where the data does */
	/*
	 * What the worker decides once it has read the data: which
	 * thresholds are in view (in the axis' unit), the key's figures.
	 */
	struct {
		double v;		/* in the axis' unit */
		bool crit;
	} lines[4 * GRAPH_MAX_METRICS];
	unsigned nlines;
	double scale[GRAPH_MAX_METRICS];	/* metric unit -> axis unit */
	char munit[GRAPH_MAX_METRICS][8];	/* each metric's drawn unit */
	char unit[8];			/* the axis' unit, "" if none or mixed */
	char title[512];		/* the key so far: names and colours */
	char note[512];			/* what the worker adds to it */
	double ymin, ymax;		/* the axis drawn, from librrd */
	double xstart, xend;		/* the time range drawn */
	struct metric_mark marks[METRIC_MARKS_MAX];	/* changes */
	unsigned nmarks;
	/* the worker's answer */
	int code;			/* 200, 404 or 500 */
	char msg[512];
	void *img;			/* owned, the image on 200 */
	size_t len;
};

static void
gjob_free(struct gjob *g)
{
	unsigned k;

	if (g == NULL)
		return;
	for (k = 0; k < g->nown; k++)
		free(g->own[k]);
	for (k = 0; k < g->nm; k++)
		free(g->metrics[k]);
	free(g->checkname);
	free(g->path);
	free(g->img);
	free(g);
}

/*
 * "40 µs", "2.7", "1.5 MB", "93 %": v in unit, with an SI prefix where
 * the unit takes one (not "%", not a bare number's 0.001 as "1 m").
 */
static void
fmt_human(char *buf, size_t len, double v, const char *unit)
{
	static const char *const pre[] = { "n", "µ", "m", "", "k", "M", "G",
	    "T", "P" };
	double a = fabs(v);
	int e = 3;

	if (isnan(v)) {
		snprintf(buf, len, "-");
		return;
	}
	if (unit[0] == '\0' || strcmp(unit, "%") == 0) {
		snprintf(buf, len, "%.3g%s%s", v, unit[0] ? " " : "", unit);
		return;
	}
	while (a >= 1000 && e < 8) {
		a /= 1000;
		v /= 1000;
		e++;
	}
	while (a != 0 && a < 1 && e > 0) {
		a *= 1000;
		v *= 1000;
		e--;
	}
	snprintf(buf, len, "%.3g %s%s", v, pre[e], unit);
}

/* Last, average, maximum and minimum of ds in [start, end], scaled. */
struct gstats {
	double last, avg, max, min;
	time_t first;			/* of the first known value, or 0 */
};

/* The range the args say (--start=, --end=). */
static void
graph_range(const struct gjob *g, time_t *start, time_t *end)
{
	unsigned k;

	for (k = 0; k < g->nargs; k++) {
		if (strncmp(g->args[k], "--start=", 8) == 0)
			*start = (time_t)strtoll(g->args[k] + 8, NULL, 10);
		if (strncmp(g->args[k], "--end=", 6) == 0)
			*end = (time_t)strtoll(g->args[k] + 6, NULL, 10);
	}
}

/* Over [start, end]; 0, 0: the graph's range. */
static void
graph_stats(const struct gjob *g, const char *ds, double scale,
    time_t start, time_t end, struct gstats *s)
{
	unsigned long step = 0, nds = 0, col, r, rows, n = 0;
	char **names = NULL;
	rrd_value_t *data = NULL;
	double sum = 0, v;
	unsigned k;

	s->last = s->avg = s->max = s->min = NAN;
	s->first = 0;
	if (start == 0 && end == 0)
		graph_range(g, &start, &end);
	rrd_clear_error();
	metric_lock();
	if (rrdio_fetch(g->path, "AVERAGE", &start, &end, &step, &nds, &names,
	    &data) != 0) {
		metric_unlock();
		return;
	}
	metric_unlock();
	for (col = 0; col < nds; col++)
		if (strcmp(names[col], ds) == 0)
			break;
	rows = step > 0 ? (unsigned long)(end - start) / step : 0;
	for (r = 0; col < nds && r < rows; r++) {
		v = data[r * nds + col];
		if (isnan(v))
			continue;
		v *= scale;
		if (s->first == 0)	/* row r ends at start + (r+1)*step */
			s->first = start + (time_t)((r + 1) * step);
		s->last = v;
		s->max = isnan(s->max) || v > s->max ? v : s->max;
		s->min = isnan(s->min) || v < s->min ? v : s->min;
		sum += v;
		n++;
	}
	if (n > 0)
		s->avg = sum / (double)n;
	for (k = 0; k < nds; k++)
		free(names[k]);
	free(names);
	free(data);
}

/* Appends printf text to buf (a fixed array). */
static void
graph_cat(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
graph_cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/*
 * Without since, the default day back from now showed an hour of data as
 * a sliver at the right edge: start where the values start (a twentieth
 * of the span before, at least 10 minutes shown) when that is later.
 */
static void
graph_start_at_data(struct gjob *g, time_t first)
{
	time_t start = 0, end = 0, want;
	unsigned k, at = 0;
	char *s;

	graph_range(g, &start, &end);
	for (k = 0; k < g->nargs; k++)
		if (strncmp(g->args[k], "--start=", 8) == 0)
			at = k;
	if (at == 0 || end <= first)
		return;
	want = first - (end - first) / 20;
	if (end - want < 600)
		want = end - 600;
	if (want <= start)
		return;
	/* args[at] points into own[]: replace that string */
	if (asprintf(&s, "--start=%lld", (long long)want) < 0)
		return;
	for (k = 0; k < g->nown; k++)
		if (g->own[k] == g->args[at]) {
			free(g->own[k]);
			g->own[k] = s;
			g->args[at] = s;
			return;
		}
	free(s);
}

/*
 * The check's changes in the range drawn: a purple vertical line each,
 * and "changes: #12 deploy shop 2.3 (14:03 UTC)" in the key (the title:
 * no legend, see below).
 */
static void
graph_marks(struct gjob *g)
{
	time_t start = 0, end = 0;
	unsigned k, n = 0;
	char when[16];
	struct tm tm;

	graph_range(g, &start, &end);
	for (k = 0; k < g->nmarks && g->nown < 79 && g->nargs < 79; k++) {
		const struct metric_mark *m = &g->marks[k];

		if (m->at < start || m->at > end ||
		    asprintf(&g->own[g->nown], "VRULE:%lld#9467BD",
		    (long long)m->at) < 0)
			continue;
		g->args[g->nargs++] = g->own[g->nown++];
		gmtime_r(&m->at, &tm);
		strftime(when, sizeof(when), end - start > 2 * 86400 ?
		    "%m-%d %H:%M" : "%H:%M", &tm);
		graph_cat(g->note, sizeof(g->note), "%s #%lld %s (%s UTC)",
		    n++ == 0 ? "  changes:" : ",", m->id, m->title, when);
	}
}

/*
 * On the worker, once the data can be read: the axis scales to the data
 * (not to thresholds far above it: a 1-5 ms response time on a 0-3.4 s
 * axis showed nothing); a threshold is drawn when it is in or near the
 * data's range, and the key says which are above.  The key has the
 * figures of the range: last, average, maximum, minimum for one metric;
 * for several, each one's last value (for room).  They are
 * in the title because librrd 1.7.2 loses the text of every legend
 * entry (about 10 bytes each, per graph).
 */
static void
graph_finish_args(struct gjob *g)
{
	struct gstats s[GRAPH_MAX_METRICS];
	double dmax = NAN, dmin = NAN, top = NAN;
	char a[48], b[48], c[48], d[48], above[256];
	time_t first = 0, start = 0, end = 0;
	unsigned k;

	/*
	 * Young data: a day's graph reads a coarse archive that has no
	 * value yet.  Where do the last two hours' values start (the raw
	 * archive holds at least that)?
	 */
	if (g->auto_start) {
		graph_range(g, &start, &end);
		for (k = 0; k < g->nm; k++) {
			char ds[METRIC_DS_MAX + 1];

			metric_ds_name(g->metrics[k], ds);
			graph_stats(g, ds, 1, end - 7200, end, &s[k]);
			if (s[k].first != 0 && (first == 0 ||
			    s[k].first < first))
				first = s[k].first;
		}
		/* values all through the two hours: the day as asked */
		if (first != 0 && first > end - 7200 + 600)
			graph_start_at_data(g, first);
	}
	for (k = 0; k < g->nm; k++) {
		char ds[METRIC_DS_MAX + 1];

		metric_ds_name(g->metrics[k], ds);
		graph_stats(g, ds, g->scale[k], 0, 0, &s[k]);
		if (!isnan(s[k].max))
			dmax = isnan(dmax) || s[k].max > dmax ? s[k].max :
			    dmax;
		if (!isnan(s[k].min))
			dmin = isnan(dmin) || s[k].min < dmin ? s[k].min :
			    dmin;
	}
	if (g->trend != 0 && !isnan(g->trend_hi)) {
		double hi = fmax(g->trend_lo, g->trend_hi);
		double lo = fmin(g->trend_lo, g->trend_hi);

		dmax = isnan(dmax) || hi > dmax ? hi : dmax;
		dmin = isnan(dmin) || lo < dmin ? lo : dmin;
	}
	above[0] = '\0';
	/* room for a line each, the upper limit and the title */
	for (k = 0; k < g->nlines && g->nown + 3 < 80 && g->nargs + 3 < 80;
	    k++) {
		double v = g->lines[k].v;
		/* in view: up to a quarter above the highest value */
		bool in = !isnan(dmax) && v <= (dmax > 0 ? dmax * 1.25 :
		    dmax + 1) && (v >= 0 || (!isnan(dmin) && v >= dmin));

		if (in) {
			if (asprintf(&g->own[g->nown], "HRULE:%.17g#%s", v,
			    g->lines[k].crit ? "D62728" : "FF9900") < 0)
				continue;
			g->args[g->nargs++] = g->own[g->nown++];
			top = isnan(top) || v > top ? v : top;
		} else if (!isnan(dmax) && v > dmax) {
			fmt_human(a, sizeof(a), v, g->unit);
			graph_cat(above, sizeof(above), "%s%s %s", above[0] ?
			    ", " : "", g->lines[k].crit ? "crit" : "warn", a);
		}
	}
	/* autoscale ignores HRULEs: make room for a drawn one above data */
	if (!isnan(top) && top > 0 && (isnan(dmax) || top >= dmax) &&
	    g->nown < 80 && g->nargs < 80 && asprintf(&g->own[g->nown],
	    "--upper-limit=%.17g", top * 1.05) >= 0)
		g->args[g->nargs++] = g->own[g->nown++];
	g->note[0] = '\0';
	if (isnan(dmax))
		graph_cat(g->note, sizeof(g->note), "  no values in this "
		    "range");
	else if (g->nm == 1) {
		fmt_human(a, sizeof(a), s[0].last, g->unit);
		fmt_human(b, sizeof(b), s[0].avg, g->unit);
		fmt_human(c, sizeof(c), s[0].max, g->unit);
		fmt_human(d, sizeof(d), s[0].min, g->unit);
		graph_cat(g->note, sizeof(g->note), "  last %s  avg %s  max %s"
		    "  min %s", a, b, c, d);
	} else {
		/* several: the last value of each, for room */
		graph_cat(g->note, sizeof(g->note), "  last");
		for (k = 0; k < g->nm; k++) {
			fmt_human(a, sizeof(a), s[k].last, g->munit[k]);
			graph_cat(g->note, sizeof(g->note), "%s %s %s",
			    k > 0 ? "," : "", g->metrics[k], a);
		}
	}
	graph_marks(g);
	if (above[0] != '\0')
		graph_cat(g->note, sizeof(g->note), "  (%s: above the graph)",
		    above);
	else if (!isnan(top))
		graph_cat(g->note, sizeof(g->note), "  (warn orange, crit "
		    "red)");
	if (g->nown < 80 && g->nargs < 80 &&
	    asprintf(&g->own[g->nown], "--title=%s%s",
	    g->title, g->note) >= 0)
		g->args[g->nargs++] = g->own[g->nown++];
	/* files on a remote rrdcached: librrd fetches the DEFs there */
	if (rrdio_remote() != NULL && g->nown < 80 && g->nargs < 80 &&
	    asprintf(&g->own[g->nown], "--daemon=%s", rrdio_remote()) >= 0)
		g->args[g->nargs++] = g->own[g->nown++];
}

/*
 * ?trend=up|down: the capacity trend (forecast_trend over the graph's
 * window up to now: daily maxima, or minima going down) drawn dashed
 * from the window's start to its end, which may be in the future (the
 * dashboard's Capacity page draws it to the crossing).  No trend (a
 * poor fit): nothing drawn, and the key says so.
 */
static void
graph_trend(struct gjob *g)
{
	struct forecast fc;
	char ds[METRIC_DS_MAX + 1], err[256], why[256];
	time_t now = time(NULL);

	metric_ds_name(g->metrics[0], ds);
	if (forecast_trend(g->path, ds, g->trend_start, now, g->trend == 2,
	    &fc, err, sizeof(err)) != 0 || !forecast_has_trend(&fc, why,
	    sizeof(why))) {
		graph_cat(g->title, sizeof(g->title), " (no trend)");
		return;
	}
	/* a threshold the line reaches is in view (graph_finish_args) */
	g->trend_lo = (fc.value_now + fc.slope * (double)(g->trend_start -
	    fc.end)) * g->scale[0];
	g->trend_hi = (fc.value_now + fc.slope * (double)(g->trend_end -
	    fc.end)) * g->scale[0];
	if (g->nown + 2 > 80 || g->nargs + 2 > 80)
		return;
	/* m0 only sets the time base; TIME is every row's, future too */
	if (asprintf(&g->own[g->nown], "CDEF:tr=m0,POP,TIME,%lld,-,%.17g,*,"
	    "%.17g,+,%.17g,*", (long long)fc.end, fc.slope, fc.value_now,
	    g->scale[0]) < 0)
		return;
	g->args[g->nargs++] = g->own[g->nown++];
	if (asprintf(&g->own[g->nown], "LINE2:tr#9467BD::dashes") < 0)
		return;
	g->args[g->nargs++] = g->own[g->nown++];
	graph_cat(g->title, sizeof(g->title), " (trend dashed)");
}

/* Does the file at path have Holt-Winters archives? */
static bool
has_hw(const char *path)
{
	time_t end = time(NULL), start = end - 3600;
	unsigned long step = 1, nds = 0, k;
	char **names = NULL;
	rrd_value_t *data = NULL;

	rrd_clear_error();
	if (rrdio_fetch(path, "HWPREDICT", &start, &end, &step, &nds, &names,
	    &data) != 0)
		return false;
	for (k = 0; k < nds; k++)
		free(names[k]);
	free(names);
	free(data);
	return true;
}

/* On a worker: everything that reads the disk or draws. */
static void
graph_work(void *arg)
{
	struct gjob *g = arg;
	rrd_info_t *info, *i;
	unsigned k;
	int found;

	metric_flush_wait(g->flush);
	g->flush = NULL;
	if (rrdio_remote() != NULL && rrdio_exists(g->path) == -1) {
		g->code = HTTP_SERVUNAVAIL;
		snprintf(g->msg, sizeof(g->msg), "cannot read %s: %s", g->path,
		    rrd_get_error());
		return;
	}
	for (k = 0; k < g->nm; k++) {
		char ds[METRIC_DS_MAX + 1];

		metric_ds_name(g->metrics[k], ds);
		if ((found = has_ds(g->path, ds)) == -1) {
			g->code = HTTP_NOTFOUND;
			snprintf(g->msg, sizeof(g->msg), "no metrics stored for "
			    "check %s", g->checkname);
			return;
		}
		if (found == 0) {
			g->code = HTTP_NOTFOUND;
			snprintf(g->msg, sizeof(g->msg), "check %s: no metric "
			    "%s stored", g->checkname, g->metrics[k]);
			return;
		}
	}
	if (g->hw_from > 0 && !has_hw(g->path))
		g->nargs = g->hw_from;	/* own[] still frees their text */
	if (g->trend != 0)
		graph_trend(g);
	graph_finish_args(g);
	/* librrd's error text is per thread: this worker's */
	rrd_clear_error();
	metric_lock();
	info = rrd_graph_v((int)g->nargs, g->args);
	metric_unlock();
	g->ymin = g->ymax = g->xstart = g->xend = NAN;
	for (i = info; i != NULL; i = i->next) {
		if (strcmp(i->key, "graph_start") == 0 && i->type == RD_I_CNT)
			g->xstart = (double)i->value.u_cnt;
		if (strcmp(i->key, "graph_end") == 0 && i->type == RD_I_CNT)
			g->xend = (double)i->value.u_cnt;
		if (strcmp(i->key, "value_min") == 0 && i->type == RD_I_VAL)
			g->ymin = i->value.u_val;
		if (strcmp(i->key, "value_max") == 0 && i->type == RD_I_VAL)
			g->ymax = i->value.u_val;
	}
	for (i = info; i != NULL; i = i->next)
		if (strcmp(i->key, "image") == 0 && i->type == RD_I_BLO)
			break;
	if (i == NULL) {
		g->code = HTTP_INTERNAL;
		snprintf(g->msg, sizeof(g->msg), "cannot draw the graph: %s",
		    rrd_get_error());
	} else if ((g->img = malloc(i->value.u_blo.size > 0 ?
	    i->value.u_blo.size : 1)) == NULL) {
		g->code = HTTP_INTERNAL;
		snprintf(g->msg, sizeof(g->msg), "out of memory");
	} else {
		memcpy(g->img, i->value.u_blo.ptr, i->value.u_blo.size);
		g->len = i->value.u_blo.size;
		g->code = HTTP_OK;
	}
	if (info != NULL)
		rrd_info_free(info);
}

static void
graph_img_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

/* On the loop: the answer. */
static void
graph_done(void *arg)
{
	struct gjob *g = arg;
	struct evbuffer *out;

	if (g->code != HTTP_OK) {
		if (g->code == HTTP_INTERNAL)
			log_warnx("graph of %s: %s", g->checkname, g->msg);
		api_error(g->req, g->code, "%s", g->msg);
	} else if ((out = evbuffer_new()) == NULL ||
	    evbuffer_add_reference(out, g->img, g->len, graph_img_free,
	    NULL) != 0) {
		if (out != NULL)
			evbuffer_free(out);
		api_reply(g->req, HTTP_INTERNAL, NULL);
	} else {
		struct evkeyvalq *h = evhttp_request_get_output_headers(g->req);
		char v[1100], *p, *q;

		/* for scripts (and tests): what the image shows, as text */
		snprintf(v, sizeof(v), "%.6g %.6g", g->ymin, g->ymax);
		evhttp_add_header(h, "X-Tocsin-Y-Range", v);
		snprintf(v, sizeof(v), "%.0f %.0f", g->xstart, g->xend);
		evhttp_add_header(h, "X-Tocsin-Time-Range", v);
		evhttp_add_header(h, "X-Tocsin-Y-Unit", g->unit);
		snprintf(v, sizeof(v), "%s%s", g->title, g->note);
		/* a header is ASCII: "?" for each other character */
		for (p = q = v; *p != '\0'; p++) {
			if (((unsigned char)*p & 0xc0) == 0x80)
				continue;	/* UTF-8 continuation */
			*q++ = (unsigned char)*p >= 0x80 || *p < 0x20 ? '?' :
			    *p;
		}
		*q = '\0';
		evhttp_add_header(h, "X-Tocsin-Key", v);
		g->img = NULL;		/* the buffer frees it */
		api_send_type(g->req, HTTP_OK, g->svg ? "image/svg+xml" :
		    "image/png", out);
		evbuffer_free(out);
	}
	gjob_free(g);
}

/* 503 with Retry-After: the graph queue is full. */
static void
graph_busy(struct evhttp_request *req)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Retry-After", "2");
	api_error(req, HTTP_SERVUNAVAIL, "busy: %u graphs waiting already; "
	    "retry later", pool_queued());
}

static void
get_graph(struct evhttp_request *req, const char *rest, void *arg)
{
	char *checkname = NULL, *mlist = NULL, *enc = NULL;
	char *metrics[GRAPH_MAX_METRICS], path_esc[1024];
	const char *slash, *dot, *fmt;
	struct check *c;
	struct gq q;
	struct gjob *g = NULL;
	unsigned nm, k;
	bool svg;

	(void)arg;
	slash = strchr(rest, '/');
	dot = strrchr(rest, '.');
	if (slash == NULL || dot == NULL || dot < slash ||
	    (strcmp(dot, ".png") != 0 && strcmp(dot, ".svg") != 0)) {
		api_error(req, HTTP_NOTFOUND, "use /api/v1/graph/CHECK/"
		    "METRIC.png or .svg");
		return;
	}
	svg = strcmp(dot, ".svg") == 0;
	if ((enc = strndup(rest, (size_t)(slash - rest))) == NULL ||
	    (checkname = api_path_name(req, enc, "check")) == NULL)
		goto out;
	free(enc);
	if ((enc = strndup(slash + 1, (size_t)(dot - slash - 1))) == NULL ||
	    (mlist = api_path_name(req, enc, "metric")) == NULL)
		goto out;
	if (graph_query(req, &q) != 0)
		goto out;
	/* refused before any work when the workers are behind */
	if (pool_full()) {
		graph_busy(req);
		goto out;
	}
	c = daemon_g.cf != NULL ? conf_check(daemon_g.cf, checkname) : NULL;
	nm = split_metrics(mlist, c, metrics, GRAPH_MAX_METRICS);
	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto oom;
	g->req = req;
	g->svg = svg;
	g->auto_start = !q.since_given;
	for (k = 0; k < nm; k++) {
		if ((g->metrics[k] = strdup(metrics[k])) == NULL)
			goto oom;
		g->nm++;
	}
	if ((g->checkname = strdup(checkname)) == NULL)
		goto oom;
	/* an indexed read of the incident log; the worker draws them */
	if (marks_fn != NULL && c != NULL)
		g->nmarks = marks_fn(c, q.start, q.end, g->marks,
		    METRIC_MARKS_MAX);
	if ((g->path = metric_path(checkname)) == NULL) {
		api_error(req, HTTP_INTERNAL, "the metric store is not running");
		goto out;
	}

#define ARG(s)	do { g->args[g->nargs++] = (s); } while (0)
#define OWN(...) do {						\
		if (asprintf(&g->own[g->nown], __VA_ARGS__) < 0)	\
			goto oom;					\
		g->args[g->nargs++] = g->own[g->nown++];		\
	} while (0)
	esc_colon(path_esc, sizeof(path_esc), g->path);
	fmt = svg ? "SVG" : "PNG";
	ARG("graph");
	ARG("-");
	ARG("--imgformat");
	ARG((char *)fmt);
	ARG("--full-size-mode");
	OWN("--start=%lld", (long long)q.start);
	OWN("--end=%lld", (long long)q.end);
	OWN("--width=%ld", q.width);
	OWN("--height=%ld", q.height);
	/*
	 * The axis' unit: each metric's values are drawn in its base unit
	 * (ms as s, KB as B), so librrd's SI prefixes read right: a ping's
	 * 0.040 ms is "40 µ" on an axis labelled "s", not "40 m" of ms.
	 * Counters are stored as rates: "/s".  Metrics of different units
	 * share an axis without a label.
	 */
	for (k = 0; k < nm; k++) {
		const struct metric *m = last_metric(c, metrics[k]);
		const char *u = m != NULL && m->unit != NULL ? m->unit : "";
		char axis[8];

		g->scale[k] = 1;
		if (strcmp(u, "ms") == 0 || strcmp(u, "us") == 0) {
			g->scale[k] = u[0] == 'm' ? 1e-3 : 1e-6;
			u = "s";
		} else if (strcmp(u, "KB") == 0 || strcmp(u, "MB") == 0 ||
		    strcmp(u, "GB") == 0 || strcmp(u, "TB") == 0) {
			g->scale[k] = u[0] == 'K' ? 1e3 : u[0] == 'M' ? 1e6 :
			    u[0] == 'G' ? 1e9 : 1e12;
			u = "B";
		} else if (strcmp(u, "c") == 0)
			u = "";
		snprintf(axis, sizeof(axis), "%s%s", u, m != NULL &&
		    (m->flags & TOCSIN_METRIC_COUNTER) ? "/s" : "");
		snprintf(g->munit[k], sizeof(g->munit[k]), "%s", axis);
		if (k == 0)
			snprintf(g->unit, sizeof(g->unit), "%s", axis);
		else if (strcmp(g->unit, axis) != 0)
			g->unit[0] = '\0';
	}
	if (g->unit[0] != '\0')
		OWN("--vertical-label=%s", g->unit);
	if (strcmp(g->unit, "%") == 0)
		ARG("--units-exponent=0");	/* no "m%" */
	/*
	 * The key (names, colours; the worker adds the range's figures) is
	 * in the title, not in a legend: librrd 1.7.2 loses the text of
	 * every legend entry (about 10 bytes each, per graph; seen with
	 * ASan), which a daemon drawing a dashboard all day must not.
	 */
	{
		char *t = g->title;
		size_t left = sizeof(g->title);
		int w;

		w = snprintf(t, left, "%s:", checkname);
		for (k = 0; k < nm && w >= 0 && (size_t)w < left; k++) {
			t += w;
			left -= (size_t)w;
			w = snprintf(t, left, "%s %s%s%s", k > 0 ? "," : "",
			    metrics[k], nm > 1 ? " " : "", nm > 1 ?
			    color_names[k] : "");
		}
	}
	ARG("--no-legend");
	for (k = 0; k < nm; k++) {
		const struct metric *m = last_metric(c, metrics[k]);
		char ds[METRIC_DS_MAX + 1];
		double lines[2];
		int nl, j;

		metric_ds_name(metrics[k], ds);
		OWN("DEF:m%u=%s:%s:AVERAGE", k, path_esc, ds);
		if (g->scale[k] != 1) {
			OWN("CDEF:v%u=m%u,%.17g,*", k, k, g->scale[k]);
			OWN("LINE2:v%u#%s", k, colors[k]);
		} else
			OWN("LINE2:m%u#%s", k, colors[k]);
		if (m == NULL)
			continue;
		/* drawn by the worker when in view */
		nl = range_lines(m->warn, lines);
		for (j = 0; j < nl && g->nlines < 4 * GRAPH_MAX_METRICS; j++) {
			g->lines[g->nlines].v = lines[j] * g->scale[k];
			g->lines[g->nlines++].crit = false;
		}
		nl = range_lines(m->crit, lines);
		for (j = 0; j < nl && g->nlines < 4 * GRAPH_MAX_METRICS; j++) {
			g->lines[g->nlines].v = lines[j] * g->scale[k];
			g->lines[g->nlines++].crit = true;
		}
	}
	/*
	 * aberration = yes, one metric: librrd's Holt-Winters band
	 * (HWPREDICT +- 2 DEVPREDICT, what FAILURES measures against),
	 * green and see-through, over the line.  The worker drops it when
	 * the file predates the key and has no such archives.
	 */
	g->trend_lo = g->trend_hi = NAN;
	if (q.trend != 0 && nm == 1) {
		g->trend = q.trend;
		g->trend_start = q.start;
		g->trend_end = q.end;
	}
	if (c != NULL && c->aberration && nm == 1) {
		char ds[METRIC_DS_MAX + 1];

		metric_ds_name(metrics[0], ds);
		g->hw_from = g->nargs;
		OWN("DEF:hp=%s:%s:HWPREDICT", path_esc, ds);
		OWN("DEF:hd=%s:%s:DEVPREDICT", path_esc, ds);
		OWN("CDEF:hlo=hp,hd,2,*,-,%.17g,*", g->scale[0]);
		OWN("CDEF:hbw=hd,4,*,%.17g,*", g->scale[0]);
		ARG("LINE:hlo");
		ARG("AREA:hbw#00AA5540::STACK");
	}
#undef ARG
#undef OWN
	/* the loop only queues the flush; the worker waits for it */
	metric_flush_start(checkname, &g->flush);
	if (pool_submit(graph_work, graph_done, g) != 0) {
		/* only out of memory now (pool_full() was false) */
		metric_flush_wait(g->flush);
		g->flush = NULL;
		goto oom;
	}
	g = NULL;		/* graph_done() answers and frees it */
	goto out;
oom:
	api_reply(req, HTTP_INTERNAL, NULL);
out:
	gjob_free(g);
	free(enc);
	free(checkname);
	free(mlist);
}

void
metric_graph_set_marks(metric_marks_fn *fn)
{
	marks_fn = fn;
}

int
metric_graph_init(void)
{
	return api_route_add(EVHTTP_REQ_GET, "/api/v1/graph/", 0, get_graph,
	    NULL);
}

#if defined(__SANITIZE_ADDRESS__)
/*
 * Sanitizer builds: the font stack under rrd_graph_v (fontconfig, pango,
 * cairo, glib's worker thread) keeps process-wide caches it never frees,
 * and librrd 1.7.2 itself loses about 35 bytes per graph (plus the title's
 * length), whatever the options (measured with ASan on a bare program).
 * Those are not tocsind's leaks; LeakSanitizer reads this list at exit.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n"
	    "leak:libpango-1.0.so\n"
	    "leak:libpangoft2-1.0.so\n"
	    "leak:libpangocairo-1.0.so\n"
	    "leak:libcairo.so\n"
	    "leak:libglib-2.0.so\n"
	    "leak:librrd.so\n";
}
#endif
