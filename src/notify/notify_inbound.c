/*
 * notify_inbound.c — acks coming back: PagerDuty's v3 webhooks and
 * Slack's interactive buttons act on tocsin's incidents, so tocsin's own
 * escalation stops when someone acts in those apps.
 *
 *  POST /api/v1/inbound/pagerduty: X-PagerDuty-Signature is one or more
 *   "v1=HEX" (comma-separated), HEX the HMAC-SHA256 of the raw body under
 *   the webhook_secret of a channel of format pagerduty; at least one
 *   must match.  incident.acknowledged, .resolved and .unacknowledged act
 *   on the incident whose id is data.incident_key (the dedup_key tocsin
 *   sent); other events are answered 200 and ignored.
 *  POST /api/v1/inbound/slack: X-Slack-Signature is "v0=HEX", HEX the
 *   HMAC-SHA256 of "v0:TIMESTAMP:BODY" under the signing_secret of a
 *   channel of format slack, X-Slack-Request-Timestamp within 5 minutes.
 *   A block_actions payload's tocsin_* button acts as "@username"; the
 *   original message is then replaced through its response_url
 *   ("Acknowledged by @alice").
 *
 * Both refuse with 401, changing nothing, a request whose signature does
 * not match, that is older (or newer) than 5 minutes (PagerDuty:
 * event.occurred_at), or that was seen before (the last NI_SEEN
 * signatures or event ids, in memory: a replay older than the window is
 * refused as stale anyway).  These routes are API_SIGNED (no token).
 */
#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/api.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/util.h"
#include "incident/incident.h"
#include "notify/notify_int.h"

#define NI_WINDOW_S	300		/* a request older than this: stale */
#define NI_SEEN		4096		/* signatures / ids remembered */

static struct {
	char *seen[NI_SEEN];		/* ring of recent ids (owned) */
	time_t seen_at[NI_SEEN];
	unsigned next;
	nt_snooze_fn *snooze;		/* notify.c's, from ninbound_init() */
} ni_g;

/* Seen within the window?  Else remember it.  RETURN VALUE: true: seen. */
static bool
ni_replayed(const char *kind, const char *id)
{
	char key[512];
	time_t now = time(NULL);
	unsigned i;

	snprintf(key, sizeof(key), "%s:%s", kind, id);
	for (i = 0; i < NI_SEEN; i++)
		if (ni_g.seen[i] != NULL && now - ni_g.seen_at[i] <=
		    2 * NI_WINDOW_S && strcmp(ni_g.seen[i], key) == 0)
			return true;
	free(ni_g.seen[ni_g.next]);
	ni_g.seen[ni_g.next] = strdup(key);
	ni_g.seen_at[ni_g.next] = now;
	ni_g.next = (ni_g.next + 1) % NI_SEEN;
	return false;
}

/*
 * Forget kind:id again: the request did nothing (the incident log could
 * not record it) and was answered 500 "retry", so the sender's retry of
 * the very same request must act, not be refused as a replay.
 */
static void
ni_forget(const char *kind, const char *id)
{
	char key[512];
	unsigned i;

	snprintf(key, sizeof(key), "%s:%s", kind, id);
	for (i = 0; i < NI_SEEN; i++)
		if (ni_g.seen[i] != NULL && strcmp(ni_g.seen[i], key) == 0) {
			free(ni_g.seen[i]);
			ni_g.seen[i] = NULL;
		}
}

/* Lowercase hex of HMAC-SHA256(key, a || b || c) into out[65]. */
static int
ni_hmac_hex(const char *key, const void *a, size_t alen, const void *b,
    size_t blen, const void *c, size_t clen, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	unsigned char *msg;

	if ((msg = malloc(alen + blen + clen + 1)) == NULL)
		return -1;
	memcpy(msg, a, alen);
	if (blen > 0)
		memcpy(msg + alen, b, blen);
	if (clen > 0)
		memcpy(msg + alen + blen, c, clen);
	if (HMAC(EVP_sha256(), key, (int)strlen(key), msg, alen + blen + clen,
	    md, &mdlen) == NULL || mdlen != 32) {
		free(msg);
		return -1;
	}
	free(msg);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static void
ni_deny(struct evhttp_request *req, const char *why, const char *what)
{
	log_warnx("notify: inbound %s refused: %s", what, why);
	api_error(req, 401, "%s", why);
}

/* The raw body (borrowed from req) and its length. */
static const char *
ni_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);

	*len = evbuffer_get_length(in);
	if (*len == 0)
		return "";
	return (const char *)evbuffer_pullup(in, -1);
}

