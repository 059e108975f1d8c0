/*
 * plugins/http/http_multi.c — libcurl's multi interface driven by libevent.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to wake it up (CURLMOPT_TIMERFUNCTION); we turn both into events on the
 * daemon's one event_base and hand every wakeup back to curl with
 * curl_multi_socket_action().  Finished transfers are collected right
 * after that call returns, outside of any curl callback, so the done
 * callback may start or abandon other transfers.
 *
 * The multi handle is made on the first hm_add(), not at plugin load, so
 * `tocsind -t` never opens anything.  Name resolution runs in curl's
 * resolver (threaded or c-ares; http.c refuses a libcurl that has
 * neither), never on the loop.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include <tocsin/plugin.h>

#include "http_multi.h"

/* A socket curl asked us to watch; curl_multi_assign()ed to its fd. */
struct hm_sock {
	struct event	*ev;
	struct hm_sock	*prev, *next;	/* all live ones, for hm_shutdown */
};

/* What to call when a transfer ends; the easy handle's CURLOPT_PRIVATE. */
struct hm_xfer {
	hm_done_cb	 cb;
	void		*arg;
};

static CURLM		*hm_multi;
static struct event	*hm_timer;
static struct hm_sock	*hm_socks;

static void
hm_sock_free(struct hm_sock *hs)
{
	if (hs->prev != NULL)
		hs->prev->next = hs->next;
	else
		hm_socks = hs->next;
	if (hs->next != NULL)
		hs->next->prev = hs->prev;
	event_free(hs->ev);
	free(hs);
}

/* Hand every finished transfer to its owner (see the file comment). */
static void
hm_collect(void)
{
	struct hm_xfer *x;
	CURLMsg *msg;
	CURLcode rc;
	CURL *easy;
	int left;

	while ((msg = curl_multi_info_read(hm_multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(hm_multi, easy);	/* msg is gone */
		if (x == NULL) {
			curl_easy_cleanup(easy);	/* cannot happen */
			continue;
		}
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		x->cb(easy, rc, x->arg);
		free(x);
	}
}

static void
hm_on_socket(evutil_socket_t fd, short what, void *arg)
{
	int action = 0, running;

	(void)arg;
	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* the hm_sock of fd may be freed inside: not used after this */
	curl_multi_socket_action(hm_multi, fd, action, &running);
	hm_collect();
}

static void
hm_on_timer(evutil_socket_t fd, short what, void *arg)
{
	int running;

	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(hm_multi, CURL_SOCKET_TIMEOUT, 0, &running);
	hm_collect();
}

/* CURLMOPT_SOCKETFUNCTION: watch s for `what`, or stop watching it. */
static int
hm_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct hm_sock *hs = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			curl_multi_assign(hm_multi, s, NULL);
			hm_sock_free(hs);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (hs == NULL) {
		if ((hs = calloc(1, sizeof(*hs))) == NULL)
			return -1;
		if ((hs->ev = event_new(tocsin_event_base(), s, kind,
		    hm_on_socket, NULL)) == NULL) {
			free(hs);
			return -1;
		}
		hs->next = hm_socks;
		if (hm_socks != NULL)
			hm_socks->prev = hs;
		hm_socks = hs;
		curl_multi_assign(hm_multi, s, hs);
	} else {
		event_del(hs->ev);
		event_assign(hs->ev, tocsin_event_base(), s, kind,
		    hm_on_socket, NULL);
	}
	return event_add(hs->ev, NULL) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: call curl back in timeout_ms (-1: never). */
static int
hm_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct timeval tv;

	(void)multi;
	(void)userp;
	if (timeout_ms < 0)
		return evtimer_del(hm_timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(hm_timer, &tv) == 0 ? 0 : -1;
}

static int
hm_init(void)
{
	if ((hm_multi = curl_multi_init()) == NULL)
		return -1;
	if ((hm_timer = evtimer_new(tocsin_event_base(), hm_on_timer,
	    NULL)) == NULL) {
		curl_multi_cleanup(hm_multi);
		hm_multi = NULL;
		return -1;
	}
	curl_multi_setopt(hm_multi, CURLMOPT_SOCKETFUNCTION, hm_socket_cb);
	curl_multi_setopt(hm_multi, CURLMOPT_TIMERFUNCTION, hm_timer_cb);
	return 0;
}

int
hm_add(CURL *easy, hm_done_cb cb, void *arg)
{
	struct hm_xfer *x;

	if (hm_multi == NULL && hm_init() == -1)
		return -1;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->cb = cb;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	/* arms the timer through hm_timer_cb; the transfer starts from it */
	if (curl_multi_add_handle(hm_multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -1;
	}
	return 0;
}

void
hm_remove(CURL *easy)
{
	struct hm_xfer *x = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (hm_multi != NULL)
		curl_multi_remove_handle(hm_multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(x);
}

void
hm_shutdown(void)
{
	if (hm_multi != NULL)
		curl_multi_cleanup(hm_multi);	/* may close cached sockets */
	hm_multi = NULL;
	while (hm_socks != NULL)
		hm_sock_free(hm_socks);
	if (hm_timer != NULL)
		event_free(hm_timer);
	hm_timer = NULL;
}
