/*
 * selfcheck.h — what tocsind knows about its own health: runs it could not
 * make for lack of a local resource, and the built-in `self` check type
 * that turns them into an incident about tocsind rather than about the
 * services it watches.
 */
#ifndef TOCSIN_SELFCHECK_H
#define TOCSIN_SELFCHECK_H

/* Registers the `self` check type.  RETURN VALUE: 0, or -1. */
int selfcheck_register(void);

/*
 * selfcheck_note — a check run (check: its name), or an API accept (check
 * NULL), failed because tocsind is short of a local resource (err:
 * EMFILE, ENFILE, ENOMEM, EAGAIN, ENOBUFS).  Counted for the next run of
 * the `self` check, and logged at most once every 10 s.
 */
void selfcheck_note(int err, const char *check);

/* "file descriptors", "memory", "processes", "buffers" for err. */
const char *selfcheck_resource(int err);

/* Runs lost to a local shortage since start (for /metrics, tests). */
unsigned long selfcheck_total(void);

#endif
