/*
 * test_state.c — the check state machine: soft/hard counting,
 * reachability, flap detection and state names.  Each test starts from
 * state_init() and drives the status only through state_apply().
 */

#include <stdbool.h>
#include <stddef.h>

#include "core/state.h"
#include "tap.h"

static const struct flap_conf flap_on = { true, 25.0, 50.0 };
static const struct flap_conf flap_off = { false, 25.0, 50.0 };

/* Feed one result, reachable, with flap detection off. */
static struct state_change
feed(struct check_status *st, enum check_state result, int max_attempts)
{
	struct state_change ch;

	state_apply(st, result, false, max_attempts, NULL, 0, &ch);
	return ch;
}

/* Feed one result per letter of `seq`: O for OK, C for CRITICAL. */
static void
feed_seq(struct check_status *st, const char *seq)
{
	for (; *seq != '\0'; seq++)
		feed(st, *seq == 'O' ? STATE_OK : STATE_CRITICAL, 3);
}

static void
test_init_is_pending(void)
{
	struct check_status st;

	state_init(&st);
	CHECK(st.state == STATE_PENDING);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 0);
	CHECK(st.hard_state == STATE_OK);
	CHECK_NUM(st.nhistory, 0);
	CHECK(!st.flapping);
	CHECK_NUM(st.flap_percent, 0);
	CHECK_NUM(st.last_change, 0);
	CHECK_NUM(st.last_hard_change, 0);
}

static void
test_problem_goes_hard_at_max_attempts(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);

	ch = feed(&st, STATE_CRITICAL, 3);
	CHECK(st.state == STATE_CRITICAL);
	CHECK(!st.hard);
	CHECK_NUM(st.attempt, 1);
	CHECK(st.hard_state == STATE_OK);
	CHECK(ch.changed);
	CHECK(!ch.hard_changed);
	CHECK(ch.old_state == STATE_PENDING);
	CHECK(ch.old_hard_state == STATE_OK);

	ch = feed(&st, STATE_CRITICAL, 3);
	CHECK(!st.hard);
	CHECK_NUM(st.attempt, 2);
	CHECK(!ch.changed);
	CHECK(!ch.hard_changed);

	ch = feed(&st, STATE_CRITICAL, 3);
	CHECK(st.state == STATE_CRITICAL);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 3);
	CHECK(st.hard_state == STATE_CRITICAL);
	CHECK(!ch.changed);
	CHECK(ch.hard_changed);
	CHECK(ch.old_hard_state == STATE_OK);
}

static void
test_soft_recovery_is_not_hard_change(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	ch = feed(&st, STATE_OK, 3);
	CHECK(st.state == STATE_OK);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 1);
	CHECK(st.hard_state == STATE_OK);
	CHECK(ch.changed);
	CHECK(!ch.hard_changed);
	CHECK(ch.old_state == STATE_CRITICAL);
}

static void
test_recovery_is_hard(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	ch = feed(&st, STATE_OK, 3);
	CHECK(st.state == STATE_OK);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 1);
	CHECK(st.hard_state == STATE_OK);
	CHECK(ch.changed);
	CHECK(ch.hard_changed);
	CHECK(ch.old_state == STATE_CRITICAL);
	CHECK(ch.old_hard_state == STATE_CRITICAL);
}

static void
test_max_attempts_one_is_hard_at_once(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	ch = feed(&st, STATE_CRITICAL, 1);
	CHECK(st.state == STATE_CRITICAL);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 1);
	CHECK(st.hard_state == STATE_CRITICAL);
	CHECK(ch.changed);
	CHECK(ch.hard_changed);

	ch = feed(&st, STATE_OK, 1);
	CHECK(ch.hard_changed);
	CHECK(st.hard_state == STATE_OK);
}

static void
test_soft_state_change_keeps_counting(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	feed(&st, STATE_WARNING, 3);
	ch = feed(&st, STATE_CRITICAL, 3);
	CHECK(st.state == STATE_CRITICAL);
	CHECK(!st.hard);
	CHECK_NUM(st.attempt, 2);
	CHECK(ch.changed);
	CHECK(!ch.hard_changed);
	CHECK(ch.old_state == STATE_WARNING);

	ch = feed(&st, STATE_WARNING, 3);
	CHECK(st.state == STATE_WARNING);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 3);
	CHECK(st.hard_state == STATE_WARNING);
	CHECK(ch.changed);
	CHECK(ch.hard_changed);
}

static void
test_hard_critical_to_warning_is_hard_change(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	ch = feed(&st, STATE_WARNING, 3);
	CHECK(st.state == STATE_WARNING);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 3);
	CHECK(st.hard_state == STATE_WARNING);
	CHECK(ch.changed);
	CHECK(ch.hard_changed);
	CHECK(ch.old_hard_state == STATE_CRITICAL);
}