/* "2020-10-02T18:45:22.169Z" → seconds; -1 if not that. */
static time_t
ni_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
		return -1;
	return timegm(&tm);
}

/* An incident id tocsin sent as dedup_key; 0 if not one. */
static int64_t
ni_incident(const char *key)
{
	char *end;
	long long v;

	if (key == NULL || *key < '1' || *key > '9')
		return 0;
	errno = 0;
	v = strtoll(key, &end, 10);
	return errno == 0 && *end == '\0' && v > 0 ? (int64_t)v : 0;
}

static void
ni_ok(struct evhttp_request *req, const char *what, const char *result)
{
	json_t *o = json_object();
	int err = o == NULL;

	api_set(o, what, api_str(result), &err);
	api_reply(req, HTTP_OK, err ? NULL : o);
	if (err)
		json_decref(o);
}

/* ---- PagerDuty ------------------------------------------------------------ */

static bool
ni_pd_signed(struct evhttp_request *req, const char *body, size_t len)
{
	const struct nlist *l = nconf_channels(daemon_g.cf);
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(
	    req), "X-PagerDuty-Signature");
	char want[65];
	unsigned i;
	bool ok = false;

	for (i = 0; h != NULL && l != NULL && i < l->n; i++) {
		const struct nchannel *ch = l->v[i];
		const char *p = h;

		if (ch->webhook_secret == NULL || ni_hmac_hex(
		    ch->webhook_secret, body, len, NULL, 0, NULL, 0,
		    want) == -1)
			continue;
		/* "v1=HEX,v1=HEX": any one may match (secret rotation) */
		while (*p != '\0') {
			size_t n;

			while (*p == ' ' || *p == ',')
				p++;
			n = strcspn(p, ",");
			if (n == 67 && strncmp(p, "v1=", 3) == 0 &&
			    CRYPTO_memcmp(p + 3, want, 64) == 0)
				ok = true;
			p += n;
		}
	}
	return ok;
}

static void
ni_pagerduty(struct evhttp_request *req, const char *rest, void *arg)
{
	size_t len;
	const char *body = ni_body(req, &len), *type, *eid, *who, *why;
	json_t *o, *ev, *data;
	json_error_t jerr;
	time_t at, now = time(NULL);
	int64_t id;
	int rc;

	(void)rest;
	(void)arg;
	if (body == NULL || !ni_pd_signed(req, body, len)) {
		ni_deny(req, "X-PagerDuty-Signature does not match a "
		    "webhook_secret", "pagerduty");
		return;
	}
	if ((o = json_loadb(body, len, 0, &jerr)) == NULL) {
		api_error(req, HTTP_BADREQUEST, "malformed JSON: %s",
		    jerr.text);
		return;
	}
	ev = json_object_get(o, "event");
	data = json_object_get(ev, "data");
	type = json_string_value(json_object_get(ev, "event_type"));
	eid = json_string_value(json_object_get(ev, "id"));
	who = json_string_value(json_object_get(json_object_get(ev, "agent"),
	    "summary"));
	at = ni_time(json_string_value(json_object_get(ev, "occurred_at")));
	if (type == NULL || eid == NULL || at == -1) {
		json_decref(o);
		api_error(req, HTTP_BADREQUEST, "not a v3 webhook: needs "
		    "event.id, event.event_type and event.occurred_at");
		return;
	}
	if (at < now - NI_WINDOW_S || at > now + NI_WINDOW_S) {
		json_decref(o);
		ni_deny(req, "stale: event.occurred_at is not within 5 "
		    "minutes of now", "pagerduty");
		return;
	}
	if (ni_replayed("pd", eid)) {
		json_decref(o);
		ni_deny(req, "replayed: this event was received before",
		    "pagerduty");
		return;
	}
	id = ni_incident(json_string_value(json_object_get(data,
	    "incident_key")));
	if (strcmp(type, "incident.acknowledged") != 0 &&
	    strcmp(type, "incident.resolved") != 0 &&
	    strcmp(type, "incident.unacknowledged") != 0) {
		json_decref(o);
		ni_ok(req, "ignored", "not an event tocsin acts on");
		return;
	}
	if (id == 0) {
		json_decref(o);
		ni_ok(req, "ignored", "data.incident_key is not a tocsin "
		    "incident id");
		return;
	}
	if (who == NULL || *who == '\0')
		who = "PagerDuty";
	if (strcmp(type, "incident.acknowledged") == 0)
		rc = incident_ack_via(id, who, "PagerDuty", NULL, &why);
	else if (strcmp(type, "incident.resolved") == 0)
		rc = incident_resolve_via(id, who, "PagerDuty", NULL, &why);
	else
		rc = incident_unack(id, who, "PagerDuty", &why);
	if (rc == -1)
		ni_ok(req, "ignored", "no such incident");
	else if (rc == -2)
		ni_ok(req, "ignored", why != NULL ? why : "not allowed now");
	else if (rc == -3) {
		ni_forget("pd", eid);	/* PagerDuty's retry must act */
		api_error(req, HTTP_INTERNAL, "cannot record it; retry");
	} else
		ni_ok(req, "done", type);
	json_decref(o);		/* type and eid point into it */
}

