/*
 * api_conn.h — the API's connections: a cap with the oldest idle one
 * evicted, a deadline for a whole request, accept paused when tocsind is
 * out of descriptors, and memory given back after a burst.  Internal to
 * src/api (api.c and api_stream.c call it).
 */
#ifndef TOCSIN_API_CONN_H
#define TOCSIN_API_CONN_H

#include <stdbool.h>

struct bufferevent;
struct event_base;
struct evconnlistener;
struct evhttp;
struct evhttp_request;

/* The cap in force: api.max_connections, at most half the fd limit. */
unsigned api_conn_cap(void);
/* Connections open now. */
unsigned api_conn_count(void);
/* Connections closed by the cap, by the deadline; accepts paused. */
unsigned long api_conn_evicted(void);
unsigned long api_conn_timed_out(void);
unsigned long api_conn_accept_pauses(void);

/*
 * api_conn_serve — track every connection of http (evhttp_set_bevcb) and
 * watch listener's accept errors.  Returns a handle for
 * api_conn_unserve(), or NULL after logging why.
 */
struct api_listen;
struct api_listen *api_conn_serve(struct event_base *base,
    struct evhttp *http, struct evconnlistener *listener);
void api_conn_unserve(struct api_listen *l);

/* A request is complete and handed to a route: its connection is busy. */
void api_conn_request(struct evhttp_request *req);
/*
 * gone(arg) runs once if req's connection closes before the reply ends
 * (a streamed reply, api_stream.c, stops then).  RETURN VALUE: 0, or -1
 * when the connection is not tracked (out of memory at accept).
 */
int api_conn_watch(struct evhttp_request *req, void (*gone)(void *),
    void *arg);
void api_conn_unwatch(struct evhttp_request *req);

#endif
