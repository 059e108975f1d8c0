/*
 * incident_int.h — what incident.c shares with its API and report code
 * (incident_api.c) and with the unit tests; not for other modules.
 */
#ifndef TOCSIN_INCIDENT_INT_H
#define TOCSIN_INCIDENT_INT_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "core/check.h"
#include "incident/types.h"

struct event_base;
struct config;

/* incidents { } */
struct inc_conf {
	int64_t group_window_ms;
	int64_t reopen_window_ms;
	int64_t resolve_delay_ms;
	int64_t close_after_ms;
	int matrix[3][3];		/* [impact][urgency] → 1..5 */
	int64_t retention_ms;		/* 0: keep everything */
	int64_t change_window_ms;	/* 0: name no change */
	long problem_after;		/* 0: open no problem */
	int64_t problem_window_ms;
};

/* cluster { } as loaded (cluster_conf.c); enabled: the section is written. */
struct cluster_conf {
	bool enabled;
	char *database;			/* libpq URI or conninfo */
	char *node, *location;		/* location may be NULL */
	char *api;			/* advertised API address, or NULL */
	int64_t lease_ms;
};
/* Register cluster { } with the config (before the first conf_load). */
int cluster_register_config(void);
void cluster_conf_free(void *cc);
/*
 * An API address other nodes can be sent to without a name lookup (none
 * may block the loop): "IPv4:PORT" or "[IPv6]:PORT".
 */
bool cluster_api_ok(const char *a);

/* Register incidents { } with the config (before the first conf_load). */
int incident_register_config(void);
/* incidents { } as loaded, or its defaults (incident_conf.c). */
const struct inc_conf *incident_conf(void);
/* incidents { change_window } in force, in seconds. */
int64_t incident_change_window_s(void);
/* ITIL priority 1..5 of impact × urgency under ic's matrix. */
int incident_priority(const struct inc_conf *ic, enum level3 impact,
    enum level3 urgency);
/* The topmost hard-down check that c is unreachable behind, or c. */
struct check *incident_root_of(struct check *c);

/*
 * The correlator (incident.c) on an open store: its working set read
 * back, check states restored into cf, subscribed to the bus.
 * RETURN VALUE: 0, or -1 (logged).  incident_stop() undoes it.
 */
int incident_start(struct event_base *base, struct config *cf);
void incident_stop(void);
/*
 * A cluster follower's log is the leader's (applied from PostgreSQL):
 * incident_set_active(false) stops its own resolving, closing and
 * pruning.  incident_reload() reads the working set back from the store
 * (a follower becoming the leader), keeping the subscribers and the
 * checks' states.
 */
void incident_set_active(bool on);
int incident_reload(struct event_base *base, struct config *cf);

/* incident_api.c: the routes under /api/v1/incidents and /report. */
int incident_api_init(void);
/*
 * Availability, incidents, MTTA and MTTR between since and until, from
 * the database.  RETURN VALUE: a new JSON object, or NULL.
 */
json_t *incident_report(time_t since, time_t until);

#endif
