/*
 * test_metric.c — the metric store and forecasts against real RRD files
 * (src/metric.c, src/forecast.c): names, the RRA layout, values read back
 * with rrd_fetch_r at each resolution, a metric added later, counters as
 * rates, a file that holds something else, a restart, and the least-squares
 * forecast on data of known slope.  Times are synthetic (hours and days
 * written in milliseconds), so nothing here waits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <rrd.h>

#include "core/check.h"
#include "core/conf.h"
#include "metric/aberration.h"
#include "metric/forecast.h"
#include "metric/metric.h"
#include "metric/metric_int.h"
#include "core/util.h"
#include "tap.h"

static char tmpdir[256];
static struct config cfg;

/* A check with the given metrics (names and flags) in its last result. */
struct fake {
	struct check c;
	struct metric m[4];
};

static void
fake_init(struct fake *f, const char *name, int64_t interval_ms)
{
	memset(f, 0, sizeof(*f));
	f->c.name = (char *)name;
	f->c.interval_ms = interval_ms;
	f->c.last.metrics = f->m;
}

static void
fake_set(struct fake *f, unsigned i, const char *name, double v,
    unsigned flags)
{
	f->m[i].name = (char *)name;
	f->m[i].value = v;
	f->m[i].flags = flags;
	if (f->c.last.nmetrics <= i)
		f->c.last.nmetrics = i + 1;
}

/* Value of ds at time t (the row ending at t) at resolution *step. */
static double
fetch_at(const char *check, const char *cf, const char *ds, time_t t,
    unsigned long res)
{
	char *path = metric_rrd_path(cfg.state_dir, check);
	time_t start = t - (time_t)res, end = t;
	unsigned long step = res, nds = 0, i, col;
	char **names = NULL;
	rrd_value_t *data = NULL;
	double v = -12345;

	if (rrd_fetch_r(path, cf, &start, &end, &step, &nds, &names,
	    &data) != 0) {
		printf("# fetch %s: %s\n", path, rrd_get_error());
		free(path);
		return v;
	}
	for (col = 0; col < nds; col++)
		if (strcmp(names[col], ds) == 0)
			break;
	if (col < nds && step == res && end >= t && start < t)
		v = data[((unsigned long)(t - start) / step - 1) * nds + col];
	else
		printf("# fetch %s %s: step %lu (want %lu) col %lu/%lu\n", path,
		    ds, step, res, col, nds);
	for (i = 0; i < nds; i++)
		free(names[i]);
	free(names);
	free(data);
	free(path);
	return v;
}

static void
test_ds_names(void)
{
	static const struct { const char *in, *out; } same[] = {
		{ "load1", "load1" },
		{ "disk_root_used_pct", "disk_root_used_pct" },
		{ "exactly_19_chars_ok", "exactly_19_chars_ok" },
	};
	const char *odd[] = { "rx/s", "time", "a_metric_name_of_20c",
	    "'quoted name'", "é", "" };
	char a[METRIC_DS_MAX + 1], b[METRIC_DS_MAX + 1];
	unsigned i, j;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		metric_ds_name(same[i].in, a);
		CHECK_STR(a, same[i].out);
	}
	metric_ds_name("rx/s", a);
	CHECK(strncmp(a, "rx_s_", 5) == 0 && strlen(a) == 11);
	metric_ds_name("rx_s", b);
	CHECK_STR(b, "rx_s");		/* no clash with the sanitised one */
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		metric_ds_name(odd[i], a);
		metric_ds_name(odd[i], b);
		CHECK_STR(a, b);	/* stable */
		CHECK(strlen(a) >= 1 && strlen(a) <= METRIC_DS_MAX);
		for (j = 0; a[j] != '\0'; j++)
			CHECK((a[j] >= 'a' && a[j] <= 'z') ||
			    (a[j] >= 'A' && a[j] <= 'Z') ||
			    (a[j] >= '0' && a[j] <= '9') || a[j] == '_');
	}
	metric_ds_name("a_metric_name_of_20c", a);
	metric_ds_name("a_metric_name_of_20d", b);
	CHECK(strcmp(a, b) != 0);
}

static void
test_paths(void)
{
	char *p = metric_rrd_path("/s", "web front/1");

	CHECK_STR(p, "/s/rrd/web%20front%2F1.rrd");
	free(p);
	p = metric_rrd_path("/s", ".hidden.x");
	CHECK_STR(p, "/s/rrd/%2Ehidden.x.rrd");
	free(p);
	p = metric_rrd_path("/s", "system");
	CHECK_STR(p, "/s/rrd/system.rrd");
	free(p);
}

