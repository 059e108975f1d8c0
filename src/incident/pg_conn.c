/*
 * pg_conn.c — one asynchronous PostgreSQL session on the event loop
 * (pg_conn.h): connect, migrate the schema, then queries in pipeline
 * mode, batched per loop iteration.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "core/log.h"
#include "core/util.h"
#include "incident/pg_conn.h"
#include "incident/pg_schema.h"

#define PGC_BACKOFF_MIN_MS	1000
#define PGC_BACKOFF_MAX_MS	30000

struct pgq {
	char *sql;
	int n;
	char **params;
	pgc_result_fn fn;
	void *arg;
	bool got;		/* its result was delivered */
	struct pgq *next;
};

enum pgc_state { PGC_DOWN, PGC_CONNECTING, PGC_MIGRATING, PGC_UP,
    PGC_REFUSED };

/* Where the migration stands: what the command in flight is. */
enum pgc_mig { MIG_VERSION, MIG_STEP, MIG_COMMIT };

struct pgc {
	struct event_base *base;
	char *conninfo;
	PGconn *conn;
	struct event *ev;		/* the socket */
	short ev_what;
	struct event *retry;		/* reconnect timer */
	struct event *kick;		/* send the queue, this iteration */
	enum pgc_state st;
	enum pgc_mig mig;
	int mig_version;		/* read by MIG_VERSION, -1: none */
	bool mig_failed;
	struct pgq *queued, *queued_tail;	/* not sent */
	struct pgq *sent, *sent_tail;		/* awaiting results */
	unsigned nqueued, nsent, nsync;
	int backoff_ms;
	int backoff_max_ms;
	/* an outage is logged once a minute, not at every retry */
	char last_err[512];
	int64_t last_err_ms;		/* mono, when it was logged */
	unsigned repeats;		/* not logged since */
	int connect_ms;			/* the deadline to come up; 0: none */
	struct event *deadline;		/* connect, migrate: not up by then */
	void (*on_up)(void *, bool);
	void *arg;
	void (*on_notify)(void *, const char *);	/* pgc_on_notify() */
	void *notify_arg;
};

static void pgc_connect(struct pgc *c);
static void pgc_sock_cb(evutil_socket_t fd, short what, void *arg);

static void
pgq_free(struct pgq *q)
{
	int i;

	for (i = 0; i < q->n; i++)
		free(q->params[i]);
	free(q->params);
	free(q->sql);
	free(q);
}

/* Each query of *list gets NULL (the session is gone), and is freed. */
static void
pgq_fail_all(struct pgq **list, struct pgq **tail, unsigned *n)
{
	struct pgq *q;

	while ((q = *list) != NULL) {
		*list = q->next;
		if (!q->got && q->fn != NULL)
			q->fn(q->arg, NULL);
		pgq_free(q);
	}
	*tail = NULL;
	*n = 0;
}

/* Watch the socket for what (EV_READ / EV_WRITE); persist when up. */
static int
pgc_watch(struct pgc *c, short what)
{
	evutil_socket_t fd = PQsocket(c->conn);

	if (fd < 0)
		return -1;
	if (c->ev != NULL && event_get_fd(c->ev) == fd &&
	    c->ev_what == what)
		return event_pending(c->ev, what, NULL) ? 0 :
		    event_add(c->ev, NULL);
	if (c->ev != NULL)
		event_free(c->ev);
	c->ev = event_new(c->base, fd, what | (c->st == PGC_UP ||
	    c->st == PGC_MIGRATING ? EV_PERSIST : 0), pgc_sock_cb, c);
	c->ev_what = what;
	if (c->ev == NULL || event_add(c->ev, NULL) != 0)
		return -1;
	return 0;
}

static void
pgc_retry_later(struct pgc *c)
{
	struct timeval tv;

	tv.tv_sec = c->backoff_ms / 1000;
	tv.tv_usec = (c->backoff_ms % 1000) * 1000;
	evtimer_add(c->retry, &tv);
	c->backoff_ms *= 2;
	if (c->backoff_ms > c->backoff_max_ms)
		c->backoff_ms = c->backoff_max_ms;
}

