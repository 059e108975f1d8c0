/*
 * cluster_checks.h — what a node keeps in PostgreSQL of each check it
 * runs, so that the node taking the check over goes on from there (issue
 * 19): soft or hard, the attempt, the last hard state, the flap history
 * and percent, when it last ran and with what summary, and which node
 * ran it.  A takeover loads these and neither resets a hard state nor
 * starts the flap history again; last_run_ms says whether the check is
 * overdue (then it runs at once).
 *
 * A save is one upsert of check_state on pg, in the loop iteration's
 * batch; it changes the row only when its last_run_ms is not older than
 * the row's, so a node cut off from the others that still runs a check
 * (until it is back, at most a lease) cannot write an older result over
 * the new owner's (the nodes' clocks must agree to within a check's
 * interval for this).
 *
 * On the loop thread only.
 */
#ifndef TOCSIN_CLUSTER_CHECKS_H
#define TOCSIN_CLUSTER_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "core/state.h"

struct pgc;

struct ccs_state {
	const char *name, *type;
	struct check_status st;
	const char *summary;		/* or NULL */
	int64_t last_run_ms;		/* Unix ms of the last result */
	const char *node;		/* who ran it (read only) */
};

/*
 * Save s for node.  done(arg, ok) may be NULL; ok false: not written
 * (lost session, an error) — a newer row left alone is ok.
 */
int ccs_save(struct pgc *pg, const char *node, const struct ccs_state *s,
    void (*done)(void *arg, bool ok), void *arg);
/*
 * Save v[0..n) for node in one statement (one transaction, however many
 * checks): what a loop turn's results make.  The names must differ.
 */
int ccs_save_batch(struct pgc *pg, const char *node,
    const struct ccs_state *v, size_t n, void (*done)(void *arg, bool ok),
    void *arg);
/*
 * v[0..n) as a PostgreSQL array literal ("{"a","b\\"c",NULL}"): a new
 * string, or NULL when out of memory.
 */
char *ccs_array_literal(const char *const *v, size_t n);
/*
 * Load the rows of names[0..n): fn(arg, v, k) with the k found (in any
 * order; valid during the call), k -1 when the query failed.
 */
int ccs_load(struct pgc *pg, const char *const *names, size_t n,
    void (*fn)(void *arg, const struct ccs_state *v, long k), void *arg);

/*
 * Load the rows other nodes than node saved whose state changed, or that
 * came to their node, at or after since_s (Unix s; 0: every such row),
 * as ccs_load.
 */
int ccs_load_others(struct pgc *pg, const char *node, int64_t since_s,
    void (*fn)(void *arg, const struct ccs_state *v, long k), void *arg);
/* The flap history as text, oldest first ("0022…", one digit a result). */
void ccs_history_text(const struct check_status *st,
    char out[FLAP_HISTORY + 1]);
/* And back into st (history, nhistory, history_pos). */
void ccs_history_parse(struct check_status *st, const char *text);

#endif
