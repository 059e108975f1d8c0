/*
 * conf_daemon.c — the daemon { } section: where state lives, where
 * plugins come from, logging, the account to run as, per-type caps on
 * runs in flight, rrdcached and the metric store's write-back cache.  The core's own section, always registered
 * first and loaded before the checks (conf_int.h); its values are the
 * struct config fields the rest of the daemon reads.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "core/conf_int.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/util.h"

static const struct tocsin_option daemon_options[] = {
	{ "state_dir", TOCSIN_OPT_STR, TOCSIN_STATE_DIR, 0, NULL },
	{ "plugin_dir", TOCSIN_OPT_STR, TOCSIN_PLUGIN_DIR, 0, NULL },
	{ "log_level", TOCSIN_OPT_STR, "info", 0, NULL },
	{ "user", TOCSIN_OPT_STR, NULL, 0, NULL },
	{ "allow_root", TOCSIN_OPT_BOOL, "false", 0, NULL },
	{ "concurrency", TOCSIN_OPT_STR_LIST, NULL, 0, NULL },
	{ "rrdcached", TOCSIN_OPT_STR, NULL, 0, NULL },
	{ "rrd_flush_delay", TOCSIN_OPT_DURATION, "5m", 0, NULL },
	{ "rrd_cache_max", TOCSIN_OPT_INT, "1000000", 0, NULL },
	{ "rrd_create_rate", TOCSIN_OPT_INT, "50", 0, NULL },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

/* daemon { concurrency = { "TYPE=N", … } } */
static void
daemon_concurrency(struct config *cf, struct tocsin_conf *sec)
{
	unsigned i, n = tocsin_conf_list_size(sec, "concurrency");

	if (n == 0 || (cf->concurrency = calloc(n, sizeof(char *))) == NULL)
		return;
	for (i = 0; i < n; i++)
		cf->concurrency[i] = xstrdup(tocsin_conf_list_str(sec,
		    "concurrency", i));
	cf->nconcurrency = n;
	for (i = 0; i < cf->nconcurrency; i++) {
		char *eq = strchr(cf->concurrency[i], '='), *end;
		long v;

		if (eq == NULL) {
			tocsin_conf_error(sec, "concurrency", "\"%s\" is not "
			    "TYPE=N", cf->concurrency[i]);
			continue;
		}
		*eq = '\0';
		v = strtol(eq + 1, &end, 10);
		if (ctype_find(cf->concurrency[i]) == NULL)
			tocsin_conf_error(sec, "concurrency", "no check type "
			    "\"%s\"", cf->concurrency[i]);
		if (end == eq + 1 || *end != '\0' || v < 0 || v > 1000000)
			tocsin_conf_error(sec, "concurrency", "\"%s\" is not a "
			    "number of runs", eq + 1);
		*eq = '=';
	}
}

static int
daemon_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	const char *lv = tocsin_conf_str(sec, "log_level");

	(void)state;	/* the values are struct config's own fields */
	cf->state_dir = conf_key_path(sec, "state_dir");
	cf->plugin_dir = conf_key_path(sec, "plugin_dir");
	cf->user = xstrdup(tocsin_conf_str(sec, "user"));
	cf->allow_root = tocsin_conf_bool(sec, "allow_root");
	/* at -t and reload time, not only when root switches to it */
	if (cf->user != NULL && getpwnam(cf->user) == NULL)
		tocsin_conf_error(sec, "user", "no such user \"%s\" (create "
		    "it: useradd --system --home-dir %s --no-create-home "
		    "--shell /usr/sbin/nologin %s)", cf->user,
		    cf->state_dir != NULL ? cf->state_dir : "/var/lib/tocsin",
		    cf->user);
	cf->rrdcached = xstrdup(tocsin_conf_str(sec, "rrdcached"));
	if (cf->rrdcached != NULL && cf->rrdcached[0] == '\0')
		tocsin_conf_error(sec, "rrdcached", "must be \"unix:/path\" or "
		    "\"host:port\"");
	cf->rrd_flush_delay_ms = tocsin_conf_duration_ms(sec,
	    "rrd_flush_delay");
	if (cf->rrd_flush_delay_ms < 0 ||
	    cf->rrd_flush_delay_ms > 24 * 3600 * 1000)
		tocsin_conf_error(sec, "rrd_flush_delay", "must be between 0 "
		    "(write at once) and 1d");
	cf->rrd_cache_max = tocsin_conf_int(sec, "rrd_cache_max");
	if (cf->rrd_cache_max < 1000 || cf->rrd_cache_max > 100000000)
		tocsin_conf_error(sec, "rrd_cache_max", "%ld is not between "
		    "1000 and 100000000 updates", cf->rrd_cache_max);
	cf->rrd_create_rate = tocsin_conf_int(sec, "rrd_create_rate");
	if (cf->rrd_create_rate < 1 || cf->rrd_create_rate > 100000)
		tocsin_conf_error(sec, "rrd_create_rate", "%ld is not between "
		    "1 and 100000 files a second", cf->rrd_create_rate);
	if ((cf->log_level = log_level_from_name(lv)) < 0)
		tocsin_conf_error(sec, "log_level", "\"%s\" is not one of "
		    "error, warning, notice, info, debug", lv);
	daemon_concurrency(cf, sec);
	return 0;
}

const struct conf_section conf_daemon_section = {
	"daemon", false, daemon_options, NULL, daemon_load, NULL, NULL,
};
