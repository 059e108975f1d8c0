/*
 * incident.c — the correlator and the incident lifecycle.
 *
 * Subscribes to the state bus (hard state changes and flapping) and turns
 * them into ITIL incidents kept in the incident log (store.h).  Every
 * hard change is first appended to the events table, whatever happens
 * next.  Then, in this order (README "Incidents" documents each rule):
 *
 *   maintenance  the check, its host or group (or the root cause it is
 *                unreachable behind) is in a window: no incident; what is
 *                still down when the window ends opens one then.
 *   dedup        a check already attached to an open or acknowledged
 *                incident only adds a timeline entry.
 *   dependency   an UNREACHABLE check attaches to the incident of the
 *                check it is unreachable behind (its "root"); when that
 *                root has recovered and the check is still down on its
 *                own, it leaves and gets its own incident.
 *   reopen       the root cause of an incident resolved less than
 *                reopen_window ago fails again: that incident reopens.
 *   grouping     a failure in a group that has an incident opened less
 *                than group_window ago joins it.
 *   otherwise    a new incident, root cause = the check.
 *   flapping     a check that starts flapping opens (or marks) one
 *                incident as flapping; it does not resolve while flapping.
 *   resolve      when every attached check is OK (and none flaps) for
 *                resolve_delay; closed close_after after resolution.
 *
 * Active incidents (not closed) are also kept in memory, with two
 * indexes: check name → the incident it is attached to, and root cause →
 * its latest incident; the database is the record, memory the working
 * set, rebuilt from the database on start.  Check states are persisted at
 * each hard change and restored on start, so a restart neither reopens
 * nor re-pages a known problem.
 */
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "core/bus.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "incident/change.h"
#include "incident/incident.h"
#include "incident/incident_int.h"
#include "core/log.h"
#include "core/plugin.h"
#include "incident/maint.h"
#include "incident/problem.h"
#include "incident/slo.h"
#include "incident/store.h"
#include "core/state.h"
#include "core/stats.h"
#include "core/util.h"

static const char *const level_names[] = { "low", "medium", "high" };

/* ---- in-memory incidents -------------------------------------------- */

struct inc_check {
	char *name;
	enum inc_role role;
	enum check_state state;
	bool detached;
};

struct inc {
	int64_t id;
	char *title;
	enum incident_status status;
	enum level3 impact, urgency;
	int priority;
	char *root;
	char *group;
	bool flapping;
	time_t opened_at, ack_at, resolved_at;
	char *ack_by;
	time_t all_ok_since;		/* every attached check OK since */
	time_t last_update;		/* last INCIDENT_UPDATED emitted */
	/*
	 * The same moments on the monotonic clock (mono_now()): windows and
	 * delays are measured with these, so that a step of the wall clock
	 * neither resolves, closes, reopens or groups early nor never.
	 */
	int64_t opened_mono, resolved_mono, all_ok_mono, last_update_mono;
	bool update_pending;		/* joins not yet announced */
	struct inc_check *checks;
	unsigned nchecks;
	TAILQ_ENTRY(inc) link;
};
TAILQ_HEAD(inc_list, inc);

/* An index entry: name → incident. */
struct inc_ref {
	char *name;
	struct inc *inc;
};

struct subscriber {
	incident_fn *fn;
	void *arg;
};

static struct {
	struct inc_list active;		/* not closed */
	void *by_check;			/* attached check → incident */
	void *by_root;			/* root cause → latest incident */
	void *suppressed;		/* names held back by maintenance */
	void *unexplained;		/* hard down, no incident could be made */
	struct subscriber *subs;
	unsigned nsubs;
	struct event *tick;
	struct event *prune;		/* retention, in small batches */
	struct event *count;		/* recounts open, once per loop turn */
	unsigned open;			/* open + acknowledged */
	bool count_due;			/* open is stale until count runs */
	bool up;
	int64_t ev_mono;		/* at_mono of the event being handled */
} inc_g;

/* Now on the monotonic clock: the state event's, while one is handled. */
static int64_t
mono_now(void)
{
	return inc_g.ev_mono != 0 ? inc_g.ev_mono : mono_ms();
}

static int
ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct inc_ref *)a)->name,
	    ((const struct inc_ref *)b)->name);
}

static void
ref_free(void *p)
{
	struct inc_ref *r = p;

	free(r->name);
	free(r);
}

static struct inc *
ref_get(void *tree, const char *name)
{
	struct inc_ref key, **found;

	key.name = (char *)name;
	found = tfind(&key, &tree, ref_cmp);
	return found != NULL ? (*found)->inc : NULL;
}

static void
ref_set(void **tree, const char *name, struct inc *inc)
{
	struct inc_ref key, *r, **found;

	key.name = (char *)name;
	if ((found = tfind(&key, tree, ref_cmp)) != NULL) {
		if (inc != NULL) {
			(*found)->inc = inc;
			return;
		}
		r = *found;
		tdelete(&key, tree, ref_cmp);
		ref_free(r);
		return;
	}
	if (inc == NULL || (r = malloc(sizeof(*r))) == NULL)
		return;
	if ((r->name = strdup(name)) == NULL) {
		free(r);
		return;
	}
	r->inc = inc;
	if (tsearch(r, tree, ref_cmp) == NULL)
		ref_free(r);
}

/* Drop name from tree only if it points at inc. */
static void
ref_unset(void **tree, const char *name, struct inc *inc)
{
	if (ref_get(*tree, name) == inc)
		ref_set(tree, name, NULL);
}

static void
inc_free(struct inc *inc)
{
	unsigned i;

	for (i = 0; i < inc->nchecks; i++)
		free(inc->checks[i].name);
	free(inc->checks);
	free(inc->title);
	free(inc->root);
	free(inc->group);
	free(inc->ack_by);
	free(inc);
}

static struct inc_check *
inc_check_get(struct inc *inc, const char *name)
{
	unsigned i;

	for (i = 0; i < inc->nchecks; i++)
		if (strcmp(inc->checks[i].name, name) == 0)
			return &inc->checks[i];
	return NULL;
}

static bool
is_active(const struct inc *inc)
{
	return inc->status == INC_OPEN || inc->status == INC_ACKNOWLEDGED;
}

