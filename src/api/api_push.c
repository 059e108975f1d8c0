/*
 * api_push.c — push URLs for heartbeat checks: a cron job or backup
 * script reports in with a GET or POST to a URL of its own, without the
 * API token.
 *
 * Each heartbeat check's URL is /api/v1/push/SECRET, where SECRET is
 * HMAC-SHA256(state_dir/push.key, "push" NUL NAME), cut to 128 bits: the
 * key is random, made on first use (mode 0600), so the URL stays the same
 * over restarts, differs for every check, cannot be guessed, and is read
 * only with the token (GET /api/v1/checks/NAME/push, which api_checks.c
 * hands here).  A push names no check: the secret finds it, so a URL
 * changes nothing but its own check (renaming a check changes its URL).
 *
 * A push records a passive result at once (state, summary and a
 * "duration" metric from ?state=&summary=&duration= or a JSON body) and
 * its time, kept by check name; the heartbeat plugin reads it with
 * tocsin_check_push() to tell silence.  The last push of each check is
 * also written to state_dir/push.json (a few hundred bytes per heartbeat
 * check, replaced whole by rename on every push, read once at the first
 * look-up), so a restart neither forgets a silence nor restarts the wait.
 * Beyond that small file and the key, nothing here touches the disk.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "api/api.h"
#include "api/api_push.h"
#include "core/check.h"
#include "core/conf.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/plugin.h"
#include "core/sched.h"

#define PUSH_KEY_LEN	32
#define PUSH_SECRET_HEX	32		/* 128 bits of the HMAC, in hex */
#define PUSH_SUMMARY_MAX 1024
#define PUSH_TYPE	"heartbeat"

static struct {
	unsigned char	key[PUSH_KEY_LEN];
	bool		have_key;
} push_g;

/* The last push of each check, by name (kept over reloads). */
struct push_rec {
	char			*name;
	time_t			 when;
	enum tocsin_state	 state;
	char			*summary;
	double			 duration;	/* NAN: not given */
	struct push_rec		*next;
};
static struct push_rec *push_recs;	/* for push_save() */
static void *push_by_name;		/* the same, by name (tsearch) */
static bool push_loaded;		/* push.json read */
static struct event *push_save_ev;	/* push_save() due */

/*
 * The heartbeat checks by secret, for the config of generation gen: found
 * by a hash of the secret (so a lookup's timing says nothing about the
 * secrets), then compared whole in constant time.  Was: an HMAC for every
 * check at every push (10 000 heartbeats: 10 000 HMACs a push, a second
 * of loop lag under a burst).
 */
struct push_ent {
	unsigned char h[16];		/* SHA-256 of the secret, cut */
	char secret[PUSH_SECRET_HEX + 1];
	struct check *c;
};
static struct {
	void *tree;
	unsigned long gen;
	bool built;
} push_idx;
static void push_idx_clear(void);

static const char *
push_dir(void)
{
	return daemon_g.cf != NULL && daemon_g.cf->state_dir != NULL ?
	    daemon_g.cf->state_dir : ".";
}

/* Write every record to state_dir/push.json (temp file, then rename). */
static void
push_save(void)
{
	char path[4096], tmp[4200];
	struct push_rec *p;
	json_t *a, *o;
	FILE *f;
	int err = 0;

	if ((a = json_array()) == NULL)
		return;
	for (p = push_recs; p != NULL; p = p->next) {
		if (p->when == 0 || (o = json_object()) == NULL)
			continue;
		api_set(o, "check", json_string(p->name), &err);
		api_set(o, "when", json_integer((json_int_t)p->when), &err);
		api_set(o, "state", json_integer(p->state), &err);
		api_set(o, "summary", api_str(p->summary), &err);
		api_set(o, "duration", api_num(p->duration), &err);
		api_append(a, o, &err);
	}
	snprintf(path, sizeof(path), "%s/push.json", push_dir());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (err || (f = fopen(tmp, "w")) == NULL) {
		if (!err)
			log_warn("push: cannot write %s", tmp);
		json_decref(a);
		return;
	}
	if (json_dumpf(a, f, JSON_COMPACT) != 0 || fputc('\n', f) == EOF ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		log_warn("push: cannot write %s", path);
		unlink(tmp);
	}
	json_decref(a);
}

