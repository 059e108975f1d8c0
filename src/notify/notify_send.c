/*
 * notify_send.c — one delivery attempt on a channel: an HTTP POST or an
 * SMTP transfer through one libcurl multi handle driven by the daemon's
 * event_base (lib/curlev.c), or a command run as a child (argv, no shell;
 * lib/spawn.c).
 *
 * Owns the multi handle and the attempts in flight.  Never blocks: the
 * transfers run on the loop and name resolution is curl's threaded
 * resolver.  The done callback always runs from a loop
 * callback, never inside nsend_*(), so the caller's state is consistent.
 * Knows nothing of incidents or the outbox: it returns OK, RETRY or FAIL
 * with a reason, and notify.c decides.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdbool.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include <tocsin/plugin.h>

#include "core/log.h"
#include "lib/curlev.h"
#include "lib/spawn.h"
#include "notify/notify_int.h"

enum nsend_kind { NS_CURL, NS_CMD };

struct nsend {
	enum nsend_kind kind;
	nsend_done *done;
	void *arg;
	CURL *easy;
	struct curl_slist *hdrs, *rcpts;
	char *body;			/* the request body or message */
	size_t len, off;		/* SMTP upload position */
	char errbuf[CURL_ERROR_SIZE];
	pid_t pid;
	struct event *timer;		/* command timeout / deferred done */
	enum nsend_result result;
	char why[256];
	struct nsend *next;		/* all attempts in flight */
};

static struct {
	struct event_base *base;
	struct curlev *cm;		/* every transfer runs on it */
	struct nsend *all;
} ns_g;

static void
ns_unlink(struct nsend *s)
{
	struct nsend **pp;

	for (pp = &ns_g.all; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

static void
ns_free(struct nsend *s)
{
	if (s->easy != NULL) {
		if (ns_g.cm != NULL)
			curlev_remove(ns_g.cm, s->easy);
		curl_easy_cleanup(s->easy);
	}
	curl_slist_free_all(s->hdrs);
	curl_slist_free_all(s->rcpts);
	if (s->timer != NULL)
		event_free(s->timer);
	free(s->body);
	free(s);
}

static void
ns_finish(struct nsend *s, enum nsend_result r, const char *why)
{
	nsend_done *done = s->done;
	void *arg = s->arg;
	char buf[sizeof(s->why)];

	snprintf(buf, sizeof(buf), "%s", why);
	ns_unlink(s);
	ns_free(s);
	done(arg, r, buf);
}

enum nsend_result
nsend_http_status(long code)
{
	if (code >= 200 && code < 300)
		return NSEND_OK;
	/* the receiver is busy or broken for now: later may work */
	if (code == 408 || code == 425 || code == 429 || code >= 500 ||
	    code < 100)
		return NSEND_RETRY;
	/* it understood and refused (or redirects us): retrying won't help */
	return NSEND_FAIL;
}

enum nsend_result
nsend_smtp_status(long code)
{
	/* 5xx: permanent (unknown user, policy); else (4xx, none): retry */
	return code >= 500 && code < 600 ? NSEND_FAIL : NSEND_RETRY;
}

/* ---- transfers ----------------------------------------------------- */

/* curlev_done_cb: the transfer of s ended with rc; judge the reply. */
static void
ns_curl_done(CURL *easy, CURLcode rc, void *arg)
{
	struct nsend *s = arg;
	long code = 0;
	char why[300];
	enum nsend_result r;
	const char *scheme = NULL;
	bool smtp;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(easy, CURLINFO_SCHEME, &scheme);
	smtp = scheme != NULL && (strcasecmp(scheme, "smtp") == 0 ||
	    strcasecmp(scheme, "smtps") == 0);
	if (smtp) {
		if (rc == CURLE_OK) {
			r = NSEND_OK;
			snprintf(why, sizeof(why), "SMTP %ld", code);
		} else {
			r = code > 0 ? nsend_smtp_status(code) : NSEND_RETRY;
			snprintf(why, sizeof(why), "SMTP %ld: %s", code,
			    s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
		}
	} else if (rc != CURLE_OK) {
		r = NSEND_RETRY;
		snprintf(why, sizeof(why), "%s", s->errbuf[0] ?
		    s->errbuf : curl_easy_strerror(rc));
	} else {
		r = nsend_http_status(code);
		snprintf(why, sizeof(why), "HTTP %ld", code);
	}
	ns_finish(s, r, why);
}

int
nsend_init(struct event_base *base)
{
	ns_g.base = base;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	if ((ns_g.cm = curlev_new(base)) == NULL)
		return -1;
	return 0;
}

void
nsend_shutdown(void)
{
	while (ns_g.all != NULL)
		nsend_cancel(ns_g.all);
	curlev_free(ns_g.cm);
	curl_global_cleanup();
	memset(&ns_g, 0, sizeof(ns_g));
}

static size_t
ns_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;		/* the reply's body is not used */
}

static size_t
ns_read(char *buf, size_t size, size_t n, void *arg)
{
	struct nsend *s = arg;
	size_t want = size * n, left = s->len - s->off;

	if (want > left)
		want = left;
	memcpy(buf, s->body + s->off, want);
	s->off += want;
	return want;
}

static struct nsend *
ns_new(enum nsend_kind kind, nsend_done *done, void *arg)
{
	struct nsend *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->kind = kind;
	s->done = done;
	s->arg = arg;
	return s;
}

static struct nsend *
ns_curl_start(struct nsend *s, const struct nchannel *ch, const char **why)
{
	curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)ch->timeout_ms);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, ns_discard);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR,
	    "http,https,smtp,smtps");