static void
recount_open(void)
{
	struct inc *inc;
	unsigned n = 0;

	TAILQ_FOREACH(inc, &inc_g.active, link)
		if (is_active(inc))
			n++;
	inc_g.open = n;
	stats_g.incidents_open = n;
	inc_g.count_due = false;
}

static void
count_open_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	recount_open();
}

/*
 * The open count changed.  Counting walks every incident not closed: done
 * at once per change, a storm of 10 000 new incidents walked 50 million
 * of them (55 % of tocsind's CPU, 184 ms of loop lag in bench/incidents).
 * So it is done once per loop turn, after the callbacks of that turn
 * (an active event runs before the loop polls again): what the API and
 * /metrics read is never more than a turn old.
 */
static void
count_open(void)
{
	if (inc_g.count == NULL) {
		recount_open();
		return;
	}
	if (!inc_g.count_due) {
		inc_g.count_due = true;
		event_active(inc_g.count, EV_TIMEOUT, 1);
	}
}

/* ---- persistence ------------------------------------------------------ */

/* inc as a row of the store (borrowed strings). */
static void
inc_row(const struct inc *inc, struct store_incident *row)
{
	memset(row, 0, sizeof(*row));
	row->id = inc->id;
	row->title = inc->title;
	row->status = inc->status;
	row->impact = inc->impact;
	row->urgency = inc->urgency;
	row->priority = inc->priority;
	row->root_cause = inc->root;
	row->group = inc->group;
	row->flapping = inc->flapping;
	row->opened_at = inc->opened_at;
	row->acknowledged_at = inc->ack_at;
	row->acknowledged_by = inc->ack_by;
	row->resolved_at = inc->resolved_at;
}

static void
inc_save(struct inc *inc)
{
	struct store_incident row;

	inc_row(inc, &row);
	store_incident_update(&row);
}

static void
inc_save_check(struct inc *inc, const struct inc_check *ic, time_t now)
{
	struct store_inc_check row;

	row.name = ic->name;
	row.role = ic->role;
	row.state = ic->state;
	row.detached = ic->detached;
	store_incident_check(inc->id, &row, now);
}

static void __attribute__((format(printf, 4, 5)))
inc_timeline(struct inc *inc, time_t at, const char *kind,
    const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (text == NULL)
		return;
	store_timeline_add(inc->id, at, kind, text);
	free(text);
}

int
incident_timeline_add(int64_t id, const char *kind, const char *text)
{
	return store_timeline_add(id, time(NULL), kind, text);
}

static void
inc_emit(struct inc *inc, enum incident_kind kind, time_t at,
    const char *by, const char *text)
{
	struct incident_info info;
	struct incident_event ev;
	unsigned i;

	memset(&info, 0, sizeof(info));
	info.id = inc->id;
	info.title = inc->title;
	info.status = inc->status;
	info.priority = inc->priority;
	info.impact = level_names[inc->impact];
	info.urgency = level_names[inc->urgency];
	info.root_cause = inc->root;
	info.group = inc->group;
	info.flapping = inc->flapping;
	info.opened_at = inc->opened_at;
	info.acknowledged_at = inc->ack_at;
	info.resolved_at = inc->resolved_at;
	info.acknowledged_by = inc->ack_by;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.inc = &info;
	ev.at = at;
	ev.by = by;
	ev.text = text;
	if (kind == INCIDENT_UPDATED) {
		inc->last_update = at;
		inc->last_update_mono = mono_now();
	}
	for (i = 0; i < inc_g.nsubs; i++)
		inc_g.subs[i].fn(&ev, inc_g.subs[i].arg);
}

/* ---- lifecycle --------------------------------------------------------- */

/* The worst state among the attached checks. */
static enum check_state
inc_worst(const struct inc *inc, unsigned *ndown)
{
	static const int rank[STATE_COUNT] = { 0, 2, 4, 1, 3, 0 };
	enum check_state w = STATE_OK;
	unsigned i;

	*ndown = 0;
	for (i = 0; i < inc->nchecks; i++) {
		const struct inc_check *ic = &inc->checks[i];

		if (ic->detached || ic->state == STATE_OK)
			continue;
		(*ndown)++;
		if (rank[ic->state] > rank[w])
			w = ic->state;
	}
	return w;
}

/* Title: "web is CRITICAL", "3 checks of group shop are CRITICAL". */
static void
inc_retitle(struct inc *inc)
{
	unsigned ndown, nunreach = 0, i;
	enum check_state w = inc_worst(inc, &ndown);
	char *t = NULL;

	for (i = 0; i < inc->nchecks; i++)
		if (!inc->checks[i].detached &&
		    inc->checks[i].role == ROLE_UNREACHABLE)
			nunreach++;
	if (w == STATE_OK)
		w = STATE_CRITICAL;
	if (inc->group != NULL && ndown - nunreach > 1)
		i = asprintf(&t, "%u checks of group %s are %s",
		    ndown - nunreach, inc->group, state_name(w));
	else if (inc->flapping)
		i = asprintf(&t, "%s is flapping", inc->root);
	else if (nunreach > 0)
		i = asprintf(&t, "%s is %s (%u check%s unreachable behind it)",
		    inc->root, state_name(w), nunreach,
		    nunreach == 1 ? "" : "s");
	else
		i = asprintf(&t, "%s is %s", inc->root, state_name(w));
	if ((int)i < 0 || t == NULL)
		return;
	free(inc->title);
	inc->title = t;
}

static struct inc_check *
inc_attach(struct inc *inc, const char *name, enum inc_role role,
    enum check_state state, time_t now)
{
	struct inc_check *v, *ic;

	if ((ic = inc_check_get(inc, name)) == NULL) {
		if ((v = reallocarray(inc->checks, inc->nchecks + 1,
		    sizeof(*v))) == NULL)
			return NULL;
		inc->checks = v;
		ic = &v[inc->nchecks];
		memset(ic, 0, sizeof(*ic));
		if ((ic->name = strdup(name)) == NULL)
			return NULL;
		inc->nchecks++;
	}
	ic->role = role;
	ic->state = state;
	ic->detached = false;
	inc_save_check(inc, ic, now);
	ref_set(&inc_g.by_check, name, inc);
	inc->all_ok_since = 0;
	return ic;
}

