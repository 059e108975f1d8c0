/*
 * plugins/heartbeat/heartbeat.c — the "heartbeat" check type: a cron job
 * or backup reports in to the check's push URL (api_push.c; the URL from
 * GET /api/v1/checks/NAME/push or `tocsinctl push-url NAME`), and silence
 * is the failure.
 *
 * A push is applied by the core at once as a passive result (so a
 * heartbeat after silence recovers the check at once).  This plugin's own
 * runs only judge silence: with no push within expect_every + grace the
 * check is CRITICAL "no heartbeat since TIME (expected every 1d)";
 * otherwise a run repeats what the last push said.  No I/O at all.
 *
 * The core keeps the last push of each check over reloads and restarts
 * (state_dir/push.json); a check that never had one waits from the
 * start-up of tocsind.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tocsin/plugin.h>

struct heartbeat {
	int64_t	every_ms;
	int64_t	grace_ms;
};

static time_t heartbeat_loaded;		/* the wait starts here */

static const struct tocsin_option heartbeat_options[] = {
	{ "expect_every", TOCSIN_OPT_DURATION, NULL, TOCSIN_OPT_REQUIRED,
	  "how often the job reports in" },
	{ "grace", TOCSIN_OPT_DURATION, "5m", 0,
	  "how late a report may be before the check is CRITICAL" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static int
heartbeat_configure(struct tocsin_check *chk, struct tocsin_conf *cf,
    void **priv)
{
	struct heartbeat *h;
	int64_t every = tocsin_conf_duration_ms(cf, "expect_every");
	int64_t grace = tocsin_conf_duration_ms(cf, "grace");

	(void)chk;
	if (every < 1000) {
		tocsin_conf_error(cf, "expect_every", "must be at least 1s");
		return -1;
	}
	if (grace < 0) {
		tocsin_conf_error(cf, "grace", "must not be negative");
		return -1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->every_ms = every;
	h->grace_ms = grace;
	*priv = h;
	return 0;
}

/* "1d", "12h", "90s", "1h30m": the config's way of writing it. */
static void
fmt_every(char *buf, size_t len, int64_t ms)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} u[] = { { 604800000, "w" }, { 86400000, "d" }, { 3600000, "h" },
	    { 60000, "m" }, { 1000, "s" }, { 1, "ms" } };
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(u) / sizeof(u[0]) && off + 12 < len; i++)
		if (ms >= u[i].ms) {
			off += (size_t)snprintf(buf + off, len - off, "%lld%s",
			    (long long)(ms / u[i].ms), u[i].unit);
			ms %= u[i].ms;
		}
	if (buf[0] == '\0')
		snprintf(buf, len, "0s");
}

static void
heartbeat_start(struct tocsin_run *run, void *priv)
{
	const struct heartbeat *h = priv;
	struct tocsin_push p;
	char sum[512], when[32], every[32];
	time_t now = time(NULL), last;
	int pushed;
	struct tm tm;

	pushed = tocsin_check_push(tocsin_run_check(run), &p) == 0;
	last = pushed ? p.when : heartbeat_loaded;
	fmt_every(every, sizeof(every), h->every_ms);
	localtime_r(&last, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if ((double)(now - last) * 1000 >
	    (double)(h->every_ms + h->grace_ms)) {
		snprintf(sum, sizeof(sum), "no heartbeat since %s%s (expected "
		    "every %s)", when, pushed ? "" : ", when tocsind started",
		    every);
		tocsin_run_finish(run, TOCSIN_CRITICAL, sum);
		return;
	}
	if (!pushed) {
		snprintf(sum, sizeof(sum), "waiting for the first heartbeat "
		    "(expected every %s)", every);
		tocsin_run_finish(run, TOCSIN_OK, sum);
		return;
	}
	tocsin_run_finish(run, p.state, p.summary != NULL ? p.summary :
	    "heartbeat received");
}

static void
heartbeat_free(void *priv)
{
	free(priv);
}

static const struct tocsin_check_type heartbeat_type = {
	.name = "heartbeat",
	.options = heartbeat_options,
	.configure = heartbeat_configure,
	.start = heartbeat_start,
	.free = heartbeat_free,
};

static int
heartbeat_init(void)
{
	heartbeat_loaded = time(NULL);
	return tocsin_register_type(&heartbeat_type);
}

TOCSIN_PLUGIN("heartbeat", heartbeat_init, NULL);
