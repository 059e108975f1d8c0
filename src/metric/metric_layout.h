/*
 * metric_layout.h — the layout of an RRD file of the metric store: its
 * archives (metric_layout.c).  metric.h includes it.
 */
#ifndef TOCSIN_METRIC_LAYOUT_H
#define TOCSIN_METRIC_LAYOUT_H

/*
 * metric_rra_args — the RRA definitions for a file of step seconds
 * (AVERAGE, MIN and MAX at raw resolution for 2 days, 5 minutes for 2
 * weeks, 1 hour for 13 months, 1 day for 5 years; a tier whose resolution
 * equals the one before is merged into it).  Fills up to max strings of
 * len bytes each; RETURN VALUE: how many.
 */
int metric_rra_args(unsigned long step, char (*out)[64], int max);
/*
 * metric_hw_rra — the Holt-Winters archive of a file with aberration =
 * yes: HWPREDICT with a one-day season (librrd adds SEASONAL,
 * DEVSEASONAL, DEVPREDICT and FAILURES itself; FAILURES flags 7
 * deviations beyond 2 DEVPREDICT in a window of 9 rows), 2 weeks of rows.
 * RETURN VALUE: 1 with out filled, or 0 when the step is too long for
 * a daily season (over 2 h).
 */
int metric_hw_rra(unsigned long step, char out[64]);
/* The season, alpha, beta and gamma used (the aberration check says). */
#define METRIC_HW_ALPHA		0.1
#define METRIC_HW_BETA		0.0035

#endif
