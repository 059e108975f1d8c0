/*
 * api.h — the HTTP API server (evhttp + jansson) on api.listen: the route
 * table, access, and the reply helpers.  Never blocks the loop.
 *
 * The server serves no data of its own (only GET /api/v1/routes): every
 * module that owns state (the checks in api_checks.c, /metrics, the
 * dashboard, incidents, metrics, paging) serves its own endpoints.  At
 * start-up it adds routes with api_route_add() and builds its replies
 * with the helpers below, so every answer has the same headers, error
 * shape ({"error":"message"}) and JSON conventions.
 */
#ifndef TOCSIN_API_H
#define TOCSIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/http.h>
#include <jansson.h>

struct evbuffer;
struct event_base;
struct api;

/*
 * api_new — bind listen ("HOST:PORT", "[v6]:PORT") and serve.
 * RETURN VALUE: a new api (free with api_free), or NULL after logging why.
 */
struct api *api_new(struct event_base *base, const char *listen);
/* The same for api.public_listen: serves the API_SIGNED routes only. */
struct api *api_new_public(struct event_base *base, const char *listen);
void api_free(struct api *api);

/*
 * A handler answers req (exactly once, now or later).  rest: for a prefix
 * route (path ending in '/'), the rest of the path, still percent-encoded;
 * "" for an exact route.  arg: as given to api_route_add().
 */
typedef void api_handler(struct evhttp_request *req, const char *rest,
    void *arg);

/*
 * Route flags.  API_MUTATES: the route changes state, so every request
 * needs "Authorization: Bearer TOKEN" (the token in api.token_file), from
 * loopback too.  API_PUBLIC: never needs the token (the dashboard's page
 * and assets, which hold no data: the page asks for the token itself).
 * Neither: a read, open to loopback clients; it needs the token when
 * api.read_requires_token is set, or when the client is not on loopback
 * and api.allow_remote_reads is not set.  A route of any method other
 * than GET always gets API_MUTATES (and never API_PUBLIC).
 */
#define API_MUTATES	0x1
#define API_PUBLIC	0x2
/*
 * API_SIGNED: the handler authenticates each request itself (an action
 * link's HMAC, a vendor's webhook signature), so no token is asked for,
 * for any method, and an unauthenticated request is the handler's 401 or
 * 403.  These routes, and only these, are also served on
 * api.public_listen.
 */
#define API_SIGNED	0x4

/*
 * api_route_add — serve method + path with handler.  Routes are tried in
 * the order added (the core's own first); see api.c for matching rules.
 * RETURN VALUE: 0, or -1 (out of memory).
 */
int api_route_add(enum evhttp_cmd_type method, const char *path,
    unsigned flags, api_handler *handler, void *arg);
void api_routes_clear(void);
/*
 * fn runs before every request is handled: the incident log commits its
 * pending writes there, so whatever a client is shown is durable.
 */
void api_set_presync(void (*fn)(void));
/*
 * A handler that changed durable state calls api_sync() before it
 * replies: fn (the incident log's commit) writes it to disk.  RETURN
 * VALUE: 0, or -1 if it is not on disk (the handler answers 5xx).
 */
void api_set_sync(int (*fn)(void));
int api_sync(void);

/*
 * api_require_token — for a handler whose route is open to reads but
 * which answers one thing only with the token (a secret): true when the
 * request carries it, else replies 401 and returns false.
 */
bool api_require_token(struct evhttp_request *req);
/* Replies.  api_reply steals body; a NULL body becomes a 500. */
void api_reply(struct evhttp_request *req, int code, json_t *body);
void api_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends v as compact JSON text to buf.  RETURN VALUE: 0 or -1. */
int api_add_json(struct evbuffer *buf, const json_t *v);
/* Sends buf (a JSON text, kept by the caller) with code. */
void api_send(struct evhttp_request *req, int code, struct evbuffer *buf);
/* The same with another Content-Type (a PNG, text/plain, HTML). */
void api_send_type(struct evhttp_request *req, int code, const char *type,
    struct evbuffer *buf);

/*
 * api_stream — answer req 200 with a reply of Content-Type type made in
 * slices: fn(state, out) appends the next slice (about API_SLICE bytes;
 * less is fine) and returns 0 while more is to come, 1 after the last
 * one, -1 when out of memory (the reply ends early).  fn is called only
 * when the client has taken the previous slice, and only for a bounded
 * time per loop turn across all streams (api_stream.c).  Between calls
 * anything may change (a reload frees the config): state must hold
 * positions, not pointers into it.  free_fn(state) runs once, when the
 * reply is over or its client gone.  HEAD gets the headers only.
 */
#define API_SLICE	(16 * 1024)
typedef int api_stream_fn(void *state, struct evbuffer *out);
void api_stream(struct evhttp_request *req, const char *type,
    api_stream_fn *fn, void (*free_fn)(void *), void *state);
/* Ends every stream (before the server is freed). */
void api_stream_abort_all(void);
/* Streamed replies started since start-up. */
unsigned long api_streams_total(void);

/*
 * Request helpers.  Each answers the request itself (400/500) and returns
 * NULL when it fails, so a handler just returns.
 * api_path_name: the percent-decoded name in rest (free it).
 * api_body_json: the body parsed as a JSON object (json_decref it).
 */
char *api_path_name(struct evhttp_request *req, const char *rest,
    const char *what);
json_t *api_body_json(struct evhttp_request *req);
/*
 * api_query — the request's query string parsed into q by evhttp's own
 * parser ('+' is a space, %XX decoded); q is empty when there is none.
 * Free q with evhttp_clear_headers() and look keys up with
 * evhttp_find_header().  RETURN VALUE: 0, or -1 after replying 400 (q is
 * then empty).
 */
struct evkeyvalq;
int api_query(struct evhttp_request *req, struct evkeyvalq *q);

/*
 * JSON values; each returns a new reference or NULL (out of memory).
 * api_str: a string with invalid UTF-8 replaced; NULL → null.
 * api_num: a number, or null for NaN/inf.  api_time: RFC 3339 UTC or
 * null for 0.  api_set/api_append: add v (stolen) and set *err on failure.
 */
json_t *api_str(const char *s);
json_t *api_num(double d);
json_t *api_time(time_t t);
json_t *api_seconds(int64_t ms);
json_t *api_threshold(const char *text);
void api_set(json_t *o, const char *key, json_t *v, int *err);
void api_append(json_t *a, json_t *v, int *err);
/* Length of the well-formed UTF-8 sequence at s, or 0 (jansson's rules). */
size_t api_utf8_len(const unsigned char *s);

#endif
