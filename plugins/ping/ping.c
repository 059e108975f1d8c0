/*
 * plugins/ping/ping.c — the "ping" check type: ICMP echo, loss and RTT.
 *
 * Every run of every ping check shares the plugin's one socket per
 * address family (icmp.c).  A run sends `count` echo requests
 * `packet_interval` apart and ends when every request sent is answered,
 * or just before the check's timeout: requests unanswered by then are
 * lost.  Replies are matched to runs by sequence number: the plugin hands
 * out sequence numbers from one 16-bit space and keeps, per number, the
 * run and packet that own it.  A reply counts only when its source
 * address is the run's target and its payload carries the run's random
 * cookie, so a late reply to a number since reused, a stray packet or a
 * forged one is ignored.  (With datagram sockets the kernel rewrites the
 * identifier, so the identifier cannot tell runs apart; with raw sockets
 * icmp.c checks it against ours.)
 *
 * Names resolve with libevent's evdns on the daemon's loop (literal
 * addresses need none); nothing here blocks.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/random.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <tocsin/plugin.h>

#include "icmp.h"

#define MAX_COUNT	1000
#define MIN_PSIZE	8	/* the cookie */
#define MAX_PSIZE	65000
#define COOKIE_LEN	8
#define SEQ_SPACE	65536

static const struct tocsin_option ping_options[] = {
	{ "address", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	    "host name or IPv4/IPv6 address to ping" },
	{ "count", TOCSIN_OPT_INT, "5", 0, "echo requests per run" },
	{ "packet_interval", TOCSIN_OPT_DURATION, "200ms", 0,
	    "time between the echo requests of a run" },
	{ "packet_size", TOCSIN_OPT_INT, "56", 0,
	    "bytes of payload per echo request (8 to 65000)" },
	{ "warn_rtt", TOCSIN_OPT_DURATION, NULL, 0,
	    "WARNING when the average round trip is at least this" },
	{ "crit_rtt", TOCSIN_OPT_DURATION, NULL, 0,
	    "CRITICAL when the average round trip is at least this" },
	{ "warn_loss", TOCSIN_OPT_STR, NULL, 0,
	    "WARNING when at least this percent is lost (\"20%\")" },
	{ "crit_loss", TOCSIN_OPT_STR, "100%", 0,
	    "CRITICAL when at least this percent is lost" },
	{ "ip_version", TOCSIN_OPT_STR, "any", 0,
	    "4, 6 or any (a name's first address with a usable socket)" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

struct ping_check {
	char *address;
	int family;			/* AF_UNSPEC: any */
	bool literal;
	struct sockaddr_storage sa;	/* when literal */
	socklen_t salen;
	int count;
	int64_t interval_ms;
	size_t psize;
	double warn_rtt, crit_rtt;	/* ms, NAN: none */
	double warn_loss, crit_loss;	/* percent, NAN: none */
};

struct pkt {
	uint16_t seq;
	bool owned;			/* seq is ours in the slot table */
	bool got;
	int64_t sent_mono;		/* ns */
	int64_t sent_real;		/* ns */
	double rtt_ms;
};

struct dns_ticket;

enum phase { PH_RESOLVING, PH_SENDING, PH_WAITING };

struct prun {
	struct tocsin_run *run;
	struct ping_check *pc;
	struct dns_ticket *dns;
	char *dns_error;		/* resolution failed: why */
	struct sockaddr_storage sa;
	socklen_t salen;
	int family;
	enum phase phase;
	uint8_t cookie[COOKIE_LEN];
	int tried;			/* requests attempted */
	int sent;			/* requests the kernel took */
	int received;
	int64_t first_send;		/* mono ns */
	int64_t deadline;		/* mono ns */
	struct event *timer;
	struct pkt pk[];
};

/*
 * An outstanding evdns request.  libevent calls its callback exactly once,
 * also after a cancel (with EVUTIL_EAI_CANCEL) and possibly later, so the
 * ticket, not the run, is its argument: a cancelled run sets p to NULL.
 */
struct dns_ticket {
	struct prun *p;
	struct evdns_getaddrinfo_request *req;
	LIST_ENTRY(dns_ticket) link;
};
static LIST_HEAD(, dns_ticket) tickets = LIST_HEAD_INITIALIZER(tickets);

struct slot {
	struct prun *p;
	unsigned idx;
};
static struct slot *slots;	/* SEQ_SPACE entries */
static uint16_t next_seq;
static struct evdns_base *dnsb;
static bool watching;
static char why4[256], why6[256];

/* ---- helpers -------------------------------------------------------- */

static int64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *
family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

/* "20%", "20", "2.5 %" → 20, 2.5.  RETURN VALUE: 0, or -1. */
static int
parse_percent(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v))
		return -1;
	while (*end == ' ')
		end++;
	if (*end == '%')
		end++;
	if (*end != '\0' || v < 0 || v > 100)
		return -1;
	*out = v;
	return 0;
}

