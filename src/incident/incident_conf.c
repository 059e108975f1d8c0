/*
 * incident_conf.c — the incidents { } section: correlation windows, the
 * priority matrix, retention, change and problem settings, and their
 * defaults.  Below the correlator (incident.c), change events (change.c)
 * and problems, which read it through incident_conf().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tocsin/plugin.h>

#include "core/conf.h"
#include "core/daemon.h"
#include "incident/incident_int.h"

/* ---- config: incidents { } ------------------------------------------ */

/* ITIL impact × urgency → priority; [impact][urgency], low/medium/high. */
static const int default_matrix[3][3] = {
	{ 5, 4, 3 },	/* impact low */
	{ 4, 3, 2 },	/* impact medium */
	{ 3, 2, 1 },	/* impact high */
};

static const struct tocsin_option inc_options[] = {
	{ "group_window", TOCSIN_OPT_DURATION, "30s", 0,
	    "failures of one group within this time join one incident" },
	{ "reopen_window", TOCSIN_OPT_DURATION, "10m", 0,
	    "a root cause failing again within this time reopens" },
	{ "resolve_delay", TOCSIN_OPT_DURATION, "0s", 0,
	    "all attached checks OK this long: resolved" },
	{ "close_after", TOCSIN_OPT_DURATION, "24h", 0,
	    "resolved this long: closed" },
	{ "priority_matrix", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "overrides: \"IMPACT/URGENCY=Pn\"" },
	{ "retention", TOCSIN_OPT_DURATION, "400d", 0,
	    "events, timeline and sent pages older than this are pruned "
	    "(daily rollups stay); 0 keeps everything" },
	{ "change_window", TOCSIN_OPT_DURATION, "30m", 0,
	    "a change of a root cause's check, host or group this long "
	    "before its incident opened is named as a possible cause; 0 "
	    "names none" },
	{ "problem_after", TOCSIN_OPT_INT, "3", 0,
	    "this many incidents of one root cause within problem_window "
	    "open a problem; 0 opens none" },
	{ "problem_window", TOCSIN_OPT_DURATION, "7d", 0,
	    "the window problem_after counts in" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static int
level_from(const char *s, size_t n)
{
	static const char *const level_names[] = { "low", "medium", "high" };
	int i;

	for (i = 0; i < 3; i++)
		if (strlen(level_names[i]) == n &&
		    strncmp(level_names[i], s, n) == 0)
			return i;
	return -1;
}

static int
inc_conf_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct inc_conf *ic;
	unsigned i, n;
	int rc = 0;

	(void)cf;
	if ((ic = calloc(1, sizeof(*ic))) == NULL)
		return -1;
	*state = ic;
	ic->group_window_ms = tocsin_conf_duration_ms(sec, "group_window");
	ic->reopen_window_ms = tocsin_conf_duration_ms(sec, "reopen_window");
	ic->resolve_delay_ms = tocsin_conf_duration_ms(sec, "resolve_delay");
	ic->close_after_ms = tocsin_conf_duration_ms(sec, "close_after");
	ic->retention_ms = tocsin_conf_duration_ms(sec, "retention");
	ic->change_window_ms = tocsin_conf_duration_ms(sec, "change_window");
	ic->problem_after = tocsin_conf_int(sec, "problem_after");
	ic->problem_window_ms = tocsin_conf_duration_ms(sec,
	    "problem_window");
	if (ic->problem_after < 0) {
		tocsin_conf_error(sec, "problem_after", "%ld is negative",
		    ic->problem_after);
		rc = -1;
	}
	memcpy(ic->matrix, default_matrix, sizeof(ic->matrix));
	n = tocsin_conf_list_size(sec, "priority_matrix");
	for (i = 0; i < n; i++) {
		const char *s = tocsin_conf_list_str(sec, "priority_matrix", i);
		const char *slash = strchr(s, '/'), *eq = strchr(s, '=');
		int im, ur;

		if (slash == NULL || eq == NULL || eq < slash ||
		    (im = level_from(s, (size_t)(slash - s))) < 0 ||
		    (ur = level_from(slash + 1, (size_t)(eq - slash - 1))) < 0 ||
		    (eq[1] != 'P' && eq[1] != 'p') || eq[2] < '1' ||
		    eq[2] > '5' || eq[3] != '\0') {
			tocsin_conf_error(sec, "priority_matrix", "\"%s\" is "
			    "not IMPACT/URGENCY=Pn (levels low, medium, "
			    "high; P1..P5)", s);
			rc = -1;
			continue;
		}
		ic->matrix[im][ur] = eq[2] - '0';
	}
	return rc;
}

static const struct conf_section inc_section = {
	"incidents", false, inc_options, NULL, inc_conf_load, NULL, free,
};

const struct inc_conf *
incident_conf(void)
{
	static const struct inc_conf def = {
		30000, 600000, 0, 86400000,
		{ { 5, 4, 3 }, { 4, 3, 2 }, { 3, 2, 1 } },
		400LL * 86400 * 1000,
		30LL * 60 * 1000,
		3, 7LL * 86400 * 1000,
	};
	const struct inc_conf *ic;

	ic = conf_section_state(daemon_g.cf, "incidents");
	return ic != NULL ? ic : &def;
}

int64_t
incident_change_window_s(void)
{
	return incident_conf()->change_window_ms / 1000;
}

int
incident_priority(const struct inc_conf *ic, enum level3 impact,
    enum level3 urgency)
{
	if ((unsigned)impact > 2 || (unsigned)urgency > 2)
		return 3;
	return ic->matrix[impact][urgency];
}

int
incident_register_config(void)
{
	return conf_section_register(&inc_section);
}
