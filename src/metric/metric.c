/*
 * metric.c — the metric store: results in, RRD files out.
 *
 * Owns state_dir/rrd/ and one struct rfile per check that ever produced a
 * metric.  On the loop, a result becomes one queued update (time + a value
 * per data source) and nothing else: no file I/O on the result path.  At
 * the next loop turn every file's queue is handed, as one job, to the
 * writer thread (metric_writer.c), which writes it with one rrd_update_r()
 * call, or one rrdcached UPDATE with every value.
 *
 * What the store never does: reuse a file whose step or DS types say it
 * holds something else (such a file is renamed NAME.rrd.TIME.old and kept),
 * or drop history when a metric appears (the DS is added in place with
 * rrd_tune, which keeps every row).
 */
#include <errno.h>
#include <math.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "api/api_metrics.h"
#include "core/bus.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/log.h"
#include "metric/metric.h"
#include "metric/metric_int.h"
#include "core/util.h"

#define QUEUE_MAX	1024	/* updates kept per file on the loop side */

struct rfile {
	char *check;
	char *path;
	unsigned long step;	/* seconds: the check's interval */
	bool hw;		/* aberration = yes: Holt-Winters archives */
	struct mds *ds;		/* every DS ever seen, in order of appearance */
	unsigned nds;
	time_t last;		/* newest time queued */
	struct upd *q;
	unsigned nq;
	bool dirty;		/* in the hand-off queue */
	TAILQ_ENTRY(rfile) link;
};

static struct {
	struct event_base *base;
	char *dir;		/* state_dir/rrd */
	char *state_dir;
	char *cached_addr;	/* rrdcached, or NULL */
	void *files;		/* tsearch tree of struct rfile by check */
	TAILQ_HEAD(, rfile) dirty;
	struct event *ev;
	size_t pending;		/* updates not yet handed to the writer */
} ms;
static bool subscribed;	/* once per process: the bus keeps it */

static int
rf_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rfile *)a)->check,
	    ((const struct rfile *)b)->check);
}

void
metric_ds_name(const char *metric, char out[METRIC_DS_MAX + 1])
{
	size_t n = strlen(metric), i;
	bool valid = n >= 1 && n <= METRIC_DS_MAX;

	for (i = 0; valid && i < n; i++)
		if (!((metric[i] >= 'a' && metric[i] <= 'z') ||
		    (metric[i] >= 'A' && metric[i] <= 'Z') ||
		    (metric[i] >= '0' && metric[i] <= '9') || metric[i] == '_'))
			valid = false;
	if (valid) {
		memcpy(out, metric, n + 1);
		return;
	}
	for (i = 0; i < 12 && metric[i] != '\0'; i++) {
		char ch = metric[i];

		out[i] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9')) ? ch : '_';
	}
	snprintf(out + i, METRIC_DS_MAX + 1 - i, "_%06x",
	    (unsigned)(hash_str(metric) & 0xffffff));
}

char *
metric_rrd_path(const char *state_dir, const char *check)
{
	static const char hex[] = "0123456789ABCDEF";
	char *esc, *p, *out;
	const unsigned char *s;

	if ((esc = malloc(strlen(check) * 3 + 1)) == NULL)
		return NULL;
	for (p = esc, s = (const unsigned char *)check; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    (*s == '.' && s != (const unsigned char *)check))
			*p++ = (char)*s;
		else {
			*p++ = '%';
			*p++ = hex[*s >> 4];
			*p++ = hex[*s & 15];
		}
	}
	*p = '\0';
	if (strlen(esc) > 200) {	/* NAME_MAX: keep a prefix + hash */
		snprintf(esc + 190, 11, "~%08x", (unsigned)hash_str(check));
	}
	if (asprintf(&out, "%s/rrd/%s.rrd", state_dir, esc) < 0)
		out = NULL;
	free(esc);
	return out;
}

static void
rf_clear_queue(struct rfile *rf)
{
	unsigned i;

	for (i = 0; i < rf->nq; i++)
		free(rf->q[i].v);
	ms.pending -= rf->nq;
	free(rf->q);
	rf->q = NULL;
	rf->nq = 0;
}

static void
rf_free(void *p)
{
	struct rfile *rf = p;

	rf_clear_queue(rf);
	free(rf->ds);
	free(rf->check);
	free(rf->path);
	free(rf);
}

/* A job for rf's queue (moved into it).  NULL: out of memory. */
static struct mjob *
rf_job(struct rfile *rf)
{
	struct mjob *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->path = strdup(rf->path)) == NULL ||
	    (j->check = strdup(rf->check)) == NULL ||
	    (rf->nds > 0 && (j->ds = calloc(rf->nds, sizeof(*j->ds))) ==
	    NULL)) {
		mjob_free(j);
		return NULL;
	}
	if (rf->nds > 0)
		memcpy(j->ds, rf->ds, rf->nds * sizeof(*j->ds));
	j->nds = rf->nds;
	j->step = rf->step;
	j->hw = rf->hw;
	j->q = rf->q;
	j->nq = rf->nq;
	ms.pending -= rf->nq;
	rf->q = NULL;
	rf->nq = 0;
	return j;
}