/* since/until of graphs and series: what is read, what is refused. */
static void
test_parse_when(void)
{
	static const struct {
		const char *text;
		int rc;
		time_t want;		/* with now = 2000000000 */
	} cases[] = {
		{ "1d", 0, 2000000000 - 86400 },
		{ "-1d", 0, 2000000000 - 86400 },	/* rrdtool's spelling */
		{ "90m", 0, 2000000000 - 5400 },
		{ "-30s", 0, 2000000000 - 30 },
		{ "3600", 0, 2000000000 - 3600 },	/* seconds back */
		{ "1796432968", 0, 1796432968 },	/* a Unix time */
		{ "now", 0, 2000000000 },
		{ "0", 0, 2000000000 },
		{ "", -1, 0 },
		{ "-", -1, 0 },
		{ "--1d", -1, 0 },
		{ "-now", -1, 0 },
		{ "1y", -1, 0 },		/* durations have no year */
		{ "yesterday", -1, 0 },
		{ "1d ", -1, 0 },
		{ "-1e400d", -1, 0 },
	};
	time_t t;
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = 0;
		CHECK_NUM(metric_parse_when(cases[i].text, 2000000000, &t),
		    cases[i].rc);
		if (cases[i].rc == 0)
			CHECK_NUM((long long)t, (long long)cases[i].want);
	}
	CHECK_NUM(metric_parse_when(NULL, 2000000000, &t), -1);
}

static void
test_rra_layout(void)
{
	char rra[12][64];
	int n;

	n = metric_rra_args(60, rra, 12);
	CHECK(n == 12);
	CHECK_STR(rra[0], "RRA:AVERAGE:0.5:1:2880");
	CHECK_STR(rra[1], "RRA:MIN:0.5:1:2880");
	CHECK_STR(rra[2], "RRA:MAX:0.5:1:2880");
	CHECK_STR(rra[3], "RRA:AVERAGE:0.5:5:4032");
	CHECK_STR(rra[6], "RRA:AVERAGE:0.5:60:9480");
	CHECK_STR(rra[9], "RRA:AVERAGE:0.5:1440:1830");
	/* step 5 min: raw and 5-minute are one archive, kept 2 weeks */
	n = metric_rra_args(300, rra, 12);
	CHECK(n == 9);
	CHECK_STR(rra[0], "RRA:AVERAGE:0.5:1:4032");
	CHECK_STR(rra[3], "RRA:AVERAGE:0.5:12:9480");
	/* step 1 s: the raw archive keeps the last 8 640 samples */
	n = metric_rra_args(1, rra, 12);
	CHECK(n == 12);
	CHECK_STR(rra[0], "RRA:AVERAGE:0.5:1:8640");
	CHECK_STR(rra[3], "RRA:AVERAGE:0.5:300:4032");
	/* step 20 s: 2 days are exactly the cap */
	n = metric_rra_args(20, rra, 12);
	CHECK_STR(rra[0], "RRA:AVERAGE:0.5:1:8640");
}

static unsigned
count_old_files(void)
{
	char dir[300];
	struct dirent *de;
	DIR *d;
	unsigned n = 0;

	snprintf(dir, sizeof(dir), "%s/rrd", tmpdir);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".old") != NULL)
			n++;
	closedir(d);
	return n;
}

/* Three hours of a ramp, then a metric b, then a counter. */
static void
test_store_roundtrip(void)
{
	struct fake f;
	time_t now = time(NULL), t0 = (now - 6 * 3600) / 3600 * 3600, t;
	double sum = 0, v;
	int i;

	fake_init(&f, "ramp", 60000);
	for (i = 1; i <= 180; i++) {		/* 3 h at 60 s */
		t = t0 + i * 60;
		fake_set(&f, 0, "a", i, 0);
		if (i > 120) {			/* appears in the third hour */
			fake_set(&f, 1, "b", 1000 + i, 0);
			fake_set(&f, 2, "req", 120.0 * i, TOCSIN_METRIC_COUNTER);
		}
		metric_store(&f.c, t);
		if (i == 60 || i == 120)	/* written between hours */
			metric_flush_all();
		if (i <= 60)
			sum += i;
	}
	CHECK(metric_pending() > 0);
	metric_flush("ramp");
	CHECK(metric_pending() == 0);
	/* raw values come back as written */
	CHECK_NUM(fetch_at("ramp", "AVERAGE", "a", t0 + 30 * 60, 60), 30);
	CHECK_NUM(fetch_at("ramp", "AVERAGE", "a", t0 + 150 * 60, 60), 150);
	/* the hourly archive: average, min and max of the first hour */
	CHECK_NUM(fetch_at("ramp", "AVERAGE", "a", t0 + 3600, 3600),
	    sum / 60);
	CHECK_NUM(fetch_at("ramp", "MIN", "a", t0 + 3600, 3600), 1);
	CHECK_NUM(fetch_at("ramp", "MAX", "a", t0 + 3600, 3600), 60);
	/* 5-minute archive */
	CHECK_NUM(fetch_at("ramp", "AVERAGE", "a", t0 + 600, 300), 8);
	/* b added later: a's old rows kept, b unknown before, known after */
	CHECK_NUM(fetch_at("ramp", "AVERAGE", "a", t0 + 10 * 60, 60), 10);
	CHECK(isnan(fetch_at("ramp", "AVERAGE", "b", t0 + 10 * 60, 60)));
	CHECK_NUM(fetch_at("ramp", "AVERAGE", "b", t0 + 170 * 60, 60), 1170);
	/* a counter growing 120 per minute is a rate of 2/s */
	v = fetch_at("ramp", "AVERAGE", "req", t0 + 170 * 60, 60);
	CHECK(fabs(v - 2.0) < 1e-9);
	CHECK(count_old_files() == 0);
}

