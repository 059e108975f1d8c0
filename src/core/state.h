/*
 * state.h — the check state machine: Nagios soft/hard semantics, flap
 * detection and reachability.  Pure logic, no I/O: given the status of a
 * check and a new result it computes the next status and says whether a
 * hard state change (an event for the incident log) happened.
 */
#ifndef TOCSIN_STATE_H
#define TOCSIN_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum check_state {
	STATE_OK = 0,
	STATE_WARNING = 1,
	STATE_CRITICAL = 2,
	STATE_UNKNOWN = 3,
	STATE_UNREACHABLE = 4,
	/*
	 * Never ran: from start-up, or from being added by a reload, until
	 * its first result.  Not a result (no plugin or passive result can
	 * say it), not a problem (never down, never an incident); the hard
	 * state underneath is OK, so a first OK is no hard change and a
	 * first failure is the usual OK -> problem.
	 */
	STATE_PENDING = 5,
};
#define STATE_COUNT 6

/* A problem: WARNING, CRITICAL, UNKNOWN or UNREACHABLE (not OK/PENDING). */
#define STATE_IS_PROBLEM(s) ((s) != STATE_OK && (s) != STATE_PENDING)

/* Flap detection over the last FLAP_HISTORY results (as Nagios). */
#define FLAP_HISTORY 21

struct flap_conf {
	bool enabled;
	double low;	/* stop flapping below this percent (default 25) */
	double high;	/* start flapping above this percent (default 50) */
};

struct check_status {
	enum check_state state;		/* current state */
	bool hard;			/* state_type: hard or soft */
	int attempt;			/* 1..max_attempts; 0 while PENDING */
	enum check_state hard_state;	/* last hard state */
	/* ring of the last FLAP_HISTORY states, oldest first in time order */
	uint8_t history[FLAP_HISTORY];
	uint8_t nhistory;		/* valid entries, <= FLAP_HISTORY */
	uint8_t history_pos;		/* next write position in the ring */
	bool flapping;
	double flap_percent;		/* last computed percent state change */
	time_t last_change;		/* wall clock of the last state change */
	time_t last_hard_change;	/* wall clock of the last hard change */
};

/* What state_apply() did, for the caller to act on. */
struct state_change {
	bool changed;		/* state differs from before */
	bool hard_changed;	/* a hard state change: publish an event */
	enum check_state old_state;
	enum check_state old_hard_state;
	bool flap_start;	/* flapping began with this result */
	bool flap_stop;		/* flapping ended with this result */
};

/* A fresh status: PENDING (hard state OK), attempt 0, empty history. */
void state_init(struct check_status *st);

/*
 * state_apply — feed one result into the status.
 *  result:       OK/WARNING/CRITICAL/UNKNOWN from the run (anything
 *                else counts as UNKNOWN)
 *  unreachable:  true if a parent or dependency is hard non-OK; a non-OK
 *                result then counts as STATE_UNREACHABLE (OK stays OK)
 *  max_attempts: >= 1
 *  now:          wall clock for last_change fields
 * Semantics (Nagios):
 *  - PENDING → anything: as from OK (the first result ends PENDING).
 *  - OK → non-OK: soft, attempt 1 (hard at once when max_attempts is 1).
 *  - soft non-OK → non-OK: attempt+1; hard when attempt reaches
 *    max_attempts.  A soft state may change between non-OK states.
 *  - soft non-OK → OK: soft recovery; the status is hard OK, attempt 1,
 *    and it is not a hard change (the hard state was OK all along).
 *  - hard non-OK → OK: hard recovery, attempt 1 (a hard change).
 *  - hard non-OK → other non-OK: hard change, attempt stays max_attempts.
 *  - hard X → same X: nothing changes.
 * Flapping: every result is pushed into the history; the percent state
 * change is computed over the (up to 21) entries, weighting changes
 * linearly from 0.8 (oldest) to 1.2 (newest), as Nagios does; flapping
 * starts when percent > high and stops when percent < low.
 * `out` may be NULL.
 */
void state_apply(struct check_status *st, enum check_state result,
    bool unreachable, int max_attempts, const struct flap_conf *fc,
    time_t now, struct state_change *out);

const char *state_name(enum check_state s);		/* "OK", … */
int state_from_name(const char *name);			/* -1 if unknown, case-insensitive */

#endif
