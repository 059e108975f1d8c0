/*
 * pool.c — worker threads for graphs and forecasts (pool.h).
 *
 * Jobs wait in a FIFO under pool_g.mu; a worker takes one, runs its work
 * function without the lock, and puts it on the done list; an eventfd
 * wakes the loop, which runs the done callbacks.  FIFO order is the
 * fairness: each request is one job, taken in arrival order, and the
 * queue limit bounds how long any accepted one waits.  librrd's graph
 * code is not reentrant, so graphs still draw one at a time under
 * metric_lock(); more workers help forecasts and the waits for the
 * writer, not graph throughput.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/util.h"
#include "metric/pool.h"

#define POOL_THREADS_MAX	64

struct pjob {
	pool_work_fn *work;
	pool_done_fn *done;
	void *arg;
	TAILQ_ENTRY(pjob) link;
};
TAILQ_HEAD(pjob_list, pjob);

static struct {
	pthread_mutex_t mu;
	pthread_cond_t work;
	struct pjob_list jobs;		/* waiting */
	struct pjob_list done;		/* worked, done callback due */
	unsigned nwaiting, nbusy, queue_max, nthreads;
	unsigned long refused;
	bool stopping;
	pthread_t threads[POOL_THREADS_MAX];
	int efd;
	struct event *ev;
} pool_g = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.jobs = TAILQ_HEAD_INITIALIZER(pool_g.jobs),
	.done = TAILQ_HEAD_INITIALIZER(pool_g.done),
	.efd = -1,
};

static void *
pool_thread(void *arg)
{
	struct pjob *j;
	uint64_t one = 1;

	(void)arg;
	thread_yield_to_loop();
	pthread_mutex_lock(&pool_g.mu);
	for (;;) {
		while (TAILQ_EMPTY(&pool_g.jobs) && !pool_g.stopping)
			pthread_cond_wait(&pool_g.work, &pool_g.mu);
		if ((j = TAILQ_FIRST(&pool_g.jobs)) == NULL)
			break;		/* stopping, and nothing left */
		TAILQ_REMOVE(&pool_g.jobs, j, link);
		pool_g.nwaiting--;
		pool_g.nbusy++;
		pthread_mutex_unlock(&pool_g.mu);
		j->work(j->arg);
		pthread_mutex_lock(&pool_g.mu);
		pool_g.nbusy--;
		TAILQ_INSERT_TAIL(&pool_g.done, j, link);
		/* a full counter (never, at 2^64) only delays the wakeup */
		(void)!write(pool_g.efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&pool_g.mu);
	return NULL;
}

/* On the loop: run the done callbacks of every finished job. */
static void
pool_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pjob_list l = TAILQ_HEAD_INITIALIZER(l);
	struct pjob *j;
	uint64_t n;

	(void)what;
	(void)arg;
	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&pool_g.mu);
	TAILQ_CONCAT(&l, &pool_g.done, link);
	pthread_mutex_unlock(&pool_g.mu);
	while ((j = TAILQ_FIRST(&l)) != NULL) {
		TAILQ_REMOVE(&l, j, link);
		j->done(j->arg);
		free(j);
	}
}

int
pool_init(struct event_base *base, unsigned workers, unsigned queue_max)
{
	int err;

	if (workers < 1)
		workers = 1;
	if (workers > POOL_THREADS_MAX)
		workers = POOL_THREADS_MAX;
	if (pool_g.efd == -1) {
		if ((pool_g.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
			log_warn("pool: eventfd");
			return -1;
		}
		pool_g.ev = event_new(base, pool_g.efd, EV_READ | EV_PERSIST,
		    pool_done_cb, NULL);
		if (pool_g.ev == NULL || event_add(pool_g.ev, NULL) != 0) {
			log_warnx("pool: cannot watch its eventfd");
			return -1;
		}
	}
	pthread_mutex_lock(&pool_g.mu);
	pool_g.queue_max = queue_max;
	pool_g.stopping = false;
	pthread_mutex_unlock(&pool_g.mu);
	while (pool_g.nthreads < workers) {
		if ((err = pthread_create(&pool_g.threads[pool_g.nthreads],
		    NULL, pool_thread, NULL)) != 0) {
			log_warnx("pool: cannot start a worker thread: %s",
			    strerror(err));
			return pool_g.nthreads > 0 ? 0 : -1;
		}
		pool_g.nthreads++;
	}
	return 0;
}

int
pool_submit(pool_work_fn *work, pool_done_fn *done, void *arg)
{
	struct pjob *j;

	pthread_mutex_lock(&pool_g.mu);
	if (pool_g.nthreads == 0 || pool_g.stopping) {
		pthread_mutex_unlock(&pool_g.mu);
		return -1;
	}
	pthread_mutex_unlock(&pool_g.mu);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&pool_g.mu);
	TAILQ_INSERT_TAIL(&pool_g.jobs, j, link);
	pool_g.nwaiting++;
	pthread_cond_signal(&pool_g.work);
	pthread_mutex_unlock(&pool_g.mu);
	return 0;
}

void
pool_shutdown(void)
{
	unsigned i;

	pthread_mutex_lock(&pool_g.mu);
	pool_g.stopping = true;
	pthread_cond_broadcast(&pool_g.work);
	pthread_mutex_unlock(&pool_g.mu);
	for (i = 0; i < pool_g.nthreads; i++)
		pthread_join(pool_g.threads[i], NULL);
	pool_g.nthreads = 0;
	if (pool_g.efd != -1)
		pool_done_cb(pool_g.efd, EV_READ, NULL);
	if (pool_g.ev != NULL)
		event_free(pool_g.ev);
	pool_g.ev = NULL;
	if (pool_g.efd != -1)
		close(pool_g.efd);
	pool_g.efd = -1;
}

int
pool_full(void)
{
	int full;

	pthread_mutex_lock(&pool_g.mu);
	full = pool_g.nthreads == 0 || pool_g.stopping ||
	    pool_g.nwaiting + pool_g.nbusy >= pool_g.queue_max + pool_g.nthreads;
	if (full)
		pool_g.refused++;
	pthread_mutex_unlock(&pool_g.mu);
	return full;
}

unsigned
pool_queued(void)
{
	unsigned n;

	pthread_mutex_lock(&pool_g.mu);
	n = pool_g.nwaiting;
	pthread_mutex_unlock(&pool_g.mu);
	return n;
}

unsigned
pool_busy(void)
{
	unsigned n;

	pthread_mutex_lock(&pool_g.mu);
	n = pool_g.nbusy;
	pthread_mutex_unlock(&pool_g.mu);
	return n;
}

unsigned long
pool_refused(void)
{
	unsigned long n;

	pthread_mutex_lock(&pool_g.mu);
	n = pool_g.refused;
	pthread_mutex_unlock(&pool_g.mu);
	return n;
}