static api_handler push_handle;

static void
push_save_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	push_save();
}

/*
 * push.json holds every heartbeat's last push: written whole, it was
 * written at every push (10 000 heartbeats: 10 000 records a push).  Now
 * at most once a second: the result itself is in the incident log before
 * the reply; what a kill -9 can lose is the text a heartbeat's own runs
 * repeat, for the last second's pushes.  Shutdown writes it at once.
 */
static void
push_save_soon(void)
{
	static const struct timeval one = { 1, 0 };

	if (push_save_ev == NULL && (push_save_ev = evtimer_new(daemon_g.base,
	    push_save_cb, NULL)) == NULL) {
		push_save();
		return;
	}
	if (!evtimer_pending(push_save_ev, NULL))
		evtimer_add(push_save_ev, &one);
}

/* ---- the key ------------------------------------------------------------ */

/* Read state_dir/push.key, or make it.  RETURN VALUE: 0 or -1. */
static int
push_key_load(void)
{
	char path[4096], hex[2 * PUSH_KEY_LEN + 2];
	const char *dir;
	ssize_t n;
	int fd, i;

	if (push_g.have_key)
		return 0;
	dir = daemon_g.cf != NULL && daemon_g.cf->state_dir != NULL ?
	    daemon_g.cf->state_dir : ".";
	snprintf(path, sizeof(path), "%s/push.key", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 && errno == ENOENT) {
		if (RAND_bytes(push_g.key, PUSH_KEY_LEN) != 1) {
			log_warnx("push: no random bytes for %s", path);
			return -1;
		}
		for (i = 0; i < PUSH_KEY_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02x", push_g.key[i]);
		hex[2 * PUSH_KEY_LEN] = '\n';
		/* O_EXCL: never truncate a key another process just wrote */
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1 || write(fd, hex, 2 * PUSH_KEY_LEN + 1) !=
		    2 * PUSH_KEY_LEN + 1 || fsync(fd) == -1) {
			log_warn("push: cannot write %s", path);
			/* no empty or cut key left behind: made again next time */
			if (fd != -1) {
				close(fd);
				unlink(path);
			}
			return -1;
		}
		close(fd);
		log_notice("push: created the push URL key %s (mode 0600)",
		    path);
		push_g.have_key = true;
		return 0;
	}
	if (fd == -1) {
		log_warn("push: cannot read %s", path);
		return -1;
	}
	n = read(fd, hex, sizeof(hex));
	close(fd);
	if (n < 2 * PUSH_KEY_LEN) {
		log_warnx("push: %s: not %d hex digits", path,
		    2 * PUSH_KEY_LEN);
		return -1;
	}
	for (i = 0; i < PUSH_KEY_LEN; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			log_warnx("push: %s: not hex", path);
			return -1;
		}
		push_g.key[i] = (unsigned char)v;
	}
	push_g.have_key = true;
	return 0;
}

