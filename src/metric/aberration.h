/*
 * aberration.h — Holt-Winters aberrations as librrd computes them: the
 * FAILURES archive of a file made with aberration = yes (metric.h,
 * metric_hw_rra), read by the built-in `aberration` check type.
 */
#ifndef TOCSIN_ABERRATION_H
#define TOCSIN_ABERRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* librrd's default deviation scaling for FAILURES (delta_pos, delta_neg) */
#define ABERRATION_DELTA	2.0

struct aberration {
	time_t at;		/* end of the newest row with a verdict */
	double value;		/* its AVERAGE */
	double predict;		/* HWPREDICT for it */
	double dev;		/* DEVPREDICT for it */
	bool failing;		/* FAILURES flags it */
	bool learning;		/* no prediction yet (first season) */
};

/*
 * aberration_read — the newest verdict for ds in path up to end.
 * RETURN VALUE: 0; or -1 with err set (no file, no such data source, no
 * Holt-Winters archives: *nohw set then).
 */
int aberration_read(const char *path, const char *ds, time_t end,
    struct aberration *a, bool *nohw, char *err, size_t errlen);

/* Registers the built-in `aberration` check type (before conf_load). */
int aberration_register(void);

#endif
