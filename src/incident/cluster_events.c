/*
 * cluster_events.c — a node's events to the leader through PostgreSQL,
 * spooled while it cannot be reached, consumed exactly once
 * (cluster_events.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/util.h"
#include "incident/cluster_events.h"
#include "incident/pg_conn.h"
#include "incident/spool.h"

/* How often the spool is looked at when nothing else happens. */
#define CEV_TICK_MS	250
/* At most one "dropped" line per this many seconds. */
#define CEV_DROP_LOG_S	60

struct ev {
	int64_t node_seq, at_ms;
	char *check, *body;
	struct ev *next;
};

struct evq {
	struct ev *head, *tail;
	uint64_t n;
};

struct cev {
	struct pgc *pg;
	char *node;
	struct spool *spool;
	void (*on_durable)(void *, int64_t);
	void *arg;
	int64_t seq_base, count;
	struct evq pending;	/* added, not sent or spooled yet */
	struct evq inflight;	/* in the transaction in flight */
	bool busy;		/* a transaction is in flight */
	uint64_t replay_n;	/* records the spool replay sent */
	struct event *kick, *tick;
	uint64_t added, committed, spooled, dropped, dropped_quiet;
	time_t drop_log;
};

static const char cev_insert_sql[] =
    "INSERT INTO cluster_events (node, node_seq, at_ms, check_name, body) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (node, node_seq) DO NOTHING";

static void cev_step(struct cev *e);

static void
ev_free(struct ev *v)
{
	free(v->check);
	free(v->body);
	free(v);
}

static void
evq_push(struct evq *q, struct ev *v)
{
	v->next = NULL;
	if (q->tail != NULL)
		q->tail->next = v;
	else
		q->head = v;
	q->tail = v;
	q->n++;
}

static void
evq_clear(struct evq *q)
{
	struct ev *v;

	while ((v = q->head) != NULL) {
		q->head = v->next;
		ev_free(v);
	}
	q->tail = NULL;
	q->n = 0;
}

static void
schedule(struct cev *e)
{
	event_active(e->kick, EV_TIMEOUT, 0);
}

/* Queue one event's INSERT on pg. */
static int
send_one(struct cev *e, int64_t node_seq, int64_t at_ms, const char *check,
    const char *body)
{
	char s[24], a[24];
	const char *p[5] = { e->node, s, a, check, body };

	snprintf(s, sizeof(s), "%lld", (long long)node_seq);
	snprintf(a, sizeof(a), "%lld", (long long)at_ms);
	return pgc_query(e->pg, cev_insert_sql, 5, p, NULL, NULL);
}

/* ---- the spool: records of node_seq, at_ms, check, body ------------- */

static int
spool_put(struct cev *e, const struct ev *v)
{
	size_t lc = strlen(v->check), lb = strlen(v->body);
	size_t len = 16 + 8 + lc + lb;
	uint32_t l32;
	char *buf;
	int rc;

	if (len > SPOOL_MAX_RECORD) {
		errno = EFBIG;
		return -1;
	}
	if ((buf = malloc(len)) == NULL)
		return -1;
	memcpy(buf, &v->node_seq, 8);
	memcpy(buf + 8, &v->at_ms, 8);
	l32 = (uint32_t)lc;
	memcpy(buf + 16, &l32, 4);
	l32 = (uint32_t)lb;
	memcpy(buf + 20, &l32, 4);
	memcpy(buf + 24, v->check, lc);
	memcpy(buf + 24 + lc, v->body, lb);
	rc = spool_append(e->spool, buf, len);
	free(buf);
	return rc;
}

static void
dropped(struct cev *e, const struct ev *v, int err)
{
	time_t now = time(NULL);

	e->dropped++;
	if (now < e->drop_log) {
		e->dropped_quiet++;
		return;
	}
	e->drop_log = now + CEV_DROP_LOG_S;
	log_warnx("cluster: event %lld of check %s dropped: cannot keep it "
	    "in the spool (%s)%s", (long long)v->node_seq, v->check,
	    err == ENOSPC ? "full: PostgreSQL has been away too long" :
	    strerror(err), e->dropped_quiet > 0 ? "; more were dropped since "
	    "the last such line" : "");
	e->dropped_quiet = 0;
}