/*
 * The impact and urgency of an incident c opens in state: its own, but
 * an SLO's ticket (WARNING: a slow burn) is low and low, so routes by
 * match_priority send it where tickets go and a page is a new incident.
 */
static int
inc_levels(const struct check *c, enum check_state state, enum level3 *imp,
    enum level3 *urg)
{
	*imp = c->impact;
	*urg = c->urgency;
	if (check_is_slo(c) && state == STATE_WARNING)
		*imp = *urg = LEVEL_LOW;
	return incident_priority(incident_conf(), *imp, *urg);
}

static struct inc *
inc_open(struct check *c, enum check_state state, time_t now, bool flapping,
    const char *summary)
{
	const struct inc_conf *cfg = incident_conf();
	struct store_incident row;
	struct inc *inc;
	int64_t id;

	if ((inc = calloc(1, sizeof(*inc))) == NULL)
		return NULL;
	inc->status = INC_OPEN;
	inc->priority = inc_levels(c, state, &inc->impact, &inc->urgency);
	inc->flapping = flapping;
	inc->opened_at = now;
	inc->opened_mono = mono_now();
	if ((inc->root = strdup(c->name)) == NULL ||
	    (c->group != NULL && (inc->group = strdup(c->group)) == NULL) ||
	    (inc->title = strdup(c->name)) == NULL) {
		inc_free(inc);
		return NULL;
	}
	inc_row(inc, &row);
	if ((id = store_incident_insert(&row)) < 0) {
		inc_free(inc);
		return NULL;
	}
	inc->id = id;
	TAILQ_INSERT_TAIL(&inc_g.active, inc, link);
	inc_attach(inc, c->name, ROLE_ROOT, state, now);
	ref_set(&inc_g.by_root, c->name, inc);
	inc_retitle(inc);
	inc_save(inc);
	inc_timeline(inc, now, "opened", "%s: %s%s", inc->title,
	    summary ? summary : "", flapping ? " (flapping)" : "");
	change_note_incident(inc->id, c, now, cfg->change_window_ms / 1000);
	problem_note_incident(inc->id, c->name, now, cfg->problem_after,
	    cfg->problem_window_ms / 1000);
	log_notice("incident #%lld opened: %s (P%d)", (long long)inc->id,
	    inc->title, inc->priority);
	count_open();
	inc_emit(inc, INCIDENT_OPENED, now, NULL, inc->title);
	return inc;
}

static void
inc_resolve_quiet(struct inc *inc, time_t now, const char *by,
    const char *why)
{
	unsigned i;

	inc->status = INC_RESOLVED;
	inc->resolved_at = now;
	inc->resolved_mono = mono_now();
	inc->all_ok_since = 0;
	inc->update_pending = false;
	for (i = 0; i < inc->nchecks; i++)
		ref_unset(&inc_g.by_check, inc->checks[i].name, inc);
	inc_save(inc);
	inc_timeline(inc, now, "resolved", "%s", why);
	count_open();
	inc_emit(inc, INCIDENT_RESOLVED, now, by, why);
}

static void
inc_resolve(struct inc *inc, time_t now, const char *by, const char *why)
{
	inc_resolve_quiet(inc, now, by, why);
	log_notice("incident #%lld resolved: %s", (long long)inc->id, why);
}

static void
inc_close(struct inc *inc, time_t now)
{
	unsigned i;

	inc->status = INC_CLOSED;
	store_incident_close(inc->id, now);
	inc_timeline(inc, now, "closed", "closed %s after resolution",
	    "automatically");
	inc_emit(inc, INCIDENT_CLOSED, now, NULL, "closed");
	for (i = 0; i < inc->nchecks; i++)
		ref_unset(&inc_g.by_check, inc->checks[i].name, inc);
	ref_unset(&inc_g.by_root, inc->root, inc);
	TAILQ_REMOVE(&inc_g.active, inc, link);
	inc_free(inc);
}

/* Every attached check OK and nothing flapping: resolve (maybe later). */
static void
inc_eval(struct inc *inc, time_t now)
{
	unsigned ndown;

	if (!is_active(inc))
		return;
	inc_worst(inc, &ndown);
	if (ndown > 0 || inc->flapping) {
		inc->all_ok_since = 0;
		return;
	}
	if (inc->all_ok_since == 0) {
		inc->all_ok_since = now;
		inc->all_ok_mono = mono_now();
	}
	if (incident_conf()->resolve_delay_ms == 0)
		inc_resolve(inc, now, NULL, "every attached check is OK");
}

static void
inc_reopen(struct inc *inc, struct check *c, enum check_state state,
    time_t now, const char *summary)
{
	inc->status = INC_OPEN;
	inc->resolved_at = 0;
	inc->ack_at = 0;
	free(inc->ack_by);
	inc->ack_by = NULL;
	inc_attach(inc, c->name, ROLE_ROOT, state, now);
	inc_retitle(inc);
	inc_save(inc);
	inc_timeline(inc, now, "reopened", "%s failed again: %s", c->name,
	    summary ? summary : "");
	log_notice("incident #%lld reopened: %s", (long long)inc->id,
	    inc->title);
	count_open();
	inc_emit(inc, INCIDENT_REOPENED, now, NULL, inc->title);
}

/* Announce joins now, or once group_window has passed since the last. */
static void
inc_updated(struct inc *inc, time_t now, const char *text)
{
	int64_t gw = incident_conf()->group_window_ms;

	(void)now;
	if (inc->last_update != 0 && mono_now() - inc->last_update_mono < gw) {
		inc->update_pending = true;
		return;
	}
	inc->update_pending = false;
	inc_emit(inc, INCIDENT_UPDATED, now, NULL, text);
}

/* ---- correlation -------------------------------------------------------- */

/* The topmost down check c is unreachable behind (c itself if none). */
struct check *
incident_root_of(struct check *c)
{
	return check_root_cause(c);
}

static struct inc *
group_incident(const char *group, time_t now)
{
	int64_t gw = incident_conf()->group_window_ms;
	struct inc *inc;

	(void)now;
	TAILQ_FOREACH_REVERSE(inc, &inc_g.active, inc_list, link)
		if (is_active(inc) && inc->group != NULL &&
		    strcmp(inc->group, group) == 0 &&
		    mono_now() - inc->opened_mono <= gw &&
		    !check_is_slo(conf_check(daemon_g.cf, inc->root)))
			return inc;
	return NULL;
}