/* ---- Slack -------------------------------------------------------------- */

static bool
ni_slack_signed(struct evhttp_request *req, const char *body, size_t len,
    const char **why)
{
	const struct nlist *l = nconf_channels(daemon_g.cf);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ts = evhttp_find_header(h, "X-Slack-Request-Timestamp");
	const char *sig = evhttp_find_header(h, "X-Slack-Signature");
	char want[65], *end, pre[40];
	long long t;
	unsigned i;
	bool ok = false;

	*why = "X-Slack-Signature does not match a signing_secret";
	if (ts == NULL || sig == NULL || strlen(sig) != 67 ||
	    strncmp(sig, "v0=", 3) != 0)
		return false;
	errno = 0;
	t = strtoll(ts, &end, 10);
	if (errno != 0 || end == ts || *end != '\0' || strlen(ts) > 20)
		return false;
	snprintf(pre, sizeof(pre), "v0:%s:", ts);
	for (i = 0; l != NULL && i < l->n; i++) {
		const struct nchannel *ch = l->v[i];

		if (ch->signing_secret != NULL && ni_hmac_hex(
		    ch->signing_secret, pre, strlen(pre), body, len, NULL, 0,
		    want) == 0 && CRYPTO_memcmp(sig + 3, want, 64) == 0)
			ok = true;
	}
	if (!ok)
		return false;
	/* checked after the signature: a forger learns nothing of time */
	if (t < (long long)time(NULL) - NI_WINDOW_S ||
	    t > (long long)time(NULL) + NI_WINDOW_S) {
		*why = "stale: X-Slack-Request-Timestamp is not within 5 "
		    "minutes of now";
		return false;
	}
	if (ni_replayed("slack", sig)) {
		*why = "replayed: this request was received before";
		return false;
	}
	return true;
}

struct ni_update {
	int64_t id;
	struct nchannel ch;		/* url: the response_url */
	LIST_ENTRY(ni_update) link;	/* in ni_updates while in flight */
};

/*
 * Updates in flight: nsend_shutdown() abandons them without calling
 * ni_update_done(), so ninbound_shutdown() frees what is left here.
 */
static LIST_HEAD(, ni_update) ni_updates = LIST_HEAD_INITIALIZER(ni_updates);

static void
ni_update_free(struct ni_update *u)
{
	free(u->ch.url);
	free(u);
}

static void
ni_update_done(void *arg, enum nsend_result r, const char *why)
{
	struct ni_update *u = arg;
	char text[320];

	snprintf(text, sizeof(text), "Slack message %s (%s)",
	    r == NSEND_OK ? "updated" : "not updated", why);
	incident_timeline_add(u->id, r == NSEND_OK ? "notified" :
	    "notify_failed", text);
	LIST_REMOVE(u, link);
	ni_update_free(u);
}

/* Replace the message the button was in: "Acknowledged by @alice". */
static void
ni_slack_update(int64_t id, const char *response_url, const char *text)
{
	struct ni_update *u;
	json_t *o;
	char *body, key[64];
	const char *why;
	int err = 0;

	if (response_url == NULL || (strncmp(response_url, "https://", 8) != 0
	    && strncmp(response_url, "http://", 7) != 0))
		return;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return;
	u->id = id;
	u->ch.name = (char *)"slack-response";
	u->ch.url = strdup(response_url);
	u->ch.timeout_ms = 10000;
	o = json_object();
	api_set(o, "replace_original", json_true(), &err);
	api_set(o, "text", api_str(text), &err);
	body = err || o == NULL ? NULL : json_dumps(o, JSON_COMPACT);
	json_decref(o);
	snprintf(key, sizeof(key), "%" PRId64 "/slack-update/%lld", id,
	    (long long)time(NULL));
	LIST_INSERT_HEAD(&ni_updates, u, link);
	if (u->ch.url == NULL || body == NULL || nsend_request(&u->ch, "POST",
	    NULL, NULL, NULL, 0, body, strlen(body), key, ni_update_done, u,
	    &why) == NULL) {
		LIST_REMOVE(u, link);
		ni_update_free(u);
	}
	free(body);
}

