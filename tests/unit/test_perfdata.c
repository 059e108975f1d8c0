/*
 * test_perfdata.c — the perfdata grammar, plugin output splitting and
 * Nagios ranges (src/perfdata.c, src/range.c).  Table-driven: each row is
 * an input and what must come out of it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tocsin/plugin.h>

#include "core/perfdata.h"
#include "tap.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define MAXGOT		16

/* What the callback saw, copied (the parser's strings are scratch). */
struct got_metric {
	char *name;
	double value;
	char *unit;
	char *warn;
	char *crit;
	double min;
	double max;
	unsigned flags;
};

struct got {
	int n;
	int stop_after;		/* stop parsing after this many; 0: never */
	struct got_metric m[MAXGOT];
};

static char *
dup_or_null(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

static int
collect(const struct tocsin_metric *m, void *arg)
{
	struct got *g = arg;
	struct got_metric *gm;

	if (g->n >= MAXGOT)
		return 1;
	gm = &g->m[g->n++];
	gm->name = dup_or_null(m->name);
	gm->value = m->value;
	gm->unit = dup_or_null(m->unit);
	gm->warn = dup_or_null(m->warn);
	gm->crit = dup_or_null(m->crit);
	gm->min = m->min;
	gm->max = m->max;
	gm->flags = m->flags;
	return g->stop_after != 0 && g->n >= g->stop_after;
}

static void
got_free(struct got *g)
{
	int i;

	for (i = 0; i < g->n; i++) {
		free(g->m[i].name);
		free(g->m[i].unit);
		free(g->m[i].warn);
		free(g->m[i].crit);
	}
	memset(g, 0, sizeof(*g));
}

/* Equal doubles, where NAN equals NAN and infinities count. */
static int
num_eq(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) && isnan(b);
	if (isinf(a) || isinf(b))
		return a == b;
	return fabs(a - b) < 1e-9;
}

/* ---- perfdata_parse: valid items ---------------------------------- */

static void
test_every_uom_is_accepted(void)
{
	static const struct {
		const char *text;
		double value;
		const char *unit;
		unsigned flags;
	} t[] = {
		{ "x=1", 1, NULL, 0 },
		{ "x=1.5s", 1.5, "s", 0 },
		{ "x=250ms", 250, "ms", 0 },
		{ "x=3us", 3, "us", 0 },
		{ "x=99.9%", 99.9, "%", 0 },
		{ "x=512B", 512, "B", 0 },
		{ "x=2KB", 2, "KB", 0 },
		{ "x=3MB", 3, "MB", 0 },
		{ "x=4GB", 4, "GB", 0 },
		{ "x=5TB", 5, "TB", 0 },
		{ "x=12345c", 12345, "c", TOCSIN_METRIC_COUNTER },
	};
	struct got g;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		CHECK(perfdata_parse(t[i].text, collect, &g) == 0);
		CHECK(g.n == 1);
		if (g.n == 1) {
			CHECK_STR(g.m[0].name, "x");
			CHECK_NUM(g.m[0].value, t[i].value);
			CHECK_STR(g.m[0].unit, t[i].unit);
			CHECK(g.m[0].flags == t[i].flags);
			CHECK(g.m[0].warn == NULL && g.m[0].crit == NULL);
			CHECK(isnan(g.m[0].min) && isnan(g.m[0].max));
		}
		got_free(&g);
	}
}

static void
test_unknown_or_miscased_uom_is_malformed(void)
{
	static const char *const t[] = {
		"x=1kb", "x=1Kb", "x=1kB", "x=1mb", "x=1S", "x=1MS", "x=1C",
		"x=1min", "x=1KiB", "x=1PB", "x=1b", "x=1%%",
		"x=1e", "x=1ms2", "x=1s2", "x=1sms", "x=1%s",
	};
	struct got g;
	size_t i;
	int skipped;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		skipped = perfdata_parse(t[i], collect, &g);
		if (skipped != 1 || g.n != 0)
			printf("#   row %zu: \"%s\"\n", i, t[i]);
		CHECK(skipped == 1);
		CHECK(g.n == 0);
		got_free(&g);
	}
}

