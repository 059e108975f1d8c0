/*
 * test_notify.c — the notifier's pure parts with an injected clock: who
 * is on call at a given instant (handoff at the configured local time,
 * across a DST change, overrides), the handoff syntax, and how webhook
 * and SMTP replies are classified (retry or give up), and what a jq
 * program's compile and run give back (libjq): every failure a one-line
 * message, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify_int.h"
#include "tap.h"

static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return timegm(&tm);
}

static char *abc[] = { "alice", "bob", "carol" };

static void
sched(struct nschedule *s, const char *handoff, int64_t period_ms,
    const char *tz)
{
	const char *why = NULL;

	memset(s, 0, sizeof(*s));
	s->name = "primary";
	s->members = abc;
	s->nmembers = 3;
	CHECK(nsched_setup(s, handoff, period_ms, tz, &why) == 0);
	if (why != NULL)
		printf("# %s\n", why);
}

static void
test_weekly_handoff_utc(void)
{
	struct nschedule s;
	time_t since, until;

	sched(&s, "mon 09:00", 7 * 86400000LL, "UTC");
	/* 2024-01-01 was a Monday: alice from 09:00 */
	CHECK_STR(nsched_oncall(&s, utc(2024, 1, 1, 9, 0), &since, &until,
	    NULL), "alice");
	CHECK(since == utc(2024, 1, 1, 9, 0));
	CHECK(until == utc(2024, 1, 8, 9, 0));
	/* one second before the handoff: still the previous shift */
	CHECK_STR(nsched_oncall(&s, utc(2024, 1, 8, 8, 59) + 59, NULL, NULL,
	    NULL), "alice");
	CHECK_STR(nsched_oncall(&s, utc(2024, 1, 8, 9, 0), NULL, NULL, NULL),
	    "bob");
	CHECK_STR(nsched_oncall(&s, utc(2024, 1, 15, 9, 0), NULL, NULL, NULL),
	    "carol");
	CHECK_STR(nsched_oncall(&s, utc(2024, 1, 22, 9, 0), NULL, NULL, NULL),
	    "alice");
	/* before the anchor: the rotation runs backwards too */
	CHECK_STR(nsched_oncall(&s, utc(2023, 12, 31, 12, 0), NULL, NULL,
	    NULL), "carol");
	/* a Wednesday 2026-12-02: weeks since 2024-01-01 09:00 = 152 */
	CHECK_STR(nsched_oncall(&s, utc(2026, 12, 2, 0, 0), &since, NULL,
	    NULL), abc[152 % 3]);
	CHECK(since == utc(2026, 11, 30, 9, 0));
	free(s.tz);
}

static void
test_daily_handoff_in_a_zone_across_dst(void)
{
	struct nschedule s;
	time_t since, until;

	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0) {
		printf("# no tzdata: skipped\n");
		return;
	}
	sched(&s, "08:00", 86400000LL, "Europe/Berlin");
	/* winter: 08:00 CET is 07:00 UTC */
	nsched_oncall(&s, utc(2026, 1, 10, 12, 0), &since, &until, NULL);
	CHECK(since == utc(2026, 1, 10, 7, 0));
	CHECK(until == utc(2026, 1, 11, 7, 0));
	/* summer: 08:00 CEST is 06:00 UTC — the handoff stays at 08:00 */
	nsched_oncall(&s, utc(2026, 7, 10, 12, 0), &since, &until, NULL);
	CHECK(since == utc(2026, 7, 10, 6, 0));
	/* the shift that spans the March change is 23 hours long */
	nsched_oncall(&s, utc(2026, 3, 28, 12, 0), &since, &until, NULL);
	CHECK(until - since == 23 * 3600);
	/* consecutive days rotate through the members */
	CHECK(strcmp(nsched_oncall(&s, utc(2026, 7, 10, 12, 0), NULL, NULL,
	    NULL), nsched_oncall(&s, utc(2026, 7, 11, 12, 0), NULL, NULL,
	    NULL)) != 0);
	CHECK_STR(nsched_oncall(&s, utc(2026, 7, 10, 12, 0), NULL, NULL,
	    NULL), nsched_oncall(&s, utc(2026, 7, 13, 12, 0), NULL, NULL,
	    NULL));
	free(s.tz);
}

