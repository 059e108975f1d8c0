/*
 * metric_layout.c — the archives (RRAs) of a metric store file, as
 * rrd_create() arguments: how much of each resolution a file keeps.
 * Pure functions; the writer thread (metric_writer.c) creates files
 * with them, tests and bench/rrd check them.
 */
#include <stdio.h>

#include "metric/metric_layout.h"

#define RAW_ROWS_MAX	8640	/* 2 days at a 20 s interval */

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

		/* raw rows: 2 days, but a check run every few seconds keeps
		 * its last RAW_ROWS_MAX samples (the 5-minute tier has the
		 * rest); 2 days at 1 s would be 4 MB per metric */
		if (i == 0 && r > RAW_ROWS_MAX)
			r = RAW_ROWS_MAX;

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

int
metric_hw_rra(unsigned long step, char out[64])
{
	unsigned long season, rows;

	if (step == 0)
		step = 1;
	if (step > 7200)
		return 0;
	season = (86400 + step / 2) / step;
	rows = (14 * 86400 + step - 1) / step;
	if (rows > 20160)	/* 2 weeks at 1 min; a faster check: less */
		rows = 20160;
	if (rows < season)
		rows = season;
	snprintf(out, 64, "RRA:HWPREDICT:%lu:%g:%g:%lu", rows,
	    METRIC_HW_ALPHA, METRIC_HW_BETA, season);
	return 1;
}

