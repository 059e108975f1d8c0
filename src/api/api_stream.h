/*
 * api_stream.h — replies produced in bounded slices (api_stream.c).
 * api.h includes it: a module's handlers include api.h only.
 */
#ifndef TOCSIN_API_STREAM_H
#define TOCSIN_API_STREAM_H

#include <event2/http.h>

struct evbuffer;

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

#endif