/*
 * Put every event of q in the spool, then make it durable: on_durable
 * for each kept (in order), dropped for each that did not fit.  q is
 * emptied.  RETURN VALUE: 0, -1 when the spool could not be synced (q's
 * events are then kept in q: not durable, tried again).
 */
static int
spool_all(struct cev *e, struct evq *q)
{
	struct ev *v;
	struct evq kept = { NULL, NULL, 0 };

	if (q->head == NULL)
		return 0;
	while ((v = q->head) != NULL) {
		q->head = v->next;
		if (spool_put(e, v) == 0)
			evq_push(&kept, v);
		else {
			dropped(e, v, errno);
			ev_free(v);
		}
	}
	q->tail = NULL;
	q->n = 0;
	if (kept.head != NULL && spool_sync(e->spool) != 0) {
		log_warn("cluster: cannot sync the event spool");
		*q = kept;	/* not durable: kept, tried again */
		return -1;
	}
	while ((v = kept.head) != NULL) {
		kept.head = v->next;
		e->spooled++;
		if (e->on_durable != NULL)
			e->on_durable(e->arg, v->node_seq);
		ev_free(v);
	}
	return 0;
}

/* ---- sending --------------------------------------------------------- */

static void
direct_done(void *arg, const PGresult *r)
{
	struct cev *e = arg;
	struct ev *v;

	e->busy = false;
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK) {
		while ((v = e->inflight.head) != NULL) {
			e->inflight.head = v->next;
			e->committed++;
			if (e->on_durable != NULL)
				e->on_durable(e->arg, v->node_seq);
			ev_free(v);
		}
		e->inflight.tail = NULL;
		e->inflight.n = 0;
	} else {
		/* lost or refused: the spool keeps them (sent again later,
		 * stored once), and what came after goes behind them */
		if (r != NULL)
			log_warnx("cluster: events not committed (%.*s); "
			    "spooled", (int)strcspn(PQresultErrorMessage(r),
			    "\n"), PQresultErrorMessage(r));
		if (spool_all(e, &e->inflight) != 0) {
			/* older than pending: in front of it */
			if (e->inflight.tail != NULL) {
				e->inflight.tail->next = e->pending.head;
				if (e->pending.head == NULL)
					e->pending.tail = e->inflight.tail;
				e->pending.head = e->inflight.head;
				e->pending.n += e->inflight.n;
			}
			e->inflight.head = e->inflight.tail = NULL;
			e->inflight.n = 0;
		}
	}
	schedule(e);
}

struct replay {
	struct cev *e;
	int rc;
};

static int
replay_one(void *arg, const void *data, size_t len)
{
	struct replay *rp = arg;
	const char *b = data;
	int64_t seq, at;
	uint32_t lc, lb;
	char *check, *body;

	if (len < 24)
		return 0;	/* not ours: skipped */
	memcpy(&seq, b, 8);
	memcpy(&at, b + 8, 8);
	memcpy(&lc, b + 16, 4);
	memcpy(&lb, b + 20, 4);
	if ((size_t)lc + lb + 24 != len)
		return 0;
	check = strndup(b + 24, lc);
	body = strndup(b + 24 + lc, lb);
	if (check == NULL || body == NULL ||
	    send_one(rp->e, seq, at, check, body) != 0)
		rp->rc = -1;
	free(check);
	free(body);
	rp->e->replay_n++;
	return rp->rc;
}

static void
replay_done(void *arg, const PGresult *r)
{
	struct cev *e = arg;

	e->busy = false;
	if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK) {
		if (spool_clear(e->spool) != 0)
			log_warn("cluster: cannot clear the event spool (its "
			    "events are stored; they will be sent again and "
			    "stored once)");
		else {
			log_info("cluster: %llu spooled event%s sent",
			    (unsigned long long)e->replay_n,
			    e->replay_n == 1 ? "" : "s");
			e->committed += e->replay_n;
		}
	} else if (r != NULL)
		log_warnx("cluster: spooled events not committed: %.*s",
		    (int)strcspn(PQresultErrorMessage(r), "\n"),
		    PQresultErrorMessage(r));
	e->replay_n = 0;
	schedule(e);
}