/* The secret of check name, PUSH_SECRET_HEX hex digits and a NUL. */
static int
push_secret(const char *name, char out[PUSH_SECRET_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE], *msg;
	unsigned mdlen = 0;
	size_t len = strlen(name);
	int i;

	if (push_key_load() == -1 || (msg = malloc(len + 5)) == NULL)
		return -1;
	memcpy(msg, "push", 5);		/* with its NUL: a separator */
	memcpy(msg + 5, name, len);
	if (HMAC(EVP_sha256(), push_g.key, PUSH_KEY_LEN, msg, len + 5, md,
	    &mdlen) == NULL || mdlen < PUSH_SECRET_HEX / 2) {
		free(msg);
		return -1;
	}
	free(msg);
	for (i = 0; i < PUSH_SECRET_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static bool
push_is_heartbeat(const struct check *c)
{
	return c->type != NULL && c->type->def != NULL &&
	    strcmp(c->type->def->name, PUSH_TYPE) == 0;
}

/* ---- the record ---------------------------------------------------------- */

static struct push_rec *push_rec_get(const char *, bool);

/* Read state_dir/push.json once: the pushes before a restart. */
static void
push_load(void)
{
	char path[4096];
	json_error_t jerr;
	struct push_rec *p;
	json_t *a, *o;
	size_t i;

	push_loaded = true;
	snprintf(path, sizeof(path), "%s/push.json", push_dir());
	if ((a = json_load_file(path, 0, &jerr)) == NULL) {
		if (access(path, F_OK) == 0)
			log_warnx("push: %s: %s (line %d); last pushes "
			    "forgotten", path, jerr.text, jerr.line);
		return;
	}
	json_array_foreach(a, i, o) {
		const char *name = json_string_value(json_object_get(o,
		    "check"));
		json_int_t st = json_integer_value(json_object_get(o,
		    "state"));
		json_t *d = json_object_get(o, "duration");
		const char *s = json_string_value(json_object_get(o,
		    "summary"));

		if (name == NULL || st < 0 || st > 3 ||
		    (p = push_rec_get(name, true)) == NULL)
			continue;
		p->when = (time_t)json_integer_value(json_object_get(o,
		    "when"));
		p->state = (enum tocsin_state)st;
		free(p->summary);
		p->summary = s != NULL ? strdup(s) : NULL;
		p->duration = json_is_number(d) ? json_number_value(d) : NAN;
	}
	json_decref(a);
}

static int
push_rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct push_rec *)a)->name,
	    ((const struct push_rec *)b)->name);
}

static struct push_rec *
push_rec_get(const char *name, bool create)
{
	struct push_rec *p;

	struct push_rec key, **found;

	if (!push_loaded)
		push_load();
	key.name = (char *)name;
	if ((found = tfind(&key, &push_by_name, push_rec_cmp)) != NULL)
		return *found;
	if (!create || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->name = strdup(name)) == NULL ||
	    tsearch(p, &push_by_name, push_rec_cmp) == NULL) {
		free(p->name);
		free(p);
		return NULL;
	}
	p->next = push_recs;
	push_recs = p;
	return p;
}

int
tocsin_check_push(const struct tocsin_check *chk, struct tocsin_push *out)
{
	const struct push_rec *p;

	if ((p = push_rec_get(tocsin_check_name(chk), false)) == NULL ||
	    p->when == 0)
		return -1;
	out->when = p->when;
	out->state = p->state;
	out->summary = p->summary;
	out->duration = p->duration;
	return 0;
}

/* ---- the routes ------------------------------------------------------------ */

int
api_push_init(void)
{
	if (api_route_add(EVHTTP_REQ_GET, "/api/v1/push/",
	    API_SIGNED | API_BATCHED, push_handle, NULL) != 0 ||
	    api_route_add(EVHTTP_REQ_POST, "/api/v1/push/",
	    API_SIGNED | API_BATCHED, push_handle, NULL) != 0)
		return -1;
	return 0;
}

static void
push_rec_nofree(void *p)
{
	(void)p;			/* the list owns them */
}

void
api_push_shutdown(void)
{
	struct push_rec *p;

	if (push_save_ev != NULL) {
		if (evtimer_pending(push_save_ev, NULL))
			push_save();	/* the last pushes, before they go */
		event_free(push_save_ev);
		push_save_ev = NULL;
	}
	push_idx_clear();
	tdestroy(push_by_name, push_rec_nofree);
	push_by_name = NULL;
	while ((p = push_recs) != NULL) {
		push_recs = p->next;
		free(p->name);
		free(p->summary);
		free(p);
	}
	OPENSSL_cleanse(push_g.key, sizeof(push_g.key));
	push_g.have_key = false;
	push_loaded = false;
}

