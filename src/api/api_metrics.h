/*
 * api_metrics.h — GET /metrics (Prometheus text exposition) and the
 * registry of gauges that other modules own (api_gauge_register() in
 * api.h).  Internal to the API: modules use api.h only.
 */
#ifndef TOCSIN_API_METRICS_H
#define TOCSIN_API_METRICS_H

#include <stddef.h>

#include "api/api.h"

/* The registered gauge's current value, or 0 if nobody registered it. */
double api_gauge_value(const char *name);
/* Frees the registry (at exit). */
void api_gauges_clear(void);

/* Length of the well-formed UTF-8 sequence at s, or 0 (api.c). */
size_t api_utf8_len(const unsigned char *s);

/* GET /metrics */
api_handler api_get_metrics;

#endif