/* Same name, another interval: the old file is kept aside, not reused. */
static void
test_wrong_file_kept_aside(void)
{
	struct fake f;
	time_t t0 = time(NULL) - 3600;
	char *path;
	rrd_info_t *info, *i;
	unsigned long step = 0;

	fake_init(&f, "ramp", 300000);
	fake_set(&f, 0, "a", 1, 0);
	metric_store(&f.c, t0);
	metric_store(&f.c, t0 + 300);
	metric_flush_all();
	CHECK(count_old_files() == 1);
	path = metric_rrd_path(cfg.state_dir, "ramp");
	info = rrd_info_r(path);
	for (i = info; i != NULL; i = i->next)
		if (strcmp(i->key, "step") == 0)
			step = i->value.u_cnt;
	CHECK(step == 300);
	rrd_info_free(info);
	free(path);
}

/*
 * A counter from a plugin's perfdata as absurd as 1e300c once made the
 * writer format 301 digits into a buffer sized at 26 bytes per DS and
 * write past its end (issue 14, seen by ASan).  Now it is unknown, and the
 * other metric of the same result is still stored.
 */
static void
test_absurd_counter_unknown(void)
{
	struct fake f;
	time_t t0 = (time(NULL) - 3600) / 60 * 60;
	char *text;
	int i;

	fake_init(&f, "huge", 60000);
	for (i = 1; i <= 5; i++) {
		fake_set(&f, 0, "a", i == 3 ? -1e300 : 1e300,
		    TOCSIN_METRIC_COUNTER);
		fake_set(&f, 1, "b", i, 0);
		fake_set(&f, 2, "c", 1.8e19, TOCSIN_METRIC_COUNTER);
		fake_set(&f, 3, "d", 1.7e308, 0);
		metric_store(&f.c, t0 + i * 60);
	}
	metric_flush_all();
	CHECK(isnan(fetch_at("huge", "AVERAGE", "a", t0 + 3 * 60, 60)));
	CHECK_NUM(fetch_at("huge", "AVERAGE", "b", t0 + 3 * 60, 60), 3);
	/* a 64-bit counter's value is still one: a rate of 0 */
	CHECK_NUM(fetch_at("huge", "AVERAGE", "c", t0 + 3 * 60, 60), 0);

	/* the text itself, for the widest values of every kind */
	{
		char names[3][METRIC_DS_MAX + 1] = { "a", "b", "c" };
		struct mds ds[3] = { { "a", true }, { "b", false },
		    { "c", true } };
		double v[3] = { -1.7976931348623157e308,
		    -2.2250738585072014e-308, -9.2e18 };
		struct upd u = { (time_t)INT64_MIN, 3, v };
		struct mjob j = { .check = "huge", .ds = ds, .nds = 3 };

		text = writer_update_text(names, 3, &j, &u);
		CHECK_STR(text, "-9223372036854775808:U:"
		    "-2.2250738585072014e-308:-9200000000000000000");
		free(text);
	}
}

/*
 * Out of file descriptors, librrd cannot open a file it must look at
 * (after a restart, or after a failed update).  That says nothing about
 * the file: it is kept with its history, not renamed .old (issue 14: an
 * fd exhaustion attack left four .old files), and written again once
 * descriptors are back.  The fds are really exhausted, in this process,
 * whose writer thread shares the fd table.
 */
