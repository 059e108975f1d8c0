/*
 * store_follow.c — the leader's changesets applied to a follower's SQLite
 * file (store_follow.h).
 */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/log.h"
#include "incident/pg_conn.h"
#include "incident/store_follow.h"

#define SF_TICK_MS	250
#define SF_BATCH	"100"

static struct {
	sqlite3 *db;
	struct pgc *pg;
	char *state_path;
	int64_t applied;
	bool reading;
	struct event *tick;
} sf;

static int64_t
state_read(void)
{
	FILE *f = fopen(sf.state_path, "r");
	long long v = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lld", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static int
state_write(int64_t seq)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", sf.state_path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%lld\n", (long long)seq);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return rename(tmp, sf.state_path);
}

/*
 * What to do when a change does not fit.  An insert of a row that is
 * there (CONFLICT): a changeset applied again after a crash — the row
 * has its values already; leave it.  An update whose old values differ
 * (DATA): take the leader's.  A row to change that is gone (NOTFOUND)
 * and the rest: leave out.
 */
static int
on_conflict(void *arg, int why, sqlite3_changeset_iter *it)
{
	(void)arg;
	(void)it;
	return why == SQLITE_CHANGESET_DATA ? SQLITE_CHANGESET_REPLACE :
	    SQLITE_CHANGESET_OMIT;
}

static int
unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void
on_rows(void *arg, const PGresult *r)
{
	int n, i, rc;

	(void)arg;
	sf.reading = false;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		return;
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		int64_t seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		const char *h = PQgetvalue(r, i, 1);
		size_t len = strlen(h), k, nb;
		unsigned char *b;

		if (seq <= sf.applied)
			continue;
		if (len < 2 || h[0] != '\\' || h[1] != 'x' ||
		    (b = malloc(len / 2 + 1)) == NULL)
			return;
		for (k = 2, nb = 0; k + 1 < len; k += 2)
			b[nb++] = (unsigned char)(unhex(h[k]) << 4 |
			    unhex(h[k + 1]));
		rc = sqlite3changeset_apply(sf.db, (int)nb, b, NULL,
		    on_conflict, NULL);
		free(b);
		if (rc != SQLITE_OK) {
			log_warnx("follow: cannot apply change %lld of the "
			    "incident log: %s; tried again", (long long)seq,
			    sqlite3_errmsg(sf.db));
			return;
		}
		sf.applied = seq;
		if (state_write(seq) != 0)
			log_warn("follow: %s", sf.state_path);
	}
	if (n > 0)
		event_active(sf.tick, EV_TIMEOUT, 0);	/* more, at once */
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	char last[24];
	const char *p[1] = { last };

	(void)fd;
	(void)what;
	(void)arg;
	if (sf.reading || !pgc_up(sf.pg))
		return;
	snprintf(last, sizeof(last), "%lld", (long long)sf.applied);
	if (pgc_query(sf.pg, "SELECT seq, changeset FROM store_log WHERE "
	    "seq > $1 ORDER BY seq LIMIT " SF_BATCH, 1, p, on_rows, NULL) == 0)
		sf.reading = true;
}

int
sfollow_start(struct event_base *base, sqlite3 *db, struct pgc *pg,
    const char *state_path)
{
	struct timeval tv = { 0, SF_TICK_MS * 1000 };

	memset(&sf, 0, sizeof(sf));
	sf.db = db;
	sf.pg = pg;
	if ((sf.state_path = strdup(state_path)) == NULL ||
	    (sf.tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL)) ==
	    NULL || event_add(sf.tick, &tv) != 0) {
		sfollow_stop();
		return -1;
	}
	sf.applied = state_read();
	return 0;
}

void
sfollow_stop(void)
{
	if (sf.tick != NULL)
		event_free(sf.tick);
	free(sf.state_path);
	memset(&sf, 0, sizeof(sf));
}

int64_t
sfollow_applied(void)
{
	return sf.applied;
}
