/*
 * sched.c — when checks run, and what happens to their results.
 *
 * One libevent timer per check.  A timer firing starts a run unless the
 * check's type is at its concurrency cap, in which case the check waits in
 * the type's FIFO.  The core arms a timeout per run; on expiry it calls the
 * type's cancel() and records the check's timeout_state.  A check never
 * overlaps itself: a run-now request during a run is remembered and served
 * when the run ends.
 *
 * Schedule latency (start of run − planned start) goes to stats_g; it is
 * the figure that tells whether the loop keeps up.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/time.h>
#include <unistd.h>
#include <time.h>

#include <event2/event.h>

#include "core/bus.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/perfdata.h"
#include "core/plugin.h"
#include "core/sched.h"
#include "core/shortage.h"
#include "core/stats.h"
#include "core/util.h"

#define METRICS_MAX	256		/* metrics kept per result */
#define RUN_SPARE	1024		/* ended runs kept for reuse */

struct run {
	struct check *chk;
	struct event *timeout;		/* kept while the run is spare */
	struct run *next_spare;
	void *data;			/* the plugin's */
	struct metric *metrics;
	unsigned nmetrics;
	unsigned mcap;			/* room in metrics */
	char *long_output;
	int64_t started_ms;
};

static struct event_base *sbase;
/*
 * Ended runs, with their timeout event, wait here for the next start:
 * at thousands of runs a second a calloc, an event_new and their frees
 * per run were a visible share of the loop's time.
 */
static struct run *run_spare;
static unsigned nrun_spare;
static struct event *tick_ev;
static int64_t tick_due;		/* µs, monotonic */

static void sched_arm(struct check *c, int64_t due);
static void sched_begin(struct check *c);

/* ---- the plugin ABI's run functions --------------------------------- */

struct tocsin_check *
tocsin_run_check(struct tocsin_run *r)
{
	return (struct tocsin_check *)((struct run *)r)->chk;
}

int64_t
tocsin_run_timeout_ms(const struct tocsin_run *r)
{
	return ((const struct run *)r)->chk->timeout_ms;
}

void
tocsin_run_set_data(struct tocsin_run *r, void *data)
{
	((struct run *)r)->data = data;
}

void *
tocsin_run_data(struct tocsin_run *r)
{
	return ((struct run *)r)->data;
}

/* The strings come from metric_str(): a name seen before costs nothing. */
static int
metric_copy(struct metric *dst, const struct tocsin_metric *m)
{
	memset(dst, 0, sizeof(*dst));
	if ((dst->name = metric_str(m->name)) == NULL)
		return -1;
	dst->value = m->value;
	dst->unit = m->unit && *m->unit ? metric_str(m->unit) : NULL;
	dst->warn = m->warn && *m->warn ? metric_str(m->warn) : NULL;
	dst->crit = m->crit && *m->crit ? metric_str(m->crit) : NULL;
	dst->min = m->min;
	dst->max = m->max;
	dst->flags = m->flags;
	return 0;
}

/*
 * Adds m to v (n used, *cap room).  The first allocation makes room for
 * hint (the check's previous result's count: a check reports the same
 * metrics run after run), so that the array the check keeps as its last
 * result is the size it needs: at 100 000 checks, 8 slots of 64 bytes
 * for http's 5 metrics were 19 MB of nothing.
 */
