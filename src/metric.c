/*
 * metric.c — the metric store: results in, RRD files out.
 *
 * Owns state_dir/rrd/ and one struct rfile per check that ever produced a
 * metric.  A result is turned into one queued update (time + a value per
 * data source) and nothing else: no file I/O on the result path.  A timer
 * drains the queue in slices of METRIC_SLICE_MS, each file's queued
 * updates in one rrd_update_r() call (or one rrdcached UPDATE with every
 * value), so the cost per result is one update of a warm file and the loop
 * never waits for more than a slice plus one file.
 *
 * librrd is not thread-safe except its *_r functions, and the loop is
 * single-threaded: every librrd call here happens on the loop thread.
 * bench/rrd measures that this keeps up with a bare librrd loop; no
 * worker thread is needed (see the README's metric store section).
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
#include <rrd.h>
#include <rrd_client.h>

#include "api.h"
#include "bus.h"
#include "check.h"
#include "conf.h"
#include "log.h"
#include "metric.h"
#include "util.h"

#define QUEUE_MAX	1024	/* updates kept per file while it cannot be written */
#define RETRY_S		30	/* after a file error, before trying it again */

struct mds {
	char name[METRIC_DS_MAX + 1];
	bool counter;		/* DERIVE (min 0) rather than GAUGE */
	int fidx;		/* index in the file, -1: not in it yet */
};

struct upd {
	time_t t;
	unsigned n;		/* values in v (the DS count when queued) */
	double *v;		/* by index in rfile.ds; NAN: unknown */
};

struct rfile {
	char *check;
	char *path;
	unsigned long step;	/* seconds: the check's interval */
	struct mds *ds;		/* every DS ever seen, in order of appearance */
	unsigned nds;
	unsigned nfile;		/* DS in the file (when ready) */
	bool ready;		/* the file matches ds[] (fidx all set) */
	time_t last;		/* newest time queued or in the file */
	time_t flast;		/* newest time in the file */
	struct upd *q;
	unsigned nq;
	bool dirty;		/* in the write queue */
	time_t retry_at;	/* after an error: not before this */
	TAILQ_ENTRY(rfile) link;
};

