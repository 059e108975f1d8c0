/*
 * plugins/tcp/tcp.c — the "tcp" check type: connect to a port (IPv4 or
 * IPv6, names through evdns), optionally speak a STARTTLS dialog or TLS,
 * send a string and wait for an expected answer; report the timings
 * (DNS, connect, TLS, first byte) and the certificate's days left.
 *
 * Everything runs on the daemon's loop: a non-blocking connect() watched
 * by an event (so that its errno is ours to name), then a bufferevent on
 * the socket, wrapped by libevent's OpenSSL bufferevent for TLS.  No
 * thread per check.  One timer per run, a little before the core's
 * timeout, names the phase that was slow (resolving, connecting,
 * STARTTLS, TLS handshake, waiting for the answer).
 *
 * The server's bytes are read by tcp_proto.c (STARTTLS dialogs) and the
 * expect matching here; a run keeps at most max_read bytes.
 *
 * Known limit: a name is resolved to its first address (of ip_version's
 * family); the others are not tried.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#endif

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <tocsin/plugin.h>

#include "tcp_proto.h"

#define TCP_DAY_MS		86400000.0
#define TCP_REGEX_LIMIT		1000000	/* pcre2 match limit */
#define TCP_MAX_READ_MAX	(1L << 20)

static const struct tocsin_option tcp_options[] = {
	{ "address", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	  "name or IPv4/IPv6 address to connect to" },
	{ "port", TOCSIN_OPT_INT, NULL, TOCSIN_OPT_REQUIRED,
	  "TCP port, 1..65535" },
	{ "ip_version", TOCSIN_OPT_STR, "any", 0,
	  "address family of a name: any, 4 or 6" },
	{ "send", TOCSIN_OPT_STR, NULL, 0,
	  "text to send once connected (after TLS)" },
	{ "expect", TOCSIN_OPT_STR, NULL, 0,
	  "text the server's answer must contain" },
	{ "expect_regex", TOCSIN_OPT_STR, NULL, 0,
	  "PCRE2 pattern the server's answer must match" },
	{ "max_read", TOCSIN_OPT_INT, "65536", 0,
	  "bytes of answer read for expect, 1..1048576" },
	{ "tls", TOCSIN_OPT_BOOL, "false", 0,
	  "TLS handshake right after connecting" },
	{ "starttls", TOCSIN_OPT_STR, NULL, 0,
	  "smtp, imap, pop3 or ldap: upgrade to TLS that way" },
	{ "tls_verify", TOCSIN_OPT_BOOL, "true", 0,
	  "verify the certificate chain and the name" },
	{ "server_name", TOCSIN_OPT_STR, NULL, 0,
	  "name for SNI and verification (default: address)" },
	{ "ca_file", TOCSIN_OPT_STR, NULL, 0,
	  "PEM file of CAs to verify with (default: system's)" },
	{ "cert_expiry_warn", TOCSIN_OPT_DURATION, "21d", 0,
	  "WARNING when the certificate expires within this" },
	{ "cert_expiry_crit", TOCSIN_OPT_DURATION, "7d", 0,
	  "CRITICAL when the certificate expires within this" },
	{ "warn_time", TOCSIN_OPT_DURATION, NULL, 0,
	  "WARNING when the whole exchange takes longer" },
	{ "crit_time", TOCSIN_OPT_DURATION, NULL, 0,
	  "CRITICAL when the whole exchange takes longer" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

/* An SSL_CTX shared by the checks with the same ca_file. */
struct tcp_ctx {
	char			*ca_file;	/* NULL: system's */
	SSL_CTX			*ctx;
	unsigned		 refs;
	LIST_ENTRY(tcp_ctx)	 link;
};
static LIST_HEAD(, tcp_ctx) tcp_ctxs = LIST_HEAD_INITIALIZER(tcp_ctxs);

/* What configure() built; freed by tcp_free(). */
struct tcp_conf {
	char			*host;
	long			 port;
	int			 family;	/* AF_UNSPEC, AF_INET, AF_INET6 */
	int			 literal;	/* host is an address: sa */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	char			*send;
	char			*expect;
	char			*regex_text;
	pcre2_code		*regex;
	pcre2_match_context	*mctx;
	long			 max_read;
	int			 tls;		/* tls or starttls */
	enum tcp_stls_proto	 stls;
	int			 verify;
	char			*server_name;	/* NULL: none to send */
	struct tcp_ctx		*ctx;		/* when tls */
	int64_t			 cert_warn_ms;
	int64_t			 cert_crit_ms;
	int64_t			 warn_ms;	/* -1: not set */
	int64_t			 crit_ms;
};

enum tcp_phase {
	PH_DNS,
	PH_CONNECT,
	PH_STARTTLS,
	PH_TLS,
	PH_EXCHANGE,		/* send and/or expect */
};

struct tcp_run;

/*
 * An outstanding evdns request.  libevent calls back exactly once, also
 * after a cancel, so the ticket, not the run, is the argument; a cancelled
 * run sets tr to NULL.
 */
struct tcp_dns {
	struct tcp_run				*tr;
	struct evdns_getaddrinfo_request	*req;
	LIST_ENTRY(tcp_dns)			 link;
};
static LIST_HEAD(, tcp_dns) tcp_tickets = LIST_HEAD_INITIALIZER(tcp_tickets);
static struct evdns_base *tcp_dnsb;

/* One run in flight; freed by tcp_run_free(). */
struct tcp_run {
	struct tocsin_run	*run;
	const struct tcp_conf	*tc;
	enum tcp_phase		 ph;
	struct tcp_dns		*dns;
	int			 dns_err;	/* EVUTIL_EAI_*, 0 */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	char			 addr[INET6_ADDRSTRLEN];
	evutil_socket_t		 fd;		/* until bev owns it */
	struct event		*conn_ev;	/* connect() completion */
	struct event		*timer;		/* deadline; deferred steps */
	int			 timer_step;	/* the timer fires a step */
	struct bufferevent	*bev;
	struct tcp_stls		 stls;
	int			 sent_done;	/* send written out */
	int64_t			 t0, t_dns, t_conn, t_tls, t_first, t_end;
	int64_t			 limit_ms;	/* our deadline after t0 */
	int			 has_cert;
	double			 cert_left;	/* seconds */
	char			 tls_version[16];
	size_t			 got;		/* bytes read at all */
};

static void	tcp_free(void *);
static void	tcp_after_connect(struct tcp_run *);
static void	tcp_exchange(struct tcp_run *);

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
secs(int64_t from, int64_t to)
{
	return to > from ? (double)(to - from) / 1e9 : 0;
}

/* A duration in ms as config text ("1.5s", "7d"), for summaries. */
static void
tcp_fmt_ms(char *buf, size_t len, int64_t ms)
{
	if (ms % 86400000 == 0 && ms > 0)
		snprintf(buf, len, "%lldd", (long long)(ms / 86400000));
	else if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else
		snprintf(buf, len, "%gs", (double)ms / 1000);
}

/* ---- configure --------------------------------------------------------- */

/* Returns the shared context for ca_file (referenced), or NULL. */
static struct tcp_ctx *
tcp_ctx_get(struct tocsin_conf *cf, const char *ca_file)
{
	struct tcp_ctx *c;

	LIST_FOREACH(c, &tcp_ctxs, link)
		if ((c->ca_file == NULL && ca_file == NULL) ||
		    (c->ca_file != NULL && ca_file != NULL &&
		    strcmp(c->ca_file, ca_file) == 0)) {
			c->refs++;
			return c;
		}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((ca_file != NULL && (c->ca_file = strdup(ca_file)) == NULL) ||
	    (c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(c->ctx, ca_file, NULL) != 1) {
			tocsin_conf_error(cf, "ca_file", "\"%s\": %s", ca_file,
			    ERR_reason_error_string(ERR_peek_last_error()) ?
			    ERR_reason_error_string(ERR_peek_last_error()) :
			    "cannot load");
			ERR_clear_error();
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		ERR_clear_error();
		tocsin_log(TOCSIN_LOG_WARNING, "tcp: cannot load the system's "
		    "CA certificates");
	}
	c->refs = 1;
	LIST_INSERT_HEAD(&tcp_ctxs, c, link);
	return c;
fail:
	SSL_CTX_free(c->ctx);
	free(c->ca_file);
	free(c);
	return NULL;
}

static void
tcp_ctx_put(struct tcp_ctx *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	LIST_REMOVE(c, link);
	SSL_CTX_free(c->ctx);
	free(c->ca_file);
	free(c);
}

static char *
tcp_dup(struct tocsin_conf *cf, const char *key, int *nomem)
{
	const char *s = tocsin_conf_str(cf, key);
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*nomem = 1;
	return d;
}

/* host as an address literal ("192.0.2.1", "::1", "[::1]") into sa. */
static int
tcp_literal(const char *host, long port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	memset(ss, 0, sizeof(*ss));
	if (evutil_inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (n > 2 && n < sizeof(buf) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (evutil_inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static int
tcp_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	struct tcp_conf *tc;
	const char *s;
	int bad = 0, nomem = 0;

	(void)chk;
	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return -1;
	tc->host = tcp_dup(cf, "address", &nomem);
	tc->send = tcp_dup(cf, "send", &nomem);
	tc->expect = tcp_dup(cf, "expect", &nomem);
	tc->regex_text = tcp_dup(cf, "expect_regex", &nomem);
	tc->server_name = tcp_dup(cf, "server_name", &nomem);
	if (nomem || tc->host == NULL)
		goto fail;

	tc->port = tocsin_conf_int(cf, "port");
	if (tc->port < 1 || tc->port > 65535) {
		tocsin_conf_error(cf, "port", "%ld is not 1..65535", tc->port);
		bad = 1;
	}
	if (tc->host[0] == '\0') {
		tocsin_conf_error(cf, "address", "is empty");
		bad = 1;
	}
	tc->literal = tcp_literal(tc->host, tc->port, &tc->sa, &tc->salen) ==
	    0;
	s = tocsin_conf_str(cf, "ip_version");
	if (strcmp(s, "any") == 0)
		tc->family = AF_UNSPEC;
	else if (strcmp(s, "4") == 0)
		tc->family = AF_INET;
	else if (strcmp(s, "6") == 0)
		tc->family = AF_INET6;
	else {
		tocsin_conf_error(cf, "ip_version", "\"%s\" is not any, 4 or 6",
		    s);
		bad = 1;
	}
	if (tc->literal && tc->family != AF_UNSPEC &&
	    tc->family != tc->sa.ss_family) {
		tocsin_conf_error(cf, "ip_version", "\"%s\" does not match the "
		    "address \"%s\"", s, tc->host);
		bad = 1;
	}

	if (tc->send != NULL && tc->send[0] == '\0') {
		tocsin_conf_error(cf, "send", "is empty");
		bad = 1;
	}
	if (tc->expect != NULL && tc->expect[0] == '\0') {
		tocsin_conf_error(cf, "expect", "is empty");
		bad = 1;
	}
	if (tc->regex_text != NULL) {
		PCRE2_UCHAR msg[256];
		PCRE2_SIZE off;
		int err;

		tc->regex = pcre2_compile((PCRE2_SPTR)tc->regex_text,
		    PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
		if (tc->regex == NULL) {
			pcre2_get_error_message(err, msg, sizeof(msg));
			tocsin_conf_error(cf, "expect_regex", "\"%s\": %s at "
			    "offset %zu", tc->regex_text, (char *)msg,
			    (size_t)off);
			bad = 1;
		} else {
			if ((tc->mctx = pcre2_match_context_create(NULL)) ==
			    NULL)
				goto fail;
			pcre2_set_match_limit(tc->mctx, TCP_REGEX_LIMIT);
		}
	}
	tc->max_read = tocsin_conf_int(cf, "max_read");
	if (tc->max_read < 1 || tc->max_read > TCP_MAX_READ_MAX) {
		tocsin_conf_error(cf, "max_read", "%ld is not 1..%ld",
		    tc->max_read, TCP_MAX_READ_MAX);
		bad = 1;
	}

	tc->tls = tocsin_conf_bool(cf, "tls");
	if ((s = tocsin_conf_str(cf, "starttls")) != NULL) {
		if ((tc->stls = tcp_stls_parse(s)) == TCP_STLS_NONE) {
			tocsin_conf_error(cf, "starttls", "\"%s\" is not smtp, "
			    "imap, pop3 or ldap", s);
			bad = 1;
		}
		if (tc->tls) {
			tocsin_conf_error(cf, "starttls", "and tls = yes: "
			    "choose one");
			bad = 1;
		}
		tc->tls = 1;
	}
	tc->verify = tocsin_conf_bool(cf, "tls_verify");
	tc->cert_warn_ms = tocsin_conf_duration_ms(cf, "cert_expiry_warn");
	tc->cert_crit_ms = tocsin_conf_duration_ms(cf, "cert_expiry_crit");
	if (tc->cert_crit_ms > tc->cert_warn_ms) {
		tocsin_conf_error(cf, "cert_expiry_crit", "is longer than "
		    "cert_expiry_warn");
		bad = 1;
	}
	if (!tc->tls) {
		static const char *const tls_only[] = { "server_name",
		    "ca_file", "cert_expiry_warn", "cert_expiry_crit" };
		unsigned i;

		for (i = 0; i < sizeof(tls_only) / sizeof(tls_only[0]); i++)
			if (tocsin_conf_is_set(cf, tls_only[i])) {
				tocsin_conf_error(cf, tls_only[i], "needs tls "
				    "= yes or starttls");
				bad = 1;
			}
	} else {
		if (tc->server_name == NULL && !tc->literal &&
		    (tc->server_name = strdup(tc->host)) == NULL)
			goto fail;
		s = tocsin_conf_str(cf, "ca_file");
		if (s != NULL && access(s, R_OK) != 0) {
			tocsin_conf_error(cf, "ca_file", "\"%s\": %s", s,
			    strerror(errno));
			bad = 1;
		} else if (!bad && (tc->ctx = tcp_ctx_get(cf, s)) == NULL)
			bad = 1;
	}
	tc->warn_ms = tocsin_conf_is_set(cf, "warn_time") ?
	    tocsin_conf_duration_ms(cf, "warn_time") : -1;
	tc->crit_ms = tocsin_conf_is_set(cf, "crit_time") ?
	    tocsin_conf_duration_ms(cf, "crit_time") : -1;
	if (tc->warn_ms >= 0 && tc->crit_ms >= 0 && tc->warn_ms > tc->crit_ms) {
		tocsin_conf_error(cf, "warn_time", "is longer than crit_time");
		bad = 1;
	}
	if (bad)
		goto fail;
	*priv = tc;
	return 0;
fail:
	tcp_free(tc);
	return -1;
}

static void
tcp_free(void *priv)
{
	struct tcp_conf *tc = priv;

	if (tc == NULL)
		return;
	free(tc->host);
	free(tc->send);
	free(tc->expect);
	free(tc->regex_text);
	pcre2_code_free(tc->regex);
	pcre2_match_context_free(tc->mctx);
	free(tc->server_name);
	tcp_ctx_put(tc->ctx);
	free(tc);
}

/* ---- a run ----------------------------------------------------------- */

static void
tcp_run_free(struct tcp_run *tr)
{
	if (tr->dns != NULL)	/* its callback frees the ticket */
		tr->dns->tr = NULL;
	if (tr->dns != NULL && tr->dns->req != NULL)
		evdns_getaddrinfo_cancel(tr->dns->req);
	if (tr->conn_ev != NULL)
		event_free(tr->conn_ev);
	if (tr->timer != NULL)
		event_free(tr->timer);
	if (tr->bev != NULL)
		bufferevent_free(tr->bev);	/* closes fd, frees the SSL */
	else if (tr->fd >= 0)
		evutil_closesocket(tr->fd);
	free(tr);
}

static void
tcp_metric(struct tocsin_run *run, const char *name, double v,
    const char *unit, const char *warn, const char *crit)
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

/* End the run: metrics of the phases reached, then the result. */
static void
tcp_finish(struct tcp_run *tr, enum tocsin_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tcp_finish(struct tcp_run *tr, enum tocsin_state st, const char *fmt, ...)
{
	const struct tcp_conf *tc = tr->tc;
	struct tocsin_run *run = tr->run;
	char sum[1024], w[32], c[32];
	va_list ap;

	if (tr->t_end == 0)
		tr->t_end = mono_ns();
	snprintf(w, sizeof(w), "%g", (double)tc->warn_ms / 1000);
	snprintf(c, sizeof(c), "%g", (double)tc->crit_ms / 1000);
	/* no connection: the time it took to fail is no response time */
	tcp_metric(run, "time_total", tr->t_conn != 0 ? secs(tr->t0,
	    tr->t_end) : NAN, "s", tc->warn_ms >= 0 ? w : NULL,
	    tc->crit_ms >= 0 ? c : NULL);
	if (tr->t_dns != 0)
		tcp_metric(run, "time_dns", secs(tr->t0, tr->t_dns), "s", NULL,
		    NULL);
	if (tr->t_conn != 0)
		tcp_metric(run, "time_connect", secs(tr->t_dns ? tr->t_dns :
		    tr->t0, tr->t_conn), "s", NULL, NULL);
	if (tr->t_tls != 0)
		tcp_metric(run, "time_tls", secs(tr->t_conn, tr->t_tls), "s",
		    NULL, NULL);
	if (tr->t_first != 0)
		tcp_metric(run, "time_first_byte", secs(tr->t_conn,
		    tr->t_first), "s", NULL, NULL);
	if (tr->has_cert) {
		snprintf(w, sizeof(w), "%g:",
		    (double)tc->cert_warn_ms / TCP_DAY_MS);
		snprintf(c, sizeof(c), "%g:",
		    (double)tc->cert_crit_ms / TCP_DAY_MS);
		tcp_metric(run, "cert_days_left", round(tr->cert_left / 864) /
		    100, NULL, w, c);
	}
	va_start(ap, fmt);
	vsnprintf(sum, sizeof(sum), fmt, ap);
	va_end(ap);
	tcp_run_free(tr);
	tocsin_run_set_data(run, NULL);
	tocsin_run_finish(run, st, sum);
}

/* Judge a completed exchange: certificate and time thresholds. */
static void
tcp_success(struct tcp_run *tr, const char *what)
{
	const struct tcp_conf *tc = tr->tc;
	enum tocsin_state st = TOCSIN_OK;
	char sum[768], t[32], extra[160];
	double total, days;
	size_t off;

	tr->t_end = mono_ns();
	total = secs(tr->t0, tr->t_end);
	sum[0] = '\0';
	if (tr->has_cert && tr->cert_left * 1000 < (double)tc->cert_warn_ms) {
		int crit = tr->cert_left * 1000 < (double)tc->cert_crit_ms;

		tcp_fmt_ms(t, sizeof(t), crit ? tc->cert_crit_ms :
		    tc->cert_warn_ms);
		if (tr->cert_left < 0) {
			days = floor(-tr->cert_left / 86400);
			snprintf(sum, sizeof(sum), "certificate expired %.0f "
			    "day%s ago", days, days == 1 ? "" : "s");
		} else {
			days = round(tr->cert_left / 86400);
			snprintf(sum, sizeof(sum), "certificate expires in "
			    "%.0f day%s (%s %s)", days, days == 1 ? "" : "s",
			    crit ? "cert_expiry_crit" : "cert_expiry_warn", t);
		}
		st = crit ? TOCSIN_CRITICAL : TOCSIN_WARNING;
	}
	if ((tc->crit_ms >= 0 && total * 1000 > (double)tc->crit_ms) ||
	    (tc->warn_ms >= 0 && total * 1000 > (double)tc->warn_ms)) {
		int crit = tc->crit_ms >= 0 && total * 1000 >
		    (double)tc->crit_ms;

		tcp_fmt_ms(t, sizeof(t), crit ? tc->crit_ms : tc->warn_ms);
		off = strlen(sum);
		snprintf(sum + off, sizeof(sum) - off, "%sslower than "
		    "threshold: %.3fs > %s %s", off ? "; " : "", total,
		    crit ? "crit_time" : "warn_time", t);
		if (crit)
			st = TOCSIN_CRITICAL;
		else if (st == TOCSIN_OK)
			st = TOCSIN_WARNING;
	}
	if (st != TOCSIN_OK) {
		tcp_finish(tr, st, "%s", sum);
		return;
	}
	extra[0] = '\0';
	if (tr->t_tls != 0) {
		/* "..., STARTTLS smtp + TLSv1.3 in 0.004s" */
		snprintf(extra, sizeof(extra), ", %s%s%s%s in %.3fs",
		    tc->stls != TCP_STLS_NONE ? "STARTTLS " : "",
		    tc->stls != TCP_STLS_NONE ? tcp_stls_name(tc->stls) : "",
		    tc->stls != TCP_STLS_NONE ? " + " : "", tr->tls_version,
		    secs(tr->t_conn, tr->t_tls));
	}
	off = strlen(extra);
	if (tr->has_cert)
		snprintf(extra + off, sizeof(extra) - off, ", certificate "
		    "valid for %.0f days", floor(tr->cert_left / 86400));
	tcp_finish(tr, TOCSIN_OK, "TCP OK: %s port %ld (%s) in %.3fs%s%s%s",
	    tc->host, tc->port, tr->addr, total, extra, what[0] ? ", " : "",
	    what);
}

/* Bytes read so far, as one printable line for a summary. */
static void
tcp_got(struct tcp_run *tr, char *dst, size_t len)
{
	struct evbuffer *in;
	size_t n;

	dst[0] = '\0';
	if (tr->bev == NULL)
		return;
	in = bufferevent_get_input(tr->bev);
	n = evbuffer_get_length(in);
	tcp_printable(dst, len, evbuffer_pullup(in, n > 200 ? 200 : -1),
	    n > 200 ? 200 : n, n > 200 ? 200 : n);
	if (n > 200 && strlen(dst) + 4 < len)
		strcat(dst, "...");
}

/* The deadline: name the phase that was slow. */
static void
tcp_deadline(struct tcp_run *tr)
{
	const struct tcp_conf *tc = tr->tc;
	char t[32], got[300];

	tcp_fmt_ms(t, sizeof(t), tr->limit_ms);
	switch (tr->ph) {
	case PH_DNS:
		tcp_finish(tr, TOCSIN_CRITICAL, "DNS failure: resolving %s "
		    "timed out after %s", tc->host, t);
		return;
	case PH_CONNECT:
		tcp_finish(tr, TOCSIN_CRITICAL, "connect timeout: no "
		    "connection to %s port %ld within %s", tc->host, tc->port,
		    t);
		return;
	case PH_STARTTLS:
		tcp_got(tr, got, sizeof(got));
		tcp_finish(tr, TOCSIN_CRITICAL, "STARTTLS %s timeout: no "
		    "complete answer from %s within %s (got \"%s\")",
		    tcp_stls_name(tc->stls), tc->host, t, got);
		return;
	case PH_TLS:
		tcp_finish(tr, TOCSIN_CRITICAL, "TLS handshake timeout with "
		    "%s port %ld after %s", tc->host, tc->port, t);
		return;
	case PH_EXCHANGE:
		if (tc->expect == NULL && tc->regex == NULL) {
			tcp_finish(tr, TOCSIN_CRITICAL, "send timeout: %s "
			    "port %ld did not take what was sent within %s",
			    tc->host, tc->port, t);
			return;
		}
		if (tr->got == 0) {
			tcp_finish(tr, TOCSIN_CRITICAL, "response timeout: "
			    "connected, no answer within %s", t);
			return;
		}
		tcp_got(tr, got, sizeof(got));
		if (tc->expect != NULL)
			tcp_finish(tr, TOCSIN_CRITICAL, "expect mismatch: no "
			    "\"%.100s\" within %s, got \"%s\"", tc->expect, t,
			    got);
		else
			tcp_finish(tr, TOCSIN_CRITICAL, "expect mismatch: "
			    "/%.100s/ did not match within %s, got \"%s\"",
			    tc->regex_text, t, got);
		return;
	}
}

static void
tcp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_run *tr = arg;

	(void)fd;
	(void)what;
	if (tr->timer_step) {	/* a deferred step, not the deadline */
		struct timeval tv;
		int64_t left = tr->limit_ms - (mono_ns() - tr->t0) / 1000000;

		tr->timer_step = 0;
		if (left < 1)
			left = 1;
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		evtimer_add(tr->timer, &tv);
		if (tr->ph == PH_DNS) {		/* resolved or failed */
			if (tr->dns_err != 0) {
				tcp_finish(tr, TOCSIN_CRITICAL, "DNS failure: "
				    "cannot resolve %s: %s", tr->tc->host,
				    evutil_gai_strerror(tr->dns_err));
				return;
			}
			tr->t_dns = mono_ns();
			tcp_after_connect(tr);	/* begins the connect */
		} else if (tr->ph == PH_TLS)	/* after STARTTLS */
			tcp_after_connect(tr);
		return;
	}
	tcp_deadline(tr);
}

/* Fire the timer now for a step that must not run inside a callback. */
static void
tcp_defer(struct tcp_run *tr)
{
	tr->timer_step = 1;
	event_active(tr->timer, EV_TIMEOUT, 1);
}

/* ---- the exchange ------------------------------------------------------ */

/*
 * Does the input match expect/expect_regex?  RETURN VALUE: 1 yes, 0 not
 * yet, -1 the regex failed (sum filled).
 */
static int
tcp_match(struct tcp_run *tr, const unsigned char *p, size_t n)
{
	const struct tcp_conf *tc = tr->tc;
	pcre2_match_data *md;
	int rc;

	/* nothing read yet (p may be NULL then): memmem wants a buffer */
	if (tc->expect != NULL)
		return n > 0 && memmem(p, n, tc->expect, strlen(tc->expect)) !=
		    NULL;
	if ((md = pcre2_match_data_create_from_pattern(tc->regex, NULL)) ==
	    NULL)
		return -1;
	rc = pcre2_match(tc->regex, (PCRE2_SPTR)(p != NULL ? p :
	    (const unsigned char *)""), n, 0, 0, md, tc->mctx);
	pcre2_match_data_free(md);
	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static void
tcp_mismatch(struct tcp_run *tr, const char *why)
{
	const struct tcp_conf *tc = tr->tc;
	char got[300];

	tcp_got(tr, got, sizeof(got));
	if (tc->expect != NULL)
		tcp_finish(tr, TOCSIN_CRITICAL, "expect mismatch: %s without "
		    "\"%.100s\", got \"%s\"", why, tc->expect, got);
	else
		tcp_finish(tr, TOCSIN_CRITICAL, "expect mismatch: %s without "
		    "a match of /%.100s/, got \"%s\"", why, tc->regex_text,
		    got);
}

/* Exchange phase: new bytes or the end of the stream. */
static void
tcp_exchange_read(struct tcp_run *tr, int eof)
{
	const struct tcp_conf *tc = tr->tc;
	struct evbuffer *in = bufferevent_get_input(tr->bev);
	size_t n = evbuffer_get_length(in);
	char why[64];
	int m;

	if (tc->expect == NULL && tc->regex == NULL) {
		evbuffer_drain(in, n);	/* nobody asked: read and forget */
		return;
	}
	if (n > (size_t)tc->max_read)
		n = (size_t)tc->max_read;
	m = tcp_match(tr, evbuffer_pullup(in, (ev_ssize_t)n), n);
	if (m == 1) {
		tcp_success(tr, "answer matched");
		return;
	}
	if (m < 0) {
		tcp_finish(tr, TOCSIN_UNKNOWN, "expect_regex /%.100s/ could "
		    "not be matched (match limit?)", tc->regex_text);
		return;
	}
	if (n >= (size_t)tc->max_read) {
		snprintf(why, sizeof(why), "%ld bytes (max_read) read",
		    tc->max_read);
		tcp_mismatch(tr, why);
	} else if (eof) {
		snprintf(why, sizeof(why), "connection closed after %zu "
		    "byte%s", tr->got, tr->got == 1 ? "" : "s");
		tcp_mismatch(tr, why);
	}
}

static void
tcp_starttls_read(struct tcp_run *tr)
{
	struct evbuffer *in = bufferevent_get_input(tr->bev);
	size_t n = evbuffer_get_length(in), used = 0, outlen = 0;
	const void *out = NULL;
	char why[256];
	enum tcp_stls_step s;

	s = tcp_stls_feed(&tr->stls, evbuffer_pullup(in, -1), n, &used, &out,
	    &outlen, why, sizeof(why));
	switch (s) {
	case TCP_STLS_MORE:
		return;
	case TCP_STLS_SEND:
		evbuffer_drain(in, used);
		bufferevent_write(tr->bev, out, outlen);
		if (evbuffer_get_length(in) > 0)	/* pipelined? no */
			tcp_finish(tr, TOCSIN_CRITICAL, "STARTTLS %s with %s: "
			    "the server sent more than one answer",
			    tcp_stls_name(tr->tc->stls), tr->tc->host);
		return;
	case TCP_STLS_DONE:
		evbuffer_drain(in, used);
		if (evbuffer_get_length(in) > 0) {
			/* bytes injected before the handshake: RFC 3207 §6 */
			tcp_finish(tr, TOCSIN_CRITICAL, "STARTTLS %s with %s: "
			    "data after the go-ahead, before TLS",
			    tcp_stls_name(tr->tc->stls), tr->tc->host);
			return;
		}
		tr->ph = PH_TLS;
		bufferevent_disable(tr->bev, EV_READ);
		tcp_defer(tr);		/* wrap the bev outside its callback */
		return;
	case TCP_STLS_FAIL:
		tcp_finish(tr, TOCSIN_CRITICAL, "STARTTLS %s with %s failed: %s",
		    tcp_stls_name(tr->tc->stls), tr->tc->host, why);
		return;
	}
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_run *tr = arg;
	size_t n = evbuffer_get_length(bufferevent_get_input(bev));

	if (n > 0 && tr->t_first == 0)
		tr->t_first = mono_ns();
	if (n > tr->got)	/* what the buffer holds: expect keeps it */
		tr->got = n;
	if (tr->ph == PH_STARTTLS)
		tcp_starttls_read(tr);
	else if (tr->ph == PH_EXCHANGE)
		tcp_exchange_read(tr, 0);
}

static void
tcp_write_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_run *tr = arg;
	const struct tcp_conf *tc = tr->tc;

	(void)bev;
	if (tr->ph != PH_EXCHANGE || tc->send == NULL || tr->sent_done)
		return;
	tr->sent_done = 1;
	if (tc->expect == NULL && tc->regex == NULL)
		tcp_success(tr, "sent");
}

/* Why the TLS handshake failed, from OpenSSL's error queue. */
static void
tcp_tls_why(struct tcp_run *tr, char *why, size_t len)
{
	unsigned long e, first = 0;
	SSL *ssl = bufferevent_openssl_get_ssl(tr->bev);
	long vr;

	while ((e = bufferevent_get_openssl_error(tr->bev)) != 0)
		if (first == 0)
			first = e;
	if (first == 0) {
		int err = EVUTIL_SOCKET_ERROR();

		snprintf(why, len, "%s", err != 0 ? strerror(err) :
		    "the connection was closed");
		return;
	}
	if (ssl != NULL && ERR_GET_REASON(first) ==
	    SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(why, len, "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
		return;
	}
	snprintf(why, len, "%s", ERR_reason_error_string(first) != NULL ?
	    ERR_reason_error_string(first) : "unknown error");
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_run *tr = arg;
	const struct tcp_conf *tc = tr->tc;
	char why[256];
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {	/* the TLS handshake */
		SSL *ssl = bufferevent_openssl_get_ssl(tr->bev);
		X509 *cert;

		tr->t_tls = mono_ns();
		if (ssl != NULL) {
			snprintf(tr->tls_version, sizeof(tr->tls_version), "%s",
			    SSL_get_version(ssl));
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
			cert = SSL_get1_peer_certificate(ssl);
#else
			cert = SSL_get_peer_certificate(ssl);
#endif
			if (cert != NULL) {
				int day = 0, sec = 0;

				if (ASN1_TIME_diff(&day, &sec, NULL,
				    X509_get0_notAfter(cert)) == 1) {
					tr->has_cert = 1;
					tr->cert_left = (double)day * 86400 +
					    sec;
				}
				X509_free(cert);
			}
		}
		tcp_exchange(tr);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		switch (tr->ph) {
		case PH_TLS:
			tcp_tls_why(tr, why, sizeof(why));
			tcp_finish(tr, TOCSIN_CRITICAL, "TLS handshake failed "
			    "with %s port %ld: %s", tc->host, tc->port,
			    (what & BEV_EVENT_ERROR) ? why :
			    "the server closed the connection");
			return;
		case PH_STARTTLS:
			tcp_got(tr, why, sizeof(why));
			tcp_finish(tr, TOCSIN_CRITICAL, "STARTTLS %s with %s: "
			    "the server closed the connection (got \"%s\")",
			    tcp_stls_name(tc->stls), tc->host, why);
			return;
		default:
			if (tc->expect != NULL || tc->regex != NULL) {
				tcp_exchange_read(tr, 1);
				return;
			}
			if (tc->send != NULL && !tr->sent_done) {
				tcp_finish(tr, TOCSIN_CRITICAL, "%s port %ld "
				    "closed the connection before taking what "
				    "was sent", tc->host, tc->port);
				return;
			}
			return;		/* finished already */
		}
	}
	if (what & BEV_EVENT_ERROR) {
		if (tr->ph == PH_TLS) {
			tcp_tls_why(tr, why, sizeof(why));
			tcp_finish(tr, TOCSIN_CRITICAL, "TLS handshake failed "
			    "with %s port %ld: %s", tc->host, tc->port, why);
			return;
		}
		if (bufferevent_openssl_get_ssl(tr->bev) != NULL) {
			tcp_tls_why(tr, why, sizeof(why));
			err = 0;
		} else
			snprintf(why, sizeof(why), "%s", strerror(err));
		if (err == ECONNRESET)
			snprintf(why, sizeof(why), "connection reset by peer");
		tcp_finish(tr, TOCSIN_CRITICAL, "connection to %s port %ld "
		    "failed %s: %s", tc->host, tc->port,
		    tr->ph == PH_STARTTLS ? "during STARTTLS" :
		    "while talking", why);
	}
}

/* Connected (and TLS done if any): send, expect, or done. */
static void
tcp_exchange(struct tcp_run *tr)
{
	const struct tcp_conf *tc = tr->tc;

	tr->ph = PH_EXCHANGE;
	bufferevent_setcb(tr->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb,
	    tr);
	if (tc->send == NULL && tc->expect == NULL && tc->regex == NULL) {
		tcp_success(tr, "");
		return;
	}
	bufferevent_enable(tr->bev, EV_READ | EV_WRITE);
	if (tc->send != NULL)
		bufferevent_write(tr->bev, tc->send, strlen(tc->send));
	/* bytes that came with the handshake */
	if (evbuffer_get_length(bufferevent_get_input(tr->bev)) > 0)
		tcp_read_cb(tr->bev, tr);
}

/* Begin TLS on tr->bev (a plain bufferevent, or the connected fd). */
static int
tcp_tls_begin(struct tcp_run *tr)
{
	const struct tcp_conf *tc = tr->tc;
	struct event_base *base = tocsin_event_base();
	struct bufferevent *b;
	SSL *ssl;

	if ((ssl = SSL_new(tc->ctx->ctx)) == NULL)
		return -1;
	if (tc->server_name != NULL)
		SSL_set_tlsext_host_name(ssl, tc->server_name);
	if (tc->verify) {
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		if (tc->server_name != NULL)
			SSL_set1_host(ssl, tc->server_name);
		else
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    tr->addr);
	} else
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	tr->ph = PH_TLS;
	if (tr->bev != NULL)
		b = bufferevent_openssl_filter_new(base, tr->bev, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	else
		b = bufferevent_openssl_socket_new(base, tr->fd, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (b == NULL) {
		SSL_free(ssl);
		return -1;
	}
	tr->bev = b;
	tr->fd = -1;
	bufferevent_openssl_set_allow_dirty_shutdown(b, 1);
	bufferevent_setcb(b, tcp_read_cb, NULL, tcp_event_cb, tr);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	return 0;
}

/* connect() finished, one way or the other. */
static void
tcp_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_run *tr = arg;
	const struct tcp_conf *tc = tr->tc;
	struct event_base *base = tocsin_event_base();
	socklen_t l = sizeof(int);
	const void *out;
	size_t outlen;
	int err = 0;

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) == -1)
		err = errno;
	if (err != 0) {
		if (err == ECONNREFUSED)
			tcp_finish(tr, TOCSIN_CRITICAL, "connection refused by "
			    "%s port %ld", tc->host, tc->port);
		else
			tcp_finish(tr, TOCSIN_CRITICAL, "cannot connect to %s "
			    "port %ld: %s", tc->host, tc->port, strerror(err));
		return;
	}
	tr->t_conn = mono_ns();
	event_free(tr->conn_ev);
	tr->conn_ev = NULL;
	if (tc->tls && tc->stls == TCP_STLS_NONE) {
		if (tcp_tls_begin(tr) == -1)
			tcp_finish(tr, TOCSIN_UNKNOWN, "tcp: cannot start TLS "
			    "(out of memory?)");
		return;
	}
	if ((tr->bev = bufferevent_socket_new(base, tr->fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		tcp_finish(tr, TOCSIN_UNKNOWN, "tcp: out of memory");
		return;
	}
	tr->fd = -1;
	if (tc->stls == TCP_STLS_NONE) {
		tcp_exchange(tr);
		return;
	}
	tr->ph = PH_STARTTLS;
	tr->stls.proto = tc->stls;
	bufferevent_setcb(tr->bev, tcp_read_cb, NULL, tcp_event_cb, tr);
	bufferevent_enable(tr->bev, EV_READ | EV_WRITE);
	if (tcp_stls_begin(&tr->stls, &out, &outlen) == TCP_STLS_SEND)
		bufferevent_write(tr->bev, out, outlen);
}

/* Connect to tr->sa, or go on after STARTTLS (ph == PH_TLS). */
static void
tcp_after_connect(struct tcp_run *tr)
{
	const struct tcp_conf *tc = tr->tc;
	int one = 1;

	if (tr->ph == PH_TLS) {
		if (tcp_tls_begin(tr) == -1)
			tcp_finish(tr, TOCSIN_UNKNOWN, "tcp: cannot start TLS "
			    "(out of memory?)");
		return;
	}
	tr->ph = PH_CONNECT;
	if (tr->sa.ss_family == AF_INET)
		evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)&tr->sa)->
		    sin_addr, tr->addr, sizeof(tr->addr));
	else
		evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&tr->sa)->
		    sin6_addr, tr->addr, sizeof(tr->addr));
	tr->fd = socket(tr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (tr->fd == -1) {
		int err = errno;

		/* tocsind's shortage, not the service's failure */
		if (tocsin_errno_is_local(err)) {
			struct tocsin_run *run = tr->run;

			tcp_run_free(tr);
			tocsin_run_set_data(run, NULL);
			tocsin_run_fail_local(run, err, "making a socket");
			return;
		}
		tcp_finish(tr, TOCSIN_UNKNOWN, "tcp: cannot make a socket: %s",
		    strerror(err));
		return;
	}
	(void)setsockopt(tr->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(tr->fd, (struct sockaddr *)&tr->sa, tr->salen) == -1 &&
	    errno != EINPROGRESS) {
		if (errno == ECONNREFUSED)
			tcp_finish(tr, TOCSIN_CRITICAL, "connection refused by "
			    "%s port %ld", tc->host, tc->port);
		else
			tcp_finish(tr, TOCSIN_CRITICAL, "cannot connect to %s "
			    "port %ld: %s", tc->host, tc->port,
			    strerror(errno));
		return;
	}
	if ((tr->conn_ev = event_new(tocsin_event_base(), tr->fd, EV_WRITE,
	    tcp_conn_cb, tr)) == NULL || event_add(tr->conn_ev, NULL) == -1) {
		tcp_finish(tr, TOCSIN_UNKNOWN, "tcp: out of memory");
		return;
	}
}

/* evdns_getaddrinfo's callback, exactly once per ticket. */
static void
tcp_dns_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct tcp_dns *t = arg;
	struct tcp_run *tr = t->tr;

	LIST_REMOVE(t, link);
	free(t);
	if (tr == NULL) {	/* the run was cancelled */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	tr->dns = NULL;
	if (err == 0 && (res == NULL || res->ai_addrlen > sizeof(tr->sa)))
		err = EVUTIL_EAI_FAIL;
	if (err == 0) {
		memcpy(&tr->sa, res->ai_addr, res->ai_addrlen);
		tr->salen = (socklen_t)res->ai_addrlen;
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	tr->dns_err = err;
	/* never go on inside evdns_getaddrinfo(): through the loop */
	tcp_defer(tr);
}

static void
tcp_start(struct tocsin_run *run, void *priv)
{
	const struct tcp_conf *tc = priv;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	struct tcp_run *tr;
	struct tcp_dns *t;
	struct timeval tv;
	char port[8];
	int64_t to = tocsin_run_timeout_ms(run), margin;

	if ((tr = calloc(1, sizeof(*tr))) == NULL ||
	    (tr->timer = evtimer_new(tocsin_event_base(), tcp_timer_cb,
	    tr)) == NULL) {
		free(tr);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "tcp: out of memory");
		return;
	}
	tr->run = run;
	tr->tc = tc;
	tr->fd = -1;
	tr->t0 = mono_ns();
	/* finish before the core's timeout, to name the slow phase */
	margin = to / 10;
	if (margin < 20)
		margin = 20;
	if (margin > 1000)
		margin = 1000;
	tr->limit_ms = to > 2 * margin ? to - margin : (to > 1 ? to - 1 : 1);
	tv.tv_sec = tr->limit_ms / 1000;
	tv.tv_usec = (tr->limit_ms % 1000) * 1000;
	evtimer_add(tr->timer, &tv);
	tocsin_run_set_data(run, tr);
	if (tc->literal) {
		tr->sa = tc->sa;
		tr->salen = tc->salen;
		tcp_after_connect(tr);
		return;
	}
	tr->ph = PH_DNS;
	if (tcp_dnsb == NULL && (tcp_dnsb = evdns_base_new(tocsin_event_base(),
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL) {
		tr->dns_err = EVUTIL_EAI_FAIL;
		tcp_defer(tr);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		tr->dns_err = EVUTIL_EAI_MEMORY;
		tcp_defer(tr);
		return;
	}
	t->tr = tr;
	tr->dns = t;
	LIST_INSERT_HEAD(&tcp_tickets, t, link);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = tc->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%ld", tc->port);
	req = evdns_getaddrinfo(tcp_dnsb, tc->host, port, &hints, tcp_dns_cb,
	    t);
	/* tcp_dns_cb may have run already (hosts file): then tr->dns NULL */
	if (tr->dns != NULL)
		tr->dns->req = req;
}

static void
tcp_cancel(struct tocsin_run *run, void *priv)
{
	struct tcp_run *tr = tocsin_run_data(run);

	(void)priv;
	if (tr != NULL)
		tcp_run_free(tr);
	tocsin_run_set_data(run, NULL);
}

static const struct tocsin_check_type tcp_type = {
	.name = "tcp",
	.options = tcp_options,
	/* a run holds one socket; 1 024 sockets leave room in 4 096 fds */
	.max_concurrent = 1024,
	.configure = tcp_configure,
	.start = tcp_start,
	.cancel = tcp_cancel,
	.free = tcp_free,
};

static int
tcp_init(void)
{
	OPENSSL_init_ssl(0, NULL);
	return tocsin_register_type(&tcp_type);
}

static void
tcp_fini(void)
{
	struct tcp_dns *t;
	int i;

	if (tcp_dnsb != NULL) {
		/* let the cancelled requests' deferred callbacks run */
		for (i = 0; i < 16 && !LIST_EMPTY(&tcp_tickets); i++)
			event_base_loop(tocsin_event_base(), EVLOOP_NONBLOCK);
		evdns_base_free(tcp_dnsb, 0);
		tcp_dnsb = NULL;
	}
	while ((t = LIST_FIRST(&tcp_tickets)) != NULL) {
		LIST_REMOVE(t, link);
		free(t);
	}
}

TOCSIN_PLUGIN("tcp", tcp_init, tcp_fini);
