/*
 * problem.h — problem records (issue 18): the same root cause keeps
 * failing.  tocsin opens one after incidents { problem_after } incidents
 * of one root cause within problem_window, links later incidents of that
 * root cause to it, and operators record the known error's workaround.
 */
#ifndef TOCSIN_PROBLEM_H
#define TOCSIN_PROBLEM_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* The routes under /api/v1/problems.  RETURN VALUE: 0 or -1. */
int problem_api_init(void);
/*
 * Incident id of root cause root opened at now: link it to its root
 * cause's problem (reopening a resolved one), or open a problem when
 * this makes after incidents within window_s.  after 0: nothing.
 */
void problem_note_incident(int64_t id, const char *root, time_t now,
    long after, int64_t window_s);
/*
 * The problem incident id is linked to, for its pages: {id, title,
 * status, workaround}.  Returns a new reference, or NULL (none).
 */
json_t *problem_brief_json(int64_t id);

#endif
