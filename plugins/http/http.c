/*
 * plugins/http/http.c — the "http" check type: one HTTP(S) request per run
 * on the plugin's one libcurl multi handle (lib/curlev.c), judged against the
 * check's expectations.
 *
 * A run builds a fresh easy handle, hands it to the multi handle and
 * returns; curl does the resolving, connecting, TLS and transfer on the
 * daemon's loop, and http_done() turns the outcome into one result whose
 * summary names the precise cause (DNS failure, connection refused,
 * connect timeout, TLS handshake failure, unexpected status, body or regex
 * mismatch, slow response, redirect loop, body too large, certificate
 * expiry, a JSON body failing an expect_jq expression) plus the timing
 * metrics curl measured.
 *
 * expect_jq runs a jq program (libjq) on the loop.  Known limit: jq has
 * no step limit, so a program that never ends (`repeat(.)`) would stall
 * the daemon; the program is the operator's, as a regex is, and only its
 * first HTTP_JQ_MAX_OUTPUTS outputs are looked at.
 *
 * Timing: the core cancels a run at the check's `timeout`; curl is given a
 * slightly shorter one so that the plugin, which knows which phase was
 * slow, normally reports the timeout itself.  cancel() removes the easy
 * handle from the multi handle and frees it; CURLOPT_QUICK_EXIT keeps
 * that from waiting on a resolver thread still stuck in getaddrinfo().
 *
 * By default a run opens a new connection and resolves the name afresh
 * (reuse_connection = false): a check must see what a new visitor sees.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#endif

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <jq.h>

#include <tocsin/plugin.h>

#include "lib/curlev.h"

#define HTTP_MAX_BODY_MAX	(1L << 30)
#define HTTP_REGEX_LIMIT	1000000	/* pcre2 match limit: bounded loop time */
#define HTTP_DAY_MS		86400000.0
#define HTTP_POOL_MAX		64	/* idle easy handles kept for reuse */
#define HTTP_JQ_MAX_OUTPUTS	1000	/* outputs of expect_jq looked at */

/*
 * Every transfer runs on this one multi handle, made on the first run,
 * not at plugin load, so `tocsind -t` never opens anything.
 */
static struct curlev *http_cm;

