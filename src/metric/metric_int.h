/*
 * metric_int.h — between the metric store's two halves: metric.c (on the
 * loop: results in, queues, API) and metric_writer.c (one writer thread
 * that owns every librrd write call).  Not for other modules.
 */
#ifndef TOCSIN_METRIC_INT_H
#define TOCSIN_METRIC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "metric/metric.h"

/* A data source as the store wants it. */
struct mds {
	char name[METRIC_DS_MAX + 1];
	bool counter;		/* DERIVE (min 0) rather than GAUGE */
};

/* One result: a value per DS (by index in the job's ds[]), NAN unknown. */
struct upd {
	time_t t;
	unsigned n;		/* values in v (ds count when queued) */
	double *v;
};

/*
 * A job: updates of one file, handed from the loop to the writer, which
 * then owns it (unless wait is set: the submitter frees it when done).
 * path NULL: a barrier (nothing to write, only "everything before me is
 * done").
 */
struct mjob {
	char *path;
	char *check;		/* for messages */
	unsigned long step;
	struct mds *ds;		/* every DS the file must have */
	unsigned nds;
	struct upd *q;
	unsigned nq;
	bool flush;		/* then ask rrdcached to write the file */
	bool hw;		/* a new file gets Holt-Winters archives */
	bool wait;		/* the submitter waits for done */
	bool done;
	TAILQ_ENTRY(mjob) link;
};

void mjob_free(struct mjob *j);

/*
 * The text of one rrd_update argument, "T:v:v:…", for a file whose DS are
 * names[0..nfile) in order: u's value of each (by name through j->ds), U
 * where it has none, where it is not finite, or where a counter's value
 * is beyond 2^64 (logged, at most once a minute).  Returns a new string;
 * the caller frees it.  NULL: out of memory.
 */
char *writer_update_text(char (*names)[METRIC_DS_MAX + 1], unsigned nfile,
    const struct mjob *j, const struct upd *u);

int writer_start(const char *rrdcached);
/* Where updates go from now on (NULL: librrd directly). */
void writer_set_cached(const char *rrdcached);
/* Queue j at the tail; the writer owns it. */
void writer_submit(struct mjob *j);
TAILQ_HEAD(mjob_list, mjob);
/* Queue every job of l (in order) at once; l is left empty. */
void writer_submit_list(struct mjob_list *l);
/*
 * Write j before anything else, after the updates of j->path still queued
 * (merged into it, so the file sees them in order), and wait until it is
 * written.  Frees j.  Blocks the caller for at most the job the writer is
 * busy with plus this one.
 */
void writer_run_now(struct mjob *j);
/*
 * The updates queued for check, as the job the writer would be given, and
 * the store forgets check (its next result starts a new queue).  For the
 * unit tests and tests/fuzz/fuzz_rrd_update.c, which look at what would be
 * written without writing it.  Returns a new job (mjob_free), or NULL.
 */
struct mjob *metric_take_job(const char *check);
/* The write-back cache's figures (metric.c), for /metrics and the tests. */
struct metric_cache_stats {
	size_t updates;		/* held in the cache */
	size_t files;		/* files with updates held */
	uint64_t flushes, flushes_early, flushes_read;
};
void metric_cache_stats(struct metric_cache_stats *st);
/* When check's cached updates are handed to the writer (mono_ms()); 0:
 * none are cached.  For the unit tests. */
int64_t metric_cache_due(const char *check);
/*
 * The two halves of writer_run_now(): queue j first without waiting
 * (on the loop), then wait for it and free it (on any other thread).
 * writer_run_first returns j, or NULL when it could not queue it (j is
 * freed then); writer_wait(NULL) returns at once.
 */
struct mjob *writer_run_first(struct mjob *j);
void writer_wait(struct mjob *j);
/* Wait until every job submitted so far is written. */
void writer_barrier(void);
size_t writer_queued(void);
/* New files a second at most (0: no limit); files created; jobs waiting
 * for their file's creation. */
void writer_set_create_rate(unsigned per_s);
uint64_t writer_created(void);
size_t writer_create_waiting(void);
uint64_t writer_written(void);
uint64_t writer_errors(void);
/* Write what is queued, stop the thread. */
void writer_stop(void);

#endif
