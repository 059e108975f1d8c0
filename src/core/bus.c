/*
 * bus.c — fan-out of hard state changes to subscribers.
 */
#include <stdlib.h>

#include "core/bus.h"

struct sub {
	bus_fn fn;
	void *arg;
};

static struct sub *subs;
static unsigned nsubs;

struct rsub {
	bus_result_fn fn;
	void *arg;
};

static struct rsub *rsubs;
static unsigned nrsubs;

int
bus_subscribe(bus_fn fn, void *arg)
{
	struct sub *n;

	if ((n = reallocarray(subs, nsubs + 1, sizeof(*n))) == NULL)
		return -1;
	subs = n;
	subs[nsubs].fn = fn;
	subs[nsubs].arg = arg;
	nsubs++;
	return 0;
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
