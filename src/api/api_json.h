/*
 * api_json.h — the conventions every reply of the API shares: JSON
 * values, replies (same headers, errors as {"error":"message"}) and
 * request helpers (api_json.c).  api.h includes it: a module's handlers
 * include api.h only.
 */
#ifndef TOCSIN_API_JSON_H
#define TOCSIN_API_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/http.h>
#include <jansson.h>

struct evbuffer;
struct evkeyvalq;

/* Replies.  api_reply steals body; a NULL body becomes a 500. */
void api_reply(struct evhttp_request *req, int code, json_t *body);
void api_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends v as compact JSON text to buf.  RETURN VALUE: 0 or -1. */
int api_add_json(struct evbuffer *buf, const json_t *v);
/* Sends buf (a JSON text, kept by the caller) with code. */
void api_send(struct evhttp_request *req, int code, struct evbuffer *buf);
/*
 * While uncommitted() says the incident log has writes not on disk yet,
 * replies are held; api_release_held() (after the commit) sends them.
 */
void api_set_commit_gate(bool (*uncommitted)(void));
void api_release_held(void);
/* The same with another Content-Type (a PNG, text/plain, HTML). */
void api_send_type(struct evhttp_request *req, int code, const char *type,
    struct evbuffer *buf);

/*
 * Request helpers.  Each answers the request itself (400/500) and returns
 * NULL when it fails, so a handler just returns.
 * api_path_name: the percent-decoded name in rest (free it).
 * api_body_json: the body parsed as a JSON object (json_decref it).
 */
char *api_path_name(struct evhttp_request *req, const char *rest,
    const char *what);
json_t *api_body_json(struct evhttp_request *req);
/*
 * api_query — the request's query string parsed into q by evhttp's own
 * parser ('+' is a space, %XX decoded); q is empty when there is none.
 * Free q with evhttp_clear_headers() and look keys up with
 * evhttp_find_header().  RETURN VALUE: 0, or -1 after replying 400 (q is
 * then empty).
 */
int api_query(struct evhttp_request *req, struct evkeyvalq *q);

/*
 * JSON values; each returns a new reference or NULL (out of memory).
 * api_str: a string with invalid UTF-8 replaced; NULL → null.
 * api_num: a number, or null for NaN/inf.  api_time: RFC 3339 UTC or
 * null for 0.  api_set/api_append: add v (stolen) and set *err on failure.
 */
json_t *api_str(const char *s);
json_t *api_num(double d);
json_t *api_time(time_t t);
json_t *api_seconds(int64_t ms);
json_t *api_threshold(const char *text);
void api_set(json_t *o, const char *key, json_t *v, int *err);
void api_append(json_t *a, json_t *v, int *err);
/* Length of the well-formed UTF-8 sequence at s, or 0 (jansson's rules). */
size_t api_utf8_len(const unsigned char *s);

#endif
