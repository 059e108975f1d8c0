/*
 * notify_links.c — action links: the acknowledge, resolve and snooze
 * links in every page, and the pages they open.
 *
 * A link is {public_url}/api/v1/act/ID/ACTION?r=WHO&e=EXPIRY&s=SIG where
 * SIG is HMAC-SHA256 (OpenSSL) under a key of state_dir/action.key (32
 * random bytes, created 0600 at the first start) over the incident id,
 * the action, the recipient (a contact's name, or a channel's when a
 * step names the channel) and the expiry, each ended by a NUL.  So a link
 * acts for one incident, one action and one person, until it expires
 * (api.action_link_ttl), and nobody can make one without the key.
 *
 * GET never changes anything: mail scanners and chat previews fetch
 * links.  It shows the incident (title, state, checks, timeline) and one
 * button; the button POSTs to the same URL, which acts as that person
 * ("acknowledged by alice via link").  A link whose signature does not
 * match, or that expired, is a 403 page.  These routes are API_SIGNED:
 * no token (they carry their own proof), served on api.public_listen too.
 *
 * Never blocks: a page is built from the incident log in memory; the
 * action is the incident log's own call.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "api/api.h"
#include "api/api_conf.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/util.h"
#include "incident/incident.h"
#include "notify/notify_int.h"

#define NL_KEY_LEN	32
#define NL_WHO_MAX	200

static struct {
	unsigned char key[NL_KEY_LEN];
	bool have_key;
	nt_snooze_fn *snooze;		/* notify.c's, from nlink_init() */
} nl_g;

static const char *const nl_actions[] = { "acknowledge", "resolve",
	"snooze" };

/* ---- the key ------------------------------------------------------------ */

static int
nl_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Read state_dir/action.key, or create it.  RETURN VALUE: 0 or -1. */
static int
nl_key_load(const char *dir)
{
	char path[4096], hex[2 * NL_KEY_LEN + 2];
	struct stat sb;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "%s/action.key", dir);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 &&
	    errno == ENOENT) {
		if (RAND_bytes(nl_g.key, NL_KEY_LEN) != 1) {
			log_warnx("notify: %s: no random bytes for the key",
			    path);
			return -1;
		}
		for (i = 0; i < NL_KEY_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02x", nl_g.key[i]);
		hex[2 * NL_KEY_LEN] = '\n';
		/* O_EXCL: never truncate a key another process just wrote */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1 || write(fd, hex, 2 * NL_KEY_LEN + 1) !=
		    2 * NL_KEY_LEN + 1 || fsync(fd) == -1) {
			log_warn("notify: cannot write %s", path);
			if (fd != -1) {
				close(fd);
				unlink(path);
			}
			return -1;
		}
		close(fd);
		OPENSSL_cleanse(hex, sizeof(hex));
		log_notice("notify: created the action link key %s (mode "
		    "0600); whoever reads it can act on incidents", path);
		nl_g.have_key = true;
		return 0;
	}
	if (fd == -1) {
		log_warn("notify: cannot read %s", path);
		return -1;
	}
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0)
		log_warnx("notify: %s can be read by others (mode %04o): "
		    "whoever reads it can act on incidents; chmod 600 it",
		    path, (unsigned)(sb.st_mode & 07777));
	n = read(fd, hex, sizeof(hex));
	close(fd);
	if (n < 2 * NL_KEY_LEN) {
		log_warnx("notify: %s: not %d hex digits", path,
		    2 * NL_KEY_LEN);
		return -1;
	}
	for (i = 0; i < NL_KEY_LEN; i++) {
		int hi = nl_hex(hex[2 * i]), lo = nl_hex(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			log_warnx("notify: %s: not %d hex digits", path,
			    2 * NL_KEY_LEN);
			return -1;
		}
		nl_g.key[i] = (unsigned char)(hi << 4 | lo);
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	nl_g.have_key = true;
	return 0;
}

/* ---- signing -------------------------------------------------------------- */

