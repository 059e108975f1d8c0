/*
 * store_mirror.c — SQLite batches into PostgreSQL through changesets
 * (store_mirror.h).
 */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/log.h"
#include "incident/idb.h"
#include "incident/pg_conn.h"
#include "incident/store_mirror.h"

#define SM_TICK_MS	250
#define SM_TABLES_MAX	32
#define SM_COLS_MAX	64
#define STORE_LOG_KEEP	"1 hour"

struct sm_table {
	char *name;
	int ncol;
	char *col[SM_COLS_MAX];
};

static struct {
	sqlite3 *db;
	struct pgc *pg;
	sqlite3_session *sess;
	sqlite3_changegroup *pending;	/* committed, not sent */
	uint64_t npending;		/* batches in it */
	void *inflight;			/* the changeset of the transaction */
	int ninflight;
	uint64_t inflight_batches;
	bool sending;			/* its COMMIT's answer is awaited */
	bool held;			/* smirror_hold(): no own send */
	bool joined;			/* inflight is in a caller's txn */
	struct pgc *to;			/* where send_change() queues */
	struct event *kick, *tick;
	struct sm_table tab[SM_TABLES_MAX];
	int ntab;
	struct smirror_stats st;
	bool warned;
} sm;

static int
new_session(void)
{
	if (sm.sess != NULL)
		sqlite3session_delete(sm.sess);
	sm.sess = NULL;
	if (sqlite3session_create(sm.db, "main", &sm.sess) != SQLITE_OK ||
	    sqlite3session_attach(sm.sess, NULL) != SQLITE_OK) {
		log_warnx("mirror: cannot record the store's changes: %s",
		    sqlite3_errmsg(sm.db));
		return -1;
	}
	return 0;
}

static int
new_group(void)
{
	sm.npending = 0;
	return sqlite3changegroup_new(&sm.pending) == SQLITE_OK ? 0 : -1;
}

