/*
 * api_checks.h — the checks' routes of the API (status, the check list,
 * one check, run now, passive results, reload).
 */
#ifndef TOCSIN_API_CHECKS_H
#define TOCSIN_API_CHECKS_H

/* Adds the routes (once, at start-up).  RETURN VALUE: 0 or -1. */
int api_checks_init(void);

#endif
