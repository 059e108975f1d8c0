/*
 * api_metrics.h — GET /metrics (Prometheus text exposition) and the
 * registry of gauges that other modules own.
 */
#ifndef TOCSIN_API_METRICS_H
#define TOCSIN_API_METRICS_H

/* Adds the /metrics route (once, at start-up).  RETURN VALUE: 0 or -1. */
int api_metrics_init(void);
/* Frees the gauge registry (at exit). */
void api_metrics_shutdown(void);

/*
 * Gauges that other modules own and /metrics shows: a module that has the
 * figure registers a function that returns it, once at start-up.  Until
 * then the figure is 0.  name: a Prometheus metric name
 * ("tocsin_incidents_open", "tocsin_outbox_pending", or a new one, which
 * then also appears in /metrics with help).  Registering a name again
 * replaces its function.  RETURN VALUE: 0, or -1 (out of memory).
 */
typedef double api_gauge_fn(void);
int api_gauge_register(const char *name, const char *help, api_gauge_fn *fn);

/*
 * Families with labels that a module writes itself (the SLOs'): fn
 * appends them to b, with api_prom_family() then api_prom_sample() for
 * each, at the end of every scrape.  RETURN VALUE: 0, or -1.
 */
struct evbuffer;
typedef void api_prom_fn(struct evbuffer *b);
int api_prom_register(api_prom_fn *fn);
void api_prom_family(struct evbuffer *b, const char *name, const char *type,
    const char *help);
/* One sample with up to two labels (a NULL label name: none). */
void api_prom_sample(struct evbuffer *b, const char *name, const char *l1,
    const char *v1, const char *l2, const char *v2, double value);

#endif