/* The session is gone (or never came): fail what was sent, retry. */
static void
pgc_lost(struct pgc *c, const char *why)
{
	bool was_up = c->st == PGC_UP;
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", c->conn != NULL ?
	    PQerrorMessage(c->conn) : "");
	msg[strcspn(msg, "\n")] = '\0';
	{
		char line[512];
		int64_t now = mono_ms();

		snprintf(line, sizeof(line), "%s%s%s", why, msg[0] ? ": " : "",
		    msg);
		if (strcmp(line, c->last_err) == 0 &&
		    now - c->last_err_ms < 60000) {
			c->repeats++;
			log_debug("postgresql: %s; again in %d ms", line,
			    c->backoff_ms);
		} else {
			if (c->repeats > 0)
				log_warnx("postgresql: %s; again in %d ms (%u "
				    "more failures since the last line)",
				    line, c->backoff_ms, c->repeats);
			else
				log_warnx("postgresql: %s; again in %d ms",
				    line, c->backoff_ms);
			snprintf(c->last_err, sizeof(c->last_err), "%s", line);
			c->last_err_ms = now;
			c->repeats = 0;
		}
	}
	if (c->ev != NULL) {
		event_free(c->ev);
		c->ev = NULL;
	}
	if (c->conn != NULL) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	c->st = PGC_DOWN;
	c->nsync = 0;
	evtimer_del(c->deadline);
	pgq_fail_all(&c->sent, &c->sent_tail, &c->nsent);
	pgc_retry_later(c);
	if (was_up && c->on_up != NULL)
		c->on_up(c->arg, false);
}

/* Write what libpq holds; watch for writability while it holds some. */
static int
pgc_flush(struct pgc *c)
{
	int r = PQflush(c->conn);

	if (r < 0)
		return -1;
	return pgc_watch(c, r == 1 ? EV_READ | EV_WRITE : EV_READ);
}

/* ---- the schema ------------------------------------------------------- */

/* Nodes starting together migrate one after the other (the lock is the
 * transaction's), not into each other's CREATE TABLE. */
static const char pgc_version_sql[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(7630160);"
    "CREATE TABLE IF NOT EXISTS tocsin_schema ("
    "  one INT PRIMARY KEY DEFAULT 1 CHECK (one = 1),"
    "  version INT NOT NULL);"
    "INSERT INTO tocsin_schema (version) VALUES (0) ON CONFLICT DO NOTHING;"
    "SELECT version FROM tocsin_schema FOR UPDATE";

/* Read the version (MIG_VERSION) or commit (MIG_COMMIT), simple protocol. */
static int
pgc_mig_send(struct pgc *c, enum pgc_mig step)
{
	c->mig = step;
	c->mig_failed = false;
	c->mig_version = -1;
	if (PQsendQuery(c->conn, step == MIG_VERSION ? pgc_version_sql :
	    "COMMIT") != 1)
		return -1;
	return pgc_flush(c);
}

/* Migrate from version from to from + 1 and commit, in one command. */
static int
pgc_mig_step(struct pgc *c, int from)
{
	size_t len = strlen(pg_migrations[from]) + 96;
	char *sql = malloc(len);
	int ok;

	if (sql == NULL)
		return -1;
	snprintf(sql, len, "%s;UPDATE tocsin_schema SET version = %d;COMMIT",
	    pg_migrations[from], from + 1);
	c->mig = MIG_STEP;
	c->mig_failed = false;
	c->mig_version = from + 1;
	ok = PQsendQuery(c->conn, sql);
	free(sql);
	return ok == 1 ? pgc_flush(c) : -1;
}

/* The queued queries go out as one pipeline batch. */
static void
pgc_send(struct pgc *c)
{
	struct pgq *q;

	if (c->st != PGC_UP || c->queued == NULL)
		return;
	while ((q = c->queued) != NULL) {
		if (PQsendQueryParams(c->conn, q->sql, q->n, NULL,
		    (const char *const *)q->params, NULL, NULL, 0) != 1) {
			pgc_lost(c, "cannot send a query");
			return;
		}
		c->queued = q->next;
		c->nqueued--;
		q->next = NULL;
		if (c->sent_tail != NULL)
			c->sent_tail->next = q;
		else
			c->sent = q;
		c->sent_tail = q;
		c->nsent++;
	}
	c->queued_tail = NULL;
	if (PQpipelineSync(c->conn) != 1) {
		pgc_lost(c, "cannot end a batch");
		return;
	}
	c->nsync++;
	if (pgc_flush(c) != 0)
		pgc_lost(c, "cannot write");
}

static void
pgc_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pgc_send(arg);
}

static void
pgc_up_now(struct pgc *c)
{
	if (PQenterPipelineMode(c->conn) != 1) {
		pgc_lost(c, "cannot enter pipeline mode");
		return;
	}
	c->st = PGC_UP;
	c->backoff_ms = PGC_BACKOFF_MIN_MS;
	evtimer_del(c->deadline);
	if (c->last_err[0] != '\0')
		log_info("postgresql: connected again, schema version %d (%u "
		    "failed attempt%s not logged)", pg_schema_version,
		    c->repeats, c->repeats == 1 ? "" : "s");
	else
		log_info("postgresql: connected, schema version %d",
		    pg_schema_version);
	c->last_err[0] = '\0';
	c->repeats = 0;
	if (pgc_watch(c, EV_READ) != 0) {
		pgc_lost(c, "cannot watch the socket");
		return;
	}
	if (c->on_up != NULL)
		c->on_up(c->arg, true);
	if (c->queued != NULL)
		event_active(c->kick, EV_TIMEOUT, 0);
}