static void
test_numbers_take_sign_decimals_and_exponent(void)
{
	static const struct {
		const char *text;
		double value;
	} t[] = {
		{ "x=0", 0 },
		{ "x=-1", -1 },
		{ "x=+2", 2 },
		{ "x=.5", 0.5 },
		{ "x=5.", 5 },
		{ "x=-0.25", -0.25 },
		{ "x=1e3", 1000 },
		{ "x=1E-2", 0.01 },
		{ "x=-2.5e+2", -250 },
		{ "x=007", 7 },
	};
	struct got g;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		CHECK(perfdata_parse(t[i].text, collect, &g) == 0);
		CHECK(g.n == 1);
		if (g.n == 1)
			CHECK_NUM(g.m[0].value, t[i].value);
		got_free(&g);
	}
}

static void
test_quoted_label_keeps_spaces(void)
{
	struct got g = { 0 };

	CHECK(perfdata_parse("'disk usage /var'=42%;80;90;0;100", collect,
	    &g) == 0);
	CHECK(g.n == 1);
	if (g.n == 1) {
		CHECK_STR(g.m[0].name, "disk usage /var");
		CHECK_NUM(g.m[0].value, 42);
		CHECK_STR(g.m[0].unit, "%");
		CHECK_STR(g.m[0].warn, "80");
		CHECK_STR(g.m[0].crit, "90");
		CHECK_NUM(g.m[0].min, 0);
		CHECK_NUM(g.m[0].max, 100);
	}
	got_free(&g);
}

static void
test_quoted_label_doubled_quote_is_one_quote(void)
{
	static const struct {
		const char *text;
		const char *name;
	} t[] = {
		{ "'it''s'=1", "it's" },
		{ "''''=1", "'" },
		{ "'a''''b'=1", "a''b" },
		{ "'''x'''=1", "'x'" },
		{ "'a=b'=1", "a=b" },
		{ "'a;b'=1", "a;b" },
		{ "'a|b c'=1", "a|b c" },
	};
	struct got g;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		CHECK(perfdata_parse(t[i].text, collect, &g) == 0);
		CHECK(g.n == 1);
		if (g.n == 1) {
			CHECK_STR(g.m[0].name, t[i].name);
			CHECK_NUM(g.m[0].value, 1);
		}
		got_free(&g);
	}
}

static void
test_multiple_items_parsed_in_order(void)
{
	struct got g = { 0 };

	CHECK(perfdata_parse("time=0.12s;1;2;0 'size x'=512B;;;0 load1=0.3"
	    "\tload5=0.2\nload15=0.1  rx=100c", collect, &g) == 0);
	CHECK(g.n == 6);
	if (g.n == 6) {
		CHECK_STR(g.m[0].name, "time");
		CHECK_STR(g.m[0].unit, "s");
		CHECK_NUM(g.m[0].value, 0.12);
		CHECK_STR(g.m[0].warn, "1");
		CHECK_STR(g.m[0].crit, "2");
		CHECK_NUM(g.m[0].min, 0);
		CHECK(isnan(g.m[0].max));
		CHECK_STR(g.m[1].name, "size x");
		CHECK_STR(g.m[1].unit, "B");
		CHECK(g.m[1].warn == NULL);
		CHECK_STR(g.m[2].name, "load1");
		CHECK_STR(g.m[3].name, "load5");
		CHECK_STR(g.m[4].name, "load15");
		CHECK_NUM(g.m[4].value, 0.1);
		CHECK_STR(g.m[5].name, "rx");
		CHECK(g.m[5].flags & TOCSIN_METRIC_COUNTER);
		CHECK(!(g.m[0].flags & TOCSIN_METRIC_COUNTER));
	}
	got_free(&g);
}

