/*
 * test_conf.c — the config module: durations, FILE:LINE errors, include
 * globs and the dependency graph, on real files in a temp dir with a
 * check type registered in-process.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/plugin.h"
#include "tap.h"

static char dir[256];

static const struct tocsin_option t_options[] = {
	{ "url", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED, "required" },
	{ "codes", TOCSIN_OPT_INT_LIST, "{200}", 0, "a list" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static int
t_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	(void)chk;
	if (strncmp(tocsin_conf_str(cf, "url"), "http", 4) != 0) {
		tocsin_conf_error(cf, "url", "\"%s\" is not an http URL",
		    tocsin_conf_str(cf, "url"));
		return -1;
	}
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
	.name = "web", .options = t_options, .configure = t_configure,
	.start = t_start,
};

/* Write dir/name with the text; returns the path (static buffer). */
static const char *
put(const char *name, const char *text)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Is there an error starting with prefix and containing needle? */
static int
has_error(const struct conf_errors *e, const char *prefix, const char *needle)
{
	unsigned i;

	for (i = 0; i < e->n; i++)
		if (strncmp(e->msgs[i], prefix, strlen(prefix)) == 0 &&
		    strstr(e->msgs[i], needle) != NULL)
			return 1;
	for (i = 0; i < e->n; i++)
		printf("#     got: %s\n", e->msgs[i]);
	printf("#     wanted: %s…%s\n", prefix, needle);
	return 0;
}

static struct config *
load(const char *name, const char *text, struct conf_errors *e)
{
	char path[512];

	snprintf(path, sizeof(path), "%s", put(name, text));
	return conf_load(path, e);
}

static void
test_durations_parse_every_unit(void)
{
	static const struct { const char *text; long long ms; } ok[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "5m", 300000 },
		{ "1h", 3600000 }, { "2d", 172800000 }, { "1w", 604800000 },
		{ "15", 15000 }, { "1.5s", 1500 }, { "0ms", 0 },
	};
	static const char *bad[] = { "", "s", "5 parsecs", "5x", "-1s",
	    "1e400s", "nan", "10mss", "5 s" };
	unsigned i;
	int64_t ms;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK(conf_parse_duration(ok[i].text, &ms) == 0);
		CHECK(ms == ok[i].ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(conf_parse_duration(bad[i], &ms) == -1);
}

static void
test_valid_config_loads_with_defaults(void)
{
	struct conf_errors e = { NULL, 0 };
	struct config *cf;
	struct check *c;

	cf = load("ok.conf",
	    "host \"h\" { address = \"127.0.0.1\" check = \"a\" }\n"
	    "web \"a\" { url = \"http://x/\" }\n"
	    "web \"b\" { url = \"http://y/\" host = \"h\" interval = 30s\n"
	    "  retry_interval = 5s max_attempts = 5 impact = high\n"
	    "  depends_on = { \"a\" } codes = { 200, 301 } }\n", &e);
	CHECK(cf != NULL);
	CHECK(e.n == 0);
	if (cf == NULL)
		return;
	CHECK(cf->nchecks == 2 && cf->nhosts == 1);
	c = conf_check(cf, "a");
	CHECK(c != NULL && c->interval_ms == 60000 && c->max_attempts == 3);
	CHECK(c != NULL && c->retry_ms == 30000 && c->timeout_ms == 10000);
	c = conf_check(cf, "b");
	CHECK(c != NULL && c->interval_ms == 30000 && c->retry_ms == 5000);
	CHECK(c != NULL && c->impact == LEVEL_HIGH && c->host != NULL);
	CHECK(c != NULL && c->ndepends == 1 && c->deps[0] == conf_check(cf, "a"));
	CHECK(conf_host(cf, "h")->check == conf_check(cf, "a"));
	conf_free(cf);
}

static void
test_every_error_has_file_and_line(void)
{
	struct conf_errors e = { NULL, 0 };
	struct config *cf;
	char p[600];

	put("inc.conf",
	    "web \"i\" {\n"
	    "  url = \"ftp://nope\"\n"		/* 2: plugin refuses */
	    "}\n");
	cf = load("bad.conf",
	    "web \"a\" {\n"			/* 1: missing url */
	    "  interval = \"5 parsecs\"\n"	/* 2: bad duration */
	    "  colour = blue\n"			/* 3: unknown key */
	    "}\n"
	    "web \"b\" { url = \"http://b\"\n"	/* 5 */
	    "  max_attempts = abc\n"		/* 6: not an integer */
	    "  host = \"nohost\"\n"		/* 7: unknown host */
	    "  impact = huge }\n"		/* 8: bad level */
	    "web \"a\" { url = \"http://a\" }\n"	/* 9: duplicate */
	    "include(\"inc.conf\")\n", &e);
	CHECK(cf == NULL);
	snprintf(p, sizeof(p), "%s/bad.conf:", dir);
#define AT(line, needle) do {						\
	char pre[700];							\
	snprintf(pre, sizeof(pre), "%s%d: ", p, line);			\
	CHECK(has_error(&e, pre, needle));				\
} while (0)
	AT(2, "\"5 parsecs\" is not a duration");
	AT(3, "unknown key \"colour\"");
	AT(6, "\"abc\" is not an integer");
	AT(7, "no host is named \"nohost\"");
	AT(8, "\"huge\" is not low, medium or high");
	AT(9, "duplicate check name \"a\"");
	snprintf(p, sizeof(p), "%s/inc.conf:", dir);
	AT(2, "url: \"ftp://nope\" is not an http URL");