void
api_push_url(struct evhttp_request *req, const struct check *c)
{
	char secret[PUSH_SECRET_HEX + 1], *url;
	const char *host;
	json_t *o;
	int err = 0;

	if (!api_require_token(req))
		return;
	if (!push_is_heartbeat(c)) {
		api_error(req, HTTP_BADREQUEST, "check %s is a %s check: only "
		    "heartbeat checks have a push URL", c->name,
		    c->type->def->name);
		return;
	}
	if (push_secret(c->name, secret) == -1) {
		api_error(req, HTTP_INTERNAL, "no push URL key (see the log)");
		return;
	}
	/* the address the client reached us at (api.c checked the Host) */
	host = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Host");
	if (host == NULL)
		host = "127.0.0.1";
	if (asprintf(&url, "http://%s/api/v1/push/%s", host, secret) < 0) {
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	if ((o = json_object()) != NULL) {
		api_set(o, "check", api_str(c->name), &err);
		api_set(o, "url", api_str(url), &err);
		api_set(o, "path", api_str(url + strlen("http://") +
		    strlen(host)), &err);
	}
	free(url);
	if (o == NULL || err) {
		json_decref(o);
		api_reply(req, HTTP_INTERNAL, NULL);
		return;
	}
	api_reply(req, HTTP_OK, o);
}

static int
push_ent_cmp(const void *a, const void *b)
{
	return memcmp(((const struct push_ent *)a)->h,
	    ((const struct push_ent *)b)->h, sizeof(((struct push_ent *)0)->h));
}

static void
push_hash(const char *s, unsigned char h[16])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1 ||
	    len < 16)
		memset(md, 0, 16);
	memcpy(h, md, 16);
}

static void
push_idx_clear(void)
{
	tdestroy(push_idx.tree, free);
	push_idx.tree = NULL;
	push_idx.built = false;
}

/* The index for the config in force (made again after a reload). */
static void
push_idx_build(void)
{
	struct push_ent *e;
	unsigned i;

	push_idx_clear();
	push_idx.gen = daemon_g.cf_gen;
	push_idx.built = true;
	for (i = 0; daemon_g.cf != NULL && i < daemon_g.cf->nchecks; i++) {
		struct check *c = daemon_g.cf->checks[i];

		if (!push_is_heartbeat(c) ||
		    (e = calloc(1, sizeof(*e))) == NULL)
			continue;
		if (push_secret(c->name, e->secret) == -1) {
			free(e);
			continue;
		}
		push_hash(e->secret, e->h);
		e->c = c;
		/* two secrets with one cut hash: the first stays found */
		if (tsearch(e, &push_idx.tree, push_ent_cmp) == NULL ||
		    *(struct push_ent **)tfind(e, &push_idx.tree,
		    push_ent_cmp) != e)
			free(e);
	}
}

/* The heartbeat check whose secret is s, or NULL. */
static struct check *
push_find(const char *s)
{
	struct push_ent key, **found;

	if (strlen(s) != PUSH_SECRET_HEX || daemon_g.cf == NULL)
		return NULL;
	if (!push_idx.built || push_idx.gen != daemon_g.cf_gen)
		push_idx_build();
	push_hash(s, key.h);
	if ((found = tfind(&key, &push_idx.tree, push_ent_cmp)) == NULL ||
	    CRYPTO_memcmp((*found)->secret, s, PUSH_SECRET_HEX) != 0)
		return NULL;
	return (*found)->c;
}

static int
push_state(const char *s, enum tocsin_state *st)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL",
	    "UNKNOWN" };
	int i;

	for (i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0) {
			*st = (enum tocsin_state)i;
			return 0;
		}
	return -1;
}

/*
 * GET or POST /api/v1/push/SECRET[?state=&summary=&duration=], or POST
 * with a JSON body {"state", "summary", "duration"}: the check reports in.
 */