static void
test_warn_crit_ranges_kept_as_text(void)
{
	static const struct {
		const char *text;
		const char *warn;
		const char *crit;
	} t[] = {
		{ "x=1;@10:20;~:5", "@10:20", "~:5" },
		{ "x=1;10:;20:", "10:", "20:" },
		{ "x=1;;-5:-1", NULL, "-5:-1" },
		{ "x=1;0.5:1.5", "0.5:1.5", NULL },
		{ "x=1;80;90", "80", "90" },
		{ "x=1;@~:0;", "@~:0", NULL },
	};
	struct got g;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		CHECK(perfdata_parse(t[i].text, collect, &g) == 0);
		CHECK(g.n == 1);
		if (g.n == 1) {
			CHECK_STR(g.m[0].warn, t[i].warn);
			CHECK_STR(g.m[0].crit, t[i].crit);
		}
		got_free(&g);
	}
}

static void
test_min_max_empty_is_nan_present_is_number(void)
{
	static const struct {
		const char *text;
		double min;
		double max;
	} t[] = {
		{ "x=1", NAN, NAN },
		{ "x=1;;;", NAN, NAN },
		{ "x=1;;;;", NAN, NAN },
		{ "x=1;;;0", 0, NAN },
		{ "x=1;;;;100", NAN, 100 },
		{ "x=1;;;-10;1e2", -10, 100 },
		{ "x=1;1;2;0.5;2.5", 0.5, 2.5 },
	};
	struct got g;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		CHECK(perfdata_parse(t[i].text, collect, &g) == 0);
		CHECK(g.n == 1);
		if (g.n == 1) {
			CHECK_NUM(g.m[0].min, t[i].min);
			CHECK_NUM(g.m[0].max, t[i].max);
		}
		got_free(&g);
	}
}

static void
test_trailing_semicolons_are_allowed(void)
{
	static const char *const t[] = {
		"x=1;", "x=1;;", "x=1;;;;", "x=1;1;2;0;9;", "x=1;1;2;0;9;;;",
	};
	struct got g;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		CHECK(perfdata_parse(t[i], collect, &g) == 0);
		CHECK(g.n == 1);
		got_free(&g);
	}
}

static void
test_undetermined_value_is_skipped_silently(void)
{
	struct got g = { 0 };

	CHECK(perfdata_parse("a=U b=1 c=U;1;2;; d=Ums e=2", collect, &g) == 0);
	CHECK(g.n == 2);
	if (g.n == 2) {
		CHECK_STR(g.m[0].name, "b");
		CHECK_STR(g.m[1].name, "e");
	}
	got_free(&g);
}

static void
test_counter_unit_sets_counter_flag(void)
{
	struct got g = { 0 };

	CHECK(perfdata_parse("in=123c;;;0 out=5", collect, &g) == 0);
	CHECK(g.n == 2);
	if (g.n == 2) {
		CHECK(g.m[0].flags == TOCSIN_METRIC_COUNTER);
		CHECK_STR(g.m[0].unit, "c");
		CHECK_NUM(g.m[0].min, 0);
		CHECK(g.m[1].flags == 0);
	}
	got_free(&g);
}

/*
 * Each row sits between two good items ("a=1 ROW z=2"): the row's items
 * are skipped and counted, the neighbours still come out.
 */
