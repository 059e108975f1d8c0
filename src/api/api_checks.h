/*
 * api_checks.h — the checks' routes of the API (status, the check list,
 * one check, run now, passive results, reload).
 */
#ifndef TOCSIN_API_CHECKS_H
#define TOCSIN_API_CHECKS_H

/* Adds the routes (once, at start-up).  RETURN VALUE: 0 or -1. */
int api_checks_init(void);
/*
 * A cluster node: every check gains "node", ran_by(c) — the node that
 * ran its last result (NULL: none yet).  Not called: no "node" key.
 */
struct check;
void api_checks_set_node(const char *(*ran_by)(const struct check *c));
/* And add(c, o) puts more keys in a check's object (its locations). */
#include <jansson.h>
void api_checks_set_extra(void (*add)(const struct check *c, json_t *o));

#endif