/* A hard non-OK state of c that is not explained by an incident yet. */
static struct inc *
on_failure(struct check *c, enum check_state state, time_t now,
    const char *summary)
{
	const struct inc_conf *cfg = incident_conf();
	struct inc *inc;
	struct check *root;
	struct inc_check *ic;
	enum level3 imp, urg;

	if (state == STATE_UNREACHABLE &&
	    (root = check_root_cause(c)) != c) {
		if ((inc = ref_get(inc_g.by_check, root->name)) == NULL ||
		    !is_active(inc))
			inc = on_failure(root, root->st.state, now,
			    root->last.summary);
		if (inc == NULL)
			return NULL;
		inc_attach(inc, c->name, ROLE_UNREACHABLE, state, now);
		inc_retitle(inc);
		inc_save(inc);
		inc_timeline(inc, now, "attached", "%s is UNREACHABLE "
		    "behind %s", c->name, root->name);
		inc_updated(inc, now, inc->title);
		return inc;
	}

	inc = ref_get(inc_g.by_root, c->name);
	if (inc != NULL && inc->status == INC_RESOLVED &&
	    mono_now() - inc->resolved_mono <= cfg->reopen_window_ms &&
	    inc->priority <= inc_levels(c, state, &imp, &urg)) {
		inc_reopen(inc, c, state, now, summary);
		return inc;
	}

	/* an SLO's burn is its own incident, whatever its group does */
	if (c->group != NULL && !check_is_slo(c) &&
	    (inc = group_incident(c->group, now)) != NULL) {
		ic = inc_attach(inc, c->name, ROLE_MEMBER, state, now);
		if (ic == NULL)
			return NULL;
		if (incident_priority(cfg, c->impact, c->urgency) <
		    inc->priority) {
			inc->priority = incident_priority(cfg, c->impact,
			    c->urgency);
			inc->impact = c->impact;
			inc->urgency = c->urgency;
		}
		inc_retitle(inc);
		inc_save(inc);
		inc_timeline(inc, now, "attached", "%s is %s (group %s): %s",
		    c->name, state_name(state), c->group, summary ? summary :
		    "");
		inc_updated(inc, now, inc->title);
		return inc;
	}
	return inc_open(c, state, now, c->st.flapping, summary);
}

/*
 * A check may turn hard CRITICAL a moment before its parent does (its
 * retries were quicker than the parent's check), so it opened an incident
 * of its own; then it becomes UNREACHABLE behind the parent.  If that
 * incident is young (within group_window), unacknowledged and has no
 * other check, the parent is the real root cause: it is resolved as
 * merged and the check joins the parent's incident.
 */
static bool
late_root_cause(struct inc *inc, struct inc_check *ic, struct check *c,
    enum check_state st, time_t now)
{
	struct check *root;
	unsigned i;

	if (st != STATE_UNREACHABLE || ic->role != ROLE_ROOT ||
	    inc->status != INC_OPEN || inc->flapping ||
	    mono_now() - inc->opened_mono > incident_conf()->group_window_ms)
		return false;
	for (i = 0; i < inc->nchecks; i++)
		if (&inc->checks[i] != ic && !inc->checks[i].detached)
			return false;
	if ((root = check_root_cause(c)) == c)
		return false;
	ic->state = st;
	inc_save_check(inc, ic, now);
	inc_timeline(inc, now, "merged", "%s is UNREACHABLE behind %s, "
	    "which failed just after it: merged into %s's incident",
	    c->name, root->name, root->name);
	ref_unset(&inc_g.by_root, c->name, inc);
	inc_resolve(inc, now, NULL, "merged: the root cause is the parent");
	return true;
}

static void
on_change(const struct state_event *ev)
{
	struct check *c = ev->check;
	enum check_state st = ev->new_state;
	struct inc *inc = ref_get(inc_g.by_check, c->name);
	struct inc_check *ic;
	enum level3 imp, urg;

	if (inc != NULL && !is_active(inc))
		inc = NULL;
	if (st == STATE_OK) {
		ref_set(&inc_g.suppressed, c->name, NULL);
		ref_set(&inc_g.unexplained, c->name, NULL);
		if (inc == NULL || (ic = inc_check_get(inc, c->name)) == NULL)
			return;
		ic->state = STATE_OK;
		inc_save_check(inc, ic, ev->at);
		inc_timeline(inc, ev->at, "state", "%s recovered: %s",
		    c->name, ev->summary ? ev->summary : "");
		inc_eval(inc, ev->at);
		return;
	}

	if (inc != NULL && (ic = inc_check_get(inc, c->name)) != NULL &&
	    late_root_cause(inc, ic, c, st, ev->at)) {
		/* its parent went down after it: the parent's incident */
		inc = NULL;
	}
	if (inc != NULL && check_is_slo(c) && st == STATE_CRITICAL &&
	    inc->priority > inc_levels(c, st, &imp, &urg)) {
		/* an SLO's ticket whose burn now pages: a paging incident */
		inc_resolve(inc, ev->at, NULL, "the burn now pages: a paging "
		    "incident follows");
		inc = NULL;
	}
	if (inc != NULL && (ic = inc_check_get(inc, c->name)) != NULL) {
		struct check *root = conf_check(daemon_g.cf, inc->root);

		if (ic->role == ROLE_UNREACHABLE && st != STATE_UNREACHABLE &&
		    (root == NULL || !check_is_down(root))) {
			/* the parent is back, the child is down on its own */
			ic->detached = true;
			ic->state = st;
			inc_save_check(inc, ic, ev->at);
			ref_unset(&inc_g.by_check, c->name, inc);
			inc_timeline(inc, ev->at, "detached", "%s is %s on its "
			    "own now; it gets its own incident", c->name,
			    state_name(st));
			inc_retitle(inc);
			inc_save(inc);
			inc_eval(inc, ev->at);
		} else {
			ic->state = st;
			inc_save_check(inc, ic, ev->at);
			inc_timeline(inc, ev->at, "state", "%s is %s: %s",
			    c->name, state_name(st), ev->summary ?
			    ev->summary : "");
			inc_retitle(inc);
			inc_save(inc);
			return;
		}
	}
	if (maint_active(check_root_cause(c), ev->at) ||
	    maint_active(c, ev->at)) {
		ref_set(&inc_g.suppressed, c->name, (struct inc *)1);
		return;
	}
	if (on_failure(c, st, ev->at, ev->summary) == NULL)
		ref_set(&inc_g.unexplained, c->name, (struct inc *)1);
}

