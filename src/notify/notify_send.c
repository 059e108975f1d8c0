/*
 * notify_send.c — one delivery attempt on a channel: an HTTP POST or an
 * SMTP transfer through one libcurl multi handle driven by the daemon's
 * event_base, or a command run as a child (argv, no shell).
 *
 * Owns the multi handle and the attempts in flight.  Never blocks: curl
 * tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to
 * call it back (CURLMOPT_TIMERFUNCTION); name resolution is curl's
 * threaded resolver.  The done callback always runs from a loop
 * callback, never inside nsend_*(), so the caller's state is consistent.
 * Knows nothing of incidents or the outbox: it returns OK, RETRY or FAIL
 * with a reason, and notify.c decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
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
	CURLM *multi;
	struct event *curl_timer;
	struct nsend *all;
} ns_g;

/* Per-socket state curl asked us to watch. */
struct nsock {
	struct event *ev;
};

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
		curl_multi_remove_handle(ns_g.multi, s->easy);
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

/* ---- libcurl multi on libevent --------------------------------------- */

static void ns_check_done(void);

static void
ns_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	int running, flags = 0;

	(void)arg;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(ns_g.multi, fd, flags, &running);
	ns_check_done();
}

static void
ns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	int running;

	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(ns_g.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	ns_check_done();
}

static int
ns_socketfn(CURL *easy, curl_socket_t fd, int action, void *userp,
    void *sockp)
{
	struct nsock *ns = sockp;
	short what;

	(void)easy;
	(void)userp;
	if (action == CURL_POLL_REMOVE) {
		if (ns != NULL) {
			event_free(ns->ev);
			free(ns);
			curl_multi_assign(ns_g.multi, fd, NULL);
		}
		return 0;
	}
	what = EV_PERSIST | ((action & CURL_POLL_IN) ? EV_READ : 0) |
	    ((action & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ns == NULL) {
		if ((ns = calloc(1, sizeof(*ns))) == NULL)
			return -1;
		curl_multi_assign(ns_g.multi, fd, ns);
	} else
		event_free(ns->ev);
	ns->ev = event_new(ns_g.base, fd, what, ns_sock_cb, NULL);
	if (ns->ev == NULL || event_add(ns->ev, NULL) == -1)
		return -1;
	return 0;
}

static int
ns_timerfn(CURLM *multi, long ms, void *userp)
{
	struct timeval tv;

	(void)multi;
	(void)userp;
	if (ms < 0) {
		evtimer_del(ns_g.curl_timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ns_g.curl_timer, &tv);
	return 0;
}

static void
ns_check_done(void)
{
	struct nsend *s;
	CURLMsg *m;
	int left;
	long code = 0;
	char why[300];
	enum nsend_result r;
	const char *scheme = NULL;
	bool smtp;

	while ((m = curl_multi_info_read(ns_g.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		s = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    (char **)&s);
		if (s == NULL)
			continue;
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(s->easy, CURLINFO_SCHEME, &scheme);
		smtp = scheme != NULL && (strcasecmp(scheme, "smtp") == 0 ||
		    strcasecmp(scheme, "smtps") == 0);
		if (smtp) {
			if (m->data.result == CURLE_OK) {
				r = NSEND_OK;
				snprintf(why, sizeof(why), "SMTP %ld", code);
			} else {
				r = code > 0 ? nsend_smtp_status(code) :
				    NSEND_RETRY;
				snprintf(why, sizeof(why), "SMTP %ld: %s", code,
				    s->errbuf[0] ? s->errbuf :
				    curl_easy_strerror(m->data.result));
			}
		} else if (m->data.result != CURLE_OK) {
			r = NSEND_RETRY;
			snprintf(why, sizeof(why), "%s", s->errbuf[0] ?
			    s->errbuf : curl_easy_strerror(m->data.result));
		} else {
			r = nsend_http_status(code);
			snprintf(why, sizeof(why), "HTTP %ld", code);
		}
		ns_finish(s, r, why);
	}
}

int
nsend_init(struct event_base *base)
{
	ns_g.base = base;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	if ((ns_g.multi = curl_multi_init()) == NULL ||
	    (ns_g.curl_timer = evtimer_new(base, ns_timer_cb, NULL)) == NULL)
		return -1;
	curl_multi_setopt(ns_g.multi, CURLMOPT_SOCKETFUNCTION, ns_socketfn);
	curl_multi_setopt(ns_g.multi, CURLMOPT_TIMERFUNCTION, ns_timerfn);
	return 0;
}

void
nsend_shutdown(void)
{
	while (ns_g.all != NULL)
		nsend_cancel(ns_g.all);
	if (ns_g.multi != NULL)
		curl_multi_cleanup(ns_g.multi);
	if (ns_g.curl_timer != NULL)
		event_free(ns_g.curl_timer);
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
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
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
	if (curl_multi_add_handle(ns_g.multi, s->easy) != CURLM_OK) {
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

/* A daemon descriptor without O_CLOEXEC is not the command's business. */
static int
ns_closefrom(posix_spawn_file_actions_t *fa)
{
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
	return posix_spawn_file_actions_addclosefrom_np(fa, 3);
#endif
#endif
	(void)fa;
	return 0;
}

struct nsend *
nsend_command(const struct nchannel *ch, char *const *env, nsend_done *done,
    void *arg, const char **why)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct nsend *s;
	struct timeval tv;
	sigset_t all, none;
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
	sigfillset(&all);
	sigemptyset(&none);
	if (posix_spawnattr_init(&attr) != 0) {
		ns_free(s);
		return NULL;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		posix_spawnattr_destroy(&attr);
		ns_free(s);
		return NULL;
	}
	if ((err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (err = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
	    (err = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
	    (err = posix_spawnattr_setsigdefault(&attr, &all)) == 0 &&
	    (err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) == 0 &&
	    (err = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
	    O_WRONLY, 0)) == 0 &&
	    (err = posix_spawn_file_actions_adddup2(&fa, 1, 2)) == 0)
		err = ns_closefrom(&fa);
	if (err == 0)
		err = posix_spawn(&pid, ch->argv[0], &fa, &attr, ch->argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
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
