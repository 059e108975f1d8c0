/*
 * selfcheck.h — the built-in `self` check type, which turns the runs
 * tocsind could not make for lack of a local resource (shortage.h) into
 * an incident about tocsind rather than about the services it watches.
 */
#ifndef TOCSIN_SELFCHECK_H
#define TOCSIN_SELFCHECK_H

/* Registers the `self` check type.  RETURN VALUE: 0, or -1. */
int selfcheck_register(void);

#endif