static const struct tocsin_option http_options[] = {
	{ "url", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	  "http:// or https:// URL to request" },
	{ "method", TOCSIN_OPT_STR, NULL, 0,
	  "request method (default GET, or POST when body is set)" },
	{ "headers", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "extra request headers, \"Name: value\"" },
	{ "body", TOCSIN_OPT_STR, NULL, 0, "request body to send" },
	{ "expect_status", TOCSIN_OPT_INT_LIST, NULL, 0,
	  "acceptable status codes (default: any 2xx or 3xx)" },
	{ "expect_body", TOCSIN_OPT_STR, NULL, 0,
	  "text the response body must contain" },
	{ "expect_regex", TOCSIN_OPT_STR, NULL, 0,
	  "PCRE2 pattern the response body must match" },
	{ "expect_jq", TOCSIN_OPT_STR, NULL, 0,
	  "jq expression on the JSON body; every output must be true" },
	{ "follow_redirects", TOCSIN_OPT_BOOL, "false", 0,
	  "follow Location: redirects (the last response is judged)" },
	{ "max_redirects", TOCSIN_OPT_INT, "5", 0,
	  "more redirects than this is a redirect loop (0..50)" },
	{ "tls_verify", TOCSIN_OPT_BOOL, "true", 0,
	  "verify the server certificate and host name" },
	{ "ca_file", TOCSIN_OPT_STR, NULL, 0,
	  "PEM file of CA certificates to verify with (default: system's)" },
	{ "client_cert", TOCSIN_OPT_STR, NULL, 0,
	  "PEM client certificate for TLS client authentication" },
	{ "client_key", TOCSIN_OPT_STR, NULL, 0,
	  "PEM private key of client_cert (default: in client_cert)" },
	{ "cert_expiry_warn", TOCSIN_OPT_DURATION, "21d", 0,
	  "WARNING when the server certificate expires within this" },
	{ "cert_expiry_crit", TOCSIN_OPT_DURATION, "7d", 0,
	  "CRITICAL when the server certificate expires within this" },
	{ "warn_time", TOCSIN_OPT_DURATION, NULL, 0,
	  "WARNING when the response takes longer than this" },
	{ "crit_time", TOCSIN_OPT_DURATION, NULL, 0,
	  "CRITICAL when the response takes longer than this" },
	{ "username", TOCSIN_OPT_STR, NULL, 0, "user for basic auth" },
	{ "password", TOCSIN_OPT_STR, NULL, 0, "password for basic auth" },
	{ "ip_version", TOCSIN_OPT_STR, "any", 0,
	  "address family to connect with: any, 4 or 6" },
	{ "resolve", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "\"HOST:PORT:ADDRESS\": connect there instead of resolving HOST" },
	{ "user_agent", TOCSIN_OPT_STR, "tocsin/" PACKAGE_VERSION, 0,
	  "User-Agent header" },
	{ "max_body", TOCSIN_OPT_INT, "1048576", 0,
	  "bytes of body to read; a longer body is CRITICAL (1..1073741824)" },
	{ "reuse_connection", TOCSIN_OPT_BOOL, "false", 0,
	  "keep connections and DNS answers between runs" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

/* What configure() built for one check; freed by http_free(). */
struct http_conf {
	char			*url;
	char			*host;		/* from the URL, for summaries */
	long			 port;
	int			 https;
	int			 pinned;	/* resolve given for host */
	char			*method;	/* NULL: GET */
	int			 head;		/* method HEAD: no body */
	struct curl_slist	*headers;
	char			*body;
	long			*status;	/* expect_status; NULL: 2xx/3xx */
	unsigned		 nstatus;
	char			*expect_body;
	char			*regex_text;
	pcre2_code		*regex;
	pcre2_match_context	*mctx;
	char			*jq_text;
	jq_state		*jq;		/* compiled expect_jq */
	int			 follow;
	long			 max_redirects;
	int			 verify;
	char			*ca_file;
	char			*client_cert;
	char			*client_key;
	int64_t			 cert_warn_ms;
	int64_t			 cert_crit_ms;
	int64_t			 warn_ms;	/* -1: not set */
	int64_t			 crit_ms;
	char			*username;
	char			*password;
	long			 ipresolve;
	struct curl_slist	*connect_to;
	char			*user_agent;
	long			 max_body;
	int			 reuse;
};

/* One run in flight; freed by http_run_free(). */
struct http_run {
	struct tocsin_run	*run;
	const struct http_conf	*hc;
	CURL			*easy;
	int64_t			 timeout_ms;	/* what curl was given */
	char			*body;		/* kept when it is judged */
	size_t			 len;		/* of body */
	size_t			 cap;
	size_t			 size;		/* bytes received */
	int			 too_big;
	char			 reason[128];	/* of the last status line */
	char			 errbuf[CURL_ERROR_SIZE];
};

static void	http_free(void *);

/* ---- configure --------------------------------------------------------- */

static char *
dup_opt(struct tocsin_conf *cf, const char *key, int *err)
{
	const char *s = tocsin_conf_str(cf, key);
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*err = 1;
	return d;
}

/* Split and check the URL; fills host, port, https. */
static int
http_conf_url(struct tocsin_conf *cf, struct http_conf *hc)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;

	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, hc->url, 0) != CURLUE_OK) {
		tocsin_conf_error(cf, "url", "\"%s\" is not a valid URL",
		    hc->url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		tocsin_conf_error(cf, "url", "\"%s\": the scheme must be http "
		    "or https", hc->url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		tocsin_conf_error(cf, "url", "\"%s\" has no host", hc->url);
		goto out;
	}
	hc->https = strcasecmp(scheme, "https") == 0;
	hc->port = strtol(port, NULL, 10);
	if ((hc->host = strdup(host)) == NULL)
		goto out;
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

/*
 * resolve = { "HOST:PORT:ADDRESS" } becomes CURLOPT_CONNECT_TO
 * "HOST:PORT:ADDRESS:PORT": per transfer, unlike CURLOPT_RESOLVE, whose
 * entries would land in the DNS cache every check of the multi handle
 * shares.  TLS still verifies and sends SNI for HOST.
 */
static int
http_conf_resolve(struct tocsin_conf *cf, struct http_conf *hc)
{
	unsigned i, n = tocsin_conf_list_size(cf, "resolve");
	struct curl_slist *l;
	int bad = 0;

	for (i = 0; i < n; i++) {
		const char *s = tocsin_conf_list_str(cf, "resolve", i);
		const char *c1, *c2, *addr, *host_end;
		char host[256], a[INET6_ADDRSTRLEN + 2], *entry;
		unsigned char bin[sizeof(struct in6_addr)];
		char *end;
		long port;

		if (s[0] == '[')
			host_end = strchr(s, ']');
		else
			host_end = s;
		c1 = host_end != NULL ? strchr(host_end, ':') : NULL;
		c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
		if (c1 == NULL || c2 == NULL || c1 == s ||
		    (size_t)(c1 - s) >= sizeof(host)) {
			tocsin_conf_error(cf, "resolve", "\"%s\" is not "
			    "HOST:PORT:ADDRESS", s);
			bad = 1;
			continue;
		}
		errno = 0;
		port = strtol(c1 + 1, &end, 10);
		if (end != c2 || errno != 0 || port < 1 || port > 65535) {
			tocsin_conf_error(cf, "resolve", "\"%s\": the port "
			    "must be 1..65535", s);
			bad = 1;
			continue;
		}
		addr = c2 + 1;
		snprintf(a, sizeof(a), "%s", addr);
		if (a[0] == '[' && strlen(a) > 2 && a[strlen(a) - 1] == ']') {
			memmove(a, a + 1, strlen(a));
			a[strlen(a) - 1] = '\0';
		}
		if (inet_pton(AF_INET, a, bin) != 1 &&
		    inet_pton(AF_INET6, a, bin) != 1) {
			tocsin_conf_error(cf, "resolve", "\"%s\": \"%s\" is "
			    "not an IPv4 or IPv6 address", s, addr);
			bad = 1;
			continue;
		}
		memcpy(host, s, (size_t)(c1 - s));
		host[c1 - s] = '\0';
		if (asprintf(&entry, "%s:%ld:%s%s%s:%ld", host, port,
		    strchr(a, ':') != NULL ? "[" : "", a,
		    strchr(a, ':') != NULL ? "]" : "", port) < 0)
			return -1;
		l = curl_slist_append(hc->connect_to, entry);
		free(entry);
		if (l == NULL)
			return -1;
		hc->connect_to = l;
		if (strcasecmp(host, hc->host) == 0 && port == hc->port)
			hc->pinned = 1;
	}
	return bad ? -1 : 0;
}

/* jq_set_error_cb: keep the first message of a compile. */
static void
http_jq_error_cb(void *arg, jv msg)
{
	char *buf = arg;
	const char *s;

	if (buf[0] == '\0' && jv_get_kind(msg) == JV_KIND_STRING) {
		s = jv_string_value(msg);
		if (strncmp(s, "jq: error: ", 11) == 0)
			s += 11;
		snprintf(buf, 256, "%s", s);
		buf[strcspn(buf, "\n")] = '\0';
	}
	jv_free(msg);
}

static int
http_conf_jq(struct tocsin_conf *cf, struct http_conf *hc)
{
	char msg[256];

	msg[0] = '\0';
	if ((hc->jq = jq_init()) == NULL)
		return -1;
	jq_set_error_cb(hc->jq, http_jq_error_cb, msg);
	if (!jq_compile(hc->jq, hc->jq_text)) {
		tocsin_conf_error(cf, "expect_jq", "\"%s\": %s", hc->jq_text,
		    msg[0] != '\0' ? msg : "does not compile");
		return -1;
	}
	/* runtime errors are read from jq_next(); none go to msg */
	jq_set_error_cb(hc->jq, NULL, NULL);
	return 0;
}

static int
http_conf_regex(struct tocsin_conf *cf, struct http_conf *hc)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int err;

	hc->regex = pcre2_compile((PCRE2_SPTR)hc->regex_text,
	    PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
	if (hc->regex == NULL) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		tocsin_conf_error(cf, "expect_regex", "\"%s\": %s at offset "
		    "%zu", hc->regex_text, (char *)msg, (size_t)off);
		return -1;
	}
	if ((hc->mctx = pcre2_match_context_create(NULL)) == NULL)
		return -1;
	pcre2_set_match_limit(hc->mctx, HTTP_REGEX_LIMIT);
	return 0;
}

/* A readable file, or a config error on key. */
static int
http_conf_file(struct tocsin_conf *cf, const char *key, const char *path)
{
	if (path == NULL || access(path, R_OK) == 0)
		return 0;
	tocsin_conf_error(cf, key, "\"%s\": %s", path, strerror(errno));
	return -1;
}

static int
http_configure(struct tocsin_check *chk, struct tocsin_conf *cf,
    void **priv)
{
	struct http_conf *hc;
	const char *s;
	unsigned i, n;
	int bad = 0, nomem = 0;

	(void)chk;
	if ((hc = calloc(1, sizeof(*hc))) == NULL)
		return -1;
	hc->url = dup_opt(cf, "url", &nomem);
	hc->method = dup_opt(cf, "method", &nomem);
	hc->body = dup_opt(cf, "body", &nomem);
	hc->expect_body = dup_opt(cf, "expect_body", &nomem);
	hc->regex_text = dup_opt(cf, "expect_regex", &nomem);
	hc->jq_text = dup_opt(cf, "expect_jq", &nomem);
	hc->ca_file = dup_opt(cf, "ca_file", &nomem);
	hc->client_cert = dup_opt(cf, "client_cert", &nomem);
	hc->client_key = dup_opt(cf, "client_key", &nomem);
	hc->username = dup_opt(cf, "username", &nomem);
	hc->password = dup_opt(cf, "password", &nomem);
	hc->user_agent = dup_opt(cf, "user_agent", &nomem);
	if (nomem || hc->url == NULL)
		goto err;

	if (http_conf_url(cf, hc) == -1)
		bad = 1;

	if (hc->method != NULL) {
		for (s = hc->method; *s != '\0'; s++)
			if (!isalpha((unsigned char)*s) && *s != '-')
				break;
		if (*s != '\0' || s == hc->method) {
			tocsin_conf_error(cf, "method", "\"%s\" is not a "
			    "method name", hc->method);
			bad = 1;
		}
		hc->head = strcasecmp(hc->method, "HEAD") == 0;
	}

	n = tocsin_conf_list_size(cf, "headers");
	for (i = 0; i < n; i++) {
		struct curl_slist *l;

		s = tocsin_conf_list_str(cf, "headers", i);
		if (strchr(s, '\n') != NULL || strchr(s, '\r') != NULL ||
		    strchr(s, ':') == NULL || s[0] == ':') {
			tocsin_conf_error(cf, "headers", "\"%s\" is not "
			    "\"Name: value\" on one line", s);
			bad = 1;
			continue;
		}
		if ((l = curl_slist_append(hc->headers, s)) == NULL)
			goto err;
		hc->headers = l;
	}

	hc->reuse = tocsin_conf_bool(cf, "reuse_connection");
	/*
	 * A connection used once: say so, so that the server closes first
	 * and keeps the TIME_WAIT, not us (thousands of checks a second
	 * would otherwise run out of local ports).
	 */
	if (!hc->reuse) {
		struct curl_slist *l;

		for (l = hc->headers; l != NULL; l = l->next)
			if (strncasecmp(l->data, "Connection:", 11) == 0)
				break;
		if (l == NULL) {
			if ((l = curl_slist_append(hc->headers,
			    "Connection: close")) == NULL)
				goto err;
			hc->headers = l;
		}
	}

	if ((n = tocsin_conf_list_size(cf, "expect_status")) > 0) {
		if ((hc->status = calloc(n, sizeof(long))) == NULL)
			goto err;
		hc->nstatus = n;
		for (i = 0; i < n; i++) {
			hc->status[i] = tocsin_conf_list_int(cf,
			    "expect_status", i);
			if (hc->status[i] < 100 || hc->status[i] > 599) {
				tocsin_conf_error(cf, "expect_status", "%ld is "
				    "not an HTTP status (100..599)",
				    hc->status[i]);
				bad = 1;
			}
		}
	}

	if (hc->regex_text != NULL && http_conf_regex(cf, hc) == -1)
		bad = 1;
	if (hc->jq_text != NULL && http_conf_jq(cf, hc) == -1)
		bad = 1;
	if (hc->head && (hc->expect_body != NULL || hc->regex_text != NULL ||
	    hc->jq_text != NULL)) {
		tocsin_conf_error(cf, hc->expect_body != NULL ? "expect_body" :
		    hc->regex_text != NULL ? "expect_regex" : "expect_jq",
		    "a HEAD request reads no body");
		bad = 1;
	}

	hc->follow = tocsin_conf_bool(cf, "follow_redirects");
	hc->max_redirects = tocsin_conf_int(cf, "max_redirects");
	if (hc->max_redirects < 0 || hc->max_redirects > 50) {
		tocsin_conf_error(cf, "max_redirects", "%ld is not 0..50",
		    hc->max_redirects);
		bad = 1;
	}
	hc->verify = tocsin_conf_bool(cf, "tls_verify");
	if (http_conf_file(cf, "ca_file", hc->ca_file) == -1 ||
	    http_conf_file(cf, "client_cert", hc->client_cert) == -1 ||
	    http_conf_file(cf, "client_key", hc->client_key) == -1)
		bad = 1;
	if (hc->client_key != NULL && hc->client_cert == NULL) {
		tocsin_conf_error(cf, "client_key", "needs client_cert");
		bad = 1;
	}

	hc->cert_warn_ms = tocsin_conf_duration_ms(cf, "cert_expiry_warn");
	hc->cert_crit_ms = tocsin_conf_duration_ms(cf, "cert_expiry_crit");
	if (hc->cert_crit_ms > hc->cert_warn_ms) {
		tocsin_conf_error(cf, "cert_expiry_crit", "is longer than "
		    "cert_expiry_warn");
		bad = 1;
	}
	hc->warn_ms = tocsin_conf_is_set(cf, "warn_time") ?
	    tocsin_conf_duration_ms(cf, "warn_time") : -1;
	hc->crit_ms = tocsin_conf_is_set(cf, "crit_time") ?
	    tocsin_conf_duration_ms(cf, "crit_time") : -1;
	if (hc->warn_ms >= 0 && hc->crit_ms >= 0 &&
	    hc->warn_ms > hc->crit_ms) {
		tocsin_conf_error(cf, "warn_time", "is longer than crit_time");
		bad = 1;
	}

	if (hc->password != NULL && hc->username == NULL) {
		tocsin_conf_error(cf, "password", "needs username");
		bad = 1;
	}

	s = tocsin_conf_str(cf, "ip_version");
	if (strcmp(s, "any") == 0)
		hc->ipresolve = CURL_IPRESOLVE_WHATEVER;
	else if (strcmp(s, "4") == 0)
		hc->ipresolve = CURL_IPRESOLVE_V4;
	else if (strcmp(s, "6") == 0)
		hc->ipresolve = CURL_IPRESOLVE_V6;
	else {
		tocsin_conf_error(cf, "ip_version", "\"%s\" is not any, 4 or 6",
		    s);
		bad = 1;
	}

	if (hc->host != NULL && http_conf_resolve(cf, hc) == -1)
		bad = 1;

	hc->max_body = tocsin_conf_int(cf, "max_body");
	if (hc->max_body < 1 || hc->max_body > HTTP_MAX_BODY_MAX) {
		tocsin_conf_error(cf, "max_body", "%ld is not 1..%ld",
		    hc->max_body, HTTP_MAX_BODY_MAX);
		bad = 1;
	}
	if (bad)
		goto err;
	*priv = hc;
	return 0;
err:
	http_free(hc);
	return -1;
}

static void
http_free(void *priv)
{
	struct http_conf *hc = priv;

	if (hc == NULL)
		return;
	free(hc->url);
	free(hc->host);
	free(hc->method);
	curl_slist_free_all(hc->headers);
	free(hc->body);
	free(hc->status);
	free(hc->expect_body);
	free(hc->regex_text);
	pcre2_code_free(hc->regex);
	pcre2_match_context_free(hc->mctx);
	free(hc->jq_text);
	if (hc->jq != NULL)
		jq_teardown(&hc->jq);
	free(hc->ca_file);
	free(hc->client_cert);
	free(hc->client_key);
	free(hc->username);
	free(hc->password);
	curl_slist_free_all(hc->connect_to);
	free(hc->user_agent);
	free(hc);
}

/* ---- a run ----------------------------------------------------------- */

/*
 * Idle easy handles.  Making one costs several allocations of a few KiB;
 * at thousands of runs a second that was a visible part of the CPU, so
 * finished handles wait here, curl_easy_reset() to their defaults.  A
 * reset keeps the TLS session cache, which http_easy() turns off: a run
 * never resumes another run's session.
 */
static CURL	*http_pool[HTTP_POOL_MAX];
static unsigned	 http_npool;

/* Returns a handle with default options; the caller owns it. */
static CURL *
http_pool_get(void)
{
	CURL *e;

	if (http_npool == 0)
		return curl_easy_init();
	e = http_pool[--http_npool];
	curl_easy_reset(e);
	return e;
}

/* Gives e back (a handle not in the multi handle any more). */
static void
http_pool_put(CURL *e)
{
	if (http_npool < HTTP_POOL_MAX)
		http_pool[http_npool++] = e;
	else
		curl_easy_cleanup(e);
}

static void
http_pool_clear(void)
{
	while (http_npool > 0)
		curl_easy_cleanup(http_pool[--http_npool]);
}

static void
http_run_free(struct http_run *hr)
{
	if (hr->easy != NULL)
		http_pool_put(hr->easy);
	free(hr->body);
	free(hr);
}

/* CURLOPT_WRITEFUNCTION: count the body, keep it when it is judged. */
static size_t
http_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_run *hr = arg;
	size_t n = size * nmemb;

	if (hr->size + n > (size_t)hr->hc->max_body) {
		hr->too_big = 1;
		return 0;		/* aborts the transfer */
	}
	hr->size += n;
	if (hr->hc->expect_body == NULL && hr->hc->regex == NULL &&
	    hr->hc->jq == NULL)
		return n;
	if (hr->len + n + 1 > hr->cap) {
		size_t cap = hr->cap ? hr->cap : 4096;
		char *b;

		while (cap < hr->len + n + 1)
			cap *= 2;
		if ((b = realloc(hr->body, cap)) == NULL)
			return 0;
		hr->body = b;
		hr->cap = cap;
	}
	memcpy(hr->body + hr->len, p, n);
	hr->len += n;
	hr->body[hr->len] = '\0';
	return n;
}

