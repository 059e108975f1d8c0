/*
 * bench/retention_bench.c — the incident log over a compressed year:
 * N checks (1 000) flapping F times a day (48), each change an event,
 * a timeline line per change and a sent page per 10 changes, written
 * through the store (store.h) day after day with the day's timestamps;
 * after each simulated day the retention pruning (store_prune(), the
 * function tocsind's timer calls, with the same 500-row batches) runs
 * until it has caught up.  Printed every 30 days: rows kept, daily rollups, the database
 * file size, and the cost of one pruning batch (p50, max).  It never
 * asserts.  Run by bench/incident-log; alone:
 *
 *   bench/retention_bench DIR [checks] [flips_per_day] [days] [retention_days]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "core/util.h"
#include "incident/idb.h"
#include "incident/store.h"

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static long long
count(const char *sql)
{
	struct idb_rows r;
	long long n = -1;

	if (idb_select(&r, sql, "") == 0) {
		if (r.n > 0)
			n = idb_int(&r, 0, 0);
		idb_rows_free(&r);
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct event_base *base;
	char path[4096], wal[4200], name[32];
	int checks = argc > 2 ? atoi(argv[2]) : 1000;
	int flips = argc > 3 ? atoi(argv[3]) : 48;
	int days = argc > 4 ? atoi(argv[4]) : 365;
	int keep = argc > 5 ? atoi(argv[5]) : 30;
	time_t t0 = (time(NULL) / 86400 - days) * 86400;
	double *batch = NULL;
	size_t nbatch = 0, cap = 0;
	long long written = 0, peak = 0;
	int d, c, f, rc;
	int64_t s0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [checks] [flips_per_day] "
		    "[days] [retention_days]\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/incidents.db", argv[1]);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if ((base = event_base_new()) == NULL || store_open(base, path) == -1)
		return 1;
	/* one incident per check, for its timeline lines and pages */
	for (c = 0; c < checks; c++) {
		struct store_incident inc;

		snprintf(name, sizeof(name), "c%04d", c);
		memset(&inc, 0, sizeof(inc));
		inc.title = name;
		inc.root_cause = name;
		inc.priority = 3;
		inc.impact = inc.urgency = LEVEL_MEDIUM;
		inc.opened_at = t0;
		inc.flapping = true;
		if (store_incident_insert(&inc) != c + 1)
			return 1;
	}
	store_commit();
	printf("%d checks flapping %d times a day, %d days, retention %d "
	    "days\n", checks, flips, days, keep);
	printf("%5s %10s %9s %9s %9s %8s %10s %10s\n", "day", "events",
	    "timeline", "outbox", "daily", "db MB", "batch p50", "batch max");
	for (d = 0; d < days; d++) {
		time_t day0 = t0 + (time_t)d * 86400, now = day0 + 86400;

		for (f = 0; f < flips; f++) {
			for (c = 0; c < checks; c++) {
				struct store_event ev;

				snprintf(name, sizeof(name), "c%04d", c);
				memset(&ev, 0, sizeof(ev));
				ev.at = day0 + (time_t)f * 86400 / flips +
				    c % 60;
				ev.check = name;
				ev.old_state = f % 2 ? STATE_CRITICAL :
				    STATE_OK;
				ev.new_state = f % 2 ? STATE_OK :
				    STATE_CRITICAL;
				store_event_add(&ev);
				store_timeline_add(1 + c, ev.at, "state",
				    "flap");
				if ((f + c) % 10 == 0) {
					char key[64];

					snprintf(key, sizeof(key), "%d/%d/%d",
					    d, f, c);
					store_outbox_add(1 + c,
					    "incident.updated", "hook", NULL,
					    NULL, key, (int64_t)ev.at * 1000);
				}
				written += 2;
			}
			store_commit();
		}
		/* the day's pages were delivered */
		idb_write("UPDATE notify_outbox SET status = 'sent', sent_at = "
		    "created_at WHERE status = 'pending'", "");
		store_commit();
		/* what tocsind's timer does, one batch every 100 ms */
		do {
			s0 = mono_us();
			rc = store_prune(now - (time_t)keep * 86400, 500);
			store_commit();
			if (nbatch == cap) {
				cap = cap ? cap * 2 : 1024;
				batch = realloc(batch, cap * sizeof(*batch));
				if (batch == NULL)
					return 1;
			}
			batch[nbatch++] = (mono_us() - s0) / 1e3;
		} while (rc == 1);
		if (file_size(path) + file_size(wal) > peak)
			peak = file_size(path) + file_size(wal);
		if ((d + 1) % 30 == 0 || d + 1 == days) {
			double *v = malloc(nbatch * sizeof(*v));

			if (v == NULL)
				return 1;
			memcpy(v, batch, nbatch * sizeof(*v));
			qsort(v, nbatch, sizeof(*v), cmp_double);
			printf("%5d %10lld %9lld %9lld %9lld %8.1f %8.2fms "
			    "%8.2fms\n", d + 1,
			    count("SELECT count(*) FROM events"),
			    count("SELECT count(*) FROM timeline"),
			    count("SELECT count(*) FROM notify_outbox"),
			    count("SELECT count(*) FROM check_daily"),
			    (file_size(path) + file_size(wal)) / 1048576.0,
			    v[nbatch / 2], v[nbatch - 1]);
			fflush(stdout);
			free(v);
			nbatch = 0;
		}
	}
	printf("rows written: %lld; peak file size %.1f MB; checkpoints by "
	    "the helper thread: %llu\n", written, peak / 1048576.0,
	    (unsigned long long)idb_checkpoints());
	store_close();
	free(batch);
	event_base_free(base);
	return 0;
}
