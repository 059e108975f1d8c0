/*
 * pool.h — a few worker threads for the reads of the metric store that
 * take CPU or wait for the disk (graphs, forecasts), so the loop never
 * does them.  A bounded queue in front: when it is full a request is
 * refused at once (the API answers 503 with Retry-After) rather than
 * queued behind minutes of work.
 */
#ifndef TOCSIN_POOL_H
#define TOCSIN_POOL_H

struct event_base;

/* Runs on a worker thread: touches nothing the loop owns. */
typedef void pool_work_fn(void *arg);
/* Runs on the loop once work is done: replies, frees arg. */
typedef void pool_done_fn(void *arg);

/*
 * pool_init — start workers threads with a queue of at most queue_max
 * jobs waiting (jobs being worked on do not count).  Called again (a
 * reload) it changes the queue limit and adds threads up to workers; it
 * never stops threads.  RETURN VALUE: 0, or -1 after logging why.
 */
int pool_init(struct event_base *base, unsigned workers, unsigned queue_max);
/* Finishes every queued job (their done callbacks run), stops the threads. */
void pool_shutdown(void);
/*
 * pool_submit — queue work(arg), then done(arg) on the loop.  Takes
 * nothing on failure: the caller still owns arg.  The queue limit is the
 * caller's to apply with pool_full() (API requests do; a forecast check's
 * run does not: checks are bounded by their number, and must not fail
 * because clients keep the pool busy).
 * RETURN VALUE: 0, or -1 (out of memory, or the pool is not running).
 */
int pool_submit(pool_work_fn *work, pool_done_fn *done, void *arg);
/*
 * Is the queue at its limit (queue_max jobs waiting beyond the ones the
 * workers have)?  Counts a refusal when it is.
 */
int pool_full(void);
/* Jobs waiting and being worked on, for /metrics and tests. */
unsigned pool_queued(void);
unsigned pool_busy(void);
/* Jobs refused because the queue was full, since start. */
unsigned long pool_refused(void);

#endif
