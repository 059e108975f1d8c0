/*
 * pgc_driver.c — drives pg_conn.c against a real PostgreSQL for
 * tests/integration/test_pg.py: `pgc_driver CONNINFO N [WAIT_S]`.
 *
 * Waits (up to WAIT_S, default 60) for the session to come up — through
 * outages, with its retries — then writes N check_state rows as one
 * pipelined batch inside one transaction (BEGIN, N INSERTs, COMMIT), and
 * prints one JSON line: {"ok":N,"failed":F,"committed":true|false,
 * "max_lag_ms":L,"ups":U}.  max_lag_ms is the worst lateness of a 10 ms
 * timer over the whole run: how long the loop was ever kept from
 * running.  Exit status 0 when committed, 1 otherwise.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <syslog.h>

#include <event2/event.h>

#include "core/log.h"
#include "incident/pg_conn.h"

static struct event_base *base;
static struct pgc *pgc;
static long n_rows, n_ok, n_failed;
static bool committed, done, sent;
static int ups;
static int64_t last_tick, max_lag;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t t = now_ms();

	(void)fd;
	(void)what;
	(void)arg;
	if (last_tick != 0 && t - last_tick - 10 > max_lag)
		max_lag = t - last_tick - 10;
	last_tick = t;
}

static void
row_done(void *arg, const PGresult *r)
{
	(void)arg;
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK)
		n_ok++;
	else
		n_failed++;
}

static void
commit_done(void *arg, const PGresult *r)
{
	(void)arg;
	committed = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
	done = true;
	event_base_loopexit(base, NULL);
}

static void
on_up(void *arg, bool up)
{
	char name[32], at[32];
	const char *p[2] = { name, at };
	long i;

	(void)arg;
	if (!up || sent)
		return;
	ups++;
	sent = true;
	pgc_query(pgc, "BEGIN", 0, NULL, row_done, NULL);
	for (i = 0; i < n_rows; i++) {
		snprintf(name, sizeof(name), "check%06ld", i);
		snprintf(at, sizeof(at), "%ld", (long)time(NULL));
		pgc_query(pgc, "INSERT INTO check_state (name, type, state, "
		    "hard, hard_state, attempt, flapping, updated_at) VALUES "
		    "($1, 'dummy', 0, 1, 0, 1, 0, $2)", 2, p, row_done, NULL);
	}
	pgc_query(pgc, "COMMIT", 0, NULL, commit_done, NULL);
}

int
main(int argc, char *argv[])
{
	struct timeval ten = { 0, 10000 }, wait = { 60, 0 };
	struct event *t;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: pgc_driver CONNINFO N [WAIT_S]\n");
		return 2;
	}
	n_rows = atol(argv[2]);
	if (argc == 4)
		wait.tv_sec = atol(argv[3]);
	log_init(true, LOG_INFO);
	base = event_base_new();
	t = event_new(base, -1, EV_PERSIST, tick, NULL);
	event_add(t, &ten);
	pgc = pgc_new(base, argv[1], on_up, NULL);
	event_base_loopexit(base, &wait);
	event_base_dispatch(base);
	printf("{\"ok\":%ld,\"failed\":%ld,\"committed\":%s,"
	    "\"max_lag_ms\":%lld,\"ups\":%d,\"done\":%s}\n", n_ok, n_failed,
	    committed ? "true" : "false", (long long)max_lag, ups,
	    done ? "true" : "false");
	pgc_free(pgc);
	event_free(t);
	event_base_free(base);
	return committed ? 0 : 1;
}
