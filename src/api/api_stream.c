/*
 * api_stream.c — replies produced in bounded slices (api_stream()).
 *
 * A big reply built whole holds the loop for as long as it takes (the
 * list of 5 000 checks: tens of ms; 1 000 clients asking for it at once:
 * 6.3 s of loop lag, issue 14) and sits whole in memory per connection
 * however slowly the client reads (1 000 clients not reading: 1.65 GB).
 * Here a reply is a chunked one, produced a slice (about API_SLICE
 * bytes) at a time:
 *
 * - A stream makes its next slice only when the previous one has been
 *   written to the socket (evhttp's write callback): a client that does
 *   not read costs one slice of memory, and is dropped by evhttp's write
 *   timeout (api.request_timeout).
 * - Slices are made by one producer event, round robin over the streams
 *   that are ready, for at most API_BUDGET_US per loop turn; then it
 *   yields (a zero timer: it runs again after the loop has polled I/O and
 *   run due timers).  So however many clients ask, the loop is never held
 *   longer than that, and each ready stream gets a slice in turn: one
 *   client cannot starve the others.
 *
 * A stream ends when its function says so, or when its connection closes
 * (api_conn_watch(): at once, whoever closes it), or when the API is
 * freed (api_stream_abort_all(): the client sees the reply end early).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "api/api_conn.h"
#include "api/api_json.h"
#include "api/api_stream.h"
#include "core/log.h"
#include "core/util.h"

#define API_BUDGET_US	2000		/* producing, per loop turn */

struct api_stream {
	struct evhttp_request *req;	/* borrowed until the reply ends */
	api_stream_fn *fn;
	void (*free_fn)(void *);
	void *state;			/* owned, freed with free_fn */
	bool ready;			/* in the ready queue */
	TAILQ_ENTRY(api_stream) link;	/* ready queue, or all */
	TAILQ_ENTRY(api_stream) all;
};
TAILQ_HEAD(api_stream_list, api_stream);

static struct api_stream_list ready_q = TAILQ_HEAD_INITIALIZER(ready_q);
static struct api_stream_list all_q = TAILQ_HEAD_INITIALIZER(all_q);
static struct event *producer;
static struct event_base *producer_base;	/* the connections' */
static unsigned long streams_total;

static void api_stream_producer_cb(evutil_socket_t, short, void *);

static void
api_stream_arm(void)
{
	struct timeval zero = { 0, 0 };

	if (producer == NULL && (producer_base == NULL ||
	    (producer = evtimer_new(producer_base, api_stream_producer_cb,
	    NULL)) == NULL))
		return;
	if (!evtimer_pending(producer, NULL))
		evtimer_add(producer, &zero);
}

static void
api_stream_ready(struct api_stream *s)
{
	if (s->ready)
		return;
	s->ready = true;
	TAILQ_INSERT_TAIL(&ready_q, s, link);
	api_stream_arm();
}

/* Forget s: out of the queues, its state freed.  Nothing of req. */
static void
api_stream_forget(struct api_stream *s)
{
	if (s->ready)
		TAILQ_REMOVE(&ready_q, s, link);
	TAILQ_REMOVE(&all_q, s, all);
	if (s->free_fn != NULL)
		s->free_fn(s->state);
	free(s);
}

/* The reply is complete (or ends early): send its end, free s. */
static void
api_stream_end(struct api_stream *s)
{
	struct evhttp_request *req = s->req;

	/* first: ending the reply may free the connection, and call us */
	api_conn_unwatch(req);
	api_stream_forget(s);
	evhttp_send_reply_end(req);
}

/*
 * The connection is going, now (api_conn_watch()).  If the client left,
 * evhttp has detached the request and leaves it to us; if the connection
 * is being freed with the request still on it (a drop, evhttp_free()),
 * evhttp frees it.
 */
static void
api_stream_gone(void *arg)
{
	struct api_stream *s = arg;

	if (evhttp_request_get_connection(s->req) == NULL)
		evhttp_request_free(s->req);
	api_stream_forget(s);
}

static void
api_stream_written_cb(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	api_stream_ready(arg);
}

static void
api_stream_producer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_stream *s;
	struct evbuffer *buf;
	int64_t start = mono_us();
	int rc;

	(void)fd;
	(void)what;
	(void)arg;
	while ((s = TAILQ_FIRST(&ready_q)) != NULL) {
		if (mono_us() - start > API_BUDGET_US) {
			api_stream_arm();	/* the rest next turn */
			return;
		}
		TAILQ_REMOVE(&ready_q, s, link);
		s->ready = false;
		if ((buf = evbuffer_new()) == NULL)
			rc = -1;
		else
			rc = s->fn(s->state, buf);
		if (rc < 0)
			log_warnx("api: out of memory in a streamed reply; "
			    "it ends early");
		if (buf != NULL && evbuffer_get_length(buf) > 0)
			evhttp_send_reply_chunk_with_cb(s->req, buf,
			    rc == 0 ? api_stream_written_cb : NULL, s);
		else if (rc == 0)
			api_stream_ready(s);	/* nothing yet: again */
		if (buf != NULL)
			evbuffer_free(buf);
		if (rc != 0)
			api_stream_end(s);
	}
}

void
api_stream(struct evhttp_request *req, const char *type, api_stream_fn *fn,
    void (*free_fn)(void *), void *state)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct api_stream *s;

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ||
	    (s = calloc(1, sizeof(*s))) == NULL) {
		/* HEAD: the headers only (no length: it is not known) */
		if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
			evhttp_send_reply_start(req, HTTP_OK, "OK");
			evhttp_send_reply_end(req);
		} else
			api_reply(req, HTTP_INTERNAL, NULL);
		if (free_fn != NULL)
			free_fn(state);
		return;
	}
	if (producer_base == NULL)
		producer_base = evhttp_connection_get_base(
		    evhttp_request_get_connection(req));
	s->req = req;
	s->fn = fn;
	s->free_fn = free_fn;
	s->state = state;
	streams_total++;
	/*
	 * Untracked (out of memory at its accept), a closed connection would
	 * leave s waiting for a write callback that never comes: a leak of
	 * one stream, never a use of freed memory.
	 */
	(void)api_conn_watch(req, api_stream_gone, s);
	TAILQ_INSERT_TAIL(&all_q, s, all);
	evhttp_send_reply_start(req, HTTP_OK, "OK");
	api_stream_ready(s);
}

void
api_stream_abort_all(void)
{
	struct api_stream *s;

	while ((s = TAILQ_FIRST(&all_q)) != NULL)
		api_stream_end(s);
	if (producer != NULL)
		event_free(producer);
	producer = NULL;
}

unsigned long
api_streams_total(void)
{
	return streams_total;
}
