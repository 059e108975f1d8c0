/*
 * main.c — tocsind: command line, start-up, signals, reload.
 *
 * Start-up order matters: plugins are loaded before the config is parsed
 * (each check type brings its own section); the API socket is bound and
 * the config applied before systemd is told READY=1.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "api/api.h"
#include "api/api_checks.h"
#include "api/api_conf.h"
#include "api/api_dashboard.h"
#include "api/api_metrics.h"
#include "api/api_push.h"
#include "core/bus.h"
#include "core/child.h"
#include "core/conf.h"
#include "incident/change.h"
#include "incident/cluster_node.h"
#include "incident/store_mirror.h"
#include "api/api_forward.h"
#include "incident/incident.h"
#include "incident/incident_int.h"
#include "incident/maint.h"
#include "notify/notify.h"
#include "core/daemon.h"
#include "metric/aberration.h"
#include "incident/slo.h"
#include "metric/capacity.h"
#include "metric/forecast.h"
#include "metric/metric.h"
#include "metric/pool.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/priv.h"
#include "core/sched.h"
#include "core/selfcheck.h"
#include "core/state.h"


static struct api *api;
static struct api *papi;		/* api.public_listen, or NULL */
static char *conf_file;
static struct event *watchdog_ev;

struct event_base *
tocsin_event_base(void)
{
	return daemon_g.base;
}

static void
notify(const char *what)
{
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, what);
#else
	(void)what;
#endif
}

static void
usage(void)
{
	fprintf(stderr, "usage: tocsind [-f] [-t|--check-config] [-c FILE] "
	    "[--version]\n"
	    "  -c FILE   configuration (default %s)\n"
	    "  -f        stay in the foreground, log to stderr\n"
	    "  -t        check the configuration and exit\n",
	    TOCSIN_CONF_FILE);
	exit(2);
}

static void
print_errors(const struct conf_errors *errs, FILE *fp, bool to_log)
{
	unsigned i;

	for (i = 0; i < errs->n; i++) {
		if (to_log)
			log_warnx("%s", errs->msgs[i]);
		else
			fprintf(fp, "%s\n", errs->msgs[i]);
	}
}

/*
 * mkdir -p for the state directory: the parents it makes are 0755, as
 * install -d makes them, so that the user tocsind becomes can get
 * through them to state_dir (0750, its own).
 */
static int
mkdirs(const char *path, mode_t mode)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == 0)
			(void)chmod(buf, 0755);	/* whatever the umask */
		else if (errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == 0)
		(void)chmod(buf, mode);
	else if (errno != EEXIST)
		return -1;
	return 0;
}

/*
 * An existing state_dir open to every local user (systemd's
 * StateDirectory= default is 0755, and files made before umask 027 or
 * by librrd are 0644) loses its bits for others: that one directory
 * keeps every file in it from them.
 */
static void
state_dir_private(const char *dir)
{
	struct stat sb;

	if (stat(dir, &sb) != 0 || (sb.st_mode & 0007) == 0)
		return;
	if (chmod(dir, sb.st_mode & 0770) != 0)
		log_warn("state_dir %s is open to every local user (mode "
		    "%04o) and cannot be changed", dir,
		    (unsigned)(sb.st_mode & 07777));
	else
		log_notice("state_dir %s: mode %04o -> %04o: incidents and "
		    "metrics are not for every local user", dir,
		    (unsigned)(sb.st_mode & 07777),
		    (unsigned)(sb.st_mode & 0770));
}

/*
 * The soft fd limit up to the hard one: the usual soft limit of 1 024 is
 * the select() era's, and every check, RRD file and API client takes
 * descriptors from it.  The API's connection cap is then sized from what
 * this leaves (api.c), so clients can never take the checks' share.
 */
static void
nofile_raise(void)
{
	struct rlimit rl;
	rlim_t old;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		log_warn("getrlimit(RLIMIT_NOFILE)");
		daemon_g.nofile = 1024;
		return;
	}
	old = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("setrlimit(RLIMIT_NOFILE, %llu)",
			    (unsigned long long)rl.rlim_max);
			rl.rlim_cur = old;
		} else
			log_info("file descriptor limit raised from %llu to "
			    "%llu", (unsigned long long)old,
			    (unsigned long long)rl.rlim_cur);
	}
	daemon_g.nofile = rl.rlim_cur == RLIM_INFINITY ? 1UL << 20 :
	    (unsigned long)rl.rlim_cur;
}

