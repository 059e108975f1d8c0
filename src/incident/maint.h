/*
 * maint.h — maintenance windows: from the config (maintenance "x" { },
 * one-off or weekly/daily) and from the API (stored in the incident
 * database).  During a window a check's events are logged but open no
 * incident (incident.c).
 */
#ifndef TOCSIN_MAINT_H
#define TOCSIN_MAINT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct check;

/* Register maintenance "x" { } with the config. */
int maint_register_config(void);
/* Is c (by name, host or group) in a window at now? */
bool maint_active(const struct check *c, time_t now);
/* The routes under /api/v1/maintenance. */
int maint_api_init(void);
void maint_shutdown(void);
/*
 * The change freeze (a config window with freeze = true) open at t that
 * covers a change: one naming nothing, or one naming a check, host or
 * group for which names(kind, name, arg) is true.  RETURN VALUE: its
 * name (valid until the next reload), or NULL.
 */
enum { MAINT_CHECK, MAINT_HOST, MAINT_GROUP };
const char *maint_freeze_at(time_t t, bool (*names)(int kind,
    const char *name, void *arg), void *arg);
/*
 * Seconds of [a, b) inside a maintenance window (not a freeze) that
 * covers c, from the config in force and the API's windows; overlapping
 * windows count once.
 */
int64_t maint_covered(const struct check *c, time_t a, time_t b);
/* Parse "2026-12-01T02:00:00Z" / "2026-12-01 02:00" (UTC). -1 if bad. */
int maint_parse_time(const char *s, time_t *t);

#endif
