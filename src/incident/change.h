/*
 * change.h — change events (issue 18): what a pipeline, configuration
 * management or an operator changed (POST /api/v1/changes, kept in the
 * incident log), and which of them an incident may have been caused by.
 */
#ifndef TOCSIN_CHANGE_H
#define TOCSIN_CHANGE_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct check;
struct metric_mark;

/* The routes under /api/v1/changes.  RETURN VALUE: 0 or -1. */
int change_api_init(void);
/*
 * The changes of [since, until) made inside a change freeze (as
 * GET /api/v1/changes shows them, oldest first, at most 1000), for the
 * report.  Returns a new reference, or NULL (read error, memory).
 */
json_t *change_freeze_report(time_t since, time_t until);
/*
 * Incident id opened at opened_at with root cause c: one timeline line
 * of kind "change" for each change of c (by name, host or group) within
 * window_s before it ("possible cause: change #12 'deploy' by ci, 4 min
 * before").
 */
void change_note_incident(int64_t id, const struct check *c,
    time_t opened_at, int64_t window_s);
/*
 * The same changes as a JSON array (a page's recent_changes), for
 * incident id as stored.  Returns a new reference ([] when none), or
 * NULL (no such incident, out of memory).
 */
json_t *change_recent_json(int64_t id);
/*
 * The changes of c (by name, host or group) made in [since, until]: the
 * newest max of them, oldest first, into out (a graph's markers: a
 * metric_marks_fn).  RETURN VALUE: how many.
 */
unsigned change_graph_marks(const struct check *c, time_t since,
    time_t until, struct metric_mark *out, unsigned max);

#endif