static void
test_malformed_items_skipped_neighbours_kept(void)
{
	static const struct {
		const char *text;
		int skipped;
		int extra;	/* good items inside the row itself */
	} t[] = {
		{ "=1", 1, 0 },
		{ "''=1", 1, 0 },
		{ "b", 1, 0 },
		{ "b1", 1, 0 },
		{ "'b'1", 1, 0 },
		{ "'b' =1", 2, 0 },
		{ "b =1", 2, 0 },
		{ "b= 1", 2, 0 },
		{ "b=", 1, 0 },
		{ "b=;1;2", 1, 0 },
		{ "b=x", 1, 0 },
		{ "b=--1", 1, 0 },
		{ "b=1..2", 1, 0 },
		{ "b=1,5", 1, 0 },
		{ "b=inf", 1, 0 },
		{ "b=-inf", 1, 0 },
		{ "b=nan", 1, 0 },
		{ "b=NAN", 1, 0 },
		{ "b=infinity", 1, 0 },
		{ "b=0x10", 1, 0 },
		{ "b=1e999", 1, 0 },
		{ "b=U5", 1, 0 },
		{ "b=Ux", 1, 0 },
		{ "b=1;x", 1, 0 },
		{ "b=1;;x", 1, 0 },
		{ "b=1;20:10", 1, 0 },
		{ "b=1;;@", 1, 0 },
		{ "b=1;1 0", 1, 1 },	/* "b=1;1" is good, "0" not */
		{ "b=1;;;x", 1, 0 },
		{ "b=1;;;;x", 1, 0 },
		{ "b=1;;;;inf", 1, 0 },
		{ "b=1;;;;1e999", 1, 0 },
		{ "b=1;;;1:2", 1, 0 },
		{ "b=1;2;3;4;5;6", 1, 0 },
		{ "b=1;;;;;x", 1, 0 },
		{ "b'c=1", 1, 0 },
		{ "b\001c=1", 1, 0 },
		{ "'b\tc'=1", 1, 0 },
		{ "'b\001'=1", 1, 0 },
		{ "b\177=1", 1, 0 },
		{ "b=1=2", 1, 0 },
		{ "==", 1, 0 },
		{ ";;;", 1, 0 },
		{ "'", 1, 0 },		/* swallows " z=2" too: see below */
		{ "c=1 d=x e=2", 1, 2 },
	};
	char text[256];
	struct got g;
	size_t i;
	int skipped, want_n;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		snprintf(text, sizeof(text), "a=1 %s z=2", t[i].text);
		skipped = perfdata_parse(text, collect, &g);
		/* An unterminated quote drops the rest, the good "z=2" too. */
		want_n = strcmp(t[i].text, "'") == 0 ? 1 : 2 + t[i].extra;
		if (skipped != t[i].skipped || g.n != want_n)
			printf("#   row %zu: \"%s\": skipped %d, parsed %d\n",
			    i, t[i].text, skipped, g.n);
		CHECK(skipped == t[i].skipped);
		CHECK(g.n == want_n);
		if (g.n == want_n) {
			CHECK_STR(g.m[0].name, "a");
			if (want_n > 1)
				CHECK_STR(g.m[want_n - 1].name, "z");
		}
		got_free(&g);
	}
}

static void
test_unterminated_quote_drops_rest_of_text(void)
{
	static const char *const t[] = {
		"'abc", "'abc=1 b=2", "'a''=1 b=2", "'", "'''", "'a\nb=1",
	};
	struct got g;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		CHECK(perfdata_parse(t[i], collect, &g) == 1);
		CHECK(g.n == 0);
		got_free(&g);
	}
}

static void
test_blank_or_empty_text_has_no_items(void)
{
	static const char *const t[] = { "", " ", "\t\n\r\v\f  ", };
	struct got g;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&g, 0, sizeof(g));
		CHECK(perfdata_parse(t[i], collect, &g) == 0);
		CHECK(g.n == 0);
	}
	CHECK(perfdata_parse(NULL, collect, &g) == 0);
	CHECK(g.n == 0);
}

static void
test_callback_nonzero_stops_parsing(void)
{
	struct got g = { 0 };

	g.stop_after = 2;
	/* The malformed item after the stop is never looked at. */
	CHECK(perfdata_parse("a=1 b=2 c=3 bad d=4", collect, &g) == 0);
	CHECK(g.n == 2);
	got_free(&g);
}

/* Counts items and checks each value is its index ("'m I'=I"). */
struct count {
	size_t n;
	int in_order;
};

static int
count_in_order(const struct tocsin_metric *m, void *arg)
{
	struct count *c = arg;

	if (m->value != (double)c->n)
		c->in_order = 0;
	c->n++;
	return 0;
}

