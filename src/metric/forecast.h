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
	/* forecast_trend() only (forecast_fit leaves r2 NAN, days 0) */
	double r2;		/* the fit's R², NAN under 3 points */
	unsigned days;		/* daily extremes fitted; 0: raw samples */
	bool falling;		/* daily minima (else maxima) */
	const char *cf;		/* archive read: "MAX", "MIN" or "AVERAGE" */
	time_t shift;		/* a level shift found: fitted from here; 0 */
};

/*
 * A trend needs a fit that explains at least this share of the variance
 * of the points fitted (R²).  Below it the answer is "no trend": a line
 * through noise gives dates anywhere, and a date nobody can trust is
 * worse than none.  Documented in README "Capacity planning".
 */
#define FORECAST_R2_MIN		0.5
/* Daily extremes need this many whole days in the window, else samples. */
#define FORECAST_DAYS_MIN	3

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
 * forecast_trend — the trend that survives daily cycles: over a window of
 * at least FORECAST_DAYS_MIN days, the line through each day's maximum
 * (falling: minimum) — days counted back from end, read from the MAX
 * (MIN) archives, or AVERAGE in files without them — after the last
 * level shift, if a step explains the days better than any line does;
 * over a shorter window, the line through the AVERAGE samples as
 * forecast_fit.  Sets f->r2; forecast_has_trend() says whether to
 * believe it.  RETURN VALUE: as forecast_fit.
 */
int forecast_trend(const char *path, const char *ds, time_t start,
    time_t end, bool falling, struct forecast *f, char *err, size_t errlen);
/*
 * forecast_has_trend — is the fit good enough (R² >= FORECAST_R2_MIN)?
 * If not, why ("the line explains 12 % of the daily maxima …") in why.
 */
bool forecast_has_trend(const struct forecast *f, char *why, size_t len);

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