/* base64url of the MAC of (id, action, who, exp) into out[44]. */
static int
nl_sign(int64_t id, const char *action, const char *who, int64_t exp,
    char out[44])
{
	unsigned char md[EVP_MAX_MD_SIZE], *msg;
	unsigned mdlen = 0, i, o = 0;
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char num[2][24];
	size_t len, a, b, c, d;

	if (!nl_g.have_key)
		return -1;
	a = (size_t)snprintf(num[0], sizeof(num[0]), "%" PRId64, id) + 1;
	b = strlen(action) + 1;
	c = strlen(who) + 1;
	d = (size_t)snprintf(num[1], sizeof(num[1]), "%" PRId64, exp) + 1;
	len = a + b + c + d;
	if ((msg = malloc(len)) == NULL)
		return -1;
	memcpy(msg, num[0], a);
	memcpy(msg + a, action, b);
	memcpy(msg + a + b, who, c);
	memcpy(msg + a + b + c, num[1], d);
	if (HMAC(EVP_sha256(), nl_g.key, NL_KEY_LEN, msg, len, md,
	    &mdlen) == NULL || mdlen != 32) {
		free(msg);
		return -1;
	}
	free(msg);
	for (i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)md[i] << 16 |
		    (i + 1 < 32 ? (unsigned)md[i + 1] << 8 : 0) |
		    (i + 2 < 32 ? md[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		if (i + 1 < 32)
			out[o++] = b64[v >> 6 & 63];
		if (i + 2 < 32)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';			/* 43 characters */
	return 0;
}

static bool
nl_action_ok(const char *a)
{
	unsigned i;

	for (i = 0; i < sizeof(nl_actions) / sizeof(nl_actions[0]); i++)
		if (strcmp(a, nl_actions[i]) == 0)
			return true;
	return false;
}

/* Returns a new string (the link) or NULL. */
static char *
nl_url(const char *base, int64_t id, const char *action, const char *who,
    int64_t exp)
{
	char sig[44], *w, *url = NULL;

	if (nl_sign(id, action, who, exp, sig) == -1 ||
	    (w = evhttp_uriencode(who, -1, 0)) == NULL)
		return NULL;
	if (asprintf(&url, "%s/api/v1/act/%" PRId64 "/%s?r=%s&e=%" PRId64
	    "&s=%s", base, id, action, w, exp, sig) < 0)
		url = NULL;
	free(w);
	return url;
}

json_t *
nlink_actions(int64_t id, const char *event, const char *status,
    const char *who)
{
	const struct api_conf *ac = api_conf(daemon_g.cf);
	const char *verb = strchr(event, '.');
	bool acked;
	json_t *o;
	int64_t exp;
	unsigned i;
	int err = 0;

	if (ac == NULL || ac->public_url == NULL || who == NULL ||
	    !nl_g.have_key || verb == NULL)
		return NULL;
	verb++;
	/* by the incident as it is when sent (a retry may come later) */
	if (strcmp(verb, "resolved") == 0 || (status != NULL &&
	    (strcmp(status, "resolved") == 0 ||
	    strcmp(status, "closed") == 0)))
		return NULL;		/* nothing left to do */
	acked = strcmp(verb, "acknowledged") == 0 || (status != NULL &&
	    strcmp(status, "acknowledged") == 0);
	exp = (int64_t)time(NULL) + ac->action_link_ttl_ms / 1000;
	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(nl_actions) / sizeof(nl_actions[0]); i++) {
		char *u;

		/* acknowledged: only resolve is left */
		if (acked && strcmp(nl_actions[i], "resolve") != 0)
			continue;
		if ((u = nl_url(ac->public_url, id, nl_actions[i], who,
		    exp)) == NULL) {
			err = 1;
			break;
		}
		api_set(o, nl_actions[i], json_string(u), &err);
		free(u);
	}
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- the pages -------------------------------------------------------------- */

static void
nl_esc(struct evbuffer *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		switch (*s) {
		case '<': evbuffer_add(b, "&lt;", 4); break;
		case '>': evbuffer_add(b, "&gt;", 4); break;
		case '&': evbuffer_add(b, "&amp;", 5); break;
		case '"': evbuffer_add(b, "&quot;", 6); break;
		case '\'': evbuffer_add(b, "&#39;", 5); break;
		default: evbuffer_add(b, s, 1); break;
		}
}

static const char *
js(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void
nl_head(struct evbuffer *b, const char *title)
{
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"robots\" content=\"noindex\"><title>");
	nl_esc(b, title);
	evbuffer_add_printf(b, "</title><style>"
	    "body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;"
	    "max-width:40em;padding:1em;color:#222}"
	    "h1{font-size:1.3em}.st{font-weight:bold}"
	    ".open{color:#b00}.acknowledged{color:#a60}.resolved{color:#070}"
	    "button{font-size:1.2em;padding:.7em 1.4em;border-radius:.4em;"
	    "border:0;background:#1d4ed8;color:#fff;width:100%%}"
	    "ul{padding-left:1.2em}li{margin:.2em 0}"
	    "ol{padding-left:1.2em;color:#444;font-size:.9em}"
	    ".note{padding:.6em;background:#eef;border-radius:.3em}"
	    "</style></head><body>\n");
}

/* The incident's title and state (the button comes right after). */
static void
nl_incident_head(struct evbuffer *b, json_t *inc)
{
	evbuffer_add_printf(b, "<h1>Incident #%" JSON_INTEGER_FORMAT ": ",
	    json_integer_value(json_object_get(inc, "id")));
	nl_esc(b, js(inc, "title"));
	evbuffer_add_printf(b, "</h1>\n<p><span class=\"st %s\" id=\"status\">",
	    js(inc, "status"));
	nl_esc(b, js(inc, "status"));
	evbuffer_add_printf(b, "</span> · ");
	nl_esc(b, js(inc, "priority"));
	evbuffer_add_printf(b, " · root cause ");
	nl_esc(b, js(inc, "root_cause"));
	evbuffer_add_printf(b, " · opened ");
	nl_esc(b, js(inc, "opened_at"));
	if (*js(inc, "acknowledged_by") != '\0') {
		evbuffer_add_printf(b, " · acknowledged by ");
		nl_esc(b, js(inc, "acknowledged_by"));
	}
	evbuffer_add_printf(b, "</p>\n");
}

/* Its checks and the timeline's last 20 lines. */
static void
nl_incident_body(struct evbuffer *b, json_t *inc)
{
	json_t *a, *x;
	size_t i, n;

	evbuffer_add_printf(b, "<h2>Checks</h2><ul>");
	a = json_object_get(inc, "checks");
	json_array_foreach(a, i, x) {
		if (i >= 50)
			break;
		evbuffer_add_printf(b, "<li>");
		nl_esc(b, js(x, "name"));
		evbuffer_add_printf(b, " — ");
		nl_esc(b, js(x, "state"));
		evbuffer_add_printf(b, " (");
		nl_esc(b, js(x, "role"));
		evbuffer_add_printf(b, ")</li>");
	}
	evbuffer_add_printf(b, "</ul>\n<h2>Timeline</h2><ol id=\"timeline\">");
	a = json_object_get(inc, "timeline");
	n = json_array_size(a);
	for (i = n > 20 ? n - 20 : 0; i < n; i++) {
		x = json_array_get(a, i);
		evbuffer_add_printf(b, "<li>");
		nl_esc(b, js(x, "at"));
		evbuffer_add_printf(b, " ");
		nl_esc(b, js(x, "text"));
		evbuffer_add_printf(b, "</li>");
	}
	evbuffer_add_printf(b, "</ol>\n");
}

static void
nl_send(struct evhttp_request *req, int code, struct evbuffer *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evbuffer_add_printf(b, "<p><small>tocsind</small></p></body></html>\n");
	/* the link is a credential: not cached, not passed on, not framed */
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'; form-action 'self'; "
	    "frame-ancestors 'none'");
	api_send_type(req, code, "text/html; charset=utf-8", b);
}

static void
nl_refuse(struct evhttp_request *req, int code, const char *title,
    const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		api_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	nl_head(b, title);
	evbuffer_add_printf(b, "<h1>");
	nl_esc(b, title);
	evbuffer_add_printf(b, "</h1><p class=\"note\">");
	nl_esc(b, text);
	evbuffer_add_printf(b, "</p>");
	nl_send(req, code, b);
	evbuffer_free(b);
}

/* A link's parts, checked.  RETURN VALUE: 0, or -1 after answering. */
struct nl_link {
	int64_t id;
	char action[16];
	char *who;			/* owned */
	int64_t exp;
};

static int
nl_parse(struct evhttp_request *req, const char *rest, struct nl_link *l)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq q;
	const char *r, *e, *s, *slash;
	char sig[44], *end;
	bool ok = false;

	memset(l, 0, sizeof(*l));
	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1)
		query = NULL;
	r = evhttp_find_header(&q, "r");
	e = evhttp_find_header(&q, "e");
	s = evhttp_find_header(&q, "s");
	errno = 0;
	l->id = strtoll(rest, &end, 10);
	slash = end;
	if (query != NULL && r != NULL && e != NULL && s != NULL &&
	    errno == 0 && end != rest && l->id > 0 && *slash == '/' &&
	    strlen(slash + 1) < sizeof(l->action) &&
	    nl_action_ok(slash + 1) && strlen(r) <= NL_WHO_MAX &&
	    *r != '\0') {
		snprintf(l->action, sizeof(l->action), "%s", slash + 1);
		errno = 0;
		l->exp = strtoll(e, &end, 10);
		if (errno == 0 && end != e && *end == '\0' && strlen(s) == 43 &&
		    nl_sign(l->id, l->action, r, l->exp, sig) == 0 &&
		    CRYPTO_memcmp(sig, s, 43) == 0) {
			ok = true;
			l->who = strdup(r);
		}
	}
	evhttp_clear_headers(&q);
	if (!ok || l->who == NULL) {
		nl_refuse(req, 403, "This link is not valid",
		    "The link is incomplete or was changed, or tocsind's link "
		    "key changed since it was sent. Use the newest page you "
		    "received, or act in tocsinctl or the dashboard.");
		return -1;
	}
	if (l->exp < (int64_t)time(NULL)) {
		free(l->who);
		l->who = NULL;
		nl_refuse(req, 403, "This link has expired",
		    "Action links work for a limited time (api { "
		    "action_link_ttl }). Use a newer page, or act in tocsinctl "
		    "or the dashboard.");
		return -1;
	}
	return 0;
}