static void
on_flap(const struct state_event *ev)
{
	struct check *c = ev->check;
	struct inc *inc = ref_get(inc_g.by_check, c->name);
	unsigned i;

	if (inc != NULL && !is_active(inc))
		inc = NULL;
	if (ev->flap_start) {
		if (inc == NULL) {
			if (maint_active(c, ev->at))
				return;
			inc = ref_get(inc_g.by_root, c->name);
			if (inc != NULL && inc->status == INC_RESOLVED &&
			    mono_now() - inc->resolved_mono <=
			    incident_conf()->reopen_window_ms) {
				/* its last incident, not a new one */
				inc_reopen(inc, c, c->st.state, ev->at,
				    ev->summary);
			} else {
				inc_open(c, c->st.state, ev->at, true,
				    ev->summary);
				return;
			}
		}
		if (!inc->flapping) {
			inc->flapping = true;
			inc_retitle(inc);
			inc_save(inc);
		}
		inc->all_ok_since = 0;
		inc_timeline(inc, ev->at, "flapping", "%s started flapping",
		    c->name);
		inc_updated(inc, ev->at, inc->title);
		return;
	}
	if (inc == NULL)
		return;
	inc_timeline(inc, ev->at, "flapping", "%s stopped flapping", c->name);
	inc->flapping = false;
	for (i = 0; i < inc->nchecks; i++) {
		struct check *o = conf_check(daemon_g.cf, inc->checks[i].name);

		if (!inc->checks[i].detached && o != NULL && o->st.flapping)
			inc->flapping = true;
	}
	/* the check's state now, which the flapping hid */
	if ((inc->checks != NULL) && inc_check_get(inc, c->name) != NULL) {
		struct inc_check *ic = inc_check_get(inc, c->name);

		ic->state = c->st.hard ? c->st.state : ic->state;
		if (c->st.state == STATE_OK)
			ic->state = STATE_OK;
		inc_save_check(inc, ic, ev->at);
	}
	inc_retitle(inc);
	inc_save(inc);
	inc_eval(inc, ev->at);
}

static void
save_check_state(const struct check *c, time_t now)
{
	struct store_check_state row;

	row.name = c->name;
	row.type = (char *)ctype_name(c->type);
	row.st = c->st;
	row.summary = c->last.summary;
	store_check_state_save(&row, now);
}

/* The bus: every hard state change and flapping start/stop. */
static void
incident_on_event(const struct state_event *ev, void *arg)
{
	struct inc *inc, *before;
	struct store_event row;
	int64_t t0 = mono_us();
	const char *flap = ev->flap_start ? "start" : ev->flap_stop ? "stop" :
	    NULL;

	(void)arg;
	if (!inc_g.up)
		return;
	inc_g.ev_mono = ev->at_mono;
	/* the incident the check belonged to before this change */
	before = ref_get(inc_g.by_check, ev->check->name);
	save_check_state(ev->check, ev->at);
	if (ev->old_state != ev->new_state)
		on_change(ev);
	if (ev->flap_start || ev->flap_stop)
		on_flap(ev);
	if ((inc = ref_get(inc_g.by_check, ev->check->name)) == NULL)
		inc = before;
	/*
	 * Appended once, with what correlation made of it; in the same
	 * transaction as the incident rows, so both or neither survive.
	 */
	memset(&row, 0, sizeof(row));
	row.at = ev->at;
	row.check = ev->check->name;
	row.old_state = ev->old_state;
	row.new_state = ev->new_state;
	row.flap = flap;
	row.summary = ev->summary;
	row.incident_id = inc != NULL ? inc->id : 0;
	row.suppressed = inc == NULL &&
	    ref_get(inc_g.suppressed, ev->check->name) != NULL;
	store_event_add(&row);
	inc_g.ev_mono = 0;
	hist_add(&stats_g.db_write, (mono_us() - t0) / 1e6);
}

/* ---- housekeeping: delays, closing, maintenance ends ------------------- */

struct walk_ctx {
	char **names;
	unsigned n;
};
static struct walk_ctx walk_g;

static void
collect_name(const void *node, VISIT which, int depth)
{
	const struct inc_ref *r = *(struct inc_ref *const *)node;
	char **v;

	(void)depth;
	if (which != postorder && which != leaf)
		return;
	if ((v = reallocarray(walk_g.names, walk_g.n + 1, sizeof(*v))) ==
	    NULL)
		return;
	walk_g.names = v;
	if ((v[walk_g.n] = strdup(r->name)) != NULL)
		walk_g.n++;
}

static void incident_reconcile(time_t now);

/*
 * Retention: one batch of at most INC_PRUNE_ROWS rows (~1 ms of the loop,
 * bench/incident-log) every 100 ms while old rows remain — up to 5 000
 * rows a second, ahead of 1 000 checks flapping every 30 s — then a look
 * every minute.  The batch commits with the iteration's other writes.
 */
#define INC_PRUNE_ROWS	500

/* incident_set_active(false): a cluster follower's log is the leader's */
static bool inc_passive;
/* incident_reload(): the checks' states and the bus subscription stay */
static bool inc_reloading;

static void
incident_prune(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval busy = { 0, 100000 }, idle = { 60, 0 };
	const struct inc_conf *cfg = incident_conf();
	int64_t t0 = mono_us();
	int more = 0;

	(void)fd;
	(void)what;
	(void)arg;
	if (cfg->retention_ms > 0 && store_ok() && !inc_passive) {
		more = store_prune(time(NULL) - cfg->retention_ms / 1000,
		    INC_PRUNE_ROWS);
		if (more != 0)
			log_debug("incidents: pruned a batch older than the "
			    "retention in %.1f ms", (mono_us() - t0) / 1e3);
	}
	evtimer_add(inc_g.prune, more > 0 ? &busy : &idle);
}

