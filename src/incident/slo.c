/*
 * slo.c — service-level objectives: error budgets and burn-rate alerts
 * over the hard state changes the incident log records.
 *
 * Availability.  An SLO's members are the checks of its group (or those
 * it lists), other SLOs never.  A member is up while OK or WARNING; its
 * UNREACHABLE time is the down parent's (it counts in the parent's SLO
 * when the parent is a member of one); PENDING is no data; down time a
 * maintenance window covered does not count.  Over a window W the bad
 * fraction is the members' bad seconds over (members × W): the mean of
 * their unavailability, as the report's group figures are.  The budget
 * is 1 − objective; the burn rate over w is the bad fraction over w
 * divided by the budget (1× spends the budget exactly in the SLO's
 * window); the budget remaining is 1 − bad fraction over the SLO's
 * window / budget (negative once overspent).
 *
 * Alerts (the multi-window, multi-burn-rate alerts of the SRE workbook):
 * each fires while the burn over its long window AND over its short one
 * reach its factor — the long window makes it significant, the short
 * one makes it stop minutes after the burn stops.  Defaults: pages at
 * 14.4× over 1h/5m and 6× over 6h/30m, a ticket at 1× over 3d/6h.
 *
 * Memory: the hard changes of every check within the longest window any
 * SLO needs (its horizon), read from the incident log at start (and
 * after a reload that lengthens it), then kept current from the state
 * bus.  Computing an SLO walks its members' changes once per window; a
 * run (and GET /api/v1/slos) never touches the database.
 */
#include <errno.h>
#include <math.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <tocsin/plugin.h>

#include "api/api.h"
#include "api/api_metrics.h"
#include "core/bus.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/state.h"
#include "incident/incident_int.h"
#include "incident/maint.h"
#include "incident/slo.h"
#include "incident/store.h"
#include "lib/strv.h"

#define SLO_BURNS_MAX	8	/* alerts of one severity */
#define SLO_WINDOWS_MAX	(4 * SLO_BURNS_MAX + 1)

/* ---- the computation -------------------------------------------------- */

bool
slo_state_bad(enum check_state st)
{
	return st == STATE_CRITICAL || st == STATE_UNKNOWN;
}

int64_t
slo_bad_seconds(const struct slo_pt *v, size_t n, time_t a, time_t b,
    int64_t (*covered)(void *arg, time_t from, time_t to), void *arg)
{
	enum check_state st = STATE_OK;
	time_t from = a, to;
	int64_t bad = 0, m;
	size_t i;

	if (b <= a)
		return 0;
	/* the state at a: the last change at or before it */
	for (i = 0; i < n && v[i].at <= a; i++)
		st = v[i].st;
	for (;;) {
		to = i < n && v[i].at < b ? v[i].at : b;
		if (to > from && slo_state_bad(st)) {
			m = covered != NULL ? covered(arg, from, to) : 0;
			if (m > to - from)
				m = to - from;
			bad += (to - from) - (m > 0 ? m : 0);
		}
		if (to >= b)
			break;
		from = to;
		st = v[i++].st;
	}
	return bad;
}

int
slo_burn_parse(const char *text, struct slo_burn *b, char *err,
    size_t errlen)
{
	char buf[128], *tok[4], *save = NULL, *end;
	int64_t ms;
	unsigned n = 0;
	double f;

	if (strlen(text) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, " \t", &save); t != NULL;
	    t = strtok_r(NULL, " \t", &save)) {
		if (n == 3)
			goto bad;
		tok[n++] = t;
	}
	if (n != 3)
		goto bad;
	errno = 0;
	f = strtod(tok[0], &end);
	if (end == tok[0] || errno != 0 || (*end != '\0' &&
	    strcasecmp(end, "x") != 0))
		goto bad;
	if (!(f > 0 && f <= 1e6)) {
		snprintf(err, errlen, "\"%s\": the factor must be above 0",
		    text);
		return -1;
	}
	b->factor = f;
	if (conf_parse_duration(tok[1], &ms) != 0 || ms < 1000)
		goto bad;
	b->long_s = ms / 1000;
	if (conf_parse_duration(tok[2], &ms) != 0 || ms < 1000)
		goto bad;
	b->short_s = ms / 1000;
	if (b->short_s >= b->long_s) {
		snprintf(err, errlen, "\"%s\": the short window (%s) must be "
		    "shorter than the long one (%s)", text, tok[2], tok[1]);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "\"%s\" is not FACTOR LONG SHORT, such as "
	    "\"14.4x 1h 5m\" (windows of a second or more)", text);
	return -1;
}

