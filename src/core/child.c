/*
 * child.c — one SIGCHLD handler for the whole daemon.  Every child is
 * reaped here with waitpid(-1, WNOHANG), so no zombie is left whatever a
 * plugin does; watched pids get their callback on the loop.
 *
 * tocsind is a child subreaper (PR_SET_CHILD_SUBREAPER): a process that a
 * plugin run leaves behind (forked, setsid'd out of the run's process
 * group, so exec's kill of the group misses it — issue 14 saw 30 orphan
 * pairs in 10 minutes) becomes our child when its parent exits, instead
 * of init's.  SWEEP_DELAY_MS after a watched child ends, every child of
 * ours that nobody watches is such a leftover: it and its process group
 * are killed (and reaped here).  The delay is longer than exec's wait
 * for output after the exit (EXEC_LINGER_MS, 1 s).  Cost: one read of
 * /proc/self/task/TID/children per thread, at most every SWEEP_DELAY_MS.
 */
#include <dirent.h>
#include <errno.h>
#include <search.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <tocsin/plugin.h>

#include "core/child.h"
#include "core/log.h"

struct watch {
	pid_t pid;
	tocsin_child_cb cb;
	void *arg;
};

#define SWEEP_DELAY_MS	2000

static void *watches;
static struct event *sigchld_ev;
static struct event *sweep_ev;		/* NULL: not a subreaper */

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

/* Is pid one of ours that someone waits for? */
static bool
watched(pid_t pid)
{
	struct watch key;

	key.pid = pid;
	return tfind(&key, &watches, watch_cmp) != NULL;
}

/*
 * Kill pid (a child of ours nobody watches) and its process group, if it
 * leads one (setsid made it).  A child is not reaped until child_reap
 * runs on this loop, so its pid cannot be reused meanwhile.
 */
static void
sweep_kill(pid_t pid)
{
	char path[64], comm[64] = "?";
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((fp = fopen(path, "re")) != NULL) {
		if (fgets(comm, sizeof(comm), fp) != NULL)
			comm[strcspn(comm, "\n")] = '\0';
		fclose(fp);
	}
	if (getpgid(pid) == pid)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	log_info("killed pid %ld (%s) and its process group: left behind by "
	    "a plugin run", (long)pid, comm);
}

/* Every child of every thread of ours, unwatched: kill it. */
static void
child_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct dirent *de;
	char path[300];
	DIR *d;

	(void)fd;
	(void)what;
	(void)arg;
	if ((d = opendir("/proc/self/task")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		FILE *fp;
		long pid;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/children",
		    de->d_name);
		if ((fp = fopen(path, "re")) == NULL)
			continue;
		while (fscanf(fp, "%ld", &pid) == 1)
			if (pid > 0 && !watched((pid_t)pid))
				sweep_kill((pid_t)pid);
		fclose(fp);
	}
	closedir(d);
}

static void
child_reap(evutil_socket_t sig, short what, void *arg)
{
	struct watch key, **found, w;
	struct timeval delay = { SWEEP_DELAY_MS / 1000,
	    (SWEEP_DELAY_MS % 1000) * 1000 };
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
		/* what it leaves behind is ours now: look in a while */
		if (sweep_ev != NULL && !evtimer_pending(sweep_ev, NULL))
			evtimer_add(sweep_ev, &delay);
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
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		log_warn("cannot become a child subreaper; processes that "
		    "plugins leave behind in their own session are not killed");
	else if ((sweep_ev = evtimer_new(base, child_sweep, NULL)) == NULL)
		return -1;
	return 0;
}

void
child_shutdown(void)
{
	if (sigchld_ev != NULL)
		event_free(sigchld_ev);
	sigchld_ev = NULL;
	if (sweep_ev != NULL)
		event_free(sweep_ev);
	sweep_ev = NULL;
	tdestroy(watches, free);
	watches = NULL;
}
