/*
 * bus.c — fan-out of hard state changes to subscribers.
 */
#include <stdlib.h>

#include "core/bus.h"

struct sub {
	bus_fn fn;
	void *arg;
	bool correlator;	/* bus_subscribe_correlator() */
};

static struct sub *subs;
static unsigned nsubs;
static bool split;		/* bus_split(): a cluster node */

struct rsub {
	bus_result_fn fn;
	void *arg;
};

static struct rsub *rsubs;
static unsigned nrsubs;

static int
sub_add(bus_fn fn, void *arg, bool correlator)
{
	struct sub *n;

	if ((n = reallocarray(subs, nsubs + 1, sizeof(*n))) == NULL)
		return -1;
	subs = n;
	subs[nsubs].fn = fn;
	subs[nsubs].arg = arg;
	subs[nsubs].correlator = correlator;
	nsubs++;
	return 0;
}

int
bus_subscribe(bus_fn fn, void *arg)
{
	return sub_add(fn, arg, false);
}

int
bus_subscribe_correlator(bus_fn fn, void *arg)
{
	return sub_add(fn, arg, true);
}

void
bus_split(bool on)
{
	split = on;
}

void
bus_publish_correlated(const struct state_event *ev)
{
	unsigned i;

	for (i = 0; i < nsubs; i++)
		if (subs[i].correlator)
			subs[i].fn(ev, subs[i].arg);
}

void
bus_unsubscribe_all(void)
{
	free(subs);
	subs = NULL;
	nsubs = 0;
	free(rsubs);
	rsubs = NULL;
	nrsubs = 0;
}

void
bus_publish(const struct state_event *ev)
{
	unsigned i;

	for (i = 0; i < nsubs; i++)
		if (!split || !subs[i].correlator)
			subs[i].fn(ev, subs[i].arg);
}

int
bus_result_subscribe(bus_result_fn fn, void *arg)
{
	struct rsub *n;

	if ((n = reallocarray(rsubs, nrsubs + 1, sizeof(*n))) == NULL)
		return -1;
	rsubs = n;
	rsubs[nrsubs].fn = fn;
	rsubs[nrsubs].arg = arg;
	nrsubs++;
	return 0;
}

void
bus_publish_result(const struct check *c)
{
	unsigned i;

	for (i = 0; i < nrsubs; i++)
		rsubs[i].fn(c, rsubs[i].arg);
}