/* A literal address?  Fills sa; RETURN VALUE: its family or AF_UNSPEC. */
static int
parse_literal(const char *s, struct sockaddr_storage *sa, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		*len = sizeof(*s6);
		return AF_INET6;
	}
	/* "fe80::1%eth0": numeric only, so getaddrinfo() never blocks here */
	if (strchr(s, '%') != NULL) {
		struct addrinfo hints, *res;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET6;
		hints.ai_flags = AI_NUMERICHOST;
		if (getaddrinfo(s, NULL, &hints, &res) == 0) {
			if (res->ai_addrlen <= sizeof(*sa)) {
				memcpy(sa, res->ai_addr, res->ai_addrlen);
				*len = (socklen_t)res->ai_addrlen;
				freeaddrinfo(res);
				return AF_INET6;
			}
			freeaddrinfo(res);
		}
	}
	return AF_UNSPEC;
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

static void
addr_text(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	const void *a = sa->ss_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (evutil_inet_ntop(sa->ss_family, a, buf, len) == NULL)
		snprintf(buf, len, "?");
}

/* ---- configure -------------------------------------------------------- */

static int
ping_configure(struct tocsin_check *chk, struct tocsin_conf *cf, void **priv)
{
	struct ping_check *pc;
	const char *addr = tocsin_conf_str(cf, "address");
	const char *ipv = tocsin_conf_str(cf, "ip_version");
	const char *s;
	long count = tocsin_conf_int(cf, "count");
	long psize = tocsin_conf_int(cf, "packet_size");
	int64_t iv = tocsin_conf_duration_ms(cf, "packet_interval");
	int64_t timeout = tocsin_conf_duration_ms(cf, "timeout");
	int bad = 0, lit;

	(void)chk;
	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		return -1;
	pc->warn_rtt = pc->crit_rtt = pc->warn_loss = pc->crit_loss = NAN;
	if (addr == NULL || *addr == '\0' || strpbrk(addr, " \t\r\n/") ||
	    strlen(addr) > 253) {
		tocsin_conf_error(cf, "address", "\"%s\" is not a host name "
		    "or an IP address", addr ? addr : "");
		bad = 1;
	}
	if (strcasecmp(ipv, "any") == 0)
		pc->family = AF_UNSPEC;
	else if (strcmp(ipv, "4") == 0)
		pc->family = AF_INET;
	else if (strcmp(ipv, "6") == 0)
		pc->family = AF_INET6;
	else {
		tocsin_conf_error(cf, "ip_version", "\"%s\" is not 4, 6 or "
		    "any", ipv);
		bad = 1;
	}
	if (count == LONG_MIN || count < 1 || count > MAX_COUNT) {
		if (count != LONG_MIN)
			tocsin_conf_error(cf, "count", "%ld is not between 1 "
			    "and %d", count, MAX_COUNT);
		bad = 1;
	}
	if (iv < 0)
		bad = 1;	/* reported by the parser */
	else if (iv < 1) {
		tocsin_conf_error(cf, "packet_interval", "must be at least "
		    "1ms");
		bad = 1;
	}
	if (psize == LONG_MIN || psize < MIN_PSIZE || psize > MAX_PSIZE) {
		if (psize != LONG_MIN)
			tocsin_conf_error(cf, "packet_size", "%ld is not "
			    "between %d and %d", psize, MIN_PSIZE, MAX_PSIZE);
		bad = 1;
	}
	if (!bad && timeout >= 0 &&
	    timeout < (count - 1) * iv + 100) {
		tocsin_conf_error(cf, "timeout", "%lldms is too short for "
		    "count %ld at packet_interval %lldms (needs at least "
		    "%lldms)", (long long)timeout, count, (long long)iv,
		    (long long)((count - 1) * iv + 100));
		bad = 1;
	}
	if (tocsin_conf_is_set(cf, "warn_rtt") &&
	    tocsin_conf_duration_ms(cf, "warn_rtt") >= 0)
		pc->warn_rtt = (double)tocsin_conf_duration_ms(cf, "warn_rtt");
	if (tocsin_conf_is_set(cf, "crit_rtt") &&
	    tocsin_conf_duration_ms(cf, "crit_rtt") >= 0)
		pc->crit_rtt = (double)tocsin_conf_duration_ms(cf, "crit_rtt");
	if ((s = tocsin_conf_str(cf, "warn_loss")) != NULL &&
	    parse_percent(s, &pc->warn_loss) != 0) {
		tocsin_conf_error(cf, "warn_loss", "\"%s\" is not a percent "
		    "between 0 and 100", s);
		bad = 1;
	}
	if ((s = tocsin_conf_str(cf, "crit_loss")) != NULL &&
	    parse_percent(s, &pc->crit_loss) != 0) {
		tocsin_conf_error(cf, "crit_loss", "\"%s\" is not a percent "
		    "between 0 and 100", s);
		bad = 1;
	}
	if (!bad && addr != NULL) {
		lit = parse_literal(addr, &pc->sa, &pc->salen);
		pc->literal = lit != AF_UNSPEC;
		if (pc->literal && pc->family != AF_UNSPEC &&
		    pc->family != lit) {
			tocsin_conf_error(cf, "address", "\"%s\" is an %s "
			    "address but ip_version is %s", addr,
			    family_name(lit), ipv);
			bad = 1;
		}
		if (pc->literal)
			pc->family = lit;
	}
	/* the sockets were opened at start-up: say now if one is missing */
	if (!bad) {
		if (pc->family == AF_UNSPEC &&
		    icmp_kind(AF_INET) == ICMP_NONE &&
		    icmp_kind(AF_INET6) == ICMP_NONE) {
			tocsin_conf_error(cf, NULL, "cannot ping: %s; %s; allow "
			    "the group in sysctl net.ipv4.ping_group_range or "
			    "give tocsind CAP_NET_RAW", why4, why6);
			bad = 1;
		} else if (pc->family != AF_UNSPEC &&
		    icmp_kind(pc->family) == ICMP_NONE) {
			tocsin_conf_error(cf, NULL, "cannot ping %s: %s; allow "
			    "the group in sysctl net.ipv4.ping_group_range or "
			    "give tocsind CAP_NET_RAW", addr,
			    pc->family == AF_INET6 ? why6 : why4);
			bad = 1;
		}
	}
	if (bad) {
		free(pc);
		return -1;
	}
	pc->address = strdup(addr);
	pc->count = (int)count;
	pc->interval_ms = iv;
	pc->psize = (size_t)psize;
	if (pc->address == NULL) {
		free(pc);
		return -1;
	}
	*priv = pc;
	return 0;
}

