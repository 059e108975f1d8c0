/*
 * child.c — one SIGCHLD handler for the whole daemon.  Every child is
 * reaped here with waitpid(-1, WNOHANG), so no zombie is left whatever a
 * plugin does; watched pids get their callback on the loop.
 */
#include <errno.h>
#include <search.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <event2/event.h>
#include <tocsin/plugin.h>

#include "core/child.h"
#include "core/log.h"

struct watch {
	pid_t pid;
	tocsin_child_cb cb;
	void *arg;
};

static void *watches;
static struct event *sigchld_ev;

static int
watch_cmp(const void *a, const void *b)
{
	pid_t x = ((const struct watch *)a)->pid;
	pid_t y = ((const struct watch *)b)->pid;

	return x < y ? -1 : x > y;
}

int
tocsin_child_watch(pid_t pid, tocsin_child_cb cb, void *arg)
{
	struct watch *w, **found;

	if ((w = malloc(sizeof(*w))) == NULL)
		return -1;
	w->pid = pid;
	w->cb = cb;
	w->arg = arg;
	found = tsearch(w, &watches, watch_cmp);
	if (found == NULL) {
		free(w);
		return -1;
	}
	if (*found != w) {	/* pid reused while watched: replace */
		free(w);
		(*found)->cb = cb;
		(*found)->arg = arg;
	}
	return 0;
}

void
tocsin_child_unwatch(pid_t pid)
{
	struct watch key, **found, *w;

	key.pid = pid;
	if ((found = tfind(&key, &watches, watch_cmp)) == NULL)
		return;
	w = *found;
	tdelete(&key, &watches, watch_cmp);
	free(w);
}

static void
child_reap(evutil_socket_t sig, short what, void *arg)
{
	struct watch key, **found, w;
	int status;
	pid_t pid;

	(void)sig;
	(void)what;
	(void)arg;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		key.pid = pid;
		if ((found = tfind(&key, &watches, watch_cmp)) == NULL)
			continue;	/* a grandchild or an abandoned run */
		w = **found;
		tocsin_child_unwatch(pid);
		w.cb(pid, status, w.arg);
	}
	if (pid < 0 && errno != ECHILD)
		log_warn("waitpid");
}

int
child_init(struct event_base *base)
{
	sigchld_ev = evsignal_new(base, SIGCHLD, child_reap, NULL);
	if (sigchld_ev == NULL || evsignal_add(sigchld_ev, NULL) != 0) {
		log_warnx("cannot watch SIGCHLD");
		return -1;
	}
	return 0;
}

void
child_shutdown(void)
{
	if (sigchld_ev != NULL)
		event_free(sigchld_ev);
	sigchld_ev = NULL;
	tdestroy(watches, free);
	watches = NULL;
}
