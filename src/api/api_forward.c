/*
 * api_forward.c — a cluster follower passes the leader's routes on to the
 * leader (api.h: api_set_forward): the incident log, paging and everything
 * built on them live on the node that leads, and any node answers them.
 *
 * The request goes out as it came (method, path and query, body, the
 * client's Authorization and Content-Type), with X-Forwarded-For and
 * X-Tocsin-Forwarded-By added, on a connection of its own with a 10 s
 * timeout; the leader's status, Content-Type and body come back as they
 * are.  A leader that does not answer is a 502 saying which.  A client
 * that goes away first leaves the leader's answer to be dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/api.h"
#include "api/api_conn.h"
#include "api/api_forward.h"
#include "core/log.h"

struct fwd {
	struct evhttp_request *req;	/* the client's; NULL once it went */
	char *target;
};

static struct event_base *fwd_base;

void
api_forward_init(struct event_base *base)
{
	fwd_base = base;
}

static void
fwd_gone(void *arg)
{
	struct fwd *f = arg;

	f->req = NULL;
}

static void
fwd_done(struct evhttp_request *resp, void *arg)
{
	static const char *const keep[] = { "Content-Type", "Location",
	    "Allow", "Retry-After", "WWW-Authenticate", NULL };
	struct fwd *f = arg;
	struct evkeyvalq *in, *out;
	const char *v;
	int code, i;

	if (f->req == NULL)
		goto out;
	api_conn_unwatch(f->req);
	if (resp == NULL || (code = evhttp_request_get_response_code(resp))
	    == 0) {
		api_error(f->req, 502, "the cluster's leader (API on %s) did "
		    "not answer", f->target);
		goto out;
	}
	in = evhttp_request_get_input_headers(resp);
	out = evhttp_request_get_output_headers(f->req);
	for (i = 0; keep[i] != NULL; i++)
		if ((v = evhttp_find_header(in, keep[i])) != NULL)
			evhttp_add_header(out, keep[i], v);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_send_reply(f->req, code, NULL,
	    evhttp_request_get_input_buffer(resp));
out:
	free(f->target);
	free(f);
}

/* "HOST:PORT" or "[V6]:PORT" into host and port (host is new). */
static int
split_target(const char *t, char **host, unsigned short *port)
{
	const char *colon = strrchr(t, ':');
	unsigned char buf[16];
	long p;
	char *end;

	if (colon == NULL || colon == t)
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p <= 0 || p > 65535)
		return -1;
	if (t[0] == '[' && colon[-1] == ']')
		*host = strndup(t + 1, (size_t)(colon - t - 2));
	else
		*host = strndup(t, (size_t)(colon - t));
	*port = (unsigned short)p;
	/* an address only: a name would be looked up on the loop */
	if (*host == NULL || (inet_pton(AF_INET, *host, buf) != 1 &&
	    inet_pton(AF_INET6, *host, buf) != 1))
		return -1;
	return 0;
}

void
api_forward(struct evhttp_request *req, const char *target)
{
	static const char *const pass[] = { "Authorization", "Content-Type",
	    "Accept", "If-Match", "Idempotency-Key", NULL };
	struct evhttp_connection *conn;
	struct evhttp_request *out;
	struct evkeyvalq *in, *oh;
	struct fwd *f;
	unsigned short port;
	char *host = NULL, *peer;
	const char *v;
	ev_uint16_t pport;
	int i;

	if (split_target(target, &host, &port) == -1) {
		free(host);
		api_error(req, 502, "the cluster's leader gave no usable API "
		    "address (\"%s\")", target);
		return;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->target = strdup(target)) == NULL ||
	    (conn = evhttp_connection_base_new(fwd_base, NULL, host, port)) ==
	    NULL || (out = evhttp_request_new(fwd_done, f)) == NULL) {
		/* conn, if made, has no request: freed here */
		free(host);
		if (f != NULL)
			free(f->target);
		free(f);
		api_error(req, 500, "out of memory");
		return;
	}
	free(host);
	evhttp_connection_set_timeout(conn, 10);
	in = evhttp_request_get_input_headers(req);
	oh = evhttp_request_get_output_headers(out);
	for (i = 0; pass[i] != NULL; i++)
		if ((v = evhttp_find_header(in, pass[i])) != NULL)
			evhttp_add_header(oh, pass[i], v);
	evhttp_add_header(oh, "Host", target);
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer,
	    &pport);
	if (peer != NULL)
		evhttp_add_header(oh, "X-Forwarded-For", peer);
	evhttp_add_header(oh, "X-Tocsin-Forwarded", "1");
	evbuffer_add_buffer(evhttp_request_get_output_buffer(out),
	    evhttp_request_get_input_buffer(req));
	f->req = req;
	if (api_conn_watch(req, fwd_gone, f) == -1)
		f->req = req;	/* untracked: it cannot go before the reply */
	if (evhttp_make_request(conn, out, evhttp_request_get_command(req),
	    evhttp_request_get_uri(req)) != 0) {
		/* libevent may still call fwd_done: f stays, unlinked */
		api_conn_unwatch(req);
		f->req = NULL;
		api_error(req, 502, "cannot reach the cluster's leader (API "
		    "on %s)", target);
		return;
	}
	evhttp_connection_free_on_completion(conn);
}