static void
ping_free(void *priv)
{
	struct ping_check *pc = priv;

	free(pc->address);
	free(pc);
}

/* ---- runs ------------------------------------------------------------ */

static void run_timer(evutil_socket_t fd, short what, void *arg);

static void
arm_at(struct prun *p, int64_t when_ns)
{
	int64_t d = when_ns - clock_ns(CLOCK_MONOTONIC);
	struct timeval tv;

	if (d < 0)
		d = 0;
	tv.tv_sec = d / 1000000000;
	tv.tv_usec = (d % 1000000000) / 1000;
	evtimer_add(p->timer, &tv);
}

/* Release what p holds (slots, timer, DNS request) and free it. */
static void
prun_free(struct prun *p)
{
	int i;

	for (i = 0; i < p->tried; i++)
		if (p->pk[i].owned && slots[p->pk[i].seq].p == p)
			slots[p->pk[i].seq].p = NULL;
	if (p->dns != NULL) {
		struct dns_ticket *t = p->dns;

		t->p = NULL;
		p->dns = NULL;
		if (t->req != NULL)
			evdns_getaddrinfo_cancel(t->req);
	}
	if (p->timer != NULL)
		event_free(p->timer);
	free(p->dns_error);
	free(p);
}

static void
fmt_num(char *buf, size_t len, double v)
{
	snprintf(buf, len, "%.3g", v);
}