static int
metrics_add(struct metric **v, unsigned *n, unsigned *cap, unsigned hint,
    const struct tocsin_metric *m)
{
	struct metric *nv;
	unsigned i;

	/*
	 * NaN is a value that is not known: a phase of the run that did
	 * not happen (no connection, so no time to connect).  It is kept:
	 * the API shows null, the RRD file U, /metrics leaves it out.  An
	 * infinity is nobody's measurement.
	 */
	if (m == NULL || m->name == NULL || *m->name == '\0' ||
	    isinf(m->value))
		return -1;
	for (i = 0; i < *n; i++)	/* a repeated name: the last wins */
		if (strcmp((*v)[i].name, m->name) == 0) {
			metric_clear(&(*v)[i]);
			return metric_copy(&(*v)[i], m);
		}
	if (*n >= METRICS_MAX)
		return -1;
	if (*n == *cap) {
		unsigned ncap = *cap == 0 ? (hint > 0 ? hint : 4) : *cap * 2;

		if (ncap > METRICS_MAX)
			ncap = METRICS_MAX;
		if ((nv = reallocarray(*v, ncap, sizeof(*nv))) == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	nv = *v;
	if (metric_copy(&nv[*n], m) != 0)
		return -1;
	(*n)++;
	return 0;
}

int
tocsin_run_metric(struct tocsin_run *r, const struct tocsin_metric *m)
{
	struct run *run = (struct run *)r;

	return metrics_add(&run->metrics, &run->nmetrics, &run->mcap,
	    run->chk != NULL ? run->chk->last.nmetrics : 0, m);
}

static int
perf_cb(const struct tocsin_metric *m, void *arg)
{
	tocsin_run_metric(arg, m);
	return 0;
}

int
tocsin_run_perfdata(struct tocsin_run *r, const char *perfdata)
{
	if (perfdata == NULL)
		return 0;
	return perfdata_parse(perfdata, perf_cb, r);
}

void
tocsin_run_long_output(struct tocsin_run *r, const char *text)
{
	struct run *run = (struct run *)r;

	free(run->long_output);
	run->long_output = text && *text ? strndup(text, RESULT_LONG_MAX) : NULL;
}

/* The run is over: its memory goes back to run_spare (or is freed). */
static void
run_free(struct run *run)
{
	unsigned i;

	for (i = 0; i < run->nmetrics; i++)
		metric_clear(&run->metrics[i]);
	free(run->metrics);
	free(run->long_output);
	if (run->timeout != NULL && nrun_spare < RUN_SPARE) {
		struct event *ev = run->timeout;	/* its arg is run */

		event_del(ev);
		memset(run, 0, sizeof(*run));
		run->timeout = ev;
		run->next_spare = run_spare;
		run_spare = run;
		nrun_spare++;
		return;
	}
	if (run->timeout != NULL)
		event_free(run->timeout);
	free(run);
}

/* Detach the run from its check and type, and free the slot it held. */
static struct check *
run_end(struct run *run)
{
	struct check *c = run->chk, *next;
	struct ctype *ct = c->type;

	c->run = NULL;
	if (ct->running > 0)
		ct->running--;
	/*
	 * A waiter started below may finish before start() returns and come
	 * back here: it only frees its slot, and this loop hands it on.  So
	 * the stack stays one level deep however many checks wait (issue
	 * 14: each such run used to recurse, one frame chain per waiter).
	 */
	if (ct->draining)
		return c;
	ct->draining = true;
	/* hand the slot to the longest-waiting check of this type */
	while (!TAILQ_EMPTY(&ct->waiting) &&
	    (ct->max_concurrent == 0 || ct->running < ct->max_concurrent)) {
		next = TAILQ_FIRST(&ct->waiting);
		TAILQ_REMOVE(&ct->waiting, next, qlink);
		next->queued = false;
		sched_begin(next);
	}
	ct->draining = false;
	return c;
}

void
tocsin_run_finish(struct tocsin_run *r, enum tocsin_state state,
    const char *summary)
{
	struct run *run = (struct run *)r;
	struct result res;
	struct check *c;

	memset(&res, 0, sizeof(res));
	res.state = (int)state >= 0 && state <= TOCSIN_UNKNOWN ?
	    (enum check_state)state : STATE_UNKNOWN;
	/* one line without control bytes, as a passive result's */
	res.summary = summary != NULL ? result_text(summary,
	    RESULT_SUMMARY_MAX, true) : strdup("");
	res.long_output = run->long_output;
	if (run->mcap > run->nmetrics && run->nmetrics > 0) {
		/* more (or fewer) metrics than last time: kept at their size */
		struct metric *nv = reallocarray(run->metrics, run->nmetrics,
		    sizeof(*nv));

		if (nv != NULL)
			run->metrics = nv;
	}
	res.metrics = run->metrics;
	res.nmetrics = run->nmetrics;
	res.duration_ms = mono_ms() - run->started_ms;
	run->long_output = NULL;
	run->metrics = NULL;
	run->nmetrics = run->mcap = 0;
	c = run_end(run);
	run_free(run);
	sched_result(c, &res);
}

int
tocsin_errno_is_local(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM ||
	    err == EAGAIN || err == ENOBUFS;
}

void
tocsin_run_fail_local(struct tocsin_run *r, int err, const char *what)
{
	struct run *run = (struct run *)r;
	struct result res;
	struct check *c;

	memset(&res, 0, sizeof(res));
	res.state = STATE_UNKNOWN;
	res.local_err = err != 0 ? err : ENOMEM;
	if (asprintf(&res.summary, "not checked: tocsind is out of %s "
	    "(%s%s%s)", shortage_resource(res.local_err),
	    what != NULL ? what : "", what != NULL ? ": " : "",
	    strerror(res.local_err)) < 0)
		res.summary = NULL;
	res.duration_ms = mono_ms() - run->started_ms;
	c = run_end(run);
	run_free(run);
	sched_result(c, &res);
}

/* ---- runs ------------------------------------------------------------ */

static void
run_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct run *run = arg;
	struct check *c = run->chk;
	struct result res;

	(void)fd;
	(void)what;
	if (c->type->def->cancel != NULL)
		c->type->def->cancel((struct tocsin_run *)run, c->priv);
	stats_g.timeouts_total++;
	memset(&res, 0, sizeof(res));
	res.state = c->timeout_state;
	if (asprintf(&res.summary, "check timed out after %.3gs",
	    (double)c->timeout_ms / 1000) < 0)
		res.summary = NULL;
	res.duration_ms = mono_ms() - run->started_ms;
	run_end(run);
	run_free(run);
	sched_result(c, &res);
}

/* Cancel the run in flight of c, if any, without recording a result. */
static void
run_cancel(struct check *c)
{
	struct run *run = c->run;

	if (run == NULL)
		return;
	if (c->type->def->cancel != NULL)
		c->type->def->cancel((struct tocsin_run *)run, c->priv);
	c->run = NULL;
	if (c->type->running > 0)
		c->type->running--;
	run_free(run);
}

/* Start a run now: the type has a free slot. */
static void
sched_start_run(struct check *c)
{
	struct run *run;
	struct timeval tv;

	if ((run = run_spare) != NULL) {	/* its timeout is made */
		run_spare = run->next_spare;
		nrun_spare--;
		run->next_spare = NULL;
	} else if ((run = calloc(1, sizeof(*run))) == NULL ||
	    (run->timeout = evtimer_new(sbase, run_timeout, run)) == NULL) {
		free(run);
		log_warnx("check %s: out of memory starting a run", c->name);
		sched_arm(c, mono_ms() + c->retry_ms);
		return;
	}
	run->chk = c;
	run->started_ms = mono_ms();
	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	evtimer_add(run->timeout, &tv);
	c->run = run;
	c->type->running++;
	/* start() may finish the run before it returns: run is gone then */
	c->type->def->start((struct tocsin_run *)run, c->priv);
}

static bool (*sched_gate)(const struct check *c);

void
sched_set_gate(bool (*runs_here)(const struct check *c))
{
	sched_gate = runs_here;
}

void
sched_resume(struct check *c)
{
	int64_t now = mono_ms(), next;

	if (c->run != NULL || c->queued || c->interval_ms <= 0 ||
	    (c->timer != NULL && evtimer_pending(c->timer, NULL)))
		return;
	/* back on its place on the grid */
	next = c->due_ms != 0 ? c->due_ms : now;
	if (next <= now)
		next += c->interval_ms * ((now - next) / c->interval_ms + 1);
	sched_arm(c, next);
}

/* The check is due: run it, or queue it behind the type's cap. */
static void
sched_begin(struct check *c)
{
	struct ctype *ct = c->type;
	int64_t now = mono_ms();

	/* another node runs it: no timer until sched_resume() */
	if (sched_gate != NULL && !sched_gate(c))
		return;

	if (c->run != NULL) {	/* never overlap: run again afterwards */
		c->run_asap = true;
		return;
	}
	if (ct->max_concurrent != 0 && ct->running >= ct->max_concurrent) {
		if (!c->queued) {
			c->queued = true;
			TAILQ_INSERT_TAIL(&ct->waiting, c, qlink);
		}
		return;
	}
	hist_add(&stats_g.sched_latency,
	    c->due_ms != 0 && now > c->due_ms ?
	    (double)(now - c->due_ms) / 1000 : 0);
	sched_start_run(c);
}

static void
sched_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sched_begin(arg);
}

