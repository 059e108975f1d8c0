/*
 * smirror_driver.c — drives store_mirror.c for tests/integration/
 * test_store_mirror.py: the real SQLite store (store.h on idb.c) with
 * its batches mirrored into a real PostgreSQL.
 *
 *   smirror_driver CONNINFO DBPATH ROUNDS INTERVAL_MS
 *
 * Every INTERVAL_MS one batch (store_begin … store_commit) of what the
 * correlator and the notifier write: an incident with its check, a
 * timeline line, an event, a check state, a page and an escalation; the
 * previous incident acknowledged, its page sent, its escalation stopped;
 * every 5th round a problem linked and a maintenance window, the one
 * before deleted; every 7th, an incident closed.  Then it waits until
 * PostgreSQL has every batch and prints {"batches", "synced", "txns",
 * "changes", "failed"}.  Exit 0 when synced, 1 after 120 s.  CONNINFO
 * "-": no mirror (the store alone: bench/cluster's reference).
 *
 *   smirror_driver follow CONNINFO DBPATH STATE
 *
 * A follower (store_follow.c): applies the leader's changesets to the
 * store at DBPATH, printing {"applied": SEQ} every 200 ms, until SIGTERM.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/state.h"
#include "incident/idb.h"
#include "incident/pg_conn.h"
#include "incident/store.h"
#include "incident/store_follow.h"
#include "incident/store_mirror.h"

static struct event_base *base;
static long rounds, done_rounds;
static int64_t prev_inc, prev_maint, prev_row;
static bool mirrored = true;

static void
round_once(void)
{
	struct store_incident inc;
	struct store_inc_check ic = { NULL, ROLE_ROOT, STATE_CRITICAL, false };
	struct store_event ev;
	struct store_check_state cs;
	char name[32], key[32], title[64];
	time_t now = 1800000000 + done_rounds;
	int64_t id;

	snprintf(name, sizeof(name), "web-%ld", done_rounds % 13);
	snprintf(key, sizeof(key), "key-%ld", done_rounds);
	snprintf(title, sizeof(title), "%s is \"down\" (round %ld)", name,
	    done_rounds);
	store_begin();
	memset(&inc, 0, sizeof(inc));
	inc.title = title;
	inc.status = INC_OPEN;
	inc.impact = inc.urgency = 2;
	inc.priority = 1;
	inc.root_cause = name;
	inc.opened_at = now;
	id = store_incident_insert(&inc);
	ic.name = name;
	store_incident_check(id, &ic, now);
	store_timeline_add(id, now, "opened", "it is down, 'really'");
	memset(&ev, 0, sizeof(ev));
	ev.at = now;
	ev.check = name;
	ev.old_state = STATE_OK;
	ev.new_state = STATE_CRITICAL;
	ev.summary = "connection refused";
	ev.incident_id = id;
	store_event_add(&ev);
	memset(&cs, 0, sizeof(cs));
	cs.name = name;
	cs.type = (char *)"http";
	state_init(&cs.st);
	cs.st.state = STATE_CRITICAL;
	cs.st.hard = true;
	cs.st.hard_state = STATE_CRITICAL;
	cs.st.attempt = 3;
	cs.summary = (char *)"connection refused";
	store_check_state_save(&cs, now);
	store_outbox_add(id, "opened", "hook", "ops", "http://x/", key,
	    (int64_t)now * 1000);
	store_esc_start(id, "default", 1, (int64_t)now * 1000,
	    (int64_t)now * 1000 + 60000);
	if (prev_inc > 0) {
		inc.id = prev_inc;
		inc.status = INC_ACKNOWLEDGED;
		inc.acknowledged_at = now;
		inc.acknowledged_by = (char *)"alice";
		snprintf(title, sizeof(title), "acked (round %ld)",
		    done_rounds - 1);
		store_incident_update(&inc);
		store_esc_stop(prev_inc);
		store_outbox_sent(prev_row, (int64_t)now * 1000, 1);
	}
	if (done_rounds % 5 == 4) {
		struct store_maint w;
		struct store_problem pr;
		int64_t pid;

		memset(&w, 0, sizeof(w));
		w.checks = name;
		w.starts_at = now;
		w.ends_at = now + 3600;
		w.comment = (char *)"deploy";
		w.created_at = now;
		if (prev_maint > 0)
			store_maint_delete(prev_maint);
		prev_maint = store_maint_insert(&w);
		memset(&pr, 0, sizeof(pr));
		pr.title = (char *)"web keeps falling over";
		pr.status = (char *)"open";
		pr.root_cause = name;
		pr.opened_at = pr.updated_at = now;
		if ((pid = store_problem_insert(&pr)) > 0)
			store_problem_link(pid, id, now);
	}
	if (done_rounds % 7 == 6 && prev_inc > 0)
		store_incident_close(prev_inc, now);
	store_commit();
	prev_inc = id;
	prev_row = 0;
	{
		struct store_outbox *v = NULL;
		size_t n = 0, i;

		/* the page just made: its row id, for the next round */
		if (store_outbox_due(INT64_MAX, 1000, &v, &n) == 0) {
			for (i = 0; i < n; i++)
				if (strcmp(v[i].idem_key, key) == 0)
					prev_row = v[i].id;
			store_outboxes_free(v, n);
		}
	}
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (done_rounds < rounds) {
		round_once();
		done_rounds++;
	} else if (!mirrored || smirror_synced())
		event_base_loopexit(base, NULL);
}

