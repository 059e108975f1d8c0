/*
 * api_conn.c — what the API's connections may take (api_conn.h).
 *
 * libevent 2.1's evhttp has no connection cap, a read timeout that every
 * byte re-arms (so one header byte every 5 s keeps a connection forever),
 * and a listener that logs and retries a failing accept() at once, which
 * at EMFILE is a busy loop writing the log full.  Measured at the usual
 * fd limit of 1 024 (issue 14): 1 100 idle connections, or 1 050 sending
 * a header byte every 5 s, left /api/v1/status unanswered and the checks
 * without descriptors.  Here:
 *
 * - Every connection is tracked from its accept: evhttp_set_bevcb() lets
 *   us make its bufferevent, and once evhttp has wrapped it (the same
 *   loop turn, before any byte is read) we take the connection from the
 *   bufferevent's callback argument and hook its close callback.  A
 *   reference on the bufferevent covers the moment in between.
 * - The cap (api_conn_cap()) is api.max_connections, at most half the
 *   descriptor limit, so API clients can never take the descriptors the
 *   checks, RRD files and the incident log need.  At the cap the oldest
 *   connection that is idle or still sending its request is closed, else
 *   the oldest one streaming a reply (api_stream.c), else the new one.
 * - A request must be complete within api.request_timeout of the accept
 *   (or of the previous reply on a kept-alive connection), however slowly
 *   its bytes come; an idle kept-alive connection goes after that too.
 *   The same figure is evhttp's read/write timeout, so a client that
 *   stops reading its reply is dropped after it.
 * - accept() failing for want of descriptors or memory pauses the
 *   listener for 100 ms (the connections wait in the kernel's backlog),
 *   closes the oldest idle connection to make room, counts a lost
 *   connection for the `self` check and logs at most every 10 s.
 * - After a burst the heap is returned to the system: every 10 s, when
 *   more than 32 MiB of it is free, malloc_trim() (glibc keeps freed
 *   pages otherwise: 1.66 GB ten minutes after 1 000 clients left).
 *
 * Never blocks; everything runs on the loop.  Costs: a linear search of
 * the open connections per request (at most the cap), and a sweep of
 * them every 500 ms.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "api/api_conf.h"
#include "api/api_conn.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/shortage.h"
#include "core/util.h"

#define CONN_SWEEP_MS		500
#define CONN_PAUSE_MS		100
#define CONN_LOG_MS		10000
#define CONN_TRIM_MS		10000
#define CONN_TRIM_FREE		(32u << 20)	/* bytes free in the heap */

struct api_conn {
	struct bufferevent *bev;	/* borrowed (a reference until adopted) */
	struct evhttp_connection *evcon; /* NULL until adopted */
	int64_t since_ms;		/* accept, or the last reply's end */
	bool busy;			/* a request is being answered */
	void (*gone)(void *);		/* a streamed reply to stop */
	void *gone_arg;
	TAILQ_ENTRY(api_conn) link;
};
TAILQ_HEAD(api_conn_list, api_conn);

struct api_listen {
	struct evconnlistener *listener;	/* borrowed: evhttp's */
	struct event *resume;
	struct evhttp *http;
	TAILQ_ENTRY(api_listen) link;
};

static struct {
	struct api_conn_list open;	/* adopted, oldest accept first */
	struct api_conn_list fresh;	/* accepted this loop turn */
	TAILQ_HEAD(, api_listen) listens;
	unsigned n, users;
	struct event *adopt, *sweep;
	unsigned long evicted, timed_out, pauses;
	int64_t log_ms, trim_ms;
	unsigned long log_pauses;	/* pauses at the last log line */
} cg = {
	.open = TAILQ_HEAD_INITIALIZER(cg.open),
	.fresh = TAILQ_HEAD_INITIALIZER(cg.fresh),
	.listens = TAILQ_HEAD_INITIALIZER(cg.listens),
};

unsigned
api_conn_cap(void)
{
	const struct api_conf *ac = api_conf(daemon_g.cf);
	unsigned long half = (daemon_g.nofile != 0 ? daemon_g.nofile :
	    1024) / 2;
	unsigned cap = ac != NULL ? ac->max_connections : 512;

	if (cap > half)
		cap = (unsigned)half;
	return cap < 8 ? 8 : cap;
}

static int64_t
api_conn_timeout_ms(void)
{
	const struct api_conf *ac = api_conf(daemon_g.cf);

	return ac != NULL ? ac->request_timeout_ms : 10000;
}

unsigned
api_conn_count(void)
{
	return cg.n;
}