void
slo_window_label(int64_t s, char *buf, size_t len)
{
	if (s > 0 && s % 86400 == 0)
		snprintf(buf, len, "%lldd", (long long)(s / 86400));
	else if (s > 0 && s % 3600 == 0)
		snprintf(buf, len, "%lldh", (long long)(s / 3600));
	else if (s > 0 && s % 60 == 0)
		snprintf(buf, len, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
}

/* ---- the history: hard changes of every check, within the horizon ----- */

struct hist {
	char *name;			/* owned; the tree's key */
	struct slo_pt *v;
	size_t n, cap;
};

static struct {
	void *tree;			/* struct hist by name */
	int64_t horizon_s;		/* loaded for this long (0: nothing) */
	bool subscribed;
} slo_g;

static int
hist_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hist *)a)->name,
	    ((const struct hist *)b)->name);
}

static void
hist_free(void *p)
{
	struct hist *h = p;

	free(h->name);
	free(h->v);
	free(h);
}

static struct hist *
hist_find(const char *name)
{
	struct hist key = { (char *)name, NULL, 0, 0 };
	struct hist **found = tfind(&key, &slo_g.tree, hist_cmp);

	return found != NULL ? *found : NULL;
}

static struct hist *
hist_get(const char *name)
{
	struct hist *h = hist_find(name);

	if (h != NULL)
		return h;
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->name = strdup(name)) == NULL) {
		free(h);
		return NULL;
	}
	if (tsearch(h, &slo_g.tree, hist_cmp) == NULL) {
		hist_free(h);
		return NULL;
	}
	return h;
}

/* Drops changes before the horizon, but the one that sets the state
 * at its start. */
static void
hist_trim(struct hist *h, time_t now)
{
	time_t cut = now - (time_t)slo_g.horizon_s;
	size_t k = 0;

	while (k + 1 < h->n && h->v[k + 1].at <= cut)
		k++;
	if (k > 0) {
		memmove(h->v, h->v + k, (h->n - k) * sizeof(*h->v));
		h->n -= k;
	}
}