static void
test_fd_exhaustion_keeps_history(void)
{
	struct fake f;
	struct rlimit rl, low;
	time_t t0 = (time(NULL) - 2 * 3600) / 60 * 60;
	unsigned old_before;
	int fds[512], nfd = 0, i;

	fake_init(&f, "fdx", 60000);
	for (i = 1; i <= 10; i++) {
		fake_set(&f, 0, "x", i, 0);
		metric_store(&f.c, t0 + i * 60);
	}
	metric_flush_all();
	old_before = count_old_files();
	CHECK_NUM(fetch_at("fdx", "AVERAGE", "x", t0 + 5 * 60, 60), 5);
	/* a restart: the writer knows nothing of the file and must read it */
	metric_shutdown();
	CHECK(metric_init(NULL, &cfg) == 0);

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	low = rl;
	low.rlim_cur = 256;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	while (nfd < (int)(sizeof(fds) / sizeof(fds[0])) &&
	    (fds[nfd] = open("/dev/null", O_RDONLY)) != -1)
		nfd++;
	CHECK(nfd < (int)(sizeof(fds) / sizeof(fds[0])) && errno == EMFILE);
	for (i = 11; i <= 20; i++) {
		fake_set(&f, 0, "x", i, 0);
		metric_store(&f.c, t0 + i * 60);
	}
	metric_flush_all();		/* fails: no fd to read the file */
	while (nfd > 0)
		close(fds[--nfd]);
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);

	CHECK(count_old_files() == old_before);
	CHECK_NUM(fetch_at("fdx", "AVERAGE", "x", t0 + 5 * 60, 60), 5);
	/* and the next results go into the same file */
	for (i = 21; i <= 25; i++) {
		fake_set(&f, 0, "x", i, 0);
		metric_store(&f.c, t0 + i * 60);
	}
	metric_flush_all();
	CHECK_NUM(fetch_at("fdx", "AVERAGE", "x", t0 + 5 * 60, 60), 5);
	CHECK_NUM(fetch_at("fdx", "AVERAGE", "x", t0 + 23 * 60, 60), 23);
	CHECK(count_old_files() == old_before);
}

/* A file that is not an RRD file at all is still kept aside. */
static void
test_garbage_file_kept_aside(void)
{
	struct fake f;
	char *path = metric_rrd_path(cfg.state_dir, "junk");
	time_t t0 = (time(NULL) - 3600) / 60 * 60;
	unsigned old_before = count_old_files();
	FILE *fp;

	fp = fopen(path, "w");
	CHECK(fp != NULL);
	if (fp != NULL) {
		fputs("this is not an RRD file, but something of the user's\n",
		    fp);
		fclose(fp);
	}
	fake_init(&f, "junk", 60000);
	fake_set(&f, 0, "x", 1, 0);
	metric_store(&f.c, t0);
	fake_set(&f, 0, "x", 2, 0);
	metric_store(&f.c, t0 + 60);
	metric_flush_all();
	CHECK(count_old_files() == old_before + 1);
	CHECK_NUM(fetch_at("junk", "AVERAGE", "x", t0 + 60, 60), 2);
	free(path);
}

/* After a restart the store reuses the file and its history. */
static void
test_restart_keeps_history(void)
{
	struct fake f;
	time_t t0 = (time(NULL) - 4 * 3600) / 60 * 60;
	unsigned old_before = count_old_files();
	int i;

	fake_init(&f, "keep", 60000);
	for (i = 1; i <= 10; i++) {
		fake_set(&f, 0, "x", i * 2.5, 0);
		metric_store(&f.c, t0 + i * 60);
	}
	metric_shutdown();
	CHECK(metric_init(NULL, &cfg) == 0);
	for (i = 5; i <= 20; i++) {	/* 5..10 again: ignored, not errors */
		fake_set(&f, 0, "x", i * 2.5, 0);
		metric_store(&f.c, t0 + i * 60);
	}
	metric_flush_all();
	CHECK_NUM(fetch_at("keep", "AVERAGE", "x", t0 + 3 * 60, 60), 7.5);
	CHECK_NUM(fetch_at("keep", "AVERAGE", "x", t0 + 15 * 60, 60), 37.5);
	CHECK(count_old_files() == old_before);	/* none new */
}

