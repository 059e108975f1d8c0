/*
 * store.h — the incident log's storage interface: what the correlator
 * (incident.c), the routes (incident_api.c), maintenance (maint.c) and
 * the notifier (notify/notify.c) keep and read.  Nothing above this
 * header knows which database holds it; store_sqlite.c (on idb.c) is the
 * one implementation today, a PostgreSQL store is meant to be a second.
 *
 * The contract every implementation keeps:
 *  - Writes are batched: the first write of a loop iteration opens a
 *    batch, and the batch is committed before the loop next sleeps (or
 *    by store_commit()), so a storm costs one commit per iteration and
 *    the rows one change causes (an incident and the pages it makes due)
 *    are committed together or not at all.  Writes return once queued in
 *    the batch; an error is logged by the store and returned as -1.
 *  - Reads see the store's own pending batch and return plain structs
 *    (owned by the caller, freed with the matching _free) or new jansson
 *    values, never a cursor: nothing read stays open across calls.
 *  - Times are seconds since the epoch (time_t) except the notifier's,
 *    which are milliseconds (int64_t, named *_ms); 0 means "never".
 *  - On the loop thread only.
 */
#ifndef TOCSIN_STORE_H
#define TOCSIN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/check.h"
#include "incident/types.h"

struct event_base;

/* ---- life cycle and batches ------------------------------------------ */

/*
 * Open (create, migrate) the store at path.  RETURN VALUE: 0, or -1
 * after logging why (the daemon must not start on it).
 */
int store_open(struct event_base *base, const char *path);
/* Commit what is pending, close.  Safe when not open. */
void store_close(void);
/* Open this iteration's batch if none is open.  RETURN VALUE: 0 or -1. */
int store_begin(void);
/*
 * Commit the batch now (if one is open).  A batch the disk refuses (full,
 * an I/O error) is kept and retried every second, in order, until it
 * commits: writes are never lost to an outage, only late.
 * RETURN VALUE: 0, or -1 if what was written is not on disk yet.
 */
int store_commit(void);
/*
 * Drop the batch (an operator action whose commit failed: it must change
 * nothing).  Only right after a store_commit() that succeeded, so the
 * batch holds nothing but that action's writes.
 */
void store_discard(void);
/* Is everything written on disk (no outage, no writes waiting)? */
bool store_ok(void);
/*
 * fn runs when an outage ends and the kept writes are committed (up to
 * four functions).  RETURN VALUE: 0 or -1.
 */
int store_on_flush(void (*fn)(void));
/* Is a batch open, and fn to run once it is committed (or kept). */
bool store_txn_open(void);
void store_on_commit(void (*fn)(void));

/* ---- incidents ---------------------------------------------------------- */

/* A check attached to an incident. */
struct store_inc_check {
	char *name;			/* owned when read */
	enum inc_role role;
	enum check_state state;		/* as last stored */
	bool detached;
};

/* A line of an incident's timeline (owned strings). */
struct store_timeline {
	time_t at;
	char *kind, *text;
};

/* An incident row.  Strings are owned when read, borrowed when written. */
struct store_incident {
	int64_t id;
	char *title;
	enum incident_status status;
	enum level3 impact, urgency;
	int priority;			/* 1..5 */
	char *root_cause;
	char *group;			/* may be NULL */
	bool flapping;
	time_t opened_at, acknowledged_at, resolved_at, closed_at;
	char *acknowledged_by;		/* may be NULL */
	struct store_inc_check *checks;	/* reads only, in attach order */
	size_t nchecks;
	struct store_timeline *timeline; /* store_incident_get() only */
	size_t ntimeline;
};

/* Insert a new open incident.  RETURN VALUE: its id (> 0), or -1. */
int64_t store_incident_insert(const struct store_incident *inc);
/* Write inc's mutable fields (title … resolved_at) to row inc->id. */
int store_incident_update(const struct store_incident *inc);
/* Mark incident id closed at at. */
int store_incident_close(int64_t id, time_t at);
/* Insert or update check ic of incident id (attached_at: when new). */
int store_incident_check(int64_t id, const struct store_inc_check *ic,
    time_t attached_at);
