/*
 * plugins/dns/dns.c — the "dns" check type: one query with c-ares to a
 * given server (or the system's, from /etc/resolv.conf), judged by rcode,
 * answers (exact set, any of, regex) and a minimum SOA serial.
 *
 * Each check has its own c-ares channel (its server, its flags), made at
 * the first run and kept until the check is freed.  c-ares opens its
 * sockets itself and tells us through the sock_state callback; each one
 * gets an event on the daemon's loop that calls ares_process_fd(), and a
 * timer follows ares_timeout() for retransmissions.  Nothing blocks.
 *
 * c-ares is given the check's timeout less a margin over two tries (UDP
 * retransmits once), so the plugin reports "timeout: no answer from ..."
 * itself before the core would cancel the run.  ARES_FLAG_NOCHECKRESP:
 * a SERVFAIL or REFUSED answer is what we want to see, not a reason for
 * c-ares to try the next server.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ares.h>
#include <event2/event.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <tocsin/plugin.h>

#include "dns_answer.h"

#define DNS_REGEX_LIMIT	100000

static const struct tocsin_option dns_options[] = {
	{ "name", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	  "name to look up (for PTR: an address or an arpa name)" },
	{ "type", TOCSIN_OPT_STR, "A", 0,
	  "A, AAAA, CNAME, MX, NS, TXT, SOA, SRV or PTR" },
	{ "server", TOCSIN_OPT_STR, NULL, 0,
	  "server to ask, ADDRESS or ADDRESS:PORT ([v6]:PORT); "
	  "default: /etc/resolv.conf's" },
	{ "expect", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "the answers must be exactly these (in any order)" },
	{ "expect_any", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "at least one answer must be one of these" },
	{ "expect_regex", TOCSIN_OPT_STR, NULL, 0,
	  "every answer must match this PCRE2 pattern" },
	{ "expect_rcode", TOCSIN_OPT_STR, "NOERROR", 0,
	  "the answer's rcode: NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ..." },
	{ "min_serial", TOCSIN_OPT_INT, NULL, 0,
	  "SOA: CRITICAL when the serial is below this" },
	{ "recurse", TOCSIN_OPT_BOOL, "true", 0,
	  "ask for recursion (RD bit)" },
	{ "tcp", TOCSIN_OPT_BOOL, "false", 0, "ask over TCP instead of UDP" },
	{ "warn_time", TOCSIN_OPT_DURATION, NULL, 0,
	  "WARNING when the answer takes longer" },
	{ "crit_time", TOCSIN_OPT_DURATION, NULL, 0,
	  "CRITICAL when the answer takes longer" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

struct dns_run;

/* An event for one socket c-ares opened. */
struct dns_sock {
	ares_socket_t		 fd;
	struct event		*ev;
	struct dns_conf		*dc;
	LIST_ENTRY(dns_sock)	 link;
};

/* What configure() built; freed by dns_free(). */
struct dns_conf {
	char			*name;		/* as configured */
	char			*qname;		/* what is asked (PTR: arpa) */
	int			 type;
	char			*server;	/* NULL: the system's */
	char			*server_csv;	/* for ares_set_servers_ports_csv */
	char			**expect;
	unsigned		 nexpect;
	char			**expect_any;
	unsigned		 nany;
	char			*regex_text;
	pcre2_code		*regex;
	pcre2_match_context	*mctx;
	int			 rcode;
	int			 has_min_serial;
	unsigned long		 min_serial;
	int			 recurse;
	int			 tcp;
	int64_t			 warn_ms;	/* -1: not set */
	int64_t			 crit_ms;

	/* the channel, from the first run on */
	ares_channel		 ch;
	int			 ch_ok;
	LIST_HEAD(, dns_sock)	 socks;
	struct event		*ares_timer;
	struct dns_run		*cur;		/* the run in flight */
};