static void
report(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	printf("{\"applied\":%lld}\n", (long long)sfollow_applied());
	fflush(stdout);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopexit(base, NULL);
}

static int
follow(const char *conninfo, const char *db, const char *state)
{
	struct timeval fifth = { 0, 200000 };
	struct event *t, *sig;
	struct pgc *pg;

	if (store_open(base, db) != 0)
		return 1;
	pg = pgc_new(base, conninfo, NULL, NULL);
	if (pg == NULL || sfollow_start(base, idb(), pg, state) != 0)
		return 1;
	t = event_new(base, -1, EV_PERSIST, report, NULL);
	sig = evsignal_new(base, SIGTERM, on_signal, NULL);
	event_add(t, &fifth);
	event_add(sig, NULL);
	event_base_dispatch(base);
	report(-1, 0, NULL);
	pgc_free(pg);
	sfollow_stop();
	store_close();
	event_free(t);
	event_free(sig);
	event_base_free(base);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct timeval every = { 0, 0 }, wait = { 120, 0 };
	struct smirror_stats st;
	struct pgc *pg;
	struct event *t;
	long ms;
	int rc;

	if (argc == 5 && strcmp(argv[1], "follow") == 0) {
		log_init(true, LOG_INFO);
		base = event_base_new();
		return follow(argv[2], argv[3], argv[4]);
	}
	if (argc != 5) {
		fprintf(stderr, "usage: smirror_driver CONNINFO DBPATH ROUNDS "
		    "INTERVAL_MS | follow CONNINFO DBPATH STATE\n");
		return 2;
	}
	log_init(true, LOG_INFO);
	base = event_base_new();
	rounds = atol(argv[3]);
	ms = atol(argv[4]);
	every.tv_sec = ms / 1000;
	every.tv_usec = (ms % 1000) * 1000;
	if (ms == 0)
		every.tv_usec = 1;	/* "as fast as the loop turns" */
	if (store_open(base, argv[2]) != 0)
		return 1;
	mirrored = strcmp(argv[1], "-") != 0;
	pg = mirrored ? pgc_new(base, argv[1], NULL, NULL) : NULL;
	if (mirrored && (pg == NULL || smirror_start(base, idb(), pg) != 0))
		return 1;
	if (pg != NULL)		/* back within a second of PostgreSQL */
		pgc_set_limits(pg, 1000, 0);
	t = event_new(base, -1, EV_PERSIST, tick, NULL);
	event_add(t, &every);
	event_base_loopexit(base, &wait);
	event_base_dispatch(base);
	smirror_stats(&st);
	rc = (!mirrored || smirror_synced()) && done_rounds == rounds ? 0 :
	    1;
	printf("{\"batches\":%llu,\"synced\":%llu,\"txns\":%llu,"
	    "\"changes\":%llu,\"failed\":%llu}\n",
	    (unsigned long long)st.batches, (unsigned long long)st.synced,
	    (unsigned long long)st.txns, (unsigned long long)st.changes,
	    (unsigned long long)st.failed);
	pgc_free(pg);
	smirror_stop();
	store_close();
	event_free(t);
	event_base_free(base);
	return rc;
}
