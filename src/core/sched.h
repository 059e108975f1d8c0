/*
 * sched.h — the scheduler: one timer per check, runs through the check
 * type's callbacks, timeouts owned by the core, results into the state
 * machine.  Everything on the one event_base.
 */
#ifndef TOCSIN_SCHED_H
#define TOCSIN_SCHED_H

#include "core/check.h"
#include "core/conf.h"

struct event_base;

int sched_init(struct event_base *base);
void sched_shutdown(void);

/*
 * sched_start — arm a timer for every check of cf.  Checks without a
 * schedule yet get their first run spread over their interval by a hash
 * of their name (stable across restarts); checks carried over by
 * sched_transfer keep theirs.  Applies cf's concurrency caps.
 */
int sched_start(struct config *cf);
/* sched_stop — cancel every run in flight and disarm every timer of cf. */
void sched_stop(struct config *cf);
/*
 * sched_transfer — for a reload: every check of nw whose name and type
 * are unchanged takes over the status, last result and schedule of its
 * namesake in old.  Runs in flight in old are cancelled (the check then
 * runs again at once).  Call before sched_stop(old) and sched_start(nw).
 */
void sched_transfer(struct config *old, struct config *nw);
/* Run c as soon as a slot is free (after the current run if one is going). */
void sched_run_now(struct check *c);
/*
 * sched_result — feed a result in (the end of a run, or a passive result).
 * Takes ownership of r's contents.
 */
void sched_result(struct check *c, struct result *r);
/*
 * sched_set_gate — a cluster node runs only the checks it owns: a due
 * check for which runs_here() is false is not run and its timer stays
 * off (a node's timers are its own checks'), until sched_resume(c) puts
 * it back on its next slot, or sched_run_now(c) runs it.  NULL (the
 * default): every check runs.
 */
void sched_set_gate(bool (*runs_here)(const struct check *c));
void sched_resume(struct check *c);
/*
 * sched_set_result_hook — a check run from several places: take(c, r)
 * sees every result first; true, it took r (it is one place's, combined
 * elsewhere; r's contents are cleared after) and the state machine does
 * not see it, the check just runs on.  sched_result_combined() feeds the
 * combined result in past the hook.
 */
void sched_set_result_hook(bool (*take)(struct check *c, struct result *r));
void sched_result_combined(struct check *c, struct result *r);

#endif