/* CURLOPT_HEADERFUNCTION: keep the reason phrase of the last status line. */
static size_t
http_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_run *hr = arg;
	size_t n = size * nmemb, i, j;

	if (n < 5 || strncmp(p, "HTTP/", 5) != 0)
		return n;
	/* "HTTP/1.1 200 OK\r\n": skip the version and the code */
	for (i = 0; i < n && p[i] != ' '; i++)
		;
	for (i++; i < n && p[i] != ' ' && p[i] != '\r' && p[i] != '\n'; i++)
		;
	for (j = 0, i++; i < n && j + 1 < sizeof(hr->reason); i++) {
		if (p[i] == '\r' || p[i] == '\n')
			break;
		hr->reason[j++] = isprint((unsigned char)p[i]) ? p[i] : '?';
	}
	hr->reason[j] = '\0';
	return n;
}

static double
info_secs(CURL *easy, CURLINFO what)
{
	curl_off_t us = 0;

	if (curl_easy_getinfo(easy, what, &us) != CURLE_OK)
		return 0;
	return (double)us / 1e6;
}

/*
 * Seconds until the server certificate expires, from curl's certinfo;
 * RETURN VALUE: 0, or -1 when unknown (http, a reused connection).
 */
static int
http_cert_left(CURL *easy, double *secs)
{
	struct curl_certinfo *ci = NULL;
	struct curl_slist *l;
	struct tm tm;
	const char *s;

	if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK ||
	    ci == NULL || ci->num_of_certs < 1)
		return -1;
	for (l = ci->certinfo[0]; l != NULL; l = l->next) {
		if (strncmp(l->data, "Expire date:", 12) != 0)
			continue;
		/* "Dec  1 00:04:17 2026 GMT" (OpenSSL's ASN1_TIME_print) */
		memset(&tm, 0, sizeof(tm));
		s = strptime(l->data + 12, " %b %d %H:%M:%S %Y", &tm);
		if (s == NULL)
			return -1;
		*secs = difftime(timegm(&tm), time(NULL));
		return 0;
	}
	return -1;
}