/* RETURN VALUE: 1 incident id exists (in any status), 0 not, -1 error. */
int store_incident_exists(int64_t id);
/*
 * The incidents not closed, oldest first, each with its checks.
 * RETURN VALUE: 0 (*v, *n: a new array, store_incidents_free()), or -1.
 */
int store_incidents_active(struct store_incident **v, size_t *n);
void store_incidents_free(struct store_incident *v, size_t n);
/*
 * Incident id with its checks (detached ones too) and its timeline.
 * RETURN VALUE: 1 (*out filled: store_incident_clear() it), 0 no such
 * incident, -1 error.
 */
int store_incident_get(int64_t id, struct store_incident *out);
/* Free what *inc owns (not inc itself). */
void store_incident_clear(struct store_incident *inc);

/* One line of an incident's timeline ("opened", "notified", …). */
int store_timeline_add(int64_t id, time_t at, const char *kind,
    const char *text);

/*
 * Ids of incidents whose status is one of want[INC_OPEN..INC_CLOSED]
 * (and, if check is not NULL, that check was attached to), newest first.
 * RETURN VALUE: 0 (*ids: a new array of *n, caller frees), or -1.
 */
int store_incident_ids(const bool want[4], const char *check, long limit,
    long offset, int64_t **ids, size_t *n);

/* ---- events: every hard change, append-only ---------------------------- */

struct store_event {
	time_t at;
	const char *check;
	enum check_state old_state, new_state;
	const char *flap;		/* "start", "stop" or NULL */
	const char *summary;		/* may be NULL */
	int64_t incident_id;		/* 0: none */
	bool suppressed;		/* held back by maintenance */
};
int store_event_add(const struct store_event *ev);

/* ---- check states, restored at start ------------------------------------ */

struct store_check_state {
	char *name, *type;		/* owned when read */
	struct check_status st;
	char *summary;			/* may be NULL */
};
/* Insert or replace the state of ck->name, stamped with now. */
int store_check_state_save(const struct store_check_state *ck, time_t now);
/* RETURN VALUE: 0 (*v: a new array, store_check_states_free()), or -1. */
int store_check_states(struct store_check_state **v, size_t *n);
void store_check_states_free(struct store_check_state *v, size_t n);

/* ---- the report --------------------------------------------------------- */

struct store_inc_stats {
	int64_t incidents, acknowledged, resolved;
	double mtta_s, mttr_s;		/* means over those acked/resolved */
};
/* Incidents opened in [since, until).  RETURN VALUE: 0 or -1. */
int store_report_incidents(time_t since, time_t until,
    struct store_inc_stats *out);

/* A problem's share of the report period. */
struct store_problem_stats {
	int64_t id;
	char *title, *status;		/* owned */
	int64_t incidents;		/* linked ones open in the period */
	int64_t lost_s;			/* their open time in the period */
};
/*
 * Per problem, its linked incidents open at some time in [since, until),
 * most time lost first.  RETURN VALUE: 0 (*v:
 * store_problem_stats_free()), or -1.
 */
int store_report_problems(time_t since, time_t until,
    struct store_problem_stats **v, size_t *n);
void store_problem_stats_free(struct store_problem_stats *v, size_t n);

/* A hard change of one check's state. */
struct store_change {
	char *check;			/* owned */
	time_t at;
	enum check_state state;		/* the new state */
};
/*
 * The hard state changes before until, ordered by check, time, order of
 * arrival.  RETURN VALUE: 0 (*v: a new array, store_changes_free()), -1.
 */
int store_changes(time_t until, struct store_change **v, size_t *n);
void store_changes_free(struct store_change *v, size_t n);

/* ---- retention ----------------------------------------------------------- */

/*
 * store_prune — one small batch of pruning of what is older than before:
 * the oldest day of events is first rolled up into daily rows (per
 * check: seconds down, state at the end of the day), then its events are
 * deleted; timeline lines and sent or dead outbox rows are deleted.  At
 * most about max_rows rows are read or deleted.  Only whole UTC days of
 * events go.  RETURN VALUE: 1 more to do, 0 nothing left, -1 error.
 */
