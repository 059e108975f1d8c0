/*
 * cluster_outbox.c — the cluster's pages claimed and settled in
 * PostgreSQL (cluster_outbox.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "incident/cluster_outbox.h"
#include "incident/pg_conn.h"

struct cob_cb {
	void (*rows)(void *, const struct cob_row *, int);
	void (*count)(void *, long);
	void (*ok)(void *, bool);
	void *arg;
};

static struct cob_cb *
cb_new(void *arg)
{
	struct cob_cb *cb = calloc(1, sizeof(*cb));

	if (cb != NULL)
		cb->arg = arg;
	return cb;
}

static int
cob_send(struct pgc *pg, const char *sql, int n, const char *const *p,
    pgc_result_fn fn, struct cob_cb *cb)
{
	if (cb == NULL)
		return -1;
	if (pgc_query(pg, sql, n, p, fn, cb) != 0) {
		free(cb);
		return -1;
	}
	return 0;
}

static void
count_done(void *arg, const PGresult *r)
{
	struct cob_cb *cb = arg;
	long n = -1;

	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK)
		n = atol(PQcmdTuples((PGresult *)r));
	if (cb->count != NULL)
		cb->count(cb->arg, n);
	free(cb);
}

int
cob_takeover(struct pgc *pg, const char *node,
    void (*done)(void *, long), void *arg)
{
	struct cob_cb *cb = cb_new(arg);
	const char *p[1] = { node };

	if (cb != NULL)
		cb->count = done;
	return cob_send(pg, "UPDATE notify_outbox SET sending = 0, resend = 1, "
	    "claimed_by = NULL WHERE sending = 1 AND status = 'pending' AND "
	    "(claimed_by IS NULL OR claimed_by <> $1)", 1, p, count_done, cb);
}

static void
claim_done(void *arg, const PGresult *r)
{
	struct cob_cb *cb = arg;
	struct cob_row *rows = NULL;
	int n, i;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		cb->rows(cb->arg, NULL, -1);
		free(cb);
		return;
	}
	n = PQntuples(r);
	if (n > 0 && (rows = calloc((size_t)n, sizeof(*rows))) == NULL) {
		cb->rows(cb->arg, NULL, -1);	/* claimed: a takeover frees */
		free(cb);
		return;
	}
	for (i = 0; i < n; i++) {
		rows[i].id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		rows[i].incident_id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		rows[i].event = PQgetvalue(r, i, 2);
		rows[i].channel = PQgetvalue(r, i, 3);
		rows[i].contact = PQgetisnull(r, i, 4) ? NULL :
		    PQgetvalue(r, i, 4);
		rows[i].address = PQgetisnull(r, i, 5) ? NULL :
		    PQgetvalue(r, i, 5);
		rows[i].idem_key = PQgetvalue(r, i, 6);
		rows[i].attempts = atoi(PQgetvalue(r, i, 7));
		rows[i].next_at = strtoll(PQgetvalue(r, i, 8), NULL, 10);
		rows[i].resend = atoi(PQgetvalue(r, i, 9)) != 0;
	}
	cb->rows(cb->arg, rows, n);
	free(rows);
	free(cb);
}

int
cob_claim(struct pgc *pg, const char *node, int64_t now_ms, int limit,
    void (*fn)(void *, const struct cob_row *, int), void *arg)
{
	struct cob_cb *cb = cb_new(arg);
	char now[24], lim[16];
	const char *p[3] = { node, now, lim };

	if (cb != NULL)
		cb->rows = fn;
	snprintf(now, sizeof(now), "%lld", (long long)now_ms);
	snprintf(lim, sizeof(lim), "%d", limit > 0 ? limit : 1);
	return cob_send(pg, "UPDATE notify_outbox SET sending = 1, claimed_by = $1 "
	    "WHERE id IN (SELECT id FROM notify_outbox WHERE status = "
	    "'pending' AND sending = 0 AND next_at <= $2 ORDER BY next_at, id "
	    "LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, incident_id, "
	    "event, channel, contact, address, idem_key, attempts, next_at, "
	    "resend", 3, p, claim_done, cb);
}

static void
ok_done(void *arg, const PGresult *r)
{
	struct cob_cb *cb = arg;

	if (cb->ok != NULL)
		cb->ok(cb->arg, r != NULL && PQresultStatus(r) ==
		    PGRES_COMMAND_OK && strcmp(PQcmdTuples((PGresult *)r),
		    "1") == 0);
	free(cb);
}

static int
settle(struct pgc *pg, const char *sql, int n, const char *const *p,
    void (*done)(void *, bool), void *arg)
{
	struct cob_cb *cb = cb_new(arg);

	if (cb != NULL)
		cb->ok = done;
	return cob_send(pg, sql, n, p, ok_done, cb);
}

int
cob_sent(struct pgc *pg, const char *node, int64_t id, int64_t at_ms,
    int attempts, void (*done)(void *, bool), void *arg)
{
	char i[24], at[24], a[16];
	const char *p[4] = { node, i, at, a };

	snprintf(i, sizeof(i), "%lld", (long long)id);
	snprintf(at, sizeof(at), "%lld", (long long)at_ms);
	snprintf(a, sizeof(a), "%d", attempts);
	return settle(pg, "UPDATE notify_outbox SET status = 'sent', "
	    "sending = 0, sent_at = $3, attempts = $4 WHERE id = $2 AND "
	    "claimed_by = $1 AND sending = 1", 4, p, done, arg);
}

int
cob_retry(struct pgc *pg, const char *node, int64_t id, int attempts,
    int64_t next_ms, const char *error, void (*done)(void *, bool),
    void *arg)
{
	char i[24], nx[24], a[16];
	const char *p[5] = { node, i, a, nx, error };

	snprintf(i, sizeof(i), "%lld", (long long)id);
	snprintf(nx, sizeof(nx), "%lld", (long long)next_ms);
	snprintf(a, sizeof(a), "%d", attempts);
	return settle(pg, "UPDATE notify_outbox SET sending = 0, attempts = $3, "
	    "next_at = $4, last_error = $5, claimed_by = NULL WHERE id = $2 "
	    "AND claimed_by = $1 AND sending = 1", 5, p, done, arg);
}

int
cob_dead(struct pgc *pg, const char *node, int64_t id, int attempts,
    const char *error, void (*done)(void *, bool), void *arg)
{
	char i[24], a[16];
	const char *p[4] = { node, i, a, error };

	snprintf(i, sizeof(i), "%lld", (long long)id);
	snprintf(a, sizeof(a), "%d", attempts);
	return settle(pg, "UPDATE notify_outbox SET status = 'dead', "
	    "sending = 0, attempts = $3, last_error = $4 WHERE id = $2 AND "
	    "claimed_by = $1 AND sending = 1", 4, p, done, arg);
}