static void
incident_tick(evutil_socket_t fd, short what, void *arg)
{
	const struct inc_conf *cfg = incident_conf();
	struct inc *inc, *next;
	time_t now = time(NULL);
	unsigned i;

	(void)fd;
	(void)what;
	(void)arg;
	if (inc_passive)
		return;		/* the leader's log: it resolves and closes */
	for (inc = TAILQ_FIRST(&inc_g.active); inc != NULL; inc = next) {
		next = TAILQ_NEXT(inc, link);
		/* checks that left the config count as recovered */
		for (i = 0; is_active(inc) && i < inc->nchecks; i++) {
			struct inc_check *ic = &inc->checks[i];

			if (ic->detached || ic->state == STATE_OK ||
			    conf_check(daemon_g.cf, ic->name) != NULL)
				continue;
			ic->state = STATE_OK;
			inc_save_check(inc, ic, now);
			inc_timeline(inc, now, "state", "%s was removed from "
			    "the configuration", ic->name);
			inc_eval(inc, now);
		}
		if (is_active(inc) && inc->all_ok_since != 0 &&
		    mono_now() - inc->all_ok_mono >= cfg->resolve_delay_ms)
			inc_resolve(inc, now, NULL, "every attached check is "
			    "OK");
		else if (is_active(inc) && inc->update_pending)
			inc_updated(inc, now, inc->title);
		else if (inc->status == INC_RESOLVED &&
		    mono_now() - inc->resolved_mono >= cfg->close_after_ms)
			inc_close(inc, now);
	}

	/* windows that ended with their checks still down */
	walk_g.names = NULL;
	walk_g.n = 0;
	twalk(inc_g.suppressed, collect_name);
	for (i = 0; i < walk_g.n; i++) {
		struct check *c = conf_check(daemon_g.cf, walk_g.names[i]);

		if (c == NULL || !check_is_down(c)) {
			ref_set(&inc_g.suppressed, walk_g.names[i], NULL);
		} else if (!maint_active(c, now) &&
		    !maint_active(check_root_cause(c), now)) {
			ref_set(&inc_g.suppressed, walk_g.names[i], NULL);
			inc = on_failure(c, c->st.state, now,
			    c->last.summary);
			if (inc != NULL)
				inc_timeline(inc, now, "maintenance", "%s is "
				    "still %s after its maintenance window",
				    c->name, state_name(c->st.state));
		}
		free(walk_g.names[i]);
	}
	free(walk_g.names);
	walk_g.names = NULL;
	if (store_ok())
		incident_reconcile(now);
}

/*
 * Checks that went hard down when no incident could be made for them
 * (the incident log refused every write until its retry queue was full,
 * or memory ran out): as soon as the log takes writes again, each one
 * still down and still without an incident gets one, and pages.
 */
static void
incident_reconcile(time_t now)
{
	struct inc *inc;
	unsigned i;

	if (inc_g.unexplained == NULL)
		return;
	walk_g.names = NULL;
	walk_g.n = 0;
	twalk(inc_g.unexplained, collect_name);
	for (i = 0; i < walk_g.n; i++) {
		struct check *c = conf_check(daemon_g.cf, walk_g.names[i]);

		inc = c != NULL ? ref_get(inc_g.by_check, c->name) : NULL;
		if (c == NULL || !check_is_down(c) ||
		    (inc != NULL && is_active(inc)) ||
		    maint_active(c, now)) {
			ref_set(&inc_g.unexplained, walk_g.names[i], NULL);
		} else if ((inc = on_failure(c, c->st.state, now,
		    c->last.summary)) != NULL) {
			ref_set(&inc_g.unexplained, walk_g.names[i], NULL);
			inc_timeline(inc, now, "reconciled", "%s has been %s "
			    "since %lld without an incident (the incident "
			    "log could not be written)", c->name,
			    state_name(c->st.state),
			    (long long)c->st.last_hard_change);
			log_notice("check %s: down without an incident; "
			    "incident #%lld opened now", c->name,
			    (long long)inc->id);
		}
		free(walk_g.names[i]);
	}
	free(walk_g.names);
	walk_g.names = NULL;
}

/* ---- operator actions ------------------------------------------------------ */

static struct inc *
inc_lookup(int64_t id)
{
	struct inc *inc;

	TAILQ_FOREACH(inc, &inc_g.active, link)
		if (inc->id == id)
			return inc;
	return NULL;
}

/* Does incident id exist at all (closed ones are only in the database)? */
static bool
inc_exists(int64_t id)
{
	return store_incident_exists(id) == 1;
}

/*
 * An operator action changes memory only if the database takes it: the
 * log must be writable first (what earlier iterations wrote is
 * committed), then the action's writes — its own and its subscribers'
 * (the notifier's) — are committed at once.  If that fails they are
 * dropped and memory is put back as it was: the caller answers 5xx and
 * nothing is half-applied.
 */
struct inc_undo {
	enum incident_status status;
	time_t ack_at, resolved_at, all_ok_since;
	int64_t resolved_mono, all_ok_mono;
	char *ack_by;
	bool update_pending;
	bool *attached;			/* checks[i] was by_check → inc */
	bool ok;
};

static void
undo_save(struct inc *inc, struct inc_undo *u)
{
	unsigned i;

	memset(u, 0, sizeof(*u));
	u->status = inc->status;
	u->ack_at = inc->ack_at;
	u->resolved_at = inc->resolved_at;
	u->all_ok_since = inc->all_ok_since;
	u->resolved_mono = inc->resolved_mono;
	u->all_ok_mono = inc->all_ok_mono;
	u->update_pending = inc->update_pending;
	if (inc->ack_by != NULL && (u->ack_by = strdup(inc->ack_by)) == NULL)
		return;
	if ((u->attached = calloc(inc->nchecks + 1, sizeof(bool))) == NULL)
		return;
	for (i = 0; i < inc->nchecks; i++)
		u->attached[i] = ref_get(inc_g.by_check,
		    inc->checks[i].name) == inc;
	u->ok = true;
}

static void
undo_apply(struct inc *inc, struct inc_undo *u)
{
	unsigned i;

	inc->status = u->status;
	inc->ack_at = u->ack_at;
	inc->resolved_at = u->resolved_at;
	inc->all_ok_since = u->all_ok_since;
	inc->resolved_mono = u->resolved_mono;
	inc->all_ok_mono = u->all_ok_mono;
	inc->update_pending = u->update_pending;
	free(inc->ack_by);
	inc->ack_by = u->ack_by;
	u->ack_by = NULL;
	for (i = 0; u->attached != NULL && i < inc->nchecks; i++)
		if (u->attached[i])
			ref_set(&inc_g.by_check, inc->checks[i].name, inc);
	count_open();
}