int store_prune(time_t before, unsigned max_rows);

/* A check's day, rolled up from its pruned events. */
struct store_daily {
	char *check;			/* owned */
	int64_t day;			/* UTC days since the epoch */
	int64_t down_s;			/* seconds non-OK, non-WARNING */
	enum check_state end_state;	/* its state at the end of the day */
};
/*
 * The daily rows of days [from, to), and for each check the last row
 * before from (its state at from), ordered by check and day; *horizon:
 * the first day not rolled up (every day before it is in daily rows, its
 * events gone), 0 if nothing was.  RETURN VALUE: 0 (*v:
 * store_dailies_free()), or -1.
 */
int store_dailies(int64_t from, int64_t to, int64_t *horizon,
    struct store_daily **v, size_t *n);
void store_dailies_free(struct store_daily *v, size_t n);

/* ---- maintenance windows made through the API -------------------------- */

struct store_maint {
	int64_t id;
	char *checks, *hosts, *groups;	/* maint.c's list text; may be NULL */
	time_t starts_at, ends_at;
	char *comment, *created_by;	/* may be NULL */
	time_t created_at;
};
/* RETURN VALUE: the new window's id (> 0), or -1. */
int64_t store_maint_insert(const struct store_maint *w);
int store_maint_delete(int64_t id);
/* A window that has begun ends at at (the part before stays history). */
int store_maint_end(int64_t id, time_t at);
/* Drop the windows that ended before before. */
int store_maint_purge(time_t before);
/* RETURN VALUE: 0 (*v: a new array, store_maints_free()), or -1. */
int store_maints(struct store_maint **v, size_t *n);
void store_maints_free(struct store_maint *v, size_t n);

/* ---- change events (POST /api/v1/changes) ------------------------------ */

/* A change someone made.  Strings owned when read, borrowed written. */
struct store_change_event {
	int64_t id;
	char *title;
	char *by;			/* may be NULL */
	char *checks, *hosts, *groups;	/* JSON arrays of names; may be NULL */
	time_t started_at;
	time_t ended_at;		/* 0: a moment (started_at) */
	time_t created_at;
};
/* RETURN VALUE: the new change's id (> 0), or -1. */
int64_t store_change_event_insert(const struct store_change_event *c);
/*
 * The changes that overlap [since, until] (started at or before until,
 * and ended, or started if they have no end, at or after since), oldest
 * first, at most limit.  RETURN VALUE: 0 (*v:
 * store_change_events_free()), or -1.
 */
int store_change_events(time_t since, time_t until, long limit,
    struct store_change_event **v, size_t *n);
void store_change_events_free(struct store_change_event *v, size_t n);

/* ---- problem records (problem.c) --------------------------------------- */

/* A problem.  Strings owned when read, borrowed when written. */
struct store_problem {
	int64_t id;
	char *title;
	char *status;			/* open, known_error, resolved */
	char *root_cause;		/* a check's name; may be NULL */
	char *workaround, *analysis;	/* may be NULL */
	char *created_by;		/* NULL: opened by tocsin */
	time_t opened_at, updated_at, resolved_at;
	int64_t *incidents;		/* reads only: linked ids, oldest first */
	size_t nincidents;
};
/* RETURN VALUE: the new problem's id (> 0), or -1. */
int64_t store_problem_insert(const struct store_problem *p);
/* Write p's title, status, workaround, analysis, *_at to row p->id. */
int store_problem_update(const struct store_problem *p);
/* Link incident to problem (nothing if linked already). */
int store_problem_link(int64_t problem, int64_t incident, time_t at);
/* RETURN VALUE: 1 (*out: store_problem_clear()), 0 no such, -1 error. */
int store_problem_get(int64_t id, struct store_problem *out);
void store_problem_clear(struct store_problem *p);
/* The newest problem of root cause root: 1 and *id, 0 none, -1 error. */
int store_problem_of_root(const char *root, int64_t *id);
/* The newest problem incident is linked to: 1 and *id, 0 none, -1. */
int store_problem_of_incident(int64_t incident, int64_t *id);
/*
 * Problem ids (status NULL: all), newest first, at most limit.
 * RETURN VALUE: 0 (*ids: a new array, caller frees), or -1.
 */
