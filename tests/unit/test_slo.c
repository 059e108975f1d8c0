/*
 * test_slo.c — the SLO arithmetic (src/incident/slo.c): bad seconds of a
 * state history over a window (UNREACHABLE and PENDING not counted,
 * maintenance subtracted), the "FACTOR LONG SHORT" alert syntax, and the
 * multi-window rule through burn rates computed from those seconds.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "incident/slo.h"
#include "tap.h"

#define T0 1000000000

static const struct slo_pt down_10_to_40[] = {
	{ T0 + 10, STATE_CRITICAL }, { T0 + 40, STATE_OK },
};

static void
test_bad_seconds_of_one_outage(void)
{
	const struct slo_pt *v = down_10_to_40;

	CHECK_NUM(slo_bad_seconds(v, 2, T0, T0 + 100, NULL, NULL), 30);
	/* windows cutting the outage */
	CHECK_NUM(slo_bad_seconds(v, 2, T0 + 20, T0 + 100, NULL, NULL), 20);
	CHECK_NUM(slo_bad_seconds(v, 2, T0, T0 + 25, NULL, NULL), 15);
	CHECK_NUM(slo_bad_seconds(v, 2, T0 + 15, T0 + 16, NULL, NULL), 1);
	/* before and after: nothing */
	CHECK_NUM(slo_bad_seconds(v, 2, T0, T0 + 10, NULL, NULL), 0);
	CHECK_NUM(slo_bad_seconds(v, 2, T0 + 40, T0 + 90, NULL, NULL), 0);
	/* no history: up (OK before the first change) */
	CHECK_NUM(slo_bad_seconds(NULL, 0, T0, T0 + 90, NULL, NULL), 0);
}

static void
test_still_down_counts_to_the_end(void)
{
	static const struct slo_pt v[] = { { T0 + 50, STATE_UNKNOWN } };

	CHECK_NUM(slo_bad_seconds(v, 1, T0, T0 + 100, NULL, NULL), 50);
	/* the state at the window's start comes from before it */
	CHECK_NUM(slo_bad_seconds(v, 1, T0 + 60, T0 + 100, NULL, NULL), 40);
}

static void
test_up_and_not_counted_states(void)
{
	static const struct slo_pt v[] = {
		{ T0, STATE_WARNING }, { T0 + 10, STATE_UNREACHABLE },
		{ T0 + 20, STATE_PENDING }, { T0 + 30, STATE_CRITICAL },
		{ T0 + 35, STATE_OK },
	};

	/* WARNING is up, UNREACHABLE the parent's, PENDING no data */
	CHECK_NUM(slo_bad_seconds(v, 5, T0, T0 + 100, NULL, NULL), 5);
	CHECK(!slo_state_bad(STATE_OK) && !slo_state_bad(STATE_WARNING) &&
	    !slo_state_bad(STATE_UNREACHABLE) &&
	    !slo_state_bad(STATE_PENDING));
	CHECK(slo_state_bad(STATE_CRITICAL) && slo_state_bad(STATE_UNKNOWN));
}

/* a maintenance window over [T0 + 20, T0 + 30) */
static int64_t
maint(void *arg, time_t a, time_t b)
{
	time_t s = T0 + 20, e = T0 + 30;

	(*(int *)arg)++;
	if (a < s)
		a = s;
	if (b > e)
		b = e;
	return b > a ? b - a : 0;
}

static void
test_maintenance_is_subtracted(void)
{
	int calls = 0;

	CHECK_NUM(slo_bad_seconds(down_10_to_40, 2, T0, T0 + 100, maint,
	    &calls), 20);
	CHECK(calls == 1);	/* asked for the down span only */
}

static void
test_burn_syntax(void)
{
	struct slo_burn b;
	char err[256];

	CHECK(slo_burn_parse("14.4x 1h 5m", &b, err, sizeof(err)) == 0);
	CHECK(fabs(b.factor - 14.4) < 1e-9 && b.long_s == 3600 &&
	    b.short_s == 300);
	CHECK(slo_burn_parse("6  6h\t30m", &b, err, sizeof(err)) == 0);
	CHECK(b.factor == 6 && b.long_s == 21600 && b.short_s == 1800);
	CHECK(slo_burn_parse("1X 3d 6h", &b, err, sizeof(err)) == 0);
	CHECK(b.long_s == 3 * 86400);
	CHECK(slo_burn_parse("fast 1h 5m", &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "is not FACTOR LONG SHORT") != NULL);
	CHECK(slo_burn_parse("2x 1h", &b, err, sizeof(err)) == -1);
	CHECK(slo_burn_parse("2x 1h 5m 1m", &b, err, sizeof(err)) == -1);
	CHECK(slo_burn_parse("2y 1h 5m", &b, err, sizeof(err)) == -1);
	CHECK(slo_burn_parse("0x 1h 5m", &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "above 0") != NULL);
	CHECK(slo_burn_parse("2x 5m 1h", &b, err, sizeof(err)) == -1);
	CHECK(strstr(err, "shorter") != NULL);
	CHECK(slo_burn_parse("2x 1h 500ms", &b, err, sizeof(err)) == -1);
}

static void
test_window_labels(void)
{
	char b[32];

	slo_window_label(30 * 86400, b, sizeof(b));
	CHECK_STR(b, "30d");
	slo_window_label(6 * 3600, b, sizeof(b));
	CHECK_STR(b, "6h");
	slo_window_label(300, b, sizeof(b));
	CHECK_STR(b, "5m");
	slo_window_label(90, b, sizeof(b));
	CHECK_STR(b, "90s");
}

/*
 * The workbook's arithmetic on a 99.9 % objective: an outage of 5
 * minutes of a 1 h window burns 0.0833 / 0.001 = 83x; the fast alert
 * (14.4x over 1h and 5m) fires while the last 5 minutes still hold at
 * least 14.4 * 0.001 * 300 = 4.3 s of it, and stops after that.
 */
static void
test_multi_window_rule(void)
{
	static const struct slo_pt v[] = {
		{ T0 + 3000, STATE_CRITICAL }, { T0 + 3300, STATE_OK },
	};
	double budget = 0.001;
	time_t now;

	now = T0 + 3600;	/* 5 min after the outage ended */
	CHECK(slo_bad_seconds(v, 2, now - 3600, now, NULL, NULL) / 3600.0 /
	    budget >= 14.4);
	CHECK(slo_bad_seconds(v, 2, now - 300, now, NULL, NULL) / 300.0 /
	    budget < 14.4);	/* the short window says: stopped */
	now = T0 + 3302;	/* just after it ended: still firing */
	CHECK(slo_bad_seconds(v, 2, now - 300, now, NULL, NULL) / 300.0 /
	    budget >= 14.4);
	/* 1x exactly: 0.1 % of a window down */
	{
		static const struct slo_pt w[] = {
			{ T0, STATE_CRITICAL }, { T0 + 36, STATE_OK },
		};

		CHECK(fabs(slo_bad_seconds(w, 2, T0, T0 + 36000, NULL, NULL) /
		    36000.0 / budget - 1.0) < 1e-9);
	}
}

int
main(void)
{
	RUN(test_bad_seconds_of_one_outage);
	RUN(test_still_down_counts_to_the_end);
	RUN(test_up_and_not_counted_states);
	RUN(test_maintenance_is_subtracted);
	RUN(test_burn_syntax);
	RUN(test_window_labels);
	RUN(test_multi_window_rule);
	return TAP_END();
}