static void
add_metric(struct tocsin_run *run, const char *name, double v,
    const char *unit, double warn, double crit, double max)
{
	struct tocsin_metric m;
	char w[32], c[32];

	memset(&m, 0, sizeof(m));
	m.name = name;
	m.value = v;
	m.unit = unit;
	if (!isnan(warn)) {
		snprintf(w, sizeof(w), "%g", warn);
		m.warn = w;
	}
	if (!isnan(crit)) {
		snprintf(c, sizeof(c), "%g", crit);
		m.crit = c;
	}
	m.min = 0;
	m.max = max;
	tocsin_run_metric(run, &m);
}

/* Compute the result, free p, and finish its run. */
static void
prun_finish(struct prun *p)
{
	struct ping_check *pc = p->pc;
	struct tocsin_run *run = p->run;
	enum tocsin_state st = TOCSIN_OK;
	double loss, min = INFINITY, max = 0, sum = 0, sum2 = 0, avg = 0;
	double mdev = 0;
	char summary[256], lo[512], at[INET6_ADDRSTRLEN], a[32], b[32];
	static const char *const names[] = { "OK", "WARNING", "CRITICAL",
	    "UNKNOWN" };
	int i;

	if (p->dns_error != NULL) {
		snprintf(summary, sizeof(summary), "PING UNKNOWN - cannot "
		    "resolve %s: %s", pc->address, p->dns_error);
		prun_free(p);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, summary);
		return;
	}
	for (i = 0; i < p->tried; i++) {
		double r = p->pk[i].rtt_ms;

		if (!p->pk[i].got)
			continue;
		if (r < min)
			min = r;
		if (r > max)
			max = r;
		sum += r;
		sum2 += r * r;
	}
	/* a request never attempted (deadline first) is lost too */
	loss = 100.0 * (pc->count - p->received) / pc->count;
	if (p->received > 0) {
		avg = sum / p->received;
		mdev = sum2 / p->received - avg * avg;
		mdev = mdev > 0 ? sqrt(mdev) : 0;
	}
	if (p->received == 0 ||
	    (!isnan(pc->crit_loss) && loss >= pc->crit_loss) ||
	    (!isnan(pc->crit_rtt) && avg >= pc->crit_rtt))
		st = TOCSIN_CRITICAL;
	else if ((!isnan(pc->warn_loss) && loss >= pc->warn_loss) ||
	    (!isnan(pc->warn_rtt) && avg >= pc->warn_rtt))
		st = TOCSIN_WARNING;

	addr_text(&p->sa, at, sizeof(at));
	snprintf(a, sizeof(a), "%.3g", loss);
	if (p->received > 0) {
		fmt_num(b, sizeof(b), avg);
		snprintf(summary, sizeof(summary), "PING %s - %s%% loss, rtt "
		    "avg %s ms", names[st], a, b);
		snprintf(lo, sizeof(lo), "%s (%s): %d sent, %d received, %s%% "
		    "loss, rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms",
		    pc->address, at, pc->count, p->received, a, min, avg, max,
		    mdev);
		add_metric(run, "rtt_min", min, "ms", NAN, NAN, NAN);
		add_metric(run, "rtt_avg", avg, "ms", pc->warn_rtt,
		    pc->crit_rtt, NAN);
		add_metric(run, "rtt_max", max, "ms", NAN, NAN, NAN);
		add_metric(run, "rtt_mdev", mdev, "ms", NAN, NAN, NAN);
	} else {
		snprintf(summary, sizeof(summary), "PING %s - %s%% loss",
		    names[st], a);
		snprintf(lo, sizeof(lo), "%s (%s): %d sent, 0 received, 100%% "
		    "loss%s", pc->address, at, pc->count, p->sent < p->tried ?
		    " (some requests could not be sent)" : "");
	}
	add_metric(run, "loss", loss, "%", pc->warn_loss, pc->crit_loss, 100);
	tocsin_run_long_output(run, lo);
	prun_free(p);
	tocsin_run_finish(run, st, summary);
}

