/*
 * maint.h — maintenance windows: from the config (maintenance "x" { },
 * one-off or weekly/daily) and from the API (stored in the incident
 * database).  During a window a check's events are logged but open no
 * incident (incident.c).
 */
#ifndef TOCSIN_MAINT_H
#define TOCSIN_MAINT_H

#include <stdbool.h>
#include <time.h>

struct check;

/* Register maintenance "x" { } with the config. */
int maint_register_config(void);
/* Is c (by name, host or group) in a window at now? */
bool maint_active(const struct check *c, time_t now);
/* The routes under /api/v1/maintenance. */
int maint_api_init(void);
void maint_shutdown(void);
/* Parse "2026-12-01T02:00:00Z" / "2026-12-01 02:00" (UTC). -1 if bad. */
int maint_parse_time(const char *s, time_t *t);

#endif