static void
test_unreachable_goes_hard_as_unreachable(void)
{
	struct check_status st;
	struct state_change ch;
	int i;

	state_init(&st);
	for (i = 1; i <= 3; i++) {
		state_apply(&st, STATE_CRITICAL, true, 3, NULL, 0, &ch);
		CHECK(st.state == STATE_UNREACHABLE);
		CHECK_NUM(st.attempt, i);
		CHECK(st.hard == (i == 3));
		CHECK(ch.hard_changed == (i == 3));
	}
	CHECK(st.hard_state == STATE_UNREACHABLE);

	/* Any non-OK result counts, not only CRITICAL. */
	state_init(&st);
	state_apply(&st, STATE_UNKNOWN, true, 3, NULL, 0, &ch);
	CHECK(st.state == STATE_UNREACHABLE);
}

static void
test_hard_critical_to_unreachable_is_hard_change(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	state_apply(&st, STATE_CRITICAL, true, 3, NULL, 0, &ch);
	CHECK(st.state == STATE_UNREACHABLE);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 3);
	CHECK(st.hard_state == STATE_UNREACHABLE);
	CHECK(ch.changed);
	CHECK(ch.hard_changed);
	CHECK(ch.old_hard_state == STATE_CRITICAL);
}

static void
test_ok_stays_ok_when_unreachable(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	feed(&st, STATE_OK, 3);		/* ends PENDING */
	state_apply(&st, STATE_OK, true, 3, NULL, 0, &ch);
	CHECK(st.state == STATE_OK);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 1);
	CHECK(!ch.changed);
	CHECK(!ch.hard_changed);
}

static void
test_repeated_hard_critical_changes_nothing(void)
{
	struct check_status st;
	struct state_change ch;
	int i;

	state_init(&st);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	feed(&st, STATE_CRITICAL, 3);
	for (i = 0; i < 5; i++) {
		ch = feed(&st, STATE_CRITICAL, 3);
		CHECK(!ch.changed);
		CHECK(!ch.hard_changed);
		CHECK(st.hard);
		CHECK_NUM(st.attempt, 3);
		CHECK(st.state == STATE_CRITICAL);
	}
}

static void
test_repeated_ok_changes_nothing(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	feed(&st, STATE_OK, 3);		/* ends PENDING */
	ch = feed(&st, STATE_OK, 3);
	CHECK(!ch.changed);
	CHECK(!ch.hard_changed);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 1);
}

/*
 * The first result ends PENDING.  OK is a change of state but no hard
 * change (nothing for the incident log); a failure is the usual first
 * failure, from the hard state OK underneath.
 */
static void
test_first_result_ends_pending(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	state_apply(&st, STATE_OK, false, 3, NULL, 100, &ch);
	CHECK(st.state == STATE_OK);
	CHECK(st.hard);
	CHECK_NUM(st.attempt, 1);
	CHECK(ch.changed);
	CHECK(!ch.hard_changed);
	CHECK(ch.old_state == STATE_PENDING);
	CHECK_NUM(st.last_change, 100);
	CHECK_NUM(st.last_hard_change, 0);

	state_init(&st);
	state_apply(&st, STATE_CRITICAL, false, 1, NULL, 100, &ch);
	CHECK(st.state == STATE_CRITICAL);
	CHECK(st.hard);
	CHECK(ch.hard_changed);
	CHECK(ch.old_hard_state == STATE_OK);

	state_init(&st);
	state_apply(&st, STATE_WARNING, true, 3, NULL, 100, &ch);
	CHECK(st.state == STATE_UNREACHABLE);
	CHECK(!st.hard);
	CHECK_NUM(st.attempt, 1);
}

/* No result says PENDING: a plugin that tries gets UNKNOWN. */
static void
test_pending_is_not_a_result(void)
{
	struct check_status st;
	struct state_change ch;

	state_init(&st);
	state_apply(&st, STATE_PENDING, false, 1, NULL, 0, &ch);
	CHECK(st.state == STATE_UNKNOWN);
	CHECK(ch.hard_changed);
	CHECK(STATE_IS_PROBLEM(STATE_UNKNOWN));
	CHECK(!STATE_IS_PROBLEM(STATE_PENDING));
	CHECK(!STATE_IS_PROBLEM(STATE_OK));
}

static void
test_invalid_result_counts_as_unknown(void)
{
	struct check_status st;

	state_init(&st);
	feed(&st, (enum check_state)42, 1);
	CHECK(st.state == STATE_UNKNOWN);
	feed(&st, (enum check_state)-1, 1);
	CHECK(st.state == STATE_UNKNOWN);
}