static void
metric(struct tocsin_run *run, const char *name, double v, const char *unit,
    const char *warn, const char *crit)
{
	struct tocsin_metric m;

	memset(&m, 0, sizeof(m));
	m.name = name;
	m.value = v;
	m.unit = unit;
	m.warn = warn;
	m.crit = crit;
	m.min = m.max = NAN;
	tocsin_run_metric(run, &m);
}

/* A duration in ms as config text ("1.5s", "7d"), for summaries. */
static void
fmt_ms(char *buf, size_t len, int64_t ms)
{
	if (ms % 86400000 == 0 && ms > 0)
		snprintf(buf, len, "%lldd", (long long)(ms / 86400000));
	else if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else
		snprintf(buf, len, "%gs", (double)ms / 1000);
}

/* Why a transfer failed, as one line; always CRITICAL. */
static void
http_failure(struct http_run *hr, CURLcode rc, char *sum, size_t len)
{
	const struct http_conf *hc = hr->hc;
	const char *why = hr->errbuf[0] != '\0' ? hr->errbuf :
	    curl_easy_strerror(rc);
	unsigned char bin[sizeof(struct in6_addr)];
	long oserr = 0;
	char *next = NULL, t[32];

	fmt_ms(t, sizeof(t), hr->timeout_ms);
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(sum, len, "DNS failure: cannot resolve %s", hc->host);
		break;
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(hr->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == ECONNREFUSED)
			snprintf(sum, len, "connection refused by %s port %ld",
			    hc->host, hc->port);
		else if (oserr == EHOSTUNREACH || oserr == ENETUNREACH)
			snprintf(sum, len, "cannot connect to %s port %ld: %s",
			    hc->host, hc->port, strerror((int)oserr));
		else
			snprintf(sum, len, "cannot connect to %s port %ld: %s",
			    hc->host, hc->port, why);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		if (info_secs(hr->easy, CURLINFO_NAMELOOKUP_TIME_T) == 0 &&
		    !hc->pinned && inet_pton(AF_INET, hc->host, bin) != 1 &&
		    hc->host[0] != '[')
			snprintf(sum, len, "DNS failure: resolving %s timed out "
			    "after %s", hc->host, t);
		else if (info_secs(hr->easy, CURLINFO_CONNECT_TIME_T) == 0)
			snprintf(sum, len, "connect timeout: no connection to "
			    "%s port %ld within %s", hc->host, hc->port, t);
		else if (hc->https &&
		    info_secs(hr->easy, CURLINFO_APPCONNECT_TIME_T) == 0)
			snprintf(sum, len, "TLS handshake timeout with %s "
			    "after %s", hc->host, t);
		else if (info_secs(hr->easy, CURLINFO_STARTTRANSFER_TIME_T)
		    == 0)
			snprintf(sum, len, "response timeout: connected, no "
			    "answer within %s", t);
		else
			snprintf(sum, len, "response timeout: body not "
			    "complete within %s (%zu bytes read)", t,
			    hr->size);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
#if LIBCURL_VERSION_NUM >= 0x074d00
	case CURLE_SSL_CLIENTCERT:
#endif
		snprintf(sum, len, "TLS handshake failed with %s: %s",
		    hc->host, why);
		break;
	case CURLE_TOO_MANY_REDIRECTS:
		curl_easy_getinfo(hr->easy, CURLINFO_REDIRECT_URL, &next);
		snprintf(sum, len, "redirect loop: more than %ld redirects%s%s",
		    hc->max_redirects, next != NULL ? ", next to " : "",
		    next != NULL ? next : "");
		break;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:	/* from Content-Length */
		if (hr->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
			snprintf(sum, len, "body too large: more than %ld "
			    "bytes (max_body)", hc->max_body);
			break;
		}
		/* FALLTHROUGH */
	default:
		snprintf(sum, len, "HTTP request to %s failed: %s", hc->host,
		    why);
		break;
	case CURLE_GOT_NOTHING:
		snprintf(sum, len, "empty reply: %s port %ld closed the "
		    "connection without answering", hc->host, hc->port);
		break;
	}
}

