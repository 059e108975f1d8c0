/*
 * check.h — a configured check and a host, as the core sees them.
 * Owned by the config (struct config) that created them; the scheduler,
 * state machine and API read and update them on the loop thread only.
 */
#ifndef TOCSIN_CHECK_H
#define TOCSIN_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <tocsin/plugin.h>

#include "core/state.h"

struct ctype;
struct host;
struct run;
struct event;

/* A metric as kept in the last result (owned strings). */
struct metric {
	char *name;
	double value;
	char *unit;	/* may be NULL */
	char *warn;	/* may be NULL */
	char *crit;	/* may be NULL */
	double min;	/* NAN if unknown */
	double max;	/* NAN if unknown */
	unsigned flags;
};

/* The last result of a check. */
struct result {
	enum check_state state;	/* as the plugin said, before reachability */
	char *summary;
	char *long_output;
	struct metric *metrics;
	unsigned nmetrics;
	int64_t duration_ms;
	int local_err;		/* not 0: tocsind could not run the check */
};

enum level3 { LEVEL_LOW = 0, LEVEL_MEDIUM = 1, LEVEL_HIGH = 2 };

struct check {
	char *name;
	struct ctype *type;
	void *priv;			/* the plugin's configure() result */

	/* common keys */
	char *host_name;		/* may be NULL */
	char *group;			/* may be NULL */
	bool aberration;		/* RRD with Holt-Winters archives */
	bool aberration_set;		/* given in its section (or template) */
	char **depends_on;		/* names, ndepends of them */
	unsigned ndepends;
	char **locations;		/* run from these places (a cluster) */
	unsigned nlocations;
	int quorum;			/* 1..nlocations; 0 without locations */
	int64_t interval_ms;
	int64_t retry_ms;
	int64_t timeout_ms;
	int max_attempts;
	enum check_state timeout_state;
	enum level3 impact;
	enum level3 urgency;
	struct flap_conf flap;

	/* resolved references */
	struct host *host;		/* NULL if no host */
	struct check **deps;		/* ndepends entries */

	/* where it was defined, for messages (conf_objects.c keeps it) */
	const char *file;
	int line;
	char *rule;			/* the apply rule that made it, or NULL */
	unsigned idx;			/* position in config->checks */
	void *sec;			/* conf.c: its cfg_t, during load only */

	/* status */
	struct check_status st;
	/*
	 * While the last run failed for a local resource (last.local_err),
	 * st shows a soft UNKNOWN and st_real keeps the status that results
	 * about the service built; the next real result continues from it.
	 */
	struct check_status st_real;
	bool local;
	struct result last;
	time_t last_check;		/* wall clock of the last result, 0: never */
	time_t next_check;		/* wall clock of the next due run */
	uint64_t runs;			/* finished runs */

	/* the metric store's record of this check's file (metric.c) */
	void *metric_file;		/* valid while metric_gen matches */
	unsigned long metric_gen;

	/* scheduling (sched.c) */
	struct event *timer;
	int64_t due_ms;			/* monotonic due time of the next run */
	struct run *run;		/* the run in flight, or NULL */
	bool queued;			/* waiting for a concurrency slot */
	bool run_asap;			/* run again as soon as the current ends */
	TAILQ_ENTRY(check) qlink;	/* ctype's wait queue */
};

struct host {
	char *name;
	char *address;
	char *check_name;		/* the host check, may be NULL */
	struct check *check;		/* resolved check_name */
	char **parents;
	unsigned nparents;
	struct host **parent_hosts;	/* resolved */
	const char *file;		/* kept by conf_objects.c */
	int line;
	unsigned idx;			/* position in config->hosts */
	void *sec;			/* conf.c: its cfg_t, during load only */
};

/* A check type: a plugin's tocsin_check_type plus core bookkeeping. */
TAILQ_HEAD(check_queue, check);
struct ctype {
	const struct tocsin_check_type *def;
	struct plugin *plugin;		/* NULL for built-in types */
	unsigned max_concurrent;	/* 0: no cap */
	unsigned running;
	struct check_queue waiting;
	bool draining;			/* sched.c: run_end is starting waiters */
	uint64_t runs_total;		/* finished runs of this type */
};

/*
 * check_upstream — visit the checks that decide whether c is reachable,
 * in order: its depends_on checks; then its host's check (when that is
 * not c, it alone decides); else the checks of its host's parents, a
 * parent without a check passing through to its own parents.  fn
 * returns true to stop the walk.  RETURN VALUE: the check it stopped at,
 * or NULL.
 */
typedef bool check_upstream_fn(struct check *up, void *arg);
struct check *check_upstream(const struct check *c, check_upstream_fn *fn,
    void *arg);
/* The first hard-down check upstream of c (c is UNREACHABLE), or NULL. */
struct check *check_blocker(const struct check *c);
/* Is the check's host DOWN or a dependency hard non-OK? (state.c rules) */
bool check_unreachable(const struct check *c);
/* The topmost hard-down check c is unreachable behind, or c itself. */
struct check *check_root_cause(struct check *c);
/*
 * check_restore — give c a status persisted before a restart: its hard
 * state (a soft one falls back to the last hard state), flapping and
 * change times; summary (may be NULL: unchanged) becomes the last result.
 */
void check_restore(struct check *c, const struct check_status *saved,
    const char *summary);
/* Hard non-OK: the state that makes dependants UNREACHABLE. */
bool check_is_down(const struct check *c);

/*
 * metric_str — s for a struct metric's name, unit, warn or crit: a
 * shared copy for a string seen before (never to be freed but by
 * metric_clear()), else a strdup(); NULL when out of memory.
 */
char *metric_str(const char *s);
/* Free what a metric or a result owns (not the struct itself). */
void metric_clear(struct metric *m);
void result_clear(struct result *r);

/* What a result keeps of a plugin's or a client's text, at most. */
#define RESULT_SUMMARY_MAX	4096
#define RESULT_LONG_MAX		(64 * 1024)

/*
 * result_text — s as a result keeps it: at most max bytes, with control
 * bytes (which must not reach a terminal) turned into spaces.  one_line:
 * cut at the first CR or LF (a summary); else newlines and tabs stay
 * (long output).  Returns a new string (the caller frees it), or NULL
 * when out of memory.
 */
char *result_text(const char *s, size_t max, bool one_line);

#endif