static void
undo_free(struct inc_undo *u)
{
	free(u->ack_by);
	free(u->attached);
}

/*
 * Commit what an operator action wrote, or drop it and put memory back
 * (what: "acknowledgement", …).  Frees u.  RETURN VALUE: 0, or -3.
 */
static int
action_commit(struct inc *inc, struct inc_undo *u, const char *what,
    const char *by)
{
	if (store_commit() == 0) {
		undo_free(u);
		return 0;
	}
	store_discard();
	undo_apply(inc, u);
	undo_free(u);
	log_errx("incident #%lld: the %s by %s could not be written; the "
	    "incident stays %s", (long long)inc->id, what,
	    by ? by : "an operator", incident_status_name(inc->status));
	return -3;
}

int
incident_ack(int64_t id, const char *by, const char *comment,
    const char **why)
{
	return incident_ack_via(id, by, NULL, comment, why);
}

int
incident_ack_via(int64_t id, const char *by, const char *via,
    const char *comment, const char **why)
{
	struct inc *inc = inc_lookup(id);
	struct inc_undo undo;
	time_t now = time(NULL);

	*why = NULL;
	if (inc == NULL) {
		if (!inc_exists(id))
			return -1;
		*why = "the incident is closed";
		return -2;
	}
	if (inc->status == INC_RESOLVED) {
		*why = "the incident is resolved";
		return -2;
	}
	if (inc->status == INC_ACKNOWLEDGED)
		return 0;	/* acknowledging twice changes nothing */
	if (store_commit() == -1)
		return -3;
	undo_save(inc, &undo);
	if (!undo.ok) {
		undo_free(&undo);
		return -3;
	}
	inc->status = INC_ACKNOWLEDGED;
	inc->ack_at = now;
	free(inc->ack_by);
	inc->ack_by = by != NULL ? strdup(by) : NULL;
	inc_save(inc);
	inc_timeline(inc, now, "acknowledged", "acknowledged by %s%s%s%s%s",
	    by != NULL ? by : "an operator", via ? " via " : "",
	    via ? via : "", comment ? ": " : "", comment ? comment : "");
	count_open();
	inc_emit(inc, INCIDENT_ACKNOWLEDGED, now, by, comment);
	if (action_commit(inc, &undo, "acknowledgement", by) == -3)
		return -3;
	log_notice("incident #%lld acknowledged by %s", (long long)id,
	    by ? by : "an operator");
	return 0;
}

int
incident_unack(int64_t id, const char *by, const char *via, const char **why)
{
	struct inc *inc = inc_lookup(id);
	struct inc_undo undo;
	time_t now = time(NULL);

	*why = NULL;
	if (inc == NULL) {
		if (!inc_exists(id))
			return -1;
		*why = "the incident is closed";
		return -2;
	}
	if (inc->status != INC_ACKNOWLEDGED)
		return 0;	/* open already, or resolved: nothing to undo */
	if (store_commit() == -1)
		return -3;
	undo_save(inc, &undo);
	if (!undo.ok) {
		undo_free(&undo);
		return -3;
	}
	inc->status = INC_OPEN;
	inc->ack_at = 0;
	free(inc->ack_by);
	inc->ack_by = NULL;
	inc_save(inc);
	inc_timeline(inc, now, "unacknowledged", "unacknowledged by %s%s%s",
	    by != NULL ? by : "an operator", via ? " via " : "",
	    via ? via : "");
	count_open();
	inc_emit(inc, INCIDENT_UNACKNOWLEDGED, now, by, via);
	if (action_commit(inc, &undo, "unacknowledgement", by) == -3)
		return -3;
	log_notice("incident #%lld unacknowledged by %s%s%s", (long long)id,
	    by ? by : "an operator", via ? " via " : "", via ? via : "");
	return 0;
}

int
incident_resolve(int64_t id, const char *by, const char *comment,
    const char **why)
{
	return incident_resolve_via(id, by, NULL, comment, why);
}

int
incident_resolve_via(int64_t id, const char *by, const char *via,
    const char *comment, const char **why)
{
	struct inc *inc = inc_lookup(id);
	struct inc_undo undo;
	char *text = NULL;

	*why = NULL;
	if (inc == NULL) {
		if (!inc_exists(id))
			return -1;
		*why = "the incident is closed";
		return -2;
	}
	if (inc->status == INC_RESOLVED)
		return 0;
	if (store_commit() == -1)
		return -3;
	undo_save(inc, &undo);
	if (!undo.ok || asprintf(&text, "resolved by %s%s%s%s%s",
	    by ? by : "an operator", via ? " via " : "", via ? via : "",
	    comment ? ": " : "", comment ? comment : "") < 0) {
		undo_free(&undo);
		return -3;
	}
	inc_resolve_quiet(inc, time(NULL), by, text);
	if (action_commit(inc, &undo, "resolution", by) == -3) {
		free(text);
		return -3;
	}
	log_notice("incident #%lld resolved: %s", (long long)id, text);
	free(text);
	return 0;
}

int
incident_comment(int64_t id, const char *by, const char *text,
    const char **why)
{
	char *line = NULL;
	int rc;

	*why = NULL;
	if (!inc_exists(id))
		return -1;
	if (text == NULL || text[0] == '\0') {
		*why = "the comment is empty";
		return -2;
	}
	if (store_commit() == -1)
		return -3;
	if (by != NULL) {
		if (asprintf(&line, "%s: %s", by, text) < 0)
			return -3;
		text = line;
	}
	rc = store_timeline_add(id, time(NULL), "comment", text);
	free(line);
	if (rc == -1 || store_commit() == -1) {
		store_discard();
		return -3;
	}
	return 0;
}

/* ---- start, restore, stop ------------------------------------------------ */