struct dns_run {
	struct tocsin_run	*run;
	struct dns_conf		*dc;
	int64_t			 t0;
	int64_t			 limit_ms;
	struct event		*defer;		/* deadline; finish outside
						   c-ares */
	int			 answered;	/* the query's callback ran */
	int			 status;	/* ARES_* of the query */
	unsigned char		*abuf;		/* the reply, owned */
	int			 alen;
};

static void	dns_free(void *);
static void	dns_arm_timer(struct dns_conf *);

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
dns_fmt_ms(char *buf, size_t len, int64_t ms)
{
	if (ms < 1000)
		snprintf(buf, len, "%lldms", (long long)ms);
	else
		snprintf(buf, len, "%gs", (double)ms / 1000);
}

/* ---- configure --------------------------------------------------------- */

/* "ADDR", "ADDR:PORT", "[V6]:PORT", "V6" → csv for c-ares, or -1. */
static int
dns_server_parse(const char *s, char **csv)
{
	char host[INET6_ADDRSTRLEN + 2], *end;
	unsigned char bin[16];
	const char *colon;
	long port = 53;
	size_t n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || (size_t)(rb - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
		if (rb[1] == ':') {
			port = strtol(rb + 2, &end, 10);
			if (*end != '\0' || rb[2] == '\0')
				return -1;
		} else if (rb[1] != '\0')
			return -1;
		if (inet_pton(AF_INET6, host, bin) != 1)
			return -1;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s);
		if (n >= sizeof(host))
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || colon[1] == '\0' ||
		    inet_pton(AF_INET, host, bin) != 1)
			return -1;
	} else {
		if (strlen(s) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%s", s);
		if (inet_pton(AF_INET, host, bin) != 1 &&
		    inet_pton(AF_INET6, host, bin) != 1)
			return -1;
	}
	if (port < 1 || port > 65535)
		return -1;
	if (strchr(host, ':') != NULL)
		return asprintf(csv, "[%s]:%ld", host, port) < 0 ? -2 : 0;
	return asprintf(csv, "%s:%ld", host, port) < 0 ? -2 : 0;
}

