/*
 * notify_jq.c — jq programs (libjq) for the notifier: a webhook channel's
 * jq = "…", a format file (format = NAME), a route's text = "…".
 *
 * Owns compiled programs; each runs on the loop thread only (libjq is
 * not shared between threads here).  A program's first output is its
 * result; errors become a one-line message for the timeline, never an
 * abort.  Known limit: libjq has no step budget, so a program that loops
 * forever (`def f: f; f`, `[range(1e12)]`) stalls the loop; programs
 * come from the config, which only the operator writes, and the shipped
 * formats are plain object constructions.  Output is capped at
 * NJQ_MAX_OUT bytes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jq.h>

#include "notify/notify_int.h"

struct njq {
	jq_state *jq;
	char err[512];		/* messages of the last compile/run */
};

static void
njq_err_cb(void *arg, jv msg)
{
	struct njq *p = arg;
	size_t len = strlen(p->err), i;
	const char *s;

	msg = jq_format_error(msg);
	s = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "?";
	if (strncmp(s, "jq: error: ", 11) == 0)
		s += 11;
	/* "jq: 1 compile error" only repeats what came before */
	if (strstr(s, "compile error") == NULL || len == 0)
		snprintf(p->err + len, sizeof(p->err) - len, "%s%s",
		    len > 0 ? "; " : "", s);
	for (i = len; p->err[i] != '\0'; i++)
		if ((unsigned char)p->err[i] < 0x20)
			p->err[i] = ' ';
	jv_free(msg);
}

static void
njq_debug_cb(void *arg, jv msg)
{
	(void)arg;
	jv_free(msg);		/* `debug` in a program says nothing here */
}

static bool
njq_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

struct njq *
njq_compile(const char *text, char *const *vars, unsigned nvars, char *err,
    size_t errlen)
{
	struct njq *p;
	jv args = jv_object(), all = jv_object();
	unsigned i;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->jq = jq_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(p);
		jv_free(args);
		jv_free(all);
		return NULL;
	}
	jq_set_error_cb(p->jq, njq_err_cb, p);
	jq_set_debug_cb(p->jq, njq_debug_cb, p);
	for (i = 0; i < nvars; i++) {
		const char *eq = strchr(vars[i], '=');

		if (eq == NULL || !njq_name_ok(vars[i],
		    (size_t)(eq - vars[i]))) {
			snprintf(err, errlen, "vars: \"%.60s\" is not "
			    "NAME=VALUE (NAME: letters, digits, _)", vars[i]);
			goto fail;
		}
		args = jv_object_set(args, jv_string_sized(vars[i],
		    (int)(eq - vars[i])), jv_string(eq + 1));
		all = jv_object_set(all, jv_string_sized(vars[i],
		    (int)(eq - vars[i])), jv_string(eq + 1));
	}
	/* every var as $NAME, and all of them as $vars */
	args = jv_object_set(args, jv_string("vars"), all);
	all = jv_invalid();
	if (!jq_compile_args(p->jq, text, args)) {
		args = jv_invalid();	/* consumed */
		snprintf(err, errlen, "%s", p->err[0] ? p->err :
		    "does not compile");
		goto fail;
	}
	return p;
fail:
	jv_free(args);
	jv_free(all);
	njq_free(p);
	return NULL;
}

void
njq_free(struct njq *p)
{
	if (p == NULL)
		return;
	if (p->jq != NULL)
		jq_teardown(&p->jq);
	free(p);
}

int
njq_run(struct njq *p, json_t *in, json_t **out, char *err, size_t errlen)
{
	char *text;
	jv input, r, s;
	int rc = -1;

	*out = NULL;
	p->err[0] = '\0';
	if ((text = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	input = jv_parse(text);
	free(text);
	if (!jv_is_valid(input)) {
		jv_free(input);
		snprintf(err, errlen, "the payload is not JSON to jq");
		return -1;
	}
	jq_start(p->jq, input, 0);
	r = jq_next(p->jq);
	if (jv_is_valid(r)) {
		s = jv_dump_string(r, 0);	/* consumes r */
		r = jv_invalid();
		if (jv_string_length_bytes(jv_copy(s)) > NJQ_MAX_OUT)
			snprintf(err, errlen, "jq: the output is over %d bytes",
			    NJQ_MAX_OUT);
		else if ((*out = json_loads(jv_string_value(s),
		    JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)) == NULL)
			snprintf(err, errlen, "jq: the output is not JSON "
			    "that tocsind can send");
		else
			rc = 0;
		jv_free(s);
	} else if (jv_invalid_has_msg(jv_copy(r))) {
		jv m = jv_invalid_get_msg(r);

		r = jv_invalid();
		if (jv_get_kind(m) != JV_KIND_STRING)
			m = jv_dump_string(m, 0);
		snprintf(err, errlen, "jq: %.400s", jv_string_value(m));
		jv_free(m);
	} else if (jq_halted(p->jq)) {
		jv m = jq_get_error_message(p->jq);

		if (jv_get_kind(m) == JV_KIND_STRING) {
			snprintf(err, errlen, "jq: %.400s",
			    jv_string_value(m));
		} else if (jv_is_valid(m) &&
		    jv_get_kind(m) != JV_KIND_NULL) {
			jv d = jv_dump_string(jv_copy(m), 0);

			snprintf(err, errlen, "jq: %.400s",
			    jv_string_value(d));
			jv_free(d);
		} else
			rc = 0;		/* halt: no output */
		jv_free(m);
	} else
		rc = 0;			/* empty: no output */
	jv_free(r);
	for (text = err; rc == -1 && *text != '\0'; text++)
		if ((unsigned char)*text < 0x20)
			*text = ' ';
	return rc;
}
