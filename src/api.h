/*
 * api.h — the HTTP API (evhttp + jansson) on api.listen.  Reads the
 * config in force through daemon_g; never blocks the loop.
 */
#ifndef TOCSIN_API_H
#define TOCSIN_API_H

struct event_base;
struct api;

/*
 * api_new — bind listen ("HOST:PORT", "[v6]:PORT") and serve.
 * RETURN VALUE: a new api (free with api_free), or NULL after logging why.
 */
struct api *api_new(struct event_base *base, const char *listen);
void api_free(struct api *api);

#endif