/* One transaction of every spooled record, in order. */
static void
replay(struct cev *e)
{
	struct replay rp = { e, 0 };

	e->busy = true;
	e->replay_n = 0;
	pgc_query(e->pg, "BEGIN", 0, NULL, NULL, NULL);
	if (spool_replay(e->spool, replay_one, &rp) < 0 || rp.rc != 0) {
		log_warn("cluster: cannot read the event spool");
		pgc_query(e->pg, "ROLLBACK", 0, NULL, NULL, NULL);
		e->busy = false;
		return;
	}
	pgc_query(e->pg, "NOTIFY " CEV_CHANNEL, 0, NULL, NULL, NULL);
	pgc_query(e->pg, "COMMIT", 0, NULL, replay_done, e);
}

static void
cev_step(struct cev *e)
{
	struct ev *v;

	if (e->busy)
		return;
	/* behind the spool, or PostgreSQL away: into the spool */
	if (e->pending.head != NULL && (!pgc_up(e->pg) ||
	    spool_records(e->spool) > 0))
		(void)spool_all(e, &e->pending);
	if (!pgc_up(e->pg))
		return;
	if (spool_records(e->spool) > 0) {
		replay(e);
		return;
	}
	if (e->pending.head == NULL)
		return;
	e->inflight = e->pending;
	e->pending.head = e->pending.tail = NULL;
	e->pending.n = 0;
	e->busy = true;
	pgc_query(e->pg, "BEGIN", 0, NULL, NULL, NULL);
	for (v = e->inflight.head; v != NULL; v = v->next)
		send_one(e, v->node_seq, v->at_ms, v->check, v->body);
	pgc_query(e->pg, "NOTIFY " CEV_CHANNEL, 0, NULL, NULL, NULL);
	pgc_query(e->pg, "COMMIT", 0, NULL, direct_done, e);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cev_step(arg);
}

struct cev *
cev_new(struct event_base *base, struct pgc *pg, const char *node,
    const char *spool_path, uint64_t spool_max,
    void (*on_durable)(void *, int64_t), void *arg)
{
	struct cev *e = calloc(1, sizeof(*e));
	struct timeval tv = { 0, CEV_TICK_MS * 1000 }, now;

	if (e == NULL)
		return NULL;
	e->pg = pg;
	e->on_durable = on_durable;
	e->arg = arg;
	gettimeofday(&now, NULL);
	/* unique across restarts while the clock goes forward */
	e->seq_base = ((int64_t)now.tv_sec * 1000 + now.tv_usec / 1000) *
	    1000000;
	if ((e->node = strdup(node)) == NULL ||
	    (e->kick = event_new(base, -1, 0, kick_cb, e)) == NULL ||
	    (e->tick = event_new(base, -1, EV_PERSIST, kick_cb, e)) == NULL ||
	    event_add(e->tick, &tv) != 0) {
		cev_free(e);
		return NULL;
	}
	if ((e->spool = spool_open(spool_path, spool_max)) == NULL) {
		log_warn("cluster: cannot open the event spool %s", spool_path);
		cev_free(e);
		return NULL;
	}
	if (spool_records(e->spool) > 0)
		log_info("cluster: %llu event%s in the spool from before, to "
		    "send", (unsigned long long)spool_records(e->spool),
		    spool_records(e->spool) == 1 ? "" : "s");
	return e;
}

void
cev_free(struct cev *e)
{
	if (e == NULL)
		return;
	if (e->kick != NULL)
		event_free(e->kick);
	if (e->tick != NULL)
		event_free(e->tick);
	evq_clear(&e->pending);
	evq_clear(&e->inflight);
	spool_close(e->spool);
	free(e->node);
	free(e);
}