/*
 * Hand queued files to the writer, at most max of them (0: all), under
 * one lock.  RETURN VALUE: true if some are left.
 */
static bool
handoff(unsigned max)
{
	struct mjob_list l = TAILQ_HEAD_INITIALIZER(l);
	struct rfile *rf;
	struct mjob *j;
	unsigned n = 0;

	while ((rf = TAILQ_FIRST(&ms.dirty)) != NULL &&
	    (max == 0 || n++ < max)) {
		TAILQ_REMOVE(&ms.dirty, rf, link);
		rf->dirty = false;
		if ((j = rf_job(rf)) != NULL)
			TAILQ_INSERT_TAIL(&l, j, link);
		else
			rf_clear_queue(rf);
	}
	if (!TAILQ_EMPTY(&l))
		writer_submit_list(&l);
	return !TAILQ_EMPTY(&ms.dirty);
}

/* A burst of results is handed over in parts, the loop running between. */
#define HANDOFF_MAX	256

static void
on_handoff(evutil_socket_t fd, short what, void *arg)
{
	struct timeval zero = { 0, 0 };

	(void)fd;
	(void)what;
	(void)arg;
	if (handoff(HANDOFF_MAX))
		evtimer_add(ms.ev, &zero);
}

static struct rfile *
rf_get(const char *check, unsigned long step)
{
	struct rfile key, *rf, **found;

	key.check = (char *)check;
	if ((found = tfind(&key, &ms.files, rf_cmp)) != NULL) {
		rf = *found;
		rf->step = step;	/* the interval may have changed */
		return rf;
	}
	if ((rf = calloc(1, sizeof(*rf))) == NULL ||
	    (rf->check = strdup(check)) == NULL ||
	    (rf->path = metric_rrd_path(ms.state_dir, check)) == NULL ||
	    tsearch(rf, &ms.files, rf_cmp) == NULL) {
		if (rf != NULL) {
			free(rf->check);
			free(rf->path);
		}
		free(rf);
		return NULL;
	}
	rf->step = step;
	return rf;
}

void
metric_store(const struct check *c, time_t t)
{
	const struct result *r = &c->last;
	struct rfile *rf;
	struct upd *u;
	unsigned long step;
	unsigned i, k;

	if (r->nmetrics == 0 || ms.dir == NULL)
		return;
	step = c->interval_ms >= 2000 ? (unsigned long)(c->interval_ms / 1000) : 1;
	if ((rf = rf_get(c->name, step)) == NULL)
		return;
	rf->hw = c->aberration;
	if (t <= rf->last) {
		/* same second: the newest value wins while still queued */
		if (rf->nq == 0 || rf->q[rf->nq - 1].t != t)
			return;
		u = &rf->q[rf->nq - 1];
	} else {
		if (rf->nq >= QUEUE_MAX) {
			free(rf->q[0].v);
			memmove(rf->q, rf->q + 1, --rf->nq * sizeof(*rf->q));
			ms.pending--;
		}
		if ((u = reallocarray(rf->q, rf->nq + 1, sizeof(*u))) == NULL)
			return;
		rf->q = u;
		u = &rf->q[rf->nq];
		memset(u, 0, sizeof(*u));
		u->t = t;
		rf->nq++;
		ms.pending++;
		rf->last = t;
	}
	for (i = 0; i < r->nmetrics; i++) {
		const struct metric *m = &r->metrics[i];
		char name[METRIC_DS_MAX + 1];

		metric_ds_name(m->name, name);
		for (k = 0; k < rf->nds; k++)
			if (strcmp(rf->ds[k].name, name) == 0)
				break;
		if (k == rf->nds) {
			struct mds *nd = reallocarray(rf->ds, rf->nds + 1,
			    sizeof(*nd));

			if (nd == NULL)
				continue;
			rf->ds = nd;
			memcpy(nd[k].name, name, sizeof(name));
			nd[k].counter = (m->flags & TOCSIN_METRIC_COUNTER) != 0;
			rf->nds++;
		}
		if (u->n <= k) {
			double *nv = reallocarray(u->v, rf->nds, sizeof(*nv));
			unsigned j;

			if (nv == NULL)
				continue;
			for (j = u->n; j < rf->nds; j++)
				nv[j] = NAN;
			u->v = nv;
			u->n = rf->nds;
		}
		u->v[k] = m->value;
	}
	if (!rf->dirty) {
		rf->dirty = true;
		TAILQ_INSERT_TAIL(&ms.dirty, rf, link);
	}
	/* at the next loop turn, with whatever else this turn brings */
	if (ms.ev != NULL && !evtimer_pending(ms.ev, NULL)) {
		struct timeval zero = { 0, 0 };

		evtimer_add(ms.ev, &zero);
	}
}

