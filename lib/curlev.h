/*
 * lib/curlev.h — one libcurl multi handle driven by a libevent loop.
 *
 * Part of the internal library (lib/) that the core and the plugins both
 * link: each links its own copy, with hidden visibility, so a plugin's
 * copy never binds to tocsind's (which exports its symbols to plugins
 * with -export-dynamic) nor the other way round.
 *
 * Nothing here blocks: curl_multi_socket_action() is only ever called
 * from the multi's own events, never from curlev_add() or
 * curlev_remove(), so a done callback may freely add or remove transfers.
 */
#ifndef TOCSIN_LIB_CURLEV_H
#define TOCSIN_LIB_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

#pragma GCC visibility push(hidden)

/*
 * Called once per finished transfer, on the loop, after easy was removed
 * from the multi handle: the callee owns easy again (it cleans it up).
 */
typedef void curlev_done_cb(CURL *easy, CURLcode rc, void *arg);

/*
 * curlev_new — a multi handle whose sockets and timer are events on base.
 * RETURN VALUE: a new curlev (free with curlev_free), or NULL.
 */
struct curlev *curlev_new(struct event_base *base);
/*
 * curlev_add — start easy; cb(easy, rc, arg) runs when it ends, never
 * inside this call.  easy's CURLOPT_PRIVATE is curlev's while it runs.
 * RETURN VALUE: 0, or -1 (nothing was started; easy is still the
 * caller's).
 */
int curlev_add(struct curlev *cm, CURL *easy, curlev_done_cb *cb, void *arg);
/*
 * curlev_remove — abandon a transfer started by curlev_add(): its
 * callback is never called.  Harmless on a transfer that already ended.
 */
void curlev_remove(struct curlev *cm, CURL *easy);
/*
 * curlev_free — release the multi handle, its events and sockets.  Every
 * transfer must have ended or been removed.  Accepts NULL.
 */
void curlev_free(struct curlev *cm);

#pragma GCC visibility pop

#endif