/* One migration command's results are all in (r NULL): what next. */
static void
pgc_mig_done(struct pgc *c)
{
	int v = c->mig_version;

	if (c->mig_failed) {
		pgc_lost(c, "the schema could not be read or migrated");
		return;
	}
	switch (c->mig) {
	case MIG_VERSION:
		if (v < 0) {
			pgc_lost(c, "no schema version");
			return;
		}
		if (v > pg_schema_version) {
			log_warnx("postgresql: the database is at schema "
			    "version %d, newer than this tocsind's %d: "
			    "refused", v, pg_schema_version);
			if (c->ev != NULL)
				event_free(c->ev);
			c->ev = NULL;
			PQfinish(c->conn);
			c->conn = NULL;
			c->st = PGC_REFUSED;
			return;
		}
		if (v == pg_schema_version) {
			if (pgc_mig_send(c, MIG_COMMIT) != 0)
				pgc_lost(c, "cannot send COMMIT");
			return;
		}
		if (pgc_mig_step(c, v) != 0)
			pgc_lost(c, "cannot send a migration");
		return;
	case MIG_STEP:
		log_info("postgresql: schema migrated to version %d", v);
		if (pgc_mig_send(c, MIG_VERSION) != 0)
			pgc_lost(c, "cannot read the schema version");
		return;
	case MIG_COMMIT:
		pgc_up_now(c);
		return;
	}
}

/* Read what the socket has; hand results to their queries. */
static void
pgc_read(struct pgc *c)
{
	PGresult *r;
	ExecStatusType st;

	if (PQconsumeInput(c->conn) != 1) {
		pgc_lost(c, "connection lost");
		return;
	}
	if (c->st == PGC_UP) {
		PGnotify *n;

		while ((n = PQnotifies(c->conn)) != NULL) {
			if (c->on_notify != NULL)
				c->on_notify(c->notify_arg, n->relname);
			PQfreemem(n);
		}
	}
	while (c->st == PGC_MIGRATING) {
		if (PQisBusy(c->conn))
			return;
		if ((r = PQgetResult(c->conn)) == NULL) {
			pgc_mig_done(c);
			return;
		}
		st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			char *e = PQresultErrorMessage(r);

			log_warnx("postgresql: schema: %.*s",
			    (int)strcspn(e, "\n"), e);
			c->mig_failed = true;
		} else if (c->mig == MIG_VERSION && st == PGRES_TUPLES_OK &&
		    PQntuples(r) == 1)
			c->mig_version = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	while (c->st == PGC_UP && (c->sent != NULL || c->nsync > 0)) {
		struct pgq *q = c->sent;

		if (PQisBusy(c->conn))
			return;
		r = PQgetResult(c->conn);
		if (r == NULL) {	/* the end of one query's results */
			if (q == NULL || !q->got)
				return;
			c->sent = q->next;
			if (c->sent == NULL)
				c->sent_tail = NULL;
			c->nsent--;
			pgq_free(q);
			continue;
		}
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			if (c->nsync > 0)
				c->nsync--;
		} else if (q != NULL && !q->got) {
			q->got = true;
			if (q->fn != NULL)
				q->fn(q->arg, r);	/* may queue more */
		}
		PQclear(r);
	}
}

static void
pgc_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgc *c = arg;

	(void)fd;
	if (c->st == PGC_CONNECTING) {
		switch (PQconnectPoll(c->conn)) {
		case PGRES_POLLING_READING:
			if (pgc_watch(c, EV_READ) != 0)
				pgc_lost(c, "cannot watch the socket");
			return;
		case PGRES_POLLING_WRITING:
			if (pgc_watch(c, EV_WRITE) != 0)
				pgc_lost(c, "cannot watch the socket");
			return;
		case PGRES_POLLING_OK:
			if (PQsetnonblocking(c->conn, 1) != 0) {
				pgc_lost(c, "cannot make it non-blocking");
				return;
			}
			c->st = PGC_MIGRATING;
			if (c->ev != NULL)	/* again, persistent */
				event_free(c->ev);
			c->ev = NULL;
			if (pgc_mig_send(c, MIG_VERSION) != 0)
				pgc_lost(c, "cannot read the schema version");
			return;
		default:
			pgc_lost(c, "cannot connect");
			return;
		}
	}
	if ((what & EV_WRITE) && pgc_flush(c) != 0) {
		pgc_lost(c, "cannot write");
		return;
	}
	if (what & EV_READ)
		pgc_read(c);
}