static void
on_result(const struct check *c, void *arg)
{
	(void)arg;
	metric_store(c, c->last_check != 0 ? c->last_check : time(NULL));
}

int
metric_flush(const char *check)
{
	struct metric_flush *f;

	if (metric_flush_start(check, &f) != 0)
		return -1;
	metric_flush_wait(f);
	return 0;
}

void
metric_flush_wait(struct metric_flush *f)
{
	writer_wait((struct mjob *)f);
}

int
metric_flush_start(const char *check, struct metric_flush **fp)
{
	struct rfile key, *rf, **found;
	struct mjob *j;

	*fp = NULL;
	if (ms.dir == NULL)
		return -1;
	key.check = (char *)check;
	if ((found = tfind(&key, &ms.files, rf_cmp)) != NULL) {
		rf = *found;
		if (rf->dirty) {
			TAILQ_REMOVE(&ms.dirty, rf, link);
			rf->dirty = false;
		}
		j = rf_job(rf);
	} else if (ms.cached_addr != NULL) {
		/* not ours, but rrdcached may hold updates of it */
		if ((j = calloc(1, sizeof(*j))) != NULL &&
		    (j->path = metric_rrd_path(ms.state_dir, check)) == NULL) {
			free(j);
			j = NULL;
		}
	} else
		return 0;
	if (j == NULL)
		return -1;
	j->flush = ms.cached_addr != NULL;
	*fp = (struct metric_flush *)writer_run_first(j);
	return 0;
}

struct mjob *
metric_take_job(const char *check)
{
	struct rfile key, *rf, **found;
	struct mjob *j;

	key.check = (char *)check;
	if ((found = tfind(&key, &ms.files, rf_cmp)) == NULL)
		return NULL;
	rf = *found;
	if (rf->dirty) {
		TAILQ_REMOVE(&ms.dirty, rf, link);
		rf->dirty = false;
	}
	j = rf_job(rf);
	tdelete(rf, &ms.files, rf_cmp);
	rf_free(rf);
	return j;
}

void
metric_flush_all(void)
{
	handoff(0);
	writer_barrier();
}

size_t
metric_pending(void)
{
	return ms.pending + writer_queued();
}

char *
metric_path(const char *check)
{
	if (ms.state_dir == NULL)
		return NULL;
	return metric_rrd_path(ms.state_dir, check);
}

const char *
metric_dir(void)
{
	return ms.dir;
}

static double
g_pending(void)
{
	return (double)metric_pending();
}

static double
g_written(void)
{
	return (double)writer_written();
}

static double
g_errors(void)
{
	return (double)writer_errors();
}

void
metric_reconfigure(struct config *cf)
{
	const char *a = cf->rrdcached;

	if ((a == NULL) != (ms.cached_addr == NULL) ||
	    (a != NULL && strcmp(a, ms.cached_addr) != 0)) {
		handoff(0);		/* through the old path */
		writer_set_cached(a);
		free(ms.cached_addr);
		ms.cached_addr = xstrdup(a);
		log_info("metrics: writing %s", a != NULL ?
		    "through rrdcached" : "directly with librrd");
	}
}

int
metric_init(struct event_base *base, struct config *cf)
{
	memset(&ms, 0, sizeof(ms));
	TAILQ_INIT(&ms.dirty);
	ms.base = base;
	if ((ms.state_dir = strdup(cf->state_dir)) == NULL ||
	    asprintf(&ms.dir, "%s/rrd", cf->state_dir) < 0) {
		ms.dir = NULL;
		return -1;
	}
	if (mkdir(ms.dir, 0750) != 0 && errno != EEXIST) {
		log_warn("metrics: cannot create %s", ms.dir);
		return -1;
	}
	ms.cached_addr = xstrdup(cf->rrdcached);
	if (base != NULL &&
	    (ms.ev = evtimer_new(base, on_handoff, NULL)) == NULL)
		return -1;
	if (!subscribed) {
		if (bus_result_subscribe(on_result, NULL) != 0)
			return -1;
		subscribed = true;
	}
	if (writer_start(ms.cached_addr) != 0)
		return -1;
	api_gauge_register("tocsin_rrd_pending_updates",
	    "Metric updates queued for the RRD files", g_pending);
	api_gauge_register("tocsin_rrd_updates_written",
	    "Metric updates written to RRD files since start", g_written);
	api_gauge_register("tocsin_rrd_errors",
	    "RRD jobs that failed (file not created, extended or updated)",
	    g_errors);
	log_info("metrics: RRD files in %s, written %s", ms.dir,
	    ms.cached_addr != NULL ? "through rrdcached" : "with librrd");
	return 0;
}

void
metric_shutdown(void)
{
	handoff(0);
	writer_stop();		/* writes everything handed off */
	if (ms.ev != NULL)
		event_free(ms.ev);
	tdestroy(ms.files, rf_free);
	free(ms.cached_addr);
	free(ms.dir);
	free(ms.state_dir);
	memset(&ms, 0, sizeof(ms));
	TAILQ_INIT(&ms.dirty);
}