static int
hist_add(const char *name, time_t at, enum check_state st)
{
	struct hist *h = hist_get(name);
	struct slo_pt *v;

	if (h == NULL)
		return -1;
	if (h->n > 0 && h->v[h->n - 1].st == st)
		return 0;
	if (h->n == h->cap) {
		if (h->n > 16)
			hist_trim(h, time(NULL));
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;

		if ((v = reallocarray(h->v, cap, sizeof(*v))) == NULL)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	/* the bus delivers in time order; a clock step back keeps order */
	if (h->n > 0 && at < h->v[h->n - 1].at)
		at = h->v[h->n - 1].at;
	h->v[h->n].at = at;
	h->v[h->n].st = st;
	h->n++;
	return 0;
}

static void
slo_on_event(const struct state_event *ev, void *arg)
{
	(void)arg;
	if (slo_g.horizon_s <= 0 || ev->old_state == ev->new_state)
		return;
	if (hist_add(ev->check->name, ev->at, ev->new_state) != 0)
		log_warnx("slo: out of memory: %s's change is not counted",
		    ev->check->name);
}

/* ---- the check type ------------------------------------------------- */

struct slo {
	double objective;		/* percent */
	int64_t window_s;
	char **checks;			/* NULL: the SLO's group */
	unsigned nchecks;
	struct slo_burn burns[2 * SLO_BURNS_MAX];
	unsigned nburns;
};

static const struct tocsin_check_type slo_type;

bool
check_is_slo(const struct check *c)
{
	return c != NULL && c->type != NULL && c->type->def == &slo_type;
}

static const struct tocsin_option slo_options[] = {
	{ "objective", TOCSIN_OPT_FLOAT, NULL, TOCSIN_OPT_REQUIRED,
	    "percent of the time the members are up (e.g. 99.9)" },
	{ "window", TOCSIN_OPT_DURATION, "30d", 0,
	    "the period the objective is kept over (rolling)" },
	{ "checks", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "the member checks (default: every check of the SLO's group)" },
	{ "page_burn", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "paging alerts, \"FACTOR LONG SHORT\" (default \"14.4x 1h 5m\", "
	    "\"6x 6h 30m\")" },
	{ "ticket_burn", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "low-priority alerts (default \"1x 3d 6h\")" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static void
slo_free(void *priv)
{
	struct slo *s = priv;

	if (s == NULL)
		return;
	strv_free(s->checks, s->nchecks);
	free(s);
}

static int
burns_conf(struct tocsin_conf *cf, struct slo *s, const char *key,
    const char *const *defs, bool page)
{
	unsigned n, i;
	char err[256];
	int bad = 0;

	if (tocsin_conf_is_set(cf, key))
		n = tocsin_conf_list_size(cf, key);
	else
		for (n = 0; defs[n] != NULL; n++)
			;
	if (n > SLO_BURNS_MAX) {
		tocsin_conf_error(cf, key, "at most %d alerts", SLO_BURNS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *t = tocsin_conf_is_set(cf, key) ?
		    tocsin_conf_list_str(cf, key, i) : defs[i];
		struct slo_burn *b = &s->burns[s->nburns];

		if (slo_burn_parse(t != NULL ? t : "", b, err,
		    sizeof(err)) != 0) {
			tocsin_conf_error(cf, key, "%s", err);
			bad = 1;
			continue;
		}
		b->page = page;
		s->nburns++;
	}
	return bad ? -1 : 0;
}

static int
slo_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	static const char *const page_defs[] = { "14.4x 1h 5m", "6x 6h 30m",
	    NULL };
	static const char *const ticket_defs[] = { "1x 3d 6h", NULL };
	struct check *self = (struct check *)chk;
	const struct config *loading = conf_of(cf);
	struct slo *s;
	unsigned i, j, n;
	int bad = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		tocsin_conf_error(cf, NULL, "out of memory");
		return -1;
	}
	s->objective = tocsin_conf_float(cf, "objective");
	if (!(s->objective > 0 && s->objective < 100)) {
		tocsin_conf_error(cf, "objective", "%g is not a percentage "
		    "above 0 and below 100", s->objective);
		bad = 1;
	}
	s->window_s = tocsin_conf_duration_ms(cf, "window") / 1000;
	if (s->window_s < 60 || s->window_s > 400 * 86400) {
		tocsin_conf_error(cf, "window", "must be between 1m and 400d");
		bad = 1;
	}
	if (burns_conf(cf, s, "page_burn", page_defs, true) != 0 ||
	    burns_conf(cf, s, "ticket_burn", ticket_defs, false) != 0)
		bad = 1;

	n = tocsin_conf_list_size(cf, "checks");
	if (n > 0 && (s->checks = calloc(n, sizeof(*s->checks))) == NULL)
		bad = 1;
	for (i = 0; s->checks != NULL && i < n; i++) {
		const char *name = tocsin_conf_list_str(cf, "checks", i);
		const struct check *m = loading != NULL ?
		    conf_check(loading, name) : NULL;

		if ((s->checks[s->nchecks] = strdup(name)) == NULL) {
			bad = 1;
			break;
		}
		s->nchecks++;
		if (loading != NULL && m == NULL) {
			tocsin_conf_error(cf, "checks", "no check is named "
			    "\"%s\"", name);
			bad = 1;
		} else if (check_is_slo(m)) {
			tocsin_conf_error(cf, "checks", "\"%s\" is an SLO, not "
			    "a check of a service", name);
			bad = 1;
		}
	}
	if (n == 0 && self->group == NULL) {
		tocsin_conf_error(cf, NULL, "an SLO needs its checks: "
		    "checks = { ... } or a group whose checks it covers");
		bad = 1;
	} else if (n == 0 && loading != NULL) {
		for (j = 0; j < loading->nchecks; j++) {
			const struct check *m = loading->checks[j];

			if (m->group != NULL && !check_is_slo(m) &&
			    strcmp(m->group, self->group) == 0)
				break;
		}
		if (j == loading->nchecks) {
			tocsin_conf_error(cf, "group", "no check other than "
			    "SLOs is in group \"%s\"", self->group);
			bad = 1;
		}
	}
	/* the burn-rate alerts confirm a burn already: hard at once */
	if (!tocsin_conf_is_set(cf, "max_attempts"))
		self->max_attempts = 1;
	if (bad) {
		slo_free(s);
		return -1;
	}
	*priv = s;
	return 0;
}

/* ---- evaluation ------------------------------------------------------- */

struct slo_eval {
	unsigned members;
	double availability;		/* percent over the SLO's window */
	double budget_left;		/* percent of the budget */
	int64_t windows[SLO_WINDOWS_MAX];	/* seconds, distinct */
	double burn[SLO_WINDOWS_MAX];
	unsigned nwindows;
	double burn_long[2 * SLO_BURNS_MAX], burn_short[2 * SLO_BURNS_MAX];
	bool firing[2 * SLO_BURNS_MAX];
	int level;			/* 0 ok, 1 ticket, 2 page */
	int worst;			/* the alert deciding the level, -1 */
	const char *missing;		/* a member not configured */
};

static int64_t
maint_cb(void *arg, time_t from, time_t to)
{
	return maint_covered(arg, from, to);
}

static bool
is_member(const struct check *slo_c, const struct slo *s,
    const struct check *c)
{
	unsigned i;

	if (check_is_slo(c))
		return false;
	if (s->checks == NULL)
		return c->group != NULL && slo_c->group != NULL &&
		    strcmp(c->group, slo_c->group) == 0;
	for (i = 0; i < s->nchecks; i++)
		if (strcmp(s->checks[i], c->name) == 0)
			return true;
	return false;
}

static unsigned
window_index(struct slo_eval *e, int64_t w)
{
	unsigned i;

	for (i = 0; i < e->nwindows; i++)
		if (e->windows[i] == w)
			return i;
	e->windows[e->nwindows] = w;
	e->burn[e->nwindows] = 0;
	return e->nwindows++;
}

static int
wcmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
slo_compute(const struct check *slo_c, const struct slo *s, time_t now,
    struct slo_eval *e)
{
	const struct config *cf = daemon_g.cf;
	double budget = 1.0 - s->objective / 100.0, bad_main = 0;
	int64_t wv[SLO_WINDOWS_MAX];
	unsigned i, k, nw;

	memset(e, 0, sizeof(*e));
	e->worst = -1;
	for (k = 0; k < s->nburns; k++) {
		window_index(e, s->burns[k].long_s);
		window_index(e, s->burns[k].short_s);
	}
	/* the burn windows in rising order, for the API and /metrics */
	qsort(e->windows, e->nwindows, sizeof(e->windows[0]), wcmp);
	nw = e->nwindows;
	memcpy(wv, e->windows, nw * sizeof(wv[0]));
	wv[nw] = s->window_s;
	for (i = 0; s->checks != NULL && i < s->nchecks; i++)
		if (conf_check(cf, s->checks[i]) == NULL)
			e->missing = s->checks[i];
	for (i = 0; cf != NULL && i < cf->nchecks; i++) {
		const struct check *c = cf->checks[i];
		const struct hist *h;

		if (!is_member(slo_c, s, c))
			continue;
		e->members++;
		if ((h = hist_find(c->name)) == NULL)
			continue;
		for (k = 0; k <= nw; k++) {
			double b = (double)slo_bad_seconds(h->v, h->n,
			    now - (time_t)wv[k], now, maint_cb, (void *)c);

			if (k < nw)
				e->burn[k] += b;
			else
				bad_main += b;
		}
	}
	if (e->members == 0) {
		e->availability = NAN;
		e->budget_left = NAN;
		return;
	}
	for (k = 0; k < nw; k++)
		e->burn[k] = e->burn[k] / ((double)e->members * (double)wv[k]) /
		    budget;
	bad_main /= (double)e->members * (double)s->window_s;
	e->availability = 100.0 * (1.0 - bad_main);
	e->budget_left = 100.0 * (1.0 - bad_main / budget);
	for (k = 0; k < s->nburns; k++) {
		const struct slo_burn *b = &s->burns[k];
		int lvl = b->page ? 2 : 1;

		e->burn_long[k] = e->burn[window_index(e, b->long_s)];
		e->burn_short[k] = e->burn[window_index(e, b->short_s)];
		/* a hair of slack: 1× exactly is a float's rounding away */
		e->firing[k] = e->burn_long[k] >= b->factor * (1 - 1e-9) &&
		    e->burn_short[k] >= b->factor * (1 - 1e-9);
		if (e->firing[k] && (lvl > e->level || (lvl == e->level &&
		    e->worst >= 0 && e->burn_long[k] / b->factor >
		    e->burn_long[e->worst] / s->burns[e->worst].factor))) {
			e->level = lvl;
			e->worst = (int)k;
		}
	}
}

static void
slo_summary(const struct slo *s, const struct slo_eval *e, char *buf,
    size_t len)
{
	char w[32], l[32], sh[32];

	slo_window_label(s->window_s, w, sizeof(w));
	if (e->worst >= 0) {
		const struct slo_burn *b = &s->burns[e->worst];

		slo_window_label(b->long_s, l, sizeof(l));
		slo_window_label(b->short_s, sh, sizeof(sh));
		snprintf(buf, len, "error budget burning at %.3g× over %s and "
		    "%.3g× over %s (%s at %g×); %.1f%% of the %s budget left, "
		    "availability %.3f%% (objective %g%%)", e->burn_long[
		    e->worst], l, e->burn_short[e->worst], sh, b->page ?
		    "pages" : "a ticket", b->factor, e->budget_left, w,
		    e->availability, s->objective);
		return;
	}
	snprintf(buf, len, "availability %.3f%% over %s (objective %g%%): "
	    "%.1f%% of the error budget left", e->availability, w,
	    s->objective, e->budget_left);
}

static void
slo_start_run(struct tocsin_run *run, void *priv)
{
	const struct slo *s = priv;
	const struct check *c = (const struct check *)tocsin_run_check(run);
	const struct inc_conf *ic = incident_conf();
	struct tocsin_metric m = { NULL, 0, NULL, NULL, NULL, NAN, NAN, 0 };
	struct slo_eval e;
	char buf[512], name[48], w[32];
	unsigned k;

	if (ic != NULL && ic->retention_ms > 0 &&
	    s->window_s * 1000 > ic->retention_ms) {
		slo_window_label(ic->retention_ms / 1000, w, sizeof(w));
		snprintf(buf, sizeof(buf), "the SLO's window is longer than "
		    "incidents { retention = %s }: the events it needs are "
		    "pruned", w);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, buf);
		return;
	}
	slo_compute(c, s, time(NULL), &e);
	if (e.missing != NULL) {
		snprintf(buf, sizeof(buf), "no check is named \"%s\"",
		    e.missing);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, buf);
		return;
	}
	if (e.members == 0) {
		snprintf(buf, sizeof(buf), "no check is in group \"%s\"",
		    c->group != NULL ? c->group : "");
		tocsin_run_finish(run, TOCSIN_UNKNOWN, buf);
		return;
	}
	m.name = "availability";
	m.unit = "%";
	m.value = e.availability;
	m.max = 100;
	tocsin_run_metric(run, &m);
	m.name = "budget_left";
	m.value = e.budget_left;
	tocsin_run_metric(run, &m);
	m.unit = NULL;
	m.max = NAN;
	m.min = 0;
	for (k = 0; k < e.nwindows; k++) {
		slo_window_label(e.windows[k], w, sizeof(w));
		snprintf(name, sizeof(name), "burn_%s", w);
		m.name = name;
		m.value = e.burn[k];
		tocsin_run_metric(run, &m);
	}
	slo_summary(s, &e, buf, sizeof(buf));
	tocsin_run_finish(run, e.level == 2 ? TOCSIN_CRITICAL : e.level == 1 ?
	    TOCSIN_WARNING : TOCSIN_OK, buf);
}

