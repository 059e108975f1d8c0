/*
 * plugins/snmp/snmp.c — the "snmp" check type: polls an agent with
 * net-snmp's single-session asynchronous API on the daemon's loop.
 *
 * Runs share sessions: one per agent (peer, credentials, timing), kept
 * open across runs and checks (struct snmp_agent), so a run is requests,
 * not a socket opened and closed.  A request goes out with
 * snmp_sess_async_send(); the session's socket is watched with a
 * libevent read event and its retransmission deadline
 * (snmp_sess_select_info2()) with a libevent timer, and readiness goes
 * back to net-snmp with snmp_sess_read2() / snmp_sess_timeout().  The blocking helpers
 * (snmp_synch_response, the v3 engineID probe inside snmp_sess_open) are
 * never used: sessions open with SNMP_FLAGS_DONT_PROBE and the probe is
 * one more asynchronous request.
 *
 * A run is a short chain of requests:
 *   PROBE  (v3, engineID not known yet) → GET sysUpTime.0 + the "oids"
 *   → WALK ifTable/ifXTable columns with GETBULK (GETNEXT on v1) while
 *   "interfaces" is set.
 * net-snmp calls job_cb() from inside snmp_sess_read2()/timeout(); the
 * callback only records what happened, and job_advance() acts on it once
 * the library has returned, because closing a session from inside its own
 * callback is not allowed.
 *
 * A name in "address" is resolved at each run with libevent's evdns on the
 * same loop (net-snmp would call the blocking getaddrinfo()).
 *
 * Counters become per-second rates against the previous run's sample,
 * kept in the check's private state: Counter32 wraps are unwrapped, a
 * Counter64 going back or sysUpTime going back (agent restart) is a reset
 * that yields no rate for that run instead of a spike.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dlfcn.h>
#include <math.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <tocsin/plugin.h>

#include "snmp_int.h"

#define SNMP_OIDS_MAX		64	/* one GET PDU */
#define MERGE_VARS		40	/* varbinds of a merged GET, at most */
#define SNMP_ENGINE_MAX		32	/* RFC 3411: engineID is 5..32 bytes */
#define SNMP_SUMMARY_MAX	1024

