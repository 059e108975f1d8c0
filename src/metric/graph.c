/*
 * graph.c — GET /api/v1/graph/CHECK/METRIC[,METRIC…].png|.svg, drawn by
 * librrd's graph API (rrd_graph_v, in memory: no rrdtool process, no
 * temporary file).
 *
 * Query: since (a duration before now, "1d", or a Unix time), until (the
 * same, default now), width and height (pixels of the whole image,
 * 200..4000 x 100..2000).  Thresholds of the check's last result are drawn
 * as horizontal lines (orange warn, red crit).  The file is flushed from
 * the store (and rrdcached) first, so the graph shows every value.
 * Rendering is synchronous CPU work on the loop, a few milliseconds.
 */
#include <ctype.h>
#include <math.h>
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
#include "metric/metric.h"

#define GRAPH_MAX_METRICS	8

static const char *const colors[GRAPH_MAX_METRICS] = {
	"1F77B4", "2CA02C", "9467BD", "8C564B", "17BECF", "7F7F7F",
	"BCBD22", "E377C2",
};
static const char *const color_names[GRAPH_MAX_METRICS] = {
	"blue", "green", "purple", "brown", "cyan", "grey", "olive", "pink",
};

/* "1d" (before now) or a Unix time.  RETURN VALUE: 0, or -1. */
int
metric_parse_when(const char *text, time_t now, time_t *out)
{
	int64_t ms;
	char *end;
	long long v;

	if (text == NULL || *text == '\0')
		return -1;
	v = strtoll(text, &end, 10);
	if (*end == '\0' && v >= 100000000LL) {
		*out = (time_t)v;
		return 0;
	}
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
	if ((info = rrd_info_r(path)) == NULL)
		return -1;
	for (i = info; i != NULL; i = i->next)
		if (strcmp(i->key, key) == 0)
			found = 1;
	rrd_info_free(info);
	return found;
}

struct gq {
	time_t start, end;
	long width, height;
};

