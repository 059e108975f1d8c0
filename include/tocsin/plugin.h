/*
 * tocsin/plugin.h — the plugin ABI of tocsind.
 *
 * This is the only header a check plugin includes.  A plugin is a shared
 * object in plugin_dir that exports one symbol, `tocsin_plugin`, declared
 * with TOCSIN_PLUGIN().  tocsind dlopen()s it, refuses it unless its
 * abi_version equals TOCSIN_ABI_VERSION, and calls its init function,
 * which registers one or more check types with tocsin_register_type().
 *
 * Rules every plugin follows:
 *  - Everything runs on the daemon's single libevent loop
 *    (tocsin_event_base()).  A callback never sleeps, never blocks on the
 *    network or a child, never calls a synchronous resolver.
 *  - A run ends in exactly one call to tocsin_run_finish().  It may be
 *    called from inside start() or later from any loop callback.
 *  - The core owns timing.  It enforces the check's timeout: when it
 *    expires the core calls the type's cancel(), which must release every
 *    resource of the run (sockets, timers, children) and must NOT call
 *    tocsin_run_finish().  The core then records the timeout result.
 *  - Strings passed to the core are copied; the plugin keeps ownership.
 *
 * ABI history:
 *   1 — first version.  Added later, without a version change (a plugin
 *       that does not call them runs on every core of version 1):
 *       tocsin_run_fail_local(), tocsin_errno_is_local(),
 *       tocsin_check_run_now(), tocsin_check_push().
 */
#ifndef TOCSIN_PLUGIN_H
#define TOCSIN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TOCSIN_ABI_VERSION 1

struct event_base;

/* Check results, with Nagios exit-code values. */
enum tocsin_state {
	TOCSIN_OK = 0,
	TOCSIN_WARNING = 1,
	TOCSIN_CRITICAL = 2,
	TOCSIN_UNKNOWN = 3,
};

struct tocsin_check;	/* a configured check (opaque) */
struct tocsin_run;	/* one run of a check (opaque) */
struct tocsin_conf;	/* a check's config section, during configure() */

/*
 * Config options a check type declares.  The core registers them with the
 * config parser before any file is read, so an unknown key, a wrong type or
 * a missing required key is a FILE:LINE error without plugin code.
 */
enum tocsin_opt_type {
	TOCSIN_OPT_END = 0,	/* terminates an option array */
	TOCSIN_OPT_STR,		/* "text" */
	TOCSIN_OPT_INT,		/* 42 */
	TOCSIN_OPT_FLOAT,	/* 1.5 */
	TOCSIN_OPT_BOOL,	/* true/false, yes/no, on/off */
	TOCSIN_OPT_DURATION,	/* 500ms 30s 5m 1h 2d 1w; read in milliseconds */
	TOCSIN_OPT_STR_LIST,	/* { "a", "b" } */
	TOCSIN_OPT_INT_LIST,	/* { 200, 301 } */
};

#define TOCSIN_OPT_REQUIRED 0x1	/* missing key: error at the section line */

struct tocsin_option {
	const char *name;
	enum tocsin_opt_type type;
	const char *def;	/* default as config text ("10s", "{200}"), or NULL */
	unsigned flags;		/* TOCSIN_OPT_REQUIRED */
	const char *help;	/* one line, for tocsin.conf.example */
};

/*
 * A measurement.  warn and crit are Nagios ranges as text ("80", "10:20",
 * "@10:20", "~:5"), or NULL.  min and max are NAN when unknown.
 */
#define TOCSIN_METRIC_COUNTER 0x1	/* value only grows (for RRD DERIVE) */

struct tocsin_metric {
	const char *name;
	double value;
	const char *unit;	/* "s", "ms", "%", "B", "c", … or NULL */
	const char *warn;
	const char *crit;
	double min;
	double max;
	unsigned flags;
};

struct tocsin_check_type {
	/* Section name in the config ("http", "exec", …). */
	const char *name;
	/* Type-specific options, TOCSIN_OPT_END-terminated; may be NULL. */
	const struct tocsin_option *options;
	/*
	 * Default cap on runs of this type in flight at once (0: no cap).
	 * The operator may override it (daemon { concurrency = {"exec=8"} }).
	 */
	unsigned max_concurrent;

