/*
 * incident.h — the incident log (state_dir/incidents.db, behind store.h)
 * and the correlator that turns hard state changes into ITIL incidents.
 *
 * Writes of one loop iteration share one batch, committed before the
 * loop next sleeps, so a storm of changes costs one commit per
 * iteration.  Other modules that keep durable data next to the incidents
 * (the notifier's outbox) write through store.h inside the same batch:
 * their rows commit atomically with the incident change that caused
 * them, so "incident opened" and "page due" are never separated by a
 * crash.
 */
#ifndef TOCSIN_INCIDENT_H
#define TOCSIN_INCIDENT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "incident/types.h"

struct event_base;
struct config;

/* What happened to an incident, as observers (the notifier) see it. */
enum incident_kind {
	INCIDENT_OPENED,	/* a new incident */
	INCIDENT_UPDATED,	/* checks joined (group) or states changed */
	INCIDENT_ACKNOWLEDGED,
	INCIDENT_RESOLVED,
	INCIDENT_REOPENED,	/* same root cause failed within reopen_window */
	INCIDENT_CLOSED,
	INCIDENT_UNACKNOWLEDGED,	/* acknowledged → open again (a snooze
					   ran out, PagerDuty unacknowledged) */
};

/* A snapshot of an incident's fields, valid during the callback only. */
struct incident_info {
	int64_t id;
	const char *title;
	enum incident_status status;
	int priority;			/* 1..5 (P1 highest) */
	const char *impact;		/* "high" | "medium" | "low" */
	const char *urgency;
	const char *root_cause;		/* a check name */
	const char *group;		/* the root cause's group, may be NULL */
	bool flapping;
	time_t opened_at, acknowledged_at, resolved_at;
	const char *acknowledged_by;	/* may be NULL */
};

struct incident_event {
	enum incident_kind kind;
	const struct incident_info *inc;
	time_t at;
	const char *by;			/* who acked/resolved, may be NULL */
	const char *text;		/* a short description of the step */
};

/*
 * Called for every lifecycle step, on the loop, inside the write
 * transaction that records the step (see incident_db()).
 */
typedef void incident_fn(const struct incident_event *ev, void *arg);

/*
 * incident_init — open (create, migrate) state_dir/incidents.db, restore
 * check states into cf, subscribe to the state bus, add the API routes
 * (module.c).  RETURN VALUE: 0, or -1 after logging why (the daemon must
 * not start).
 */
int incident_init(struct event_base *base, struct config *cf);
/* After a reload: the new config's checks get their persisted states. */
void incident_reconfigure(struct config *cf);
/* Commits, closes the database. */
void incident_shutdown(void);

/* RETURN VALUE: 0, or -1 (out of memory). */
int incident_subscribe(incident_fn *fn, void *arg);

/*
 * The batch of this loop iteration (store.h): incident_begin() opens it
 * if none is open (it is committed when the loop iteration ends, or by
 * incident_commit()).  RETURN VALUE: 0 or -1.
 */
int incident_begin(void);
int incident_commit(void);
/*
 * Is something written but not yet committed (this iteration's batch)?
 * fn runs after each commit that leaves nothing uncommitted: the API
 * sends then the replies it held back until then.
 */
bool incident_uncommitted(void);
void incident_on_commit(void (*fn)(void));

/*
 * Operator actions (the API calls these).  by: who (may be NULL).
 * RETURN VALUE: 0; -1 no such incident; -2 not allowed in its status
 * (*why says why, static text); -3 database error.
 */
int incident_ack(int64_t id, const char *by, const char *comment,
    const char **why);
int incident_resolve(int64_t id, const char *by, const char *comment,
    const char **why);
/*
 * The same, saying how on the timeline: "acknowledged by alice via link"
 * (via: "link", "PagerDuty", "Slack"; NULL: as above).
 */
int incident_ack_via(int64_t id, const char *by, const char *via,
    const char *comment, const char **why);
int incident_resolve_via(int64_t id, const char *by, const char *via,
    const char *comment, const char **why);
/*
 * An acknowledged incident is open again (its escalation restarts);
 * open or resolved ones are left alone.  Returns as incident_ack().
 */
int incident_unack(int64_t id, const char *by, const char *via,
    const char **why);
int incident_comment(int64_t id, const char *by, const char *text,
    const char **why);
/* A timeline entry written by another module (kind: "notified", …). */
int incident_timeline_add(int64_t id, const char *kind, const char *text);

/* An incident as the API shows it (docs/api.md), or NULL if none. */
json_t *incident_json(int64_t id);
/* Incidents open or acknowledged. */
unsigned incident_open_count(void);

#endif