/* The column names of table t, from SQLite (cached). */
static const struct sm_table *
table(const char *t)
{
	struct sm_table *x;
	sqlite3_stmt *st;
	char sql[128];
	int i;

	for (i = 0; i < sm.ntab; i++)
		if (strcmp(sm.tab[i].name, t) == 0)
			return &sm.tab[i];
	if (sm.ntab == SM_TABLES_MAX)
		return NULL;
	snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", t);
	if (sqlite3_prepare_v2(sm.db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	x = &sm.tab[sm.ntab];
	memset(x, 0, sizeof(*x));
	while (sqlite3_step(st) == SQLITE_ROW && x->ncol < SM_COLS_MAX) {
		i = sqlite3_column_int(st, 0);
		if (i != x->ncol)
			break;
		x->col[x->ncol++] = strdup((const char *)
		    sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (x->ncol == 0 || (x->name = strdup(t)) == NULL)
		return NULL;
	sm.ntab++;
	return x;
}

/* A value as a text parameter (NULL: SQL NULL); into buf or the value. */
static const char *
param(sqlite3_value *v, char *buf, size_t len)
{
	if (v == NULL)
		return NULL;
	switch (sqlite3_value_type(v)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_INTEGER:
		snprintf(buf, len, "%lld", (long long)sqlite3_value_int64(v));
		return buf;
	case SQLITE_FLOAT:
		snprintf(buf, len, "%.17g", sqlite3_value_double(v));
		return buf;
	default:
		return (const char *)sqlite3_value_text(v);
	}
}

/* A growing string; ok false once out of memory. */
struct sb {
	char *s;
	size_t len, cap;
	bool ok;
};

static void
put(struct sb *b, const char *piece)
{
	size_t n = strlen(piece);
	char *ns;

	if (!b->ok)
		return;
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((ns = realloc(b->s, b->cap)) == NULL) {
			b->ok = false;
			return;
		}
		b->s = ns;
	}
	memcpy(b->s + b->len, piece, n + 1);
	b->len += n;
}

/* "\"col\" = $k", after sep. */
static void
put_col(struct sb *b, const char *sep, const char *col, int k)
{
	char num[16];

	put(b, sep);
	put(b, "\"");
	put(b, col);
	put(b, "\"");
	if (k > 0) {
		snprintf(num, sizeof(num), " = $%d", k);
		put(b, num);
	}
}

/* The primary key's columns as " WHERE \"c\" = $k AND …" (old values). */
static int
put_where(struct sb *b, sqlite3_changeset_iter *it, const struct sm_table *t,
    const unsigned char *pk, const char **p, char (*bufs)[32], int np)
{
	sqlite3_value *v;
	int i;
	bool first = true;

	for (i = 0; i < t->ncol; i++) {
		if (!pk[i])
			continue;
		v = NULL;
		sqlite3changeset_old(it, i, &v);
		put_col(b, first ? " WHERE " : " AND ", t->col[i], np + 1);
		p[np] = param(v, bufs[np], sizeof(bufs[np]));
		np++;
		first = false;
	}
	return np;
}

/* smirror_on_synced(): set once, kept across smirror_start()s */
static void (*sm_on_synced)(void);

/* smirror_skip(): a table the mirror leaves to its other writer */
static char *sm_skip;

void
smirror_skip(const char *table)
{
	free(sm_skip);
	sm_skip = table != NULL ? strdup(table) : NULL;
}

/* One change as one statement on pg.  RETURN VALUE: 0 or -1. */
static int
send_change(sqlite3_changeset_iter *it)
{
	const char *tname, *p[SM_COLS_MAX];
	char bufs[SM_COLS_MAX][32], num[16];
	unsigned char *pk;
	const struct sm_table *t;
	struct sb b = { NULL, 0, 0, true };
	int ncol, op, ind, i, np = 0, rc;
	sqlite3_value *v;

	if (sqlite3changeset_op(it, &tname, &ncol, &op, &ind) != SQLITE_OK)
		return -1;
	if (sm_skip != NULL && strcmp(tname, sm_skip) == 0)
		return 0;	/* another writer's table */
	if (sqlite3changeset_pk(it, &pk, &ncol) != SQLITE_OK ||
	    (t = table(tname)) == NULL || t->ncol != ncol)
		return -1;
	if (op == SQLITE_INSERT) {
		put(&b, "INSERT INTO \"");
		put(&b, tname);
		put(&b, "\" (");
		for (i = 0; i < ncol; i++)
			put_col(&b, i ? ", " : "", t->col[i], 0);
		put(&b, ") VALUES (");
		for (i = 0; i < ncol; i++) {
			snprintf(num, sizeof(num), "%s$%d", i ? ", " : "",
			    i + 1);
			put(&b, num);
			v = NULL;
			sqlite3changeset_new(it, i, &v);
			p[np++] = param(v, bufs[i], sizeof(bufs[i]));
		}
		put(&b, ") ON CONFLICT DO NOTHING");
	} else if (op == SQLITE_UPDATE) {
		put(&b, "UPDATE \"");
		put(&b, tname);
		put(&b, "\" SET ");
		for (i = 0; i < ncol; i++) {
			v = NULL;
			if (pk[i] || sqlite3changeset_new(it, i, &v) !=
			    SQLITE_OK || v == NULL)
				continue;	/* not changed */
			put_col(&b, np > 0 ? ", " : "", t->col[i], np + 1);
			p[np] = param(v, bufs[np], sizeof(bufs[np]));
			np++;
		}
		if (np == 0) {		/* only the key changed: nothing */
			free(b.s);
			return 0;
		}
		np = put_where(&b, it, t, pk, p, bufs, np);
	} else {
		put(&b, "DELETE FROM \"");
		put(&b, tname);
		put(&b, "\"");
		np = put_where(&b, it, t, pk, p, bufs, np);
	}
	rc = b.ok ? pgc_query(sm.to, b.s, np, p, NULL, NULL) : -1;
	free(b.s);
	sm.st.changes++;
	return rc;
}

/* The transaction that held sm.inflight ended: committed or not. */
static void
txn_end(bool committed, const PGresult *r)
{
	if (sm.db == NULL)
		return;		/* stopped meanwhile */
	sm.sending = false;
	sm.joined = false;
	if (committed) {
		sm.st.txns++;
		sm.st.synced += sm.inflight_batches;
		sqlite3_free(sm.inflight);
		sm.inflight = NULL;
		sm.ninflight = 0;
		sm.inflight_batches = 0;
		sm.warned = false;
	} else {
		sm.st.failed++;
		if (r != NULL && !sm.warned)
			log_warnx("mirror: a transaction failed (sent again): "
			    "%.*s", (int)strcspn(PQresultErrorMessage(r),
			    "\n"), PQresultErrorMessage(r));
		sm.warned = true;
		/* kept in sm.inflight: sent again, before anything newer */
	}
	event_active(sm.kick, EV_TIMEOUT, 0);
	if (committed && smirror_synced() && sm_on_synced != NULL)
		sm_on_synced();
}

static void
txn_done(void *arg, const PGresult *r)
{
	(void)arg;
	txn_end(r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK, r);
}

/*
 * The changeset in flight into store_log too, in the same transaction,
 * for the followers (store_follow.c); every 100th transaction also drops
 * what is older than STORE_LOG_KEEP.
 */
static int
log_changeset(void)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = sm.inflight;
	const char *p[1];
	char *text;
	int i, rc;

	if ((text = malloc((size_t)sm.ninflight * 2 + 3)) == NULL)
		return -1;
	text[0] = '\\';
	text[1] = 'x';
	for (i = 0; i < sm.ninflight; i++) {
		text[2 + 2 * i] = hex[b[i] >> 4];
		text[3 + 2 * i] = hex[b[i] & 15];
	}
	text[2 + 2 * sm.ninflight] = '\0';
	p[0] = text;
	rc = pgc_query(sm.to, "INSERT INTO store_log (changeset) VALUES "
	    "($1::bytea)", 1, p, NULL, NULL);
	free(text);
	if (rc == 0 && sm.st.txns % 100 == 99)
		rc = pgc_query(sm.to, "DELETE FROM store_log WHERE at < now() "
		    "- interval '" STORE_LOG_KEEP "'", 0, NULL, NULL, NULL);
	return rc;
}

/*
 * sm.inflight's statements, and its store_log row, queued on to (inside a
 * transaction the caller opened).  RETURN VALUE: 0, or -1 (the caller's
 * transaction must not commit).
 */
static int
queue_inflight(struct pgc *to)
{
	sqlite3_changeset_iter *it;
	int rc = 0;

	if (sqlite3changeset_start(&it, sm.ninflight, sm.inflight) !=
	    SQLITE_OK)
		return -1;
	sm.to = to;
	while (rc == 0 && sqlite3changeset_next(it) == SQLITE_ROW)
		rc = send_change(it);
	sqlite3changeset_finalize(it);
	if (rc == 0)
		rc = log_changeset();
	sm.to = sm.pg;
	return rc;
}

/*
 * Everything pending into sm.inflight (unless something is there
 * already).  RETURN VALUE: 1, there is something in flight; 0, nothing
 * to send; -1, it could not be merged.
 */
static int
take_pending(void)
{
	if (sm.inflight != NULL)
		return 1;
	if (sm.npending == 0)
		return 0;
	if (sqlite3changegroup_output(sm.pending, &sm.ninflight,
	    &sm.inflight) != SQLITE_OK) {
		log_warnx("mirror: cannot merge the batches");
		return -1;
	}
	sm.inflight_batches = sm.npending;
	sqlite3changegroup_delete(sm.pending);
	new_group();
	return 1;
}

/* The changeset in flight (or, first, everything pending) as one
 * transaction. */
static void
send_pending(void)
{
	int rc;

	if (!pgc_up(sm.pg) || sm.held || take_pending() != 1)
		return;
	pgc_query(sm.pg, "BEGIN", 0, NULL, NULL, NULL);
	rc = queue_inflight(sm.pg);
	if (rc != 0) {
		if (!sm.warned)
			log_warnx("mirror: cannot translate a change; the "
			    "batch waits");
		sm.warned = true;
		pgc_query(sm.pg, "ROLLBACK", 0, NULL, NULL, NULL);
		return;
	}
	if (pgc_query(sm.pg, "COMMIT", 0, NULL, txn_done, NULL) == 0)
		sm.sending = true;
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!sm.sending)
		send_pending();
}

static void
on_commit(void)
{
	void *cs = NULL;
	int n = 0;

	if (sm.sess == NULL)
		return;
	if (sqlite3session_changeset(sm.sess, &n, &cs) == SQLITE_OK &&
	    n > 0) {
		if (sqlite3changegroup_add(sm.pending, n, cs) == SQLITE_OK) {
			sm.npending++;
			sm.st.batches++;
		} else
			log_warnx("mirror: a batch could not be kept for "
			    "PostgreSQL");
	}
	sqlite3_free(cs);
	new_session();
	event_active(sm.kick, EV_TIMEOUT, 0);
}

static void
on_rollback(void)
{
	if (sm.sess != NULL)
		new_session();	/* what it recorded did not happen */
}

int
smirror_start(struct event_base *base, sqlite3 *db, struct pgc *pg)
{
	struct timeval tv = { 0, SM_TICK_MS * 1000 };

	memset(&sm, 0, sizeof(sm));
	sm.db = db;
	sm.pg = pg;
	sm.to = pg;
	if (new_session() != 0 || new_group() != 0 ||
	    (sm.kick = event_new(base, -1, 0, kick_cb, NULL)) == NULL ||
	    (sm.tick = event_new(base, -1, EV_PERSIST, kick_cb, NULL)) ==
	    NULL || event_add(sm.tick, &tv) != 0) {
		smirror_stop();
		return -1;
	}
	idb_observe(on_commit, on_rollback);
	return 0;
}

void
smirror_stop(void)
{
	int i, k;

	idb_observe(NULL, NULL);
	if (sm.sess != NULL)
		sqlite3session_delete(sm.sess);
	if (sm.pending != NULL)
		sqlite3changegroup_delete(sm.pending);
	sqlite3_free(sm.inflight);
	if (sm.kick != NULL)
		event_free(sm.kick);
	if (sm.tick != NULL)
		event_free(sm.tick);
	for (i = 0; i < sm.ntab; i++) {
		free(sm.tab[i].name);
		for (k = 0; k < sm.tab[i].ncol; k++)
			free(sm.tab[i].col[k]);
	}
	memset(&sm, 0, sizeof(sm));
}

void
smirror_hold(bool on)
{
	sm.held = on;
	if (!on && sm.kick != NULL)
		event_active(sm.kick, EV_TIMEOUT, 0);
}

bool
smirror_busy(void)
{
	return sm.sending;
}

int
smirror_join(struct pgc *pg)
{
	int rc;

	if (sm.db == NULL || sm.sending)
		return -1;
	if ((rc = take_pending()) != 1)
		return rc;
	if (queue_inflight(pg) != 0)
		return -1;	/* the caller's transaction must not commit */
	sm.sending = true;
	sm.joined = true;
	return 1;
}

void
smirror_joined(bool committed)
{
	if (!sm.joined)
		return;
	txn_end(committed, NULL);
}

void
smirror_on_synced(void (*fn)(void))
{
	sm_on_synced = fn;
}

void
smirror_stats(struct smirror_stats *st)
{
	*st = sm.st;
}

bool
smirror_synced(void)
{
	return sm.inflight == NULL && sm.npending == 0;
}
