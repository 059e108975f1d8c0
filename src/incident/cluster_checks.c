/*
 * cluster_checks.c — check states in PostgreSQL for a takeover
 * (cluster_checks.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "incident/cluster_checks.h"
#include "incident/pg_conn.h"

void
ccs_history_text(const struct check_status *st, char out[FLAP_HISTORY + 1])
{
	unsigned i, n = st->nhistory <= FLAP_HISTORY ? st->nhistory :
	    FLAP_HISTORY;
	/* full: the oldest is where the next one goes */
	unsigned first = n == FLAP_HISTORY ? st->history_pos % FLAP_HISTORY : 0;

	for (i = 0; i < n; i++)
		out[i] = (char)('0' + st->history[(first + i) % FLAP_HISTORY] %
		    10);
	out[n] = '\0';
}

void
ccs_history_parse(struct check_status *st, const char *text)
{
	unsigned n = 0;

	for (; text != NULL && *text != '\0' && n < FLAP_HISTORY; text++)
		if (*text >= '0' && *text <= '9')
			st->history[n++] = (uint8_t)(*text - '0');
	st->nhistory = (uint8_t)n;
	st->history_pos = (uint8_t)(n % FLAP_HISTORY);
}

struct ccs_cb {
	void (*done)(void *, bool);
	void (*rows)(void *, const struct ccs_state *, long);
	void *arg;
};

static void
save_done(void *arg, const PGresult *r)
{
	struct ccs_cb *cb = arg;

	if (cb->done != NULL)
		cb->done(cb->arg, r != NULL && PQresultStatus(r) ==
		    PGRES_COMMAND_OK);
	free(cb);
}

int
ccs_save(struct pgc *pg, const char *node, const struct ccs_state *s,
    void (*done)(void *, bool), void *arg)
{
	char state[8], hard[8], hstate[8], attempt[16], flapping[8], lc[24],
	    lhc[24], hist[FLAP_HISTORY + 1], pct[32], run[24], upd[24];
	const char *p[15] = { s->name, s->type, state, hard, hstate, attempt,
	    flapping, lc, lhc, s->summary, upd, hist, pct, run, node };
	struct ccs_cb *cb = calloc(1, sizeof(*cb));

	if (cb == NULL)
		return -1;
	cb->done = done;
	cb->arg = arg;
	snprintf(state, sizeof(state), "%d", (int)s->st.state);
	snprintf(hard, sizeof(hard), "%d", s->st.hard ? 1 : 0);
	snprintf(hstate, sizeof(hstate), "%d", (int)s->st.hard_state);
	snprintf(attempt, sizeof(attempt), "%d", s->st.attempt);
	snprintf(flapping, sizeof(flapping), "%d", s->st.flapping ? 1 : 0);
	snprintf(lc, sizeof(lc), "%lld", (long long)s->st.last_change);
	snprintf(lhc, sizeof(lhc), "%lld", (long long)s->st.last_hard_change);
	snprintf(pct, sizeof(pct), "%.17g", s->st.flap_percent);
	snprintf(run, sizeof(run), "%lld", (long long)s->last_run_ms);
	snprintf(upd, sizeof(upd), "%lld", (long long)(s->last_run_ms / 1000));
	ccs_history_text(&s->st, hist);
	if (pgc_query(pg, "INSERT INTO check_state AS c (name, type, state, "
	    "hard, hard_state, attempt, flapping, last_change, "
	    "last_hard_change, summary, updated_at, history, flap_percent, "
	    "last_run_ms, node) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
	    "$10, $11, $12, $13, $14, $15) ON CONFLICT (name) DO UPDATE SET "
	    "type = EXCLUDED.type, state = EXCLUDED.state, hard = "
	    "EXCLUDED.hard, hard_state = EXCLUDED.hard_state, attempt = "
	    "EXCLUDED.attempt, flapping = EXCLUDED.flapping, last_change = "
	    "EXCLUDED.last_change, last_hard_change = "
	    "EXCLUDED.last_hard_change, summary = EXCLUDED.summary, "
	    "updated_at = EXCLUDED.updated_at, history = EXCLUDED.history, "
	    "flap_percent = EXCLUDED.flap_percent, last_run_ms = "
	    "EXCLUDED.last_run_ms, node = EXCLUDED.node WHERE "
	    "c.last_run_ms IS NULL OR c.last_run_ms <= EXCLUDED.last_run_ms",
	    15, p, save_done, cb) != 0) {
		free(cb);
		return -1;
	}
	return 0;
}