static const struct tocsin_check_type slo_type = {
	.name = "slo",
	.options = slo_options,
	.configure = slo_configure,
	.start = slo_start_run,
	.free = slo_free,
};

int
slo_register(void)
{
	return tocsin_register_type(&slo_type);
}

/* ---- start, reload ---------------------------------------------------- */

/* The longest window any SLO of the config in force needs. */
static int64_t
horizon(void)
{
	const struct config *cf = daemon_g.cf;
	int64_t h = 0;
	unsigned i, k;

	for (i = 0; cf != NULL && i < cf->nchecks; i++) {
		const struct slo *s;

		if (!check_is_slo(cf->checks[i]) ||
		    (s = cf->checks[i]->priv) == NULL)
			continue;
		if (s->window_s > h)
			h = s->window_s;
		for (k = 0; k < s->nburns; k++)
			if (s->burns[k].long_s > h)
				h = s->burns[k].long_s;
	}
	return h;
}

/* Reads the changes within want from the incident log. */
static int
load(int64_t want)
{
	struct store_change *v = NULL;
	time_t now = time(NULL), cut = now - (time_t)want;
	size_t n = 0, i;
	int err = 0;

	tdestroy(slo_g.tree, hist_free);
	slo_g.tree = NULL;
	slo_g.horizon_s = want;
	if (want <= 0)
		return 0;
	if (store_changes(now + 1, &v, &n) == -1) {
		log_warnx("slo: the incident log cannot be read: SLOs count "
		    "from now on");
		return -1;
	}
	for (i = 0; i < n && !err; i++) {
		/* only the last change before the cut matters */
		if (v[i].at < cut && i + 1 < n && v[i + 1].at <= cut &&
		    strcmp(v[i].check, v[i + 1].check) == 0)
			continue;
		err = hist_add(v[i].check, v[i].at, v[i].state);
	}
	store_changes_free(v, n);
	if (err)
		log_warnx("slo: out of memory reading the incident log");
	return err ? -1 : 0;
}