static const struct tocsin_option snmp_options[] = {
	{ "address", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	  "agent as HOST[:port], [IPv6]:port, udp:HOST:port or "
	  "udp6:[IPv6]:port (port 161 by default)" },
	{ "version", TOCSIN_OPT_STR, "2c", 0, "SNMP version: 1, 2c or 3" },
	{ "community", TOCSIN_OPT_STR, "public", 0, "community (v1, v2c)" },
	{ "username", TOCSIN_OPT_STR, NULL, 0, "USM user name (v3)" },
	{ "auth_protocol", TOCSIN_OPT_STR, "SHA", 0,
	  "v3 authentication: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512" },
	{ "auth_password", TOCSIN_OPT_STR, NULL, 0,
	  "v3 authentication pass phrase (8 characters or more); set: authNoPriv" },
	{ "priv_protocol", TOCSIN_OPT_STR, "AES", 0, "v3 privacy: AES or DES" },
	{ "priv_password", TOCSIN_OPT_STR, NULL, 0,
	  "v3 privacy pass phrase (8 characters or more); set: authPriv" },
	{ "context", TOCSIN_OPT_STR, "", 0, "v3 context name" },
	{ "retries", TOCSIN_OPT_INT, "2", 0,
	  "retransmissions per request (0..10); each try waits "
	  "timeout / (retries + 1)" },
	{ "oids", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "\"name=OID\" values to GET; OID numeric or a symbolic name" },
	{ "interfaces", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "\"all\" or interface names (ifName or ifDescr) to watch" },
	{ "warn", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "\"metric=RANGE\" WARNING thresholds (Nagios ranges)" },
	{ "crit", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "\"metric=RANGE\" CRITICAL thresholds (Nagios ranges)" },
	{ "max_repetitions", TOCSIN_OPT_INT, "10", 0,
	  "rows per GETBULK of the interface walk (1..100)" },
	{ "combine_requests", TOCSIN_OPT_BOOL, "true", 0,
	  "v1/v2c: the GETs of checks of this agent that are due together "
	  "go in one request (false: one request per check)" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

/* Metric names an "interfaces" check produces, after "IFNAME.". */
static const char *const if_metrics[] = {
	"up", "in_bps", "out_bps", "in_util", "out_util", "in_errors",
	"out_errors", "in_discards", "out_discards", NULL,
};

struct snmp_item {
	char *name;
	char *text;			/* the OID as written */
	oid o[MAX_OID_LEN];
	size_t len;
};

struct snmp_thresh {
	char *metric;
	char *range;
	struct tocsin_range r;
	int crit;
};

/* A counter's value at the previous run. */
struct snmp_prev {
	char key[48];
	uint64_t value;
	unsigned gen;
};

struct snmp_job;
struct snmp_agent;
static void agent_unref(struct snmp_agent *);

struct snmp_check {
	char *name;			/* the check's, for logs */
	char *peer;			/* net-snmp peername; NULL: resolve */
	char *where;			/* "127.0.0.1:161" for summaries */
	char *host;			/* a name to resolve at each run */
	unsigned port;
	int family;			/* AF_INET, or AF_INET6 for udp6: */
	long version;
	char *community;
	char *user;
	char *context;
	int sec_level;
	const oid *auth_proto;
	size_t auth_proto_len;
	const oid *priv_proto;
	size_t priv_proto_len;
	u_char auth_ku[USM_AUTH_KU_LEN];
	size_t auth_ku_len;
	u_char priv_ku[USM_PRIV_KU_LEN];
	size_t priv_ku_len;
	int retries;
	long try_us;
	int max_rep;
	int combine;			/* combine_requests */
	struct snmp_item *items;
	unsigned nitems;
	int if_all;
	char **if_names;
	unsigned nif_names;
	struct snmp_thresh *th;
	unsigned nth;

	/* kept from run to run */
	u_char engine[SNMP_ENGINE_MAX];
	size_t engine_len;
	struct snmp_prev *prev;
	unsigned nprev;
	unsigned gen;
	int have_prev;			/* prev_ms and prev_uptime are set */
	int64_t prev_ms;
	double prev_uptime;
	struct snmp_job *job;		/* the run in flight */
	struct snmp_agent *agent;	/* the session its runs use (a ref) */
};

static struct evdns_base *snmp_dns;	/* made on first need, on the loop */
static int snmp_debug;			/* TOCSIN_SNMP_DEBUG is set */

enum job_phase { PH_PROBE, PH_GET, PH_WALK };
enum job_step { ST_WAIT, ST_NEXT, ST_DONE, ST_FAIL };

struct snmp_job {
	struct tocsin_run *run;
	struct snmp_check *c;		/* NULL once orphaned */
	struct snmp_agent *a;		/* attached to (a ref), or NULL */
	TAILQ_ENTRY(snmp_job) link;	/* a->jobs */
	TAILQ_ENTRY(snmp_job) rlink;	/* a->ready, while ready */
	int ready;			/* its callback moved it on */
	int orphan;			/* cancelled, its request pending */
	enum job_phase phase;
	enum job_step step;
	struct evdns_getaddrinfo_request *dns_req;
	char peer[128];			/* the resolved peername */
	int probed;			/* engineID just learnt */
	enum tocsin_state fail_state;
	char fail[512];
	struct snmp_value uptime;
	struct snmp_value *vals;	/* one per item */
	struct snmp_walk walk;
	TAILQ_ENTRY(snmp_job) glink;	/* a->gets, while queued */
	int queued;			/* its GET waits for agent_flush() */
	int solo;			/* its GET goes alone, not merged */
};

/*
 * A GET PDU carrying the GETs of several jobs of one agent (see
 * agent_flush()): sysUpTime.0 once, then each job's items from pos[k].
 */
struct snmp_batch {
	unsigned n;
	struct snmp_job *jobs[MERGE_VARS];
	unsigned pos[MERGE_VARS];
};

/* ---- small helpers ------------------------------------------------ */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
job_failf(struct snmp_job *j, enum tocsin_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
job_failf(struct snmp_job *j, enum tocsin_state st, const char *fmt, ...)
{
	va_list ap;

	if (j->step == ST_FAIL)
		return;		/* the first reason wins */
	va_start(ap, fmt);
	vsnprintf(j->fail, sizeof(j->fail), fmt, ap);
	va_end(ap);
	j->fail_state = st;
	j->step = ST_FAIL;
}

/* Appends printf text to buf (size bytes), cutting when full. */
static void
appendf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
appendf(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* ---- configure ---------------------------------------------------- */

/*
 * "IP", "IP:port", "[IPv6]:port", with an optional "udp:"/"udp6:".  Only
 * literal addresses: net-snmp resolves names with a blocking call.
 * Returns 0 and sets c->peer and c->where, or -1.
 */
static int
parse_address(struct snmp_check *c, const char *text, char *err,
    size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1], buf[128];
	const char *s = text, *port = NULL, *close;
	unsigned char sa[sizeof(struct in6_addr)];
	unsigned long p = 161;
	char *end;
	size_t hl;
	int v6;

	if (strncmp(s, "udp6:", 5) == 0)
		s += 5;
	else if (strncmp(s, "udp:", 4) == 0)
		s += 4;
	if (*s == '[') {
		if ((close = strchr(s, ']')) == NULL)
			goto bad;
		hl = (size_t)(close - s - 1);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			goto bad;
	} else if (strchr(s, ':') != NULL && strchr(s, ':') != strrchr(s,
	    ':')) {
		if (strlen(s) >= sizeof(host))	/* bare IPv6, no port */
			goto bad;
		strcpy(host, s);
	} else {
		hl = strcspn(s, ":");
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (s[hl] == ':')
			port = s + hl + 1;
	}
	if (port != NULL) {
		p = strtoul(port, &end, 10);
		if (!isdigit((unsigned char)*port) || *end != '\0' || p == 0 ||
		    p > 65535) {
			snprintf(err, errlen, "\"%s\": bad port", text);
			return -1;
		}
	}
	if (inet_pton(AF_INET, host, sa) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, host, sa) == 1)
		v6 = 1;
	else if (*host != '\0' && *host != '-' &&
	    host[strspn(host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")] == '\0') {
		/* a name: resolved at each run, without blocking */
		c->host = strdup(host);
		c->port = (unsigned)p;
		c->family = strncmp(text, "udp6:", 5) == 0 ? AF_INET6 : AF_INET;
		snprintf(buf, sizeof(buf), "%s:%lu", host, p);
		c->where = strdup(buf);
		return c->host && c->where ? 0 : -1;
	} else {
		snprintf(err, errlen, "\"%s\": \"%s\" is not an IP address "
		    "or a host name", text, host);
		return -1;
	}
	snprintf(buf, sizeof(buf), v6 ? "udp6:[%s]:%lu" : "udp:%s:%lu",
	    host, p);
	c->peer = strdup(buf);
	snprintf(buf, sizeof(buf), v6 ? "[%s]:%lu" : "%s:%lu", host, p);
	c->where = strdup(buf);
	return c->peer && c->where ? 0 : -1;
bad:
	snprintf(err, errlen, "\"%s\" is not IP[:port] or [IPv6]:port", text);
	return -1;
}

static int
parse_auth(struct snmp_check *c, const char *s)
{
	static const struct {
		const char *name;
		const oid *o;
		size_t len;
	} t[] = {
		{ "MD5", usmHMACMD5AuthProtocol, OID_LENGTH(usmHMACMD5AuthProtocol) },
		{ "SHA", usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol) },
		{ "SHA1", usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol) },
		{ "SHA-224", usmHMAC128SHA224AuthProtocol, OID_LENGTH(usmHMAC128SHA224AuthProtocol) },
		{ "SHA-256", usmHMAC192SHA256AuthProtocol, OID_LENGTH(usmHMAC192SHA256AuthProtocol) },
		{ "SHA-384", usmHMAC256SHA384AuthProtocol, OID_LENGTH(usmHMAC256SHA384AuthProtocol) },
		{ "SHA-512", usmHMAC384SHA512AuthProtocol, OID_LENGTH(usmHMAC384SHA512AuthProtocol) },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(s, t[i].name) == 0) {
			c->auth_proto = t[i].o;
			c->auth_proto_len = t[i].len;
			return 0;
		}
	return -1;
}

static int
parse_priv(struct snmp_check *c, const char *s)
{
	if (strcasecmp(s, "AES") == 0 || strcasecmp(s, "AES-128") == 0) {
		c->priv_proto = usmAESPrivProtocol;
		c->priv_proto_len = OID_LENGTH(usmAESPrivProtocol);
		return 0;
	}
	if (strcasecmp(s, "DES") == 0) {
		c->priv_proto = usmDESPrivProtocol;
		c->priv_proto_len = OID_LENGTH(usmDESPrivProtocol);
		return 0;
	}
	return -1;
}

/* Is name a metric this check can produce (for thresholds)? */
static int
metric_known(const struct snmp_check *c, const char *name)
{
	const char *dot;
	unsigned i;

	for (i = 0; i < c->nitems; i++)
		if (strcmp(c->items[i].name, name) == 0)
			return 1;
	if (!c->if_all && c->nif_names == 0)
		return 0;
	dot = strrchr(name, '.');
	for (i = 0; if_metrics[i] != NULL; i++)
		if (strcmp(dot ? dot + 1 : name, if_metrics[i]) == 0)
			return 1;
	return 0;
}

static int
parse_thresholds(struct snmp_check *c, struct tocsin_conf *cf,
    const char *key, int crit)
{
	unsigned i, n = tocsin_conf_list_size(cf, key);
	const char *s, *eq;
	struct snmp_thresh *t;
	int bad = 0;

	for (i = 0; i < n; i++) {
		s = tocsin_conf_list_str(cf, key, i);
		if ((eq = strchr(s, '=')) == NULL || eq == s) {
			tocsin_conf_error(cf, key, "\"%s\" is not metric=RANGE",
			    s);
			bad = 1;
			continue;
		}
		t = &c->th[c->nth];
		t->crit = crit;
		t->metric = strndup(s, (size_t)(eq - s));
		t->range = strdup(eq + 1);
		if (t->metric == NULL || t->range == NULL) {
			free(t->metric);
			free(t->range);
			return -1;
		}
		c->nth++;
		if (tocsin_range_parse(t->range, &t->r) < 0) {
			tocsin_conf_error(cf, key, "\"%s\": \"%s\" is not a "
			    "range (N, N:, ~:N, N:M, @N:M)", s, t->range);
			bad = 1;
		} else if (!metric_known(c, t->metric)) {
			tocsin_conf_error(cf, key, "\"%s\": no metric \"%s\" "
			    "(an oids name or an interface metric: up, in_bps, "
			    "out_bps, in_util, out_util, in_errors, out_errors, "
			    "in_discards, out_discards)", s, t->metric);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static void
snmp_free(void *priv)
{
	struct snmp_check *c = priv;
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nitems; i++) {
		free(c->items[i].name);
		free(c->items[i].text);
	}
	for (i = 0; i < c->nif_names; i++)
		free(c->if_names[i]);
	for (i = 0; i < c->nth; i++) {
		free(c->th[i].metric);
		free(c->th[i].range);
	}
	if (c->agent != NULL)
		agent_unref(c->agent);
	free(c->items);
	free(c->if_names);
	free(c->th);
	free(c->prev);
	free(c->name);
	free(c->peer);
	free(c->where);
	free(c->host);
	free(c->community);
	free(c->user);
	free(c->context);
	free(c);
}

static int
configure_v3(struct snmp_check *c, struct tocsin_conf *cf)
{
	const char *user = tocsin_conf_str(cf, "username");
	const char *ap = tocsin_conf_str(cf, "auth_password");
	const char *pp = tocsin_conf_str(cf, "priv_password");
	int bad = 0;

	if (user == NULL || *user == '\0') {
		tocsin_conf_error(cf, "username", "version 3 needs a username");
		return -1;
	}
	if ((c->user = strdup(user)) == NULL)
		return -1;
	if (parse_auth(c, tocsin_conf_str(cf, "auth_protocol")) < 0) {
		tocsin_conf_error(cf, "auth_protocol", "\"%s\" is not MD5, SHA, "
		    "SHA-224, SHA-256, SHA-384 or SHA-512",
		    tocsin_conf_str(cf, "auth_protocol"));
		bad = 1;
	}
	if (parse_priv(c, tocsin_conf_str(cf, "priv_protocol")) < 0) {
		tocsin_conf_error(cf, "priv_protocol", "\"%s\" is not AES or "
		    "DES", tocsin_conf_str(cf, "priv_protocol"));
		bad = 1;
	}
	if (bad)
		return -1;
	c->sec_level = SNMP_SEC_LEVEL_NOAUTH;
	if (ap != NULL) {
		if (strlen(ap) < 8) {
			tocsin_conf_error(cf, "auth_password", "must have 8 "
			    "characters or more (RFC 3414)");
			return -1;
		}
		/*
		 * The master keys (Ku) are computed here, once per configure:
		 * a million bytes of hashing each.  They are localised to the
		 * agent's engineID when it is known.
		 */
		c->auth_ku_len = sizeof(c->auth_ku);
		if (generate_Ku(c->auth_proto, (u_int)c->auth_proto_len,
		    (const u_char *)ap, strlen(ap), c->auth_ku,
		    &c->auth_ku_len) != SNMPERR_SUCCESS) {
			tocsin_conf_error(cf, "auth_password", "cannot derive "
			    "a key with %s", tocsin_conf_str(cf,
			    "auth_protocol"));
			return -1;
		}
		c->sec_level = SNMP_SEC_LEVEL_AUTHNOPRIV;
	}
	if (pp != NULL) {
		if (ap == NULL) {
			tocsin_conf_error(cf, "priv_password", "privacy needs "
			    "auth_password too");
			return -1;
		}
		if (strlen(pp) < 8) {
			tocsin_conf_error(cf, "priv_password", "must have 8 "
			    "characters or more (RFC 3414)");
			return -1;
		}
		c->priv_ku_len = sizeof(c->priv_ku);
		if (generate_Ku(c->auth_proto, (u_int)c->auth_proto_len,
		    (const u_char *)pp, strlen(pp), c->priv_ku,
		    &c->priv_ku_len) != SNMPERR_SUCCESS) {
			tocsin_conf_error(cf, "priv_password", "cannot derive "
			    "a key");
			return -1;
		}
		c->sec_level = SNMP_SEC_LEVEL_AUTHPRIV;
	}
	return 0;
}

static int
snmp_configure(struct tocsin_check *chk, struct tocsin_conf *cf,
    void **priv)
{
	struct snmp_check *c;
	const char *s, *eq;
	char err[256];
	unsigned i, n;
	int64_t timeout_ms;
	long v;
	int bad = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	if ((c->name = strdup(tocsin_check_name(chk))) == NULL)
		goto oom;
	if (parse_address(c, tocsin_conf_str(cf, "address"), err,
	    sizeof(err)) < 0) {
		tocsin_conf_error(cf, "address", "%s", err);
		bad = 1;
	}
	s = tocsin_conf_str(cf, "version");
	if (strcmp(s, "1") == 0)
		c->version = SNMP_VERSION_1;
	else if (strcmp(s, "2c") == 0 || strcmp(s, "2") == 0)
		c->version = SNMP_VERSION_2c;
	else if (strcmp(s, "3") == 0)
		c->version = SNMP_VERSION_3;
	else {
		tocsin_conf_error(cf, "version", "\"%s\" is not 1, 2c or 3", s);
		bad = 1;
	}
	if ((c->community = strdup(tocsin_conf_str(cf, "community"))) == NULL ||
	    (c->context = strdup(tocsin_conf_str(cf, "context"))) == NULL)
		goto oom;
	if (c->version == SNMP_VERSION_3 && configure_v3(c, cf) < 0)
		bad = 1;

	v = tocsin_conf_int(cf, "retries");
	if (v < 0 || v > 10) {
		tocsin_conf_error(cf, "retries", "%ld is not 0..10", v);
		bad = 1;
	}
	c->retries = (int)v;
	v = tocsin_conf_int(cf, "max_repetitions");
	if (v < 1 || v > 100) {
		tocsin_conf_error(cf, "max_repetitions", "%ld is not 1..100", v);
		bad = 1;
	}
	c->max_rep = (int)v;
	c->combine = tocsin_conf_bool(cf, "combine_requests");
	/*
	 * All tries of one request fit in 90 % of the check's timeout, so an
	 * agent that never answers gives our "no response" result rather than
	 * the core's generic timeout.
	 */
	timeout_ms = tocsin_conf_duration_ms(cf, "timeout");
	c->try_us = (long)(timeout_ms * 900 / (c->retries + 1));
	if (c->try_us < 10000)
		c->try_us = 10000;

	n = tocsin_conf_list_size(cf, "oids");
	if (n > SNMP_OIDS_MAX) {
		tocsin_conf_error(cf, "oids", "%u entries: at most %d", n,
		    SNMP_OIDS_MAX);
		bad = 1;
		n = 0;
	}
	if (n > 0 && (c->items = calloc(n, sizeof(*c->items))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		struct snmp_item *it = &c->items[c->nitems];
		unsigned k;

		s = tocsin_conf_list_str(cf, "oids", i);
		if ((eq = strchr(s, '=')) == NULL || eq == s || eq[1] == '\0') {
			tocsin_conf_error(cf, "oids", "\"%s\" is not name=OID",
			    s);
			bad = 1;
			continue;
		}
		if ((it->name = strndup(s, (size_t)(eq - s))) == NULL ||
		    (it->text = strdup(eq + 1)) == NULL)
			goto oom;
		c->nitems++;
		for (k = 0; k + 1 < c->nitems; k++)
			if (strcmp(c->items[k].name, it->name) == 0) {
				tocsin_conf_error(cf, "oids", "\"%s\": name "
				    "\"%s\" used twice", s, it->name);
				bad = 1;
			}
		it->len = MAX_OID_LEN;
		if (snmp_oid_resolve(it->text, it->o, &it->len) < 0) {
			tocsin_conf_error(cf, "oids", "\"%s\": unknown OID "
			    "\"%s\" (not numeric, not a MIB-2 system/interface "
			    "name, not in the installed MIBs)", s, it->text);
			bad = 1;
		}
	}

	n = tocsin_conf_list_size(cf, "interfaces");
	if (n > 0 && (c->if_names = calloc(n, sizeof(char *))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		s = tocsin_conf_list_str(cf, "interfaces", i);
		if (strcmp(s, "all") == 0) {
			c->if_all = 1;
			continue;
		}
		if (*s == '\0') {
			tocsin_conf_error(cf, "interfaces", "empty name");
			bad = 1;
			continue;
		}
		if ((c->if_names[c->nif_names++] = strdup(s)) == NULL)
			goto oom;
	}
	if (c->if_all && c->nif_names > 0) {
		tocsin_conf_error(cf, "interfaces", "\"all\" or a list of "
		    "names, not both");
		bad = 1;
	}
	if (c->nitems == 0 && !c->if_all && c->nif_names == 0 && !bad) {
		tocsin_conf_error(cf, NULL, "nothing to poll: set oids or "
		    "interfaces");
		bad = 1;
	}

	n = tocsin_conf_list_size(cf, "warn") + tocsin_conf_list_size(cf,
	    "crit");
	if (n > 0 && (c->th = calloc(n, sizeof(*c->th))) == NULL)
		goto oom;
	if (parse_thresholds(c, cf, "warn", 0) < 0 ||
	    parse_thresholds(c, cf, "crit", 1) < 0)
		bad = 1;
	if (bad) {
		snmp_free(c);
		return -1;
	}
	*priv = c;
	return 0;
oom:
	tocsin_conf_error(cf, NULL, "out of memory");
	snmp_free(c);
	return -1;
}

/* ---- a run: session, events, requests ----------------------------- */

static void job_advance(struct snmp_job *);
static void job_close(struct snmp_job *);
static void job_ready(struct snmp_job *);
static int job_send(struct snmp_job *);

/* ---- agents: one session per agent, kept across runs and checks ---- */

/*
 * An agent is a net-snmp session (one UDP socket) to one peer with one
 * set of credentials and timing (retries and timeout are the session's,
 * not a request's): the key says which.  Every v1/v2c check of that
 * peer and community runs its requests on it, one after another or many
 * at once: net-snmp matches each reply to its request by request-id and
 * calls that request's callback (job_cb, magic = the job).  A v3 check
 * has an agent of its own: its session carries the engineID it learnt
 * and the keys localised for it, and is opened again when they change.
 *
 * The socket is watched by one read event and one timer (the session's
 * next retransmission) for all the jobs on it.  An agent lives while a
 * check refers to it (c->agent) or a job is attached; at zero it closes
 * from an event of its own, never inside net-snmp's calls.  A run
 * cancelled while its request is out (a reload, the core's timeout)
 * leaves its job attached as an orphan until that request's last
 * callback: the session stays open for the other checks.
 */
struct snmp_agent {
	char *key;
	void *sess;			/* NULL: opened at the next run */
	struct event *ev_read;
	struct event *ev_timer;
	struct event *ev_close;
	unsigned refs;			/* checks (c->agent) + jobs attached */
	TAILQ_HEAD(, snmp_job) jobs;
	TAILQ_HEAD(, snmp_job) ready;	/* to move on after net-snmp returns */
	TAILQ_HEAD(, snmp_job) gets;	/* GETs to merge (agent_flush()) */
	struct event *ev_flush;		/* active while gets is not empty */
	size_t engine_len;		/* v3: the engineID it was opened with */
	int closing;			/* inside snmp_sess_close() */
	int in_tree;
	LIST_ENTRY(snmp_agent) all;
};

static void *agent_tree;			/* by key: the ones to share */
static LIST_HEAD(, snmp_agent) agent_all = LIST_HEAD_INITIALIZER(agent_all);
static unsigned agent_open_count;		/* sessions open */

static int
agent_cmp(const void *x, const void *y)
{
	return strcmp(((const struct snmp_agent *)x)->key,
	    ((const struct snmp_agent *)y)->key);
}

/* Closes the session; the agent stays (opened again when needed). */
static void
agent_shut(struct snmp_agent *a)
{
	if (a->ev_read != NULL) {
		event_free(a->ev_read);
		a->ev_read = NULL;
	}
	if (a->ev_timer != NULL)
		evtimer_del(a->ev_timer);
	if (a->sess != NULL) {
		/*
		 * snmp_sess_close() reports the requests still out to their
		 * callbacks as timed out: orphans end there, the others are
		 * ignored while closing is set.
		 */
		a->closing = 1;
		snmp_sess_close(a->sess);
		a->closing = 0;
		a->sess = NULL;
		agent_open_count--;
	}
}

static void
agent_destroy(struct snmp_agent *a)
{
	agent_shut(a);
	if (a->in_tree) {
		tdelete(a, &agent_tree, agent_cmp);
		a->in_tree = 0;
	}
	LIST_REMOVE(a, all);
	if (a->ev_timer != NULL)
		event_free(a->ev_timer);
	if (a->ev_close != NULL)
		event_free(a->ev_close);
	if (a->ev_flush != NULL)
		event_free(a->ev_flush);
	free(a->key);
	free(a);
}

static void
agent_close_cb(evutil_socket_t fd, short what, void *arg)
{
	struct snmp_agent *a = arg;

	(void)fd;
	(void)what;
	if (a->refs == 0)
		agent_destroy(a);
}

static void
agent_unref(struct snmp_agent *a)
{
	if (a->refs == 0 || --a->refs > 0)
		return;
	/* no longer shared; closed from its own event */
	if (a->in_tree) {
		tdelete(a, &agent_tree, agent_cmp);
		a->in_tree = 0;
	}
	event_active(a->ev_close, 0, 0);
}

static void agent_read(evutil_socket_t, short, void *);
static void agent_timer(evutil_socket_t, short, void *);

/* The agent of key (a new ref), made if there is none.  NULL: memory. */
static struct snmp_agent *
agent_get(const char *key)
{
	struct snmp_agent k = { 0 }, **found, *a;

	k.key = (char *)key;
	if ((found = tfind(&k, &agent_tree, agent_cmp)) != NULL) {
		(*found)->refs++;
		return *found;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->key = strdup(key)) == NULL ||
	    (a->ev_timer = evtimer_new(tocsin_event_base(), agent_timer,
	    a)) == NULL ||
	    (a->ev_close = event_new(tocsin_event_base(), -1, 0,
	    agent_close_cb, a)) == NULL ||
	    tsearch(a, &agent_tree, agent_cmp) == NULL) {
		if (a != NULL) {
			if (a->ev_timer != NULL)
				event_free(a->ev_timer);
			if (a->ev_close != NULL)
				event_free(a->ev_close);
			free(a->key);
		}
		free(a);
		return NULL;
	}
	a->in_tree = 1;
	a->refs = 1;
	TAILQ_INIT(&a->jobs);
	TAILQ_INIT(&a->ready);
	TAILQ_INIT(&a->gets);
	LIST_INSERT_HEAD(&agent_all, a, all);
	return a;
}

/*
 * Arms the timer at the session's next retransmission deadline, unless
 * it is armed: every request of a session has the session's timeout, so
 * a request sent later is due later, and a timer that fires before the
 * (answered) request it was set for looks again.  Asking net-snmp walks
 * every request out: once per deadline, not once per reply.
 */
static void
agent_arm(struct snmp_agent *a, int force)
{
	netsnmp_large_fd_set fds;
	struct timeval tv = { 0, 0 };
	int numfds = 0, block = 1;

	if (a->sess == NULL ||
	    (!force && evtimer_pending(a->ev_timer, NULL)))
		return;
	/*
	 * block = 1 on entry: "no deadline of mine".  With block = 0 the
	 * library keeps tv if it is sooner than the session's deadline, and
	 * a zero tv would make the timer fire at once, again and again.
	 */
	netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
	snmp_sess_select_info2(a->sess, &numfds, &fds, &tv, &block);
	netsnmp_large_fd_set_cleanup(&fds);
	if (block) {
		/* nothing pending */
		evtimer_del(a->ev_timer);
		return;
	}
	evtimer_add(a->ev_timer, &tv);
}

/* After net-snmp ran the callbacks: move on the jobs they changed. */
static void
agent_wake(struct snmp_agent *a, int timer)
{
	struct snmp_job *j;

	a->refs++;		/* a job ending must not close it under us */
	while ((j = TAILQ_FIRST(&a->ready)) != NULL) {
		TAILQ_REMOVE(&a->ready, j, rlink);
		j->ready = 0;
		job_advance(j);	/* may free j (not another job) */
	}
	agent_arm(a, timer);
	agent_unref(a);
}

static void
agent_read(evutil_socket_t fd, short what, void *arg)
{
	struct snmp_agent *a = arg;
	netsnmp_large_fd_set fds;

	(void)what;
	netsnmp_large_fd_set_init(&fds, fd + 1);
	NETSNMP_LARGE_FD_SET(fd, &fds);
	snmp_sess_read2(a->sess, &fds);
	netsnmp_large_fd_set_cleanup(&fds);
	agent_wake(a, 0);
}

static void
agent_timer(evutil_socket_t fd, short what, void *arg)
{
	struct snmp_agent *a = arg;

	(void)fd;
	(void)what;
	if (a->sess != NULL)
		snmp_sess_timeout(a->sess);
	agent_wake(a, 1);
}

/* A job joins a (taking a ref) / leaves it. */
static void
job_attach(struct snmp_job *j, struct snmp_agent *a)
{
	a->refs++;
	j->a = a;
	TAILQ_INSERT_TAIL(&a->jobs, j, link);
}

static void
job_detach(struct snmp_job *j)
{
	struct snmp_agent *a = j->a;

	if (a == NULL)
		return;
	if (j->ready) {
		TAILQ_REMOVE(&a->ready, j, rlink);
		j->ready = 0;
	}
	if (j->queued) {
		TAILQ_REMOVE(&a->gets, j, glink);
		j->queued = 0;
	}
	TAILQ_REMOVE(&a->jobs, j, link);
	j->a = NULL;
	agent_unref(a);
}

static void
job_free(struct snmp_job *j)
{
	if (j->dns_req != NULL) {
		/* its callback runs with EVUTIL_EAI_CANCEL and ignores j */
		evdns_getaddrinfo_cancel(j->dns_req);
		j->dns_req = NULL;
	}
	job_close(j);
	snmp_walk_free(&j->walk);
	free(j->vals);
	if (j->c != NULL && j->c->job == j)
		j->c->job = NULL;
	free(j);
}

static void
failure_for_report(struct snmp_job *j, int rpt)
{
	struct snmp_check *c = j->c;

	switch (rpt) {
	case SNMPERR_UNKNOWN_USER_NAME:
	case SNMPERR_AUTHENTICATION_FAILURE:
	case SNMPERR_UNSUPPORTED_SEC_LEVEL:
	case SNMPERR_DECRYPTION_ERR:
		job_failf(j, TOCSIN_UNKNOWN, "authentication failed for user "
		    "\"%s\" at %s: %s", c->user ? c->user : "", c->where,
		    snmp_api_errstring(rpt));
		break;
	case SNMPERR_UNKNOWN_ENG_ID:
		/* a new agent behind the address: learn it again next run */
		c->engine_len = 0;
		/* FALLTHROUGH */
	default:
		job_failf(j, TOCSIN_UNKNOWN, "%s answered with a report: %s",
		    c->where, snmp_api_errstring(rpt));
	}
}

/* The item or column a 1-based error index points at, for messages. */
static void
describe_index(struct snmp_job *j, long idx, char *buf, size_t size)
{
	char num[256];

	if (j->phase == PH_GET && idx >= 2 && (unsigned long)idx - 2 <
	    j->c->nitems) {
		const struct snmp_item *it = &j->c->items[idx - 2];

		snmp_oid_format(it->o, it->len, num, sizeof(num));
		if (strcmp(it->text, num) == 0 || (it->text[0] == '.' &&
		    strcmp(it->text + 1, num) == 0))
			snprintf(buf, size, "%s (%s)", it->name, num);
		else
			snprintf(buf, size, "%s (%s = %s)", it->name, it->text,
			    num);
	} else if (j->phase == PH_GET && idx == 1)
		snprintf(buf, size, "sysUpTime.0");
	else
		snprintf(buf, size, "varbind %ld", idx);
}

static void got_get_vbs(struct snmp_job *, const netsnmp_variable_list *,
    const netsnmp_variable_list *);

static void
got_get(struct snmp_job *j, const netsnmp_pdu *pdu)
{
	struct snmp_check *c = j->c;
	char what[400];

	if (pdu->errstat != SNMP_ERR_NOERROR) {
		describe_index(j, pdu->errindex, what, sizeof(what));
		if (pdu->errstat == SNMP_ERR_NOSUCHNAME)
			job_failf(j, TOCSIN_UNKNOWN, "noSuchName: %s at %s",
			    what, c->where);
		else if (pdu->errstat == SNMP_ERR_TOOBIG)
			job_failf(j, TOCSIN_UNKNOWN, "%s says the response is "
			    "too big for %u oids: split the check", c->where,
			    c->nitems + 1);
		else
			job_failf(j, TOCSIN_UNKNOWN, "%s answered %s for %s",
			    c->where, snmp_errstring(pdu->errstat), what);
		return;
	}
	if (pdu->variables == NULL) {
		job_failf(j, TOCSIN_UNKNOWN, "%s sent an empty response",
		    c->where);
		return;
	}
	got_get_vbs(j, pdu->variables, pdu->variables->next_variable);
}

/* The values of j's GET: sysUpTime.0 in up, its items from vb on. */
static void
got_get_vbs(struct snmp_job *j, const netsnmp_variable_list *up,
    const netsnmp_variable_list *vb)
{
	struct snmp_check *c = j->c;
	char what[400], num[256];
	unsigned i;

	snmp_vb_value(up, &j->uptime);
	for (i = 0; i < c->nitems && vb != NULL;
	    i++, vb = vb->next_variable) {
		const struct snmp_item *it = &c->items[i];

		if (snmp_oid_compare(vb->name, vb->name_length, it->o,
		    it->len) != 0) {
			snmp_oid_format(it->o, it->len, num, sizeof(num));
			job_failf(j, TOCSIN_UNKNOWN, "%s answered another OID "
			    "than %s (%s)", c->where, it->name, num);
			return;
		}
		snmp_vb_value(vb, &j->vals[i]);
		if (j->vals[i].kind == SV_EXCEPTION) {
			describe_index(j, (long)i + 2, what, sizeof(what));
			job_failf(j, TOCSIN_UNKNOWN, "%s: %s at %s",
			    snmp_exception_name(j->vals[i].exception), what,
			    c->where);
			return;
		}
	}
	if (i < c->nitems) {
		job_failf(j, TOCSIN_UNKNOWN, "%s answered %u of %u values",
		    c->where, i, c->nitems);
		return;
	}
	if (c->if_all || c->nif_names > 0) {
		j->phase = PH_WALK;
		j->step = ST_NEXT;
	} else
		j->step = ST_DONE;
}

static void
got_walk(struct snmp_job *j, const netsnmp_pdu *pdu)
{
	char why[200];
	int c, k;

	if (pdu->errstat == SNMP_ERR_NOSUCHNAME && j->c->version ==
	    SNMP_VERSION_1) {
		/* v1 ends a GETNEXT column with noSuchName: drop it, go on */
		for (c = 0, k = 0; c < IFC_N; c++)
			if ((j->walk.sent & (1u << c)) && ++k ==
			    pdu->errindex)
				j->walk.active &= ~(1u << c);
		if (k < pdu->errindex || pdu->errindex < 1) {
			job_failf(j, TOCSIN_UNKNOWN, "%s: noSuchName with a bad "
			    "index in the interface walk", j->c->where);
			return;
		}
	} else if (pdu->errstat != SNMP_ERR_NOERROR) {
		job_failf(j, TOCSIN_UNKNOWN, "%s answered %s to the interface "
		    "walk", j->c->where, snmp_errstring(pdu->errstat));
		return;
	} else if (snmp_walk_absorb(&j->walk, pdu, why, sizeof(why)) < 0) {
		job_failf(j, TOCSIN_UNKNOWN, "%s: %s", j->c->where, why);
		return;
	}
	j->step = j->walk.active ? ST_NEXT : ST_DONE;
}

/* The engineID of a discovery report, kept for this and later runs. */
static void
take_engine(struct snmp_job *j, const netsnmp_pdu *pdu)
{
	struct snmp_check *c = j->c;

	if (pdu->securityEngineID == NULL || pdu->securityEngineIDLen < 1 ||
	    pdu->securityEngineIDLen > SNMP_ENGINE_MAX) {
		job_failf(j, TOCSIN_UNKNOWN, "%s did not tell its engineID",
		    c->where);
		return;
	}
	memcpy(c->engine, pdu->securityEngineID, pdu->securityEngineIDLen);
	c->engine_len = pdu->securityEngineIDLen;
	j->probed = 1;
	j->step = ST_NEXT;
}

/* What a request's callback says, recorded in the job. */
static int
job_record(int op, netsnmp_session *ss, int reqid, netsnmp_pdu *pdu,
    void *magic)
{
	struct snmp_job *j = magic;
	int rpt;

	(void)reqid;
	if (j->orphan) {
		/*
		 * Its run was cancelled: free it at its request's last
		 * callback (a report that net-snmp answers by sending again
		 * is not the last).
		 */
		if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != NULL &&
		    pdu->command == SNMP_MSG_REPORT &&
		    ((rpt = snmpv3_get_report_type(pdu)) ==
		    SNMPERR_NOT_IN_TIME_WINDOW ||
		    rpt == SNMPERR_UNKNOWN_ENG_ID))
			return 1;
		if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE ||
		    op == NETSNMP_CALLBACK_OP_TIMED_OUT ||
		    op == NETSNMP_CALLBACK_OP_SEC_ERROR ||
		    op == NETSNMP_CALLBACK_OP_DISCONNECT)
			job_free(j);
		return 1;
	}
	if ((j->a != NULL && j->a->closing) || j->step != ST_WAIT)
		return 1;
	if (snmp_debug)
		tocsin_log(TOCSIN_LOG_DEBUG, "check %s: net-snmp op %d phase %d "
		    "pdu %d report %d", j->c->name, op, j->phase, pdu ?
		    pdu->command : -1, pdu && pdu->command == SNMP_MSG_REPORT ?
		    snmpv3_get_report_type(pdu) : 0);
	switch (op) {
	case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
		if (pdu->command == SNMP_MSG_REPORT) {
			rpt = snmpv3_get_report_type(pdu);
			/* the library acts on s_snmp_errno when we return */
			ss->s_snmp_errno = rpt;
			if (j->phase == PH_PROBE)
				take_engine(j, pdu);
			else if (rpt != SNMPERR_NOT_IN_TIME_WINDOW)
				failure_for_report(j, rpt);
			/* notInTimeWindow: net-snmp re-sends in time */
			return 1;
		}
		if (pdu->command != SNMP_MSG_RESPONSE) {
			job_failf(j, TOCSIN_UNKNOWN, "%s sent a %s PDU",
			    j->c->where, snmp_pdu_type(pdu->command));
			return 1;
		}
		if (j->phase == PH_GET)
			got_get(j, pdu);
		else if (j->phase == PH_WALK)
			got_walk(j, pdu);
		else
			job_failf(j, TOCSIN_UNKNOWN, "%s answered the engineID "
			    "probe without a report", j->c->where);
		return 1;
	case NETSNMP_CALLBACK_OP_TIMED_OUT:
		/*
		 * A v3 agent that got a new engineID drops requests for the
		 * old one without a word (no user there): discover again on
		 * the next run.
		 */
		j->c->engine_len = 0;
		job_failf(j, TOCSIN_CRITICAL, "no response from %s (%d %s)",
		    j->c->where, j->c->retries + 1, j->c->retries ? "tries" :
		    "try");
		return 1;
	case NETSNMP_CALLBACK_OP_SEC_ERROR:
		/*
		 * The discovery report comes this way: its security parameters
		 * are not those of the request.  It carries the engineID.
		 */
		if (j->phase == PH_PROBE && pdu != NULL &&
		    pdu->command == SNMP_MSG_REPORT) {
			take_engine(j, pdu);
			return 1;
		}
		failure_for_report(j, ss->s_snmp_errno ? ss->s_snmp_errno :
		    SNMPERR_AUTHENTICATION_FAILURE);
		return 1;
	case NETSNMP_CALLBACK_OP_DISCONNECT:
		job_failf(j, TOCSIN_CRITICAL, "%s: connection lost",
		    j->c->where);
		return 1;
	default:
		return 1;	/* OP_RESEND and friends: keep waiting */
	}
}

/*
 * net-snmp's callback: record, and queue the job for agent_wake() to
 * move on once the library has returned (never close a session here).
 */
static int
job_cb(int op, netsnmp_session *ss, int reqid, netsnmp_pdu *pdu,
    void *magic)
{
	struct snmp_job *j = magic;
	int orphan = j->orphan, rc;

	rc = job_record(op, ss, reqid, pdu, magic);
	if (orphan)
		return rc;		/* j may be freed */
	job_ready(j);
	return rc;
}

static void agent_flush(evutil_socket_t, short, void *);

/*
 * A GET on a shared (v1/v2c) session waits for the end of this round of
 * callbacks: the checks of one agent that are due together (the timers
 * that expired at one wake-up) go as one PDU, merged by agent_flush().
 * At thousands of checks of one device a second, that is a fraction of
 * the packets, for tocsind and for the agent.
 */
static int
job_queue_get(struct snmp_job *j)
{
	struct snmp_agent *a = j->a;

	if (a->ev_flush == NULL && (a->ev_flush = event_new(
	    tocsin_event_base(), -1, 0, agent_flush, a)) == NULL)
		return -1;
	j->step = ST_WAIT;
	j->queued = 1;
	TAILQ_INSERT_TAIL(&a->gets, j, glink);
	event_active(a->ev_flush, EV_TIMEOUT, 1);
	return 0;
}

static void
job_ready(struct snmp_job *j)
{
	if (j->step != ST_WAIT && !j->ready && j->a != NULL &&
	    !j->a->closing) {
		TAILQ_INSERT_TAIL(&j->a->ready, j, rlink);
		j->ready = 1;
	}
}

/*
 * net-snmp's callback for a merged GET: each job takes its share of the
 * response.  An error status (tooBig, a v1 noSuchName, genErr) says
 * nothing of the other jobs' OIDs: each job then sends its own GET, so
 * its result is what it would have been alone.  Anything else (a
 * timeout, a cancelled run's orphan) is what job_record() does per job.
 */
static int
batch_cb(int op, netsnmp_session *ss, int reqid, netsnmp_pdu *pdu,
    void *magic)
{
	struct snmp_batch *b = magic;
	int final = op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE ||
	    op == NETSNMP_CALLBACK_OP_TIMED_OUT ||
	    op == NETSNMP_CALLBACK_OP_SEC_ERROR ||
	    op == NETSNMP_CALLBACK_OP_DISCONNECT;
	unsigned k;

	for (k = 0; k < b->n; k++) {
		struct snmp_job *j = b->jobs[k];

		if (j == NULL)
			continue;
		if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu != NULL &&
		    pdu->command == SNMP_MSG_RESPONSE && !j->orphan &&
		    j->a != NULL && !j->a->closing && j->step == ST_WAIT) {
			const netsnmp_variable_list *vb = pdu->variables;
			unsigned i;

			if (pdu->errstat != SNMP_ERR_NOERROR) {
				j->solo = 1;
				j->step = ST_NEXT;
			} else {
				for (i = 0; i < b->pos[k] && vb != NULL; i++)
					vb = vb->next_variable;
				if (pdu->variables == NULL || vb == NULL)
					job_failf(j, TOCSIN_UNKNOWN, "%s answered "
					    "0 of %u values", j->c->where,
					    j->c->nitems);
				else
					got_get_vbs(j, pdu->variables, vb);
			}
		} else {
			int orphan = j->orphan;

			job_record(op, ss, reqid, pdu, j);
			if (orphan) {	/* freed at its last callback */
				if (final)
					b->jobs[k] = NULL;
				continue;
			}
		}
		job_ready(j);
	}
	if (final)
		free(b);
	return 1;
}

/*
 * Sends the GETs queued on a: as many jobs as fit MERGE_VARS varbinds
 * (sysUpTime.0 once) in each PDU; a job alone goes as before.
 */
static void
agent_flush(evutil_socket_t fd, short what, void *arg)
{
	static const oid uptime[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
	struct snmp_agent *a = arg;
	struct snmp_job *j;

	(void)fd;
	(void)what;
	a->refs++;
	while ((j = TAILQ_FIRST(&a->gets)) != NULL) {
		struct snmp_batch *b;
		netsnmp_pdu *pdu = NULL;
		struct snmp_job *n = TAILQ_NEXT(j, glink);
		unsigned vars = 1, k, i;

		if (n == NULL || vars + j->c->nitems + n->c->nitems >
		    MERGE_VARS || a->sess == NULL ||
		    (b = calloc(1, sizeof(*b))) == NULL) {
			/* alone: its own request, as without merging */
			TAILQ_REMOVE(&a->gets, j, glink);
			j->queued = 0;
			j->solo = 1;
			if (a->sess == NULL)
				job_failf(j, TOCSIN_UNKNOWN, "no session to %s",
				    j->c->where);
			else if (job_send(j) < 0)
				job_failf(j, TOCSIN_UNKNOWN, "cannot build a "
				    "request for %s", j->c->where);
			job_ready(j);
			continue;
		}
		if ((pdu = snmp_pdu_create(SNMP_MSG_GET)) == NULL ||
		    snmp_add_null_var(pdu, uptime, OID_LENGTH(uptime)) == NULL)
			goto fail;
		while ((j = TAILQ_FIRST(&a->gets)) != NULL &&
		    b->n < MERGE_VARS && vars + j->c->nitems <= MERGE_VARS) {
			TAILQ_REMOVE(&a->gets, j, glink);
			j->queued = 0;
			b->jobs[b->n] = j;
			b->pos[b->n++] = vars;
			for (i = 0; i < j->c->nitems; i++)
				if (snmp_add_null_var(pdu, j->c->items[i].o,
				    j->c->items[i].len) == NULL)
					goto fail;
			vars += j->c->nitems;
		}
		if (snmp_sess_async_send(a->sess, pdu, batch_cb, b) != 0)
			continue;
fail:
		for (k = 0; k < b->n; k++) {
			job_failf(b->jobs[k], TOCSIN_UNKNOWN, "cannot send to "
			    "%s: %s", b->jobs[k]->c->where, a->sess == NULL ?
			    "no session" : snmp_api_errstring(snmp_sess_session(
			    a->sess)->s_snmp_errno));
			job_ready(b->jobs[k]);
		}
		if (pdu != NULL)
			snmp_free_pdu(pdu);
		free(b);
	}
	agent_wake(a, 0);
	agent_unref(a);
}

/* Builds and sends the request of the current phase. */
static int
job_send(struct snmp_job *j)
{
	static const oid uptime[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
	struct snmp_check *c = j->c;
	netsnmp_pdu *pdu;
	unsigned i;

	switch (j->phase) {
	case PH_PROBE:
		/* RFC 3414 4: an unauthenticated request to learn the engine */
		if ((pdu = snmp_pdu_create(SNMP_MSG_GET)) == NULL)
			return -1;
		pdu->version = SNMP_VERSION_3;
		pdu->securityName = strdup("");
		pdu->securityNameLen = 0;
		pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
		pdu->securityModel = SNMP_SEC_MODEL_USM;
		break;
	case PH_GET:
		if (c->version != SNMP_VERSION_3 && c->combine && !j->solo &&
		    j->a != NULL && c->nitems + 1 < MERGE_VARS)
			return job_queue_get(j);
		if ((pdu = snmp_pdu_create(SNMP_MSG_GET)) == NULL)
			return -1;
		if (snmp_add_null_var(pdu, uptime, OID_LENGTH(uptime)) == NULL)
			goto fail;
		for (i = 0; i < c->nitems; i++)
			if (snmp_add_null_var(pdu, c->items[i].o,
			    c->items[i].len) == NULL)
				goto fail;
		break;
	case PH_WALK:
		if (c->version == SNMP_VERSION_1)
			pdu = snmp_pdu_create(SNMP_MSG_GETNEXT);
		else {
			pdu = snmp_pdu_create(SNMP_MSG_GETBULK);
			if (pdu != NULL) {
				pdu->non_repeaters = 0;
				pdu->max_repetitions = c->max_rep;
			}
		}
		if (pdu == NULL)
			return -1;
		if (snmp_walk_request(&j->walk, pdu) < 0)
			goto fail;
		break;
	default:
		return -1;
	}
	j->step = ST_WAIT;
	if (snmp_sess_async_send(j->a->sess, pdu, job_cb, j) == 0) {
		job_failf(j, TOCSIN_UNKNOWN, "cannot send to %s: %s", c->where,
		    snmp_api_errstring(snmp_sess_session(
		    j->a->sess)->s_snmp_errno));
		snmp_free_pdu(pdu);
		return -1;
	}
	return 0;
fail:
	snmp_free_pdu(pdu);
	return -1;
}

static void
job_arm(struct snmp_job *j)
{
	if (j->a != NULL)
		agent_arm(j->a, 0);
}

static int job_open(struct snmp_job *);

/* After v3 discovery: the session again, knowing the engine and keys. */
static int
job_learn_engine(struct snmp_job *j)
{
	if (j->a != NULL)
		agent_shut(j->a);
	return job_open(j);
}

static void job_finish(struct snmp_job *j);

static void
job_advance(struct snmp_job *j)
{
	switch (j->step) {
	case ST_WAIT:
		job_arm(j);
		return;
	case ST_NEXT:
		if (j->probed) {
			j->probed = 0;
			if (job_learn_engine(j) < 0)
				break;
		}
		if (job_send(j) < 0) {
			job_failf(j, TOCSIN_UNKNOWN, "cannot build a request "
			    "for %s", j->c->where);
			break;
		}
		job_arm(j);
		return;
	case ST_DONE:
	case ST_FAIL:
		break;
	}
	job_finish(j);
}

/* The key of c's agent at peer (see struct snmp_agent). */
static void
agent_key(const struct snmp_check *c, const char *peer, char *buf,
    size_t size)
{
	if (c->version == SNMP_VERSION_3)
		snprintf(buf, size, "3 %p %s", (const void *)c, peer);
	else
		snprintf(buf, size, "%ld %d %ld %s %s", c->version, c->retries,
		    c->try_us, peer, c->community);
}

/*
 * Opens a's session for c (v3: with the engineID c knows, if any).
 * RETURN VALUE: 0; -1 net-snmp refused (*err: its error); -2 no event.
 */
static int
agent_open(struct snmp_agent *a, struct snmp_check *c, const char *peer,
    int *err)
{
	netsnmp_session s;
	netsnmp_transport *t;

	snmp_sess_init(&s);
	s.peername = (char *)peer;
	s.version = c->version;
	s.retries = c->retries;
	s.timeout = c->try_us;
	if (c->version == SNMP_VERSION_3) {
		s.securityName = c->user;
		s.securityNameLen = strlen(c->user);
		s.securityLevel = c->sec_level;
		s.securityModel = SNMP_SEC_MODEL_USM;
		s.securityAuthProto = (oid *)c->auth_proto;
		s.securityAuthProtoLen = c->auth_proto_len;
		s.securityPrivProto = (oid *)c->priv_proto;
		s.securityPrivProtoLen = c->priv_proto_len;
		memcpy(s.securityAuthKey, c->auth_ku, c->auth_ku_len);
		s.securityAuthKeyLen = c->auth_ku_len;
		memcpy(s.securityPrivKey, c->priv_ku, c->priv_ku_len);
		s.securityPrivKeyLen = c->priv_ku_len;
		s.contextName = c->context;
		s.contextNameLen = strlen(c->context);
		/*
		 * Never let net-snmp probe: that is a blocking exchange.  With
		 * a known engineID, opening localises the user's keys (USM's
		 * post-probe hook runs even with DONT_PROBE); otherwise
		 * PH_PROBE learns it first.
		 */
		s.flags |= SNMP_FLAGS_DONT_PROBE;
		if (c->engine_len > 0) {
			struct usmUser *u;

			/*
			 * net-snmp keeps one global user per (engine, name) and
			 * does not replace its keys: drop it so this check's
			 * keys (maybe changed by a reload) are the ones used.
			 */
			u = usm_get_user(c->engine, c->engine_len, c->user);
			if (u != NULL) {
				/* returns the list's head, not u */
				(void)usm_remove_user(u);
				usm_free_user(u);
			}
			s.securityEngineID = c->engine;
			s.securityEngineIDLen = c->engine_len;
			s.contextEngineID = c->engine;
			s.contextEngineIDLen = c->engine_len;
		}
	} else {
		s.community = (u_char *)c->community;
		s.community_len = strlen(c->community);
	}
	if ((a->sess = snmp_sess_open(&s)) == NULL) {
		*err = s.s_snmp_errno;
		return -1;
	}
	agent_open_count++;
	tocsin_log(TOCSIN_LOG_DEBUG, "snmp: session to %s open (%u open)",
	    peer, agent_open_count);
	a->engine_len = c->version == SNMP_VERSION_3 ? c->engine_len : 0;
	/*
	 * snmp_sess_open() clears DONT_PROBE once open; without it the first
	 * send would run a blocking "delayed probe" inside snmpv3_build.
	 */
	if (c->version == SNMP_VERSION_3)
		snmp_sess_session(a->sess)->flags |= SNMP_FLAGS_DONT_PROBE;
	if ((t = snmp_sess_transport(a->sess)) == NULL || t->sock < 0 ||
	    (a->ev_read = event_new(tocsin_event_base(), t->sock,
	    EV_READ | EV_PERSIST, agent_read, a)) == NULL ||
	    event_add(a->ev_read, NULL) < 0) {
		agent_shut(a);
		return -2;
	}
	return 0;
}

/*
 * Attaches the run to its check's agent, opening the session if it is
 * not open (or, v3, was opened for another engineID).  RETURN VALUE: 0,
 * or -1 with the job failed.
 */
static int
job_open(struct snmp_job *j)
{
	struct snmp_check *c = j->c;
	const char *peer = c->peer != NULL ? c->peer : j->peer;
	struct snmp_agent *a = c->agent;
	char key[512];
	int rc, err = 0;

	agent_key(c, peer, key, sizeof(key));
	if (a == NULL || strcmp(a->key, key) != 0) {
		if (a != NULL) {
			c->agent = NULL;
			agent_unref(a);
		}
		if ((a = c->agent = agent_get(key)) == NULL) {
			job_failf(j, TOCSIN_UNKNOWN, "snmp: out of memory");
			return -1;
		}
	}
	if (a->sess != NULL && c->version == SNMP_VERSION_3 &&
	    a->engine_len != c->engine_len)
		agent_shut(a);		/* its own agent: no other job on it */
	if (a->sess == NULL && (rc = agent_open(a, c, peer, &err)) != 0) {
		if (rc == -1)
			job_failf(j, TOCSIN_UNKNOWN, "cannot open a session to "
			    "%s: %s", c->where, snmp_api_errstring(err));
		else
			job_failf(j, TOCSIN_UNKNOWN, "snmp: cannot watch the "
			    "socket for %s", c->where);
		return -1;
	}
	if (j->a == NULL)
		job_attach(j, a);
	j->phase = c->version == SNMP_VERSION_3 && c->engine_len == 0 ?
	    PH_PROBE : PH_GET;
	return 0;
}

/*
 * The run leaves its agent (never from inside net-snmp's callback).  A
 * v3 run that failed closes its session, as it may hold a stale engine
 * or keys; a shared v1/v2c session stays open for the next run.
 */
static void
job_close(struct snmp_job *j)
{
	struct snmp_agent *a = j->a;

	if (a == NULL)
		return;
	if (j->c != NULL && j->c->version == SNMP_VERSION_3 &&
	    j->step != ST_DONE)
		agent_shut(a);
	job_detach(j);
}

static void
job_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct snmp_job *j = arg;
	char ip[INET6_ADDRSTRLEN];
	const void *a;

	if (result == EVUTIL_EAI_CANCEL)
		return;		/* from job_free(): j is going away */
	j->dns_req = NULL;
	if (result != 0 || res == NULL) {
		job_failf(j, TOCSIN_UNKNOWN, "cannot resolve %s: %s",
		    j->c->host, result ? evutil_gai_strerror(result) :
		    "no address");
		goto done;
	}
	a = res->ai_family == AF_INET6 ?
	    (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr :
	    (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	if (evutil_inet_ntop(res->ai_family, a, ip, sizeof(ip)) == NULL) {
		job_failf(j, TOCSIN_UNKNOWN, "cannot resolve %s", j->c->host);
		goto done;
	}
	snprintf(j->peer, sizeof(j->peer), res->ai_family == AF_INET6 ?
	    "udp6:[%s]:%u" : "udp:%s:%u", ip, j->c->port);
	if (job_open(j) == 0 && job_send(j) == 0) {
		evutil_freeaddrinfo(res);
		job_arm(j);
		return;
	}
	job_failf(j, TOCSIN_UNKNOWN, "cannot build a request for %s",
	    j->c->where);
done:
	if (res != NULL)
		evutil_freeaddrinfo(res);
	job_finish(j);
}

/* Looks the agent's name up on the loop; job_resolved() goes on. */
static void
job_resolve(struct snmp_job *j)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	if (snmp_dns == NULL && (snmp_dns = evdns_base_new(tocsin_event_base(),
	    EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL) {
		job_failf(j, TOCSIN_UNKNOWN, "cannot resolve %s: no resolver",
		    j->c->host);
		job_finish(j);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = j->c->family;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	/* may answer at once (hosts file), calling job_resolved() here */
	req = evdns_getaddrinfo(snmp_dns, j->c->host, NULL, &hints,
	    job_resolved, j);
	if (req != NULL)
		j->dns_req = req;
}

static void
snmp_start(struct tocsin_run *run, void *priv)
{
	struct snmp_check *c = priv;
	struct snmp_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (c->nitems > 0 && (j->vals = calloc(c->nitems,
	    sizeof(*j->vals))) == NULL)) {
		free(j);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "snmp: out of memory");
		return;
	}
	j->run = run;
	j->c = c;
	c->job = j;
	snmp_walk_init(&j->walk);
	tocsin_run_set_data(run, j);
	if (c->peer == NULL) {
		job_resolve(j);
		return;
	}
	if (job_open(j) < 0)
		goto fail;
	if (job_send(j) < 0) {
		job_failf(j, TOCSIN_UNKNOWN, "cannot build a request for %s",
		    c->where);
		goto fail;
	}
	job_arm(j);
	return;
fail:
	job_finish(j);
}

static void
snmp_cancel(struct tocsin_run *run, void *priv)
{
	struct snmp_job *j = tocsin_run_data(run);

	(void)priv;
	if (j == NULL)
		return;
	if (j->a != NULL && j->step == ST_WAIT && !j->queued && j->c != NULL &&
	    j->c->version != SNMP_VERSION_3) {
		/* its request is out on a shared session: wait for it */
		j->orphan = 1;
		j->run = NULL;
		j->c->job = NULL;
		j->c = NULL;
		return;
	}
	job_free(j);
}

/* ---- results ------------------------------------------------------ */

/*
 * Per-second rate of a counter against the previous run.  Returns 0 and
 * *rate, or -1 when there is no rate this time (first sample, reset).
 * The new value is always kept for the next run.
 */
static int
counter_rate(struct snmp_check *c, const char *key, uint64_t value,
    int is64, int reset, double dt, double *rate)
{
	struct snmp_prev *p = NULL, *np;
	uint64_t delta;
	unsigned i;
	int ok = -1;

	for (i = 0; i < c->nprev; i++)
		if (strcmp(c->prev[i].key, key) == 0) {
			p = &c->prev[i];
			break;
		}
	if (p != NULL && !reset && dt > 0 && p->gen + 1 == c->gen) {
		if (value >= p->value) {
			delta = value - p->value;
			ok = 0;
		} else if (!is64 && p->value <= 0xffffffffULL) {
			/* a Counter32 wrapped through 2^32 */
			delta = value + 0x100000000ULL - p->value;
			ok = 0;
		} else
			delta = 0;	/* Counter64 went back: a reset */
		*rate = (double)delta / dt;
	}
	if (p == NULL) {
		np = realloc(c->prev, (c->nprev + 1) * sizeof(*np));
		if (np == NULL)
			return ok;
		c->prev = np;
		p = &c->prev[c->nprev++];
		snprintf(p->key, sizeof(p->key), "%s", key);
	}
	p->value = value;
	p->gen = c->gen;
	return ok;
}

/* Drops counters not seen this run (interfaces that went away). */
static void
prev_prune(struct snmp_check *c)
{
	unsigned i, k;

	for (i = k = 0; i < c->nprev; i++)
		if (c->prev[i].gen == c->gen)
			c->prev[k++] = c->prev[i];
	c->nprev = k;
}

struct result {
	struct tocsin_run *run;
	struct snmp_check *c;
	enum tocsin_state state;
	char problems[SNMP_SUMMARY_MAX];
	char values[SNMP_SUMMARY_MAX];
	char long_out[8192];
	unsigned nmetrics;
};

static void
raise_state(struct result *r, enum tocsin_state st)
{
	/* UNKNOWN (3) ranks below CRITICAL (2) here */
	static const int rank[] = { 0, 1, 3, 2 };

	if (rank[st] > rank[r->state])
		r->state = st;
}

static const struct snmp_thresh *
thresh_for(const struct snmp_check *c, const char *metric,
    const char *suffix, int crit)
{
	const struct snmp_thresh *hit = NULL;
	unsigned i;

	/* an exact name beats a per-interface suffix */
	for (i = 0; i < c->nth; i++) {
		if (c->th[i].crit != crit)
			continue;
		if (strcmp(c->th[i].metric, metric) == 0)
			return &c->th[i];
		if (suffix != NULL && hit == NULL &&
		    strcmp(c->th[i].metric, suffix) == 0)
			hit = &c->th[i];
	}
	return hit;
}

static void
emit(struct result *r, const char *name, const char *suffix, double value,
    const char *unit, double min, double max)
{
	const struct snmp_thresh *w = thresh_for(r->c, name, suffix, 0);
	const struct snmp_thresh *cr = thresh_for(r->c, name, suffix, 1);
	struct tocsin_metric m;

	memset(&m, 0, sizeof(m));
	m.name = name;
	m.value = value;
	m.unit = unit;
	m.warn = w ? w->range : NULL;
	m.crit = cr ? cr->range : NULL;
	m.min = min;
	m.max = max;
	tocsin_run_metric(r->run, &m);
	r->nmetrics++;
	if (cr != NULL && tocsin_range_alert(&cr->r, value)) {
		raise_state(r, TOCSIN_CRITICAL);
		appendf(r->problems, sizeof(r->problems), "%s%s=%.6g%s "
		    "(critical %s)", r->problems[0] ? "; " : "", name, value,
		    unit ? unit : "", cr->range);
	} else if (w != NULL && tocsin_range_alert(&w->r, value)) {
		raise_state(r, TOCSIN_WARNING);
		appendf(r->problems, sizeof(r->problems), "%s%s=%.6g%s "
		    "(warning %s)", r->problems[0] ? "; " : "", name, value,
		    unit ? unit : "", w->range);
	}
}

static const char *
oper_name(uint64_t v)
{
	static const char *const n[] = { "?", "up", "down", "testing",
	    "unknown", "dormant", "notPresent", "lowerLayerDown" };

	return v < sizeof(n) / sizeof(n[0]) ? n[v] : "?";
}

/* Metric prefix of an interface: its name with odd characters as '_'. */
static void
if_label(const struct snmp_ifrow *row, char *buf, size_t size)
{
	const char *s = row->name[0] ? row->name : row->descr;
	size_t i;

	if (*s == '\0') {
		snprintf(buf, size, "if%u", row->index);
		return;
	}
	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (isalnum((unsigned char)s[i]) || strchr("_-/:",
		    s[i]) != NULL) ? s[i] : '_';
	buf[i] = '\0';
}

static int
if_watched(const struct snmp_check *c, const struct snmp_ifrow *row)
{
	unsigned i;

	if (c->if_all)
		return 1;
	for (i = 0; i < c->nif_names; i++)
		if (strcmp(c->if_names[i], row->name) == 0 ||
		    strcmp(c->if_names[i], row->descr) == 0)
			return 1;
	return 0;
}

static void
interface_results(struct result *r, const struct snmp_walk *w, int reset,
    double dt, unsigned *nfirst)
{
	struct snmp_check *c = r->c;
	char label[64], name[96], key[48];
	unsigned i, k, up = 0, watched = 0;
	double rate, speed;
	int found;

	for (k = 0; k < c->nif_names; k++) {
		for (i = 0, found = 0; i < w->nrows && !found; i++)
			found = strcmp(c->if_names[k], w->rows[i].name) == 0 ||
			    strcmp(c->if_names[k], w->rows[i].descr) == 0;
		if (!found) {
			raise_state(r, TOCSIN_UNKNOWN);
			appendf(r->problems, sizeof(r->problems), "%sinterface "
			    "\"%s\" not found", r->problems[0] ? "; " : "",
			    c->if_names[k]);
		}
	}
	for (i = 0; i < w->nrows; i++) {
		const struct snmp_ifrow *row = &w->rows[i];
		static const struct {
			const char *suffix;
			int col, alt;	/* alt: 32-bit fallback column */
			double mul;
			const char *unit;
		} rates[] = {
			{ "in_bps", IFC_HCIN, IFC_IN, 8, NULL },
			{ "out_bps", IFC_HCOUT, IFC_OUT, 8, NULL },
			{ "in_errors", IFC_INERR, -1, 1, NULL },
			{ "out_errors", IFC_OUTERR, -1, 1, NULL },
			{ "in_discards", IFC_INDISC, -1, 1, NULL },
			{ "out_discards", IFC_OUTDISC, -1, 1, NULL },
		};
		double bps[2] = { NAN, NAN };
		size_t q;

		if (!if_watched(c, row))
			continue;
		watched++;
		if_label(row, label, sizeof(label));
		speed = 0;
		if ((row->have & (1u << IFC_HIGHSPEED)) &&
		    row->v[IFC_HIGHSPEED] > 0)
			speed = (double)row->v[IFC_HIGHSPEED] * 1e6;
		else if ((row->have & (1u << IFC_SPEED)) &&
		    row->v[IFC_SPEED] > 0 && row->v[IFC_SPEED] < 0xffffffffULL)
			speed = (double)row->v[IFC_SPEED];
		if (row->have & (1u << IFC_OPER)) {
			int is_up = row->v[IFC_OPER] == 1;

			snprintf(name, sizeof(name), "%s.up", label);
			emit(r, name, "up", is_up, NULL, 0, 1);
			if (is_up)
				up++;
			/* with "all", an interface shut down on purpose is fine */
			else if (!c->if_all || ((row->have & (1u << IFC_ADMIN))
			    && row->v[IFC_ADMIN] == 1)) {
				raise_state(r, TOCSIN_CRITICAL);
				appendf(r->problems, sizeof(r->problems),
				    "%s%s is %s", r->problems[0] ? "; " : "",
				    label, oper_name(row->v[IFC_OPER]));
			}
		}
		for (q = 0; q < sizeof(rates) / sizeof(rates[0]); q++) {
			int col = rates[q].col, is64 = 0;

			if (row->have & (1u << col))
				is64 = col == IFC_HCIN || col == IFC_HCOUT;
			else if (rates[q].alt >= 0 &&
			    (row->have & (1u << rates[q].alt)))
				col = rates[q].alt;
			else
				continue;
			snprintf(key, sizeof(key), "i%u.%d", row->index, col);
			if (counter_rate(c, key, row->v[col], is64, reset, dt,
			    &rate) < 0) {
				(*nfirst)++;
				continue;
			}
			rate *= rates[q].mul;
			snprintf(name, sizeof(name), "%s.%s", label,
			    rates[q].suffix);
			emit(r, name, rates[q].suffix, rate, NULL, 0, NAN);
			if (q < 2)
				bps[q] = rate;
		}
		for (q = 0; q < 2; q++) {
			if (speed <= 0 || isnan(bps[q]))
				continue;
			snprintf(name, sizeof(name), "%s.%s", label,
			    q ? "out_util" : "in_util");
			emit(r, name, q ? "out_util" : "in_util",
			    100.0 * bps[q] / speed, "%", 0, 100);
		}
		appendf(r->long_out, sizeof(r->long_out), "%s (ifIndex %u): %s"
		    "%s%.0f Mbit/s\n", label, row->index,
		    (row->have & (1u << IFC_OPER)) ?
		    oper_name(row->v[IFC_OPER]) : "status unknown", ", ",
		    speed / 1e6);
	}
	appendf(r->values, sizeof(r->values), "%s%u/%u interfaces up",
	    r->values[0] ? ", " : "", up, watched);
}

static void
job_finish(struct snmp_job *j)
{
	struct tocsin_run *run = j->run;
	struct snmp_check *c = j->c;
	struct result r;
	char summary[2 * SNMP_SUMMARY_MAX + 64];
	unsigned i, nfirst = 0;
	int64_t now = mono_ms();
	double dt, rate, up_ticks;
	int reset = 0;

	/* the session must close before the run ends (no callback later) */
	job_close(j);
	if (j->step != ST_DONE) {
		if (j->step != ST_FAIL)
			snprintf(j->fail, sizeof(j->fail), "%s: the run ended "
			    "without a result", c->where);
		tocsin_run_finish(run, j->step == ST_FAIL ? j->fail_state :
		    TOCSIN_UNKNOWN, j->fail);
		job_free(j);
		return;
	}

	/* not memset: 10 KiB of buffers per run, only their first bytes */
	r.problems[0] = r.values[0] = r.long_out[0] = '\0';
	r.nmetrics = 0;
	r.run = run;
	r.c = c;
	r.state = TOCSIN_OK;
	c->gen++;
	up_ticks = j->uptime.kind == SV_GAUGE ? j->uptime.gauge : NAN;
	dt = (double)(now - c->prev_ms) / 1000.0;
	if (c->have_prev && !isnan(up_ticks) && up_ticks < c->prev_uptime) {
		reset = 1;
		appendf(r.values, sizeof(r.values), "agent restarted (sysUpTime "
		    "went back): rates start again");
	}
	for (i = 0; i < c->nitems; i++) {
		const struct snmp_value *v = &j->vals[i];
		char key[48];

		switch (v->kind) {
		case SV_GAUGE:
			emit(&r, c->items[i].name, NULL, v->gauge, NULL, NAN,
			    NAN);
			appendf(r.values, sizeof(r.values), "%s%s=%.6g",
			    r.values[0] ? ", " : "", c->items[i].name,
			    v->gauge);
			break;
		case SV_COUNTER32:
		case SV_COUNTER64:
			snprintf(key, sizeof(key), "o%u", i);
			if (counter_rate(c, key, v->counter, v->kind ==
			    SV_COUNTER64, reset, dt, &rate) < 0) {
				nfirst++;
				break;
			}
			emit(&r, c->items[i].name, NULL, rate, "/s", 0, NAN);
			appendf(r.values, sizeof(r.values), "%s%s=%.6g/s",
			    r.values[0] ? ", " : "", c->items[i].name, rate);
			break;
		case SV_TEXT:
			appendf(r.long_out, sizeof(r.long_out), "%s = %s\n",
			    c->items[i].name, v->text);
			appendf(r.values, sizeof(r.values), "%s%s=\"%.40s\"",
			    r.values[0] ? ", " : "", c->items[i].name,
			    v->text);
			break;
		default:
			break;
		}
	}
	if (c->if_all || c->nif_names > 0)
		interface_results(&r, &j->walk, reset, dt, &nfirst);
	prev_prune(c);
	c->have_prev = 1;
	c->prev_ms = now;
	c->prev_uptime = isnan(up_ticks) ? 0 : up_ticks;
	if (nfirst > 0 && !reset)
		appendf(r.values, sizeof(r.values), "%s%u counter%s sampled "
		    "(rates from the next run)", r.values[0] ? "; " : "",
		    nfirst, nfirst > 1 ? "s" : "");
	if (r.problems[0])
		snprintf(summary, sizeof(summary), "%s", r.problems);
	else
		snprintf(summary, sizeof(summary), "%s",
		    r.values[0] ? r.values : "no values");
	if (r.long_out[0])
		tocsin_run_long_output(run, r.long_out);
	job_free(j);
	tocsin_run_finish(run, r.state, summary);
}

/* ---- registration ------------------------------------------------- */

static const struct tocsin_check_type snmp_type = {
	.name = "snmp",
	.options = snmp_options,
	.max_concurrent = 256,
	.configure = snmp_configure,
	.start = snmp_start,
	.cancel = snmp_cancel,
	.free = snmp_free,
};

/*
 * net-snmp's own messages (MIB parser warnings and the like) go to the
 * daemon's log at debug level instead of stderr.
 */
static int
snmp_log_cb(int major, int minor, void *serverarg, void *clientarg)
{
	const struct snmp_log_message *m = serverarg;
	size_t n;

	(void)major;
	(void)minor;
	(void)clientarg;
	if (m == NULL || m->msg == NULL)
		return 0;
	n = strcspn(m->msg, "\n");
	if (n > 0)
		tocsin_log(TOCSIN_LOG_DEBUG, "net-snmp: %.*s", (int)n, m->msg);
	return 0;
}

static int
snmp_plugin_init(void)
{
	/*
	 * A library inside a daemon: no snmp.conf, no persistent files under
	 * /var/lib/snmp, no MIB warnings on stderr.  init_snmp() reads the
	 * installed MIBs once, for names snmp_oid_resolve() does not know.
	 */
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_MIB_WARNINGS, 0);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_MIB_ERRORS, 0);
	snmp_disable_log();
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING,
	    snmp_log_cb, NULL);
	netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
	if (getenv("TOCSIN_SNMP_DEBUG") != NULL) {
		snmp_debug = 1;
		snmp_enable_stderrlog();
		debug_register_tokens(getenv("TOCSIN_SNMP_DEBUG"));
		snmp_set_do_debugging(1);
	}
	init_snmp("tocsin");
	/*
	 * net-snmp keeps the MIB nodes it could not link (Debian ships no
	 * IETF MIBs, so most of its own MIBs are orphans) in globals that
	 * snmp_shutdown() does not free.  If the library were unmapped with
	 * the plugin at exit they would look leaked; keep it mapped.
	 */
	{
		Dl_info di;

		if (dladdr((void *)init_snmp, &di) != 0 && di.dli_fname != NULL)
			(void)dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD |
			    RTLD_NODELETE);
	}
	return tocsin_register_type(&snmp_type);
}

static void
snmp_plugin_fini(void)
{
	struct snmp_agent *a;

	/* orphans end inside agent_shut(); checks are freed by now */
	while ((a = LIST_FIRST(&agent_all)) != NULL)
		agent_destroy(a);
	if (snmp_dns != NULL) {
		evdns_base_free(snmp_dns, 0);
		snmp_dns = NULL;
	}
	snmp_shutdown("tocsin");
	/* the library stays mapped: it must not call into this plugin */
	snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING,
	    snmp_log_cb, NULL, 1);
}

TOCSIN_PLUGIN("snmp", snmp_plugin_init, snmp_plugin_fini);