static struct {
	struct event_base *base;
	char *dir;		/* state_dir/rrd */
	char *state_dir;
	char *cached_addr;	/* rrdcached, or NULL */
	bool connected;		/* rrdc_* keep one global connection */
	time_t client_retry;	/* next connect attempt */
	void *files;		/* tsearch tree of struct rfile by check */
	TAILQ_HEAD(, rfile) dirty;
	struct event *ev;
	size_t pending;
	uint64_t written, errors;
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

int
metric_rra_args(unsigned long step, char (*out)[64], int max)
{
	/* resolution wanted, seconds kept */
	static const struct { unsigned long res, keep; } tiers[] = {
		{ 0, 2 * 86400 },
		{ 300, 14 * 86400 },
		{ 3600, 395 * 86400 },
		{ 86400, 5 * 366 * 86400 },
	};
	static const char *const cfs[] = { "AVERAGE", "MIN", "MAX" };
	unsigned long steps[4], rows[4];
	int nt = 0, i, j, n = 0;

	if (step == 0)
		step = 1;
	for (i = 0; i < 4; i++) {
		unsigned long s = tiers[i].res <= step ? 1 :
		    (tiers[i].res + step / 2) / step;
		unsigned long r = (tiers[i].keep + s * step - 1) / (s * step);

		if (nt > 0 && steps[nt - 1] == s) {	/* same resolution */
			if (r > rows[nt - 1])
				rows[nt - 1] = r;
			continue;
		}
		steps[nt] = s;
		rows[nt] = r;
		nt++;
	}
	for (i = 0; i < nt; i++)
		for (j = 0; j < 3 && n < max; j++)
			snprintf(out[n++], 64, "RRA:%s:0.5:%lu:%lu", cfs[j],
			    steps[i], rows[i]);
	return n;
}

static void
ds_def(char *buf, size_t len, const struct mds *d, unsigned long step)
{
	snprintf(buf, len, "DS:%s:%s:%lu:%s:U", d->name,
	    d->counter ? "DERIVE" : "GAUGE", 2 * step, d->counter ? "0" : "U");
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

static const char *
rrd_err(void)
{
	const char *e = rrd_get_error();

	return e != NULL && *e != '\0' ? e : "unknown error";
}

/*
 * Connected to rrdcached?  false when it is not configured or down (then
 * a connect is tried at most every 10 s).  librrd's rrdc_* functions keep
 * one connection per process (this librrd exports no rrd_client_t API).
 */
static bool
cached(void)
{
	time_t now;

	if (ms.cached_addr == NULL)
		return false;
	if (ms.connected && rrdc_is_connected(ms.cached_addr))
		return true;
	now = time(NULL);
	if (now < ms.client_retry)
		return false;
	ms.client_retry = now + 10;
	rrd_clear_error();
	if (rrdc_connect(ms.cached_addr) != 0 ||
	    !rrdc_is_connected(ms.cached_addr)) {
		if (!ms.connected)
			log_warnx("metrics: cannot connect to rrdcached at "
			    "%s: %s; updates wait", ms.cached_addr, rrd_err());
		ms.connected = false;
		return false;
	}
	if (!ms.connected)
		log_info("metrics: connected to rrdcached at %s",
		    ms.cached_addr);
	ms.connected = true;
	return true;
}

/* Keep a file that holds something else: NAME.rrd.TIME.old. */
static int
move_aside(struct rfile *rf, const char *why)
{
	char *old;
	int rc;

	if (asprintf(&old, "%s.%lld.old", rf->path, (long long)time(NULL)) < 0)
		return -1;
	if (cached())
		rrdc_forget(rf->path);
	rc = rename(rf->path, old);
	if (rc == 0)
		log_notice("metrics: check %s: %s; kept the old file as %s and "
		    "started a new one", rf->check, why, old);
	else
		log_warn("metrics: check %s: %s, and cannot rename %s",
		    rf->check, why, rf->path);
	free(old);
	return rc;
}

static int
rf_create(struct rfile *rf)
{
	char rra[12][64], (*dsv)[64];
	const char **argv;
	int nrra, argc = 0, rc;
	unsigned i;

	nrra = metric_rra_args(rf->step, rra, 12);
	dsv = calloc(rf->nds, sizeof(*dsv));
	argv = calloc(rf->nds + (unsigned)nrra, sizeof(*argv));
	if (dsv == NULL || argv == NULL) {
		free(dsv);
		free(argv);
		return -1;
	}
	for (i = 0; i < rf->nds; i++) {
		ds_def(dsv[i], sizeof(dsv[i]), &rf->ds[i], rf->step);
		argv[argc++] = dsv[i];
		rf->ds[i].fidx = (int)i;
	}
	for (i = 0; i < (unsigned)nrra; i++)
		argv[argc++] = rra[i];
	rrd_clear_error();
	/* one step before the first value, so its whole step is known */
	rf->flast = rf->nq > 0 ? rf->q[0].t - (time_t)rf->step :
	    time(NULL) - 10;
	rc = rrd_create_r(rf->path, rf->step, rf->flast, argc, argv);
	if (rc != 0)
		log_warnx("metrics: cannot create %s: %s", rf->path, rrd_err());
	else {
		rf->nfile = rf->nds;
		log_info("metrics: created %s (%u data source%s, step %lus)",
		    rf->path, rf->nds, rf->nds == 1 ? "" : "s", rf->step);
	}
	free(dsv);
	free(argv);
	return rc == 0 ? 0 : -1;
}

/*
 * Reads an existing file into rf: DS indexes, last update.  Returns 1 if
 * it holds something else (step or a DS type differs), 0 if it fits, -1
 * if it cannot be read.
 */
static int
rf_read(struct rfile *rf)
{
	rrd_info_t *info, *i;
	unsigned long step = 0;
	unsigned k, nfile = 0;
	int rc = 0;

	rrd_clear_error();
	if ((info = rrd_info_r(rf->path)) == NULL)
		return -1;
	for (k = 0; k < rf->nds; k++)
		rf->ds[k].fidx = -1;
	for (i = info; i != NULL; i = i->next) {
		const char *key = i->key, *end;

		if (strcmp(key, "step") == 0)
			step = i->value.u_cnt;
		else if (strcmp(key, "last_update") == 0) {
			rf->flast = (time_t)i->value.u_cnt;
			if (rf->flast > rf->last)
				rf->last = rf->flast;
		} else if (strncmp(key, "ds[", 3) == 0 &&
		    (end = strchr(key, ']')) != NULL) {
			size_t len = (size_t)(end - key - 3);

			for (k = 0; k < rf->nds; k++) {
				if (strlen(rf->ds[k].name) != len ||
				    strncmp(rf->ds[k].name, key + 3, len) != 0)
					continue;
				if (strcmp(end, "].index") == 0)
					rf->ds[k].fidx = (int)i->value.u_cnt;
				else if (strcmp(end, "].type") == 0 &&
				    i->type == RD_I_STR &&
				    strcmp(i->value.u_str, rf->ds[k].counter ?
				    "DERIVE" : "GAUGE") != 0)
					rc = 1;
			}
			if (strcmp(end, "].index") == 0)
				nfile++;
		}
	}
	rrd_info_free(info);
	if (step != rf->step)
		rc = 1;
	rf->nfile = nfile;
	return rc;
}

/* Make the file hold every DS in rf->ds.  RETURN VALUE: 0 or -1. */
static int
rf_prepare(struct rfile *rf)
{
	struct stat sb;
	char (*dsv)[64] = NULL;
	const char **argv = NULL;
	unsigned k, nnew = 0;
	int rc, argc = 0;

	if (stat(rf->path, &sb) != 0) {
		if (errno != ENOENT) {
			log_warn("metrics: %s", rf->path);
			return -1;
		}
		return rf_create(rf);
	}
	rc = rf_read(rf);
	if (rc == -1) {
		log_warnx("metrics: check %s: %s is not a readable RRD file "
		    "(%s)", rf->check, rf->path, rrd_err());
		if (move_aside(rf, "its file cannot be read") != 0)
			return -1;
		rf->last = rf->nq > 0 ? rf->q[rf->nq - 1].t : 0;
		return rf_create(rf);
	}
	if (rc == 1) {
		if (move_aside(rf, "its file has another step or data-source "
		    "type (interval or metric kind changed)") != 0)
			return -1;
		rf->last = rf->nq > 0 ? rf->q[rf->nq - 1].t : 0;
		return rf_create(rf);
	}
	for (k = 0; k < rf->nds; k++)
		if (rf->ds[k].fidx < 0)
			nnew++;
	if (nnew == 0)
		return 0;
	/* metrics that appeared later: add their DS, keeping every row */
	if ((dsv = calloc(nnew, sizeof(*dsv))) == NULL ||
	    (argv = calloc(nnew + 2, sizeof(*argv))) == NULL) {
		free(dsv);
		return -1;
	}
	argv[argc++] = "tune";
	argv[argc++] = rf->path;
	for (k = 0, nnew = 0; k < rf->nds; k++)
		if (rf->ds[k].fidx < 0) {
			ds_def(dsv[nnew], sizeof(dsv[nnew]), &rf->ds[k],
			    rf->step);
			argv[argc++] = dsv[nnew++];
		}
	if (cached())		/* its cache holds the old DS count */
		rrdc_flush(rf->path);
	rrd_clear_error();
	optind = 0;
	rc = rrd_tune(argc, (char **)argv);
	if (rc != 0)
		log_warnx("metrics: cannot add %u data source%s to %s: %s",
		    nnew, nnew == 1 ? "" : "s", rf->path, rrd_err());
	else
		log_info("metrics: added %u data source%s to %s", nnew,
		    nnew == 1 ? "" : "s", rf->path);
	free(dsv);
	free(argv);
	if (rc != 0)
		return -1;
	return rf_read(rf) == 0 ? 0 : -1;
}

/* "T:v:v:…" of u in the file's DS order.  Returns a new string. */
static char *
upd_text(const struct rfile *rf, const struct upd *u)
{
	size_t len = 24 + (size_t)rf->nfile * 26, off;
	char *s = malloc(len);
	unsigned f, k;

	if (s == NULL)
		return NULL;
	off = (size_t)snprintf(s, len, "%lld", (long long)u->t);
	for (f = 0; f < rf->nfile; f++) {
		double v = NAN;
		bool counter = false;

		for (k = 0; k < rf->nds && k < u->n; k++)
			if (rf->ds[k].fidx == (int)f) {
				v = u->v[k];
				counter = rf->ds[k].counter;
				break;
			}
		if (isnan(v) || isinf(v))
			off += (size_t)snprintf(s + off, len - off, ":U");
		else if (counter)	/* DERIVE takes integers only */
			off += (size_t)snprintf(s + off, len - off, ":%.0f", v);
		else
			off += (size_t)snprintf(s + off, len - off, ":%.17g", v);
	}
	return s;
}

/* Write rf's queue.  Blocking: one file's worth of librrd. */
static void
rf_write(struct rfile *rf)
{
	bool cl = false;
	const char **argv;
	unsigned i, n = 0;
	int rc;

	if (rf->nq == 0)
		return;
	if (ms.cached_addr != NULL && !(cl = cached()))
		return;		/* keep the queue until rrdcached is back */
	if (!rf->ready) {
		if (rf_prepare(rf) != 0) {
			ms.errors++;
			rf->retry_at = time(NULL) + RETRY_S;
			log_warnx("metrics: check %s: dropped %u update%s",
			    rf->check, rf->nq, rf->nq == 1 ? "" : "s");
			rf_clear_queue(rf);
			return;
		}
		rf->ready = true;
	}
	if ((argv = calloc(rf->nq, sizeof(*argv))) == NULL)
		return;
	/* what the file already has (a restart in the same minute) is dropped */
	for (i = 0; i < rf->nq; i++)
		if (rf->q[i].t > rf->flast &&
		    (argv[n] = upd_text(rf, &rf->q[i])) != NULL)
			n++;
	if (n == 0) {
		free(argv);
		rf_clear_queue(rf);
		return;
	}
	rrd_clear_error();
	if (cl)
		rc = rrdc_update(rf->path, (int)n, argv);
	else
		rc = rrd_update_r(rf->path, NULL, (int)n, argv);
	if (rc != 0) {
		ms.errors++;
		log_warnx("metrics: update of %s failed: %s", rf->path,
		    rrd_err());
		/* the file may have changed under us: look again next time */
		rf->ready = false;
		if (cl && !rrdc_is_connected(ms.cached_addr)) {
			ms.connected = false;
			for (i = 0; i < n; i++)
				free((char *)argv[i]);
			free(argv);
			return;		/* keep the queue */
		}
	} else {
		ms.written += n;
		rf->flast = rf->q[rf->nq - 1].t;
	}
	for (i = 0; i < n; i++)
		free((char *)argv[i]);
	free(argv);
	rf_clear_queue(rf);
}

static void
arm(bool now)
{
	struct timeval tv = { now ? 0 : 1, 0 };

	if (ms.ev != NULL && !evtimer_pending(ms.ev, NULL))
		evtimer_add(ms.ev, &tv);
}

/* One slice of writes; more slices follow at once while work is left. */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	int64_t start = mono_us();
	time_t now = time(NULL);
	struct rfile *rf, *stop = NULL;

	(void)fd;
	(void)what;
	(void)arg;
	while ((rf = TAILQ_FIRST(&ms.dirty)) != NULL && rf != stop) {
		TAILQ_REMOVE(&ms.dirty, rf, link);
		if (now < rf->retry_at ||
		    (ms.cached_addr != NULL && !cached())) {
			/* not yet: back of the queue, once round */
			TAILQ_INSERT_TAIL(&ms.dirty, rf, link);
			if (stop == NULL)
				stop = rf;
			continue;
		}
		rf->dirty = false;
		rf_write(rf);
		if (rf->nq > 0 && !rf->dirty) {
			rf->dirty = true;
			TAILQ_INSERT_TAIL(&ms.dirty, rf, link);
			if (stop == NULL)
				stop = rf;
		}
		if (mono_us() - start >= METRIC_SLICE_MS * 1000)
			break;
	}
	if (!TAILQ_EMPTY(&ms.dirty))
		arm(rf != NULL && rf != stop);
}

static struct rfile *
rf_get(const char *check, unsigned long step)
{
	struct rfile key, *rf, **found;

	key.check = (char *)check;
	if ((found = tfind(&key, &ms.files, rf_cmp)) != NULL) {
		rf = *found;
		if (rf->step != step) {		/* the interval changed */
			rf->step = step;
			rf->ready = false;
		}
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
			nd[k].fidx = -1;
			rf->nds++;
			rf->ready = false;
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
	arm(false);
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
	struct rfile key, *rf, **found;
	char *path;
	int rc = 0;

	if (ms.dir == NULL)
		return -1;
	key.check = (char *)check;
	if ((found = tfind(&key, &ms.files, rf_cmp)) != NULL) {
		rf = *found;
		if (rf->dirty) {
			TAILQ_REMOVE(&ms.dirty, rf, link);
			rf->dirty = false;
		}
		rf_write(rf);
		if (rf->nq > 0) {
			rf->dirty = true;
			TAILQ_INSERT_TAIL(&ms.dirty, rf, link);
			rc = -1;
		}
	}
	if (cached()) {
		if ((path = metric_rrd_path(ms.state_dir, check)) == NULL)
			return -1;
		/* an unknown file is not an error here: the reader says so */
		rrd_clear_error();
		rrdc_flush(path);
		free(path);
	}
	return rc;
}

void
metric_flush_all(void)
{
	struct rfile *rf;
	unsigned rounds = 0;

	while ((rf = TAILQ_FIRST(&ms.dirty)) != NULL && rounds++ < 1000000) {
		TAILQ_REMOVE(&ms.dirty, rf, link);
		rf->dirty = false;
		rf_write(rf);
		if (rf->nq > 0)		/* cannot be written: give up */
			rf_clear_queue(rf);
	}
}

size_t
metric_pending(void)
{
	return ms.pending;
}

const char *
metric_dir(void)
{
	return ms.dir;
}

static double
g_pending(void)
{
	return (double)ms.pending;
}

static double
g_written(void)
{
	return (double)ms.written;
}

static double
g_errors(void)
{
	return (double)ms.errors;
}

void
metric_reconfigure(struct config *cf)
{
	const char *a = cf->rrdcached;

	if ((a == NULL) != (ms.cached_addr == NULL) ||
	    (a != NULL && strcmp(a, ms.cached_addr) != 0)) {
		metric_flush_all();	/* through the old path */
		if (ms.connected) {
			rrdc_disconnect();
			ms.connected = false;
		}
		free(ms.cached_addr);
		ms.cached_addr = xstrdup(a);
		ms.client_retry = 0;
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
	    (ms.ev = evtimer_new(base, on_flush, NULL)) == NULL)
		return -1;
	if (!subscribed) {
		if (bus_result_subscribe(on_result, NULL) != 0)
			return -1;
		subscribed = true;
	}
	api_gauge_register("tocsin_rrd_pending_updates",
	    "Metric updates queued for the RRD files", g_pending);
	api_gauge_register("tocsin_rrd_updates_written",
	    "Metric updates written to RRD files since start", g_written);
	api_gauge_register("tocsin_rrd_errors",
	    "RRD files that could not be created, extended or updated",
	    g_errors);
	if (ms.cached_addr != NULL)
		cached();
	log_info("metrics: RRD files in %s, written %s", ms.dir,
	    ms.cached_addr != NULL ? "through rrdcached" : "with librrd");
	return 0;
}

void
metric_shutdown(void)
{
	metric_flush_all();
	if (ms.ev != NULL)
		event_free(ms.ev);
	tdestroy(ms.files, rf_free);
	if (ms.connected)
		rrdc_disconnect();
	free(ms.cached_addr);
	free(ms.dir);
	free(ms.state_dir);
	ms.files = NULL;
	ms.ev = NULL;
	ms.connected = false;
	ms.cached_addr = NULL;
	ms.dir = NULL;
	ms.state_dir = NULL;
	ms.pending = 0;
	TAILQ_INIT(&ms.dirty);
}