static int
status_ok(const struct http_conf *hc, long code)
{
	unsigned i;

	if (hc->nstatus == 0)
		return code >= 200 && code <= 399;
	for (i = 0; i < hc->nstatus; i++)
		if (hc->status[i] == code)
			return 1;
	return 0;
}

/* "200", "200, 204" or "2xx/3xx": the expected statuses, for summaries. */
static void
fmt_expected(const struct http_conf *hc, char *buf, size_t len)
{
	size_t off = 0;
	unsigned i;

	if (hc->nstatus == 0) {
		snprintf(buf, len, "2xx/3xx");
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < hc->nstatus && off + 8 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%ld",
		    i ? ", " : "", hc->status[i]);
}

/* Append "; text" (or text) to sum. */
static void
add_problem(char *sum, size_t len, const char *text)
{
	size_t off = strlen(sum);

	snprintf(sum + off, len - off, "%s%s", off ? "; " : "", text);
}

/*
 * Run expect_jq on the body.  RETURN VALUE: 0 when every output (at least
 * one) is neither false nor null, else -1 with the cause in sum.
 */
static int
http_judge_jq(struct http_run *hr, long code, char *sum, size_t len)
{
	const struct http_conf *hc = hr->hc;
	jv in, out, dump;
	int n, bad = 0;

	in = jv_parse_sized(hr->body != NULL ? hr->body : "", (int)hr->len);
	if (!jv_is_valid(in)) {
		jv msg = jv_invalid_get_msg(in);
		const char *m = jv_get_kind(msg) == JV_KIND_STRING ?
		    jv_string_value(msg) : "empty";
		/* libjq quotes the whole body after this: not in a summary */
		const char *cut = strstr(m, " (while parsing");

		snprintf(sum, len, "expect_jq \"%.200s\": body is not JSON "
		    "(%.*s; HTTP %ld, %zu bytes)", hc->jq_text,
		    cut != NULL ? (int)(cut - m) : 200, m, code, hr->size);
		jv_free(msg);
		return -1;
	}
	jq_start(hc->jq, in, 0);
	for (n = 0; n < HTTP_JQ_MAX_OUTPUTS; n++) {
		out = jq_next(hc->jq);
		if (!jv_is_valid(out)) {
			jv msg = jv_invalid_get_msg(out);

			if (jv_get_kind(msg) == JV_KIND_NULL) {	/* the end */
				jv_free(msg);
				break;
			}
			dump = jv_get_kind(msg) == JV_KIND_STRING ? jv_copy(msg) :
			    jv_dump_string(jv_copy(msg), 0);
			snprintf(sum, len, "expect_jq \"%.200s\" failed: %.200s",
			    hc->jq_text, jv_string_value(dump));
			jv_free(dump);
			jv_free(msg);
			bad = 1;
			goto out;
		}
		if (jv_get_kind(out) == JV_KIND_FALSE ||
		    jv_get_kind(out) == JV_KIND_NULL) {
			dump = jv_dump_string(out, 0);
			snprintf(sum, len, "expect_jq \"%.200s\" is %s (HTTP %ld)",
			    hc->jq_text, jv_string_value(dump), code);
			jv_free(dump);
			bad = 1;
			goto out;
		}
		jv_free(out);
	}
	if (n == 0) {
		snprintf(sum, len, "expect_jq \"%.200s\" gave no result "
		    "(HTTP %ld)", hc->jq_text, code);
		bad = 1;
	}
out:
	/* drop what is left of the program's state with the next start */
	return bad ? -1 : 0;
}