	/*
	 * configure — validate a check's options and build its private state.
	 * Read options with tocsin_conf_*(); report problems with
	 * tocsin_conf_error() (one call per problem, all of them) and
	 * return -1.  On success store the state in *priv and return 0.
	 * Called at start-up, on reload and by `tocsind -t`: it must not
	 * start I/O.
	 */
	int (*configure)(struct tocsin_check *chk, struct tocsin_conf *cf,
	    void **priv);
	/* start — begin one run; ends later with tocsin_run_finish(). */
	void (*start)(struct tocsin_run *run, void *priv);
	/*
	 * cancel — abandon a run that has not finished (timeout, shutdown,
	 * reload).  Release its resources; do not call tocsin_run_finish().
	 * May be NULL for types whose start() always finishes at once.
	 */
	void (*cancel)(struct tocsin_run *run, void *priv);
	/* free — release what configure() built.  Never called mid-run. */
	void (*free)(void *priv);
};

struct tocsin_plugin {
	unsigned abi_version;	/* TOCSIN_ABI_VERSION */
	const char *name;
	/* Register check types; return 0, or -1 after logging why. */
	int (*init)(void);
	/* Called once at shutdown after every check is freed; may be NULL. */
	void (*fini)(void);
};

/* Declares the plugin's entry point. */
#define TOCSIN_PLUGIN(NAME, INIT, FINI)					\
	__attribute__((visibility("default")))				\
	const struct tocsin_plugin tocsin_plugin = {			\
		TOCSIN_ABI_VERSION, NAME, INIT, FINI			\
	}

/* ---- functions the core provides ---------------------------------- */

/*
 * tocsin_register_type — make a check type available to the config.
 * The struct must stay valid until the plugin's fini (a static const).
 * RETURN VALUE: 0, or -1 if the name is taken.
 */
int tocsin_register_type(const struct tocsin_check_type *type);

/* The daemon's one event loop. */
struct event_base *tocsin_event_base(void);