static void
test_null_out_is_allowed(void)
{
	struct check_status st;

	state_init(&st);
	state_apply(&st, STATE_CRITICAL, false, 1, &flap_on, 10, NULL);
	CHECK(st.state == STATE_CRITICAL);
	CHECK(st.hard);
}

static void
test_history_keeps_last_21(void)
{
	struct check_status st;
	int i;

	state_init(&st);
	feed_seq(&st, "OCOCOCOCOC");
	CHECK_NUM(st.nhistory, 10);
	for (i = 0; i < 30; i++) {
		feed(&st, STATE_OK, 3);
		CHECK(st.nhistory <= FLAP_HISTORY);
	}
	CHECK_NUM(st.nhistory, FLAP_HISTORY);
	/* The alternating results have all left the ring. */
	CHECK_NUM(st.flap_percent, 0);
}

static void
test_percent_with_short_history(void)
{
	struct check_status st;

	state_init(&st);
	feed_seq(&st, "O");
	CHECK_NUM(st.flap_percent, 0);
	feed_seq(&st, "C");
	CHECK_NUM(st.flap_percent, 100);	/* n == 2: weight 1.0 */

	state_init(&st);
	feed_seq(&st, "OOC");			/* newest weighs 1.2 */
	CHECK_NUM(st.flap_percent, 60);

	state_init(&st);
	feed_seq(&st, "OCC");			/* oldest weighs 0.8 */
	CHECK_NUM(st.flap_percent, 40);

	state_init(&st);
	feed_seq(&st, "OCO");
	CHECK_NUM(st.flap_percent, 100);
}

static void
test_recent_changes_weigh_more(void)
{
	struct check_status old, recent;
	double p_old, p_recent;

	/* 21 entries, two changes each: at transitions 1,2 and 19,20. */
	state_init(&old);
	feed_seq(&old, "OCOOOOOOOOOOOOOOOOOOO");
	state_init(&recent);
	feed_seq(&recent, "OOOOOOOOOOOOOOOOOOOCO");
	CHECK_NUM(old.nhistory, FLAP_HISTORY);
	CHECK_NUM(recent.nhistory, FLAP_HISTORY);

	p_old = 100.0 * (0.8 + (0.8 + 0.4 * 1 / 19)) / 20;
	p_recent = 100.0 * ((0.8 + 0.4 * 18 / 19) + 1.2) / 20;
	CHECK_NUM(old.flap_percent, p_old);
	CHECK_NUM(recent.flap_percent, p_recent);
	CHECK(old.flap_percent < recent.flap_percent);
}

static void
test_flapping_starts_and_stops_once(void)
{
	struct check_status st;
	struct state_change ch;
	int i, starts, stops;

	state_init(&st);
	starts = stops = 0;
	for (i = 0; i < 31; i++) {
		state_apply(&st, i % 2 ? STATE_OK : STATE_CRITICAL, false, 3,
		    &flap_on, i, &ch);
		starts += ch.flap_start;
		stops += ch.flap_stop;
		/* Only a full history may start flapping. */
		CHECK(st.flapping == (i >= FLAP_HISTORY - 1));
		CHECK(ch.flap_start == (i == FLAP_HISTORY - 1));
	}
	CHECK_NUM(starts, 1);
	CHECK_NUM(stops, 0);
	CHECK_NUM(st.flap_percent, 100);

	for (i = 0; i < 40; i++) {
		state_apply(&st, STATE_OK, false, 3, &flap_on, 100 + i, &ch);
		starts += ch.flap_start;
		stops += ch.flap_stop;
		/* Hysteresis: between low and high nothing changes. */
		if (st.flap_percent >= flap_on.low)
			CHECK(st.flapping);
		else
			CHECK(!st.flapping);
	}
	CHECK_NUM(starts, 1);
	CHECK_NUM(stops, 1);
	CHECK(!st.flapping);
	CHECK_NUM(st.flap_percent, 0);
}

static void
test_flapping_disabled_never_flaps(void)
{
	const struct flap_conf *confs[] = { &flap_off, NULL };
	struct check_status st;
	struct state_change ch;
	size_t c;
	int i;

	for (c = 0; c < sizeof(confs) / sizeof(confs[0]); c++) {
		state_init(&st);
		for (i = 0; i < 50; i++) {
			state_apply(&st, i % 2 ? STATE_OK : STATE_CRITICAL,
			    false, 3, confs[c], i, &ch);
			CHECK(!st.flapping);
			CHECK(!ch.flap_start);
			CHECK(!ch.flap_stop);
		}
		/* The percent is still kept, for the API. */
		CHECK_NUM(st.flap_percent, 100);
	}
}