int
slo_start(void)
{
	if (!slo_g.subscribed) {
		if (bus_subscribe_correlator(slo_on_event, NULL) == -1)
			return -1;
		slo_g.subscribed = true;
	}
	(void)load(horizon());	/* a failure is logged: counted from now */
	return 0;
}

void
slo_reconfigure(void)
{
	int64_t h = horizon();

	if (h > slo_g.horizon_s)
		(void)load(h);
	else
		slo_g.horizon_s = h;
	if (h == 0 && slo_g.tree != NULL) {
		tdestroy(slo_g.tree, hist_free);
		slo_g.tree = NULL;
	}
}

void
slo_stop(void)
{
	tdestroy(slo_g.tree, hist_free);
	slo_g.tree = NULL;
	slo_g.horizon_s = 0;
}

/* ---- GET /api/v1/slos, /metrics ------------------------------------- */

static json_t *
slo_json(const struct check *c)
{
	const struct slo *s = c->priv;
	const struct config *cf = daemon_g.cf;
	struct slo_eval e;
	json_t *o = json_object(), *br = json_object(), *al = json_array(),
	    *mem = json_array();
	char w[32], l[32];
	unsigned i, k;
	int err = o == NULL || br == NULL || al == NULL || mem == NULL;

	slo_compute(c, s, time(NULL), &e);
	for (i = 0; !err && cf != NULL && i < cf->nchecks; i++)
		if (is_member(c, s, cf->checks[i]))
			api_append(mem, api_str(cf->checks[i]->name), &err);
	for (k = 0; !err && k < e.nwindows; k++) {
		slo_window_label(e.windows[k], w, sizeof(w));
		api_set(br, w, api_num(e.burn[k]), &err);
	}
	for (k = 0; !err && k < s->nburns; k++) {
		const struct slo_burn *b = &s->burns[k];
		json_t *a = json_object();

		if (a == NULL) {
			err = 1;
			break;
		}
		slo_window_label(b->long_s, l, sizeof(l));
		slo_window_label(b->short_s, w, sizeof(w));
		api_set(a, "severity", api_str(b->page ? "page" : "ticket"),
		    &err);
		api_set(a, "factor", json_real(b->factor), &err);
		api_set(a, "long", api_str(l), &err);
		api_set(a, "short", api_str(w), &err);
		api_set(a, "burn_long", api_num(e.burn_long[k]), &err);
		api_set(a, "burn_short", api_num(e.burn_short[k]), &err);
		api_set(a, "firing", json_boolean(e.firing[k]), &err);
		api_append(al, a, &err);
	}
	slo_window_label(s->window_s, w, sizeof(w));
	api_set(o, "name", api_str(c->name), &err);
	api_set(o, "group", api_str(c->group), &err);
	api_set(o, "checks", mem, &err);
	mem = NULL;
	api_set(o, "objective", json_real(s->objective), &err);
	api_set(o, "window", api_str(w), &err);
	api_set(o, "window_s", json_integer(s->window_s), &err);
	api_set(o, "availability", api_num(e.availability), &err);
	api_set(o, "error_budget_remaining", api_num(e.budget_left), &err);
	api_set(o, "burn_rates", br, &err);
	br = NULL;
	api_set(o, "alerts", al, &err);
	al = NULL;
	api_set(o, "status", api_str(e.members == 0 ? "unknown" :
	    e.level == 2 ? "page" : e.level == 1 ? "ticket" : "ok"), &err);
	api_set(o, "state", api_str(state_name(c->st.state)), &err);
	json_decref(mem);
	json_decref(br);
	json_decref(al);
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
slo_list(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct config *cf = daemon_g.cf;
	json_t *o = json_object(), *a = json_array();
	unsigned i;
	int err = o == NULL || a == NULL;

	(void)rest;
	(void)arg;
	for (i = 0; !err && cf != NULL && i < cf->nchecks; i++)
		if (check_is_slo(cf->checks[i]) && cf->checks[i]->priv != NULL)
			api_append(a, slo_json(cf->checks[i]), &err);
	api_set(o, "slos", a, &err);
	if (err) {
		json_decref(o);
		o = NULL;
	}
	api_reply(req, HTTP_OK, o);
}

static void
slo_get(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct check *c;
	char *name;

	(void)arg;
	if ((name = api_path_name(req, rest, "SLO")) == NULL)
		return;
	c = conf_check(daemon_g.cf, name);
	if (c == NULL || !check_is_slo(c) || c->priv == NULL)
		api_error(req, HTTP_NOTFOUND, "no SLO is named \"%s\"", name);
	else
		api_reply(req, HTTP_OK, slo_json(c));
	free(name);
}

static bool
any_firing(const struct slo *s, const struct slo_eval *e, bool page)
{
	unsigned k;

	for (k = 0; k < s->nburns; k++)
		if (e->firing[k] && s->burns[k].page == page)
			return true;
	return false;
}

static void
slo_prom(struct evbuffer *b)
{
	static const char *const fam[][2] = {
		{ "tocsin_slo_objective", "Each SLO's objective, in percent." },
		{ "tocsin_slo_availability", "Each SLO's availability over "
		    "its window, in percent." },
		{ "tocsin_slo_error_budget_remaining", "Percent of each SLO's "
		    "error budget left in its window (negative: overspent)." },
		{ "tocsin_slo_burn_rate", "How fast each SLO spends its error "
		    "budget over each alert window (1: exactly the budget)." },
		{ "tocsin_slo_alert_firing", "1 while a burn-rate alert of the "
		    "SLO fires, by severity (page or ticket)." },
	};
	const struct config *cf = daemon_g.cf;
	struct slo_eval *ev;
	unsigned i, k, f, n = 0;
	char w[32];

	for (i = 0; cf != NULL && i < cf->nchecks; i++)
		if (check_is_slo(cf->checks[i]) && cf->checks[i]->priv != NULL)
			n++;
	if (n == 0 || (ev = calloc(n, sizeof(*ev))) == NULL)
		return;
	for (i = 0, k = 0; i < cf->nchecks; i++)
		if (check_is_slo(cf->checks[i]) && cf->checks[i]->priv != NULL)
			slo_compute(cf->checks[i], cf->checks[i]->priv,
			    time(NULL), &ev[k++]);
	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		api_prom_family(b, fam[f][0], "gauge", fam[f][1]);
		for (i = 0, k = 0; i < cf->nchecks; i++) {
			const struct check *c = cf->checks[i];
			const struct slo *s = c->priv;
			const struct slo_eval *e = &ev[k];
			unsigned j;

			if (!check_is_slo(c) || s == NULL)
				continue;
			k++;
			switch (f) {
			case 0:
				api_prom_sample(b, fam[f][0], "slo", c->name,
				    NULL, NULL, s->objective);
				break;
			case 1:
				api_prom_sample(b, fam[f][0], "slo", c->name,
				    NULL, NULL, e->availability);
				break;
			case 2:
				api_prom_sample(b, fam[f][0], "slo", c->name,
				    NULL, NULL, e->budget_left);
				break;
			case 3:
				for (j = 0; j < e->nwindows; j++) {
					slo_window_label(e->windows[j], w,
					    sizeof(w));
					api_prom_sample(b, fam[f][0], "slo",
					    c->name, "window", w, e->burn[j]);
				}
				break;
			default:
				api_prom_sample(b, fam[f][0], "slo", c->name,
				    "severity", "page", any_firing(s, e, true));
				api_prom_sample(b, fam[f][0], "slo", c->name,
				    "severity", "ticket", any_firing(s, e,
				    false));
				break;
			}
		}
	}
	free(ev);
}

int
slo_api_init(void)
{
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/slos", 0, slo_list,
	    NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_GET, "/api/v1/slos/", 0, slo_get,
	    NULL) == -1 ||
	    api_prom_register(slo_prom) == -1)
		return -1;
	return 0;
}
