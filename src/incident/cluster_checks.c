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

/*
 * A row already there takes the new values unless it holds a newer run;
 * node_since notes when the check came to another node.
 */
#define CCS_UPSERT "ON CONFLICT (name) DO UPDATE SET " \
	"type = EXCLUDED.type, state = EXCLUDED.state, hard = " \
	"EXCLUDED.hard, hard_state = EXCLUDED.hard_state, attempt = " \
	"EXCLUDED.attempt, flapping = EXCLUDED.flapping, last_change = " \
	"EXCLUDED.last_change, last_hard_change = " \
	"EXCLUDED.last_hard_change, summary = EXCLUDED.summary, " \
	"updated_at = EXCLUDED.updated_at, history = EXCLUDED.history, " \
	"flap_percent = EXCLUDED.flap_percent, last_run_ms = " \
	"EXCLUDED.last_run_ms, node = EXCLUDED.node, node_since = CASE " \
	"WHEN c.node IS DISTINCT FROM EXCLUDED.node THEN " \
	"EXCLUDED.last_run_ms ELSE c.node_since END WHERE " \
	"c.last_run_ms IS NULL OR c.last_run_ms <= EXCLUDED.last_run_ms"

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
	    "$10, $11, $12, $13, $14, $15) " CCS_UPSERT,
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
char *
ccs_array_literal(const char *const *v, size_t n)
{
	size_t len = 3, i;
	const char *s;
	char *out, *o;

	for (i = 0; i < n; i++)
		len += 5 + (v[i] != NULL ? 2 * strlen(v[i]) : 0);
	if ((o = out = malloc(len)) == NULL)
		return NULL;
	*o++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		if (v[i] == NULL) {
			memcpy(o, "NULL", 4);
			o += 4;
			continue;
		}
		*o++ = '"';
		for (s = v[i]; *s != '\0'; s++) {
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

#define CCS_COLUMNS "SELECT name, type, state, hard, hard_state, " \
	"attempt, flapping, COALESCE(last_change, 0), " \
	"COALESCE(last_hard_change, 0), summary, COALESCE(history, ''), " \
	"COALESCE(flap_percent, 0), COALESCE(last_run_ms, 0), node " \
	"FROM check_state "

static int
load_query(struct pgc *pg, const char *sql, int n, const char *const *p,
    void (*fn)(void *, const struct ccs_state *, long), void *arg)
{
	struct ccs_cb *cb = calloc(1, sizeof(*cb));

	if (cb == NULL)
		return -1;
	cb->rows = fn;
	cb->arg = arg;
	if (pgc_query(pg, sql, n, p, load_done, cb) != 0) {
		free(cb);
		return -1;
	}
	return 0;
}

int
ccs_load(struct pgc *pg, const char *const *names, size_t n,
    void (*fn)(void *, const struct ccs_state *, long), void *arg)
{
	char *list = ccs_array_literal(names, n);
	const char *p[1] = { list };
	int rc;

	if (list == NULL)
		return -1;
	rc = load_query(pg, CCS_COLUMNS "WHERE name = ANY($1::text[])", 1, p,
	    fn, arg);
	free(list);
	return rc;
}

int
ccs_load_others(struct pgc *pg, const char *node, int64_t since_s,
    void (*fn)(void *, const struct ccs_state *, long), void *arg)
{
	char since[24];
	const char *p[2] = { node, since };

	snprintf(since, sizeof(since), "%lld", (long long)since_s);
	return load_query(pg, CCS_COLUMNS "WHERE node IS DISTINCT FROM $1 "
	    "AND ($2::bigint = 0 OR last_change >= $2::bigint OR "
	    "last_hard_change >= $2::bigint OR node_since >= $2::bigint * "
	    "1000)", 2, p, fn, arg);
}

/* One column of a batch: n values as text (freed by the caller). */
#define CCS_COLS	14

int
ccs_save_batch(struct pgc *pg, const char *node, const struct ccs_state *v,
    size_t n, void (*done)(void *, bool), void *arg)
{
	const char **col[CCS_COLS];
	char *lit[CCS_COLS + 1], *num;
	const char *p[CCS_COLS + 1];
	struct ccs_cb *cb;
	size_t i, k;
	int rc = -1;

	if (n == 0)
		return 0;
	memset(col, 0, sizeof(col));
	memset(lit, 0, sizeof(lit));
	if ((cb = calloc(1, sizeof(*cb))) == NULL)
		return -1;
	cb->done = done;
	cb->arg = arg;
	/* the numbers' text, n of each, in one block */
	if ((num = calloc(n, 9 * 32 + FLAP_HISTORY + 1)) == NULL)
		goto out;
	for (k = 0; k < CCS_COLS; k++)
		if ((col[k] = calloc(n, sizeof(*col[k]))) == NULL)
			goto out;
	for (i = 0; i < n; i++) {
		const struct ccs_state *s = &v[i];
		char *b = num + i * (9 * 32 + FLAP_HISTORY + 1);

		snprintf(b, 32, "%d", (int)s->st.state);
		snprintf(b + 32, 32, "%d", s->st.hard ? 1 : 0);
		snprintf(b + 64, 32, "%d", (int)s->st.hard_state);
		snprintf(b + 96, 32, "%d", s->st.attempt);
		snprintf(b + 128, 32, "%d", s->st.flapping ? 1 : 0);
		snprintf(b + 160, 32, "%lld", (long long)s->st.last_change);
		snprintf(b + 192, 32, "%lld",
		    (long long)s->st.last_hard_change);
		snprintf(b + 224, 32, "%.17g", s->st.flap_percent);
		snprintf(b + 256, 32, "%lld", (long long)s->last_run_ms);
		ccs_history_text(&s->st, b + 288);
		col[0][i] = s->name;
		col[1][i] = s->type;
		col[2][i] = b;
		col[3][i] = b + 32;
		col[4][i] = b + 64;
		col[5][i] = b + 96;
		col[6][i] = b + 128;
		col[7][i] = b + 160;
		col[8][i] = b + 192;
		col[9][i] = s->summary;
		col[10][i] = b + 256;	/* updated_at: from last_run_ms below */
		col[11][i] = b + 288;
		col[12][i] = b + 224;
		col[13][i] = b + 256;
	}
	for (k = 0; k < CCS_COLS; k++)
		if ((lit[k] = ccs_array_literal(col[k], n)) == NULL)
			goto out;
	for (k = 0; k < CCS_COLS; k++)
		p[k] = lit[k];
	p[CCS_COLS] = node;
	rc = pgc_query(pg, "INSERT INTO check_state AS c (name, type, state, "
	    "hard, hard_state, attempt, flapping, last_change, "
	    "last_hard_change, summary, updated_at, history, flap_percent, "
	    "last_run_ms, node) SELECT u.name, u.type, u.state, u.hard, "
	    "u.hard_state, u.attempt, u.flapping, u.lc, u.lhc, u.summary, "
	    "u.run / 1000, u.hist, u.pct, u.run, $15 FROM unnest($1::text[], "
	    "$2::text[], $3::bigint[], $4::bigint[], $5::bigint[], "
	    "$6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], "
	    "$10::text[], $11::bigint[], $12::text[], $13::float8[], "
	    "$14::bigint[]) AS u(name, type, state, hard, hard_state, attempt, "
	    "flapping, lc, lhc, summary, upd, hist, pct, run) "
	    CCS_UPSERT,
	    CCS_COLS + 1, p, save_done, cb);
out:
	for (k = 0; k < CCS_COLS; k++) {
		free(col[k]);
		free(lit[k]);
	}
	free(num);
	if (rc != 0)
		free(cb);
	return rc;
}