static void
test_huge_input_parses_every_item(void)
{
	size_t i, n = 20000, len = 20000 * 16 + 1;
	struct count c = { 0, 1 };
	char *text, *w;

	if ((text = malloc(len)) == NULL) {
		CHECK(!"malloc");
		return;
	}
	w = text;
	for (i = 0; i < n; i++)
		w += snprintf(w, len - (w - text), "'m %zu'=%zu ", i, i);
	CHECK(perfdata_parse(text, count_in_order, &c) == 0);
	CHECK(c.n == n);
	CHECK(c.in_order);

	/* One huge item: a long label, value "1xxx…" (a bad unit). */
	memset(text, 'x', len - 1);
	text[len - 1] = '\0';
	text[len / 2] = '=';
	text[len / 2 + 1] = '1';
	c.n = 0;
	CHECK(perfdata_parse(text, count_in_order, &c) == 1);
	/* The same opened by a quote that is never closed. */
	text[0] = '\'';
	CHECK(perfdata_parse(text, count_in_order, &c) == 1);
	CHECK(c.n == 0);
	free(text);
}

/* ---- plugin_output_parse ------------------------------------------ */

static void
test_plugin_output_is_split_in_parts(void)
{
	static const struct {
		const char *name;
		const char *buf;
		size_t len;		/* 0: strlen(buf) */
		const char *summary;
		const char *long_output;
		const char *perfdata;
	} t[] = {
		{ "one line", "OK - all good\n", 0,
		    "OK - all good", "", "" },
		{ "one line, perfdata", "OK - 3 users | users=3;5;10;0\n", 0,
		    "OK - 3 users", "", "users=3;5;10;0" },
		{ "no trailing newline", "WARNING - load 5|load=5", 0,
		    "WARNING - load 5", "", "load=5" },
		{ "summary trimmed", "  \tOK  \r\n", 0, "OK", "", "" },
		{ "empty input", "", 0, "", "", "" },
		{ "only newline", "\n", 0, "", "", "" },
		{ "only pipe", "|", 0, "", "", "" },
		{ "long output, no perfdata",
		    "OK\nline 1\nline 2\n\n", 0,
		    "OK", "line 1\nline 2", "" },
		{ "long output with later perfdata",
		    "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;"
		    "5958;0;5968\n/ 15272 MB (77%);\n/boot 68 MB (69%);\n"
		    "/home 69357 MB (27%);\n/var/log 819 MB (84%); | "
		    "/boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;"
		    "253414 \n/var/log=818MB;970;975;0;980\n", 0,
		    "DISK OK - free space: / 3326 MB (56%);",
		    "/ 15272 MB (77%);\n/boot 68 MB (69%);\n"
		    "/home 69357 MB (27%);\n/var/log 819 MB (84%);",
		    "/=2643MB;5948;5958;0;5968 /boot=68MB;88;93;0;98 "
		    "/home=69357MB;253404;253409;0;253414  "
		    "/var/log=818MB;970;975;0;980" },
		{ "perfdata only in long part",
		    "OK\nmore text | a=1\nb=2", 0,
		    "OK", "more text", "a=1 b=2" },
		{ "pipe on its own line", "OK\ntext\n|a=1\n", 0,
		    "OK", "text", "a=1" },
		{ "second pipe in long part stays perfdata",
		    "OK\nx | a=1 | b=2", 0, "OK", "x", "a=1 | b=2" },
		{ "crlf lines", "OK | a=1\r\nlong\r\n| b=2\r\n", 0,
		    "OK", "long", "a=1 b=2" },
		{ "NUL ends the text", "OK | a=1\0\nhidden | b=2", 22,
		    "OK", "", "a=1" },
		{ "NUL in the summary", "O\0K | a=1", 9, "O", "", "" },
		{ "NUL first", "\0OK", 3, "", "", "" },
		{ "length shorter than string", "OK | a=1 b=2", 8,
		    "OK", "", "a=1" },
	};
	struct plugin_output po;
	size_t i, len;

	for (i = 0; i < NITEMS(t); i++) {
		len = t[i].len != 0 ? t[i].len : strlen(t[i].buf);
		CHECK(plugin_output_parse(t[i].buf, len, &po) == 0);
		if (po.summary == NULL || po.long_output == NULL ||
		    po.perfdata == NULL) {
			CHECK(!"NULL part");
			plugin_output_free(&po);
			continue;
		}
		if (strcmp(po.summary, t[i].summary) != 0 ||
		    strcmp(po.long_output, t[i].long_output) != 0 ||
		    strcmp(po.perfdata, t[i].perfdata) != 0)
			printf("#   row \"%s\"\n", t[i].name);
		CHECK_STR(po.summary, t[i].summary);
		CHECK_STR(po.long_output, t[i].long_output);
		CHECK_STR(po.perfdata, t[i].perfdata);
		plugin_output_free(&po);
		CHECK(po.summary == NULL && po.perfdata == NULL);
	}
}