#else
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP |
	    CURLPROTO_HTTPS | CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	if (curlev_add(ns_g.cm, s->easy, ns_curl_done, s) == -1) {
		*why = "cannot start a transfer";
		ns_free(s);
		return NULL;
	}
	s->next = ns_g.all;
	ns_g.all = s;
	return s;
}

struct nsend *
nsend_http(const struct nchannel *ch, const char *body,
    const char *idem_key, nsend_done *done, void *arg, const char **why)
{
	return nsend_request(ch, "POST", NULL, NULL, NULL, 0, body,
	    strlen(body), idem_key, done, arg, why);
}

/* Appends the header "name: v", or v when name is NULL. */
static int
ns_header(struct nsend *s, const char *name, const char *v)
{
	struct curl_slist *l;
	char *h;

	if (asprintf(&h, "%s%s%s", name != NULL ? name : "",
	    name != NULL ? ": " : "", v) < 0)
		return -1;
	l = curl_slist_append(s->hdrs, h);
	free(h);
	if (l == NULL)
		return -1;
	s->hdrs = l;
	return 0;
}

struct nsend *
nsend_request(const struct nchannel *ch, const char *method,
    const char *path, const char *ctype, char *const *hdrs, unsigned nhdrs,
    const char *body, size_t len, const char *idem_key, nsend_done *done,
    void *arg, const char **why)
{
	struct nsend *s;
	char *url = NULL;
	unsigned i;

	*why = "out of memory";
	if ((s = ns_new(NS_CURL, done, arg)) == NULL)
		return NULL;
	if ((s->easy = curl_easy_init()) == NULL ||
	    (s->body = malloc(len + 1)) == NULL)
		goto fail;
	memcpy(s->body, body, len);
	s->body[len] = '\0';
	s->len = len;
	if (ns_header(s, "Content-Type", ctype != NULL ? ctype :
	    ch->content_type != NULL ? ch->content_type :
	    "application/json") == -1 ||
	    ns_header(s, "Idempotency-Key", idem_key) == -1)
		goto fail;
	for (i = 0; i < ch->nheaders; i++)
		if (ns_header(s, NULL, ch->headers[i]) == -1)
			goto fail;
	for (i = 0; i < nhdrs; i++)
		if (ns_header(s, NULL, hdrs[i]) == -1)
			goto fail;
	if (asprintf(&url, "%s%s", ch->url, path != NULL ? path : "") < 0) {
		url = NULL;
		goto fail;
	}
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
	free(url);		/* curl copies string options */
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)len);
	if (strcmp(method, "POST") != 0)
		curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(s->easy, CURLOPT_USERAGENT,
	    "tocsind/" PACKAGE_VERSION);
	return ns_curl_start(s, ch, why);
fail:
	ns_free(s);
	return NULL;
}

