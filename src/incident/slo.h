/*
 * slo.h — service-level objectives (issue 18): the built-in check type
 * `slo`, its error budget and multi-window, multi-burn-rate alerts,
 * GET /api/v1/slos and the tocsin_slo_* series of /metrics.
 *
 * An SLO is a check: `slo "shop" { group = "web"  objective = 99.9 }`
 * is CRITICAL while a paging burn-rate alert fires, WARNING while only a
 * ticket alert does, OK otherwise, so its incidents, pages, escalation
 * and resolution are the incident log's and the notifier's as for any
 * check (README "Service-level objectives").
 */
#ifndef TOCSIN_SLO_H
#define TOCSIN_SLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/check.h"

/* ---- the computation (pure; tests/unit/test_slo.c) ------------------- */

/* One hard state change of a member check. */
struct slo_pt {
	time_t at;
	enum check_state st;
};

/* Does an SLO count state st against its check?  (OK and WARNING are
 * up; UNREACHABLE is the down parent's; PENDING is no data.) */
bool slo_state_bad(enum check_state st);

/*
 * Seconds of [a, b) that a check whose hard changes are v[0..n) (in time
 * order; OK before v[0]) spent in a bad state, less what covered(arg,
 * from, to) says a maintenance window covered (covered may be NULL).
 */
int64_t slo_bad_seconds(const struct slo_pt *v, size_t n, time_t a,
    time_t b, int64_t (*covered)(void *arg, time_t from, time_t to),
    void *arg);

/* A burn-rate alert: fires while the burn over long_s and over short_s
 * both reach factor. */
struct slo_burn {
	double factor;
	int64_t long_s, short_s;
	bool page;			/* false: a ticket */
};

/*
 * "14.4x 1h 5m" (FACTOR[x] LONG SHORT) into *b (page left as it was).
 * RETURN VALUE: 0, or -1 with a message in err.
 */
int slo_burn_parse(const char *text, struct slo_burn *b, char *err,
    size_t errlen);

/* "30d", "6h", "5m", "90s": a window as its label. */
void slo_window_label(int64_t s, char *buf, size_t len);

/* ---- the daemon's side ---------------------------------------------- */

/* Registers the `slo` check type (before the config is read). */
int slo_register(void);
/* Is c an slo check?  (Not a service: no member of SLOs, the report or
 * a group's incident.) */
bool check_is_slo(const struct check *c);
/* Loads the member checks' history from the incident log and follows
 * the state bus; again after a reload.  RETURN VALUE: 0 or -1. */
int slo_start(void);
void slo_reconfigure(void);
void slo_stop(void);
/* GET /api/v1/slos[/NAME] and the /metrics families.  RETURN VALUE: 0, -1. */
int slo_api_init(void);

#endif