unsigned long
api_conn_evicted(void)
{
	return cg.evicted;
}

unsigned long
api_conn_timed_out(void)
{
	return cg.timed_out;
}

unsigned long
api_conn_accept_pauses(void)
{
	return cg.pauses;
}

/* The connection was freed by evhttp (the client left, an error, EOF). */
static void
api_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct api_conn *c = arg;

	(void)evcon;
	TAILQ_REMOVE(&cg.open, c, link);
	cg.n--;
	if (c->gone != NULL)
		c->gone(c->gone_arg);
	free(c);
}

/*
 * Close c ourselves (cap, deadline): idle, still sending, or streaming a
 * reply (which stops now; evhttp frees its request with the connection).
 * Never one whose reply someone else will send (a graph being drawn).
 */
static void
api_conn_drop(struct api_conn *c)
{
	TAILQ_REMOVE(&cg.open, c, link);
	cg.n--;
	evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	if (c->gone != NULL)
		c->gone(c->gone_arg);
	evhttp_connection_free(c->evcon);
	free(c);
}

/*
 * Whom the cap closes to let the new connection in: the oldest other one
 * that is idle or still sending its request; failing that, the oldest
 * one streaming a reply (so that under a flood of big lists a new
 * request, /api/v1/status say, still gets in); failing that, the new one.
 * The new one has not had a loop turn to send its request yet: taking it
 * first whenever every other connection was streaming refused every
 * status probe (164 in 8 s) under bench/api-abuse's 1 000 list clients.
 */
static struct api_conn *
api_conn_victim(struct api_conn *fresh)
{
	struct api_conn *c, *best = NULL, *stream = NULL;

	TAILQ_FOREACH(c, &cg.open, link) {
		if (c == fresh)
			continue;
		if (!c->busy && (best == NULL || c->since_ms < best->since_ms))
			best = c;
		if (c->busy && c->gone != NULL && stream == NULL)
			stream = c;	/* the list is in accept order */
	}
	return best != NULL ? best : stream != NULL ? stream : fresh;
}

static struct bufferevent *
api_conn_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent *bev;
	struct api_conn *c;

	(void)arg;
	/* as evhttp makes its own: it closes the socket itself */
	if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return bev;		/* served, but not tracked */
	bufferevent_incref(bev);
	c->bev = bev;
	c->since_ms = mono_ms();
	TAILQ_INSERT_TAIL(&cg.fresh, c, link);
	event_active(cg.adopt, EV_TIMEOUT, 1);
	return bev;
}

/* Same loop turn as the accepts: take each new connection in. */
static void
api_conn_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	bufferevent_event_cb ecb;
	struct api_conn *c, *v;
	unsigned cap = api_conn_cap();
	void *cbarg;

	(void)fd;
	(void)what;
	(void)arg;
	while ((c = TAILQ_FIRST(&cg.fresh)) != NULL) {
		TAILQ_REMOVE(&cg.fresh, c, link);
		bufferevent_getcb(c->bev, NULL, NULL, &ecb, &cbarg);
		bufferevent_decref(c->bev);	/* evhttp holds its own */
		if (ecb == NULL || cbarg == NULL) {	/* freed meanwhile */
			free(c);
			continue;
		}
		c->evcon = cbarg;
		evhttp_connection_set_closecb(c->evcon, api_conn_close_cb, c);
		TAILQ_INSERT_TAIL(&cg.open, c, link);
		cg.n++;
		while (cg.n > cap) {
			if ((v = api_conn_victim(c)) == NULL)
				break;
			cg.evicted++;
			api_conn_drop(v);
		}
	}
}

static void
api_conn_trim(int64_t now)
{
	struct mallinfo2 mi;

	if (now - cg.trim_ms < CONN_TRIM_MS)
		return;
	cg.trim_ms = now;
	mi = mallinfo2();
	if (mi.fordblks > CONN_TRIM_FREE)
		malloc_trim(0);
}

static void
api_conn_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_conn *c, *next;
	int64_t now = mono_ms(), limit = api_conn_timeout_ms();

	(void)fd;
	(void)what;
	(void)arg;
	for (c = TAILQ_FIRST(&cg.open); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (!c->busy && now - c->since_ms > limit) {
			cg.timed_out++;
			api_conn_drop(c);
		}
	}
	api_conn_trim(now);
}

/* The connection of req, or NULL (not tracked, or gone). */
static struct api_conn *
api_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct api_conn *c;

	if (evcon == NULL)
		return NULL;
	TAILQ_FOREACH(c, &cg.open, link)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