/* Judge a completed transfer.  RETURN VALUE: the state; sum is filled. */
static enum tocsin_state
http_judge(struct http_run *hr, double total, int has_cert, double left,
    char *sum, size_t len)
{
	const struct http_conf *hc = hr->hc;
	enum tocsin_state st = TOCSIN_OK;
	char buf[512], a[32], b[48];
	long code = 0, redirects = 0;
	double days;
	int rc;

	curl_easy_getinfo(hr->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(hr->easy, CURLINFO_REDIRECT_COUNT, &redirects);
	if (!status_ok(hc, code)) {
		fmt_expected(hc, a, sizeof(a));
		snprintf(sum, len, "unexpected status %ld%s%s (expected %s)",
		    code, hr->reason[0] ? " " : "", hr->reason, a);
		return TOCSIN_CRITICAL;
	}
	if (hc->expect_body != NULL && (hr->body == NULL ||
	    memmem(hr->body, hr->len, hc->expect_body,
	    strlen(hc->expect_body)) == NULL)) {
		snprintf(sum, len, "body did not contain \"%.200s\" (HTTP %ld, "
		    "%zu bytes)", hc->expect_body, code, hr->size);
		return TOCSIN_CRITICAL;
	}
	if (hc->regex != NULL) {
		pcre2_match_data *md;

		md = pcre2_match_data_create_from_pattern(hc->regex, NULL);
		if (md == NULL) {
			snprintf(sum, len, "out of memory matching the regex");
			return TOCSIN_UNKNOWN;
		}
		rc = pcre2_match(hc->regex, (PCRE2_SPTR)(hr->body ? hr->body :
		    ""), hr->len, 0, 0, md, hc->mctx);
		pcre2_match_data_free(md);
		if (rc == PCRE2_ERROR_NOMATCH) {
			snprintf(sum, len, "regex did not match: /%.200s/ "
			    "(HTTP %ld, %zu bytes)", hc->regex_text, code,
			    hr->size);
			return TOCSIN_CRITICAL;
		}
		if (rc < 0) {
			PCRE2_UCHAR msg[128];

			pcre2_get_error_message(rc, msg, sizeof(msg));
			snprintf(sum, len, "regex /%.200s/ could not be "
			    "matched: %s", hc->regex_text, (char *)msg);
			return TOCSIN_UNKNOWN;
		}
	}

	if (hc->jq != NULL && http_judge_jq(hr, code, sum, len) == -1)
		return TOCSIN_CRITICAL;

	sum[0] = '\0';
	if (has_cert && left * 1000 < (double)hc->cert_warn_ms) {
		int crit = left * 1000 < (double)hc->cert_crit_ms;

		fmt_ms(a, sizeof(a), crit ? hc->cert_crit_ms :
		    hc->cert_warn_ms);
		if (left < 0) {
			days = floor(-left / 86400);
			snprintf(buf, sizeof(buf), "certificate expired %.0f "
			    "day%s ago", days, days == 1 ? "" : "s");
		} else {
			days = round(left / 86400);
			snprintf(buf, sizeof(buf), "certificate expires in "
			    "%.0f day%s (%s %s)", days, days == 1 ? "" : "s",
			    crit ? "cert_expiry_crit" : "cert_expiry_warn", a);
		}
		add_problem(sum, len, buf);
		st = crit ? TOCSIN_CRITICAL : TOCSIN_WARNING;
	}
	if ((hc->crit_ms >= 0 && total * 1000 > (double)hc->crit_ms) ||
	    (hc->warn_ms >= 0 && total * 1000 > (double)hc->warn_ms)) {
		int crit = hc->crit_ms >= 0 && total * 1000 >
		    (double)hc->crit_ms;

		fmt_ms(a, sizeof(a), crit ? hc->crit_ms : hc->warn_ms);
		snprintf(buf, sizeof(buf), "response slower than threshold: "
		    "%.3fs > %s %s", total, crit ? "crit_time" : "warn_time",
		    a);
		add_problem(sum, len, buf);
		if (crit)
			st = TOCSIN_CRITICAL;
		else if (st == TOCSIN_OK)
			st = TOCSIN_WARNING;
	}
	if (st != TOCSIN_OK)
		return st;

	b[0] = '\0';
	if (redirects > 0)
		snprintf(b, sizeof(b), " after %ld redirect%s", redirects,
		    redirects > 1 ? "s" : "");
	snprintf(sum, len, "HTTP %ld%s%s: %zu bytes in %.3fs%s", code,
	    hr->reason[0] ? " " : "", hr->reason, hr->size, total, b);
	if (has_cert) {
		snprintf(buf, sizeof(buf), ", certificate valid for %.0f days",
		    floor(left / 86400));
		add_problem(sum + strlen(sum), len - strlen(sum), buf);
	}
	return TOCSIN_OK;
}

/* curlev_done_cb: the transfer of hr ended with rc. */
static void
http_done(CURL *easy, CURLcode rc, void *arg)
{
	struct http_run *hr = arg;
	const struct http_conf *hc = hr->hc;
	struct tocsin_run *run = hr->run;
	enum tocsin_state st = TOCSIN_CRITICAL;
	double total, conn, app, ttfb, nl, left = 0;
	char sum[1024], w[32], c[32], cw[32], cc[32];
	long code = 0;
	int has_cert;

	(void)easy;
	total = info_secs(hr->easy, CURLINFO_TOTAL_TIME_T);
	conn = info_secs(hr->easy, CURLINFO_CONNECT_TIME_T);
	app = info_secs(hr->easy, CURLINFO_APPCONNECT_TIME_T);
	has_cert = hc->https && http_cert_left(hr->easy, &left) == 0;
	curl_easy_getinfo(hr->easy, CURLINFO_RESPONSE_CODE, &code);

	/*
	 * A phase that did not happen has no time: curl says 0 for it, and
	 * 0 s would draw an outage as the fastest period on the graph.
	 * NaN (U in the RRD file, null in the API) instead.  No response
	 * at all (refused, reset, timed out before the status line): no
	 * time_total, time_ttfb or size either.
	 */
	ttfb = info_secs(hr->easy, CURLINFO_STARTTRANSFER_TIME_T);
	nl = info_secs(hr->easy, CURLINFO_NAMELOOKUP_TIME_T);
	if (rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY)
		nl = NAN;
	snprintf(w, sizeof(w), "%g", (double)hc->warn_ms / 1000);
	snprintf(c, sizeof(c), "%g", (double)hc->crit_ms / 1000);
	metric(run, "time_total", code > 0 ? total : NAN, "s",
	    hc->warn_ms >= 0 ? w : NULL, hc->crit_ms >= 0 ? c : NULL);
	metric(run, "time_namelookup", nl, "s", NULL, NULL);
	metric(run, "time_connect", conn > 0 ? conn : NAN, "s", NULL, NULL);
	if (hc->https)
		metric(run, "time_tls", conn > 0 && app > conn ? app - conn :
		    NAN, "s", NULL, NULL);
	metric(run, "time_ttfb", code > 0 && ttfb > 0 ? ttfb : NAN, "s",
	    NULL, NULL);
	metric(run, "size", code > 0 ? (double)hr->size : NAN, "B", NULL,
	    NULL);
	if (code > 0)
		metric(run, "status", (double)code, NULL, NULL, NULL);
	if (has_cert) {
		/* Nagios ranges: alert below the threshold */
		snprintf(cw, sizeof(cw), "%g:",
		    (double)hc->cert_warn_ms / HTTP_DAY_MS);
		snprintf(cc, sizeof(cc), "%g:",
		    (double)hc->cert_crit_ms / HTTP_DAY_MS);
		metric(run, "cert_days_left", round(left / 864) / 100, NULL,
		    cw, cc);
	}

	if (rc != CURLE_OK)
		http_failure(hr, rc, sum, sizeof(sum));
	else
		st = http_judge(hr, total, has_cert, left, sum, sizeof(sum));
	http_run_free(hr);
	tocsin_run_finish(run, st, sum);
}

/* Returns a new easy handle set up for one run of hc, or NULL. */
static CURL *
http_easy(struct http_run *hr)
{
	const struct http_conf *hc = hr->hc;
	int64_t t = hr->timeout_ms;
	CURL *e;

	if ((e = http_pool_get()) == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, hc->url);
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* never wait for a resolver thread in cancel() or on a timeout */
	curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, hr->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, hr);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, hr);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)t);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)hc->max_body);
	curl_easy_setopt(e, CURLOPT_USERAGENT, hc->user_agent);
	curl_easy_setopt(e, CURLOPT_IPRESOLVE, hc->ipresolve);
	if (hc->headers != NULL)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, hc->headers);
	if (hc->connect_to != NULL)
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, hc->connect_to);
	if (hc->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(hc->body));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, hc->body);
	}
	if (hc->head)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (hc->method != NULL)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, hc->method);
	if (hc->follow) {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, hc->max_redirects);
	}
	if (hc->https) {
		curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, (long)hc->verify);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
		    hc->verify ? 2L : 0L);
	}
	/* for an http URL too: a redirect may lead to https */
	if (hc->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, hc->ca_file);
	if (hc->client_cert != NULL)
		curl_easy_setopt(e, CURLOPT_SSLCERT, hc->client_cert);
	if (hc->client_key != NULL)
		curl_easy_setopt(e, CURLOPT_SSLKEY, hc->client_key);
	if (hc->username != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, hc->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD,
		    hc->password != NULL ? hc->password : "");
	}
	if (!hc->reuse) {
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	}
	return e;
}

