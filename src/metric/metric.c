/*
 * metric.c — the metric store: results in, RRD files out.
 *
 * Owns state_dir/rrd/ and one struct rfile per check that ever produced a
 * metric.  On the loop, a result becomes one queued update (time + a value
 * per data source) and nothing else: no file I/O on the result path.
 *
 * The store is a write-back cache, as rrdcached is: a file's updates wait
 * in memory for daemon.rrd_flush_delay, then go, as one job, to the writer
 * thread (metric_writer.c), which writes them with ONE rrd_update_r() call
 * carrying every "T:v:v" (or one rrdcached UPDATE).  Opening and mapping a
 * file is most of an update's cost (~100 us); with a batch it is paid once
 * per flush, not once per result.  Each file has its own phase within the
 * delay (a hash of its name), and is written at the first multiple of the
 * delay past that phase after its oldest update came: so 10 000 files are
 * written evenly over the delay, not in waves, whenever their checks run,
 * and no update waits longer than the delay.  What a kill -9 loses is thus
 * at most the delay (plus the writer's backlog); SIGTERM, a reload and a
 * reader (graph, forecast, series: metric_flush_start) write at once.
 *
 * Memory is bounded: QUEUE_MAX updates per file and daemon.rrd_cache_max
 * in all; either reached, the file (or the files due soonest) is written
 * early, never dropped (tocsin_rrd_cache_flushes_early counts it).
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
#include "metric/rrdio.h"
#include "core/util.h"

#define QUEUE_MAX	1024	/* updates kept per file: more write it early */
#define CACHE_MAX_DEFAULT	1000000	/* daemon.rrd_cache_max when unset */

struct rfile {
	char *check;		/* its path is made when a job is (not kept) */
	unsigned long step;	/* seconds: the check's interval */
	bool hw;		/* aberration = yes: Holt-Winters archives */
	struct mds *ds;		/* every DS ever seen, in order of appearance */
	unsigned nds;
	time_t last;		/* newest time queued */
	struct upd *q;
	unsigned nq, qcap;
	int64_t due;		/* mono ms: written then (while queued) */
	int64_t since;		/* mono ms: its oldest queued update came */
	unsigned hidx;		/* 1 + its index in ms.heap; 0: nothing queued */
};

static struct {
	struct event_base *base;
	char *dir;		/* state_dir/rrd */
	char *state_dir;
	char *cached_addr;	/* rrdcached, or NULL */
	void *files;		/* tsearch tree of struct rfile by check */
	struct rfile **heap;	/* files with updates queued, by due: a heap */
	unsigned nheap, heapcap;
	struct event *ev;
	int64_t ev_at;		/* mono ms ms.ev is set for; 0: not set */
	int64_t delay_ms;	/* daemon.rrd_flush_delay */
	size_t cache_max;	/* daemon.rrd_cache_max */
	size_t pending;		/* updates not yet handed to the writer */
	uint64_t flushes;	/* files handed to the writer */
	uint64_t flushes_early;	/* of them, because a cap was reached */
	uint64_t flushes_read;	/* of them, because a reader asked */
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
	/* on a remote rrdcached: relative to its base directory (-b) */
	if (rrdio_remote() != NULL) {
		if (asprintf(&out, "%s.rrd", esc) < 0)
			out = NULL;
	} else if (asprintf(&out, "%s/rrd/%s.rrd", state_dir, esc) < 0)
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
	rf->nq = rf->qcap = 0;
}

static void
rf_free(void *p)
{
	struct rfile *rf = p;

	rf_clear_queue(rf);
	free(rf->ds);
	free(rf->check);
	free(rf);
}

/* ---- the files with updates queued, by due time: a binary heap ---- */

static void
heap_set(unsigned i, struct rfile *rf)
{
	ms.heap[i] = rf;
	rf->hidx = i + 1;
}

