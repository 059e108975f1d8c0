/*
 * shortage.h — the ledger of tocsind's own resource shortages: check runs
 * and API connections lost because tocsind itself was out of a local
 * resource.  Written by the scheduler and the API, read by the `self`
 * check type (selfcheck.h) and /metrics; depends on nothing above it.
 */
#ifndef TOCSIN_SHORTAGE_H
#define TOCSIN_SHORTAGE_H

#include <stddef.h>

/*
 * shortage_note — a check run (check: its name), or an API accept (check
 * NULL), failed because tocsind is short of a local resource (err:
 * EMFILE, ENFILE, ENOMEM, EAGAIN, ENOBUFS).  Counted, and logged at most
 * once every 10 s.
 */
void shortage_note(int err, const char *check);

/* "file descriptors", "memory", "processes", "buffer space" for err. */
const char *shortage_resource(int err);

/* Runs and connections lost to a shortage since start. */
unsigned long shortage_total(void);

/* The latest one: its errno, and its check's name copied to check. */
int shortage_last(char *check, size_t len);

#endif
