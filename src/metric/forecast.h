/*
 * forecast.h — "time until full": a least-squares line through a metric's
 * RRD history, the built-in `forecast` check type, and
 * GET /api/v1/forecast/CHECK/METRIC.
 */
#ifndef TOCSIN_FORECAST_H
#define TOCSIN_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct forecast {
	time_t start, end;	/* the window actually read */
	unsigned long step;	/* resolution librrd chose for it */
	unsigned points;	/* known values used */
	double slope;		/* per second */
	double value_now;	/* the line at end */
	double last;		/* the newest known value */
	int young;		/* failed for want of history, not a fault */
	double span;		/* seconds between first and last known value */
};

/*
 * forecast_fit — fit value = value_now + slope * (t - end) over the
 * AVERAGE values of data source ds in the RRD at path between start and
 * end (librrd picks the finest archive that covers the window).
 * RETURN VALUE: 0; or -1 with a reason in err (no file, no such data
 * source, fewer than 2 known values).
 */
int forecast_fit(const char *path, const char *ds, time_t start, time_t end,
    struct forecast *f, char *err, size_t errlen);

/*
 * forecast_time_to — seconds from f->end until the line reaches
 * threshold going up (falling: going down); 0 if it is already there;
 * -1 if it never does (flat, or moving away).
 */
double forecast_time_to(const struct forecast *f, double threshold,
    bool falling);

/* Registers the built-in `forecast` check type (before conf_load). */
int forecast_register(void);
/* Adds GET /api/v1/forecast/.  RETURN VALUE: 0, or -1. */
int forecast_api_init(void);

#endif