static void
http_start(struct tocsin_run *run, void *priv)
{
	const struct http_conf *hc = priv;
	struct http_run *hr;
	int64_t t, margin;

	if ((hr = calloc(1, sizeof(*hr))) == NULL) {
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "http: out of memory");
		return;
	}
	hr->run = run;
	hr->hc = hc;
	/* finish before the core's timeout, to name the slow phase */
	t = tocsin_run_timeout_ms(run);
	margin = t / 10;
	if (margin < 20)
		margin = 20;
	if (margin > 1000)
		margin = 1000;
	hr->timeout_ms = t > 2 * margin ? t - margin : (t > 1 ? t - 1 : 1);
	if ((hr->easy = http_easy(hr)) == NULL ||
	    (http_cm == NULL &&
	    (http_cm = curlev_new(tocsin_event_base())) == NULL) ||
	    curlev_add(http_cm, hr->easy, http_done, hr) == -1) {
		http_run_free(hr);
		tocsin_run_finish(run, TOCSIN_UNKNOWN,
		    "http: cannot start a transfer (out of memory?)");
		return;
	}
	tocsin_run_set_data(run, hr);
}

static void
http_cancel(struct tocsin_run *run, void *priv)
{
	struct http_run *hr = tocsin_run_data(run);

	(void)priv;
	if (hr == NULL)
		return;
	if (http_cm != NULL)
		curlev_remove(http_cm, hr->easy);
	http_run_free(hr);
	tocsin_run_set_data(run, NULL);
}

