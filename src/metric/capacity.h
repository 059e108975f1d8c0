/*
 * capacity.h — the capacity report: every stored metric that has a limit,
 * ranked by the time until its trend (forecast_trend) reaches it, and
 * GET /api/v1/capacity.  Computed on a worker (pool.h) on a schedule;
 * the API serves the last report, never computing on the loop.
 */
#ifndef TOCSIN_CAPACITY_H
#define TOCSIN_CAPACITY_H

struct event_base;

/* Registers the metrics { } section (before conf_load). */
int capacity_register_config(void);
/*
 * capacity_init — the refresh timer on base and GET /api/v1/capacity.
 * RETURN VALUE: 0, or -1.
 */
int capacity_init(struct event_base *base);
/* A new config in force (reload): the refresh period may have changed. */
void capacity_reconfigure(void);
void capacity_shutdown(void);

#endif
