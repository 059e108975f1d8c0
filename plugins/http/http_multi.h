/*
 * plugins/http/http_multi.h — one libcurl multi handle on the daemon's loop.
 *
 * Every transfer of the http plugin runs on this one multi handle, whose
 * sockets and timer are libevent events on tocsin_event_base().  Nothing
 * here blocks: curl_multi_socket_action() is only ever called from those
 * events, never from hm_add() or hm_remove(), so a done callback may
 * freely add or remove transfers.
 */
#ifndef TOCSIN_HTTP_MULTI_H
#define TOCSIN_HTTP_MULTI_H

#include <curl/curl.h>

/*
 * Called once per finished transfer, after the easy handle was removed
 * from the multi handle; the callee owns easy again (it cleans it up).
 */
typedef void (*hm_done_cb)(CURL *easy, CURLcode rc, void *arg);

/* Start a transfer.  RETURN VALUE: 0, or -1 (nothing was started). */
int	hm_add(CURL *easy, hm_done_cb cb, void *arg);
/* Abandon a transfer started by hm_add(); its callback is never called. */
void	hm_remove(CURL *easy);
/* Release the multi handle, its events and sockets (plugin fini). */
void	hm_shutdown(void);

#endif /* TOCSIN_HTTP_MULTI_H */
