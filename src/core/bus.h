/*
 * bus.h — the one place hard state changes are handed to.  The state
 * machine publishes; the log (and later the incident log) subscribe.
 * Delivery is synchronous on the loop, in subscription order.
 */
#ifndef TOCSIN_BUS_H
#define TOCSIN_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/check.h"

struct state_event {
	struct check *check;
	enum check_state old_state;	/* hard state before */
	enum check_state new_state;	/* hard state now */
	bool flap_start;
	bool flap_stop;
	time_t at;			/* wall clock, for people */
	int64_t at_mono;		/* mono_ms() then, for durations */
	const char *summary;		/* of the result that caused it */
};

typedef void (*bus_fn)(const struct state_event *ev, void *arg);

/* RETURN VALUE: 0, or -1 (out of memory). */
int bus_subscribe(bus_fn fn, void *arg);
void bus_unsubscribe_all(void);
void bus_publish(const struct state_event *ev);
/*
 * The correlators (the incident log, the SLOs) subscribe here.  On one
 * node they get every bus_publish() like any subscriber.  With
 * bus_split(true) (a cluster node) bus_publish() no longer reaches them:
 * the node's hard changes go to the cluster's leader, which hands every
 * node's events to its own correlators with bus_publish_correlated().
 */
int bus_subscribe_correlator(bus_fn fn, void *arg);
void bus_split(bool on);
void bus_publish_correlated(const struct state_event *ev);


/*
 * Every result of every check (active, passive, timeout), after the state
 * machine has seen it: c->last holds it and c->last_check its time.  The
 * metric store subscribes.  Synchronous on the loop, like bus_publish.
 */
typedef void (*bus_result_fn)(const struct check *c, void *arg);
int bus_result_subscribe(bus_result_fn fn, void *arg);
void bus_publish_result(const struct check *c);

#endif
