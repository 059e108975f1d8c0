/*
 * check.c — a check's status as the core keeps it: the reachability
 * rules (the one walk over dependencies and parent hosts that the state
 * machine, the scheduler and the incident correlator all use) and the
 * one place outside the state machine that sets a check's status (a
 * state restored at start).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"

/*
 * Metric names, units and thresholds repeat run after run ("time_total",
 * "s"): metric_str() keeps each once in an arena that lives as long as the
 * process, so a result costs no allocation for them.  The arena and its
 * index are bounded: strings longer than MSTR_LONG, or any once it is full
 * (a plugin inventing names), are strdup()ed as before.  metric_clear()
 * tells the two apart by address.  Loop thread only.
 */
#define MSTR_ARENA	(64 * 1024)
#define MSTR_SLOTS	4096		/* a power of two; used up to 3/4 */
#define MSTR_LONG	64

static char	 mstr_arena[MSTR_ARENA];
static size_t	 mstr_used;
static char	*mstr_slot[MSTR_SLOTS];
static unsigned	 mstr_n;

char *
metric_str(const char *s)
{
	size_t len = strlen(s);
	uint32_t h = 2166136261u;
	unsigned i;
	char *p;

	if (len >= MSTR_LONG)
		return strdup(s);
	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	for (i = h & (MSTR_SLOTS - 1); mstr_slot[i] != NULL;
	    i = (i + 1) & (MSTR_SLOTS - 1))
		if (strcmp(mstr_slot[i], s) == 0)
			return mstr_slot[i];
	if (mstr_n >= MSTR_SLOTS / 4 * 3 || mstr_used + len + 1 > MSTR_ARENA)
		return strdup(s);
	p = mstr_arena + mstr_used;
	memcpy(p, s, len + 1);
	mstr_used += len + 1;
	mstr_slot[i] = p;
	mstr_n++;
	return p;
}

static void
mstr_free(char *p)
{
	if ((uintptr_t)p - (uintptr_t)mstr_arena < MSTR_ARENA)
		return;		/* metric_str()'s: kept */
	free(p);
}

void
metric_clear(struct metric *m)
{
	mstr_free(m->name);
	mstr_free(m->unit);
	mstr_free(m->warn);
	mstr_free(m->crit);
}

char *
result_text(const char *s, size_t max, bool one_line)
{
	size_t n = one_line ? strcspn(s, "\r\n") : strlen(s);
	char *out, *p;

	if (n > max)
		n = max;
	if ((out = strndup(s, n)) == NULL)
		return NULL;
	for (p = out; *p != '\0'; p++)
		if (((unsigned char)*p < 0x20 && (one_line ||
		    (*p != '\n' && *p != '\t'))) || *p == 0x7f)
			*p = ' ';
	return out;
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
	const struct check_status *st = c->local ? &c->st_real : &c->st;

	return st->hard && STATE_IS_PROBLEM(st->state);
}

/*
 * The parents of h that decide whether it is cut off, depth first: a
 * parent with a check is visited; a parent without one passes through
 * to its own parents.  The config refuses parent cycles, and depth is
 * bounded by the number of hosts.
 */
static struct check *
host_upstream(const struct host *h, check_upstream_fn *fn, void *arg,
    unsigned depth)
{
	struct check *stop;
	unsigned i;

	if (depth > 10000)
		return NULL;
	for (i = 0; i < h->nparents; i++) {
		const struct host *p = h->parent_hosts[i];

		if (p == NULL)
			continue;
		if (p->check != NULL) {
			if (fn(p->check, arg))
				return p->check;
		} else if ((stop = host_upstream(p, fn, arg, depth + 1)) !=
		    NULL)
			return stop;
	}
	return NULL;
}

struct check *
check_upstream(const struct check *c, check_upstream_fn *fn, void *arg)
{
	const struct host *h = c->host;
	unsigned i;

	for (i = 0; i < c->ndepends; i++)
		if (c->deps[i] != NULL && fn(c->deps[i], arg))
			return c->deps[i];
	if (h == NULL)
		return NULL;
	/* a host whose check is up is reachable, whatever its parents say */
	if (h->check != NULL && h->check != c)
		return fn(h->check, arg) ? h->check : NULL;
	return host_upstream(h, fn, arg, 0);
}

static bool
is_down_cb(struct check *up, void *arg)
{
	(void)arg;
	return check_is_down(up);
}

struct check *
check_blocker(const struct check *c)
{
	return check_upstream(c, is_down_cb, NULL);
}

bool
check_unreachable(const struct check *c)
{
	return check_blocker(c) != NULL;
}

struct check *
check_root_cause(struct check *c)
{
	struct check *b;
	unsigned n;

	for (n = 0; n < 10000 && (b = check_blocker(c)) != NULL && b != c; n++)
		c = b;
	return c;
}

void
check_restore(struct check *c, const struct check_status *saved,
    const char *summary)
{
	enum check_state s = saved->state;

	/* only hard states carry over; a soft one starts again */
	if (!saved->hard)
		s = saved->hard_state;
	c->st.state = s;
	c->st.hard = true;
	c->st.hard_state = saved->hard_state;
	c->st.attempt = s == STATE_OK ? 1 : c->max_attempts;
	c->st.flapping = saved->flapping;
	c->st.last_change = saved->last_change;
	c->st.last_hard_change = saved->last_hard_change;
	if (summary != NULL) {
		char *copy = strdup(summary);

		if (copy == NULL)
			return;
		free(c->last.summary);
		c->last.summary = copy;
		c->last.state = s == STATE_UNREACHABLE ? STATE_CRITICAL : s;
	}
}
