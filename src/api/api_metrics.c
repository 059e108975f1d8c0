/*
 * api_metrics.c — GET /metrics: tocsind's own figures and every check's
 * state and metrics in the Prometheus text exposition format (0.0.4).
 *
 * Built whole at request time from the config in force, stats_g and the
 * check types' counters, like every other reply; a scrape of 1,000 checks
 * with two metrics each is a few hundred KiB of text.  Never blocks: the
 * process figures come from getrusage() and /proc/self (procfs, which
 * answers from memory).
 *
 * Figures that other modules own (open incidents, the notifier's outbox)
 * come through api_gauge_register() (api_metrics.h): a module that has the figure
 * registers a function once; until then the gauge is 0, so a scraper sees
 * the same families whatever modules this build has.  Open incidents
 * come from stats_g, which the incident log keeps current.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>

#include <event2/buffer.h>

#include "api/api.h"
#include "api/api_metrics.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/plugin.h"
#include "core/state.h"
#include "core/stats.h"

/* ---- gauges owned by other modules ------------------------------------ */

struct api_gauge {
	char *name;
	char *help;
	api_gauge_fn *fn;
};
static struct api_gauge *api_gauges;
static unsigned api_ngauges;
#define API_PROM_MAX	8
static api_prom_fn *api_proms[API_PROM_MAX];
static unsigned api_nproms;

/* The gauges every scrape shows, registered or not. */
static const struct {
	const char *name, *help;
} api_gauge_std[] = {
	{ "tocsin_incidents_open", "Incidents open or acknowledged." },
	{ "tocsin_outbox_pending",
	    "Notifications due but not yet delivered (0 without the "
	    "notifier)." },
};
#define API_NGAUGE_STD	(sizeof(api_gauge_std) / sizeof(api_gauge_std[0]))

static api_handler api_get_metrics;

int
api_metrics_init(void)
{
	return api_route_add(EVHTTP_REQ_GET, "/metrics", 0, api_get_metrics,
	    NULL);
}

int
api_gauge_register(const char *name, const char *help, api_gauge_fn *fn)
{
	struct api_gauge *v;
	unsigned i;

	for (i = 0; i < api_ngauges; i++)
		if (strcmp(api_gauges[i].name, name) == 0) {
			api_gauges[i].fn = fn;
			return 0;
		}
	v = reallocarray(api_gauges, api_ngauges + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	api_gauges = v;
	v[api_ngauges].name = strdup(name);
	v[api_ngauges].help = strdup(help != NULL ? help : name);
	v[api_ngauges].fn = fn;
	if (v[api_ngauges].name == NULL || v[api_ngauges].help == NULL) {
		free(v[api_ngauges].name);
		free(v[api_ngauges].help);
		return -1;
	}
	api_ngauges++;
	return 0;
}

/* The registered gauge's current value, or 0 if nobody registered it. */
static double
api_gauge_value(const char *name)
{
	unsigned i;
	double d;

	for (i = 0; i < api_ngauges; i++)
		if (strcmp(api_gauges[i].name, name) == 0 &&
		    api_gauges[i].fn != NULL) {
			d = api_gauges[i].fn();
			return isfinite(d) ? d : 0;
		}
	if (strcmp(name, "tocsin_incidents_open") == 0)
		return (double)stats_g.incidents_open;
	return 0;
}

void
api_metrics_shutdown(void)
{
	unsigned i;

	for (i = 0; i < api_ngauges; i++) {
		free(api_gauges[i].name);
		free(api_gauges[i].help);
	}
	free(api_gauges);
	api_gauges = NULL;
	api_ngauges = 0;
	api_nproms = 0;
}

int
api_prom_register(api_prom_fn *fn)
{
	unsigned i;

	for (i = 0; i < api_nproms; i++)
		if (api_proms[i] == fn)
			return 0;
	if (api_nproms == API_PROM_MAX)
		return -1;
	api_proms[api_nproms++] = fn;
	return 0;
}

/* ---- exposition ------------------------------------------------------ */

/*
 * A label value: backslash, double quote and newline escaped as the
 * format says; bytes that are not UTF-8 (a check name is whatever the
 * config says) become U+FFFD, since a scraper rejects the whole scrape
 * otherwise.
 */
static void
prom_label(struct evbuffer *b, const char *s)
{
	const unsigned char *p;
	size_t n;

	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = api_utf8_len(p);
		if (n == 0) {
			evbuffer_add(b, "\xef\xbf\xbd", 3);
			n = 1;
		} else if (*p == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*p == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*p == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, p, n);
	}
}

/* A sample value as Go's ParseFloat reads it. */
static void
prom_value(struct evbuffer *b, double d)
{
	if (isnan(d))
		evbuffer_add_printf(b, " NaN\n");
	else if (isinf(d))
		evbuffer_add_printf(b, " %sInf\n", d > 0 ? "+" : "-");
	else
		evbuffer_add_printf(b, " %.17g\n", d);
}