static int
seq_take(struct prun *p, unsigned idx)
{
	unsigned tries;

	for (tries = 0; tries < 4096; tries++) {
		uint16_t s = next_seq++;

		if (slots[s].p == NULL) {
			slots[s].p = p;
			slots[s].idx = idx;
			p->pk[idx].seq = s;
			p->pk[idx].owned = true;
			return 0;
		}
	}
	return -1;
}

static void
send_one(struct prun *p)
{
	struct ping_check *pc = p->pc;
	unsigned idx = (unsigned)p->tried++;
	uint8_t stackbuf[512], *payload = stackbuf;
	size_t i;

	if (seq_take(p, idx) != 0) {
		tocsin_log(TOCSIN_LOG_WARNING, "ping %s: more than %d echo "
		    "requests in flight, one counted as lost",
		    tocsin_check_name(tocsin_run_check(p->run)), SEQ_SPACE);
		return;
	}
	if (pc->psize > sizeof(stackbuf) &&
	    (payload = malloc(pc->psize)) == NULL)
		return;
	memcpy(payload, p->cookie, COOKIE_LEN);
	for (i = COOKIE_LEN; i < pc->psize; i++)
		payload[i] = (uint8_t)i;
	p->pk[idx].sent_mono = clock_ns(CLOCK_MONOTONIC);
	p->pk[idx].sent_real = clock_ns(CLOCK_REALTIME);
	if (icmp_send(p->family, (struct sockaddr *)&p->sa, p->salen,
	    p->pk[idx].seq, payload, pc->psize) == 0)
		p->sent++;
	else {
		/* no route, full buffer, …: the request is lost */
		tocsin_log(TOCSIN_LOG_DEBUG, "ping %s: send to %s: %s",
		    tocsin_check_name(tocsin_run_check(p->run)), pc->address,
		    strerror(errno));
		slots[p->pk[idx].seq].p = NULL;
		p->pk[idx].owned = false;
	}
	if (payload != stackbuf)
		free(payload);
}

/* Every request attempted and every one sent answered? */
static bool
prun_done(const struct prun *p)
{
	return p->tried == p->pc->count && p->received == p->sent;
}

/* Next step of a run: send the next request, or wait for the end. */
static void
prun_step(struct prun *p)
{
	int64_t now = clock_ns(CLOCK_MONOTONIC), next;

	while (p->tried < p->pc->count) {
		next = p->first_send + (int64_t)p->tried *
		    p->pc->interval_ms * 1000000;
		if (next > now)
			break;
		if (now >= p->deadline)
			break;
		send_one(p);
	}
	if (prun_done(p) || now >= p->deadline) {
		prun_finish(p);
		return;
	}
	if (p->tried < p->pc->count) {
		next = p->first_send + (int64_t)p->tried *
		    p->pc->interval_ms * 1000000;
		arm_at(p, next < p->deadline ? next : p->deadline);
	} else {
		p->phase = PH_WAITING;
		arm_at(p, p->deadline);
	}
}