struct nsend *
nsend_smtp(const struct nchannel *ch, const char *rcpt, const char *msg,
    nsend_done *done, void *arg, const char **why)
{
	struct nsend *s;
	char *addr = NULL;

	*why = "out of memory";
	if ((s = ns_new(NS_CURL, done, arg)) == NULL)
		return NULL;
	if (asprintf(&addr, "<%s>", rcpt) < 0)
		addr = NULL;
	if (addr == NULL || (s->easy = curl_easy_init()) == NULL ||
	    (s->body = strdup(msg)) == NULL ||
	    (s->rcpts = curl_slist_append(NULL, addr)) == NULL) {
		free(addr);
		ns_free(s);
		return NULL;
	}
	free(addr);
	if (asprintf(&addr, "<%s>", ch->from) < 0) {
		ns_free(s);
		return NULL;
	}
	s->len = strlen(s->body);
	curl_easy_setopt(s->easy, CURLOPT_URL, ch->smtp);
	curl_easy_setopt(s->easy, CURLOPT_MAIL_FROM, addr);
	free(addr);		/* curl copies string options */
	curl_easy_setopt(s->easy, CURLOPT_MAIL_RCPT, s->rcpts);
	curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, ns_read);
	curl_easy_setopt(s->easy, CURLOPT_READDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_INFILESIZE, (long)s->len);
	curl_easy_setopt(s->easy, CURLOPT_USE_SSL, ch->starttls == 2 ?
	    (long)CURLUSESSL_ALL : ch->starttls == 1 ? (long)CURLUSESSL_TRY :
	    (long)CURLUSESSL_NONE);
	if (ch->username != NULL)
		curl_easy_setopt(s->easy, CURLOPT_USERNAME, ch->username);
	if (ch->password != NULL)
		curl_easy_setopt(s->easy, CURLOPT_PASSWORD, ch->password);
	return ns_curl_start(s, ch, why);
}

/* ---- command ------------------------------------------------------------ */

static void
ns_cmd_exit(pid_t pid, int status, void *arg)
{
	struct nsend *s = arg;
	char why[64];

	(void)pid;
	s->pid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		ns_finish(s, NSEND_OK, "exit 0");
	else if (s->result == NSEND_RETRY && s->why[0] != '\0')
		ns_finish(s, NSEND_RETRY, s->why);	/* timed out */
	else {
		if (WIFEXITED(status))
			snprintf(why, sizeof(why), "exit %d",
			    WEXITSTATUS(status));
		else
			snprintf(why, sizeof(why), "killed by signal %d",
			    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		ns_finish(s, NSEND_RETRY, why);
	}
}

static void
ns_cmd_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct nsend *s = arg;

	(void)fd;
	(void)what;
	if (s->pid > 0) {
		s->result = NSEND_RETRY;
		snprintf(s->why, sizeof(s->why), "timed out");
		kill(-s->pid, SIGKILL);	/* its group; the exit comes through
					   the watch */
	}
}

struct nsend *
nsend_command(const struct nchannel *ch, char *const *env, nsend_done *done,
    void *arg, const char **why)
{
	struct nsend *s;
	struct timeval tv;
	pid_t pid;
	int err;

	*why = "out of memory";
	if ((s = ns_new(NS_CMD, done, arg)) == NULL)
		return NULL;
	if ((s->timer = evtimer_new(ns_g.base, ns_cmd_timeout, s)) == NULL) {
		ns_free(s);
		return NULL;
	}
	/*
	 * As the exec check type does: own process group (a timeout kills
	 * it all), default signals, empty mask, /dev/null for stdio, and no
	 * daemon descriptor that lacks O_CLOEXEC.
	 */
	err = spawn_start(ch->argv[0], ch->argv, env, NULL, &pid, NULL);
	if (err != 0) {
		/* static: read by the caller at once, on this one thread */
		static char buf[300];

		snprintf(buf, sizeof(buf), "cannot run %s: %s", ch->argv[0],
		    strerror(err));
		*why = buf;
		ns_free(s);
		return NULL;
	}
	s->pid = pid;
	if (tocsin_child_watch(pid, ns_cmd_exit, s) == -1) {
		kill(-pid, SIGKILL);
		*why = "cannot watch the child";
		ns_free(s);
		return NULL;
	}
	tv.tv_sec = ch->timeout_ms / 1000;
	tv.tv_usec = (ch->timeout_ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
	s->next = ns_g.all;
	ns_g.all = s;
	return s;
}

void
nsend_cancel(struct nsend *s)
{
	ns_unlink(s);
	if (s->kind == NS_CMD && s->pid > 0) {
		tocsin_child_unwatch(s->pid);
		kill(-s->pid, SIGKILL);
	}
	ns_free(s);
}