static void
test_override_wins(void)
{
	struct nschedule s;
	struct noverride ov;
	time_t since, until;
	bool over = false;

	sched(&s, "mon 09:00", 7 * 86400000LL, "UTC");
	CHECK(nsched_parse_local("2026-12-24", &ov.from) == 0);
	CHECK(nsched_parse_local("2026-12-27 09:30", &ov.to) == 0);
	ov.who = "dave";
	s.overrides = &ov;
	s.noverrides = 1;
	CHECK_STR(nsched_oncall(&s, utc(2026, 12, 25, 3, 0), &since, &until,
	    &over), "dave");
	CHECK(over);
	CHECK(since == utc(2026, 12, 24, 0, 0));
	CHECK(until == utc(2026, 12, 27, 9, 30));
	CHECK(strcmp(nsched_oncall(&s, utc(2026, 12, 27, 9, 30), NULL, NULL,
	    &over), "dave") != 0);
	CHECK(!over);
	free(s.tz);
}

static void
test_bad_handoffs_are_refused(void)
{
	static const char *const bad[] = {
		"funday 09:00", "mon 9", "mon 25:00", "09:60", "", "mon09:00x",
	};
	struct nschedule s;
	const char *why;
	unsigned i;
	int64_t ls;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		why = NULL;
		CHECK(nsched_setup(&s, bad[i], 604800000LL, "UTC", &why) == -1);
		CHECK(why != NULL);
	}
	memset(&s, 0, sizeof(s));
	CHECK(nsched_setup(&s, "mon 09:00", 604800000LL, "Mars/Olympus",
	    &why) == -1);
	CHECK(nsched_setup(&s, "mon 09:00", 604800000LL, "../etc/passwd",
	    &why) == -1);
	CHECK(nsched_setup(&s, "mon 09:00", 1000, "UTC", &why) == -1);
	CHECK(nsched_parse_local("2026-13-01", &ls) == -1);
	CHECK(nsched_parse_local("2026-12-01 9:00x", &ls) == -1);
	CHECK(nsched_parse_local("yesterday", &ls) == -1);
	free(s.tz);
}

static void
test_reply_classification(void)
{
	CHECK(nsend_http_status(200) == NSEND_OK);
	CHECK(nsend_http_status(204) == NSEND_OK);
	CHECK(nsend_http_status(500) == NSEND_RETRY);
	CHECK(nsend_http_status(503) == NSEND_RETRY);
	CHECK(nsend_http_status(429) == NSEND_RETRY);
	CHECK(nsend_http_status(408) == NSEND_RETRY);
	CHECK(nsend_http_status(0) == NSEND_RETRY);
	CHECK(nsend_http_status(400) == NSEND_FAIL);
	CHECK(nsend_http_status(404) == NSEND_FAIL);
	CHECK(nsend_http_status(301) == NSEND_FAIL);
	CHECK(nsend_smtp_status(421) == NSEND_RETRY);
	CHECK(nsend_smtp_status(451) == NSEND_RETRY);
	CHECK(nsend_smtp_status(550) == NSEND_FAIL);
	CHECK(nsend_smtp_status(554) == NSEND_FAIL);
}

/* Runs text on {"text": "hi", "n": 3}; returns the rc, *out, err. */
static int
jq_run(const char *text, json_t **out, char *err, size_t len)
{
	char *vars[] = { "who=alice" };
	struct njq *p = njq_compile(text, vars, 1, err, len);
	json_t *in = json_pack("{s:s, s:i}", "text", "hi", "n", 3);
	int rc;

	if (p == NULL) {
		json_decref(in);
		return -2;
	}
	rc = njq_run(p, in, out, err, len);
	/* a program runs again on the same state: what a channel does */
	if (rc == 0) {
		json_t *again = NULL;

		CHECK(njq_run(p, in, &again, err, len) == 0);
		CHECK((again == NULL) == (*out == NULL));
		json_decref(again);
	}
	json_decref(in);
	njq_free(p);
	return rc;
}