static void
prun_begin(struct prun *p)
{
	p->phase = PH_SENDING;
	p->first_send = clock_ns(CLOCK_MONOTONIC);
	prun_step(p);
}

static void
run_timer(evutil_socket_t fd, short what, void *arg)
{
	struct prun *p = arg;

	(void)fd;
	(void)what;
	if (p->phase == PH_RESOLVING) {
		if (p->dns_error != NULL) {
			prun_finish(p);
			return;
		}
		prun_begin(p);
		return;
	}
	prun_step(p);
}

static void
on_reply(const struct icmp_reply *r)
{
	struct slot *sl = &slots[r->seq];
	struct prun *p = sl->p;
	struct pkt *k;
	int64_t mono, real;

	if (p == NULL || p->family != r->family ||
	    r->plen != p->pc->psize || !same_addr(&r->from, &p->sa) ||
	    memcmp(r->payload, p->cookie, COOKIE_LEN) != 0)
		return;		/* stray, late, duplicate or forged */
	k = &p->pk[sl->idx];
	sl->p = NULL;
	k->owned = false;
	k->got = true;
	mono = r->mono_ns - k->sent_mono;
	real = r->kernel_ns >= 0 ? r->kernel_ns - k->sent_real : -1;
	/* the kernel's stamp excludes loop latency; a clock step shows */
	k->rtt_ms = (real >= 0 && real <= mono ? real : mono) / 1e6;
	p->received++;
	if (prun_done(p))
		prun_finish(p);
}