/* 7 days of a disk filling at 1.5 %/day: forecast within 1 %. */
static void
test_forecast_known_slope(void)
{
	struct fake f;
	struct forecast fc;
	time_t now = time(NULL) / 300 * 300, t;
	double slope = 1.5 / 86400, v_now = 60, expect, tt;
	char *path, err[256];
	int i;

	fake_init(&f, "disk", 300000);
	for (i = 7 * 288; i >= 0; i--) {
		t = now - i * 300;
		fake_set(&f, 0, "used_pct", v_now - slope * (double)(now - t),
		    0);
		metric_store(&f.c, t);
		if (i % 500 == 0)
			metric_flush_all();
	}
	metric_flush("disk");
	path = metric_rrd_path(cfg.state_dir, "disk");
	CHECK(forecast_fit(path, "used_pct", now - 7 * 86400, now, &fc, err,
	    sizeof(err)) == 0);
	printf("# slope %.6g/day, now %.6g, %u points, step %lu\n",
	    fc.slope * 86400, fc.value_now, fc.points, fc.step);
	CHECK(fc.points >= 2000);
	CHECK(fabs(fc.slope - slope) / slope < 0.01);
	expect = (95 - v_now) / slope;
	tt = forecast_time_to(&fc, 95, false);
	printf("# time to 95: %.1f days, expected %.1f\n", tt / 86400,
	    expect / 86400);
	CHECK(fabs(tt - expect) / expect < 0.01);
	CHECK(forecast_time_to(&fc, 50, false) == 0);	/* already over */
	CHECK(forecast_time_to(&fc, 10, true) == -1);	/* never falls */
	CHECK(forecast_time_to(&fc, 70, true) == 0);	/* already under */
	CHECK(forecast_fit(path, "nosuch", now - 86400, now, &fc, err,
	    sizeof(err)) == -1);
	free(path);
}

/*
 * Trends that survive a daily cycle: 14 days at 5 minutes written through
 * the store, a daily sine of amplitude 10 and noise from a fixed LCG.
 */
static unsigned long lcg = 12345;

static double
noise(double amp)	/* uniform in [-amp, amp], the same every run */
{
	lcg = lcg * 6364136223846793005UL + 1442695040888963407UL;
	return amp * (2.0 * (double)((lcg >> 33) & 0xffffff) / 16777215.0 -
	    1.0);
}

enum shape { GROW, FLAT, SHRINK, STEP };

static double
shape_at(enum shape sh, double days, double t)
{
	double cyc = 10 * sin(2 * M_PI * t / 86400);

	switch (sh) {
	case GROW:
		return 40 + 1.0 * days + cyc + noise(1);
	case FLAT:
		return 50 + cyc + noise(5);
	case SHRINK:
		return 80 - 0.5 * days + cyc + noise(1);
	case STEP:
		return (days < 7 ? 30 : 60) + cyc + noise(1);
	}
	return NAN;
}

static char *
write_series(const char *check, enum shape sh, time_t now)
{
	struct fake f;
	time_t t0 = now - 14 * 86400, t;
	int i = 0;

	fake_init(&f, check, 300000);
	for (t = t0; t <= now; t += 300, i++) {
		fake_set(&f, 0, "used", shape_at(sh, (double)(t - t0) / 86400,
		    (double)t), 0);
		metric_store(&f.c, t);
		if (i % 500 == 0)
			metric_flush_all();
	}
	metric_flush(check);
	return metric_rrd_path(cfg.state_dir, check);
}