/* "1h", "30m", "45s": the snooze's length as people read it. */
const char *
nl_snooze_text(void)
{
	static char buf[32];
	int64_t ms = nconf_snooze_ms(daemon_g.cf);

	if (ms % 3600000 == 0)
		snprintf(buf, sizeof(buf), "%" PRId64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, sizeof(buf), "%" PRId64 "m", ms / 60000);
	else
		snprintf(buf, sizeof(buf), "%" PRId64 "s", ms / 1000);
	return buf;
}

static const char *
nl_button(const char *action)
{
	static char buf[48];

	if (strcmp(action, "acknowledge") == 0)
		return "Acknowledge";
	if (strcmp(action, "resolve") == 0)
		return "Resolve";
	snprintf(buf, sizeof(buf), "Snooze %s", nl_snooze_text());
	return buf;
}

/* GET: the confirmation page.  Changes nothing. */
static void
nl_get(struct evhttp_request *req, const char *rest, void *arg)
{
	struct nl_link l;
	struct evbuffer *b;
	json_t *inc;
	const char *st;
	char title[64];
	bool done;

	(void)arg;
	if (nl_parse(req, rest, &l) == -1)
		return;
	if ((inc = incident_json(l.id)) == NULL) {
		nl_refuse(req, HTTP_NOTFOUND, "No such incident",
		    "The incident of this link is not in the incident log.");
		free(l.who);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		json_decref(inc);
		free(l.who);
		api_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	st = js(inc, "status");
	snprintf(title, sizeof(title), "%s incident #%" PRId64 "?",
	    nl_button(l.action), l.id);
	nl_head(b, title);
	nl_incident_head(b, inc);
	done = strcmp(st, "resolved") == 0 || strcmp(st, "closed") == 0 ||
	    (strcmp(st, "acknowledged") == 0 &&
	    strcmp(l.action, "resolve") != 0);
	if (done) {
		evbuffer_add_printf(b, "<p class=\"note\" id=\"nothing\">"
		    "Nothing to do: the incident is ");
		nl_esc(b, st);
		evbuffer_add_printf(b, ".</p>");
	} else {
		/* no action attribute: the form posts to this very URL,
		   whatever prefix a reverse proxy put before it */
		evbuffer_add_printf(b, "<form method=\"post\">"
		    "<button type=\"submit\" id=\"act\">%s as ",
		    nl_button(l.action));
		nl_esc(b, l.who);
		evbuffer_add_printf(b, "</button></form>");
		if (strcmp(l.action, "snooze") == 0)
			evbuffer_add_printf(b, "<p>Snoozing acknowledges the "
			    "incident; if it is still not resolved in %s, "
			    "you are paged again.</p>", nl_snooze_text());
	}
	nl_incident_body(b, inc);
	nl_send(req, HTTP_OK, b);
	evbuffer_free(b);
	json_decref(inc);
	free(l.who);
}

/* POST: act as the link's recipient. */
static void
nl_post(struct evhttp_request *req, const char *rest, void *arg)
{
	struct nl_link l;
	struct evbuffer *b;
	json_t *inc;
	const char *why = NULL;
	char title[96];
	int rc;

	(void)arg;
	if (nl_parse(req, rest, &l) == -1)
		return;
	if (strcmp(l.action, "resolve") == 0)
		rc = incident_resolve_via(l.id, l.who, "link", NULL, &why);
	else if (strcmp(l.action, "acknowledge") == 0)
		rc = incident_ack_via(l.id, l.who, "link", NULL, &why);
	else {
		inc = incident_json(l.id);
		rc = inc != NULL && strcmp(js(inc, "status"),
		    "acknowledged") == 0 ? -2 : 0;
		why = "the incident is acknowledged already";
		json_decref(inc);
		snprintf(title, sizeof(title), "snoozed for %s",
		    nl_snooze_text());
		if (rc == 0)
			rc = incident_ack_via(l.id, l.who, "link", title,
			    &why);
		/* escalation due times are on the steady clock (util.h) */
		if (rc == 0 && nl_g.snooze(l.id, steady_ms() +
		    nconf_snooze_ms(daemon_g.cf)) == -1)
			incident_timeline_add(l.id, "notify", "snooze: no "
			    "route pages this incident; it will not page "
			    "again by itself");
	}
	if (rc == -1 || rc == -3 || (inc = incident_json(l.id)) == NULL) {
		nl_refuse(req, rc == -1 ? HTTP_NOTFOUND : HTTP_INTERNAL,
		    rc == -1 ? "No such incident" : "Not done",
		    rc == -1 ? "The incident of this link is not in the "
		    "incident log." : "tocsind could not record it; try "
		    "again.");
		free(l.who);
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		json_decref(inc);
		free(l.who);
		api_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	snprintf(title, sizeof(title), "Incident #%" PRId64 ": %s", l.id,
	    rc == 0 ? "done" : "not done");
	nl_head(b, title);
	evbuffer_add_printf(b, "<p class=\"note\" id=\"result\">");
	if (rc == 0) {
		if (strcmp(l.action, "snooze") == 0)
			evbuffer_add_printf(b, "Snoozed for %s by ",
			    nl_snooze_text());
		else
			evbuffer_add_printf(b, "%s by ",
			    strcmp(l.action, "resolve") == 0 ? "Resolved" :
			    "Acknowledged");
		nl_esc(b, l.who);
		evbuffer_add_printf(b, ". %s", strcmp(l.action, "resolve") == 0 ?
		    "Everyone paged is told." : "The escalation has stopped.");
	} else {
		evbuffer_add_printf(b, "Not done: ");
		nl_esc(b, why != NULL ? why : "not allowed now");
		evbuffer_add_printf(b, ".");
	}
	evbuffer_add_printf(b, "</p>");
	nl_incident_head(b, inc);
	nl_incident_body(b, inc);
	nl_send(req, rc == 0 ? HTTP_OK : 409, b);
	evbuffer_free(b);
	json_decref(inc);
	free(l.who);
}

int
nlink_init(nt_snooze_fn *snooze)
{
	nl_g.snooze = snooze;
	if (daemon_g.cf == NULL || daemon_g.cf->state_dir == NULL ||
	    nl_key_load(daemon_g.cf->state_dir) == -1) {
		log_warnx("notify: no action link key: pages carry no action "
		    "links");
		nl_g.have_key = false;
	}
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/act/", API_SIGNED |
	    API_OUTSIDE, nl_get, NULL) == -1 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/act/", API_SIGNED |
	    API_OUTSIDE, nl_post, NULL) == -1)
		return -1;
	return 0;
}

void
nlink_shutdown(void)
{
	OPENSSL_cleanse(nl_g.key, sizeof(nl_g.key));
	nl_g.have_key = false;
}