static void
dns_done(int err, struct evutil_addrinfo *res, void *arg)
{
	struct dns_ticket *t = arg;
	struct prun *p = t->p;
	struct evutil_addrinfo *ai;

	LIST_REMOVE(t, link);
	free(t);
	if (p == NULL) {	/* the run was cancelled */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	p->dns = NULL;
	if (err != 0) {
		p->dns_error = strdup(evutil_gai_strerror(err));
	} else {
		for (ai = res; ai != NULL; ai = ai->ai_next)
			if ((ai->ai_family == AF_INET ||
			    ai->ai_family == AF_INET6) &&
			    icmp_kind(ai->ai_family) != ICMP_NONE &&
			    ai->ai_addrlen <= sizeof(p->sa))
				break;
		if (ai == NULL)
			p->dns_error = strdup(res == NULL ? "no address" :
			    "no address of a family we can ping");
		else {
			memset(&p->sa, 0, sizeof(p->sa));
			memcpy(&p->sa, ai->ai_addr, ai->ai_addrlen);
			p->salen = (socklen_t)ai->ai_addrlen;
			p->family = ai->ai_family;
		}
	}
	if (res != NULL)
		evutil_freeaddrinfo(res);
	if (err != 0 && p->dns_error == NULL)
		p->dns_error = strdup("?");
	/* never finish inside evdns_getaddrinfo(): go through the loop */
	event_active(p->timer, EV_TIMEOUT, 1);
}

static int
loop_setup(void)
{
	if (watching)
		return 0;
	if (icmp_watch(tocsin_event_base(), on_reply) != 0)
		return -1;
	watching = true;
	tocsin_log(TOCSIN_LOG_INFO, "ping: IPv4 socket: %s, IPv6 socket: %s",
	    icmp_kind_name(AF_INET), icmp_kind_name(AF_INET6));
	return 0;
}

static void
ping_start(struct tocsin_run *run, void *priv)
{
	struct ping_check *pc = priv;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	struct dns_ticket *t;
	struct prun *p;
	int64_t to = tocsin_run_timeout_ms(run), margin;

	if (loop_setup() != 0) {
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "PING UNKNOWN - cannot "
		    "watch the ICMP sockets");
		return;
	}
	p = calloc(1, sizeof(*p) + (size_t)pc->count * sizeof(p->pk[0]));
	if (p == NULL || (p->timer = evtimer_new(tocsin_event_base(),
	    run_timer, p)) == NULL) {
		free(p);
		tocsin_run_finish(run, TOCSIN_UNKNOWN, "PING UNKNOWN - out of "
		    "memory");
		return;
	}
	p->run = run;
	p->pc = pc;
	tocsin_run_set_data(run, p);
	if (getrandom(p->cookie, sizeof(p->cookie), GRND_NONBLOCK) !=
	    sizeof(p->cookie)) {
		uint64_t x = (uint64_t)clock_ns(CLOCK_MONOTONIC) ^
		    (uintptr_t)p;

		memcpy(p->cookie, &x, sizeof(x));
	}
	/* finish a little before the core's timeout would cancel us */
	margin = to / 10 < 50 ? to / 10 : 50;
	p->deadline = clock_ns(CLOCK_MONOTONIC) + (to - margin) * 1000000;
	if (pc->literal) {
		p->sa = pc->sa;
		p->salen = pc->salen;
		p->family = pc->family;
		prun_begin(p);
		return;
	}
	p->phase = PH_RESOLVING;
	if (dnsb == NULL && (dnsb = evdns_base_new(tocsin_event_base(),
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL) {
		p->dns_error = strdup("cannot set up the resolver");
		event_active(p->timer, EV_TIMEOUT, 1);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		p->dns_error = strdup("out of memory");
		event_active(p->timer, EV_TIMEOUT, 1);
		return;
	}
	t->p = p;
	p->dns = t;
	LIST_INSERT_HEAD(&tickets, t, link);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = pc->family;
	hints.ai_socktype = SOCK_RAW;
	hints.ai_protocol = 0;
	req = evdns_getaddrinfo(dnsb, pc->address, NULL, &hints, dns_done, t);
	/* dns_done may have run already (hosts file): then p->dns is NULL */
	if (p->dns != NULL)
		p->dns->req = req;
}

static void
ping_cancel(struct tocsin_run *run, void *priv)
{
	struct prun *p = tocsin_run_data(run);

	(void)priv;
	if (p != NULL)
		prun_free(p);
}

static const struct tocsin_check_type ping_type = {
	.name = "ping",
	.options = ping_options,
	.configure = ping_configure,
	.start = ping_start,
	.cancel = ping_cancel,
	.free = ping_free,
};

static int
ping_init(void)
{
	if ((slots = calloc(SEQ_SPACE, sizeof(*slots))) == NULL)
		return -1;
	if (getrandom(&next_seq, sizeof(next_seq), GRND_NONBLOCK) !=
	    sizeof(next_seq))
		next_seq = (uint16_t)time(NULL);
	(void)icmp_open(AF_INET, why4, sizeof(why4));
	(void)icmp_open(AF_INET6, why6, sizeof(why6));
	/* no socket is an error only for configs with ping checks */
	return tocsin_register_type(&ping_type);
}

/*
 * libevent reports a cancelled or failed resolution through a callback it
 * defers to the loop, and frees the request's memory only there.  At
 * shutdown the loop has stopped: let it run those callbacks (bounded,
 * without waiting) so that nothing is left allocated.
 */
static void
dns_flush(void)
{
	int i;

	for (i = 0; i < 16 && !LIST_EMPTY(&tickets); i++)
		event_base_loop(tocsin_event_base(), EVLOOP_NONBLOCK);
}

static void
ping_fini(void)
{
	struct dns_ticket *t;

	if (dnsb != NULL) {
		dns_flush();	/* runs the cancelled requests' callbacks */
		/*
		 * Not fail_requests: their callbacks would be deferred again,
		 * past the base's free.  Every run was cancelled before fini.
		 */
		evdns_base_free(dnsb, 0);
		dnsb = NULL;
	}
	/* whatever libevent still holds will not call back any more */
	while ((t = LIST_FIRST(&tickets)) != NULL) {
		LIST_REMOVE(t, link);
		free(t);
	}
	icmp_close_all();
	watching = false;
	free(slots);
	slots = NULL;
}

TOCSIN_PLUGIN("ping", ping_init, ping_fini);
