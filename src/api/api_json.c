/*
 * api_json.c — what every reply of the API has in common: JSON values
 * (text that is not UTF-8, NaN, times), replies with the same headers and
 * error shape ({"error":"message"}), and reading a request's name, query
 * and JSON body.  Used by the server (api.c), streamed replies
 * (api_stream.c) and every module's handlers; calls none of them, but
 * api_conn.c to know when a held reply's connection is gone.
 *
 * A reply is held back while the incident log has writes not yet
 * committed (api_set_commit_gate()): the log commits its batch on the
 * next loop iteration and api_release_held() then sends every held
 * reply.  So what a client is told (a push taken, an incident shown) is
 * on disk before the client can read it, one commit serves every request
 * of an iteration, and no request has to commit before it is handled.
 *
 * Never blocks: it only fills evbuffers and hands them to evhttp.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api_conn.h"
#include "api/api_json.h"
#include "core/log.h"

/* ---- JSON values ---------------------------------------------------- */

size_t
api_utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		/* also stops at the terminating NUL */
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A JSON string for s, or null when s is NULL.  json_string() refuses
 * text that is not UTF-8, and plugin output, perfdata labels and request
 * paths are whatever bytes they are; such text is sent with each bad byte
 * replaced by U+FFFD rather than dropped.
 * RETURN VALUE: a new reference, or NULL when out of memory.
 */
json_t *
api_str(const char *s)
{
	const unsigned char *p;
	json_t *v;
	char *buf, *q;
	size_t n;

	if (s == NULL)
		return json_null();
	if ((v = json_string(s)) != NULL)
		return v;
	if ((buf = malloc(strlen(s) * 3 + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s, q = buf; *p != '\0'; p += n) {
		if ((n = api_utf8_len(p)) == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			n = 1;
		} else {
			memcpy(q, p, n);
			q += n;
		}
	}
	*q = '\0';
	v = json_string(buf);
	free(buf);
	return v;
}

/* A JSON number, or null for NAN and infinities (json_real refuses them). */
json_t *
api_num(double d)
{
	return isfinite(d) ? json_real(d) : json_null();
}

/*
 * A threshold as sent by the plugin: a plain number ("80") becomes a JSON
 * number, a range ("10:20", "@10:20", "~:5") stays text, NULL is null.
 * strtod() alone would also take " 80", "0x50", "inf" and "nan"; none of
 * those is a plain number to an operator, so they stay text too.
 */
json_t *
api_threshold(const char *text)
{
	char *end;
	double d;

	if (text == NULL)
		return json_null();
	if (text[0] != '\0' && !isspace((unsigned char)text[0]) &&
	    strpbrk(text, "xX") == NULL) {
		d = strtod(text, &end);
		if (*end == '\0' && isfinite(d))
			return json_real(d);
	}
	return api_str(text);
}

static int
api_rfc3339(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}

/* A wall-clock time as RFC 3339 UTC, or null for 0 ("never"). */
json_t *
api_time(time_t t)
{
	char buf[64];

	if (t == 0 || api_rfc3339(t, buf, sizeof(buf)) == -1)
		return json_null();
	return json_string(buf);
}

/* Milliseconds as seconds: an integer when whole ("30"), else "2.5". */
json_t *
api_seconds(int64_t ms)
{
	if (ms % 1000 == 0)
		return json_integer(ms / 1000);
	return json_real(ms / 1000.0);
}

/*
 * Sets o[key] = v, stealing v.  Building a reply is a long run of these;
 * instead of a check after each, a failure (v NULL from an allocation, or
 * the set itself) is remembered in *err and the reply becomes a 500.
 */
void
api_set(json_t *o, const char *key, json_t *v, int *err)
{
	if (v == NULL || json_object_set_new(o, key, v) == -1)
		*err = 1;
}

/* Appends v to array a, stealing v; failures as in api_set(). */
void
api_append(json_t *a, json_t *v, int *err)
{
	if (v == NULL || json_array_append_new(a, v) == -1)
		*err = 1;
}

/* ---- replies -------------------------------------------------------- */

static int
api_dump_cb(const char *buf, size_t size, void *data)
{
	return evbuffer_add(data, buf, size);
}

int
api_add_json(struct evbuffer *buf, const json_t *v)
{
	char text[8192];
	size_t n;

	/*
	 * jansson hands the callback every token apart: one evbuffer_add
	 * each was a sixth of the time of a list of checks (perf).  Most
	 * objects fit the stack; the rest go token by token.
	 */
	n = json_dumpb(v, text, sizeof(text), JSON_COMPACT);
	if (n > 0 && n <= sizeof(text))
		return evbuffer_add(buf, text, n);
	return json_dump_callback(v, api_dump_cb, buf, JSON_COMPACT);
}

/*
 * Sends buf, a JSON text, with status code; buf stays the caller's.
 * Every reply goes through here so that every one carries the same
 * headers.
 */
void
api_send(struct evhttp_request *req, int code, struct evbuffer *buf)
{
	api_send_type(req, code, "application/json", buf);
}

/* A reply waiting for the incident log's commit. */
struct held {
	TAILQ_ENTRY(held) link;
	struct evhttp_request *req;
	int code;
	struct evbuffer *body;		/* NULL: no body (HEAD) */
};
static TAILQ_HEAD(, held) held_q = TAILQ_HEAD_INITIALIZER(held_q);
static bool (*held_gate)(void);

void
api_set_commit_gate(bool (*uncommitted)(void))
{
	held_gate = uncommitted;
}

/* The held reply's connection is gone (evhttp frees its request). */
static void
held_gone(void *arg)
{
	struct held *h = arg;

	TAILQ_REMOVE(&held_q, h, link);
	if (h->body != NULL)
		evbuffer_free(h->body);
	free(h);
}

void
api_release_held(void)
{
	struct held *h;

	while ((h = TAILQ_FIRST(&held_q)) != NULL) {
		TAILQ_REMOVE(&held_q, h, link);
		api_conn_unwatch(h->req);
		evhttp_send_reply(h->req, h->code, NULL, h->body);
		if (h->body != NULL)
			evbuffer_free(h->body);
		free(h);
	}
}

/*
 * Hold the reply until the commit, if anything is uncommitted: 1, held
 * (buf's content moved); 0, send it now.
 */
static int
held_add(struct evhttp_request *req, int code, struct evbuffer *buf)
{
	struct held *h;

	if (held_gate == NULL || !held_gate() ||
	    (h = calloc(1, sizeof(*h))) == NULL)
		return 0;
	/* a connection we do not track cannot tell us it went: send now */
	if (api_conn_watch(req, held_gone, h) == -1 ||
	    (buf != NULL && ((h->body = evbuffer_new()) == NULL ||
	    evbuffer_add_buffer(h->body, buf) == -1))) {
		api_conn_unwatch(req);
		if (h->body != NULL) {	/* buf whole again, sent now */
			evbuffer_prepend_buffer(buf, h->body);
			evbuffer_free(h->body);
		}
		free(h);
		return 0;
	}
	h->req = req;
	h->code = code;
	TAILQ_INSERT_TAIL(&held_q, h, link);
	return 1;
}

void
api_send_type(struct evhttp_request *req, int code, const char *type,
    struct evbuffer *buf)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char len[32];

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	/*
	 * libevent 2.1 writes whatever body it is given, HEAD or not, and
	 * adds no Content-Length to a HEAD reply.  So a HEAD reply gets the
	 * length the GET body would have, and no body.
	 */
	snprintf(len, sizeof(len), "%zu", evbuffer_get_length(buf));
	evhttp_add_header(h, "Content-Length", len);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		if (held_add(req, code, NULL) == 0)
			evhttp_send_reply(req, code, NULL, NULL);
	} else if (held_add(req, code, buf) == 0)
		evhttp_send_reply(req, code, NULL, buf);
}