static void
ni_slack(struct evhttp_request *req, const char *rest, void *arg)
{
	size_t len;
	const char *body = ni_body(req, &len), *why = NULL, *p, *aid, *val;
	const char *user;
	struct evkeyvalq q;
	json_t *o = NULL, *act;
	json_error_t jerr;
	char *copy, by[128], text[512];
	int64_t id;
	int rc;

	(void)rest;
	(void)arg;
	if (body == NULL || !ni_slack_signed(req, body, len, &why)) {
		ni_deny(req, why != NULL ? why : "not signed", "slack");
		return;
	}
	/* the body is form-encoded: payload=JSON */
	TAILQ_INIT(&q);
	if ((copy = strndup(body, len)) == NULL ||
	    evhttp_parse_query_str(copy, &q) == -1 ||
	    (p = evhttp_find_header(&q, "payload")) == NULL ||
	    (o = json_loads(p, 0, &jerr)) == NULL) {
		free(copy);
		evhttp_clear_headers(&q);
		api_error(req, HTTP_BADREQUEST, "not an interactive payload "
		    "(payload=JSON)");
		return;
	}
	free(copy);
	evhttp_clear_headers(&q);
	act = json_array_get(json_object_get(o, "actions"), 0);
	aid = json_string_value(json_object_get(act, "action_id"));
	val = json_string_value(json_object_get(act, "value"));
	user = json_string_value(json_object_get(json_object_get(o, "user"),
	    "username"));
	if (user == NULL)
		user = json_string_value(json_object_get(json_object_get(o,
		    "user"), "name"));
	id = ni_incident(val);
	if (aid == NULL || strncmp(aid, "tocsin_", 7) != 0 || id == 0) {
		json_decref(o);
		ni_ok(req, "ignored", "not a tocsin button");
		return;
	}
	snprintf(by, sizeof(by), "@%s", user != NULL ? user : "someone");
	why = NULL;
	if (strcmp(aid, "tocsin_acknowledge") == 0)
		rc = incident_ack_via(id, by, "Slack", NULL, &why);
	else if (strcmp(aid, "tocsin_resolve") == 0)
		rc = incident_resolve_via(id, by, "Slack", NULL, &why);
	else if (strcmp(aid, "tocsin_snooze") == 0) {
		snprintf(text, sizeof(text), "snoozed for %s",
		    nl_snooze_text());
		rc = incident_ack_via(id, by, "Slack", text, &why);
		/* escalation due times are on the steady clock (util.h) */
		if (rc == 0)
			ni_g.snooze(id, steady_ms() +
			    nconf_snooze_ms(daemon_g.cf));
	} else
		rc = -4;
	if (rc == 0)
		snprintf(text, sizeof(text), "%s by %s (incident #%" PRId64
		    ")", strcmp(aid, "tocsin_resolve") == 0 ? "Resolved" :
		    strcmp(aid, "tocsin_snooze") == 0 ? "Snoozed" :
		    "Acknowledged", by, id);
	else
		snprintf(text, sizeof(text), "Incident #%" PRId64 ": not "
		    "done: %s", id, why != NULL ? why : rc == -1 ?
		    "no such incident" : "not allowed now");
	ni_slack_update(id, json_string_value(json_object_get(o,
	    "response_url")), text);
	json_decref(o);
	if (rc == -3) {
		ni_forget("slack", evhttp_find_header(
		    evhttp_request_get_input_headers(req), "X-Slack-Signature"));
		api_error(req, HTTP_INTERNAL, "cannot record it; retry");
	} else
		ni_ok(req, rc == 0 ? "done" : "ignored", text);
}

int
ninbound_init(nt_snooze_fn *snooze)
{
	ni_g.snooze = snooze;
	if (api_route_add(EVHTTP_REQ_POST, "/api/v1/inbound/pagerduty",
	    API_SIGNED | API_OUTSIDE, ni_pagerduty, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/inbound/slack",
	    API_SIGNED | API_OUTSIDE, ni_slack, NULL) == -1)
		return -1;
	return 0;
}

void
ninbound_shutdown(void)
{
	struct ni_update *u;
	unsigned i;

	while ((u = LIST_FIRST(&ni_updates)) != NULL) {
		LIST_REMOVE(u, link);
		ni_update_free(u);
	}

	for (i = 0; i < NI_SEEN; i++) {
		free(ni_g.seen[i]);
		ni_g.seen[i] = NULL;
	}
	ni_g.next = 0;
}