static void
test_plugin_output_null_buffer_is_empty(void)
{
	struct plugin_output po;

	CHECK(plugin_output_parse(NULL, 0, &po) == 0);
	CHECK_STR(po.summary, "");
	CHECK_STR(po.long_output, "");
	CHECK_STR(po.perfdata, "");
	plugin_output_free(&po);
	plugin_output_free(NULL);
}

static void
test_plugin_output_perfdata_feeds_parser(void)
{
	static const char buf[] = "PING OK - rta 0.5ms|rta=0.5ms;100;500;0 "
	    "pl=0%;20;60;0\nlong text|'a b'=1c\n'c d'=2s;~:1\n";
	struct plugin_output po;
	struct got g = { 0 };

	CHECK(plugin_output_parse(buf, sizeof(buf) - 1, &po) == 0);
	CHECK(perfdata_parse(po.perfdata, collect, &g) == 0);
	CHECK(g.n == 4);
	if (g.n == 4) {
		CHECK_STR(g.m[0].name, "rta");
		CHECK_STR(g.m[1].name, "pl");
		CHECK_STR(g.m[2].name, "a b");
		CHECK(g.m[2].flags == TOCSIN_METRIC_COUNTER);
		CHECK_STR(g.m[3].name, "c d");
		CHECK_STR(g.m[3].warn, "~:1");
	}
	CHECK_STR(po.long_output, "long text");
	got_free(&g);
	plugin_output_free(&po);
}

/* ---- ranges --------------------------------------------------------- */

static void
test_range_parse_fills_bounds(void)
{
	static const struct {
		const char *text;
		double start;
		double end;
		int inside;
	} t[] = {
		{ "10", 0, 10, 0 },
		{ "0", 0, 0, 0 },
		{ "10:", 10, INFINITY, 0 },
		{ "~:10", -INFINITY, 10, 0 },
		{ "~:", -INFINITY, INFINITY, 0 },
		{ ":10", 0, 10, 0 },
		{ "10:20", 10, 20, 0 },
		{ "-20:-10", -20, -10, 0 },
		{ "-1.5:2.5", -1.5, 2.5, 0 },
		{ "5:5", 5, 5, 0 },
		{ "1e1:2e1", 10, 20, 0 },
		{ "@10:20", 10, 20, 1 },
		{ "@10", 0, 10, 1 },
		{ "@~:0", -INFINITY, 0, 1 },
		{ "@-5:", -5, INFINITY, 1 },
	};
	struct tocsin_range r;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		memset(&r, 0, sizeof(r));
		if (tocsin_range_parse(t[i].text, &r) != 0) {
			printf("#   \"%s\" refused\n", t[i].text);
			CHECK(!"range refused");
			continue;
		}
		if (!num_eq(r.start, t[i].start) || !num_eq(r.end, t[i].end))
			printf("#   \"%s\": %g:%g\n", t[i].text, r.start,
			    r.end);
		CHECK(num_eq(r.start, t[i].start));
		CHECK(num_eq(r.end, t[i].end));
		CHECK(r.inside == t[i].inside);
	}
}