static int
graph_query(struct evhttp_request *req, struct gq *q)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq kv;
	const char *v;
	time_t now = time(NULL);
	char *end;
	int rc = -1;

	TAILQ_INIT(&kv);
	q->start = now - 86400;
	q->end = now;
	q->width = 800;
	q->height = 300;
	if (query != NULL && evhttp_parse_query_str(query, &kv) == -1) {
		api_error(req, HTTP_BADREQUEST, "malformed query string");
		return -1;
	}
	if ((v = evhttp_find_header(&kv, "since")) != NULL &&
	    metric_parse_when(v, now, &q->start) != 0) {
		api_error(req, HTTP_BADREQUEST, "since: \"%s\" is neither a "
		    "duration (1d) nor a Unix time", v);
		goto out;
	}
	if ((v = evhttp_find_header(&kv, "until")) != NULL &&
	    metric_parse_when(v, now, &q->end) != 0) {
		api_error(req, HTTP_BADREQUEST, "until: \"%s\" is neither a "
		    "duration (1h) nor a Unix time", v);
		goto out;
	}
	if (q->end <= q->start) {
		api_error(req, HTTP_BADREQUEST, "since must be before until");
		goto out;
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

static void
get_graph(struct evhttp_request *req, const char *rest, void *arg)
{
	char *args[64], *own[64], *checkname = NULL, *mlist = NULL, *enc = NULL;
	char *metrics[GRAPH_MAX_METRICS], path_esc[1024], *path = NULL;
	char title[512];
	const char *slash, *dot, *fmt;
	struct check *c;
	struct gq q;
	rrd_info_t *info = NULL, *i;
	struct evbuffer *out;
	unsigned nm, k, nargs = 0, nown = 0;
	double top = NAN;
	int found;
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
	c = daemon_g.cf != NULL ? conf_check(daemon_g.cf, checkname) : NULL;
	nm = split_metrics(mlist, c, metrics, GRAPH_MAX_METRICS);
	if ((path = metric_path(checkname)) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	metric_flush(checkname);
	for (k = 0; k < nm; k++) {
		char ds[METRIC_DS_MAX + 1];

		metric_ds_name(metrics[k], ds);
		if ((found = has_ds(path, ds)) == -1) {
			api_error(req, HTTP_NOTFOUND, "no metrics stored for "
			    "check %s", checkname);
			goto out;
		}
		if (found == 0) {
			api_error(req, HTTP_NOTFOUND, "check %s: no metric %s "
			    "stored", checkname, metrics[k]);
			goto out;
		}
	}

#define ARG(s)	do { args[nargs++] = (s); } while (0)
#define OWN(...) do { if (asprintf(&own[nown], __VA_ARGS__) < 0) goto oom; \
	args[nargs++] = own[nown++]; } while (0)
	esc_colon(path_esc, sizeof(path_esc), path);
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
	 * The key is in the title, not in a legend: librrd 1.7.2 loses the
	 * text of every legend entry (about 10 bytes each, per graph; seen
	 * with ASan), which a daemon drawing a dashboard all day must not.
	 */
	{
		char *t = title;
		size_t left = sizeof(title);
		int w;
		bool lines_drawn = false;

		w = snprintf(t, left, "%s:", checkname);
		for (k = 0; k < nm && w >= 0 && (size_t)w < left; k++) {
			const struct metric *m = last_metric(c, metrics[k]);
			double l[2];

			t += w;
			left -= (size_t)w;
			w = snprintf(t, left, "%s %s%s%s", k > 0 ? "," : "",
			    metrics[k], nm > 1 ? " " : "", nm > 1 ?
			    color_names[k] : "");
			if (m != NULL && (range_lines(m->warn, l) > 0 ||
			    range_lines(m->crit, l) > 0))
				lines_drawn = true;
		}
		if (lines_drawn && w >= 0 && (size_t)w < left)
			snprintf(t + w, left - (size_t)w,
			    "  (warn orange, crit red)");
	}
	OWN("--title=%s", title);	/* plain text: no escaping */
	ARG("--no-legend");
	for (k = 0; k < nm; k++) {
		const struct metric *m = last_metric(c, metrics[k]);
		double l[2];
		int nl, j;

		nl = m != NULL ? range_lines(m->warn, l) : 0;
		for (j = 0; j < nl; j++)
			top = isnan(top) || l[j] > top ? l[j] : top;
		nl = m != NULL ? range_lines(m->crit, l) : 0;
		for (j = 0; j < nl; j++)
			top = isnan(top) || l[j] > top ? l[j] : top;
	}
	/* autoscale ignores HRULEs: make room for the highest threshold */
	if (!isnan(top) && top > 0)
		OWN("--upper-limit=%.17g", top * 1.05);
	for (k = 0; k < nm; k++) {
		const struct metric *m = last_metric(c, metrics[k]);
		char ds[METRIC_DS_MAX + 1];
		double lines[2];
		int nl, j;

		metric_ds_name(metrics[k], ds);
		OWN("DEF:m%u=%s:%s:AVERAGE", k, path_esc, ds);
		OWN("LINE2:m%u#%s", k, colors[k]);
		if (m == NULL)
			continue;
		nl = range_lines(m->warn, lines);
		for (j = 0; j < nl && nargs < 60; j++)
			OWN("HRULE:%.17g#FF9900", lines[j]);
		nl = range_lines(m->crit, lines);
		for (j = 0; j < nl && nargs < 60; j++)
			OWN("HRULE:%.17g#D62728", lines[j]);
	}
#undef ARG
#undef OWN
	rrd_clear_error();
	metric_lock();
	info = rrd_graph_v((int)nargs, args);
	metric_unlock();
	for (i = info; i != NULL; i = i->next)
		if (strcmp(i->key, "image") == 0 && i->type == RD_I_BLO)
			break;
	if (i == NULL) {
		log_warnx("graph of %s: %s", checkname, rrd_get_error());
		api_error(req, HTTP_INTERNAL, "cannot draw the graph: %s",
		    rrd_get_error());
		goto out;
	}
	if ((out = evbuffer_new()) == NULL ||
	    evbuffer_add(out, i->value.u_blo.ptr, i->value.u_blo.size) != 0) {
		if (out != NULL)
			evbuffer_free(out);
		goto oom;
	}
	api_send_type(req, HTTP_OK, svg ? "image/svg+xml" : "image/png", out);
	evbuffer_free(out);
	goto out;
oom:
	api_reply(req, HTTP_INTERNAL, NULL);
out:
	if (info != NULL)
		rrd_info_free(info);
	for (k = 0; k < nown; k++)
		free(own[k]);
	free(enc);
	free(checkname);
	free(mlist);
	free(path);
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