static void
test_trend_daily_cycle(void)
{
	struct forecast fc, raw;
	/*
	 * Midnight UTC: the cycle's phase at the window's ends decides how
	 * far a straight line through the raw samples lands (43.1 days at
	 * 09:00 UTC, within 20 % of the truth: the check below failed in
	 * CI; 51.8 at midnight), so the test does not depend on when it
	 * runs.
	 */
	time_t now = time(NULL) / 86400 * 86400;
	/* peaks are trend + 10: they reach 100 when 40 + d + 10 = 100 */
	double truth = 50 - 14, tt, days;
	char *path, err[256], why[256];

	path = write_series("grow", GROW, now);
	CHECK(forecast_trend(path, "used", now - 14 * 86400, now, false, &fc,
	    err, sizeof(err)) == 0);
	CHECK(forecast_has_trend(&fc, why, sizeof(why)));
	tt = forecast_time_to(&fc, 100, false);
	days = tt / 86400;
	printf("# grow: %u days of %s, slope %.4g/day, R2 %.3f, %.2f days "
	    "left, truth %.2f\n", fc.days, fc.cf, fc.slope * 86400, fc.r2,
	    days, truth);
	CHECK(fc.days >= 13 && strcmp(fc.cf, "MAX") == 0 && fc.shift == 0);
	CHECK(fabs(days - truth) / truth < 0.05);
	/* the line through the raw samples misses the peaks by 10 days */
	CHECK(forecast_fit(path, "used", now - 14 * 86400, now, &raw, err,
	    sizeof(err)) == 0);
	printf("# raw samples: %.2f days left\n",
	    forecast_time_to(&raw, 100, false) / 86400);
	CHECK(fabs(forecast_time_to(&raw, 100, false) / 86400 - truth) /
	    truth > 0.2);
	free(path);

	path = write_series("flat", FLAT, now);
	CHECK(forecast_trend(path, "used", now - 14 * 86400, now, false, &fc,
	    err, sizeof(err)) == 0);
	printf("# flat: slope %.4g/day, R2 %.3f\n", fc.slope * 86400, fc.r2);
	CHECK(!forecast_has_trend(&fc, why, sizeof(why)));
	CHECK(strstr(why, "daily maxima") != NULL);
	free(path);

	path = write_series("shrink", SHRINK, now);
	CHECK(forecast_trend(path, "used", now - 14 * 86400, now, false, &fc,
	    err, sizeof(err)) == 0);
	printf("# shrink: slope %.4g/day, R2 %.3f\n", fc.slope * 86400,
	    fc.r2);
	CHECK(forecast_has_trend(&fc, why, sizeof(why)));
	CHECK(forecast_time_to(&fc, 100, false) == -1);
	free(path);

	/* 30 then 60 from day 7: a shift, not growth of 30 a week */
	path = write_series("step", STEP, now);
	CHECK(forecast_trend(path, "used", now - 14 * 86400, now, false, &fc,
	    err, sizeof(err)) == 0);
	printf("# step: shift %+ld s, %u days, slope %.4g/day, R2 %.3f\n",
	    (long)(fc.shift - now), fc.days, fc.slope * 86400, fc.r2);
	CHECK(fc.shift != 0 && fabs((double)(fc.shift - (now - 7 * 86400))) <=
	    86400);
	CHECK(!forecast_has_trend(&fc, why, sizeof(why)) ||
	    forecast_time_to(&fc, 100, false) == -1 ||
	    forecast_time_to(&fc, 100, false) > 365 * 86400.0);
	free(path);
}

/* Rows FAILURES flags for ds over [start, end]. */
static unsigned
failures(const char *path, const char *ds, time_t start, time_t end)
{
	unsigned long step = 1, nds = 0, k, r, col;
	char **names = NULL;
	rrd_value_t *data = NULL;
	unsigned n = 0;

	if (rrd_fetch_r(path, "FAILURES", &start, &end, &step, &nds, &names,
	    &data) != 0)
		return 9999;
	for (col = 0; col < nds && strcmp(names[col], ds) != 0; col++)
		;
	for (r = 0; col < nds && r < (unsigned long)(end - start) / step; r++)
		if (data[r * nds + col] > 0.5)
			n++;
	for (k = 0; k < nds; k++)
		free(names[k]);
	free(names);
	free(data);
	return n;
}

/*
 * Holt-Winters from librrd's own archives: two weeks of a pure daily
 * cycle (written with times in the past) raise nothing; a spike does,
 * and clears once the values are back in the band.
 */
static void
hw_write(struct fake *f, time_t from, time_t to, double extra)
{
	time_t t;
	int i = 0;

	for (t = from; t <= to; t += 300, i++) {
		fake_set(f, 0, "req", 100 + extra + 50 * sin(2 * M_PI *
		    (double)t / 86400) + noise(5), 0);
		metric_store(&f->c, t);
		if (i % 500 == 0)
			metric_flush_all();
	}
	metric_flush(f->c.name);
}

/*
 * Holt-Winters from librrd's own archives: two weeks of a daily cycle
 * with noise (written with times in the past) raise nothing; a spike of
 * 40 minutes does, and it clears once the values are back.
 */
static void
test_aberration_holt_winters(void)
{
	struct fake f;
	struct aberration a;
	time_t now = time(NULL) / 300 * 300, t0 = now - 14 * 86400;
	time_t spike = now - 4 * 3600;
	char *path, err[256];
	bool nohw;
	unsigned quiet;

	fake_init(&f, "hw", 300000);
	f.c.aberration = true;
	hw_write(&f, t0, spike - 300, 0);
	path = metric_rrd_path(cfg.state_dir, "hw");
	CHECK(aberration_read(path, "req", spike - 300, &a, &nohw, err,
	    sizeof(err)) == 0);
	quiet = failures(path, "req", t0, spike - 300);
	printf("# seasonal: %.4g, expected %.4g +- %.3g, failing %d, "
	    "flagged rows in 2 weeks %u\n", a.value, a.predict, 2 * a.dev,
	    a.failing, quiet);
	CHECK(!a.failing && !a.learning);
	CHECK(quiet == 0);
	/* +80 for 40 minutes */
	hw_write(&f, spike, spike + 35 * 60, 80);
	CHECK(aberration_read(path, "req", spike + 35 * 60, &a, &nohw, err,
	    sizeof(err)) == 0);
	printf("# spike: %.4g, expected %.4g +- %.3g, failing %d\n",
	    a.value, a.predict, 2 * a.dev, a.failing);
	CHECK(a.failing);
	/* back to the cycle */
	hw_write(&f, spike + 40 * 60, now, 0);
	CHECK(aberration_read(path, "req", now, &a, &nohw, err,
	    sizeof(err)) == 0);
	printf("# after: %.4g, expected %.4g +- %.3g, failing %d, flagged "
	    "rows since the spike %u\n", a.value, a.predict, 2 * a.dev,
	    a.failing, failures(path, "req", spike, now));
	CHECK(!a.failing);
	free(path);
	/* a file without the archives says so */
	path = metric_rrd_path(cfg.state_dir, "grow");
	CHECK(aberration_read(path, "used", now, &a, &nohw, err,
	    sizeof(err)) == -1 && nohw);
	free(path);
}

