/*
 * conf_options.c — the option tables of checks and hosts: the keys every
 * check has, a check type's section, a host's section.  Shared by the
 * objects built from them (conf_objects.c) and by templates and apply
 * rules (conf_templates.c); part of the config parser (conf_int.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include "core/conf.h"
#include "core/conf_int.h"
#include "core/plugin.h"

/* Keys every check has, whatever its type (tocsin.conf(5)). */
const struct tocsin_option conf_common_options[] = {
	{ "interval", TOCSIN_OPT_DURATION, "1m", 0,
	    "time between runs while OK or hard non-OK" },
	{ "retry_interval", TOCSIN_OPT_DURATION, NULL, 0,
	    "time between runs while soft non-OK (default: interval, at "
	    "most 30s)" },
	{ "max_attempts", TOCSIN_OPT_INT, "3", 0,
	    "non-OK results in a row before the state is hard" },
	{ "timeout", TOCSIN_OPT_DURATION, "10s", 0,
	    "a run taking longer is cancelled" },
	{ "timeout_state", TOCSIN_OPT_STR, "critical", 0,
	    "result of a run that timed out: critical or unknown" },
	{ "host", TOCSIN_OPT_STR, NULL, 0, "the host this check runs on" },
	{ "group", TOCSIN_OPT_STR, NULL, 0, "a group name, for correlation" },
	{ "depends_on", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "checks this one needs: while one is hard non-OK this one is "
	    "UNREACHABLE" },
	{ "impact", TOCSIN_OPT_STR, "medium", 0, "low, medium or high" },
	{ "urgency", TOCSIN_OPT_STR, "medium", 0, "low, medium or high" },
	{ "flap_detection", TOCSIN_OPT_BOOL, "true", 0,
	    "detect flapping over the last 21 results" },
	{ "flap_low", TOCSIN_OPT_FLOAT, "25", 0,
	    "flapping stops below this percent state change" },
	{ "flap_high", TOCSIN_OPT_FLOAT, "50", 0,
	    "flapping starts above this percent state change" },
	{ "aberration", TOCSIN_OPT_BOOL, "false", 0,
	    "the check's RRD file carries Holt-Winters archives (read by an "
	    "aberration check)" },
	{ "locations", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "a cluster runs it on one node in each of these locations "
	    "(cluster { location }) and combines their results" },
	{ "quorum", TOCSIN_OPT_INT, NULL, 0,
	    "with locations: down only when at least this many locations "
	    "see it down (default: a majority)" },
	{ "use", TOCSIN_OPT_STR_LIST, NULL, 0,
	    "templates whose keys this check takes (later ones win; its own "
	    "keys win over all)" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static bool
is_common_option(const char *name)
{
	const struct tocsin_option *o;

	for (o = conf_common_options; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return true;
	return false;
}

/* Options of one check type's section. */
cfg_opt_t *
conf_type_options(const struct tocsin_check_type *t, struct conf_errors *errs)
{
	struct conf_optv o = { NULL, 0, 0, false };
	const struct tocsin_option *p;

	conf_optv_hook(&o);
	for (p = conf_common_options; p->name != NULL; p++)
		conf_optv_typed(&o, p->name, p->type, p->def, p->flags);
	for (p = t->options; p != NULL && p->name != NULL; p++) {
		if (is_common_option(p->name)) {
			conf_errorf(errs, "check type \"%s\": option \"%s\" "
			    "clashes with a common check key", t->name,
			    p->name);
			continue;
		}
		conf_optv_typed(&o, p->name, p->type, p->def, p->flags);
	}
	if (o.oom) {
		free(o.v);
		return NULL;
	}
	return o.v;
}

/* host "NAME" { } */
void
conf_host_options(struct conf_optv *h)
{
	conf_optv_hook(h);
	conf_optv_typed(h, "address", TOCSIN_OPT_STR, NULL, 0);
	conf_optv_typed(h, "check", TOCSIN_OPT_STR, NULL, 0);
	conf_optv_typed(h, "parents", TOCSIN_OPT_STR_LIST, NULL, 0);
	/* templates, and tags for apply rules (conf_templates.c) */
	conf_optv_typed(h, "use", TOCSIN_OPT_STR_LIST, NULL, 0);
	conf_optv_typed(h, "tags", TOCSIN_OPT_STR_LIST, NULL, 0);
	/* for the automatic host check (check = ping), see auto_host_checks */
	conf_optv_typed(h, "interval", TOCSIN_OPT_DURATION, NULL, 0);
	conf_optv_typed(h, "retry_interval", TOCSIN_OPT_DURATION, NULL, 0);
	conf_optv_typed(h, "max_attempts", TOCSIN_OPT_INT, NULL, 0);
	conf_optv_typed(h, "timeout", TOCSIN_OPT_DURATION, NULL, 0);
}