static char **
dns_list(struct tocsin_conf *cf, const char *key, unsigned *np)
{
	unsigned i, n = tocsin_conf_list_size(cf, key);
	char **l;

	*np = 0;
	if (n == 0 || (l = calloc(n, sizeof(*l))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((l[i] = strdup(tocsin_conf_list_str(cf, key, i))) == NULL)
			break;
	*np = i;
	return l;
}

static int
dns_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	struct dns_conf *dc;
	const char *s;
	char rev[80];
	int bad = 0, r;

	(void)chk;
	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		return -1;
	LIST_INIT(&dc->socks);
	if ((dc->name = strdup(tocsin_conf_str(cf, "name"))) == NULL)
		goto fail;
	s = tocsin_conf_str(cf, "type");
	if ((dc->type = dns_type_parse(s)) == 0) {
		tocsin_conf_error(cf, "type", "\"%s\" is not A, AAAA, CNAME, "
		    "MX, NS, TXT, SOA, SRV or PTR", s);
		bad = 1;
	}
	if (dc->type == DNS_T_PTR && dns_reverse_name(dc->name, rev,
	    sizeof(rev)) == 0)
		dc->qname = strdup(rev);
	else
		dc->qname = strdup(dc->name);
	if (dc->qname == NULL)
		goto fail;
	if (dc->name[0] == '\0' || strlen(dc->name) > 253) {
		tocsin_conf_error(cf, "name", "\"%s\" is not a DNS name",
		    dc->name);
		bad = 1;
	}
	if ((s = tocsin_conf_str(cf, "server")) != NULL) {
		if ((dc->server = strdup(s)) == NULL)
			goto fail;
		if ((r = dns_server_parse(s, &dc->server_csv)) == -2)
			goto fail;
		if (r == -1) {
			tocsin_conf_error(cf, "server", "\"%s\" is not ADDRESS, "
			    "ADDRESS:PORT or [IPV6]:PORT", s);
			bad = 1;
		}
	}
	dc->expect = dns_list(cf, "expect", &dc->nexpect);
	dc->expect_any = dns_list(cf, "expect_any", &dc->nany);
	if (dc->nexpect != tocsin_conf_list_size(cf, "expect") ||
	    dc->nany != tocsin_conf_list_size(cf, "expect_any"))
		goto fail;
	if ((s = tocsin_conf_str(cf, "expect_regex")) != NULL) {
		PCRE2_UCHAR msg[256];
		PCRE2_SIZE off;
		int err;

		if ((dc->regex_text = strdup(s)) == NULL)
			goto fail;
		dc->regex = pcre2_compile((PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED,
		    0, &err, &off, NULL);
		if (dc->regex == NULL) {
			pcre2_get_error_message(err, msg, sizeof(msg));
			tocsin_conf_error(cf, "expect_regex", "\"%s\": %s at "
			    "offset %zu", s, (char *)msg, (size_t)off);
			bad = 1;
		} else if ((dc->mctx = pcre2_match_context_create(NULL)) ==
		    NULL)
			goto fail;
		else
			pcre2_set_match_limit(dc->mctx, DNS_REGEX_LIMIT);
	}
	s = tocsin_conf_str(cf, "expect_rcode");
	if ((dc->rcode = dns_rcode_parse(s)) < 0) {
		tocsin_conf_error(cf, "expect_rcode", "\"%s\" is not NOERROR, "
		    "FORMERR, SERVFAIL, NXDOMAIN, NOTIMP or REFUSED", s);
		bad = 1;
	}
	if (dc->rcode > 0 && (dc->nexpect || dc->nany || dc->regex_text)) {
		tocsin_conf_error(cf, "expect_rcode", "%s has no answers to "
		    "expect", s);
		bad = 1;
	}
	if ((dc->has_min_serial = tocsin_conf_is_set(cf, "min_serial"))) {
		long v = tocsin_conf_int(cf, "min_serial");

		if (dc->type != DNS_T_SOA) {
			tocsin_conf_error(cf, "min_serial", "needs type = "
			    "\"SOA\"");
			bad = 1;
		}
		if (v < 0 || v > 4294967295L) {
			tocsin_conf_error(cf, "min_serial", "%ld is not "
			    "0..4294967295", v);
			bad = 1;
		}
		dc->min_serial = (unsigned long)v;
	}
	dc->recurse = tocsin_conf_bool(cf, "recurse");
	dc->tcp = tocsin_conf_bool(cf, "tcp");
	dc->warn_ms = tocsin_conf_is_set(cf, "warn_time") ?
	    tocsin_conf_duration_ms(cf, "warn_time") : -1;
	dc->crit_ms = tocsin_conf_is_set(cf, "crit_time") ?
	    tocsin_conf_duration_ms(cf, "crit_time") : -1;
	if (dc->warn_ms >= 0 && dc->crit_ms >= 0 && dc->warn_ms > dc->crit_ms) {
		tocsin_conf_error(cf, "warn_time", "is longer than crit_time");
		bad = 1;
	}
	if (bad)
		goto fail;
	*priv = dc;
	return 0;
fail:
	dns_free(dc);
	return -1;
}

static void
dns_free(void *priv)
{
	struct dns_conf *dc = priv;
	struct dns_sock *s;
	unsigned i;

	if (dc == NULL)
		return;
	dc->cur = NULL;
	if (dc->ch_ok)
		ares_destroy(dc->ch);	/* closes its sockets: sock_state */
	while ((s = LIST_FIRST(&dc->socks)) != NULL) {
		LIST_REMOVE(s, link);
		event_free(s->ev);
		free(s);
	}
	if (dc->ares_timer != NULL)
		event_free(dc->ares_timer);
	free(dc->name);
	free(dc->qname);
	free(dc->server);
	free(dc->server_csv);
	for (i = 0; i < dc->nexpect; i++)
		free(dc->expect[i]);
	free(dc->expect);
	for (i = 0; i < dc->nany; i++)
		free(dc->expect_any[i]);
	free(dc->expect_any);
	free(dc->regex_text);
	pcre2_code_free(dc->regex);
	pcre2_match_context_free(dc->mctx);
	free(dc);
}

/* ---- c-ares on the loop -------------------------------------------- */

static void
dns_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_sock *s = arg;
	struct dns_conf *dc = s->dc;

	ares_process_fd(dc->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_arm_timer(dc);	/* dc outlives this: freed only by the core */
}

static void
dns_ares_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_conf *dc = arg;

	(void)fd;
	(void)what;
	ares_process_fd(dc->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_arm_timer(dc);
}

/* Keep a timer for c-ares's next retransmission or timeout. */
static void
dns_arm_timer(struct dns_conf *dc)
{
	struct timeval tv, *t;

	if (!dc->ch_ok || dc->ares_timer == NULL)
		return;
	if ((t = ares_timeout(dc->ch, NULL, &tv)) == NULL) {
		evtimer_del(dc->ares_timer);
		return;
	}
	evtimer_add(dc->ares_timer, t);
}

/* ares_sock_state_cb: c-ares wants fd watched for read and/or write. */
static void
dns_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_conf *dc = data;
	struct dns_sock *s;

	LIST_FOREACH(s, &dc->socks, link)
		if (s->fd == fd)
			break;
	if (s != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!readable && !writable) {
		if (s != NULL) {
			LIST_REMOVE(s, link);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;	/* the query times out; logged below */
		s->fd = fd;
		s->dc = dc;
		LIST_INSERT_HEAD(&dc->socks, s, link);
	}
	s->ev = event_new(tocsin_event_base(), fd, EV_PERSIST |
	    (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0), dns_sock_cb,
	    s);
	if (s->ev == NULL || event_add(s->ev, NULL) == -1)
		tocsin_log(TOCSIN_LOG_WARNING, "dns: cannot watch a socket of "
		    "c-ares");
}

/* Make dc's channel.  RETURN VALUE: 0, or -1 with why filled. */
static int
dns_channel(struct dns_conf *dc, int64_t limit_ms, char *why, size_t len)
{
	struct ares_options o;
	int rc, mask;

	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOCHECKRESP | (dc->recurse ? 0 :
	    ARES_FLAG_NORECURSE) | (dc->tcp ? ARES_FLAG_USEVC : 0);
	/* c-ares doubles the timeout for the second try: 1/3 + 2/3 */
	o.timeout = (int)(limit_ms / 3 > 0 ? limit_ms / 3 : 1);
	o.tries = 2;
	o.sock_state_cb = dns_sock_state_cb;
	o.sock_state_cb_data = dc;
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_SOCK_STATE_CB;
	if ((rc = ares_init_options(&dc->ch, &o, mask)) != ARES_SUCCESS) {
		snprintf(why, len, "cannot set up c-ares: %s",
		    ares_strerror(rc));
		return -1;
	}
	if (dc->server_csv != NULL && (rc = ares_set_servers_ports_csv(dc->ch,
	    dc->server_csv)) != ARES_SUCCESS) {
		ares_destroy(dc->ch);
		snprintf(why, len, "cannot use server %s: %s", dc->server,
		    ares_strerror(rc));
		return -1;
	}
	if ((dc->ares_timer = evtimer_new(tocsin_event_base(),
	    dns_ares_timer_cb, dc)) == NULL) {
		ares_destroy(dc->ch);
		snprintf(why, len, "out of memory");
		return -1;
	}
	dc->ch_ok = 1;
	return 0;
}

/* ---- a run ----------------------------------------------------------- */

static void
dns_run_free(struct dns_run *dr)
{
	if (dr->dc->cur == dr)
		dr->dc->cur = NULL;
	if (dr->defer != NULL)
		event_free(dr->defer);
	free(dr->abuf);
	free(dr);
}

static void
dns_metric(struct tocsin_run *run, const char *name, double v,
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

static int
in_list(char **l, unsigned n, const char *s)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (strcasecmp(l[i], s) == 0)
			return 1;
	return 0;
}

/* "a, b, c" of up to len bytes. */
static void
join(char *buf, size_t len, char **l, unsigned n, unsigned more)
{
	size_t off = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < n && off + 8 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? ", " : "", l[i]);
	if (off >= len)
		off = len - 1;
	if (more > 0 && off + 24 < len)
		snprintf(buf + off, len - off, " (+%u more)", more);
}

/*
 * Judge the answers against expect, expect_any and expect_regex.
 * RETURN VALUE: 0 when they pass, else -1 with the cause in sum.
 */
static int
dns_judge_answers(struct dns_conf *dc, struct dns_answer *a, char *sum,
    size_t len)
{
	char got[600], want[400];
	unsigned i;

	join(got, sizeof(got), a->items, a->n, a->more);
	if (dc->nexpect > 0) {
		int ok = a->more == 0 && a->n > 0;

		for (i = 0; ok && i < a->n; i++)
			ok = in_list(dc->expect, dc->nexpect, a->items[i]);
		for (i = 0; ok && i < dc->nexpect; i++)
			ok = in_list(a->items, a->n, dc->expect[i]);
		if (!ok) {
			join(want, sizeof(want), dc->expect, dc->nexpect, 0);
			snprintf(sum, len, "wrong answer for %s %s: got \"%s\", "
			    "expected \"%s\"", dc->name,
			    dns_type_name(dc->type), got, want);
			return -1;
		}
	}
	if (dc->nany > 0) {
		int ok = 0;

		for (i = 0; !ok && i < a->n; i++)
			ok = in_list(dc->expect_any, dc->nany, a->items[i]);
		if (!ok) {
			join(want, sizeof(want), dc->expect_any, dc->nany, 0);
			snprintf(sum, len, "wrong answer for %s %s: got \"%s\", "
			    "expected one of \"%s\"", dc->name,
			    dns_type_name(dc->type), got, want);
			return -1;
		}
	}
	if (dc->regex != NULL) {
		pcre2_match_data *md;
		int rc = PCRE2_ERROR_NOMATCH;

		if ((md = pcre2_match_data_create_from_pattern(dc->regex,
		    NULL)) == NULL) {
			snprintf(sum, len, "dns: out of memory");
			return -1;
		}
		for (i = 0; i < a->n; i++) {
			rc = pcre2_match(dc->regex, (PCRE2_SPTR)a->items[i],
			    strlen(a->items[i]), 0, 0, md, dc->mctx);
			if (rc < 0)
				break;
		}
		pcre2_match_data_free(md);
		if (a->n == 0 || rc < 0) {
			snprintf(sum, len, "wrong answer for %s %s: \"%s\" does "
			    "not match /%.100s/", dc->name,
			    dns_type_name(dc->type), i < a->n ? a->items[i] :
			    "", dc->regex_text);
			return -1;
		}
	}
	return 0;
}

static void
dns_done(struct dns_run *dr)
{
	struct dns_conf *dc = dr->dc;
	struct tocsin_run *run = dr->run;
	enum tocsin_state st = TOCSIN_CRITICAL;
	struct dns_answer a;
	char sum[1200], why[200], t[32], w[32], c[32], got[600];
	const char *srv = dc->server != NULL ? dc->server : "the system's "
	    "resolver";
	double secs = (double)(mono_ns() - dr->t0) / 1e9;

	memset(&a, 0, sizeof(a));
	dns_fmt_ms(t, sizeof(t), dr->limit_ms);
	switch (dr->status) {
	case ARES_SUCCESS:
		break;
	case ARES_ETIMEOUT:
		snprintf(sum, sizeof(sum), "timeout: no answer from %s for %s "
		    "%s within %s", srv, dc->name, dns_type_name(dc->type), t);
		goto out;
	case ARES_ECONNREFUSED:
		snprintf(sum, sizeof(sum), "%s refused the connection (%s %s)",
		    srv, dc->name, dns_type_name(dc->type));
		goto out;
	default:
		snprintf(sum, sizeof(sum), "query %s %s to %s failed: %s",
		    dc->name, dns_type_name(dc->type), srv,
		    ares_strerror(dr->status));
		goto out;
	}

	snprintf(w, sizeof(w), "%g", (double)dc->warn_ms / 1000);
	snprintf(c, sizeof(c), "%g", (double)dc->crit_ms / 1000);
	dns_metric(run, "time", secs, "s", dc->warn_ms >= 0 ? w : NULL,
	    dc->crit_ms >= 0 ? c : NULL);
	if (dns_answer_parse(dc->type, dr->abuf, dr->alen, &a, why,
	    sizeof(why)) == -1) {
		snprintf(sum, sizeof(sum), "malformed answer from %s for %s "
		    "%s: %s", srv, dc->name, dns_type_name(dc->type), why);
		goto out;
	}
	dns_metric(run, "answers", (double)(a.n + a.more), NULL, NULL, NULL);
	if (a.rcode != dc->rcode) {
		if (a.rcode == 3)
			snprintf(sum, sizeof(sum), "NXDOMAIN: %s does not exist "
			    "(%s)", dc->name, srv);
		else if (a.rcode == 2)
			snprintf(sum, sizeof(sum), "SERVFAIL from %s for %s %s",
			    srv, dc->name, dns_type_name(dc->type));
		else
			snprintf(sum, sizeof(sum), "%s from %s for %s %s "
			    "(expected %s)", dns_rcode_name(a.rcode), srv,
			    dc->name, dns_type_name(dc->type),
			    dns_rcode_name(dc->rcode));
		goto out;
	}
	if (dc->rcode != 0) {
		st = TOCSIN_OK;
		snprintf(sum, sizeof(sum), "DNS OK: %s %s is %s as expected in "
		    "%.3fs (%s)", dc->name, dns_type_name(dc->type),
		    dns_rcode_name(a.rcode), secs, srv);
		goto out;
	}
	if (a.n == 0) {
		snprintf(sum, sizeof(sum), "no %s record for %s (NOERROR, no "
		    "answer%s) from %s", dns_type_name(dc->type), dc->name,
		    a.tc ? ", truncated" : "", srv);
		goto out;
	}
	if (a.has_soa)
		dns_metric(run, "serial", (double)a.serial, NULL, NULL, NULL);
	if (dns_judge_answers(dc, &a, sum, sizeof(sum)) == -1)
		goto out;
	if (dc->has_min_serial && a.has_soa && a.serial < dc->min_serial) {
		snprintf(sum, sizeof(sum), "SOA serial %lu of %s is below "
		    "min_serial %lu (%s)", a.serial, dc->name, dc->min_serial,
		    srv);
		goto out;
	}
	join(got, sizeof(got), a.items, a.n, a.more);
	st = TOCSIN_OK;
	if ((dc->crit_ms >= 0 && secs * 1000 > (double)dc->crit_ms) ||
	    (dc->warn_ms >= 0 && secs * 1000 > (double)dc->warn_ms)) {
		int crit = dc->crit_ms >= 0 && secs * 1000 >
		    (double)dc->crit_ms;

		dns_fmt_ms(t, sizeof(t), crit ? dc->crit_ms : dc->warn_ms);
		st = crit ? TOCSIN_CRITICAL : TOCSIN_WARNING;
		snprintf(sum, sizeof(sum), "answer slower than threshold: "
		    "%.3fs > %s %s", secs, crit ? "crit_time" : "warn_time", t);
		goto out;
	}
	snprintf(sum, sizeof(sum), "DNS OK: %s %s = %s in %.3fs (%s)",
	    dc->name, dns_type_name(dc->type), got, secs, srv);
out:
	dns_answer_clear(&a);
	dns_run_free(dr);
	tocsin_run_set_data(run, NULL);
	tocsin_run_finish(run, st, sum);
}

/* The query's end (made active by dns_query_cb) or our deadline. */
static void
dns_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_run *dr = arg;
	struct dns_conf *dc = dr->dc;

	(void)fd;
	(void)what;
	if (!dr->answered) {
		/* c-ares's own tries did not end in time: stop them */
		dc->cur = NULL;
		ares_cancel(dc->ch);
		dns_arm_timer(dc);
		dr->status = ARES_ETIMEOUT;
	}
	dns_done(dr);
}

