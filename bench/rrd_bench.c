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
 * CPU per stored update, batched as a write-back cache batches (K values
 * a file, one write of each file):
 *
 *   cache      tocsind's store with daemon.rrd_flush_delay = 1h: after one
 *              untimed round (the writer reads each file's header once
 *              per start), K rounds
 *              of metric_store() for every file, then metric_flush_all()
 *              (one rrd_update_r per file with K values).  CPU: this
 *              process, every thread (getrusage).
 *   batch      rrdcached's BATCH: K rounds of "UPDATE file T:V" for every
 *              file in one BATCH, then FLUSHALL, until rrdcached's
 *              DataSetsWritten says all are written.  CPU: rrdcached's
 *              (/proc/PID/stat) plus this client's.
 * Prints "MODE updates N seconds S rate R/s cpu_us C".
 *
 *   create-rate STATE_DIR N STEP NDS  N new files of tocsin's layout
 *              (NDS data sources, step STEP), unpaced: files/s, bytes a
 *              file.
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
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

/* CPU seconds of this process (every thread). */
static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds of process pid (utime + stime from /proc). */
static double
pid_cpu(long pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) == NULL) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* fields after the name: state is 3; utime 14, stime 15 */
	for (i = 3, p += 2; i < 14 && p != NULL; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL || sscanf(p, "%lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A line-oriented connection to rrdcached's unix socket. */
static FILE *
cached_open(const char *addr)
{
	struct sockaddr_un sun;
	int fd;

	if (strncmp(addr, "unix:", 5) == 0)
		addr += 5;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		perror(addr);
		return NULL;
	}
	return fdopen(fd, "r+");
}

/* rrdcached's STATS figure name, or -1. */
static long long
cached_stat(FILE *c, const char *name)
{
	char line[256];
	long long v = -1, n;
	int lines, i;

	fprintf(c, "STATS\n");
	fflush(c);
	if (fgets(line, sizeof(line), c) == NULL)
		return -1;
	lines = atoi(line);
	for (i = 0; i < lines && fgets(line, sizeof(line), c) != NULL; i++) {
		size_t len = strlen(name);

		if (strncmp(line, name, len) == 0 && line[len] == ':' &&
		    sscanf(line + len + 1, "%lld", &n) == 1)
			v = n;
	}
	return v;
}

/*
 * rrdcached BATCH: rounds x n updates, then FLUSHALL and wait for them to
 * be written.  *cpu: rrdcached's CPU plus ours.  RETURN VALUE: 0 or -1.
 */
static int
batch(const char *addr, long pid, char **paths, int n, int rounds,
    int round0, double *cpu, double *secs)
{
	FILE *c = cached_open(addr);
	char line[4096];
	long long w0, w;
	double c0, s0;
	int64_t t0, until;
	int i, r, errs = 0;

	if (c == NULL)
		return -1;
	/* DataSetsWritten: values written (UpdatesWritten counts files) */
	w0 = cached_stat(c, "DataSetsWritten");
	s0 = self_cpu();
	c0 = pid_cpu(pid);
	t0 = mono_us();
	fprintf(c, "BATCH\n");
	fflush(c);
	if (fgets(line, sizeof(line), c) == NULL)	/* "0 Go ahead." */
		return -1;
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++)
			fprintf(c, "UPDATE %s %lld:%d\n", paths[i],
			    (long long)(base_t + (round0 + 1 + r) * STEP),
			    i + r);
	fprintf(c, ".\n");
	fflush(c);
	/* "N errors" and then N lines */
	if (fgets(line, sizeof(line), c) == NULL)
		return -1;
	errs = atoi(line);
	for (i = 0; i < errs && fgets(line, sizeof(line), c) != NULL; i++)
		if (i < 3)
			fprintf(stderr, "batch: %s", line);
	fprintf(c, "FLUSHALL\n");
	fflush(c);
	if (fgets(line, sizeof(line), c) == NULL)
		return -1;
	until = mono_us() + 600 * 1000000LL;
	do {
		usleep(20000);
		w = cached_stat(c, "DataSetsWritten");
	} while (w >= 0 && w - w0 < (long long)n * rounds && mono_us() < until);
	*secs = (double)(mono_us() - t0) / 1e6;
	*cpu = (self_cpu() - s0) + (pid_cpu(pid) - c0);
	fclose(c);
	if (w - w0 < (long long)n * rounds) {
		fprintf(stderr, "batch: %lld of %lld written\n", w - w0,
		    (long long)n * rounds);
		return -1;
	}
	return 0;
}

