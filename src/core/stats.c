/*
 * stats.c — latency histograms with fixed log-spaced buckets: O(1) to add,
 * a few hundred bytes each, good enough for p50/p99 and Prometheus.
 */
#include <math.h>

#include "core/stats.h"

struct stats stats_g;

/* Bucket i covers (bound(i-1), bound(i)]; bound(0) = 100µs, ×1.6 each. */
double
hist_bound(int i)
{
	if (i >= HIST_BUCKETS - 1)
		return INFINITY;
	return 1e-4 * pow(1.6, i);
}

void
hist_add(struct hist *h, double seconds)
{
	int i;

	if (seconds < 0)
		seconds = 0;
	h->count++;
	h->sum += seconds;
	if (seconds > h->max)
		h->max = seconds;
	for (i = 0; i < HIST_BUCKETS - 1; i++)
		if (seconds <= hist_bound(i))
			break;
	h->bucket[i]++;
}

double
hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;
	int i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want)
			return i == HIST_BUCKETS - 1 ? h->max : hist_bound(i);
	}
	return h->max;
}