static void
heap_up(unsigned i)
{
	struct rfile *rf = ms.heap[i];

	while (i > 0 && ms.heap[(i - 1) / 2]->due > rf->due) {
		heap_set(i, ms.heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(i, rf);
}

static void
heap_down(unsigned i)
{
	struct rfile *rf = ms.heap[i];
	unsigned c;

	while ((c = 2 * i + 1) < ms.nheap) {
		if (c + 1 < ms.nheap && ms.heap[c + 1]->due < ms.heap[c]->due)
			c++;
		if (ms.heap[c]->due >= rf->due)
			break;
		heap_set(i, ms.heap[c]);
		i = c;
	}
	heap_set(i, rf);
}

static int
heap_add(struct rfile *rf)
{
	if (ms.nheap == ms.heapcap) {
		unsigned cap = ms.heapcap > 0 ? ms.heapcap * 2 : 64;
		struct rfile **h = reallocarray(ms.heap, cap, sizeof(*h));

		if (h == NULL)
			return -1;
		ms.heap = h;
		ms.heapcap = cap;
	}
	heap_set(ms.nheap++, rf);
	heap_up(ms.nheap - 1);
	return 0;
}

static void
heap_remove(struct rfile *rf)
{
	unsigned i = rf->hidx - 1;
	struct rfile *last;

	if (rf->hidx == 0)
		return;
	rf->hidx = 0;
	last = ms.heap[--ms.nheap];
	if (i == ms.nheap)
		return;
	heap_set(i, last);
	heap_up(i);
	heap_down(last->hidx - 1);
}

/*
 * When a file whose first update is queued at now is written: the first
 * time after now that is its phase (a hash of its name, within the delay)
 * plus a multiple of the delay.  Files thus take turns evenly over the
 * delay, whenever their checks started, and no update waits longer than
 * the delay.  A delay of 0: at the next loop turn.
 */
static int64_t
rf_due(const struct rfile *rf, int64_t now)
{
	int64_t d = ms.delay_ms, phase, wait;

	if (d <= 0)
		return now;
	phase = (int64_t)(hash_str(rf->check) % (uint64_t)d);
	wait = ((phase - now % d) % d + d) % d;
	return now + (wait > 0 ? wait : d);
}

/* Set the timer for the heap's first file (if sooner than it is set). */
static void
arm(bool reset)
{
	struct timeval tv;
	int64_t now, at;

	if (ms.ev == NULL)
		return;
	if (ms.nheap == 0) {
		if (reset && ms.ev_at != 0)
			evtimer_del(ms.ev);
		ms.ev_at = 0;
		return;
	}
	at = ms.heap[0]->due;
	if (!reset && ms.ev_at != 0 && ms.ev_at <= at)
		return;
	now = mono_ms();
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	evtimer_add(ms.ev, &tv);
	ms.ev_at = now + at;
}

/* A job for rf's queue (moved into it; rf leaves the heap).  NULL: out of
 * memory (the queue is then dropped). */
static struct mjob *
rf_job(struct rfile *rf)
{
	struct mjob *j;

	heap_remove(rf);
	if (rf->nq > 0)
		ms.flushes++;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->path = metric_rrd_path(ms.state_dir, rf->check)) == NULL ||
	    (j->check = strdup(rf->check)) == NULL ||
	    (rf->nds > 0 && (j->ds = calloc(rf->nds, sizeof(*j->ds))) ==
	    NULL)) {
		mjob_free(j);
		rf_clear_queue(rf);
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
	rf->nq = rf->qcap = 0;
	return j;
}

/*
 * Hand files to the writer, under one lock: those due by now (INT64_MAX:
 * all), at most max of them (0: no limit), and while more than keep
 * updates are cached, the soonest due whatever their time (the cap).
 * RETURN VALUE: true if some due are left.
 */
static bool
handoff(int64_t now, unsigned max, size_t keep)
{
	struct mjob_list l = TAILQ_HEAD_INITIALIZER(l);
	struct rfile *rf;
	struct mjob *j;
	unsigned n = 0;

	while (ms.nheap > 0 && (max == 0 || n < max)) {
		rf = ms.heap[0];
		if (rf->due > now) {
			if (ms.pending <= keep)
				break;
			ms.flushes_early++;
		}
		n++;
		if ((j = rf_job(rf)) != NULL)
			TAILQ_INSERT_TAIL(&l, j, link);
	}
	if (!TAILQ_EMPTY(&l))
		writer_submit_list(&l);
	return ms.nheap > 0 && ms.heap[0]->due <= now;
}

/* Files due at once are handed over in parts, the loop running between. */
#define HANDOFF_MAX	256

static void
on_handoff(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ms.ev_at = 0;
	if (handoff(mono_ms(), HANDOFF_MAX, SIZE_MAX)) {
		struct timeval zero = { 0, 0 };

		evtimer_add(ms.ev, &zero);
		ms.ev_at = 1;	/* before any due time */
		return;
	}
	arm(true);
}

/*
 * Bumped whenever an rfile is freed (and at shutdown), never reset: a
 * check's metric_file pointer is used only while its metric_gen is this,
 * which saves a tfind() per result.
 */
static unsigned long rf_gen = 1;

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
	    tsearch(rf, &ms.files, rf_cmp) == NULL) {
		if (rf != NULL)
			free(rf->check);
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
	if (c->metric_gen == rf_gen && c->metric_file != NULL)
		rf = c->metric_file;
	else if ((rf = rf_get(c->name, step)) == NULL)
		return;
	else {
		/* const: only the store's own cache fields are written */
		((struct check *)c)->metric_file = rf;
		((struct check *)c)->metric_gen = rf_gen;
	}
	rf->step = step;	/* the interval may have changed */
	rf->hw = c->aberration;
	if (t <= rf->last) {
		/* same second: the newest value wins while still queued */
		if (rf->nq == 0 || rf->q[rf->nq - 1].t != t)
			return;
		u = &rf->q[rf->nq - 1];
	} else {
		if (rf->nq >= QUEUE_MAX) {	/* the file's cap: write now */
			struct mjob *j;

			ms.flushes_early++;
			if ((j = rf_job(rf)) != NULL)
				writer_submit(j);
		}
		if (rf->nq == rf->qcap) {
			unsigned cap = rf->qcap > 0 ? rf->qcap * 2 : 4;

			if (cap > QUEUE_MAX)
				cap = QUEUE_MAX;
			if ((u = reallocarray(rf->q, cap, sizeof(*u))) == NULL)
				return;
			rf->q = u;
			rf->qcap = cap;
		}
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
	if (rf->hidx == 0) {
		int64_t now = mono_ms();

		rf->since = now;
		rf->due = rf_due(rf, now);
		if (heap_add(rf) != 0) {	/* out of memory: write now */
			struct mjob *j = rf_job(rf);

			if (j != NULL)
				writer_submit(j);
			return;
		}
		arm(false);
	}
	if (ms.pending > ms.cache_max)	/* the cache's cap */
		handoff(INT64_MIN, 16, ms.cache_max - ms.cache_max / 8);
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
		if (rf->nq > 0)
			ms.flushes_read++;
		j = rf_job(rf);
		arm(true);
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
	j = rf_job(rf);
	arm(true);
	tdelete(rf, &ms.files, rf_cmp);
	rf_free(rf);
	rf_gen++;
	return j;
}

void
metric_flush_all(void)
{
	handoff(INT64_MAX, 0, 0);
	arm(true);
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

void
metric_cache_stats(struct metric_cache_stats *st)
{
	st->updates = ms.pending;
	st->files = ms.nheap;
	st->flushes = ms.flushes;
	st->flushes_early = ms.flushes_early;
	st->flushes_read = ms.flushes_read;
}

int64_t
metric_cache_due(const char *check)
{
	struct rfile key, **found;

	key.check = (char *)check;
	if ((found = tfind(&key, &ms.files, rf_cmp)) == NULL ||
	    (*found)->hidx == 0)
		return 0;
	return (*found)->due;
}

static double
g_cache_updates(void)
{
	return (double)ms.pending;
}

static double
g_cache_files(void)
{
	return (double)ms.nheap;
}

/* The age of the oldest update in the cache (a walk of the heap's array:
 * a scrape's cost, ~1 ns a file). */
static double
g_cache_oldest(void)
{
	int64_t now = mono_ms(), oldest = now;
	unsigned i;

	for (i = 0; i < ms.nheap; i++)
		if (ms.heap[i]->since < oldest)
			oldest = ms.heap[i]->since;
	return (double)(now - oldest) / 1000.0;
}

static double
g_flushes(void)
{
	return (double)ms.flushes;
}

static double
g_flushes_early(void)
{
	return (double)ms.flushes_early;
}

static double
g_flushes_read(void)
{
	return (double)ms.flushes_read;
}

static double
g_created(void)
{
	return (double)writer_created();
}

static double
g_create_waiting(void)
{
	return (double)writer_create_waiting();
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

/* The cache's settings from cf (0: what they default to). */
static void
cache_config(const struct config *cf)
{
	ms.delay_ms = cf->rrd_flush_delay_ms > 0 ? cf->rrd_flush_delay_ms : 0;
	ms.cache_max = cf->rrd_cache_max > 0 ? (size_t)cf->rrd_cache_max :
	    CACHE_MAX_DEFAULT;
	writer_set_create_rate(cf->rrd_create_rate > 0 ?
	    (unsigned)cf->rrd_create_rate : 0);
}

void
metric_reconfigure(struct config *cf)
{
	const char *a = cf->rrdcached;

	/*
	 * A reload writes everything cached (a reload is when an operator
	 * expects the files complete), and new updates wait the new delay.
	 */
	handoff(INT64_MAX, 0, 0);
	arm(true);
	cache_config(cf);
	if ((rrdio_remote() != NULL || rrdio_is_network(a)) &&
	    (a == NULL || ms.cached_addr == NULL ||
	    strcmp(a, ms.cached_addr) != 0)) {
		/* the files are where they were: moving them is a restart */
		log_warnx("metrics: daemon.rrdcached changed to %s%s%s; the "
		    "files stay %s%s until tocsind restarts",
		    a != NULL ? "\"" : "", a != NULL ? a : "nothing",
		    a != NULL ? "\"" : "", rrdio_remote() != NULL ?
		    "on rrdcached at " : "in ", rrdio_remote() != NULL ?
		    rrdio_remote() : ms.dir);
	} else if ((a == NULL) != (ms.cached_addr == NULL) ||
	    (a != NULL && strcmp(a, ms.cached_addr) != 0)) {
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
	rrdio_set_remote(ms.cached_addr);
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
	cache_config(cf);
	api_gauge_register("tocsin_rrd_pending_updates",
	    "Metric updates queued for the RRD files", g_pending);
	api_gauge_register("tocsin_rrd_cache_updates",
	    "Metric updates held in the write-back cache "
	    "(daemon.rrd_flush_delay)", g_cache_updates);
	api_gauge_register("tocsin_rrd_cache_files",
	    "RRD files with updates in the write-back cache", g_cache_files);
	api_gauge_register("tocsin_rrd_cache_oldest_seconds",
	    "Age of the oldest update in the write-back cache",
	    g_cache_oldest);
	api_gauge_register("tocsin_rrd_cache_flushes",
	    "Files handed from the cache to the writer since start",
	    g_flushes);
	api_gauge_register("tocsin_rrd_cache_flushes_early",
	    "Of them, before their delay because a cap was reached "
	    "(1024 updates a file, daemon.rrd_cache_max in all)",
	    g_flushes_early);
	api_gauge_register("tocsin_rrd_cache_flushes_read",
	    "Of them, because a graph, forecast or series read the file",
	    g_flushes_read);
	api_gauge_register("tocsin_rrd_files_created",
	    "RRD files created since start", g_created);
	api_gauge_register("tocsin_rrd_creates_waiting",
	    "New RRD files waiting to be created (daemon.rrd_create_rate)",
	    g_create_waiting);
	api_gauge_register("tocsin_rrd_updates_written",
	    "Metric updates written to RRD files since start", g_written);
	api_gauge_register("tocsin_rrd_errors",
	    "RRD jobs that failed (file not created, extended or updated)",
	    g_errors);
	if (rrdio_remote() != NULL)
		log_info("metrics: RRD files on rrdcached at %s (created, "
		    "written and read through it), written after %lld ms",
		    rrdio_remote(), (long long)ms.delay_ms);
	else
		log_info("metrics: RRD files in %s, written %s after %lld ms",
		    ms.dir, ms.cached_addr != NULL ? "through rrdcached" :
		    "with librrd", (long long)ms.delay_ms);
	return 0;
}

void
metric_shutdown(void)
{
	handoff(INT64_MAX, 0, 0);
	writer_stop();		/* writes everything handed off */
	if (ms.ev != NULL)
		event_free(ms.ev);
	tdestroy(ms.files, rf_free);
	rf_gen++;
	free(ms.heap);
	free(ms.cached_addr);
	free(ms.dir);
	free(ms.state_dir);
	memset(&ms, 0, sizeof(ms));
}