static void
log_hard_change(const struct state_event *ev, void *arg)
{
	(void)arg;
	if (ev->old_state != ev->new_state)
		log_notice("check %s: hard state %s -> %s: %s",
		    ev->check->name, state_name(ev->old_state),
		    state_name(ev->new_state), ev->summary);
}

static void
incident_presync(void)
{
	incident_commit();
}

/*
 * A reply waits until the incident log has what it tells on disk — and,
 * on a cluster's leader, in PostgreSQL too.
 */
static bool
reply_waits(void)
{
	return incident_uncommitted() || cnode_reply_waits();
}

static void
reply_release(void)
{
	if (!reply_waits())
		api_release_held();
}

/* The leader's log is in PostgreSQL: replies and pages may go. */
static void
mirror_synced(void)
{
	reply_release();
	notify_kick();
}

/* libevent's own warnings go through our log, not straight to stderr. */
static void
event_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

static void
reload(void)
{
	struct conf_errors errs = { NULL, 0 };
	struct config *nw, *old = daemon_g.cf;
	struct api *napi = NULL;

	notify("RELOADING=1");
	log_info("reloading %s", conf_file);
	if ((nw = conf_load(conf_file, &errs)) == NULL) {
		print_errors(&errs, stderr, true);
		log_warnx("reload refused: %u error%s in the configuration; "
		    "the running configuration is kept", errs.n,
		    errs.n == 1 ? "" : "s");
		conf_errors_free(&errs);
		notify("READY=1");
		return;
	}
	if (strcmp(api_conf(nw)->listen, api_conf(old)->listen) != 0) {
		/* bind the new address first so a bad one changes nothing */
		if ((napi = api_new(daemon_g.base, api_conf(nw)->listen)) ==
		    NULL) {
			log_warnx("reload: cannot listen on %s; the API stays "
			    "on %s", api_conf(nw)->listen,
			    api_conf(old)->listen);
			free(api_conf(nw)->listen);
			api_conf(nw)->listen = strdup(api_conf(old)->listen);
		} else {
			api_free(api);
			api = napi;
		}
	}
	if ((api_conf(nw)->public_listen == NULL) !=
	    (api_conf(old)->public_listen == NULL) ||
	    (api_conf(nw)->public_listen != NULL &&
	    strcmp(api_conf(nw)->public_listen,
	    api_conf(old)->public_listen) != 0))
		log_warnx("reload: api.public_listen changed; it is bound only "
		    "at start-up, restart tocsind to use it");
	if (old->plugin_dir && nw->plugin_dir &&
	    strcmp(old->plugin_dir, nw->plugin_dir) != 0)
		log_warnx("reload: plugin_dir changed; plugins are loaded only "
		    "at start-up, restart tocsind to use %s", nw->plugin_dir);
	sched_transfer(old, nw);
	sched_stop(old);
	daemon_g.cf = nw;
	daemon_g.cf_gen++;
	notify_reconfigure(nw);
	log_set_level(nw->log_level);
	/*
	 * libevent adds timer delays to the time it cached before this
	 * callback; after a long parse that would fire every re-armed timer
	 * early, all at once.
	 */
	event_base_update_cache_time(daemon_g.base);
	incident_reconfigure(nw);
	if (cnode_enabled(old) != cnode_enabled(nw))
		log_warnx("reload: cluster { } was %s; that takes a restart "
		    "of tocsind", cnode_enabled(nw) ? "added" : "removed");
	cnode_reconfigure(nw);
	metric_reconfigure(nw);
	pool_init(daemon_g.base, api_conf(nw)->graph_workers,
	    api_conf(nw)->graph_queue);
	sched_start(nw);
	capacity_reconfigure();
	conf_free(old);
	/*
	 * The parser's tree is freed by now, but glibc keeps the pages: with
	 * 100 000 checks that was 4.7 KiB of RSS per check, 0.7 KiB in use.
	 */
	malloc_trim(0);
	log_info("configuration reloaded: %u check%s, %u host%s",
	    nw->nchecks, nw->nchecks == 1 ? "" : "s", nw->nhosts,
	    nw->nhosts == 1 ? "" : "s");
	notify("READY=1");
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGHUP:
		reload();
		break;
	case SIGTERM:
	case SIGINT:
		log_info("stopping on signal %d", (int)sig);
		notify("STOPPING=1");
		event_base_loopbreak(daemon_g.base);
		break;
	}
}

