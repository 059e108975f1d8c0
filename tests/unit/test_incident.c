/*
 * test_incident.c — the correlator's rules and the report, in-process on
 * a real SQLite file: the priority matrix (default and configured), the
 * grouping window, root causes through hosts and dependencies, and the
 * availability/MTTA/MTTR arithmetic.  State changes are published on the
 * bus exactly as the scheduler does.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sqlite3.h>

#include "api/api.h"
#include "core/bus.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "incident/idb.h"
#include "incident/incident.h"
#include "incident/incident_int.h"
#include "incident/maint.h"
#include "core/plugin.h"
#include "tap.h"

static char dir[256];

static const struct tocsin_option t_options[] = {
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static int
t_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	(void)chk;
	(void)cf;
	*priv = NULL;
	return 0;
}

static void
t_start(struct tocsin_run *run, void *priv)
{
	(void)priv;
	tocsin_run_finish(run, TOCSIN_OK, "ok");
}

static const struct tocsin_check_type t_type = {
	.name = "t", .options = t_options, .configure = t_configure,
	.start = t_start,
};

static struct config *
load(const char *text)
{
	struct conf_errors e = { NULL, 0 };
	char path[512];
	struct config *cf;
	FILE *fp;
	unsigned i;

	snprintf(path, sizeof(path), "%s/t.conf", dir);
	fp = fopen(path, "w");
	fprintf(fp, "daemon { state_dir = \"%s/state\" }\n%s", dir, text);
	fclose(fp);
	cf = conf_load(path, &e);
	for (i = 0; i < e.n; i++)
		printf("# config: %s\n", e.msgs[i]);
	conf_errors_free(&e);
	return cf;
}

/*
 * Sets c hard to state s and publishes the change at wall time at and
 * monotonic time mono (ms), as the scheduler does.
 */
static void
change_mono(struct config *cf, const char *name, enum check_state s,
    time_t at, int64_t mono)
{
	struct check *c = conf_check(cf, name);
	struct state_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.check = c;
	ev.old_state = c->st.hard_state;
	ev.new_state = s;
	ev.at = at;
	ev.at_mono = mono;
	ev.summary = "test";
	c->st.state = s;
	c->st.hard = true;
	c->st.hard_state = s;
	bus_publish(&ev);
}

/* The same, with a wall clock that never steps: mono follows at. */
static void
change(struct config *cf, const char *name, enum check_state s, time_t at)
{
	change_mono(cf, name, s, at, (int64_t)at * 1000);
}