/* Arm c's timer for monotonic time due (ms). */
static void
sched_arm(struct check *c, int64_t due)
{
	struct timeval tv;
	int64_t now = mono_ms(), d;

	if (c->timer == NULL &&
	    (c->timer = evtimer_new(sbase, sched_timer, c)) == NULL) {
		log_warnx("check %s: cannot create its timer", c->name);
		return;
	}
	c->due_ms = due;
	c->next_check = time(NULL) + (time_t)((due - now) / 1000);
	d = due > now ? due - now : 0;
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* Small jitter so that checks configured alike do not fire in lockstep. */
static int64_t
jitter(int64_t iv)
{
	int64_t j = iv / 100;

	if (j > 1000)
		j = 1000;
	return j > 0 ? random() % (j + 1) : 0;
}

/* When should c run next, given it just got a result at now? */
static int64_t
next_due(const struct check *c, int64_t now)
{
	int64_t iv, next;

	if (!c->st.hard && c->st.state != STATE_OK)	/* soft: confirm soon */
		return now + c->retry_ms + jitter(c->retry_ms);
	iv = c->interval_ms;
	/*
	 * Stay on the check's grid, already spread by first_due(); no jitter
	 * here, or it would add up run after run (+0.5% to the interval).
	 * Skip the slots a slow run overran.
	 */
	if (c->due_ms == 0)
		return now + iv + jitter(iv);
	next = c->due_ms + iv;
	if (next <= now)
		next = now + iv - ((now - c->due_ms) % iv);
	return next;
}

static bool
run_upstream_cb(struct check *up, void *arg)
{
	(void)arg;
	if (up->run == NULL && !up->queued && !check_is_down(up))
		sched_run_now(up);
	return false;
}

/* The checks that decide whether c is reachable, run at once (Nagios). */
static void
run_upstream(struct check *c)
{
	check_upstream(c, run_upstream_cb, NULL);
}

/*
 * A run that tocsind could not make (tocsin_run_fail_local()): the check
 * shows a soft UNKNOWN with the cause, but the state machine, the flap
 * history, the incident log and the metric store never see it, so a
 * shortage inside tocsind can neither page nor open an incident about
 * the service.  The real status waits in st_real for the next real
 * result.  The check runs again after its retry interval.
 */
/* A run was asked for during the one that just ended: start it now. */
static bool
run_asap_now(struct check *c, int64_t mnow)
{
	if (!c->run_asap)
		return false;
	c->run_asap = false;
	event_del(c->timer);
	c->due_ms = mnow;
	sched_begin(c);
	return true;
}

static void
sched_local_result(struct check *c, const struct result *r, int64_t mnow)
{
	log_info("check %s: UNKNOWN, no attempt counted: %s", c->name,
	    r->summary);
	shortage_note(r->local_err, c->name);
	if (!c->local) {
		c->st_real = c->st;
		c->local = true;
	}
	c->st.state = STATE_UNKNOWN;
	c->st.hard = false;
	if (c->timer == NULL || run_asap_now(c, mnow))
		return;
	sched_arm(c, mnow + c->retry_ms);
}

static bool (*sched_take)(struct check *c, struct result *r);
static bool sched_taking = true;

void
sched_set_result_hook(bool (*take)(struct check *c, struct result *r))
{
	sched_take = take;
}

/* After a result: the check's next run (sched_result's end). */
static void
sched_next(struct check *c, int64_t mnow)
{
	/* c->timer NULL: a passive result before sched_start */
	if (c->timer == NULL || run_asap_now(c, mnow))
		return;
	/* a passive result does not move an armed timer */
	if (evtimer_pending(c->timer, NULL) && c->run == NULL &&
	    c->due_ms > mnow)
		return;
	sched_arm(c, next_due(c, mnow));
}

void
sched_result_combined(struct check *c, struct result *r)
{
	sched_taking = false;
	sched_result(c, r);
	sched_taking = true;
}

void
sched_result(struct check *c, struct result *r)
{
	struct state_change ch;
	struct state_event ev;
	time_t now = time(NULL);
	int64_t mnow = mono_ms();

	if (sched_taking && sched_take != NULL && sched_take(c, r)) {
		/* one place's result, combined elsewhere: run on */
		c->type->runs_total++;
		stats_g.runs_total++;
		c->runs++;
		result_clear(r);
		sched_next(c, mnow);
		return;
	}

	c->type->runs_total++;
	stats_g.runs_total++;
	c->runs++;
	c->last_check = now;
	result_clear(&c->last);
	c->last = *r;
	memset(r, 0, sizeof(*r));
	if (c->last.summary == NULL)
		c->last.summary = strdup("");
	if (c->last.local_err != 0) {
		sched_local_result(c, &c->last, mnow);
		return;
	}
	if (c->local) {		/* a real result again: continue from it */
		c->st = c->st_real;
		c->local = false;
	}

	state_apply(&c->st, c->last.state, check_unreachable(c),
	    c->max_attempts, &c->flap, now, &ch);
	/* a first OK is what was expected: no line per check at start-up */
	if (ch.changed)
		log_vlog_str(ch.old_state == STATE_PENDING &&
		    c->st.state == STATE_OK ? LOG_DEBUG : LOG_INFO,
		    "check %s: %s %s (attempt %d/%d): %s", c->name,
		    state_name(c->st.state), c->st.hard ? "hard" : "soft",
		    c->st.attempt, c->max_attempts, c->last.summary);
	if (ch.flap_start)
		log_notice("check %s: started flapping (%.0f%% state change)",
		    c->name, c->st.flap_percent);
	if (ch.flap_stop)
		log_notice("check %s: stopped flapping (%.0f%% state change)",
		    c->name, c->st.flap_percent);
	if (ch.hard_changed || ch.flap_start || ch.flap_stop) {
		memset(&ev, 0, sizeof(ev));
		ev.check = c;
		ev.old_state = ch.old_hard_state;
		ev.new_state = c->st.hard_state;
		ev.flap_start = ch.flap_start;
		ev.flap_stop = ch.flap_stop;
		ev.at = now;
		ev.at_mono = mnow;
		ev.summary = c->last.summary;
		bus_publish(&ev);
	}
	bus_publish_result(c);
	if (c->st.state != STATE_OK && !c->st.hard)
		run_upstream(c);
	sched_next(c, mnow);
}

void
sched_run_now(struct check *c)
{
	if (c->run != NULL) {
		c->run_asap = true;
		return;
	}
	if (c->queued)
		return;
	if (c->timer != NULL)
		event_del(c->timer);
	c->due_ms = mono_ms();
	sched_begin(c);
}

void
tocsin_check_run_now(struct tocsin_check *chk)
{
	struct check *c = (struct check *)chk;

	/* only a started check: sched_start() armed its timer */
	if (c != NULL && (c->timer != NULL || c->run != NULL))
		sched_run_now(c);
}

/* ---- whole configs --------------------------------------------------- */

/*
 * First run of a check with no schedule: a phase given by a hash of its
 * name against the wall clock, so a restart keeps every check's phase and
 * many checks with one interval spread evenly over it.
 */
static int64_t
first_due(const struct check *c, int64_t mnow)
{
	struct timespec ts;
	int64_t wall, iv = c->interval_ms, off;

	clock_gettime(CLOCK_REALTIME, &ts);
	wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	off = ((int64_t)(hash_str(c->name) % (uint64_t)iv) - wall % iv + iv) %
	    iv;
	return mnow + off;
}

int
sched_start(struct config *cf)
{
	int64_t now = mono_ms();
	unsigned i;

	for (i = 0; i < ctype_count(); i++) {
		struct ctype *ct = ctype_at(i);

		ct->max_concurrent = ct->def->max_concurrent;
	}
	for (i = 0; i < cf->nconcurrency; i++) {
		char *eq = strchr(cf->concurrency[i], '=');
		struct ctype *ct;

		*eq = '\0';
		if ((ct = ctype_find(cf->concurrency[i])) != NULL)
			ct->max_concurrent = (unsigned)atoi(eq + 1);
		*eq = '=';
	}
	for (i = 0; i < cf->nchecks; i++) {
		struct check *c = cf->checks[i];

		if (c->run_asap) {	/* its run was cancelled by a reload */
			c->run_asap = false;
			c->due_ms = now;
			sched_arm(c, now);
		} else if (c->due_ms != 0)
			sched_arm(c, c->due_ms);
		else
			sched_arm(c, first_due(c, now));
	}
	return 0;
}

void
sched_stop(struct config *cf)
{
	unsigned i;

	if (cf == NULL)
		return;
	for (i = 0; i < cf->nchecks; i++) {
		struct check *c = cf->checks[i];

		if (c->queued) {
			TAILQ_REMOVE(&c->type->waiting, c, qlink);
			c->queued = false;
		}
		run_cancel(c);
		if (c->timer != NULL) {
			event_free(c->timer);
			c->timer = NULL;
		}
	}
}

void
sched_transfer(struct config *old, struct config *nw)
{
	unsigned i;

	for (i = 0; i < nw->nchecks; i++) {
		struct check *n = nw->checks[i], *o = conf_check(old, n->name);

		if (o == NULL || o->type != n->type)
			continue;
		n->st = o->st;
		n->st_real = o->st_real;
		n->local = o->local;
		n->last = o->last;
		memset(&o->last, 0, sizeof(o->last));
		n->last_check = o->last_check;
		n->runs = o->runs;
		if (n->st.attempt > n->max_attempts)
			n->st.attempt = n->max_attempts;
		if (o->run != NULL || o->queued || o->run_asap)
			n->run_asap = true;	/* cancelled below: rerun */
		else if (o->interval_ms == n->interval_ms &&
		    o->retry_ms == n->retry_ms)
			n->due_ms = o->due_ms;	/* overdue: runs at once */
	}
}

/* ---- the loop's own health ------------------------------------------- */

/*
 * Every 100 ms: how late this timer runs is how long the loop was busy
 * with something else (10 samples a second, so a p99 means something
 * within a minute; the cost is one timer callback).
 */
#define TICK_MS 100

static void
sched_tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = mono_us();
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };

	(void)fd;
	(void)what;
	(void)arg;
	hist_add(&stats_g.loop_lag, now > tick_due ?
	    (double)(now - tick_due) / 1e6 : 0);
	tick_due = now + TICK_MS * 1000;
	evtimer_add(tick_ev, &tv);
}

int
sched_init(struct event_base *base)
{
	struct timeval tv = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 };

	sbase = base;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if ((tick_ev = evtimer_new(base, sched_tick, NULL)) == NULL)
		return -1;
	tick_due = mono_us() + TICK_MS * 1000;
	evtimer_add(tick_ev, &tv);
	return 0;
}

void
sched_shutdown(void)
{
	struct run *run;

	while ((run = run_spare) != NULL) {
		run_spare = run->next_spare;
		event_free(run->timeout);
		free(run);
	}
	nrun_spare = 0;
	if (tick_ev != NULL)
		event_free(tick_ev);
	tick_ev = NULL;
}