#undef AT
	conf_errors_free(&e);
}

static void
test_missing_required_key_points_at_section(void)
{
	struct conf_errors e = { NULL, 0 };
	char pre[600];

	CHECK(load("req.conf", "\n\nweb \"x\" {\n interval = 5s\n}\n",
	    &e) == NULL);
	snprintf(pre, sizeof(pre), "%s/req.conf:3: ", dir);
	CHECK(has_error(&e, pre, "missing required key \"url\""));
	conf_errors_free(&e);
}

static void
test_dependency_cycle_is_found(void)
{
	struct conf_errors e = { NULL, 0 };
	char pre[600];

	CHECK(load("cyc.conf",
	    "web \"a\" { url = \"http://a\" depends_on = { \"b\" } }\n"
	    "web \"b\" { url = \"http://b\" depends_on = { \"c\" } }\n"
	    "web \"c\" { url = \"http://c\"\n"
	    "  depends_on = { \"a\" } }\n", &e) == NULL);
	CHECK(e.n == 1);
	/* reported once, at a depends_on line inside the cycle */
	snprintf(pre, sizeof(pre), "%s/cyc.conf:", dir);
	CHECK(has_error(&e, pre, "dependency cycle: "));
	CHECK(e.n == 1 && (strstr(e.msgs[0], "a -> b -> c -> a") ||
	    strstr(e.msgs[0], "b -> c -> a -> b") ||
	    strstr(e.msgs[0], "c -> a -> b -> c")));
	conf_errors_free(&e);
}

static void
test_cycle_through_host_check_is_found(void)
{
	struct conf_errors e = { NULL, 0 };

	/* a runs on host h whose check is b; b depends on a */
	CHECK(load("hcyc.conf",
	    "host \"h\" { check = \"b\" }\n"
	    "web \"a\" { url = \"http://a\" host = \"h\" }\n"
	    "web \"b\" { url = \"http://b\" depends_on = { \"a\" } }\n",
	    &e) == NULL);
	CHECK(e.n == 1 && strstr(e.msgs[0], "dependency cycle") != NULL);
	conf_errors_free(&e);
}

static void
test_host_parent_cycle_is_found(void)
{
	struct conf_errors e = { NULL, 0 };

	CHECK(load("pcyc.conf",
	    "host \"x\" { parents = { \"y\" } }\n"
	    "host \"y\" { parents = { \"z\" } }\n"
	    "host \"z\" { parents = { \"x\" } }\n", &e) == NULL);
	CHECK(e.n == 1 && strstr(e.msgs[0], "parents: dependency cycle"));
	conf_errors_free(&e);
}

static void
test_diamond_is_not_a_cycle(void)
{
	struct conf_errors e = { NULL, 0 };
	struct config *cf;

	cf = load("dia.conf",
	    "web \"top\" { url = \"http://t\" }\n"
	    "web \"l\" { url = \"http://l\" depends_on = { \"top\" } }\n"
	    "web \"r\" { url = \"http://r\" depends_on = { \"top\" } }\n"
	    "web \"bottom\" { url = \"http://b\" depends_on = { \"l\", \"r\" } }\n",
	    &e);
	CHECK(cf != NULL && e.n == 0);
	conf_free(cf);
	conf_errors_free(&e);
}

static void
test_include_glob_is_relative_and_sorted(void)
{
	struct conf_errors e = { NULL, 0 };
	struct config *cf;
	char sub[512];

	snprintf(sub, sizeof(sub), "%s/conf.d", dir);
	mkdir(sub, 0700);
	put("conf.d/b.conf", "web \"from-b\" { url = \"http://b\" }\n");
	put("conf.d/a.conf", "web \"from-a\" { url = \"http://a\" }\n");
	put("conf.d/ignored.txt", "this is not a config\n");
	cf = load("inc-main.conf",
	    "include(\"conf.d/*.conf\")\n"
	    "include(\"empty.d/*.conf\")\n"	/* matching nothing is fine */
	    "web \"main\" { url = \"http://m\" }\n", &e);
	CHECK(cf != NULL && e.n == 0);
	CHECK(cf != NULL && cf->nchecks == 3);
	CHECK(conf_check(cf, "from-a") != NULL);
	conf_free(cf);
	cf = load("inc-missing.conf", "include(\"nothere.conf\")\n", &e);
	CHECK(cf == NULL && e.n == 1 && strstr(e.msgs[0], "no such file"));
	conf_errors_free(&e);
}

