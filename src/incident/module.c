/*
 * module.c — the incident module's entry points: opens the store (the
 * incident log, store.h), starts the correlator (incident.c), adds the
 * routes (incident_api.c, maint.c), and stops them in the reverse order.
 *
 * The parts depend on each other in one direction only: the routes call
 * the correlator and the store; the correlator calls the store and the
 * maintenance windows; the store calls nobody.  Only this file knows
 * them all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/conf.h"
#include "core/log.h"
#include "incident/change.h"
#include "incident/incident.h"
#include "incident/incident_int.h"
#include "incident/maint.h"
#include "incident/problem.h"
#include "incident/slo.h"
#include "incident/store.h"

int
incident_init(struct event_base *base, struct config *cf)
{
	char *path = NULL;

	if (mkdir(cf->state_dir, 0750) == -1 && errno != EEXIST) {
		log_warn("cannot create state_dir %s", cf->state_dir);
		return -1;
	}
	if (asprintf(&path, "%s/incidents.db", cf->state_dir) < 0)
		return -1;
	if (store_open(base, path) == -1) {
		log_errx("%s: the incident log cannot be used; not starting "
		    "(move the file away to start with an empty log)", path);
		free(path);
		return -1;
	}
	free(path);
	if (incident_start(base, cf) == -1) {
		store_close();
		return -1;
	}
	if (slo_start() == -1) {
		incident_stop();
		store_close();
		return -1;
	}
	if (incident_api_init() == -1 || maint_api_init() == -1 ||
	    change_api_init() == -1 || problem_api_init() == -1 ||
	    slo_api_init() == -1) {
		log_warnx("incidents: out of memory");
		return -1;
	}
	log_info("incidents: %u open, log in %s/incidents.db",
	    incident_open_count(), cf->state_dir);
	return 0;
}

void
incident_shutdown(void)
{
	slo_stop();
	incident_stop();
	store_close();
}

int
incident_begin(void)
{
	return store_begin();
}

int
incident_commit(void)
{
	return store_commit();
}

bool
incident_uncommitted(void)
{
	return store_txn_open();
}

void
incident_on_commit(void (*fn)(void))
{
	store_on_commit(fn);
}