/* ares_callback: once per query (also when cancelled or destroyed). */
static void
dns_query_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_conf *dc = arg;
	struct dns_run *dr = dc->cur;

	(void)timeouts;
	if (dr == NULL || status == ARES_ECANCELLED ||
	    status == ARES_EDESTRUCTION)
		return;		/* the run is gone */
	dc->cur = NULL;
	dr->answered = 1;
	dr->status = status;
	if (status == ARES_SUCCESS && abuf != NULL && alen > 0) {
		if ((dr->abuf = malloc((size_t)alen)) == NULL)
			dr->status = ARES_ENOMEM;
		else {
			memcpy(dr->abuf, abuf, (size_t)alen);
			dr->alen = alen;
		}
	}
	/* never finish inside c-ares (it may still use the channel) */
	event_active(dr->defer, EV_TIMEOUT, 1);
}

static void
dns_start(struct tocsin_run *run, void *priv)
{
	struct dns_conf *dc = priv;
	struct dns_run *dr;
	unsigned char *q = NULL;
	struct timeval tv;
	char why[200];
	int qlen, rc;
	int64_t to = tocsin_run_timeout_ms(run), margin;

	if ((dr = calloc(1, sizeof(*dr))) == NULL ||
	    (dr->defer = evtimer_new(tocsin_event_base(), dns_defer_cb,
	    dr)) == NULL) {
		free(dr);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "dns: out of memory");
		return;
	}
	dr->run = run;
	dr->dc = dc;
	dr->t0 = mono_ns();
	margin = to / 10 < 20 ? 20 : (to / 10 > 1000 ? 1000 : to / 10);
	dr->limit_ms = to > 2 * margin ? to - margin : (to > 1 ? to - 1 : 1);
	if (!dc->ch_ok && dns_channel(dc, dr->limit_ms, why, sizeof(why)) ==
	    -1) {
		dns_run_free(dr);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, why);
		return;
	}
	rc = ares_create_query(dc->qname, 1 /* IN */, dc->type, 0,
	    dc->recurse, &q, &qlen, 0);
	if (rc != ARES_SUCCESS) {
		dns_run_free(dr);
		snprintf(why, sizeof(why), "dns: cannot ask for \"%s\": %s",
		    dc->qname, ares_strerror(rc));
		tocsin_run_finish(run, TOCSIN_UNKNOWN, why);
		return;
	}
	tocsin_run_set_data(run, dr);
	dc->cur = dr;
	tv.tv_sec = dr->limit_ms / 1000;
	tv.tv_usec = (dr->limit_ms % 1000) * 1000;
	evtimer_add(dr->defer, &tv);
	ares_send(dc->ch, q, qlen, dns_query_cb, dc);
	ares_free_string(q);
	dns_arm_timer(dc);
}

static void
dns_cancel(struct tocsin_run *run, void *priv)
{
	struct dns_conf *dc = priv;
	struct dns_run *dr = tocsin_run_data(run);

	if (dr == NULL)
		return;
	dc->cur = NULL;		/* the callback of ares_cancel is ignored */
	if (dc->ch_ok)
		ares_cancel(dc->ch);
	dns_run_free(dr);
	tocsin_run_set_data(run, NULL);
	dns_arm_timer(dc);
}

static const struct tocsin_check_type dns_type = {
	.name = "dns",
	.options = dns_options,
	.configure = dns_configure,
	.start = dns_start,
	.cancel = dns_cancel,
	.free = dns_free,
};

static int
dns_init(void)
{
	int rc;

	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		tocsin_log(TOCSIN_LOG_ERR, "dns: ares_library_init: %s",
		    ares_strerror(rc));
		return -1;
	}
	return tocsin_register_type(&dns_type);
}

static void
dns_fini(void)
{
	ares_library_cleanup();
}

TOCSIN_PLUGIN("dns", dns_init, dns_fini);