/*
 * Sends body (a reference this function steals) with status code.  A
 * NULL body means building it ran out of memory: that becomes a 500.
 */
void
api_reply(struct evhttp_request *req, int code, json_t *body)
{
	static const char oom[] = "{\"error\":\"out of memory\"}";
	struct evbuffer *buf;

	if ((buf = evbuffer_new()) == NULL) {
		json_decref(body);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (body == NULL ||
	    json_dump_callback(body, api_dump_cb, buf, JSON_COMPACT) == -1) {
		log_warnx("api: %s: out of memory building the reply",
		    evhttp_request_get_uri(req));
		evbuffer_drain(buf, evbuffer_get_length(buf));
		evbuffer_add(buf, oom, sizeof(oom) - 1);
		code = HTTP_INTERNAL;
	}
	json_decref(body);
	api_send(req, code, buf);
	evbuffer_free(buf);
}

/* Replies {"error": printf(fmt, …)} with status code. */
void
api_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	json_t *body;
	va_list ap;
	char *msg = NULL;
	int err = 0, n;

	/* Messages quote request text, so their length is not ours to bound. */
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n >= 0 && (msg = malloc((size_t)n + 1)) != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	if ((body = json_object()) != NULL)
		api_set(body, "error", api_str(msg != NULL ? msg : "error"),
		    &err);
	free(msg);
	if (err) {
		json_decref(body);
		body = NULL;
	}
	api_reply(req, code, body);
}

/* ---- request helpers ------------------------------------------------ */

char *
api_path_name(struct evhttp_request *req, const char *rest, const char *what)
{
	char *name;
	size_t len;

	/* In a path '+' is a plus, not a space. */
	if ((name = evhttp_uridecode(rest, 0, &len)) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		return NULL;
	}
	if (strlen(name) != len || len == 0) {
		api_error(req, HTTP_BADREQUEST, "malformed %s name: %s", what,
		    rest);
		free(name);
		return NULL;
	}
	return name;
}

json_t *
api_body_json(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	json_error_t jerr;
	json_t *body;
	const char *text;

	if (n == 0) {
		api_error(req, HTTP_BADREQUEST, "a JSON object body is "
		    "required");
		return NULL;
	}
	if ((text = (const char *)evbuffer_pullup(in, -1)) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		return NULL;
	}
	body = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL) {
		api_error(req, HTTP_BADREQUEST, "malformed JSON at line %d "
		    "column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		api_error(req, HTTP_BADREQUEST, "the body must be a JSON "
		    "object");
		return NULL;
	}
	return body;
}

int
api_query(struct evhttp_request *req, struct evkeyvalq *q)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;

	TAILQ_INIT(q);
	if (query != NULL && evhttp_parse_query_str(query, q) == -1) {
		evhttp_clear_headers(q);
		api_error(req, HTTP_BADREQUEST, "malformed query string");
		return -1;
	}
	return 0;
}

