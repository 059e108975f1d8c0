/*
 * selfcheck.c — tocsind's own resource shortages, and the `self` check.
 *
 * A run that fails because tocsind is out of file descriptors, memory or
 * processes says nothing about the service it watches, so the scheduler
 * records it as a soft UNKNOWN that never pages (sched.c,
 * tocsin_run_fail_local()) and counts it in shortage.c.  The shortage itself is
 * worth an incident, about tocsind: a check of the built-in type `self`
 * (self "tocsind" { max_attempts = 1 }) is CRITICAL while runs were lost
 * within its window (5 minutes) and OK otherwise, and goes through the
 * state machine and the incident log like any other check.  Without one, the log line
 * below is the only trace.
 *
 * Never blocks: a run counts the entries of /proc/self/fd (a directory
 * listing in memory) and reads two counters.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <tocsin/plugin.h>

#include "core/log.h"
#include "core/selfcheck.h"
#include "core/shortage.h"
#include "core/util.h"

/* ---- the `self` check type ----------------------------------------- */

struct self_conf {
	unsigned long seen;		/* shortage_total() at the last run */
	int64_t window_ms;		/* CRITICAL this long after a loss */
	int64_t last_loss_ms;		/* monotonic, 0: none seen */
	unsigned long lost;		/* in the current window */
};

static const struct tocsin_option self_options[] = {
	{ "window", TOCSIN_OPT_DURATION, "5m", 0,
	  "stays CRITICAL this long after the last lost run" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

/* Open descriptors, or -1 when even /proc/self/fd cannot be opened. */
static long
self_fds(void)
{
	struct dirent *de;
	DIR *d;
	long n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* not the one opendir used */
}

static int
self_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	struct self_conf *sc;

	(void)chk;
	if ((sc = calloc(1, sizeof(*sc))) == NULL) {
		tocsin_conf_error(cf, NULL, "out of memory");
		return -1;
	}
	sc->seen = shortage_total();	/* a reload does not report old ones */
	sc->window_ms = tocsin_conf_duration_ms(cf, "window");
	*priv = sc;
	return 0;
}

static void
self_start(struct tocsin_run *run, void *priv)
{
	struct self_conf *sc = priv;
	struct tocsin_metric m = { NULL, 0, NULL, NULL, NULL, NAN, NAN, 0 };
	struct rlimit rl;
	unsigned long lost = shortage_total() - sc->seen;
	long fds = self_fds();
	int64_t now = mono_ms();
	char buf[512];

	if (lost > 0) {
		if (sc->last_loss_ms == 0 ||
		    now - sc->last_loss_ms > sc->window_ms)
			sc->lost = 0;
		sc->lost += lost;
		sc->last_loss_ms = now;
	} else if (sc->last_loss_ms != 0 &&
	    now - sc->last_loss_ms <= sc->window_ms)
		lost = sc->lost;	/* still within the window */

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = RLIM_INFINITY;
	m.name = "lost_runs";
	m.value = (double)lost;
	m.min = 0;
	tocsin_run_metric(run, &m);
	if (fds >= 0) {
		m.name = "fds";
		m.value = (double)fds;
		m.max = rl.rlim_cur == RLIM_INFINITY ? NAN :
		    (double)rl.rlim_cur;
		tocsin_run_metric(run, &m);
	}
	sc->seen = shortage_total();
	if (lost > 0) {
		char last_check[128];
		int last_err = shortage_last(last_check, sizeof(last_check));

		snprintf(buf, sizeof(buf), "tocsind is out of %s (%s): %lu "
		    "check run%s or API connection%s lost in the last %lld s, "
		    "the latest %s", shortage_resource(last_err),
		    strerror(last_err), sc->lost, sc->lost == 1 ? "" :
		    "s", sc->lost == 1 ? "" : "s",
		    (long long)(sc->window_ms / 1000), last_check);
		tocsin_run_finish(run, TOCSIN_CRITICAL, buf);
		return;
	}
	if (fds < 0) {
		snprintf(buf, sizeof(buf), "tocsind cannot open /proc/self/fd: "
		    "%s", strerror(errno));
		tocsin_run_finish(run, errno == EMFILE || errno == ENFILE ?
		    TOCSIN_CRITICAL : TOCSIN_UNKNOWN, buf);
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(buf, sizeof(buf), "every check ran; %ld file "
		    "descriptors open", fds);
	else
		snprintf(buf, sizeof(buf), "every check ran; %ld of %llu file "
		    "descriptors open", fds, (unsigned long long)rl.rlim_cur);
	tocsin_run_finish(run, TOCSIN_OK, buf);
}

static void
self_free(void *priv)
{
	free(priv);
}

static const struct tocsin_check_type self_type = {
	.name = "self",
	.options = self_options,
	.configure = self_configure,
	.start = self_start,
	.free = self_free,
};

int
selfcheck_register(void)
{
	return tocsin_register_type(&self_type);
}