/* The server's notices go to the log (debug), never to stderr. */
static void
pgc_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
}

static void
pgc_connect(struct pgc *c)
{
	if (c->connect_ms > 0) {
		struct timeval tv = { c->connect_ms / 1000,
		    (c->connect_ms % 1000) * 1000 };

		evtimer_add(c->deadline, &tv);
	}
	c->conn = PQconnectStart(c->conninfo);
	if (c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD) {
		pgc_lost(c, "cannot connect");
		return;
	}
	PQsetNoticeProcessor(c->conn, pgc_notice, NULL);
	c->st = PGC_CONNECTING;
	if (pgc_watch(c, EV_WRITE) != 0)
		pgc_lost(c, "cannot watch the socket");
}

/* Not up in time (a SYN into a partition waits minutes in the kernel). */
static void
pgc_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pgc *c = arg;

	(void)fd;
	(void)what;
	if (c->st == PGC_CONNECTING || c->st == PGC_MIGRATING)
		pgc_lost(c, "not connected in time");
}

static void
pgc_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pgc_connect(arg);
}

struct pgc *
pgc_new(struct event_base *base, const char *conninfo,
    void (*on_up)(void *, bool), void *arg)
{
	struct pgc *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->on_up = on_up;
	c->arg = arg;
	c->backoff_ms = PGC_BACKOFF_MIN_MS;
	c->backoff_max_ms = PGC_BACKOFF_MAX_MS;
	if ((c->conninfo = strdup(conninfo)) == NULL ||
	    (c->retry = evtimer_new(base, pgc_retry_cb, c)) == NULL ||
	    (c->deadline = evtimer_new(base, pgc_deadline_cb, c)) == NULL ||
	    (c->kick = event_new(base, -1, 0, pgc_kick_cb, c)) == NULL) {
		pgc_free(c);
		return NULL;
	}
	pgc_connect(c);
	return c;
}

void
pgc_on_notify(struct pgc *c, void (*fn)(void *arg, const char *channel),
    void *arg)
{
	c->on_notify = fn;
	c->notify_arg = arg;
}

void
pgc_free(struct pgc *c)
{
	if (c == NULL)
		return;
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->retry != NULL)
		event_free(c->retry);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->kick != NULL)
		event_free(c->kick);
	if (c->conn != NULL)
		PQfinish(c->conn);
	pgq_fail_all(&c->sent, &c->sent_tail, &c->nsent);
	pgq_fail_all(&c->queued, &c->queued_tail, &c->nqueued);
	free(c->conninfo);
	free(c);
}

bool
pgc_up(const struct pgc *c)
{
	return c->st == PGC_UP;
}

unsigned
pgc_pending(const struct pgc *c)
{
	return c->nqueued + c->nsent;
}

int
pgc_query(struct pgc *c, const char *sql, int n, const char *const *params,
    pgc_result_fn fn, void *arg)
{
	struct pgq *q = calloc(1, sizeof(*q));
	int i;

	if (q == NULL)
		return -1;
	q->fn = fn;
	q->arg = arg;
	if ((q->sql = strdup(sql)) == NULL ||
	    (n > 0 && (q->params = calloc((size_t)n, sizeof(char *))) ==
	    NULL)) {
		pgq_free(q);
		return -1;
	}
	for (i = 0; i < n; i++, q->n++)
		if (params[i] != NULL &&
		    (q->params[i] = strdup(params[i])) == NULL) {
			pgq_free(q);
			return -1;
		}
	if (c->queued_tail != NULL)
		c->queued_tail->next = q;
	else
		c->queued = q;
	c->queued_tail = q;
	c->nqueued++;
	if (c->st == PGC_UP)
		event_active(c->kick, EV_TIMEOUT, 0);
	return 0;
}

void
pgc_set_limits(struct pgc *c, int backoff_max_ms, int connect_ms)
{
	c->backoff_max_ms = backoff_max_ms > PGC_BACKOFF_MIN_MS ?
	    backoff_max_ms : PGC_BACKOFF_MIN_MS;
	if (c->backoff_ms > c->backoff_max_ms)
		c->backoff_ms = c->backoff_max_ms;
	c->connect_ms = connect_ms > 0 ? connect_ms : 0;
	if (c->connect_ms > 0 && (c->st == PGC_CONNECTING ||
	    c->st == PGC_MIGRATING)) {	/* the attempt under way, too */
		struct timeval tv = { c->connect_ms / 1000,
		    (c->connect_ms % 1000) * 1000 };

		evtimer_add(c->deadline, &tv);
	}
}

void
pgc_reset(struct pgc *c, const char *why)
{
	if (c->st == PGC_UP || c->st == PGC_CONNECTING ||
	    c->st == PGC_MIGRATING)
		pgc_lost(c, why);
}
