/*
 * api.h — the HTTP API server (evhttp + jansson) on api.listen: the route
 * table and access.  Never blocks the loop.
 *
 * The server serves no data of its own (only GET /api/v1/routes): every
 * module that owns state (the checks in api_checks.c, /metrics, the
 * dashboard, incidents, metrics, paging) serves its own endpoints.  At
 * start-up it adds routes with api_route_add() and builds its replies
 * with the helpers of api_json.h (and api_stream.h for big ones), which
 * this header includes, so every answer has the same headers, error
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

#include "api/api_json.h"
#include "api/api_stream.h"

struct event_base;
struct api;

/*
 * api_new — bind listen ("HOST:PORT", "[v6]:PORT") and serve.
 * RETURN VALUE: a new api (free with api_free), or NULL after logging why.
 */
struct api *api_new(struct event_base *base, const char *listen);
/* The same for api.public_listen: serves the API_OUTSIDE routes only. */
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
 * 403.
 */
#define API_SIGNED	0x4
/*
 * API_OUTSIDE (with API_SIGNED): also served on api.public_listen, which
 * serves these routes and no other: the action links and the inbound
 * webhooks.  A signed route without it (a heartbeat's push URL) stays on
 * api.listen.
 */
#define API_OUTSIDE	0x8
/*
 * API_BATCHED: the handler's writes join the loop iteration's batch with
 * the checks' results (a heartbeat's push): no commit before it; its
 * reply waits for the batch's commit like every reply.
 */
#define API_BATCHED	0x10

/*
 * API_LEADER: the route belongs to the cluster's leader (the incident log,
 * paging); a follower passes it on to the leader (api_set_forward).  Set
 * with api_routes_mark_leader(), not by modules.
 */
#define API_LEADER	0x20
/*
 * api_route_add — serve method + path with handler.  Routes are tried in
 * the order added (the core's own first); see api.c for matching rules.
 * RETURN VALUE: 0, or -1 (out of memory).
 */
int api_route_add(enum evhttp_cmd_type method, const char *path,
    unsigned flags, api_handler *handler, void *arg);
void api_routes_clear(void);
/* How many routes there are; every route added since from is the leader's. */
unsigned api_route_count(void);
void api_routes_mark_leader(unsigned from);
/* And the routes of path (-1: there are none). */
int api_routes_mark_leader_path(const char *path);
/*
 * A cluster node: target() says where a request to a leader route goes —
 * NULL: served here (this node leads, or no cluster); "": nowhere (no
 * leader now: 503); else the leader's API address (api_forward.h).
 */
void api_set_forward(const char *(*target)(void));
/*
 * fn runs before a request that changes something is handled (a route
 * with API_MUTATES, or any method but GET to a signed route, unless it
 * has API_BATCHED): the incident log commits its pending writes there,
 * so an operator action's own commit holds nothing but the action, and
 * a failed one can be dropped alone.  Replies wait for the commit anyway
 * (api_set_commit_gate() in api_json.h).
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




#endif