static void
push_handle(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evkeyvalq q;
	const char *uri_q, *s_state = NULL, *s_sum = NULL, *s_dur = NULL;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	enum tocsin_state st = TOCSIN_OK;
	json_t *body = NULL, *o;
	struct push_rec *p;
	struct result r;
	struct check *c;
	double dur = NAN;
	char *end, *sum = NULL;
	size_t i;
	int err = 0;

	(void)arg;
	TAILQ_INIT(&q);
	if ((c = push_find(rest)) == NULL) {
		/* 403 as for any other bad signature: the secret is one */
		api_error(req, 403, "no heartbeat check has this push URL");
		return;
	}
	uri_q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (uri_q != NULL && evhttp_parse_query_str(uri_q, &q) != 0) {
		api_error(req, HTTP_BADREQUEST, "malformed query string");
		return;
	}
	s_state = evhttp_find_header(&q, "state");
	s_sum = evhttp_find_header(&q, "summary");
	s_dur = evhttp_find_header(&q, "duration");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST &&
	    evbuffer_get_length(in) > 0) {
		if ((body = api_body_json(req)) == NULL) {
			evhttp_clear_headers(&q);
			return;
		}
		if (json_is_string(json_object_get(body, "state")))
			s_state = json_string_value(json_object_get(body,
			    "state"));
		if (json_is_string(json_object_get(body, "summary")))
			s_sum = json_string_value(json_object_get(body,
			    "summary"));
		if (json_is_number(json_object_get(body, "duration")))
			dur = json_number_value(json_object_get(body,
			    "duration"));
	}
	if (s_state != NULL && push_state(s_state, &st) == -1) {
		api_error(req, HTTP_BADREQUEST, "state: \"%.40s\" is not OK, "
		    "WARNING, CRITICAL or UNKNOWN", s_state);
		goto out;
	}
	if (s_dur != NULL) {
		dur = strtod(s_dur, &end);
		if (*s_dur == '\0' || *end != '\0')
			dur = -1;
	}
	if (!isnan(dur) && (!isfinite(dur) || dur < 0)) {
		api_error(req, HTTP_BADREQUEST, "duration: not a number of "
		    "seconds");
		goto out;
	}
	/* one line of printable text, as a plugin's summary is */
	if (asprintf(&sum, "%.*s", PUSH_SUMMARY_MAX, s_sum != NULL &&
	    s_sum[0] != '\0' ? s_sum : "heartbeat received") < 0) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	sum[strcspn(sum, "\r\n")] = '\0';
	for (i = 0; sum[i] != '\0'; i++)
		if ((unsigned char)sum[i] < 0x20)
			sum[i] = ' ';
	if ((p = push_rec_get(c->name, true)) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	free(p->summary);
	p->summary = sum;
	sum = NULL;	/* p owns it */
	p->when = time(NULL);
	p->state = st;
	p->duration = dur;
	push_save_soon();

	memset(&r, 0, sizeof(r));
	r.state = (enum check_state)st;
	if ((r.summary = strdup(p->summary)) == NULL) {
		api_reply(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	if (!isnan(dur) && (r.metrics = calloc(1, sizeof(*r.metrics))) !=
	    NULL) {
		r.metrics[0].name = strdup("duration");
		r.metrics[0].unit = strdup("s");
		r.metrics[0].value = dur;
		r.metrics[0].min = 0;
		r.metrics[0].max = NAN;
		r.nmetrics = r.metrics[0].name != NULL &&
		    r.metrics[0].unit != NULL ? 1 : 0;
		if (r.nmetrics == 0) {
			free(r.metrics[0].name);
			free(r.metrics[0].unit);
			free(r.metrics);
			r.metrics = NULL;
		}
	}
	log_debug("check %s: heartbeat %s through its push URL", c->name,
	    state_name(r.state));
	sched_result(c, &r);	/* takes r's contents */
	if ((o = json_object()) != NULL) {
		api_set(o, "check", api_str(c->name), &err);
		api_set(o, "state", api_str(state_name((enum check_state)st)),
		    &err);
		api_set(o, "received", api_time(p->when), &err);
	}
	if (o == NULL || err) {
		json_decref(o);
		api_reply(req, HTTP_INTERNAL, NULL);
	} else
		api_reply(req, HTTP_OK, o);
out:
	free(sum);
	evhttp_clear_headers(&q);
	json_decref(body);
}