/* N new files of STEP and NDS data sources: files/s; bytes a file. */
static int
create_rate(const char *dir, int n, unsigned long step, int nds)
{
	char rra[12][64], dsv[16][64], rrd[300], name[32];
	const char *argv[28];
	int nrra, i, k, argc = 0;
	int64_t t0;
	struct stat sb;
	double secs;

	snprintf(rrd, sizeof(rrd), "%s/rrd", dir);
	mkdir(dir, 0755);
	mkdir(rrd, 0755);
	if (nds > 16)
		nds = 16;
	for (k = 0; k < nds; k++) {
		snprintf(dsv[k], sizeof(dsv[k]), "DS:m%d:GAUGE:%lu:U:U", k,
		    2 * step);
		argv[argc++] = dsv[k];
	}
	nrra = metric_rra_args(step, rra, 12);
	for (k = 0; k < nrra; k++)
		argv[argc++] = rra[k];
	t0 = mono_us();
	for (i = 0; i < n; i++) {
		char *p;

		snprintf(name, sizeof(name), "c%lu-%d-%05d", step, nds, i);
		p = metric_rrd_path(dir, name);
		if (p == NULL || rrd_create_r(p, step, time(NULL) - 10, argc,
		    argv) != 0) {
			fprintf(stderr, "create: %s\n", rrd_get_error());
			return 1;
		}
		if (i == 0 && stat(p, &sb) != 0)
			sb.st_size = 0;
		free(p);
	}
	secs = (double)(mono_us() - t0) / 1e6;
	printf("create-rate step %lu nds %d files %d seconds %.3f rate %.0f/s "
	    "bytes %lld\n", step, nds, n, secs, n / secs,
	    (long long)sb.st_size);
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
	if (strcmp(mode, "create-rate") == 0) {
		if (argc < 6)
			goto usage;
		return create_rate(dir, n, strtoul(argv[4], NULL, 10),
		    atoi(argv[5]));
	}
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

	if (strcmp(mode, "batch") == 0) {
		double cpu, secs;

		/* argv[6]: address, argv[7]: rrdcached's pid */
		if (argc < 8 || batch(argv[6], atol(argv[7]), paths, n, rounds,
		    round0, &cpu, &secs) != 0)
			return 1;
		done = (uint64_t)n * (uint64_t)rounds;
		printf("batch updates %llu seconds %.3f rate %.0f/s cpu_us %.2f\n",
		    (unsigned long long)done, secs, (double)done / secs,
		    cpu * 1e6 / (double)done);
		return 0;
	}
	if (strcmp(mode, "cache") == 0) {
		struct event_base *eb = event_base_new();
		struct config cf;
		struct check *cs = calloc((size_t)n, sizeof(*cs));
		struct metric m;
		char name[16];
		double c0, cpu, secs;

		memset(&cf, 0, sizeof(cf));
		memset(&m, 0, sizeof(m));
		cf.state_dir = (char *)dir;
		cf.rrd_flush_delay_ms = 3600 * 1000;
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
		/* an untimed warm-up: the writer reads each file's header
		 * once per start (rrd_info), not once per flush */
		for (i = 0; i < n; i++)
			metric_store(&cs[i], base_t + (round0 + 1) * STEP);
		metric_flush_all();
		c0 = self_cpu();
		t0 = mono_us();
		for (r = 0; r < rounds; r++) {
			for (i = 0; i < n; i++) {
				m.value = i + r;
				metric_store(&cs[i],
				    base_t + (round0 + 2 + r) * STEP);
			}
			event_base_loop(eb, EVLOOP_NONBLOCK);
		}
		metric_flush_all();
		secs = (double)(mono_us() - t0) / 1e6;
		cpu = self_cpu() - c0;
		done = (uint64_t)n * (uint64_t)rounds;
		printf("cache updates %llu seconds %.3f rate %.0f/s cpu_us %.2f\n",
		    (unsigned long long)done, secs, (double)done / secs,
		    cpu * 1e6 / (double)done);
		metric_shutdown();
		for (i = 0; i < n; i++)
			free(cs[i].name);
		free(cs);
		event_base_free(eb);
		return 0;
	}
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
	    "ROUNDS ROUND0 [RRDCACHED_ADDR]\n"
	    "       rrd_bench cache STATE_DIR N ROUNDS ROUND0\n"
	    "       rrd_bench batch STATE_DIR N ROUNDS ROUND0 ADDR PID\n"
	    "       rrd_bench create-rate STATE_DIR N STEP NDS\n");
	return 2;
}
