/*
 * lib/curlev.c — libcurl's multi interface driven by libevent.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to wake it up (CURLMOPT_TIMERFUNCTION); we turn both into events on the
 * caller's event_base and hand every wakeup back to curl with
 * curl_multi_socket_action().  Finished transfers are collected right
 * after that call returns, outside of any curl callback, so the done
 * callback may start or abandon other transfers.
 *
 * Owns the multi handle, its timer and one event per socket curl watches.
 * At thousands of transfers a second the per-transfer and per-socket
 * records were a visible share of the allocator's time, so finished ones
 * wait on free lists (at most CURLEV_SPARE each) and are used again; a
 * socket's event is re-assigned, not made anew.
 * Name resolution is curl's resolver (threaded or c-ares), never on the
 * loop; knows nothing of what the transfers are for.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "lib/curlev.h"

#define CURLEV_SPARE	256	/* records kept on each free list */

/* A socket curl asked us to watch; curl_multi_assign()ed to its fd. */
struct curlev_sock {
	struct curlev		*cm;
	struct event		*ev;
	struct curlev_sock	*prev, *next;	/* all live ones, for free */
};

/* What to call when a transfer ends; the easy handle's CURLOPT_PRIVATE. */
struct curlev_xfer {
	curlev_done_cb		*cb;
	void			*arg;
	struct curlev_xfer	*next;		/* on the free list */
};

struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct curlev_sock	*socks;
	struct curlev_sock	*spare_socks;	/* next-linked, events kept */
	unsigned		 nspare_socks;
	struct curlev_xfer	*spare_xfers;
	unsigned		 nspare_xfers;
};

/* Stop watching cs's socket; keep cs for the next socket if there is room. */
static void
curlev_sock_free(struct curlev_sock *cs)
{
	struct curlev *cm = cs->cm;

	if (cs->prev != NULL)
		cs->prev->next = cs->next;
	else
		cm->socks = cs->next;
	if (cs->next != NULL)
		cs->next->prev = cs->prev;
	if (cm->nspare_socks < CURLEV_SPARE) {
		event_del(cs->ev);
		cs->prev = NULL;
		cs->next = cm->spare_socks;
		cm->spare_socks = cs;
		cm->nspare_socks++;
		return;
	}
	event_free(cs->ev);
	free(cs);
}

static void
curlev_xfer_free(struct curlev *cm, struct curlev_xfer *x)
{
	if (x == NULL)
		return;
	if (cm->nspare_xfers < CURLEV_SPARE) {
		x->next = cm->spare_xfers;
		cm->spare_xfers = x;
		cm->nspare_xfers++;
		return;
	}
	free(x);
}

/* Hand every finished transfer to its owner (see the file comment). */
static void
curlev_collect(struct curlev *cm)
{
	struct curlev_xfer *x;
	CURLMsg *msg;
	CURLcode rc;
	CURL *easy;
	int left;

	while ((msg = curl_multi_info_read(cm->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(cm->multi, easy);	/* msg is gone */
		if (x == NULL)
			continue;	/* cannot happen: every easy has one */
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		x->cb(easy, rc, x->arg);
		curlev_xfer_free(cm, x);
	}
}

static void
curlev_on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cm = arg;
	int action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* the curlev_sock of fd may be freed inside: not used after this */
	curl_multi_socket_action(cm->multi, fd, action, &running);
	curlev_collect(cm);
}

static void
curlev_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cm = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(cm->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_collect(cm);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for `what`, or stop watching it. */
static int
curlev_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct curlev *cm = userp;
	struct curlev_sock *cs = socketp;
	short kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			curl_multi_assign(cm->multi, s, NULL);
			curlev_sock_free(cs);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (cs == NULL && (cs = cm->spare_socks) != NULL) {
		cm->spare_socks = cs->next;
		cm->nspare_socks--;
		event_assign(cs->ev, cm->base, s, kind, curlev_on_socket, cm);
		cs->next = cm->socks;
		if (cm->socks != NULL)
			cm->socks->prev = cs;
		cm->socks = cs;
		curl_multi_assign(cm->multi, s, cs);
	} else if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return -1;
		cs->cm = cm;
		if ((cs->ev = event_new(cm->base, s, kind, curlev_on_socket,
		    cm)) == NULL) {
			free(cs);
			return -1;
		}
		cs->next = cm->socks;
		if (cm->socks != NULL)
			cm->socks->prev = cs;
		cm->socks = cs;
		curl_multi_assign(cm->multi, s, cs);
	} else {
		event_del(cs->ev);
		event_assign(cs->ev, cm->base, s, kind, curlev_on_socket, cm);
	}
	return event_add(cs->ev, NULL) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: call curl back in timeout_ms (-1: never). */
static int
curlev_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *cm = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(cm->timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(cm->timer, &tv) == 0 ? 0 : -1;
}

struct curlev *
curlev_new(struct event_base *base)
{
	struct curlev *cm;

	if ((cm = calloc(1, sizeof(*cm))) == NULL)
		return NULL;
	cm->base = base;
	if ((cm->multi = curl_multi_init()) == NULL ||
	    (cm->timer = evtimer_new(base, curlev_on_timer, cm)) == NULL) {
		curlev_free(cm);
		return NULL;
	}
	curl_multi_setopt(cm->multi, CURLMOPT_SOCKETFUNCTION,
	    curlev_socket_cb);
	curl_multi_setopt(cm->multi, CURLMOPT_SOCKETDATA, cm);
	curl_multi_setopt(cm->multi, CURLMOPT_TIMERFUNCTION, curlev_timer_cb);
	curl_multi_setopt(cm->multi, CURLMOPT_TIMERDATA, cm);
	return cm;
}

int
curlev_add(struct curlev *cm, CURL *easy, curlev_done_cb *cb, void *arg)
{
	struct curlev_xfer *x;

	if ((x = cm->spare_xfers) != NULL) {
		cm->spare_xfers = x->next;
		cm->nspare_xfers--;
	} else if ((x = malloc(sizeof(*x))) == NULL)
		return -1;
	x->next = NULL;
	x->cb = cb;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
	/* arms the timer through curlev_timer_cb; the transfer starts there */
	if (curl_multi_add_handle(cm->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		curlev_xfer_free(cm, x);
		return -1;
	}
	return 0;
}

void
curlev_remove(struct curlev *cm, CURL *easy)
{
	struct curlev_xfer *x = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	curl_multi_remove_handle(cm->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	curlev_xfer_free(cm, x);
}

void
curlev_free(struct curlev *cm)
{
	struct curlev_sock *cs;
	struct curlev_xfer *x;

	if (cm == NULL)
		return;
	if (cm->multi != NULL)
		curl_multi_cleanup(cm->multi);	/* may close cached sockets */
	while (cm->socks != NULL)
		curlev_sock_free(cm->socks);
	while ((cs = cm->spare_socks) != NULL) {
		cm->spare_socks = cs->next;
		event_free(cs->ev);
		free(cs);
	}
	while ((x = cm->spare_xfers) != NULL) {
		cm->spare_xfers = x->next;
		free(x);
	}
	if (cm->timer != NULL)
		event_free(cm->timer);
	free(cm);
}
