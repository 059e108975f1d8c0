/*
 * bench/rrd_bench.c — updates per second to many RRD files, four ways,
 * on the same files (state_dir/rrd/fNNNNN.rrd, tocsin's layout, step 60):
 *
 *   librrd     a bare loop of rrd_update_r(), one value per call
 *   rrdcached  a bare loop of rrdc_update() to a running rrdcached
 *   store      tocsind's metric store: metric_store() for every file, then
 *              the event loop until the store has written everything
 *   store-cached  the same with daemon { rrdcached }
 *
 * For the store modes a 1 ms loop timer records the longest time the loop
 * was kept from running it (the stall a check or API client would see).
 *
 * usage: rrd_bench create STATE_DIR N
 *        rrd_bench MODE STATE_DIR N ROUNDS ROUND0 [RRDCACHED_ADDR]
 * Each round gives every file one value at time base + (ROUND0+r)*60, so
 * the modes run one after another on the same files with rising times.
 * Round ROUND0 is a warm-up, not timed (the store reads each file's
 * header once per start; the bare loops get the same page cache).
 * Prints "MODE updates N seconds S rate R/s max_stall_ms M".
 *        rrd_bench idle STATE_DIR SECONDS — the 1 ms timer alone: how late
 * the machine itself runs a loop (the reference for max_stall_ms).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>
#include <rrd.h>
#include <rrd_client.h>

#include "core/check.h"
#include "core/conf.h"
#include "metric/metric.h"
#include "core/util.h"

#define STEP	60

static time_t base_t;
static double max_stall;
static int64_t tick_due;

static char *
path_of(const char *dir, int i)
{
	char name[16], *p;

	snprintf(name, sizeof(name), "f%05d", i);
	p = metric_rrd_path(dir, name);
	if (p == NULL)
		exit(2);
	return p;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = mono_us();
	double late = (double)(now - tick_due) / 1000.0;

	(void)fd;
	(void)what;
	(void)arg;
	if (late > max_stall)
		max_stall = late;
	tick_due = now + 1000;
}

static int
create(const char *dir, int n)
{
	char rra[12][64], rrd[300];
	const char *argv[13];
	int nrra, i, k;

	snprintf(rrd, sizeof(rrd), "%s/rrd", dir);
	mkdir(dir, 0755);
	mkdir(rrd, 0755);
	nrra = metric_rra_args(STEP, rra, 12);
	argv[0] = "DS:value:GAUGE:120:U:U";
	for (k = 0; k < nrra; k++)
		argv[k + 1] = rra[k];
	for (i = 0; i < n; i++) {
		char *p = path_of(dir, i);

		if (rrd_create_r(p, STEP, base_t - STEP, nrra + 1, argv) != 0) {
			fprintf(stderr, "create %s: %s\n", p, rrd_get_error());
			return 1;
		}
		free(p);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *mode, *dir;
	int n, rounds, round0, i, r;
	char **paths, val[64];
	const char *vp[1];
	int64_t t0 = 0, t1;
	uint64_t done = 0;

	if (argc < 4)
		goto usage;
	mode = argv[1];
	dir = argv[2];
	n = atoi(argv[3]);
	/* a fixed base, 30 days ago at a minute, shared by every mode */
	base_t = (time(NULL) - 30 * 86400) / 86400 * 86400;
	if (strcmp(mode, "create") == 0)
		return create(dir, n);
	if (strcmp(mode, "idle") == 0) {
		struct event_base *eb = event_base_new();
		struct event *tick = event_new(eb, -1, EV_PERSIST, on_tick,
		    NULL);
		struct timeval ms1 = { 0, 1000 };
		int64_t until;

		t0 = mono_us();
		until = t0 + (int64_t)n * 1000000;
		tick_due = t0 + 1000;
		event_add(tick, &ms1);
		while (mono_us() < until)
			event_base_loop(eb, EVLOOP_ONCE);
		printf("idle seconds %d max_stall_ms %.2f\n", n, max_stall);
		event_free(tick);
		event_base_free(eb);
		return 0;
	}
	if (argc < 6)
		goto usage;
	rounds = atoi(argv[4]);
	round0 = atoi(argv[5]);
	if ((paths = calloc((size_t)n, sizeof(*paths))) == NULL)
		return 2;
	for (i = 0; i < n; i++)
		paths[i] = path_of(dir, i);
	vp[0] = val;

	if (strcmp(mode, "librrd") == 0 || strcmp(mode, "rrdcached") == 0) {
		bool cached = strcmp(mode, "rrdcached") == 0;

		if (cached && (argc < 7 || rrdc_connect(argv[6]) != 0)) {
			fprintf(stderr, "rrdcached: %s\n", rrd_get_error());
			return 1;
		}
		for (r = -1; r < rounds; r++) {
			if (r == 0) {
				t0 = mono_us();
				max_stall = 0;
				done = 0;
			}
			for (i = 0; i < n; i++) {
				snprintf(val, sizeof(val), "%lld:%d",
				    (long long)(base_t + (round0 + 1 + r) * STEP),
				    i + r);
				int64_t c0 = mono_us();
				double took;

				if ((cached ? rrdc_update(paths[i], 1, vp) :
				    rrd_update_r(paths[i], NULL, 1, vp)) != 0) {
					fprintf(stderr, "%s: %s\n", paths[i],
					    rrd_get_error());
					return 1;
				}
				done++;
				/* what a loop making this call would stall */
				took = (double)(mono_us() - c0) / 1000.0;
				if (took > max_stall)
					max_stall = took;
			}
		}
		t1 = mono_us();
		if (cached)
			rrdc_disconnect();
	} else if (strcmp(mode, "store") == 0 ||
	    strcmp(mode, "store-cached") == 0) {
		struct event_base *eb = event_base_new();
		struct event *tick;
		struct timeval ms1 = { 0, 1000 };
		struct config cf;
		struct check *cs = calloc((size_t)n, sizeof(*cs));
		struct metric m;
		char name[16];

		memset(&cf, 0, sizeof(cf));
		memset(&m, 0, sizeof(m));
		cf.state_dir = (char *)dir;
		if (strcmp(mode, "store-cached") == 0) {
			if (argc < 7)
				goto usage;
			cf.rrdcached = argv[6];
		}
		if (eb == NULL || cs == NULL || metric_init(eb, &cf) != 0)
			return 1;
		m.name = "value";
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "f%05d", i);
			cs[i].name = strdup(name);
			cs[i].interval_ms = STEP * 1000;
			cs[i].last.metrics = &m;
			cs[i].last.nmetrics = 1;
		}
		tick = event_new(eb, -1, EV_PERSIST, on_tick, NULL);
		t0 = mono_us();
		tick_due = t0 + 1000;
		event_add(tick, &ms1);
		for (r = -1; r < rounds; r++) {
			if (r == 0) {
				t0 = mono_us();
				max_stall = 0;
				done = 0;
			}
			/* a round of results, as the scheduler would hand them */
			for (i = 0; i < n; i++) {
				m.value = i + r;
				metric_store(&cs[i],
				    base_t + (round0 + 1 + r) * STEP);
				done++;
				/* results come from loop callbacks, a few at a time */
				if (i % 100 == 99)
					event_base_loop(eb, EVLOOP_NONBLOCK);
			}
			/* the loop writes them in slices */
			while (metric_pending() > 0)
				event_base_loop(eb, EVLOOP_ONCE);
		}
		t1 = mono_us();
		event_free(tick);
		metric_shutdown();
		for (i = 0; i < n; i++)
			free(cs[i].name);
		free(cs);
		event_base_free(eb);
	} else
		goto usage;
	printf("%s updates %llu seconds %.3f rate %.0f/s max_stall_ms %.2f\n",
	    mode, (unsigned long long)done, (double)(t1 - t0) / 1e6,
	    (double)done / ((double)(t1 - t0) / 1e6), max_stall);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return 0;
usage:
	fprintf(stderr, "usage: rrd_bench create STATE_DIR N\n"
	    "       rrd_bench idle STATE_DIR SECONDS\n"
	    "       rrd_bench librrd|rrdcached|store|store-cached STATE_DIR N "
	    "ROUNDS ROUND0 [RRDCACHED_ADDR]\n");
	return 2;
}