static int
count(const char *sql)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_prepare_v2(incident_db(), sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static struct config *
start(const char *text)
{
	struct config *cf = load(text);
	char cmd[600];

	if (cf == NULL)
		return NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/state'", dir);
	if (system(cmd) != 0)
		return NULL;
	daemon_g.cf = cf;
	if (incident_init(daemon_g.base, cf) != 0) {
		conf_free(cf);
		return NULL;
	}
	return cf;
}

static void
stop(struct config *cf)
{
	incident_shutdown();
	maint_shutdown();
	bus_unsubscribe_all();
	api_routes_clear();
	conf_free(cf);
	daemon_g.cf = NULL;
}

static void
test_priority_matrix_default_and_configured(void)
{
	static const struct { enum level3 im, ur; int p; } itil[] = {
		{ LEVEL_HIGH, LEVEL_HIGH, 1 }, { LEVEL_HIGH, LEVEL_MEDIUM, 2 },
		{ LEVEL_MEDIUM, LEVEL_HIGH, 2 }, { LEVEL_HIGH, LEVEL_LOW, 3 },
		{ LEVEL_MEDIUM, LEVEL_MEDIUM, 3 }, { LEVEL_LOW, LEVEL_HIGH, 3 },
		{ LEVEL_MEDIUM, LEVEL_LOW, 4 }, { LEVEL_LOW, LEVEL_MEDIUM, 4 },
		{ LEVEL_LOW, LEVEL_LOW, 5 },
	};
	struct config *cf = load("t \"a\" { }\n");
	const struct inc_conf *ic;
	unsigned i;

	CHECK(cf != NULL);
	if (cf == NULL)
		return;
	ic = conf_section_state(cf, "incidents");
	CHECK(ic != NULL);
	for (i = 0; ic != NULL && i < sizeof(itil) / sizeof(itil[0]); i++)
		CHECK(incident_priority(ic, itil[i].im, itil[i].ur) ==
		    itil[i].p);
	CHECK(ic != NULL && ic->group_window_ms == 30000 &&
	    ic->reopen_window_ms == 600000 && ic->close_after_ms == 86400000);
	conf_free(cf);

	cf = load("incidents { priority_matrix = { \"low/low=P4\", "
	    "\"medium/high=P1\" } group_window = 1m }\n");
	CHECK(cf != NULL);
	if (cf == NULL)
		return;
	ic = conf_section_state(cf, "incidents");
	CHECK(incident_priority(ic, LEVEL_LOW, LEVEL_LOW) == 4);
	CHECK(incident_priority(ic, LEVEL_MEDIUM, LEVEL_HIGH) == 1);
	CHECK(incident_priority(ic, LEVEL_HIGH, LEVEL_HIGH) == 1);
	CHECK(incident_priority(ic, LEVEL_MEDIUM, LEVEL_MEDIUM) == 3);
	CHECK(ic->group_window_ms == 60000);
	conf_free(cf);
}

static void
test_grouping_window(void)
{
	struct config *cf = start(
	    "incidents { group_window = 30s }\n"
	    "t \"a\" { group = \"shop\" }\nt \"b\" { group = \"shop\" }\n"
	    "t \"c\" { group = \"shop\" }\nt \"d\" { group = \"shop\" }\n"
	    "t \"e\" { group = \"other\" }\nt \"f\" { }\n");
	time_t t = 1700000000;

	CHECK(cf != NULL);
	if (cf == NULL)
		return;
	change(cf, "a", STATE_CRITICAL, t);
	change(cf, "b", STATE_CRITICAL, t + 10);
	change(cf, "c", STATE_WARNING, t + 30);		/* still inside */
	change(cf, "e", STATE_CRITICAL, t + 5);		/* another group */
	change(cf, "f", STATE_CRITICAL, t + 6);		/* no group */
	change(cf, "d", STATE_CRITICAL, t + 31);	/* window over */
	CHECK(count("SELECT count(*) FROM incidents") == 4);
	CHECK(count("SELECT count(*) FROM incident_checks WHERE "
	    "incident_id = 1") == 3);
	CHECK(count("SELECT count(*) FROM incidents WHERE id = 1 AND "
	    "title = '3 checks of group shop are CRITICAL'") == 1);
	CHECK(count("SELECT count(*) FROM incidents WHERE root_cause = 'd' "
	    "AND id != 1") == 1);
	CHECK(count("SELECT count(*) FROM events") == 6);
	CHECK(incident_open_count() == 4);
	/* a member's recovery does not resolve; all of them do */
	change(cf, "a", STATE_OK, t + 40);
	CHECK(count("SELECT count(*) FROM incidents WHERE id = 1 AND "
	    "status = 'open'") == 1);
	change(cf, "b", STATE_OK, t + 41);
	change(cf, "c", STATE_OK, t + 42);
	CHECK(count("SELECT count(*) FROM incidents WHERE id = 1 AND "
	    "status = 'resolved'") == 1);
	CHECK(incident_open_count() == 3);
	stop(cf);
}

/*
 * Windows are durations on the monotonic clock: a step of the wall clock
 * (date -s, NTP's first sync, a resumed VM) neither groups what is hours
 * apart nor splits what is seconds apart, and a check failing again 20
 * minutes after its incident resolved opens a new one even if the wall
 * clock says it is an hour earlier (issue 14).  The wall times still go
 * to the log as they were read.
 */
static void
test_windows_ignore_wall_clock_steps(void)
{
	struct config *cf = start(
	    "incidents { group_window = 30s  reopen_window = 10m }\n"
	    "t \"a\" { group = \"shop\" }\nt \"b\" { group = \"shop\" }\n"
	    "t \"c\" { group = \"web\" }\nt \"d\" { group = \"web\" }\n"
	    "t \"e\" { }\n");
	time_t t = 1700000000;
	int64_t m = 5000000;	/* ms since some boot */

	CHECK(cf != NULL);
	if (cf == NULL)
		return;
	/* 5 s apart, but the wall clock stepped 2 h ahead between them */
	change_mono(cf, "a", STATE_CRITICAL, t, m);
	change_mono(cf, "b", STATE_CRITICAL, t + 7200, m + 5000);
	CHECK(count("SELECT count(*) FROM incidents") == 1);
	CHECK(count("SELECT count(*) FROM incident_checks WHERE "
	    "incident_id = 1") == 2);
	/* 2 min apart, the wall clock stepped 2 h back: not grouped */
	change_mono(cf, "c", STATE_CRITICAL, t + 7300, m + 10000);
	change_mono(cf, "d", STATE_CRITICAL, t + 100, m + 130000);
	CHECK(count("SELECT count(*) FROM incidents") == 3);
	/* resolved, failing 20 min later with the clock 1 h back: new */
	change_mono(cf, "e", STATE_CRITICAL, t + 200, m + 140000);
	change_mono(cf, "e", STATE_OK, t + 210, m + 150000);
	CHECK(count("SELECT count(*) FROM incidents WHERE root_cause = 'e' "
	    "AND status = 'resolved'") == 1);
	change_mono(cf, "e", STATE_CRITICAL, t + 210 - 3600 + 1200,
	    m + 150000 + 1200000);
	CHECK(count("SELECT count(*) FROM incidents WHERE root_cause = 'e'")
	    == 2);
	/* and 1 min after that, with the clock 1 h ahead: reopened */
	change_mono(cf, "e", STATE_OK, t + 5000, m + 1360000);
	change_mono(cf, "e", STATE_CRITICAL, t + 8600, m + 1420000);
	CHECK(count("SELECT count(*) FROM incidents WHERE root_cause = 'e'")
	    == 2);
	CHECK(count("SELECT count(*) FROM incidents WHERE root_cause = 'e' "
	    "AND status = 'open'") == 1);
	stop(cf);
}

static void
test_root_cause_through_hosts_and_dependencies(void)
{
	struct config *cf = start(
	    "host \"core\" { address = \"10.0.0.1\" check = \"core-ping\" }\n"
	    "host \"dist\" { address = \"10.0.0.2\" parents = { \"core\" } }\n"
	    "host \"web\" { address = \"10.0.0.3\" parents = { \"dist\" } }\n"
	    "t \"core-ping\" { }\n"
	    "t \"db\" { }\n"
	    "t \"http\" { host = \"web\" depends_on = { \"db\" } }\n");
	struct check *http, *core, *db;

	CHECK(cf != NULL);
	if (cf == NULL)
		return;
	http = conf_check(cf, "http");
	core = conf_check(cf, "core-ping");
	db = conf_check(cf, "db");
	CHECK(incident_root_of(http) == http);
	core->st.state = core->st.hard_state = STATE_CRITICAL;
	core->st.hard = true;
	/* through a host without a check (dist) up to core */
	CHECK(incident_root_of(http) == core);
	db->st.state = db->st.hard_state = STATE_CRITICAL;
	db->st.hard = true;
	/* dependencies are looked at first */
	CHECK(incident_root_of(http) == db);
	core->st.state = core->st.hard_state = STATE_OK;
	db->st.state = db->st.hard_state = STATE_OK;
	stop(cf);
}

static void
test_report_availability_mtta_mttr(void)
{
	struct config *cf = start("t \"a\" { group = \"g\" }\n"
	    "t \"b\" { group = \"g\" }\n");
	time_t t = 1700000000, since = t, until = t + 1000;
	json_t *r, *c, *g;
	size_t i;
	double av_a = -1, av_b = -1;

	CHECK(cf != NULL);
	if (cf == NULL)
		return;
	/* a: down 100 s before the period (state at since = CRITICAL),
	 * back at +50, down again +500..+700, and WARNING counts as up */
	change(cf, "a", STATE_CRITICAL, t - 100);
	change(cf, "a", STATE_OK, t + 50);
	change(cf, "a", STATE_CRITICAL, t + 500);
	change(cf, "a", STATE_WARNING, t + 700);
	/* b: down from +900 to +950 (its incident resolves then) */
	change(cf, "b", STATE_CRITICAL, t + 900);
	change(cf, "b", STATE_OK, t + 950);
	idb_commit();
	/* a's incident was acknowledged 60 s after it opened */
	idb_write("UPDATE incidents SET acknowledged_at = opened_at + 60 "
	    "WHERE root_cause = 'a'", "");
	idb_commit();
	r = incident_report(since, until);
	CHECK(r != NULL);
	if (r == NULL) {
		stop(cf);
		return;
	}
	json_array_foreach(json_object_get(r, "checks"), i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		double av = json_real_value(json_object_get(c, "availability"));

		if (strcmp(n, "a") == 0)
			av_a = av;
		if (strcmp(n, "b") == 0)
			av_b = av;
	}
	/* a: 50 + 200 = 250 s down of 1000; b: 50 s */
	CHECK(fabs(av_a - 75.0) < 1e-9);
	CHECK(fabs(av_b - 95.0) < 1e-9);
	g = json_array_get(json_object_get(r, "groups"), 0);
	CHECK(g != NULL && fabs(json_real_value(json_object_get(g,
	    "availability")) - 85.0) < 1e-9);
	/* opened in the period: a's reopened one was opened before; b's */
	CHECK(json_integer_value(json_object_get(r, "incidents")) == 1);
	json_decref(r);

	r = incident_report(t - 200, until);
	CHECK(r != NULL && json_integer_value(json_object_get(r,
	    "incidents")) == 2);
	/* b resolved after 50 s; a was reopened, so it is not resolved */
	CHECK(r != NULL && fabs(json_real_value(json_object_get(r,
	    "mttr_s")) - 50.0) < 1e-9);
	CHECK(r != NULL && fabs(json_real_value(json_object_get(r,
	    "mtta_s")) - 60.0) < 1e-9);
	json_decref(r);
	stop(cf);
}

int
main(void)
{
	char cmd[300];

	snprintf(dir, sizeof(dir), "/tmp/tocsin-test-incident-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	if (tocsin_register_type(&t_type) != 0 ||
	    incident_register_config() != 0 || maint_register_config() != 0)
		return 1;
	daemon_g.base = event_base_new();
	RUN(test_priority_matrix_default_and_configured);
	RUN(test_grouping_window);
	RUN(test_windows_ignore_wall_clock_steps);
	RUN(test_root_cause_through_hosts_and_dependencies);
	RUN(test_report_availability_mtta_mttr);
	event_base_free(daemon_g.base);
	plugins_unload();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return TAP_END();
}