static void
api_conn_done_cb(struct evhttp_request *req, void *arg)
{
	struct api_conn *c = arg;

	(void)req;
	c->busy = false;
	c->gone = NULL;
	c->since_ms = mono_ms();	/* the next request's deadline */
}

void
api_conn_request(struct evhttp_request *req)
{
	struct api_conn *c = api_conn_of(req);

	if (c == NULL)
		return;
	c->busy = true;
	/* runs before evhttp frees req: c is still there */
	evhttp_request_set_on_complete_cb(req, api_conn_done_cb, c);
}

int
api_conn_watch(struct evhttp_request *req, void (*gone)(void *), void *arg)
{
	struct api_conn *c = api_conn_of(req);

	if (c == NULL)
		return -1;
	c->gone = gone;
	c->gone_arg = arg;
	return 0;
}

void
api_conn_unwatch(struct evhttp_request *req)
{
	struct api_conn *c = api_conn_of(req);

	if (c != NULL)
		c->gone = NULL;
}

/* ---- accept errors --------------------------------------------------- */

static void
api_conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_listen *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->listener);
}

/* arg is the listener's own argument (evhttp's): find ours. */
static void
api_conn_accept_error_cb(struct evconnlistener *listener, void *arg)
{
	struct timeval tv = { 0, CONN_PAUSE_MS * 1000 };
	struct api_listen *l;
	struct api_conn *v;
	int err = EVUTIL_SOCKET_ERROR(), local;
	int64_t now = mono_ms();

	(void)arg;
	TAILQ_FOREACH(l, &cg.listens, link)
		if (l->listener == listener)
			break;
	if (l == NULL)
		return;

	local = err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
	/* libevent would retry at once, in a loop: wait instead */
	evconnlistener_disable(listener);
	evtimer_add(l->resume, &tv);
	cg.pauses++;
	if (local) {
		shortage_note(err, NULL);
		if ((v = api_conn_victim(NULL)) != NULL) {
			cg.evicted++;
			api_conn_drop(v);
		}
	}
	if (cg.log_ms != 0 && now - cg.log_ms < CONN_LOG_MS)
		return;
	log_warnx("api: accept: %s; accepting paused for %d ms (%lu time%s "
	    "since the last report; %u connections open, cap %u)",
	    strerror(err), CONN_PAUSE_MS, cg.pauses - cg.log_pauses,
	    cg.pauses - cg.log_pauses == 1 ? "" : "s", cg.n, api_conn_cap());
	cg.log_ms = now;
	cg.log_pauses = cg.pauses;
}

struct api_listen *
api_conn_serve(struct event_base *base, struct evhttp *http,
    struct evconnlistener *listener)
{
	struct timeval tv = { CONN_SWEEP_MS / 1000,
	    (CONN_SWEEP_MS % 1000) * 1000 };
	struct api_listen *l;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->resume = evtimer_new(base, api_conn_resume_cb, l)) == NULL)
		goto fail;
	l->listener = listener;
	l->http = http;
	if (cg.users == 0) {
		cg.adopt = event_new(base, -1, 0, api_conn_adopt_cb, NULL);
		cg.sweep = event_new(base, -1, EV_PERSIST, api_conn_sweep_cb,
		    NULL);
		if (cg.adopt == NULL || cg.sweep == NULL ||
		    event_add(cg.sweep, &tv) != 0) {
			if (cg.adopt != NULL)
				event_free(cg.adopt);
			if (cg.sweep != NULL)
				event_free(cg.sweep);
			cg.adopt = cg.sweep = NULL;
			goto fail;
		}
	}
	cg.users++;
	evhttp_set_bevcb(http, api_conn_bev_cb, NULL);
	evconnlistener_set_error_cb(listener, api_conn_accept_error_cb);
	TAILQ_INSERT_TAIL(&cg.listens, l, link);
	return l;
fail:
	log_warnx("api: out of memory watching connections");
	if (l != NULL && l->resume != NULL)
		event_free(l->resume);
	free(l);
	return NULL;
}

void
api_conn_unserve(struct api_listen *l)
{
	struct api_conn *c;

	if (l == NULL)
		return;
	TAILQ_REMOVE(&cg.listens, l, link);
	event_free(l->resume);
	free(l);
	if (--cg.users > 0)
		return;
	/* the connections themselves go with their evhttp */
	while ((c = TAILQ_FIRST(&cg.fresh)) != NULL) {
		TAILQ_REMOVE(&cg.fresh, c, link);
		bufferevent_decref(c->bev);
		free(c);
	}
	event_free(cg.adopt);
	event_free(cg.sweep);
	cg.adopt = cg.sweep = NULL;
}
