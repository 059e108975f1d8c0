/*
 * state.c — the check state machine: Nagios soft/hard semantics,
 * reachability and flap detection.
 *
 * Pure logic over one struct check_status: no I/O, no allocation, no
 * logging and no clock reads (the caller passes `now`).  That keeps it
 * safe to call from anywhere on the loop and testable without a world.
 * It must never learn about checks, hosts or incidents; the caller acts
 * on the struct state_change it hands back.
 */

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "core/state.h"

static const char *const state_names[STATE_COUNT] = {
	[STATE_OK] = "OK",
	[STATE_WARNING] = "WARNING",
	[STATE_CRITICAL] = "CRITICAL",
	[STATE_UNKNOWN] = "UNKNOWN",
	[STATE_UNREACHABLE] = "UNREACHABLE",
	[STATE_PENDING] = "PENDING",
};

void
state_init(struct check_status *st)
{
	memset(st, 0, sizeof(*st));
	st->state = STATE_PENDING;
	st->hard = true;	/* no retry is under way */
	st->attempt = 0;
	st->hard_state = STATE_OK;
}

/*
 * Make `s` the hard state.  Returns true if that is a hard change, i.e.
 * the hard state was something else.
 */
static bool
state_go_hard(struct check_status *st, enum check_state s, int max_attempts)
{
	st->state = s;
	st->hard = true;
	st->attempt = s == STATE_OK ? 1 : max_attempts;
	if (st->hard_state == s)
		return false;
	st->hard_state = s;
	return true;
}

/*
 * The soft/hard part of state_apply(): move to `s` and return true on a
 * hard change.
 */
static bool
state_step(struct check_status *st, enum check_state s, int max_attempts)
{
	/*
	 * A recovery is hard at once, soft or not: there is nothing to
	 * retry.  After a soft problem the hard state was OK all along, so
	 * state_go_hard() reports no hard change; after a hard one it does.
	 */
	if (s == STATE_OK)
		return state_go_hard(st, STATE_OK, max_attempts);

	if (st->state == STATE_OK || st->state == STATE_PENDING) {
		if (max_attempts <= 1)
			return state_go_hard(st, s, max_attempts);
		st->state = s;
		st->hard = false;
		st->attempt = 1;
		return false;
	}

	/*
	 * Soft problem: every non-OK result is one more attempt, whichever
	 * non-OK state it is, so WARNING then CRITICAL still counts towards
	 * max_attempts.  ">=" rather than "==" because a reload may have
	 * lowered max_attempts below the attempt we are at.
	 */
	if (!st->hard) {
		if (st->attempt + 1 >= max_attempts)
			return state_go_hard(st, s, max_attempts);
		st->state = s;
		st->attempt++;
		return false;
	}

	/*
	 * Hard problem: no more retries.  The same state again changes
	 * nothing; a different problem is a new hard state at once.
	 */
	return state_go_hard(st, s, max_attempts);
}

static void
state_history_push(struct check_status *st, enum check_state s)
{
	st->history[st->history_pos] = (uint8_t)s;
	st->history_pos = (uint8_t)((st->history_pos + 1) % FLAP_HISTORY);
	if (st->nhistory < FLAP_HISTORY)
		st->nhistory++;
}

/*
 * Percent state change over the history, oldest first.  Transition i
 * (between entries i-1 and i, 1 <= i <= n-1) weighs 0.8 for the oldest
 * up to 1.2 for the newest, so recent changes count more; the weights
 * average 1.0, so a history that changes every time is exactly 100%.
 */
static double
state_flap_percent(const struct check_status *st)
{
	double sum, weight;
	int n, first, i;
	uint8_t prev, cur;

	n = st->nhistory;
	if (n < 2)
		return 0.0;
	first = (st->history_pos + FLAP_HISTORY - n) % FLAP_HISTORY;
	prev = st->history[first];
	sum = 0.0;
	for (i = 1; i < n; i++) {
		cur = st->history[(first + i) % FLAP_HISTORY];
		if (cur != prev) {
			weight = n > 2 ? 0.8 + 0.4 * (i - 1) / (n - 2) : 1.0;
			sum += weight;
		}
		prev = cur;
	}
	return 100.0 * sum / (n - 1);
}

static void
state_flap_update(struct check_status *st, const struct flap_conf *fc,
    struct state_change *ch)
{
	/*
	 * The percent is kept up to date even with detection off, so the
	 * API can show it and turning detection on has data at once.
	 */
	st->flap_percent = state_flap_percent(st);

	if (fc == NULL || !fc->enabled) {
		if (st->flapping) {
			st->flapping = false;
			ch->flap_stop = true;
		}
		return;
	}

	if (!st->flapping) {
		/*
		 * Start only on a full history.  Nagios seeds its history
		 * with the current state, we start empty: with two or three
		 * entries a single change is 50-100% and a check that failed
		 * once after start-up would be called flapping.  Stopping
		 * needs no such guard, the history only grows.
		 */
		if (st->nhistory == FLAP_HISTORY &&
		    st->flap_percent > fc->high) {
			st->flapping = true;
			ch->flap_start = true;
		}
	} else if (st->flap_percent < fc->low) {
		st->flapping = false;
		ch->flap_stop = true;
	}
}

void
state_apply(struct check_status *st, enum check_state result,
    bool unreachable, int max_attempts, const struct flap_conf *fc,
    time_t now, struct state_change *out)
{
	struct state_change ch;

	memset(&ch, 0, sizeof(ch));
	ch.old_state = st->state;
	ch.old_hard_state = st->hard_state;

	/*
	 * A value outside the enum is a bug in whoever made the result;
	 * treat it as Nagios treats an unknown exit code, as UNKNOWN,
	 * rather than index arrays with it.
	 */
	if ((int)result < 0 || (int)result > STATE_UNREACHABLE)
		result = STATE_UNKNOWN;
	if (result != STATE_OK && unreachable)
		result = STATE_UNREACHABLE;
	if (max_attempts < 1)
		max_attempts = 1;

	ch.hard_changed = state_step(st, result, max_attempts);
	ch.changed = st->state != ch.old_state;
	if (ch.changed)
		st->last_change = now;
	if (ch.hard_changed)
		st->last_hard_change = now;

	state_history_push(st, st->state);
	state_flap_update(st, fc, &ch);

	if (out != NULL)
		*out = ch;
}

/* Never NULL, so the result is always safe in a format string. */
const char *
state_name(enum check_state s)
{
	if ((int)s < 0 || (int)s >= STATE_COUNT)
		return "INVALID";
	return state_names[s];
}

int
state_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < STATE_COUNT; i++)
		if (strcasecmp(name, state_names[i]) == 0)
			return i;
	return -1;
}