/* Active incidents and their checks, from the store. */
static int
load_active(void)
{
	struct store_incident *v;
	struct inc *inc;
	size_t n, i, k;
	int rc = -1;

	if (store_incidents_active(&v, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		struct store_incident *r = &v[i];

		if ((int)r->status < 0 || r->root_cause == NULL ||
		    r->title == NULL) {
			log_warnx("incident #%lld: unreadable row, skipped",
			    (long long)r->id);
			continue;
		}
		if ((inc = calloc(1, sizeof(*inc))) == NULL)
			goto out;
		inc->id = r->id;
		inc->title = r->title;
		inc->status = r->status;
		inc->impact = r->impact;
		inc->urgency = r->urgency;
		inc->priority = r->priority;
		inc->root = r->root_cause;
		inc->group = r->group;
		inc->flapping = r->flapping;
		inc->opened_at = r->opened_at;
		inc->ack_at = r->acknowledged_at;
		inc->ack_by = r->acknowledged_by;
		inc->resolved_at = r->resolved_at;
		/* before this start, only the wall clock knows */
		inc->opened_mono = mono_ms() - ((int64_t)time(NULL) -
		    inc->opened_at) * 1000;
		inc->resolved_mono = mono_ms() - ((int64_t)time(NULL) -
		    inc->resolved_at) * 1000;
		r->title = r->root_cause = r->group = NULL;
		r->acknowledged_by = NULL;
		TAILQ_INSERT_TAIL(&inc_g.active, inc, link);
		ref_set(&inc_g.by_root, inc->root, inc);
		if ((inc->checks = calloc(r->nchecks + 1,
		    sizeof(*inc->checks))) == NULL)
			goto out;
		for (k = 0; k < r->nchecks; k++) {
			struct inc_check *ic = &inc->checks[inc->nchecks++];

			ic->name = r->checks[k].name;
			r->checks[k].name = NULL;
			ic->role = r->checks[k].role;
			ic->state = r->checks[k].state;
			ic->detached = r->checks[k].detached;
			if (!ic->detached && is_active(inc))
				ref_set(&inc_g.by_check, ic->name, inc);
		}
	}
	count_open();
	rc = 0;
out:
	store_incidents_free(v, n);
	return rc;
}

/*
 * Persisted check states into cf's checks of the same name and type, so
 * that a check that was hard CRITICAL before the restart is still hard
 * CRITICAL and its next result is not a new hard change.
 */
static void
restore_states(struct config *cf)
{
	struct store_check_state *v;
	size_t n, i;
	unsigned restored = 0;

	if (store_check_states(&v, &n) == -1)
		return;
	for (i = 0; i < n; i++) {
		const struct check_status *s = &v[i].st;
		struct check *c;

		if ((c = conf_check(cf, v[i].name)) == NULL ||
		    strcmp(ctype_name(c->type), v[i].type) != 0 || c->runs > 0)
			continue;
		if ((int)s->state < 0 || s->state >= STATE_COUNT ||
		    (int)s->hard_state < 0 || s->hard_state >= STATE_COUNT)
			continue;
		check_restore(c, s, v[i].summary);
		restored++;
	}
	store_check_states_free(v, n);
	if (restored > 0)
		log_info("incidents: restored the state of %u checks",
		    restored);
}

int
incident_start(struct event_base *base, struct config *cf)
{
	static const struct timeval one = { 1, 0 };

	TAILQ_INIT(&inc_g.active);
	if (load_active() == -1) {
		log_warnx("incidents: cannot read the incident log");
		return -1;
	}
	if (!inc_reloading)
		restore_states(cf);
	if ((inc_g.tick = event_new(base, -1, EV_PERSIST, incident_tick,
	    NULL)) == NULL || event_add(inc_g.tick, &one) == -1 ||
	    (inc_g.prune = evtimer_new(base, incident_prune, NULL)) == NULL ||
	    evtimer_add(inc_g.prune, &one) == -1 ||
	    (inc_g.count = event_new(base, -1, 0, count_open_cb, NULL)) ==
	    NULL || (!inc_reloading &&
	    bus_subscribe_correlator(incident_on_event, NULL) == -1)) {
		log_warnx("incidents: out of memory");
		return -1;
	}
	inc_g.up = true;
	return 0;
}

void
incident_set_active(bool on)
{
	inc_passive = !on;
}

int
incident_reload(struct event_base *base, struct config *cf)
{
	struct subscriber *subs = inc_g.subs;
	unsigned nsubs = inc_g.nsubs;
	int rc;

	/* the notifier's subscription stays; the working set is read again */
	inc_g.subs = NULL;
	inc_g.nsubs = 0;
	incident_stop();
	inc_g.subs = subs;
	inc_g.nsubs = nsubs;
	inc_reloading = true;
	rc = incident_start(base, cf);
	inc_reloading = false;
	return rc;
}

void
incident_reconfigure(struct config *cf)
{
	(void)cf;
	/* the indexes hold names, not check pointers: nothing to redo */
	slo_reconfigure();
}

void
incident_stop(void)
{
	struct inc *inc;

	inc_g.up = false;
	if (inc_g.tick != NULL)
		event_free(inc_g.tick);
	if (inc_g.prune != NULL)
		event_free(inc_g.prune);
	if (inc_g.count != NULL)
		event_free(inc_g.count);
	inc_g.tick = inc_g.prune = inc_g.count = NULL;
	inc_g.count_due = false;
	while ((inc = TAILQ_FIRST(&inc_g.active)) != NULL) {
		TAILQ_REMOVE(&inc_g.active, inc, link);
		inc_free(inc);
	}
	tdestroy(inc_g.by_check, ref_free);
	tdestroy(inc_g.by_root, ref_free);
	tdestroy(inc_g.suppressed, ref_free);
	tdestroy(inc_g.unexplained, ref_free);
	free(inc_g.subs);
	memset(&inc_g, 0, sizeof(inc_g));
}

int
incident_subscribe(incident_fn *fn, void *arg)
{
	struct subscriber *v;

	if ((v = reallocarray(inc_g.subs, inc_g.nsubs + 1,
	    sizeof(*v))) == NULL)
		return -1;
	inc_g.subs = v;
	v[inc_g.nsubs].fn = fn;
	v[inc_g.nsubs].arg = arg;
	inc_g.nsubs++;
	return 0;
}

unsigned
incident_open_count(void)
{
	if (inc_g.count_due)
		recount_open();
	return inc_g.open;
}
