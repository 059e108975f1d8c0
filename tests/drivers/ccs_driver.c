/*
 * ccs_driver.c — drives cluster_checks.c against a real PostgreSQL for
 * tests/integration/test_cluster_checks.py:
 *
 *   ccs_driver save CONNINFO NODE N RUN_MS
 *     check0..check{N-1}, each taken through its own sequence of results
 *     by the real state machine (state_apply: 3 attempts, flap detection
 *     on), saved with last_run_ms RUN_MS; prints one JSON line a check
 *     (its status, and "next": what one more CRITICAL makes of it), then
 *     {"saved": OK, "failed": F}.
 *   ccs_driver load CONNINFO N
 *     loads them and prints the same lines from what it read.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/state.h"
#include "incident/cluster_checks.h"
#include "incident/pg_conn.h"

static struct event_base *base;
static struct pgc *pg;
static long n, saved, failed;

static void
print(const char *name, const struct check_status *st, const char *summary,
    long long run, const char *node)
{
	char hist[FLAP_HISTORY + 1];
	struct check_status next = *st;
	struct flap_conf fc = { true, 25, 50 };
	struct state_change ch;

	ccs_history_text(st, hist);
	state_apply(&next, STATE_CRITICAL, false, 3, &fc, 1800000000, &ch);
	printf("{\"name\":\"%s\",\"state\":%d,\"hard\":%d,\"hard_state\":%d,"
	    "\"attempt\":%d,\"flapping\":%d,\"flap_percent\":%.6f,"
	    "\"last_change\":%lld,\"last_hard_change\":%lld,\"history\":"
	    "\"%s\",\"summary\":\"%s\",\"last_run_ms\":%lld,\"node\":\"%s\","
	    "\"next\":[%d,%d,%d,%d,%.6f,%d]}\n", name, (int)st->state,
	    st->hard, (int)st->hard_state, st->attempt, st->flapping,
	    st->flap_percent, (long long)st->last_change,
	    (long long)st->last_hard_change, hist, summary ? summary : "",
	    run, node ? node : "", (int)next.state, next.hard, next.attempt,
	    ch.hard_changed, next.flap_percent, next.flapping);
}

static void
saved_cb(void *arg, bool ok)
{
	(void)arg;
	if (ok)
		saved++;
	else
		failed++;
	if (saved + failed == n)
		event_base_loopexit(base, NULL);
}

static void
loaded(void *arg, const struct ccs_state *v, long k)
{
	long i;

	(void)arg;
	for (i = 0; i < k; i++)
		print(v[i].name, &v[i].st, v[i].summary, v[i].last_run_ms,
		    v[i].node);
	printf("{\"loaded\":%ld}\n", k);
	event_base_loopexit(base, NULL);
}

int
main(int argc, char *argv[])
{
	static const enum check_state res[4] = { STATE_OK, STATE_CRITICAL,
	    STATE_WARNING, STATE_UNKNOWN };
	struct timeval wait = { 60, 0 };
	struct flap_conf fc = { true, 25, 50 };
	char (*names)[32];
	const char **np;
	long i, k;

	log_init(true, LOG_INFO);
	base = event_base_new();
	if (argc == 6 && strcmp(argv[1], "save") == 0)
		n = atol(argv[4]);
	else if (argc == 4 && strcmp(argv[1], "load") == 0)
		n = atol(argv[3]);
	else {
		fprintf(stderr, "usage: ccs_driver save CONNINFO NODE N RUN_MS "
		    "| load CONNINFO N\n");
		return 2;
	}
	names = calloc((size_t)n + 1, sizeof(*names));
	np = calloc((size_t)n + 1, sizeof(*np));
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "check%ld", i);
		np[i] = names[i];
	}
	pg = pgc_new(base, argv[2], NULL, NULL);
	if (strcmp(argv[1], "save") == 0) {
		for (i = 0; i < n; i++) {
			struct ccs_state s;
			char summary[48];

			memset(&s, 0, sizeof(s));
			state_init(&s.st);
			for (k = 0; k < i % 29; k++)
				state_apply(&s.st, res[(i * 7 + k * 3 +
				    (k > 10 ? k * k : 0)) % 4], false, 3, &fc,
				    1700000000 + k, NULL);
			snprintf(summary, sizeof(summary), "result %ld of "
			    "'%s'", i % 29, names[i]);
			s.name = names[i];
			s.type = "dummy";
			s.summary = summary;
			s.last_run_ms = atoll(argv[5]);
			print(names[i], &s.st, summary, s.last_run_ms,
			    argv[3]);
			ccs_save(pg, argv[3], &s, saved_cb, NULL);
		}
		event_base_loopexit(base, &wait);
		event_base_dispatch(base);
		printf("{\"saved\":%ld,\"failed\":%ld}\n", saved, failed);
	} else {
		ccs_load(pg, np, (size_t)n, loaded, NULL);
		event_base_loopexit(base, &wait);
		event_base_dispatch(base);
	}
	pgc_free(pg);
	free(names);
	free(np);
	event_base_free(base);
	return 0;
}