/* Logging, with printf formats.  Levels as in syslog. */
enum tocsin_log_level {
	TOCSIN_LOG_ERR = 3,
	TOCSIN_LOG_WARNING = 4,
	TOCSIN_LOG_NOTICE = 5,
	TOCSIN_LOG_INFO = 6,
	TOCSIN_LOG_DEBUG = 7,
};
void tocsin_log(enum tocsin_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- configure() helpers ------------------------------------------ */

/* Values of the check's options (type's own and the common ones). */
const char *tocsin_conf_str(struct tocsin_conf *cf, const char *key);
long tocsin_conf_int(struct tocsin_conf *cf, const char *key);
double tocsin_conf_float(struct tocsin_conf *cf, const char *key);
int tocsin_conf_bool(struct tocsin_conf *cf, const char *key);
int64_t tocsin_conf_duration_ms(struct tocsin_conf *cf, const char *key);
unsigned tocsin_conf_list_size(struct tocsin_conf *cf, const char *key);
const char *tocsin_conf_list_str(struct tocsin_conf *cf, const char *key,
    unsigned i);
long tocsin_conf_list_int(struct tocsin_conf *cf, const char *key,
    unsigned i);
/* Non-zero if the key was written in the config (not a default). */
int tocsin_conf_is_set(struct tocsin_conf *cf, const char *key);
/*
 * tocsin_conf_error — report a problem with `key` (or with the section
 * when key is NULL) as "FILE:LINE: check NAME: key: message".
 */
void tocsin_conf_error(struct tocsin_conf *cf, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- checks and runs ---------------------------------------------- */

const char *tocsin_check_name(const struct tocsin_check *chk);
/*
 * tocsin_check_run_now — run chk as soon as a slot is free (after its
 * current run if one is going), for a plugin that learnt something from
 * outside the schedule (a trap, a push).  chk is the check configure()
 * was given; a check not (or no longer) scheduled, such as one of a
 * config being loaded or replaced, is left alone.
 */
void tocsin_check_run_now(struct tocsin_check *chk);
/*
 * tocsin_check_push — the last report to chk's push URL (heartbeat
 * checks; see GET /api/v1/checks/NAME/push), kept by check name.
 * summary is borrowed until the next push or the end of the run.
 * RETURN VALUE: 0 and *p filled, or -1 when none came since start-up.
 */
struct tocsin_push {
	time_t when;			/* wall clock */
	enum tocsin_state state;
	const char *summary;
	double duration;		/* seconds, NAN when not given */
};
int tocsin_check_push(const struct tocsin_check *chk, struct tocsin_push *p);
struct tocsin_check *tocsin_run_check(struct tocsin_run *run);
/* Milliseconds the run may take before the core cancels it. */
int64_t tocsin_run_timeout_ms(const struct tocsin_run *run);

/* Per-run private pointer for the plugin (NULL until set). */
void tocsin_run_set_data(struct tocsin_run *run, void *data);
void *tocsin_run_data(struct tocsin_run *run);

/* Add a metric to the run's result (copied).  RETURN VALUE: 0 or -1. */
int tocsin_run_metric(struct tocsin_run *run, const struct tocsin_metric *m);
/*
 * Parse Nagios perfdata ("'a b'=1.5ms;80;90;0;100 load=0.3") into metrics
 * of the run.  Malformed items are skipped; RETURN VALUE: the number of
 * items skipped (0 when all parsed).
 */
int tocsin_run_perfdata(struct tocsin_run *run, const char *perfdata);
/*
 * Set the long output (text after the first line).  The core keeps at most
 * 64 KiB of it, and at most 4 KiB of a summary and 256 metrics per run;
 * tocsin_run_perfdata() may be called several times (metrics add up; a
 * repeated name replaces the earlier value).
 */
void tocsin_run_long_output(struct tocsin_run *run, const char *text);
/*
 * End the run with its result.  summary is one line (cut at the first
 * newline).  The run is freed: do not use it afterwards.
 */
void tocsin_run_finish(struct tocsin_run *run, enum tocsin_state state,
    const char *summary);
/*
 * End the run because tocsind itself is short of a local resource (err:
 * EMFILE or ENFILE from a socket or pipe, ENOMEM, EAGAIN from a fork):
 * the check could not be made, so nothing is known about what it
 * watches.  The core records UNKNOWN with the cause, counts no attempt,
 * changes no hard state (so no incident about the check) and runs it
 * again after its retry_interval; the built-in `self` check reports the
 * shortage as an incident about tocsind.  what: the step that failed
 * ("creating the output pipe").  The run is freed, as by
 * tocsin_run_finish().
 */
void tocsin_run_fail_local(struct tocsin_run *run, int err, const char *what);
/* Non-zero if err is one of the local-resource errors above. */
int tocsin_errno_is_local(int err);

/* ---- thresholds ---------------------------------------------------- */

/*
 * A Nagios range: "10" means alert outside 0..10, "10:" outside 10..inf,
 * "~:10" outside -inf..10, "10:20" outside 10..20, "@10:20" inside 10..20.
 */
struct tocsin_range {
	double start;
	double end;
	int inside;		/* '@': alert when inside start..end */
};
/* RETURN VALUE: 0 and *r filled, or -1 if text is not a range. */
int tocsin_range_parse(const char *text, struct tocsin_range *r);
/* Non-zero if value raises an alert under r. */
int tocsin_range_alert(const struct tocsin_range *r, double value);

/* ---- child processes ---------------------------------------------- */

/*
 * tocsin_child_watch — call cb(pid, status, arg) once on the loop when
 * child pid exits (status as from waitpid).  The core reaps every child
 * with waitpid(-1) from a loop callback (never in a signal handler), so a
 * watch registered right after spawning cannot miss the exit, and cb never
 * runs inside tocsin_child_watch.  A plugin never calls waitpid(),
 * system() or popen(): the core would reap their children.
 * tocsin_child_unwatch forgets a watch (the child is still reaped); after
 * cb has run it is a harmless no-op.
 */
typedef void (*tocsin_child_cb)(pid_t pid, int status, void *arg);
int tocsin_child_watch(pid_t pid, tocsin_child_cb cb, void *arg);
void tocsin_child_unwatch(pid_t pid);

#ifdef __cplusplus
}
#endif

#endif /* TOCSIN_PLUGIN_H */