static void
test_range_alert_follows_nagios_semantics(void)
{
	static const struct {
		const char *text;
		double value;
		int alert;
	} t[] = {
		{ "10", -1, 1 }, { "10", 0, 0 }, { "10", 5, 0 },
		{ "10", 10, 0 }, { "10", 10.001, 1 },
		{ "10:", 9.99, 1 }, { "10:", 10, 0 }, { "10:", 1e300, 0 },
		{ "~:10", -1e300, 0 }, { "~:10", 10, 0 }, { "~:10", 11, 1 },
		{ "10:20", 9, 1 }, { "10:20", 10, 0 }, { "10:20", 15, 0 },
		{ "10:20", 20, 0 }, { "10:20", 21, 1 },
		{ "@10:20", 9, 0 }, { "@10:20", 10, 1 }, { "@10:20", 15, 1 },
		{ "@10:20", 20, 1 }, { "@10:20", 20.5, 0 },
		{ "-5:-1", -3, 0 }, { "-5:-1", 0, 1 }, { "-5:-1", -6, 1 },
		{ "@~:0", -7, 1 }, { "@~:0", 0.1, 0 },
		{ "~:", -1e300, 0 }, { "~:", 1e300, 0 },
		{ "10", NAN, 0 }, { "@10:20", NAN, 0 },
	};
	struct tocsin_range r;
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		if (tocsin_range_parse(t[i].text, &r) != 0) {
			CHECK(!"range refused");
			continue;
		}
		if ((tocsin_range_alert(&r, t[i].value) != 0) != t[i].alert)
			printf("#   \"%s\" at %g: expected alert=%d\n",
			    t[i].text, t[i].value, t[i].alert);
		CHECK((tocsin_range_alert(&r, t[i].value) != 0) == t[i].alert);
	}
}

static void
test_range_invalid_texts_are_refused(void)
{
	static const char *const t[] = {
		"", "@", "~", ":", "@:", "~~:1", " 10", "10 ", "1 :2", "1: 2",
		"20:10", "@20:10", "-5", "abc", "10a", "inf", "-inf:0",
		"0:inf", "nan", "0x10", "1:2:3", "1::2", "@@1", "~:~", "10:~",
		"~10", "1e999", "0:1e999", "--1", "+", ".", "-", "1e", "1:2e",
		"1,5", "\t1",
	};
	struct tocsin_range r = { 1, 2, 0 };
	size_t i;

	for (i = 0; i < NITEMS(t); i++) {
		if (tocsin_range_parse(t[i], &r) == 0)
			printf("#   \"%s\" accepted\n", t[i]);
		CHECK(tocsin_range_parse(t[i], &r) == -1);
	}
	CHECK(tocsin_range_parse(NULL, &r) == -1);
	/* A refused text leaves *r alone. */
	CHECK_NUM(r.start, 1);
	CHECK_NUM(r.end, 2);
}

int
main(void)
{
	RUN(test_every_uom_is_accepted);
	RUN(test_unknown_or_miscased_uom_is_malformed);
	RUN(test_numbers_take_sign_decimals_and_exponent);
	RUN(test_quoted_label_keeps_spaces);
	RUN(test_quoted_label_doubled_quote_is_one_quote);
	RUN(test_multiple_items_parsed_in_order);
	RUN(test_warn_crit_ranges_kept_as_text);
	RUN(test_min_max_empty_is_nan_present_is_number);
	RUN(test_trailing_semicolons_are_allowed);
	RUN(test_undetermined_value_is_skipped_silently);
	RUN(test_counter_unit_sets_counter_flag);
	RUN(test_malformed_items_skipped_neighbours_kept);
	RUN(test_unterminated_quote_drops_rest_of_text);
	RUN(test_blank_or_empty_text_has_no_items);
	RUN(test_callback_nonzero_stops_parsing);
	RUN(test_huge_input_parses_every_item);
	RUN(test_plugin_output_is_split_in_parts);
	RUN(test_plugin_output_null_buffer_is_empty);
	RUN(test_plugin_output_perfdata_feeds_parser);
	RUN(test_range_parse_fills_bounds);
	RUN(test_range_alert_follows_nagios_semantics);
	RUN(test_range_invalid_texts_are_refused);
	return TAP_END();
}