static void
prom_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* One sample with up to two labels (a NULL label name: none). */
static void
prom_sample(struct evbuffer *b, const char *name, const char *l1,
    const char *v1, const char *l2, const char *v2, double value)
{
	evbuffer_add_printf(b, "%s", name);
	if (l1 != NULL) {
		evbuffer_add_printf(b, "{%s=\"", l1);
		prom_label(b, v1 != NULL ? v1 : "");
		if (l2 != NULL) {
			evbuffer_add_printf(b, "\",%s=\"", l2);
			prom_label(b, v2 != NULL ? v2 : "");
		}
		evbuffer_add(b, "\"}", 2);
	}
	prom_value(b, value);
}

void
api_prom_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	prom_family(b, name, type, help);
}

void
api_prom_sample(struct evbuffer *b, const char *name, const char *l1,
    const char *v1, const char *l2, const char *v2, double value)
{
	prom_sample(b, name, l1, v1, l2, v2, value);
}

static void
prom_hist(struct evbuffer *b, const char *name, const char *help,
    const struct hist *h)
{
	uint64_t cum = 0;
	int i;

	prom_family(b, name, "histogram", help);
	for (i = 0; i < HIST_BUCKETS - 1; i++) {
		cum += h->bucket[i];
		evbuffer_add_printf(b, "%s_bucket{le=\"%.6g\"} %llu\n", name,
		    hist_bound(i), (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)h->count);
	evbuffer_add_printf(b, "%s_sum", name);
	prom_value(b, h->sum);
	evbuffer_add_printf(b, "%s_count %llu\n", name,
	    (unsigned long long)h->count);
}

static const char *
check_type_name(const struct check *c)
{
	const char *name = ctype_name(c->type);

	return name != NULL ? name : "";
}

/* The process's own figures, each skipped if its source fails. */
static void
prom_process(struct evbuffer *b)
{
	struct rusage ru;
	struct rlimit rl;
	unsigned long vsz, rss;
	struct dirent *de;
	DIR *dir;
	FILE *fp;
	long page = sysconf(_SC_PAGESIZE);
	int n, fds = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		prom_family(b, "process_cpu_seconds_total", "counter",
		    "User and system CPU time spent, in seconds.");
		prom_sample(b, "process_cpu_seconds_total", NULL, NULL, NULL,
		    NULL, ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	if ((fp = fopen("/proc/self/statm", "re")) != NULL) {
		n = fscanf(fp, "%lu %lu", &vsz, &rss);
		fclose(fp);
		if (n == 2 && page > 0) {
			prom_family(b, "process_resident_memory_bytes",
			    "gauge", "Resident memory size in bytes.");
			prom_sample(b, "process_resident_memory_bytes", NULL,
			    NULL, NULL, NULL, (double)rss * page);
			prom_family(b, "process_virtual_memory_bytes",
			    "gauge", "Virtual memory size in bytes.");
			prom_sample(b, "process_virtual_memory_bytes", NULL,
			    NULL, NULL, NULL, (double)vsz * page);
		}
	}
	if ((dir = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(dir)) != NULL)
			if (de->d_name[0] != '.')
				fds++;
		closedir(dir);
		prom_family(b, "process_open_fds", "gauge",
		    "Open file descriptors.");
		prom_sample(b, "process_open_fds", NULL, NULL, NULL, NULL,
		    fds - 1);	/* not the one opendir() holds */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		prom_family(b, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.");
		prom_sample(b, "process_max_fds", NULL, NULL, NULL, NULL,
		    (double)rl.rlim_cur);
	}
	prom_family(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since the epoch, in seconds.");
	prom_sample(b, "process_start_time_seconds", NULL, NULL, NULL, NULL,
	    (double)daemon_g.started);
}

/*
 * GET /metrics, streamed (api_stream()): the families of every check are
 * the big part (5 per check), so they are made API_SLICE bytes at a time;
 * the rest is one slice each at the start and the end.  Positions are
 * indexes into the config in force (see api_checks.c on reloads).
 */
enum { PM_HEAD, PM_STATE, PM_HARD, PM_FLAP, PM_METRIC, PM_TAIL, PM_DONE };

struct prom_pos {
	int part;
	unsigned i;			/* next check of the part */
};

static void
prom_head(struct evbuffer *b)
{
	const struct config *cf = daemon_g.cf;
	unsigned i;

	prom_family(b, "tocsin_build_info", "gauge",
	    "Always 1; the version of tocsind as a label.");
	prom_sample(b, "tocsin_build_info", "version", daemon_g.version, NULL,
	    NULL, 1);
	prom_family(b, "tocsin_checks_run_total", "counter",
	    "Finished check runs (results recorded), by check type.");
	for (i = 0; i < ctype_count(); i++)
		prom_sample(b, "tocsin_checks_run_total", "type",
		    ctype_name(ctype_at(i)), NULL, NULL,
		    (double)ctype_runs_total(ctype_at(i)));
	prom_family(b, "tocsin_check_timeouts_total", "counter",
	    "Check runs cancelled by their timeout.");
	prom_sample(b, "tocsin_check_timeouts_total", NULL, NULL, NULL, NULL,
	    (double)stats_g.timeouts_total);
	prom_family(b, "tocsin_checks", "gauge",
	    "Checks in the configuration in force.");
	prom_sample(b, "tocsin_checks", NULL, NULL, NULL, NULL,
	    cf != NULL ? cf->nchecks : 0);
	/* one walk of the checks; the per-check families are streamed */
	{
		unsigned count[STATE_COUNT] = { 0 };
		unsigned s;

		for (i = 0; cf != NULL && i < cf->nchecks; i++)
			if ((unsigned)cf->checks[i]->st.state < STATE_COUNT)
				count[cf->checks[i]->st.state]++;
		prom_family(b, "tocsin_checks_by_state", "gauge",
		    "Checks in each state; PENDING: not run yet since "
		    "start-up or the reload that added them.");
		for (s = 0; s < STATE_COUNT; s++)
			prom_sample(b, "tocsin_checks_by_state", "state",
			    state_name(s), NULL, NULL, count[s]);
	}
}

static void
prom_tail(struct evbuffer *b)
{
	unsigned i, j;

	prom_hist(b, "tocsin_schedule_latency_seconds",
	    "Delay between a check's due time and the start of its run.",
	    &stats_g.sched_latency);
	prom_hist(b, "tocsin_loop_lag_seconds",
	    "Lateness of a 100 ms event loop timer: how long the loop was "
	    "busy.", &stats_g.loop_lag);
	for (i = 0; i < API_NGAUGE_STD; i++) {
		prom_family(b, api_gauge_std[i].name, "gauge",
		    api_gauge_std[i].help);
		prom_sample(b, api_gauge_std[i].name, NULL, NULL, NULL, NULL,
		    api_gauge_value(api_gauge_std[i].name));
	}
	for (i = 0; i < api_ngauges; i++) {
		for (j = 0; j < API_NGAUGE_STD; j++)
			if (strcmp(api_gauges[i].name,
			    api_gauge_std[j].name) == 0)
				break;
		if (j < API_NGAUGE_STD)
			continue;
		prom_family(b, api_gauges[i].name, "gauge",
		    api_gauges[i].help);
		prom_sample(b, api_gauges[i].name, NULL, NULL, NULL, NULL,
		    api_gauge_value(api_gauges[i].name));
	}
	prom_process(b);
	for (i = 0; i < api_nproms; i++)
		api_proms[i](b);
}

/* One check's sample of the family of part. */
static void
prom_check(struct evbuffer *b, int part, const struct check *c)
{
	unsigned j;

	switch (part) {
	case PM_STATE:
		prom_sample(b, "tocsin_check_state", "check", c->name, "type",
		    check_type_name(c), c->st.state);
		break;
	case PM_HARD:
		prom_sample(b, "tocsin_check_hard", "check", c->name, NULL,
		    NULL, c->st.hard && c->st.state != STATE_PENDING);
		break;
	case PM_FLAP:
		prom_sample(b, "tocsin_check_flapping", "check", c->name,
		    NULL, NULL, c->st.flapping);
		break;
	default:
		for (j = 0; j < c->last.nmetrics; j++)
			/* unknown (a phase that did not happen): no sample */
			if (!isnan(c->last.metrics[j].value))
				prom_sample(b, "tocsin_check_metric", "check",
				    c->name, "metric", c->last.metrics[j].name,
				    c->last.metrics[j].value);
		break;
	}
}

static int
prom_slice(void *arg, struct evbuffer *b)
{
	static const char *const fam[][3] = {
		[PM_STATE] = { "tocsin_check_state", "gauge",
		    "State of each check: 0 OK, 1 WARNING, 2 CRITICAL, "
		    "3 UNKNOWN, 4 UNREACHABLE, 5 PENDING (not run yet)." },
		[PM_HARD] = { "tocsin_check_hard", "gauge",
		    "1 if the check's state is hard, 0 while it is soft or "
		    "PENDING." },
		[PM_FLAP] = { "tocsin_check_flapping", "gauge",
		    "1 while the check is flapping." },
		[PM_METRIC] = { "tocsin_check_metric", "gauge",
		    "Each metric of each check's last result, in the metric's "
		    "own unit." },
	};
	struct prom_pos *p = arg;
	const struct config *cf = daemon_g.cf;
	unsigned n = cf != NULL ? cf->nchecks : 0;

	while (p->part != PM_DONE && evbuffer_get_length(b) < API_SLICE) {
		switch (p->part) {
		case PM_HEAD:
			prom_head(b);
			p->part++;
			break;
		case PM_TAIL:
			prom_tail(b);
			p->part++;
			break;
		default:
			if (p->i == 0)
				prom_family(b, fam[p->part][0],
				    fam[p->part][1], fam[p->part][2]);
			for (; p->i < n && evbuffer_get_length(b) < API_SLICE;
			    p->i++)
				prom_check(b, p->part, cf->checks[p->i]);
			if (p->i >= n) {
				p->part++;
				p->i = 0;
			}
			break;
		}
	}
	return p->part == PM_DONE ? 1 : 0;
}

static void
api_get_metrics(struct evhttp_request *req, const char *rest, void *arg)
{
	struct prom_pos *p;

	(void)rest;
	(void)arg;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	api_stream(req, "text/plain; version=0.0.4; charset=utf-8",
	    prom_slice, free, p);
}
