/*
 * stats.h — counters and latency histograms the daemon keeps about
 * itself (schedule latency, loop lag), for the API, /metrics and bench/.
 */
#ifndef TOCSIN_STATS_H
#define TOCSIN_STATS_H

#include <stdint.h>

/* Log-spaced buckets from 100µs to ~100s, plus overflow. */
#define HIST_BUCKETS 32

struct hist {
	uint64_t count;
	double sum;			/* seconds */
	double max;			/* seconds */
	uint64_t bucket[HIST_BUCKETS];	/* counts per bucket (not cumulative) */
};

void hist_add(struct hist *h, double seconds);
/* Upper bound, in seconds, of bucket i. */
double hist_bound(int i);
/* Estimated quantile q (0..1) in seconds: the upper bound of its bucket. */
double hist_quantile(const struct hist *h, double q);

struct stats {
	struct hist sched_latency;	/* due time → start of the run */
	struct hist loop_lag;		/* lateness of a 100 ms loop tick */
	struct hist db_commit;		/* incident database commits */
	struct hist db_write;		/* one state change into the log */
	uint64_t db_checkpoints_loop;	/* WAL checkpoints the loop ran */
	uint64_t incidents_open;	/* open + acknowledged (incident.c) */
	uint64_t runs_total;
	uint64_t timeouts_total;
};

extern struct stats stats_g;

#endif