static void
test_disabling_flap_detection_stops_flapping(void)
{
	struct check_status st;
	struct state_change ch;
	int i;

	state_init(&st);
	for (i = 0; i < FLAP_HISTORY; i++)
		state_apply(&st, i % 2 ? STATE_OK : STATE_CRITICAL, false, 3,
		    &flap_on, i, &ch);
	CHECK(st.flapping);

	state_apply(&st, STATE_CRITICAL, false, 3, &flap_off, i, &ch);
	CHECK(!st.flapping);
	CHECK(ch.flap_stop);
	CHECK(!ch.flap_start);

	state_apply(&st, STATE_OK, false, 3, NULL, i + 1, &ch);
	CHECK(!ch.flap_stop);
}

static void
test_last_change_timestamps(void)
{
	struct check_status st;

	state_init(&st);
	state_apply(&st, STATE_CRITICAL, false, 3, NULL, 100, NULL);
	CHECK_NUM(st.last_change, 100);
	CHECK_NUM(st.last_hard_change, 0);

	state_apply(&st, STATE_CRITICAL, false, 3, NULL, 200, NULL);
	CHECK_NUM(st.last_change, 100);
	CHECK_NUM(st.last_hard_change, 0);

	state_apply(&st, STATE_CRITICAL, false, 3, NULL, 300, NULL);
	CHECK_NUM(st.last_change, 100);		/* hard, same state */
	CHECK_NUM(st.last_hard_change, 300);

	state_apply(&st, STATE_WARNING, false, 3, NULL, 400, NULL);
	CHECK_NUM(st.last_change, 400);
	CHECK_NUM(st.last_hard_change, 400);

	state_apply(&st, STATE_OK, false, 3, NULL, 500, NULL);
	CHECK_NUM(st.last_change, 500);
	CHECK_NUM(st.last_hard_change, 500);

	state_apply(&st, STATE_OK, false, 3, NULL, 600, NULL);
	CHECK_NUM(st.last_change, 500);
	CHECK_NUM(st.last_hard_change, 500);

	/* A soft problem and its recovery move only last_change. */
	state_apply(&st, STATE_CRITICAL, false, 3, NULL, 700, NULL);
	CHECK_NUM(st.last_change, 700);
	state_apply(&st, STATE_OK, false, 3, NULL, 800, NULL);
	CHECK_NUM(st.last_change, 800);
	CHECK_NUM(st.last_hard_change, 500);
}

static void
test_state_names_round_trip(void)
{
	int s;

	CHECK_STR(state_name(STATE_OK), "OK");
	CHECK_STR(state_name(STATE_WARNING), "WARNING");
	CHECK_STR(state_name(STATE_CRITICAL), "CRITICAL");
	CHECK_STR(state_name(STATE_UNKNOWN), "UNKNOWN");
	CHECK_STR(state_name(STATE_UNREACHABLE), "UNREACHABLE");
	CHECK_STR(state_name(STATE_PENDING), "PENDING");
	for (s = 0; s < STATE_COUNT; s++)
		CHECK_NUM(state_from_name(state_name(s)), s);

	CHECK_NUM(state_from_name("critical"), STATE_CRITICAL);
	CHECK_NUM(state_from_name("Warning"), STATE_WARNING);
	CHECK_NUM(state_from_name("uNrEaChAbLe"), STATE_UNREACHABLE);
	CHECK_NUM(state_from_name("CRIT"), -1);
	CHECK_NUM(state_from_name(""), -1);
	CHECK_NUM(state_from_name("OK "), -1);
	CHECK_NUM(state_from_name(NULL), -1);
	CHECK(state_name((enum check_state)99) != NULL);
}

int
main(void)
{
	RUN(test_init_is_pending);
	RUN(test_first_result_ends_pending);
	RUN(test_pending_is_not_a_result);
	RUN(test_problem_goes_hard_at_max_attempts);
	RUN(test_soft_recovery_is_not_hard_change);
	RUN(test_recovery_is_hard);
	RUN(test_max_attempts_one_is_hard_at_once);
	RUN(test_soft_state_change_keeps_counting);
	RUN(test_hard_critical_to_warning_is_hard_change);
	RUN(test_unreachable_goes_hard_as_unreachable);
	RUN(test_hard_critical_to_unreachable_is_hard_change);
	RUN(test_ok_stays_ok_when_unreachable);
	RUN(test_repeated_hard_critical_changes_nothing);
	RUN(test_repeated_ok_changes_nothing);
	RUN(test_invalid_result_counts_as_unknown);
	RUN(test_null_out_is_allowed);
	RUN(test_history_keeps_last_21);
	RUN(test_percent_with_short_history);
	RUN(test_recent_changes_weigh_more);
	RUN(test_flapping_starts_and_stops_once);
	RUN(test_flapping_disabled_never_flaps);
	RUN(test_disabling_flap_detection_stops_flapping);
	RUN(test_last_change_timestamps);
	RUN(test_state_names_round_trip);
	return TAP_END();
}