static void
test_unknown_check_type_is_reported(void)
{
	struct conf_errors e = { NULL, 0 };
	char pre[600];

	CHECK(load("type.conf", "web \"a\" { url = \"http://a\" }\n"
	    "snmpx \"b\" { }\n", &e) == NULL);
	snprintf(pre, sizeof(pre), "%s/type.conf:2: ", dir);
	CHECK(has_error(&e, pre, "\"snmpx\""));
	conf_errors_free(&e);
}

/* ---- a core module's own sections (conf_section_register) ---------- */

static const struct tocsin_option m_step_opts[] = {
	{ "after", TOCSIN_OPT_DURATION, "0s", 0, "delay" },
	{ "notify", TOCSIN_OPT_STR_LIST, NULL, TOCSIN_OPT_REQUIRED, "who" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};
static const struct conf_section m_subs[] = {
	{ "step", false, m_step_opts, NULL, NULL, NULL, NULL },
	{ NULL, false, NULL, NULL, NULL, NULL, NULL },
};
static const struct tocsin_option m_opts[] = {
	{ "repeat", TOCSIN_OPT_INT, "0", 0, "repeats" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

struct m_state {
	char titles[128];
	long steps_after_ms;
	unsigned nsteps;
	int finished;
};

static int
m_load(struct config *cf, struct tocsin_conf *sec, void **state)
{
	struct m_state *st = *state;
	unsigned i, n;

	(void)cf;
	if (st == NULL && (st = *state = calloc(1, sizeof(*st))) == NULL)
		return -1;
	if (tocsin_conf_int(sec, "repeat") < 0) {
		tocsin_conf_error(sec, "repeat", "must be >= 0");
		return -1;
	}
	strncat(st->titles, conf_title(sec),
	    sizeof(st->titles) - strlen(st->titles) - 1);
	n = conf_sub_count(sec, "step");
	for (i = 0; i < n; i++) {
		struct tocsin_conf *step = conf_sub(sec, "step", i);

		st->steps_after_ms += tocsin_conf_duration_ms(step, "after");
		st->nsteps++;
	}
	return 0;
}

static void
m_finish(struct config *cf, void **state, struct conf_errors *errs)
{
	(void)cf;
	(void)errs;
	if (*state != NULL)
		((struct m_state *)*state)->finished++;
}

static const struct conf_section m_section = {
	"policy", true, m_opts, m_subs, m_load, m_finish, free,
};

static void
test_module_section_is_parsed_and_checked(void)
{
	struct conf_errors e = { NULL, 0 };
	struct config *cf;
	struct m_state *st;
	char pre[600];

	cf = load("mod.conf", "web \"a\" { url = \"http://a\" }\n"
	    "policy \"p1\" {\n  step { after = 1m notify = { \"x\" } }\n"
	    "  step { after = 2s notify = { \"y\" } }\n  repeat = 2\n}\n"
	    "policy \"p2\" { }\n", &e);
	CHECK(cf != NULL && e.n == 0);
	st = conf_section_state(cf, "policy");
	CHECK(st != NULL && strcmp(st->titles, "p1p2") == 0);
	CHECK(st != NULL && st->nsteps == 2 && st->steps_after_ms == 62000);
	CHECK(st != NULL && st->finished == 1);
	conf_free(cf);

	CHECK(load("mod2.conf", "policy \"p\" { repeat = -1 }\n"
	    "policy \"q\" {\n  step { after = 1m }\n}\n"
	    "policy \"r\" { }\npolicy \"r\" { }\n", &e) == NULL);
	snprintf(pre, sizeof(pre), "%s/mod2.conf:1: ", dir);
	CHECK(has_error(&e, pre, "policy \"p\": repeat: must be >= 0"));
	snprintf(pre, sizeof(pre), "%s/mod2.conf:3: ", dir);
	CHECK(has_error(&e, pre, "step: missing required key \"notify\""));
	snprintf(pre, sizeof(pre), "%s/mod2.conf:6: ", dir);
	CHECK(has_error(&e, pre, "duplicate policy name \"r\""));
	conf_errors_free(&e);
}

/*
 * What the text check (conf_file.c) says about values with spaces and
 * strings without their closing quote: table-driven, one config each,
 * the error expected at its line (NULL: the config is valid).
 */
static void
test_text_check_reports_where_the_mistake_is(void)
{
	static const struct { const char *text, *at, *says; } cases[] = {
		{ "web \"a\" {\n  url = \"http://x/\"\n  interval = 30 s\n}\n",
		  ":3: web \"a\": interval: ", "\"30 s\" is not a duration "
		  "(no space between the number and the unit: 30s)" },
		{ "web \"a\" { url = http:x y }\n",
		  ":1: web \"a\": url: ", "\"http:x y\" has spaces" },
		{ "web \"a\" { url = \"http://x/ }\nweb \"b\" { url = "
		  "\"http://y/\" }\n", ":1: web \"a\": url: ",
		  "missing closing quote: the string that begins here runs "
		  "on to line 2" },
		{ "web \"a\" {\n  url = \"http://x/\n}\n",
		  ":2: web \"a\": url: ", "missing closing quote: the string "
		  "that begins here runs on to the end of the file" },
		{ "web \"a\" { url = \"http://x/\"  codes = 200 301 }\n",
		  ":1: web \"a\": codes: ", "\"200 301\" is not an integer" },
		/* a string over two lines that fits the grammar is valid */
		{ "web \"a\" { url = \"http://x/\nmore\"  interval = 1m }\n",
		  NULL, NULL },
		/* two keys on a line, and a comment, are not mistakes */
		{ "web \"a\" { url = \"http://x/\" interval = 1m # c\n}\n",
		  NULL, NULL },
	};
	struct conf_errors e = { NULL, 0 };
	struct config *cf;
	char prefix[600];
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cf = load("text.conf", cases[i].text, &e);
		if (cases[i].at == NULL) {
			CHECK(cf != NULL && e.n == 0);
		} else {
			snprintf(prefix, sizeof(prefix), "%s/text.conf%s", dir,
			    cases[i].at);
			CHECK(cf == NULL);
			CHECK(has_error(&e, prefix, cases[i].says));
			CHECK(e.n == 1);
			if (e.n != 1)
				for (unsigned k = 0; k < e.n; k++)
					printf("#     %u: %s\n", i, e.msgs[k]);
		}
		conf_free(cf);
		conf_errors_free(&e);
	}
}

/* Templates and an apply rule, through the conf API: what they make. */
static void
test_templates_and_rules_make_checks(void)
{
	struct conf_errors e = { NULL, 0 };
	struct config *cf;
	struct check *c;

	cf = load("tmpl.conf",
	    "template \"t1\" { interval = 5s  codes = { 301, 302 } }\n"
	    "template \"t2\" { interval = 7s }\n"
	    "host \"h1\" { address = \"192.0.2.1\"  tags = { \"web\" } }\n"
	    "host \"h2\" { tags = { \"db\" } }\n"
	    "web \"own\" { use = { \"t1\", \"t2\" }  url = \"http://x/\"\n"
	    "  codes = { 200 } }\n"
	    "apply \"health\" { type = \"web\"  assign_tags = { \"web\" }\n"
	    "  use = \"t1\"  url = \"http://{address}/{host}/{rule}\" }\n", &e);
	CHECK(cf != NULL && e.n == 0);
	if (cf == NULL) {
		conf_errors_free(&e);
		return;
	}
	CHECK(cf->nchecks == 2 && cf->nrules == 1);
	CHECK(cf->nrules == 1 && cf->rules[0].nchecks == 1 &&
	    strcmp(cf->rules[0].type, "web") == 0);
	c = conf_check(cf, "own");
	/* the later template wins; the check's own key wins over both */
	CHECK(c != NULL && c->interval_ms == 7000 && c->rule == NULL);
	c = conf_check(cf, "h1-health");
	CHECK(c != NULL && c->interval_ms == 5000 && c->rule != NULL &&
	    strcmp(c->rule, "health") == 0 && c->host_name != NULL &&
	    strcmp(c->host_name, "h1") == 0);
	conf_free(cf);
}

int
main(void)
{
	char cmd[300];

	snprintf(dir, sizeof(dir), "/tmp/tocsin-test-conf-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	if (tocsin_register_type(&t_type) != 0 ||
	    conf_section_register(&m_section) != 0)
		return 1;
	RUN(test_durations_parse_every_unit);
	RUN(test_valid_config_loads_with_defaults);
	RUN(test_every_error_has_file_and_line);
	RUN(test_missing_required_key_points_at_section);
	RUN(test_dependency_cycle_is_found);
	RUN(test_cycle_through_host_check_is_found);
	RUN(test_host_parent_cycle_is_found);
	RUN(test_diamond_is_not_a_cycle);
	RUN(test_include_glob_is_relative_and_sorted);
	RUN(test_unknown_check_type_is_reported);
	RUN(test_module_section_is_parsed_and_checked);
	RUN(test_text_check_reports_where_the_mistake_is);
	RUN(test_templates_and_rules_make_checks);
	plugins_unload();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return TAP_END();
}