int64_t
cev_add(struct cev *e, const char *check, int64_t at_ms, const char *body)
{
	struct ev *v = calloc(1, sizeof(*v));

	if (v == NULL || (v->check = strdup(check)) == NULL ||
	    (v->body = strdup(body)) == NULL) {
		if (v != NULL)
			ev_free(v);
		return -1;
	}
	v->node_seq = e->seq_base + e->count++;
	v->at_ms = at_ms;
	evq_push(&e->pending, v);
	e->added++;
	schedule(e);
	return v->node_seq;
}

void
cev_stats(const struct cev *e, struct cev_stats *st)
{
	st->added = e->added;
	st->committed = e->committed;
	st->spooled = e->spooled;
	st->dropped = e->dropped;
	st->in_spool = spool_records(e->spool);
	st->queued = e->pending.n + e->inflight.n;
}

/* ---- consuming ------------------------------------------------------- */

struct consume {
	struct pgc *pg;
	void (*fn)(void *, const struct cev_row *, int);
	void (*done)(void *, bool, int);
	void *arg;
	int n;
	bool failed;
};

static int
row_cmp(const void *a, const void *b)
{
	const struct cev_row *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
consume_end(void *arg, const PGresult *r)
{
	struct consume *cs = arg;
	bool ok = !cs->failed && r != NULL &&
	    PQresultStatus(r) == PGRES_COMMAND_OK;

	if (cs->done != NULL)
		cs->done(cs->arg, ok, ok ? cs->n : 0);
	free(cs);
}

static void
consume_rows(void *arg, const PGresult *r)
{
	struct consume *cs = arg;
	struct cev_row *rows;
	int n, i;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		cs->failed = true;
		if (r == NULL) {	/* the session went: nothing happened */
			consume_end(cs, NULL);
			return;
		}
		pgc_query(cs->pg, "ROLLBACK", 0, NULL, consume_end, cs);
		return;
	}
	n = PQntuples(r);
	if ((rows = calloc((size_t)n + 1, sizeof(*rows))) == NULL) {
		cs->failed = true;
		pgc_query(cs->pg, "ROLLBACK", 0, NULL, consume_end, cs);
		return;
	}
	for (i = 0; i < n; i++) {
		rows[i].seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		rows[i].node = PQgetvalue(r, i, 1);
		rows[i].node_seq = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		rows[i].at_ms = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		rows[i].check = PQgetvalue(r, i, 4);
		rows[i].body = PQgetvalue(r, i, 5);
	}
	qsort(rows, (size_t)n, sizeof(*rows), row_cmp);
	cs->n = n;
	if (n > 0 && cs->fn != NULL)
		cs->fn(cs->arg, rows, n);	/* queues its writes */
	free(rows);
	pgc_query(cs->pg, "COMMIT", 0, NULL, consume_end, cs);
}

int
cev_consume(struct pgc *pg, int limit,
    void (*fn)(void *, const struct cev_row *, int),
    void (*done)(void *, bool, int), void *arg)
{
	struct consume *cs = calloc(1, sizeof(*cs));
	char lim[16];
	const char *p[1] = { lim };

	if (cs == NULL)
		return -1;
	cs->pg = pg;
	cs->fn = fn;
	cs->done = done;
	cs->arg = arg;
	snprintf(lim, sizeof(lim), "%d", limit > 0 ? limit : 1);
	if (pgc_query(pg, "BEGIN", 0, NULL, NULL, NULL) != 0 ||
	    pgc_query(pg, "DELETE FROM cluster_events WHERE seq IN "
	    "(SELECT seq FROM cluster_events ORDER BY seq LIMIT $1 "
	    "FOR UPDATE SKIP LOCKED) RETURNING seq, node, node_seq, at_ms, "
	    "check_name, body", 1, p, consume_rows, cs) != 0) {
		pgc_query(pg, "ROLLBACK", 0, NULL, NULL, NULL);
		free(cs);
		return -1;
	}
	return 0;
}