#ifdef HAVE_LIBSYSTEMD
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	notify("WATCHDOG=1");
}
#endif

static void
watchdog_init(void)
{
#ifdef HAVE_LIBSYSTEMD
	uint64_t usec;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return;
	/* from a loop timer: a stuck loop stops the pings and is restarted */
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	watchdog_ev = event_new(daemon_g.base, -1, EV_PERSIST, on_watchdog,
	    NULL);
	if (watchdog_ev != NULL)
		event_add(watchdog_ev, &tv);
#endif
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct conf_errors errs = { NULL, 0 };
	struct event *sigs[4];
	static const int signums[4] = { SIGHUP, SIGTERM, SIGINT, SIGPIPE };
	bool foreground = false, check_only = false;
	char *plugin_dir;
	int ch, i, rc = 0;
	unsigned nroutes;

	/*
	 * Nothing tocsind writes is for every local user: incident titles
	 * and summaries, RRD files, the API token (issue 14: an existing
	 * 0755 state_dir showed them to anyone).  Group tocsin may read.
	 * Exec'd plugins inherit it.
	 */
	umask(027);
	conf_file = TOCSIN_CONF_FILE;
	while ((ch = getopt_long(argc, argv, "c:ftVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_file = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'V':
			printf("tocsind %s (plugin ABI %d)\n", PACKAGE_VERSION,
			    TOCSIN_ABI_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init(foreground || check_only, LOG_INFO);
	daemon_g.version = PACKAGE_VERSION;

	if (api_register_config() != 0 || incident_register_config() != 0 ||
	    maint_register_config() != 0 || capacity_register_config() != 0 ||
	    cluster_register_config() != 0)
		fatalx("cannot register the config sections");
	if (forecast_register() != 0 || selfcheck_register() != 0 ||
	    aberration_register() != 0 || slo_register() != 0)
		fatalx("cannot register the built-in check types");
	if (notify_register_config() != 0)
		fatalx("cannot register the notifier's config sections");
	plugin_dir = conf_plugin_dir(conf_file);
	plugins_load(plugin_dir, &errs);
	free(plugin_dir);
	if (errs.n == 0)
		daemon_g.cf = conf_load(conf_file, &errs);
	if (check_only) {
		if (errs.n > 0) {
			print_errors(&errs, stdout, false);
			conf_errors_free(&errs);
			conf_free(daemon_g.cf);
			plugins_unload();
			return 1;
		}
		for (i = 0; (unsigned)i < daemon_g.cf->nrules; i++) {
			const struct conf_rule *r = &daemon_g.cf->rules[i];

			printf("apply \"%s\" (%s:%d): %u %s check%s\n", r->name,
			    r->file, r->line, r->nchecks, r->type, r->nchecks ==
			    1 ? "" : "s");
		}
		printf("config OK\n");
		conf_free(daemon_g.cf);
		plugins_unload();
		return 0;
	}
	if (errs.n > 0) {
		print_errors(&errs, stderr, false);
		fprintf(stderr, "tocsind: %u error%s in the configuration, "
		    "not starting\n", errs.n, errs.n == 1 ? "" : "s");
		conf_errors_free(&errs);
		plugins_unload();
		return 1;
	}
	malloc_trim(0);		/* give back the parser's pages (see reload) */
	if (mkdirs(daemon_g.cf->state_dir, 0750) != 0)
		fatal("state_dir %s", daemon_g.cf->state_dir);
	state_dir_private(daemon_g.cf->state_dir);
	/* root → daemon { user } before any state file is opened */
	if (priv_drop(daemon_g.cf, foreground) != 0) {
		conf_free(daemon_g.cf);
		plugins_unload();
		return 1;
	}
	if (!foreground && daemon(0, 0) != 0)
		fatal("daemon");
	log_init(foreground, daemon_g.cf->log_level);
	daemon_g.started = time(NULL);
	nofile_raise();

	event_set_log_callback(event_log);
	if ((daemon_g.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	for (i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(daemon_g.base, signums[i], on_signal,
		    NULL);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) != 0)
			fatalx("cannot watch signal %d", signums[i]);
	}
	if (child_init(daemon_g.base) != 0 || sched_init(daemon_g.base) != 0)
		fatalx("cannot start the scheduler");
	bus_subscribe(log_hard_change, NULL);
	/* the API's own routes first, then each module's as it starts */
	if (api_checks_init() != 0 || api_metrics_init() != 0 ||
	    api_dashboard_init() != 0 || api_push_init() != 0)
		fatalx("cannot add the API's routes");
	/* a cluster follower forwards the incident log's and paging's routes */
	api_forward_init(daemon_g.base);
	nroutes = api_route_count();
	if (incident_init(daemon_g.base, daemon_g.cf) != 0) {
		rc = 1;
		goto out;
	}
	api_routes_mark_leader(nroutes);
	if (metric_init(daemon_g.base, daemon_g.cf) != 0 ||
	    pool_init(daemon_g.base, api_conf(daemon_g.cf)->graph_workers,
	    api_conf(daemon_g.cf)->graph_queue) != 0 ||
	    metric_graph_init() != 0 || metric_series_init() != 0 ||
	    forecast_api_init() != 0 ||
	    capacity_init(daemon_g.base) != 0) {
		log_errx("cannot start the metric store, not starting");
		rc = 1;
		goto out;
	}
	metric_graph_set_marks(change_graph_marks);	/* changes on graphs */
	nroutes = api_route_count();
	if (notify_init(daemon_g.base, daemon_g.cf) != 0) {
		rc = 1;
		goto out;
	}
	api_routes_mark_leader(nroutes);
	/* what a client is shown is committed first (nothing lost on -9) */
	api_set_presync(incident_presync);
	api_set_commit_gate(reply_waits);
	incident_on_commit(reply_release);
	smirror_on_synced(mirror_synced);
	cnode_on_release(reply_release);
	api_set_sync(incident_commit);
	if ((api = api_new(daemon_g.base, api_conf(daemon_g.cf)->listen)) ==
	    NULL) {
		log_errx("cannot serve the API on %s, not starting",
		    api_conf(daemon_g.cf)->listen);
		rc = 1;
		goto out;
	}
	if (api_conf(daemon_g.cf)->public_listen != NULL &&
	    (papi = api_new_public(daemon_g.base,
	    api_conf(daemon_g.cf)->public_listen)) == NULL) {
		log_errx("cannot serve action links on %s, not starting",
		    api_conf(daemon_g.cf)->public_listen);
		rc = 1;
		goto out;
	}
	if (cnode_start(daemon_g.base, daemon_g.cf,
	    api_conf(daemon_g.cf)->listen) != 0) {
		rc = 1;
		goto out;
	}
	sched_start(daemon_g.cf);
	watchdog_init();
	log_info("tocsind %s started: %u check%s, %u host%s, API on %s",
	    PACKAGE_VERSION, daemon_g.cf->nchecks,
	    daemon_g.cf->nchecks == 1 ? "" : "s", daemon_g.cf->nhosts,
	    daemon_g.cf->nhosts == 1 ? "" : "s", api_conf(daemon_g.cf)->listen);
	notify("READY=1");

	event_base_dispatch(daemon_g.base);

out:
	sched_stop(daemon_g.cf);
	cnode_stop();
	capacity_shutdown();	/* a report still computing is dropped */
	pool_shutdown();	/* its jobs wait for the metric writer */
	metric_shutdown();
	notify_shutdown();
	incident_shutdown();
	maint_shutdown();
	api_release_held();	/* the log is closed: nothing left to wait for */
	api_free(api);
	api_free(papi);
	if (watchdog_ev != NULL)
		event_free(watchdog_ev);
	for (i = 0; i < 4; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	sched_shutdown();
	child_shutdown();
	bus_unsubscribe_all();
	api_routes_clear();
	api_metrics_shutdown();
	api_push_shutdown();
	conf_free(daemon_g.cf);
	plugins_unload();
	event_base_free(daemon_g.base);
	log_info("stopped");
	return rc;
}
