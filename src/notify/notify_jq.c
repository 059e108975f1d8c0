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
	/* jq pads the program's line it quotes: one space is enough */
	{
		size_t o = len;

		for (i = len; p->err[i] != '\0'; i++)
			if (p->err[i] != ' ' || o == 0 || p->err[o - 1] != ' ')
				p->err[o++] = p->err[i];
		while (o > len && p->err[o - 1] == ' ')
			o--;
		p->err[o] = '\0';
	}
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

/* ---- a program's output as a request -------------------------------- */

void
nreq_free(struct nreq *rq)
{
	unsigned i;

	free(rq->path);
	free(rq->ctype);
	for (i = 0; i < rq->nhdrs; i++)
		free(rq->hdrs[i]);
	free(rq->hdrs);
	free(rq->body);
	memset(rq, 0, sizeof(*rq));
}

static bool
line_ok(const char *v, bool spaces)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f ||
		    (!spaces && *v == ' '))
			return false;
	return true;
}

/* A body: a string as it is, anything else as compact JSON. */
static int
njq_body(json_t *v, struct nreq *rq)
{
	if (json_is_string(v)) {
		rq->len = json_string_length(v);
		if ((rq->body = malloc(rq->len + 1)) == NULL)
			return -1;
		memcpy(rq->body, json_string_value(v), rq->len);
		rq->body[rq->len] = '\0';
		return 0;
	}
	if ((rq->body = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ==
	    NULL)
		return -1;
	rq->len = strlen(rq->body);
	return 0;
}

/*
 * A format's output: {"body": …, "method"?, "path"?, "headers"?,
 * "content_type"?}.  RETURN VALUE: 0, or -1 with why.
 */
static int
njq_envelope(json_t *v, struct nreq *rq, char *why, size_t len)
{
	json_t *b = json_object_get(v, "body"), *m, *p, *h, *ct, *hv;
	const char *name, *ms;
	char **nh;
	size_t i;

	if (!json_is_object(v) || b == NULL) {
		snprintf(why, len, "the format's output is not an object "
		    "with a body");
		return -1;
	}
	m = json_object_get(v, "method");
	ms = json_string_value(m);
	if (m == NULL || json_is_null(m) || (ms && strcmp(ms, "POST") == 0))
		rq->method = "POST";
	else if (ms != NULL && strcmp(ms, "PUT") == 0)
		rq->method = "PUT";
	else if (ms != NULL && strcmp(ms, "PATCH") == 0)
		rq->method = "PATCH";
	else {
		snprintf(why, len, "the format's method is not POST, PUT or "
		    "PATCH");
		return -1;
	}
	p = json_object_get(v, "path");
	if (p != NULL && !json_is_null(p)) {
		const char *ps = json_string_value(p);

		if (ps == NULL || (ps[0] != '/' && ps[0] != '?' &&
		    ps[0] != '&') ||
		    strlen(ps) > 2048 || !line_ok(ps, false)) {
			snprintf(why, len, "the format's path is not \"/…\", "
			    "\"?…\" or \"&…\" without spaces or controls");
			return -1;
		}
		rq->path = strdup(ps);
	}
	ct = json_object_get(v, "content_type");
	if (ct != NULL && !json_is_null(ct)) {
		if (!json_is_string(ct) || !line_ok(json_string_value(ct),
		    true)) {
			snprintf(why, len, "the format's content_type is not "
			    "one line of text");
			return -1;
		}
		rq->ctype = strdup(json_string_value(ct));
	}
	h = json_object_get(v, "headers");
	if (h != NULL && !json_is_null(h) && !json_is_object(h)) {
		snprintf(why, len, "the format's headers are not an object");
		return -1;
	}
	json_object_foreach(h, name, hv) {
		const char *val = json_string_value(hv);
		bool ok = val != NULL && *name != '\0' && line_ok(val, true) &&
		    strlen(name) + strlen(val) < 8192;

		for (i = 0; ok && name[i] != '\0'; i++)
			if (name[i] <= ' ' || name[i] == ':' || name[i] == 0x7f)
				ok = false;
		if (!ok) {
			snprintf(why, len, "the format's header \"%.60s\" is "
			    "not a name and a one-line string", name);
			return -1;
		}
		if ((nh = reallocarray(rq->hdrs, rq->nhdrs + 1,
		    sizeof(*nh))) == NULL)
			return -1;
		rq->hdrs = nh;
		if (asprintf(&rq->hdrs[rq->nhdrs], "%s: %s", name, val) < 0)
			return -1;
		rq->nhdrs++;
	}
	if (njq_body(b, rq) == -1) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	return 0;
}

int
njq_request(json_t *v, bool envelope, struct nreq *rq, char *why,
    size_t len)
{
	int rc;

	memset(rq, 0, sizeof(*rq));
	rq->method = "POST";
	if (envelope)
		rc = njq_envelope(v, rq, why, len);
	else if ((rc = njq_body(v, rq)) == -1)
		snprintf(why, len, "out of memory");
	if (rc == -1) {
		char *p;

		nreq_free(rq);
		/* a header name from the output is in it: one line */
		for (p = why; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	}
	return rc;
}