static void
load_done(void *arg, const PGresult *r)
{
	struct ccs_cb *cb = arg;
	struct ccs_state *v;
	int n, i;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		cb->rows(cb->arg, NULL, -1);
		free(cb);
		return;
	}
	n = PQntuples(r);
	if ((v = calloc((size_t)n + 1, sizeof(*v))) == NULL) {
		cb->rows(cb->arg, NULL, -1);
		free(cb);
		return;
	}
	for (i = 0; i < n; i++) {
		struct check_status *st = &v[i].st;

		v[i].name = PQgetvalue(r, i, 0);
		v[i].type = PQgetvalue(r, i, 1);
		st->state = (enum check_state)atoi(PQgetvalue(r, i, 2));
		st->hard = atoi(PQgetvalue(r, i, 3)) != 0;
		st->hard_state = (enum check_state)atoi(PQgetvalue(r, i, 4));
		st->attempt = atoi(PQgetvalue(r, i, 5));
		st->flapping = atoi(PQgetvalue(r, i, 6)) != 0;
		st->last_change = (time_t)strtoll(PQgetvalue(r, i, 7), NULL,
		    10);
		st->last_hard_change = (time_t)strtoll(PQgetvalue(r, i, 8),
		    NULL, 10);
		v[i].summary = PQgetisnull(r, i, 9) ? NULL :
		    PQgetvalue(r, i, 9);
		ccs_history_parse(st, PQgetvalue(r, i, 10));
		st->flap_percent = strtod(PQgetvalue(r, i, 11), NULL);
		v[i].last_run_ms = strtoll(PQgetvalue(r, i, 12), NULL, 10);
		v[i].node = PQgetisnull(r, i, 13) ? NULL :
		    PQgetvalue(r, i, 13);
	}
	cb->rows(cb->arg, v, n);
	free(v);
	free(cb);
}

/* names as a text[] literal: {"a","b\"c"} */
static char *
array_literal(const char *const *names, size_t n)
{
	size_t len = 3, i;
	const char *s;
	char *out, *o;

	for (i = 0; i < n; i++)
		len += 3 + 2 * strlen(names[i]);
	if ((o = out = malloc(len)) == NULL)
		return NULL;
	*o++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		*o++ = '"';
		for (s = names[i]; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				*o++ = '\\';
			*o++ = *s;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

int
ccs_load(struct pgc *pg, const char *const *names, size_t n,
    void (*fn)(void *, const struct ccs_state *, long), void *arg)
{
	struct ccs_cb *cb = calloc(1, sizeof(*cb));
	char *list = array_literal(names, n);
	const char *p[1] = { list };
	int rc;

	if (cb == NULL || list == NULL) {
		free(cb);
		free(list);
		return -1;
	}
	cb->rows = fn;
	cb->arg = arg;
	rc = pgc_query(pg, "SELECT name, type, state, hard, hard_state, "
	    "attempt, flapping, COALESCE(last_change, 0), "
	    "COALESCE(last_hard_change, 0), summary, COALESCE(history, ''), "
	    "COALESCE(flap_percent, 0), COALESCE(last_run_ms, 0), node "
	    "FROM check_state WHERE name = ANY($1::text[])", 1, p, load_done,
	    cb);
	free(list);
	if (rc != 0)
		free(cb);
	return rc;
}