int store_problem_ids(const char *status, long limit, int64_t **ids,
    size_t *n);
/*
 * Ids of the incidents with root cause root opened at or after since,
 * oldest first.  RETURN VALUE: 0 (*ids: caller frees), or -1.
 */
int store_incidents_of_root(const char *root, time_t since, int64_t **ids,
    size_t *n);

/* ---- the notifier's escalations ----------------------------------------- */

struct store_esc {
	int64_t incident_id;
	char *policy;			/* owned */
	int64_t epoch, step, round;
	int64_t started_ms, next_ms;
	bool active;
};
/* RETURN VALUE: 1 and *epoch, 0 no escalation row, -1 error. */
int store_esc_epoch(int64_t id, int64_t *epoch);
/* Start (or restart) incident id's escalation: step 0, round 0, active. */
int store_esc_start(int64_t id, const char *policy, int64_t epoch,
    int64_t started_ms, int64_t next_ms);
/* Where an escalation stands (e->incident_id's row). */
int store_esc_update(const struct store_esc *e);
int store_esc_stop(int64_t id);
int store_esc_delete(int64_t id);
/* Active escalations due at now_ms, at most limit. */
int store_esc_due(int64_t now_ms, unsigned limit, struct store_esc **v,
    size_t *n);
void store_escs_free(struct store_esc *v, size_t n);
/* RETURN VALUE: 1 and *next_ms (the earliest active one), 0 none, -1. */
int store_esc_next(int64_t *next_ms);

/* ---- the notifier's outbox ---------------------------------------------- */

struct store_outbox {
	int64_t id, incident_id;
	char *event, *channel;		/* owned */
	char *contact, *address;	/* owned, may be NULL */
	char *idem_key;			/* owned */
	int attempts;
	/* store_outbox_list() only: */
	char *status;			/* owned: pending, sent, dead */
	int64_t created_ms, sent_ms, next_ms;
	char *last_error;		/* owned, may be NULL */
};
/* A page due (ignored if idem_key exists: at most one row per key). */
int store_outbox_add(int64_t id, const char *event, const char *channel,
    const char *contact, const char *address, const char *idem_key,
    int64_t now_ms);
/* Pending rows not being sent, due at now_ms, oldest due first. */
int store_outbox_due(int64_t now_ms, unsigned limit,
    struct store_outbox **v, size_t *n);
void store_outboxes_free(struct store_outbox *v, size_t n);
/*
 * The oldest pending row for r's recipient (incident, channel, contact)
 * made due before r.  RETURN VALUE: 1 (*next_ms, *sending), 0 none, -1.
 */
int store_outbox_before(const struct store_outbox *r, int64_t *next_ms,
    bool *sending);
int store_outbox_postpone(int64_t row, int64_t next_ms);
int store_outbox_sending(int64_t row);
int store_outbox_sent(int64_t row, int64_t at_ms, int attempts);
int store_outbox_retry(int64_t row, int attempts, int64_t next_ms,
    const char *error);
int store_outbox_dead(int64_t row, int attempts, const char *error);
/* Sends that were in flight are due again (at start and stop). */
int store_outbox_unsend(void);
/* RETURN VALUE: 1 and *next_ms (earliest pending, not sending), 0, -1. */
int store_outbox_next(int64_t *next_ms);
/* Pending rows, or -1. */
int64_t store_outbox_pending(void);

/* Who was paged for incident id (opened or escalated): channel, contact. */
struct store_recipient {
	char *channel;			/* owned */
	char *contact;			/* owned, NULL: the channel itself */
};
int store_outbox_recipients(int64_t id, struct store_recipient **v,
    size_t *n);
void store_recipients_free(struct store_recipient *v, size_t n);
/*
 * Rows of incident id (< 0: all) in status (NULL: all), newest first, at
 * most limit.  RETURN VALUE: 0 (*v: store_outboxes_free()), or -1.
 */
int store_outbox_list(int64_t id, const char *status, int64_t limit,
    struct store_outbox **v, size_t *n);

#endif
