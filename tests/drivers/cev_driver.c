/*
 * cev_driver.c — drives cluster_events.c against a real PostgreSQL for
 * tests/integration/test_cluster_events.py:
 *
 *   cev_driver produce CONNINFO NODE SPOOL SPOOL_MAX N RATE [WAIT_S]
 *     adds N events (check "cK", K = i mod 10, body {"i":I}) at RATE a
 *     second and prints a JSON line every 200 ms: {"added", "committed",
 *     "spooled", "dropped", "in_spool", "queued", "durable",
 *     "order_ok"}; durable counts on_durable calls, order_ok says they
 *     came in the order the events were added.  Exits 0 once all N are
 *     added and none is queued or spooled (all committed), 1 after
 *     WAIT_S (default 120).
 *   cev_driver consume CONNINFO BATCH
 *     consumes BATCH events a transaction, inserting each into cev_seen
 *     (seq, node, node_seq, body) in that transaction, one transaction
 *     after the other; prints {"consumed": N, "txns": T, "failed": F}
 *     after each.  Until SIGTERM.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/time.h>

#include <event2/event.h>

#include "core/log.h"
#include "incident/cluster_events.h"
#include "incident/pg_conn.h"

static struct event_base *base;
static struct pgc *pg;
static struct cev *cv;
static long total, added, rate, batch;
static uint64_t durable;
static int64_t last_durable = -1;
static bool order_ok = true, consuming;
static long consumed, txns, failed;
static struct event *next_ev;

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
on_durable(void *arg, int64_t seq)
{
	(void)arg;
	if (seq <= last_durable)
		order_ok = false;
	last_durable = seq;
	durable++;
}

static void
status(evutil_socket_t fd, short what, void *arg)
{
	struct cev_stats st;

	(void)fd;
	(void)what;
	(void)arg;
	cev_stats(cv, &st);
	printf("{\"added\":%llu,\"committed\":%llu,\"spooled\":%llu,"
	    "\"dropped\":%llu,\"in_spool\":%llu,\"queued\":%llu,"
	    "\"durable\":%llu,\"order_ok\":%s}\n",
	    (unsigned long long)st.added, (unsigned long long)st.committed,
	    (unsigned long long)st.spooled, (unsigned long long)st.dropped,
	    (unsigned long long)st.in_spool, (unsigned long long)st.queued,
	    (unsigned long long)durable, order_ok ? "true" : "false");
	fflush(stdout);
	if (added == total && st.queued == 0 && st.in_spool == 0)
		event_base_loopexit(base, NULL);
}

/* Every 10 ms: the events due by now at RATE a second. */
static void
produce(evutil_socket_t fd, short what, void *arg)
{
	static int64_t t0;
	char body[64], check[16];
	int64_t due;

	(void)fd;
	(void)what;
	(void)arg;
	if (t0 == 0)
		t0 = now_ms();
	due = (now_ms() - t0) * rate / 1000 + 1;
	while (added < total && added < due) {
		snprintf(check, sizeof(check), "c%ld", added % 10);
		snprintf(body, sizeof(body), "{\"i\":%ld}", added);
		if (cev_add(cv, check, now_ms(), body) < 0)
			return;
		added++;
	}
}

static void consume_next(void);

static void
seen(void *arg, const struct cev_row *rows, int n)
{
	char s[24], ns[24];
	const char *p[4];
	int i;

	(void)arg;
	for (i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "%lld", (long long)rows[i].seq);
		snprintf(ns, sizeof(ns), "%lld", (long long)rows[i].node_seq);
		p[0] = s;
		p[1] = rows[i].node;
		p[2] = ns;
		p[3] = rows[i].body;
		pgc_query(pg, "INSERT INTO cev_seen (seq, node, node_seq, "
		    "body) VALUES ($1, $2, $3, $4)", 4, p, NULL, NULL);
	}
}

static void
consumed_cb(void *arg, bool ok, int n)
{
	struct timeval later = { 0, 100000 };

	(void)arg;
	consuming = false;
	txns++;
	if (ok)
		consumed += n;
	else
		failed++;
	printf("{\"consumed\":%ld,\"txns\":%ld,\"failed\":%ld}\n", consumed,
	    txns, failed);
	fflush(stdout);
	if (ok && n > 0)
		consume_next();
	else
		evtimer_add(next_ev, &later);
}

static void
consume_next(void)
{
	if (consuming || !pgc_up(pg))
		return;
	consuming = true;
	if (cev_consume(pg, (int)batch, seen, consumed_cb, NULL) != 0)
		consuming = false;
}

static void
next_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	consume_next();
}

static void
on_up(void *arg, bool up)
{
	(void)arg;
	if (up && batch > 0)
		consume_next();
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopexit(base, NULL);
}

int
main(int argc, char *argv[])
{
	struct timeval ten = { 0, 10000 }, fifth = { 0, 200000 },
	    wait = { 120, 0 }, tenth = { 0, 100000 };
	struct event *t = NULL, *s = NULL, *sig;
	int rc = 0;

	log_init(true, LOG_INFO);
	base = event_base_new();
	sig = evsignal_new(base, SIGTERM, on_signal, NULL);
	event_add(sig, NULL);
	if (argc >= 8 && strcmp(argv[1], "produce") == 0) {
		total = atol(argv[6]);
		rate = atol(argv[7]);
		if (argc == 9)
			wait.tv_sec = atol(argv[8]);
		pg = pgc_new(base, argv[2], NULL, NULL);
		cv = cev_new(base, pg, argv[3], argv[4],
		    (uint64_t)atoll(argv[5]), on_durable, NULL);
		if (pg == NULL || cv == NULL)
			return 1;
		t = event_new(base, -1, EV_PERSIST, produce, NULL);
		s = event_new(base, -1, EV_PERSIST, status, NULL);
		event_add(t, &ten);
		event_add(s, &fifth);
		event_base_loopexit(base, &wait);
		event_base_dispatch(base);
		{
			struct cev_stats st;

			cev_stats(cv, &st);
			rc = added == total && st.queued == 0 &&
			    st.in_spool == 0 ? 0 : 1;
		}
		pgc_free(pg);	/* before cev: its callbacks go to cv */
		pg = NULL;
		cev_free(cv);
	} else if (argc == 4 && strcmp(argv[1], "consume") == 0) {
		batch = atol(argv[3]);
		pg = pgc_new(base, argv[2], on_up, NULL);
		next_ev = evtimer_new(base, next_cb, NULL);
		t = event_new(base, -1, EV_PERSIST, next_cb, NULL);
		event_add(t, &tenth);
		event_base_dispatch(base);
		event_free(next_ev);
	} else {
		fprintf(stderr, "usage: cev_driver produce CONNINFO NODE SPOOL "
		    "SPOOL_MAX N RATE [WAIT_S] | consume CONNINFO BATCH\n");
		return 2;
	}
	pgc_free(pg);		/* NULL: freed already */
	if (t != NULL)
		event_free(t);
	if (s != NULL)
		event_free(s);
	event_free(sig);
	event_base_free(base);
	return rc;
}
