/*
 * metric.h — the metric store: every metric of every result goes into
 * state_dir/rrd/CHECK.rrd, one data source (DS) per metric, directly with
 * librrd or through rrdcached.  Graphs (graph.c) and forecasts
 * (forecast.c) read those files after metric_flush().
 *
 * The store never writes on the loop: a result is only queued, and a
 * writer thread does every librrd write (metric_writer.c says why), so a
 * slow disk costs latency in the store, never a stalled loop.
 */
#ifndef TOCSIN_METRIC_H
#define TOCSIN_METRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "metric/metric_layout.h"

struct event_base;
struct evhttp_request;
struct evkeyvalq;
struct config;
struct check;

/* RRD's rule for a data-source name: [A-Za-z0-9_]{1,19}. */
#define METRIC_DS_MAX	19

/*
 * metric_ds_name — the DS name of a metric: the name itself when it is
 * already valid; otherwise its first 12 characters with every character
 * outside [A-Za-z0-9_] turned into '_', then '_' and 6 hex digits of the
 * FNV-1a hash of the whole original name.  Stable across runs and builds.
 * out has room for METRIC_DS_MAX + 1 bytes.
 */
void metric_ds_name(const char *metric, char out[METRIC_DS_MAX + 1]);

/*
 * metric_rrd_path — state_dir/rrd/NAME.rrd, NAME being the check name with
 * every byte outside [A-Za-z0-9_.-] (and a leading '.') written as %XX.
 * Returns a new string; the caller frees it.  NULL: out of memory.
 */
char *metric_rrd_path(const char *state_dir, const char *check);
/*
 * metric_path — the file the running store keeps check's metrics in (the
 * one path graphs and forecasts read, whatever state_dir a reload set
 * since).  Returns a new string; the caller frees it.  NULL: the store is
 * not running, or out of memory.
 */
char *metric_path(const char *check);


/*
 * metric_init — start the store on base for cf (state_dir/rrd is made
 * here; cf->rrdcached chooses the write path).  Subscribes to every
 * result.  RETURN VALUE: 0, or -1 after logging why.
 */
int metric_init(struct event_base *base, struct config *cf);
/* A new config in force (reload): rrdcached may have changed. */
void metric_reconfigure(struct config *cf);
/* Writes everything pending (blocking, at exit) and frees the store. */
void metric_shutdown(void);

/*
 * metric_store — queue the metrics of c's last result at time t.  Called
 * for each result (bus); exported for tests and bench/rrd.
 */
void metric_store(const struct check *c, time_t t);
/*
 * metric_flush — write what is pending for check (and ask rrdcached to
 * write its cache of the file), so a reader sees every value.  Blocks
 * until the writer has done so (it does this file first, after the one it
 * is busy with): only for readers (graphs, forecasts).
 * RETURN VALUE: 0, or -1.
 */
int metric_flush(const char *check);
/*
 * The same in two halves, so that the loop never waits: metric_flush_start
 * (on the loop) queues the write first and sets *f; metric_flush_wait (on
 * a worker thread, pool.h) waits for it and frees *f.  *f may be NULL
 * (nothing to wait for).  RETURN VALUE: 0, or -1 (no store).
 */
struct metric_flush;
int metric_flush_start(const char *check, struct metric_flush **f);
void metric_flush_wait(struct metric_flush *f);
/* Write everything pending now (blocking; tests and bench). */
void metric_flush_all(void);
/* Updates queued and not yet written. */
size_t metric_pending(void);
/* Has the store ever been started on this config (rrd/ path known)? */
const char *metric_dir(void);

/*
 * metric_parse_when — "1d" or "-1d" (that long before now), "now", or a
 * Unix time into *out.  RETURN VALUE: 0, or -1 if text is none of them.
 */
int metric_parse_when(const char *text, time_t now, time_t *out);
/*
 * metric_query_range — the since and until of a request's query kv (as
 * metric_parse_when reads them; defaults: a day back, now) into *start
 * and *end; *since_given says whether since was there.  What librrd
 * cannot read (before 1980, more than a year ahead, since not before
 * until) is refused.  RETURN VALUE: 0, or -1 after replying 400.
 */
int metric_query_range(struct evhttp_request *req, const struct evkeyvalq *kv,
    time_t now, time_t *start, time_t *end, bool *since_given);
/*
 * Around librrd calls that are not reentrant (rrd_graph_v, rrd_tune):
 * the writer thread may be in librrd at the same time.
 */
void metric_lock(void);
void metric_unlock(void);
/* Adds GET /api/v1/graph/ (graph.c).  RETURN VALUE: 0, or -1. */
int metric_graph_init(void);
/* Adds GET /api/v1/series/ (series.c).  RETURN VALUE: 0, or -1. */
int metric_series_init(void);

/*
 * Marks on a graph: the changes (POST /api/v1/changes) of the check, drawn
 * as vertical lines with their titles in the key.  The incident log knows
 * them; main.c hands its lookup to the graphs (metric_graph_set_marks()),
 * so the metric store needs nothing of the incident module.
 */
#define METRIC_MARKS_MAX	8	/* drawn per graph: the newest */
struct metric_mark {
	time_t at;
	long long id;
	char title[64];			/* cut to fit */
};
/*
 * On the loop: c's marks in [since, until], oldest first, at most max.
 * RETURN VALUE: how many were written to out.
 */
typedef unsigned metric_marks_fn(const struct check *c, time_t since,
    time_t until, struct metric_mark *out, unsigned max);
void metric_graph_set_marks(metric_marks_fn *fn);

#endif