/* ---- the write-back cache (daemon.rrd_flush_delay) ------------------ */

static struct event_base *eb;

static bool
file_exists(const char *check)
{
	char *p = metric_rrd_path(cfg.state_dir, check);
	struct stat sb;
	bool yes = stat(p, &sb) == 0;

	free(p);
	return yes;
}

/* Run the loop until cond() or for at most ms. */
static bool
loop_until(bool (*cond)(void), int64_t ms)
{
	int64_t until = mono_ms() + ms;
	struct timeval tick = { 0, 20000 };

	while (!cond() && mono_ms() < until) {
		event_base_loopexit(eb, &tick);
		event_base_dispatch(eb);
	}
	return cond();
}

/*
 * 1 000 files, one update each: nothing is written before the delay, each
 * file is due within the delay, and the due times are spread over it (its
 * phase is a hash of its name), not in one wave.
 */
static void
test_cache_spread(void)
{
	struct metric_cache_stats st;
	struct fake f;
	char name[16];
	int64_t now = mono_ms(), d;
	unsigned bucket[10] = { 0 }, i, lo = ~0u, hi = 0;
	time_t t = time(NULL) - 600;
	bool within = true;

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "s%03u", i);
		fake_init(&f, name, 60000);
		fake_set(&f, 0, "a", i, 0);
		metric_store(&f.c, t);
		d = metric_cache_due(name) - now;
		if (d <= 0 || d > 60000 + 100)
			within = false;
		else
			bucket[d * 10 / 60100]++;
	}
	CHECK(within);
	for (i = 0; i < 10; i++) {
		if (bucket[i] < lo)
			lo = bucket[i];
		if (bucket[i] > hi)
			hi = bucket[i];
	}
	printf("# due times over 10 tenths of the delay: %u..%u a tenth\n",
	    lo, hi);
	CHECK(lo >= 50 && hi <= 150);
	metric_cache_stats(&st);
	CHECK(st.files == 1000 && st.updates == 1000);
	writer_barrier();
	CHECK(!file_exists("s000") && !file_exists("s999"));
	/* a reader's flush writes that file, and only it */
	CHECK(metric_flush("s500") == 0);
	CHECK(file_exists("s500") && !file_exists("s501"));
	metric_cache_stats(&st);
	CHECK(st.files == 999 && st.flushes_read == 1);
}

/* Past 1 024 updates a file is written early: nothing is dropped. */
static void
test_cache_file_cap(void)
{
	struct metric_cache_stats st0, st;
	struct fake f;
	time_t t0 = (time(NULL) - 20 * 3600) / 60 * 60;
	unsigned i;

	metric_cache_stats(&st0);
	fake_init(&f, "big", 60000);
	for (i = 1; i <= 1100; i++) {
		fake_set(&f, 0, "a", i, 0);
		metric_store(&f.c, t0 + i * 60);
	}
	metric_cache_stats(&st);
	CHECK(st.flushes_early == st0.flushes_early + 1);
	CHECK(st.updates == st0.updates + 1100 - 1024);
	metric_flush("big");
	CHECK_NUM(fetch_at("big", "AVERAGE", "a", t0 + 60, 60), 1);
	CHECK_NUM(fetch_at("big", "AVERAGE", "a", t0 + 1024 * 60, 60), 1024);
	CHECK_NUM(fetch_at("big", "AVERAGE", "a", t0 + 1100 * 60, 60), 1100);
}

