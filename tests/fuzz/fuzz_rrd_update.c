/*
 * fuzz_rrd_update.c — libFuzzer harness for the whole way a plugin's
 * output takes to an RRD file: the bytes are what an exec plugin printed
 * (up to four runs of one check, split at NUL bytes), each run ending as
 * the exec plugin ends it (the core's output and perfdata parsers,
 * tocsin_run_perfdata, tocsin_run_finish), then the scheduler's result
 * path, the bus, the metric store's queue (metric_store), and the text of
 * every rrd_update argument the writer thread would pass to librrd
 * (writer_update_text), for the file's data sources in the order the
 * store gives them and in another order with a DS the results lack.
 *
 * What it checks, beyond no crash, leak or sanitizer report: each text is
 * "T:v:…" with one field per DS of the file; a field is U or a number;
 * a counter's field is an integer of at most 20 digits (a 64-bit
 * counter), and U where the value is beyond one; a gauge's field reads
 * back as exactly the value queued; no text is longer than 20 + 25 bytes
 * per DS (issue 14: "%.0f" of 1e300c once wrote past a buffer of 26 bytes
 * per DS).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include <tocsin/plugin.h>

#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/perfdata.h"
#include "core/sched.h"
#include "metric/metric.h"
#include "metric/metric_int.h"

#define RUNS_MAX	4

static char state_dir[] = "/tmp/fuzz_rrd_update.XXXXXX";
static struct config cfg;
static struct ctype ct;
static struct check chk;
static const char *out_text;	/* this run's plugin output */
static size_t out_len;

/* The exec plugin's ending of a run, on the core's parsers. */
static void
fake_start(struct tocsin_run *run, void *priv)
{
	struct plugin_output po;

	(void)priv;
	if (plugin_output_parse(out_text, out_len, &po) != 0) {
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "out of memory");
		return;
	}
	tocsin_run_perfdata(run, po.perfdata);
	tocsin_run_long_output(run, po.long_output);
	tocsin_run_finish(run, TOCSIN_OK, po.summary);
	plugin_output_free(&po);
}

static const struct tocsin_check_type fake_type = {
	.name = "fuzz", .start = fake_start,
};

static void
cleanup(void)
{
	char cmd[128];

	metric_shutdown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", state_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", state_dir);
}

static void
setup(void)
{
	log_init(true, LOG_CRIT);	/* "absurd counter" lines are noise */
	if (mkdtemp(state_dir) == NULL)
		abort();
	cfg.state_dir = state_dir;
	if ((daemon_g.base = event_base_new()) == NULL ||
	    sched_init(daemon_g.base) != 0 || metric_init(NULL, &cfg) != 0)
		abort();
	atexit(cleanup);
	ct.def = &fake_type;
	TAILQ_INIT(&ct.waiting);
	chk.name = "fuzz";
	chk.type = &ct;
	chk.interval_ms = 60000;
	chk.retry_ms = 60000;
	chk.timeout_ms = 10000;
	chk.max_attempts = 1;
}

/* Is s[0..n) an integer of 1 to 20 digits, with an optional '-'? */
static bool
is_counter_field(const char *s, size_t n)
{
	size_t i = s[0] == '-' ? 1 : 0;

	if (n - i < 1 || n - i > 20)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The text for a file whose DS are names[0..nfile): check every field. */
static void
check_text(char (*names)[METRIC_DS_MAX + 1], unsigned nfile,
    const struct mjob *j, const struct upd *u)
{
	char *text = writer_update_text(names, nfile, j, u), *p, *end;
	unsigned f, k;

	if (text == NULL)
		return;		/* out of memory: the writer drops it */
	if (strlen(text) > 20 + 25 * (size_t)nfile)
		abort();
	if (strtoll(text, &end, 10) != (long long)u->t)
		abort();
	p = end;
	for (f = 0; f < nfile; f++) {
		double v = NAN;
		bool counter = false;
		size_t n;

		if (*p++ != ':')
			abort();
		n = strcspn(p, ":");
		for (k = 0; k < j->nds && k < u->n; k++)
			if (strcmp(j->ds[k].name, names[f]) == 0) {
				v = u->v[k];
				counter = j->ds[k].counter;
				break;
			}
		if (n == 1 && *p == 'U') {
			/* unknown: no value, or a counter beyond 64 bits */
			if (!isnan(v) && !(counter && fabs(v) >= 0x1p64))
				abort();
		} else if (counter) {
			if (!is_counter_field(p, n) || fabs(v) >= 0x1p64)
				abort();
		} else {
			/* %.17g reads back as the double it was */
			if (strtod(p, &end) != v || end != p + n)
				abort();
		}
		p += n;
	}
	if (*p != '\0')
		abort();
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	const char *p = (const char *)data, *end = p + size, *nul;
	char (*names)[METRIC_DS_MAX + 1];
	struct mjob *j;
	unsigned i, k, runs = 0;

	if (!ready) {
		setup();
		ready = true;
	}
	/* up to RUNS_MAX runs in one second: the newest values win */
	while (p <= end && runs++ < RUNS_MAX) {
		nul = memchr(p, '\0', (size_t)(end - p));
		out_text = p;
		out_len = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);
		sched_run_now(&chk);
		if (nul == NULL)
			break;
		p = nul + 1;
	}
	if ((j = metric_take_job("fuzz")) == NULL)
		return 0;
	/* the file as the store creates it: j's DS in order */
	names = calloc(j->nds + 1, sizeof(*names));
	if (names != NULL) {
		for (k = 0; k < j->nds; k++)
			memcpy(names[k], j->ds[k].name, sizeof(names[k]));
		for (i = 0; i < j->nq; i++)
			check_text(names, j->nds, j, &j->q[i]);
		/* a file written before: reversed, one DS no result has */
		for (k = 0; k < j->nds; k++)
			memcpy(names[k], j->ds[j->nds - 1 - k].name,
			    sizeof(names[k]));
		snprintf(names[j->nds], sizeof(names[j->nds]), "gone!");
		for (i = 0; i < j->nq; i++)
			check_text(names, j->nds + 1, j, &j->q[i]);
		free(names);
	}
	mjob_free(j);
	result_clear(&chk.last);
	memset(&chk.st, 0, sizeof(chk.st));
	return 0;
}