/* .max_concurrent is set by http_init() from the open-file limit */
static struct tocsin_check_type http_type = {
	.name = "http",
	.options = http_options,
	.configure = http_configure,
	.start = http_start,
	.cancel = http_cancel,
	.free = http_free,
};

/*
 * Default cap on runs in flight: HTTP_CONCURRENT_MAX, or less when the
 * open-file limit is low.  A run holds a socket, and while it resolves a
 * name the threaded resolver's socket pair: up to 3 descriptors; 256 are
 * left for the rest of the daemon.  Measured with 5 000 checks a second
 * against one loopback nginx (5x what it serves): a cap of 4 096 gave
 * 0.7-1.9 s of loop lag (curl starts every due transfer in one
 * curl_multi_socket_action() call) for no more checks/s than 512, whose
 * lag was 0.2-0.35 s.  Many slow targets may want more:
 * daemon { concurrency = { "http=4096" } }.
 */
#define HTTP_CONCURRENT_MAX	512
#define HTTP_CONCURRENT_MIN	16

static unsigned
http_default_concurrency(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return HTTP_CONCURRENT_MAX;
	n = rl.rlim_cur > 256 + 3 * HTTP_CONCURRENT_MIN ?
	    (rl.rlim_cur - 256) / 3 : HTTP_CONCURRENT_MIN;
	return n > HTTP_CONCURRENT_MAX ? HTTP_CONCURRENT_MAX : (unsigned)n;
}

static int
http_init(void)
{
	const curl_version_info_data *v;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tocsin_log(TOCSIN_LOG_ERR, "http: curl_global_init failed");
		return -1;
	}
	v = curl_version_info(CURLVERSION_NOW);
	if (!(v->features & CURL_VERSION_ASYNCHDNS)) {
		tocsin_log(TOCSIN_LOG_ERR, "http: libcurl %s resolves names "
		    "synchronously (no threaded resolver or c-ares): it would "
		    "block the loop, not loading", v->version);
		curl_global_cleanup();
		return -1;
	}
	if (!(v->features & CURL_VERSION_SSL))
		tocsin_log(TOCSIN_LOG_WARNING, "http: libcurl %s has no TLS: "
		    "https checks will fail", v->version);
	http_type.max_concurrent = http_default_concurrency();
	tocsin_log(TOCSIN_LOG_DEBUG, "http: libcurl %s, %s, asynchronous "
	    "resolver, at most %u runs in flight by default", v->version,
	    v->ssl_version ? v->ssl_version : "no TLS",
	    http_type.max_concurrent);
	return tocsin_register_type(&http_type);
}

static void
http_fini(void)
{
	curlev_free(http_cm);
	http_cm = NULL;
	http_pool_clear();
	curl_global_cleanup();
}

TOCSIN_PLUGIN("http", http_init, http_fini);
