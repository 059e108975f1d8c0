/*
 * check.c — reachability rules shared by the scheduler and the API.
 */
#include <stdlib.h>

#include "core/check.h"

void
metric_clear(struct metric *m)
{
	free(m->name);
	free(m->unit);
	free(m->warn);
	free(m->crit);
}

void
result_clear(struct result *r)
{
	unsigned i;

	free(r->summary);
	free(r->long_output);
	for (i = 0; i < r->nmetrics; i++)
		metric_clear(&r->metrics[i]);
	free(r->metrics);
	r->summary = NULL;
	r->long_output = NULL;
	r->metrics = NULL;
	r->nmetrics = 0;
}

bool
check_is_down(const struct check *c)
{
	return c->st.hard && c->st.state != STATE_OK;
}

/*
 * Is host h cut off?  A parent is in the way when its check is hard
 * non-OK, or when it has no check and is itself cut off.  The config
 * refuses parent cycles, and depth is bounded by the number of hosts.
 */
static bool
host_blocked(const struct host *h, unsigned depth)
{
	unsigned i;

	if (depth > 10000)
		return false;
	for (i = 0; i < h->nparents; i++) {
		const struct host *p = h->parent_hosts[i];

		if (p == NULL)
			continue;
		if (p->check != NULL ? check_is_down(p->check) :
		    host_blocked(p, depth + 1))
			return true;
	}
	return false;
}

bool
check_unreachable(const struct check *c)
{
	const struct host *h = c->host;
	unsigned i;

	for (i = 0; i < c->ndepends; i++)
		if (c->deps[i] != NULL && check_is_down(c->deps[i]))
			return true;
	if (h == NULL)
		return false;
	/* a host whose check is up is reachable, whatever its parents say */
	if (h->check != NULL && h->check != c)
		return check_is_down(h->check);
	return host_blocked(h, 0);
}