static void
test_jq_programs(void)
{
	char err[512];
	json_t *out = NULL;

	/* an object, a string, the vars */
	CHECK(jq_run("{t: .text, n: (.n + 1), w: $who, v: $vars.who}", &out,
	    err, sizeof(err)) == 0);
	CHECK_STR(json_string_value(json_object_get(out, "t")), "hi");
	CHECK(json_integer_value(json_object_get(out, "n")) == 4 ||
	    json_real_value(json_object_get(out, "n")) == 4.0);
	CHECK_STR(json_string_value(json_object_get(out, "w")), "alice");
	CHECK_STR(json_string_value(json_object_get(out, "v")), "alice");
	json_decref(out);
	CHECK(jq_run("\"t=\" + (.text | @uri)", &out, err, sizeof(err)) == 0);
	CHECK_STR(json_string_value(out), "t=hi");
	json_decref(out);
	/* no output, halt: nothing, not an error */
	CHECK(jq_run("empty", &out, err, sizeof(err)) == 0 && out == NULL);
	CHECK(jq_run("halt", &out, err, sizeof(err)) == 0 && out == NULL);
	/* compile errors: one line, the cause named */
	CHECK(jq_run("{a: .x", &out, err, sizeof(err)) == -2);
	CHECK(strstr(err, "syntax error") != NULL && !strchr(err, '\n'));
	CHECK(jq_run(".x | $nope", &out, err, sizeof(err)) == -2);
	CHECK(strstr(err, "$nope is not defined") != NULL);
	CHECK(jq_run("nosuchfn(1)", &out, err, sizeof(err)) == -2);
	CHECK(strstr(err, "nosuchfn/1 is not defined") != NULL);
	/* run-time errors: the message, one line */
	CHECK(jq_run("error(\"no\\nway\")", &out, err, sizeof(err)) == -1);
	CHECK_STR(err, "jq: no way");
	CHECK(jq_run(".n.x", &out, err, sizeof(err)) == -1);
	CHECK(strstr(err, "Cannot index number") != NULL);
	CHECK(jq_run("error({a: 1})", &out, err, sizeof(err)) == -1);
	CHECK_STR(err, "jq: {\"a\":1}");
	CHECK(jq_run("\"bye\" | halt_error", &out, err, sizeof(err)) == -1);
	CHECK(strstr(err, "bye") != NULL);
	/* output over 1 MiB */
	CHECK(jq_run("\"x\" * 2000000", &out, err, sizeof(err)) == -1);
	CHECK(strstr(err, "over 1048576 bytes") != NULL);
	CHECK(out == NULL);
	/* a format's request: checked, and its errors on one line */
	{
		struct nreq rq;
		json_t *v = json_loads("{\"body\": {\"a\": 1}, \"method\": "
		    "\"PUT\", \"path\": \"/x\", \"headers\": {\"A\": \"b\"}}",
		    0, NULL);

		CHECK(njq_request(v, true, &rq, err, sizeof(err)) == 0);
		CHECK_STR(rq.method, "PUT");
		CHECK_STR(rq.path, "/x");
		CHECK(rq.nhdrs == 1 && strcmp(rq.hdrs[0], "A: b") == 0);
		CHECK_STR(rq.body, "{\"a\":1}");
		nreq_free(&rq);
		json_decref(v);
		v = json_loads("{\"body\": \"x\", \"headers\": "
		    "{\"X\\r\\nInjected\": \"1\"}}", 0, NULL);
		CHECK(njq_request(v, true, &rq, err, sizeof(err)) == -1);
		CHECK(strchr(err, '\n') == NULL && strchr(err, '\r') == NULL);
		json_decref(v);
		v = json_loads("{\"body\": \"x\", \"path\": \"/a\\r\\nb\"}",
		    0, NULL);
		CHECK(njq_request(v, true, &rq, err, sizeof(err)) == -1);
		json_decref(v);
	}
	/* bad vars */
	{
		char *bad[] = { "not a name=1" };
		struct njq *p = njq_compile(".", bad, 1, err, sizeof(err));

		CHECK(p == NULL && strstr(err, "NAME=VALUE") != NULL);
	}
}

int
main(void)
{
	RUN(test_weekly_handoff_utc);
	RUN(test_daily_handoff_in_a_zone_across_dst);
	RUN(test_override_wins);
	RUN(test_bad_handoffs_are_refused);
	RUN(test_reply_classification);
	RUN(test_jq_programs);
	return TAP_END();
}