/* A reload writes everything; then rrd_cache_max bounds the cache. */
static void
test_cache_total_cap(void)
{
	struct metric_cache_stats st0, st;
	struct fake f;
	char name[16];
	time_t t0 = (time(NULL) - 3600) / 60 * 60;
	unsigned i, k;
	size_t most = 0;

	cfg.rrd_cache_max = 1000;
	metric_reconfigure(&cfg);
	metric_cache_stats(&st0);
	CHECK(st0.updates == 0 && st0.files == 0);
	writer_barrier();
	CHECK(file_exists("s000") && file_exists("s999"));
	for (k = 1; k <= 10; k++)
		for (i = 0; i < 200; i++) {
			snprintf(name, sizeof(name), "t%03u", i);
			fake_init(&f, name, 60000);
			fake_set(&f, 0, "a", k, 0);
			metric_store(&f.c, t0 + k * 60);
			metric_cache_stats(&st);
			if (st.updates > most)
				most = st.updates;
		}
	printf("# 2000 updates, cap 1000: at most %zu cached, %llu files "
	    "written early\n", most, (unsigned long long)(st.flushes_early -
	    st0.flushes_early));
	CHECK(most <= 1000);
	CHECK(st.flushes_early > st0.flushes_early);
	metric_flush_all();
	CHECK_NUM(fetch_at("t000", "AVERAGE", "a", t0 + 10 * 60, 60), 10);
	CHECK_NUM(fetch_at("t199", "AVERAGE", "a", t0 + 60, 60), 1);
}

static bool
cache_empty(void)
{
	struct metric_cache_stats st;

	metric_cache_stats(&st);
	return st.files == 0;
}

static uint64_t created0;

static bool
all_created(void)
{
	return writer_created() - created0 >= 20 && metric_pending() == 0;
}

/* The loop's timer hands a file over when due; new files are paced. */
static void
test_cache_timer_and_pacing(void)
{
	struct fake f;
	char name[16];
	int64_t t;
	time_t now = time(NULL);
	unsigned i;
	uint64_t first;

	cfg.rrd_flush_delay_ms = 1000;
	metric_reconfigure(&cfg);
	fake_init(&f, "tick", 1000);
	fake_set(&f, 0, "a", 3, 0);
	metric_store(&f.c, now - 5);
	t = mono_ms();
	CHECK(loop_until(cache_empty, 3000));
	CHECK(mono_ms() - t <= 1500);
	writer_barrier();
	CHECK(file_exists("tick"));
	/* 20 new files at 5 a second: not all at once */
	cfg.rrd_flush_delay_ms = 0;
	cfg.rrd_create_rate = 5;
	metric_reconfigure(&cfg);
	sleep(1);	/* a full bucket: 5 at once, then 5 a second */
	created0 = writer_created();
	t = mono_ms();
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "p%02u", i);
		fake_init(&f, name, 60000);
		fake_set(&f, 0, "a", i, 0);
		metric_store(&f.c, now - 60);
	}
	loop_until(cache_empty, 1000);
	usleep(500000);
	first = writer_created() - created0;
	CHECK(loop_until(all_created, 10000));
	printf("# 20 new files at 5/s: %llu in the first 0.5 s, all in "
	    "%.1f s\n", (unsigned long long)first,
	    (double)(mono_ms() - t) / 1000);
	CHECK(first <= 9);
	CHECK(mono_ms() - t >= 2500);
}

int
main(void)
{
	char cmd[300];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_metric.%d", (int)getpid());
	mkdir(tmpdir, 0700);
	cfg.state_dir = tmpdir;
	RUN(test_ds_names);
	RUN(test_paths);
	RUN(test_parse_when);
	RUN(test_rra_layout);
	if (metric_init(NULL, &cfg) != 0) {
		printf("Bail out! metric_init\n");
		return 1;
	}
	RUN(test_store_roundtrip);
	RUN(test_wrong_file_kept_aside);
	RUN(test_absurd_counter_unknown);
	RUN(test_fd_exhaustion_keeps_history);
	RUN(test_garbage_file_kept_aside);
	RUN(test_restart_keeps_history);
	RUN(test_forecast_known_slope);
	RUN(test_trend_daily_cycle);
	RUN(test_aberration_holt_winters);
	metric_shutdown();
	if ((eb = event_base_new()) == NULL) {
		printf("Bail out! event_base_new\n");
		return 1;
	}
	cfg.rrd_flush_delay_ms = 60000;
	if (metric_init(eb, &cfg) != 0) {
		printf("Bail out! metric_init\n");
		return 1;
	}
	RUN(test_cache_spread);
	RUN(test_cache_file_cap);
	RUN(test_cache_total_cap);
	RUN(test_cache_timer_and_pacing);
	metric_shutdown();
	event_base_free(eb);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", tmpdir);
	return TAP_END();
}
