/*
 * plugins/trap/trap.c — SNMP traps as passive checks.
 *
 * Two check types:
 *   trap_listener "NAME" { listen = "udp:0.0.0.0:162" community = {…} }
 *     owns a UDP socket, opened through net-snmp's transport and session
 *     (snmp_sess_add) and read on the daemon's loop (an event calling
 *     snmp_sess_read2()); net-snmp parses each message and calls us back.
 *     Its own runs report the counters (received, matched, unmatched,
 *     rejected) as metrics and the last unmatched traps as long output,
 *     so no trap is silently lost.
 *   trap "NAME" { oid = "linkDown" clear_oid = "linkUp" match = "…" }
 *     a passive check: a trap matching oid makes it CRITICAL (or
 *     `state`), one matching clear_oid makes it OK.  The plugin keeps the
 *     state and asks the core to run the check at once
 *     (tocsin_check_run_now); the run reports it.
 *
 * The socket opens at the first run of a listener or of a trap check
 * that uses it, and is shared by address (a reload keeps it: the new
 * config's listener finds the old socket).  A trap check's state is kept
 * by check name, so a reload does not forget a link that is down.
 * Communities are compared here (net-snmp does not for a server
 * session); a trap with another community is rejected and counted.
 * Informs are answered.  SNMPv3 users (v3_users, net-snmp's createUser
 * syntax) are handed to net-snmp's USM, which authenticates and decrypts
 * before we see a trap: one that fails is dropped there, uncounted.
 *
 * Known limit: the state of trap checks is kept in memory only; after a
 * restart each starts OK until the next trap.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include <tocsin/plugin.h>

#include "trap_match.h"

#include <net-snmp/library/large_fd_set.h>

#define TRAP_KEEP_UNMATCHED	20	/* last unmatched traps shown */

/* ---- listeners --------------------------------------------------------- */

/* An open socket, shared by the listener confs with the same address. */
struct trap_sock {
	char			*listen;	/* "udp:127.0.0.1:16200" */
	void			*sess;		/* snmp_sess_add() handle */
	netsnmp_transport	*t;		/* owned by sess */
	struct event		*ev;
	unsigned		 refs;
	LIST_ENTRY(trap_sock)	 link;
};
static LIST_HEAD(, trap_sock) trap_socks = LIST_HEAD_INITIALIZER(trap_socks);

/* Counters and recent unmatched traps of one listener, by check name. */
struct trap_stats {
	char			*name;
	unsigned		 refs;
	uint64_t		 received, matched, unmatched, rejected;
	char			*recent[TRAP_KEEP_UNMATCHED];	/* ring */
	unsigned		 nrecent, next;
	LIST_ENTRY(trap_stats)	 link;
};
static LIST_HEAD(, trap_stats) trap_statss =
    LIST_HEAD_INITIALIZER(trap_statss);

/* A trap_listener check's config. */
struct trap_listener {
	struct tocsin_check	*chk;
	char			*name;
	char			*listen;
	char			**communities;
	unsigned		 ncommunities;
	char			**v3_users;	/* createUser lines */
	char			**v3_names;	/* their user names */
	unsigned		 nv3;
	struct trap_sock	*sock;		/* once opened */
	char			*open_error;	/* why it could not open */
	struct trap_stats	*stats;
	LIST_ENTRY(trap_listener) link;
};
static LIST_HEAD(, trap_listener) trap_listeners =
    LIST_HEAD_INITIALIZER(trap_listeners);

/* The state of a trap check, by check name: survives a reload. */
struct trap_state {
	char			*name;
	unsigned		 refs;
	enum tocsin_state	 state;
	char			*summary;	/* NULL: no trap yet */
	uint64_t		 traps;
	LIST_ENTRY(trap_state)	 link;
};
static LIST_HEAD(, trap_state) trap_states =
    LIST_HEAD_INITIALIZER(trap_states);

/* A trap check's config. */
struct trap_check {
	struct tocsin_check	*chk;
	char			*listener;	/* NULL: any */
	char			*source;	/* NULL: any */
	oid			 oid[TRAP_OID_MAX];
	size_t			 oid_len;
	char			*oid_text;
	oid			 clear[TRAP_OID_MAX];
	size_t			 clear_len;	/* 0: none */
	char			*clear_text;
	struct trap_cond	*conds;
	unsigned		 nconds;
	enum tocsin_state	 on_trap;
	struct trap_state	*st;
	LIST_ENTRY(trap_check)	 link;
};
static LIST_HEAD(, trap_check) trap_checks = LIST_HEAD_INITIALIZER(trap_checks);

static int trap_snmp_inited;

static const struct tocsin_option listener_options[] = {
	{ "listen", TOCSIN_OPT_STR, "udp:0.0.0.0:162", 0,
	  "net-snmp transport address to receive traps on" },
	{ "community", TOCSIN_OPT_STR_LIST, "{\"public\"}", 0,
	  "v1/v2c communities accepted; others are rejected and counted" },
	{ "v3_users", TOCSIN_OPT_STR_LIST, NULL, 0,
	  "SNMPv3 users, as net-snmp's createUser: \"-e ENGINEID NAME SHA "
	  "AUTHPASS [AES PRIVPASS]\"" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static const struct tocsin_option trap_options[] = {
	{ "oid", TOCSIN_OPT_STR, NULL, TOCSIN_OPT_REQUIRED,
	  "trap OID that raises the check (name or number)" },
	{ "clear_oid", TOCSIN_OPT_STR, NULL, 0,
	  "trap OID that makes the check OK again" },
	{ "match", TOCSIN_OPT_STR, NULL, 0,
	  "\"NAME=VALUE, ...\": varbinds both traps must carry" },
	{ "source", TOCSIN_OPT_STR, NULL, 0,
	  "sender's address the traps must come from (default: any)" },
	{ "listener", TOCSIN_OPT_STR, NULL, 0,
	  "trap_listener check that receives them (default: any)" },
	{ "state", TOCSIN_OPT_STR, "critical", 0,
	  "state on a trap: warning or critical" },
	{ NULL, TOCSIN_OPT_END, NULL, 0, NULL },
};

static void
trap_snmp_init(void)
{
	if (trap_snmp_inited)
		return;
	/* a library inside a daemon: no snmp.conf, no persistent files */
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
	init_snmp("tocsin");	/* once per process: a no-op after snmp's */
	{
		/* as the snmp plugin does: net-snmp must stay mapped */
		Dl_info di;

		if (dladdr((void *)init_snmp, &di) != 0 && di.dli_fname != NULL)
			(void)dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD |
			    RTLD_NODELETE);
	}
	trap_snmp_inited = 1;
}

static struct trap_stats *
stats_get(const char *name)
{
	struct trap_stats *s;

	LIST_FOREACH(s, &trap_statss, link)
		if (strcmp(s->name, name) == 0) {
			s->refs++;
			return s;
		}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->name = strdup(name)) == NULL) {
		free(s);
		return NULL;
	}
	s->refs = 1;
	LIST_INSERT_HEAD(&trap_statss, s, link);
	return s;
}

static void
stats_put(struct trap_stats *s)
{
	unsigned i;

	if (s == NULL || --s->refs > 0)
		return;
	LIST_REMOVE(s, link);
	for (i = 0; i < TRAP_KEEP_UNMATCHED; i++)
		free(s->recent[i]);
	free(s->name);
	free(s);
}

static struct trap_state *
state_get(const char *name)
{
	struct trap_state *s;

	LIST_FOREACH(s, &trap_states, link)
		if (strcmp(s->name, name) == 0) {
			s->refs++;
			return s;
		}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->name = strdup(name)) == NULL) {
		free(s);
		return NULL;
	}
	s->refs = 1;
	s->state = TOCSIN_OK;
	LIST_INSERT_HEAD(&trap_states, s, link);
	return s;
}

static void
state_put(struct trap_state *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	LIST_REMOVE(s, link);
	free(s->summary);
	free(s->name);
	free(s);
}

/* ---- receiving ------------------------------------------------------ */

/* The sender's address of a received PDU, as text. */
static void
trap_source(const netsnmp_pdu *pdu, char *buf, size_t len)
{
	const struct sockaddr *sa = pdu->transport_data;

	snprintf(buf, len, "?");
	if (sa == NULL || pdu->transport_data_length <
	    (int)sizeof(struct sockaddr_in))
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6 && pdu->transport_data_length >=
	    (int)sizeof(struct sockaddr_in6))
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		    (socklen_t)len);
}

static int
community_ok(const struct trap_listener *l, const netsnmp_pdu *pdu)
{
	unsigned i;

	if (pdu->version == SNMP_VERSION_3) {
		/*
		 * net-snmp passed us the message only if its USM checked it
		 * against a user it knows (authenticated, decrypted); take it
		 * when that user is one of this listener's, not just any
		 * other listener's.
		 */
		for (i = 0; i < l->nv3; i++)
			if (pdu->securityName != NULL &&
			    strlen(l->v3_names[i]) == pdu->securityNameLen &&
			    memcmp(l->v3_names[i], pdu->securityName,
			    pdu->securityNameLen) == 0 &&
			    pdu->securityLevel >= SNMP_SEC_LEVEL_AUTHNOPRIV)
				return 1;
		return 0;
	}
	for (i = 0; i < l->ncommunities; i++)
		if (pdu->community != NULL &&
		    strlen(l->communities[i]) == pdu->community_len &&
		    memcmp(l->communities[i], pdu->community,
		    pdu->community_len) == 0)
			return 1;
	return 0;
}

/* A trap arrived on socket s: to every listener conf on it. */
static void
trap_dispatch(struct trap_sock *s, netsnmp_pdu *pdu)
{
	struct trap_listener *l;
	struct trap_check *tc;
	struct trap_msg m;
	char src[64], desc[1024], when[32];
	time_t now = time(NULL);
	struct tm tm;
	int matched;

	trap_source(pdu, src, sizeof(src));
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (trap_msg_from_pdu(pdu, src, &m) == -1) {
		tocsin_log(TOCSIN_LOG_INFO, "trap: a message from %s that is "
		    "not a trap (command 0x%02x), ignored", src,
		    (unsigned)pdu->command);
		return;
	}
	trap_msg_describe(&m, desc, sizeof(desc));
	LIST_FOREACH(l, &trap_listeners, link) {
		if (l->sock != s)
			continue;
		l->stats->received++;
		if (!community_ok(l, pdu)) {
			l->stats->rejected++;
			/* never log a community */
			tocsin_log(TOCSIN_LOG_NOTICE, "trap listener %s: "
			    "rejected a v%s trap from %s: unknown community",
			    l->name, pdu->version == SNMP_VERSION_1 ? "1" :
			    pdu->version == SNMP_VERSION_3 ? "3" : "2c", src);
			continue;
		}
		matched = 0;
		LIST_FOREACH(tc, &trap_checks, link) {
			int raise, clear;

			if (tc->listener != NULL &&
			    strcmp(tc->listener, l->name) != 0)
				continue;
			if (tc->source != NULL && strcmp(tc->source, src) != 0)
				continue;
			raise = trap_match(&m, tc->oid, tc->oid_len, tc->conds,
			    tc->nconds);
			clear = tc->clear_len > 0 && trap_match(&m, tc->clear,
			    tc->clear_len, tc->conds, tc->nconds);
			if (!raise && !clear)
				continue;
			matched = 1;
			tc->st->traps++;
			tc->st->state = raise ? tc->on_trap : TOCSIN_OK;
			free(tc->st->summary);
			if (asprintf(&tc->st->summary, "%s at %s", desc, when)
			    < 0)
				tc->st->summary = NULL;
			tocsin_log(TOCSIN_LOG_DEBUG, "trap: check %s: %s",
			    tocsin_check_name(tc->chk), desc);
			tocsin_check_run_now(tc->chk);
		}
		if (matched) {
			l->stats->matched++;
			continue;
		}
		l->stats->unmatched++;
		tocsin_log(TOCSIN_LOG_NOTICE, "trap listener %s: no trap check "
		    "matches %s", l->name, desc);
		free(l->stats->recent[l->stats->next]);
		if (asprintf(&l->stats->recent[l->stats->next], "%s %s",
		    when, desc) < 0)
			l->stats->recent[l->stats->next] = NULL;
		l->stats->next = (l->stats->next + 1) % TRAP_KEEP_UNMATCHED;
		if (l->stats->nrecent < TRAP_KEEP_UNMATCHED)
			l->stats->nrecent++;
	}
}

/* netsnmp_callback: a message net-snmp parsed from the socket. */
static int
trap_input_cb(int op, netsnmp_session *sess, int reqid, netsnmp_pdu *pdu,
    void *magic)
{
	struct trap_sock *s = magic;

	(void)sess;
	(void)reqid;
	if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || pdu == NULL)
		return 1;
	if (pdu->command == SNMP_MSG_INFORM) {
		netsnmp_pdu *reply = snmp_clone_pdu(pdu);

		if (reply != NULL) {
			reply->command = SNMP_MSG_RESPONSE;
			reply->errstat = 0;
			reply->errindex = 0;
			if (snmp_sess_send(s->sess, reply) == 0)
				snmp_free_pdu(reply);
		}
	}
	trap_dispatch(s, pdu);
	return 1;
}

static void
trap_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct trap_sock *s = arg;
	netsnmp_large_fd_set fds;

	(void)what;
	netsnmp_large_fd_set_init(&fds, fd + 1);
	NETSNMP_LARGE_FD_SET(fd, &fds);
	snmp_sess_read2(s->sess, &fds);
	netsnmp_large_fd_set_cleanup(&fds);
}

/* Opens (or shares) the socket for listen.  RETURN VALUE: it, or NULL. */
static struct trap_sock *
trap_sock_open(const char *listen, char *why, size_t len)
{
	struct trap_sock *s;
	netsnmp_session sess;

	LIST_FOREACH(s, &trap_socks, link)
		if (strcmp(s->listen, listen) == 0) {
			s->refs++;
			return s;
		}
	trap_snmp_init();
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->listen = strdup(listen)) == NULL) {
		free(s);
		snprintf(why, len, "out of memory");
		return NULL;
	}
	s->t = netsnmp_transport_open_server("snmptrap", listen);
	if (s->t == NULL) {
		snprintf(why, len, "cannot listen on %s: %s", listen,
		    errno != 0 ? strerror(errno) : "bad address");
		goto fail;
	}
	snmp_sess_init(&sess);
	sess.peername = SNMP_DEFAULT_PEERNAME;
	sess.version = SNMP_DEFAULT_VERSION;
	sess.community_len = SNMP_DEFAULT_COMMUNITY_LEN;
	sess.retries = SNMP_DEFAULT_RETRIES;
	sess.timeout = SNMP_DEFAULT_TIMEOUT;
	sess.callback = trap_input_cb;
	sess.callback_magic = s;
	sess.isAuthoritative = SNMP_SESS_UNKNOWNAUTH;
	if ((s->sess = snmp_sess_add(&sess, s->t, NULL, NULL)) == NULL) {
		/* snmp_sess_add closed the transport */
		s->t = NULL;
		snprintf(why, len, "cannot listen on %s: %s", listen,
		    snmp_api_errstring(snmp_errno));
		goto fail;
	}
	s->ev = event_new(tocsin_event_base(), s->t->sock, EV_READ |
	    EV_PERSIST, trap_read_cb, s);
	if (s->ev == NULL || event_add(s->ev, NULL) == -1) {
		snprintf(why, len, "cannot watch the socket of %s", listen);
		snmp_sess_close(s->sess);
		goto fail;
	}
	s->refs = 1;
	LIST_INSERT_HEAD(&trap_socks, s, link);
	tocsin_log(TOCSIN_LOG_INFO, "trap: listening on %s", listen);
	return s;
fail:
	if (s->ev != NULL)
		event_free(s->ev);
	if (s->sess == NULL && s->t != NULL)
		netsnmp_transport_free(s->t);
	free(s->listen);
	free(s);
	return NULL;
}

static void
trap_sock_close(struct trap_sock *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	LIST_REMOVE(s, link);
	event_free(s->ev);
	snmp_sess_close(s->sess);	/* closes the transport */
	tocsin_log(TOCSIN_LOG_INFO, "trap: no longer listening on %s",
	    s->listen);
	free(s->listen);
	free(s);
}

/*
 * Give net-snmp's USM l's v3 users (it keeps them process-wide, by engine
 * ID and name; one it has already is not added again).  The pass phrases
 * are never logged.
 */
static void
listener_users(struct trap_listener *l)
{
	unsigned i;

	for (i = 0; i < l->nv3; i++) {
		char *line = strdup(l->v3_users[i]);

		if (line == NULL)
			continue;
		/* it parses (and changes) line in place */
		usm_parse_create_usmUser("createUser", line);
		free(line);
	}
}

/* Make sure l listens.  RETURN VALUE: 0, or -1 (l->open_error). */
static int
listener_open(struct trap_listener *l)
{
	char why[256];

	if (l->sock != NULL)
		return 0;
	listener_users(l);
	if ((l->sock = trap_sock_open(l->listen, why, sizeof(why))) == NULL) {
		if (l->open_error == NULL || strcmp(l->open_error, why) != 0) {
			tocsin_log(TOCSIN_LOG_ERR, "trap listener %s: %s",
			    l->name, why);
			free(l->open_error);
			l->open_error = strdup(why);
		}
		return -1;
	}
	free(l->open_error);
	l->open_error = NULL;
	return 0;
}

/* ---- trap_listener --------------------------------------------------- */

static void	listener_free(void *);

static int
listener_configure(struct tocsin_check *chk, struct tocsin_conf *cf,
    void **priv)
{
	struct trap_listener *l;
	const char *s = tocsin_conf_str(cf, "listen");
	unsigned i, n;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	l->chk = chk;
	if ((l->name = strdup(tocsin_check_name(chk))) == NULL ||
	    (l->listen = strdup(s)) == NULL ||
	    (l->stats = stats_get(l->name)) == NULL)
		goto fail;
	n = tocsin_conf_list_size(cf, "community");
	if (n > 0 && (l->communities = calloc(n, sizeof(char *))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((l->communities[i] = strdup(tocsin_conf_list_str(cf,
		    "community", i))) == NULL)
			goto fail;
		l->ncommunities++;
	}
	n = tocsin_conf_list_size(cf, "v3_users");
	if (n > 0 && ((l->v3_users = calloc(n, sizeof(char *))) == NULL ||
	    (l->v3_names = calloc(n, sizeof(char *))) == NULL))
		goto fail;
	for (i = 0; i < n; i++) {
		const char *u = tocsin_conf_list_str(cf, "v3_users", i);
		char name[64];
		int used = 0;

		/* "-e ENGINEID NAME AUTHPROTO AUTHPASS [PRIVPROTO PRIVPASS]" */
		if (sscanf(u, "-e %*s %63s %n", name, &used) != 1 ||
		    used == 0 || (strncasecmp(u + used, "SHA", 3) != 0 &&
		    strncasecmp(u + used, "MD5", 3) != 0)) {
			tocsin_conf_error(cf, "v3_users", "entry %u is not "
			    "\"-e ENGINEID NAME SHA|MD5 AUTHPASS [AES|DES "
			    "PRIVPASS]\"", i + 1);
			LIST_INSERT_HEAD(&trap_listeners, l, link);
			listener_free(l);
			return -1;
		}
		if ((l->v3_users[i] = strdup(u)) == NULL ||
		    (l->v3_names[i] = strdup(name)) == NULL) {
			free(l->v3_users[i]);
			goto fail;
		}
		l->nv3++;
	}
	if (strncmp(s, "udp:", 4) != 0 && strncmp(s, "udp6:", 5) != 0) {
		tocsin_conf_error(cf, "listen", "\"%s\" is not udp:ADDRESS:"
		    "PORT or udp6:[ADDRESS]:PORT", s);
		LIST_INSERT_HEAD(&trap_listeners, l, link);
		listener_free(l);
		return -1;
	}
	/*
	 * A reload: the running config's listener has this address open;
	 * share its socket at once, so that no trap is missed in between.
	 */
	{
		struct trap_sock *ts;

		LIST_FOREACH(ts, &trap_socks, link)
			if (strcmp(ts->listen, l->listen) == 0) {
				ts->refs++;
				l->sock = ts;
				listener_users(l);	/* new ones */
				break;
			}
	}
	LIST_INSERT_HEAD(&trap_listeners, l, link);
	*priv = l;
	return 0;
fail:
	LIST_INSERT_HEAD(&trap_listeners, l, link);
	listener_free(l);
	return -1;
}

static void
listener_free(void *priv)
{
	struct trap_listener *l = priv;
	unsigned i;

	if (l == NULL)
		return;
	LIST_REMOVE(l, link);
	trap_sock_close(l->sock);
	stats_put(l->stats);
	for (i = 0; i < l->ncommunities; i++)
		free(l->communities[i]);
	free(l->communities);
	for (i = 0; i < l->nv3; i++) {
		/* a pass phrase: do not leave it in freed memory */
		explicit_bzero(l->v3_users[i], strlen(l->v3_users[i]));
		free(l->v3_users[i]);
		free(l->v3_names[i]);
	}
	free(l->v3_users);
	free(l->v3_names);
	free(l->open_error);
	free(l->listen);
	free(l->name);
	free(l);
}

static void
trap_metric(struct tocsin_run *run, const char *name, double v)
{
	struct tocsin_metric m;

	memset(&m, 0, sizeof(m));
	m.name = name;
	m.value = v;
	m.unit = "c";
	m.flags = TOCSIN_METRIC_COUNTER;
	m.min = 0;
	m.max = NAN;
	tocsin_run_metric(run, &m);
}

static void
listener_start(struct tocsin_run *run, void *priv)
{
	struct trap_listener *l = priv;
	struct trap_stats *st = l->stats;
	char sum[512], *lo = NULL, *p;
	size_t len = 0;
	unsigned i, k;
	FILE *f;

	if (listener_open(l) == -1) {
		tocsin_run_finish(run, TOCSIN_CRITICAL, l->open_error);
		return;
	}
	trap_metric(run, "received", (double)st->received);
	trap_metric(run, "matched", (double)st->matched);
	trap_metric(run, "unmatched", (double)st->unmatched);
	trap_metric(run, "rejected", (double)st->rejected);
	/* long output: the last unmatched traps, newest first */
	if (st->nrecent > 0 && (f = open_memstream(&lo, &len)) != NULL) {
		fprintf(f, "last unmatched traps:\n");
		for (i = 0; i < st->nrecent; i++) {
			k = (st->next + TRAP_KEEP_UNMATCHED - 1 - i) %
			    TRAP_KEEP_UNMATCHED;
			if (st->recent[k] != NULL)
				fprintf(f, "%s\n", st->recent[k]);
		}
		fclose(f);
		tocsin_run_long_output(run, lo);
		free(lo);
	}
	p = NULL;
	if (st->nrecent > 0)
		p = st->recent[(st->next + TRAP_KEEP_UNMATCHED - 1) %
		    TRAP_KEEP_UNMATCHED];
	snprintf(sum, sizeof(sum), "listening on %s: %llu traps, %llu "
	    "matched, %llu unmatched, %llu rejected%s%.300s%s", l->listen,
	    (unsigned long long)st->received, (unsigned long long)st->matched,
	    (unsigned long long)st->unmatched,
	    (unsigned long long)st->rejected, p != NULL ? " (last unmatched: "
	    : "", p != NULL ? p : "", p != NULL ? ")" : "");
	tocsin_run_finish(run, TOCSIN_OK, sum);
}

/* ---- trap --------------------------------------------------------------- */

static void	trapc_free(void *);

static int
trapc_configure(struct tocsin_check *chk, struct tocsin_conf *cf,
    void **priv)
{
	struct trap_check *tc;
	const char *s;
	char why[256];
	int bad = 0;

	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		return -1;
	tc->chk = chk;
	LIST_INSERT_HEAD(&trap_checks, tc, link);
	s = tocsin_conf_str(cf, "oid");
	if ((tc->oid_text = strdup(s)) == NULL)
		goto fail;
	tc->oid_len = TRAP_OID_MAX;
	if (trap_oid_resolve(s, tc->oid, &tc->oid_len) == -1) {
		tocsin_conf_error(cf, "oid", "\"%s\" is not an OID or a name "
		    "tocsin or the installed MIBs know", s);
		bad = 1;
	}
	if ((s = tocsin_conf_str(cf, "clear_oid")) != NULL) {
		if ((tc->clear_text = strdup(s)) == NULL)
			goto fail;
		tc->clear_len = TRAP_OID_MAX;
		if (trap_oid_resolve(s, tc->clear, &tc->clear_len) == -1) {
			tocsin_conf_error(cf, "clear_oid", "\"%s\" is not an "
			    "OID or a name tocsin or the installed MIBs know",
			    s);
			tc->clear_len = 0;
			bad = 1;
		}
	}
	if ((s = tocsin_conf_str(cf, "match")) != NULL &&
	    trap_conds_parse(s, &tc->conds, &tc->nconds, why, sizeof(why)) ==
	    -1) {
		tocsin_conf_error(cf, "match", "%s", why);
		bad = 1;
	}
	if ((s = tocsin_conf_str(cf, "source")) != NULL) {
		unsigned char bin[16];

		if (inet_pton(AF_INET, s, bin) != 1 &&
		    inet_pton(AF_INET6, s, bin) != 1) {
			tocsin_conf_error(cf, "source", "\"%s\" is not an IPv4 "
			    "or IPv6 address", s);
			bad = 1;
		} else if ((tc->source = strdup(s)) == NULL)
			goto fail;
	}
	if ((s = tocsin_conf_str(cf, "listener")) != NULL &&
	    (tc->listener = strdup(s)) == NULL)
		goto fail;
	s = tocsin_conf_str(cf, "state");
	if (strcasecmp(s, "critical") == 0)
		tc->on_trap = TOCSIN_CRITICAL;
	else if (strcasecmp(s, "warning") == 0)
		tc->on_trap = TOCSIN_WARNING;
	else {
		tocsin_conf_error(cf, "state", "\"%s\" is not warning or "
		    "critical", s);
		bad = 1;
	}
	if ((tc->st = state_get(tocsin_check_name(chk))) == NULL)
		goto fail;
	if (bad)
		goto fail;
	*priv = tc;
	return 0;
fail:
	trapc_free(tc);
	return -1;
}

static void
trapc_free(void *priv)
{
	struct trap_check *tc = priv;

	if (tc == NULL)
		return;
	LIST_REMOVE(tc, link);
	state_put(tc->st);
	trap_conds_free(tc->conds, tc->nconds);
	free(tc->oid_text);
	free(tc->clear_text);
	free(tc->source);
	free(tc->listener);
	free(tc);
}

static void
trapc_start(struct tocsin_run *run, void *priv)
{
	struct trap_check *tc = priv;
	struct trap_listener *l, *found = NULL;
	char sum[512];
	unsigned n = 0;

	/* open what it listens on (normally the listener check did) */
	LIST_FOREACH(l, &trap_listeners, link) {
		if (tc->listener != NULL && strcmp(l->name, tc->listener) != 0)
			continue;
		n++;
		if (listener_open(l) == 0 || found == NULL)
			found = l;
	}
	if (n == 0) {
		snprintf(sum, sizeof(sum), "no trap_listener%s%s%s in the "
		    "config: no trap can arrive", tc->listener ? " \"" : "",
		    tc->listener ? tc->listener : "", tc->listener ? "\"" :
		    "");
		tocsin_run_finish(run, TOCSIN_UNKNOWN, sum);
		return;
	}
	if (tc->st->summary != NULL) {
		tocsin_run_finish(run, tc->st->state, tc->st->summary);
		return;
	}
	if (found != NULL && found->open_error != NULL) {
		tocsin_run_finish(run, TOCSIN_UNKNOWN, found->open_error);
		return;
	}
	snprintf(sum, sizeof(sum), "no %s trap received yet", tc->oid_text);
	tocsin_run_finish(run, TOCSIN_OK, sum);
}

static const struct tocsin_check_type listener_type = {
	.name = "trap_listener",
	.options = listener_options,
	.configure = listener_configure,
	.start = listener_start,
	.free = listener_free,
};

static const struct tocsin_check_type trap_type = {
	.name = "trap",
	.options = trap_options,
	.configure = trapc_configure,
	.start = trapc_start,
	.free = trapc_free,
};

static int
trap_init(void)
{
	trap_snmp_init();	/* the installed MIBs, for names we lack */
	if (tocsin_register_type(&listener_type) == -1)
		return -1;
	return tocsin_register_type(&trap_type);
}

static void
trap_fini(void)
{
	struct trap_stats *s;
	struct trap_state *t;
	unsigned i;

	/* every check was freed: only counters and states kept by name */
	while ((s = LIST_FIRST(&trap_statss)) != NULL) {
		LIST_REMOVE(s, link);
		for (i = 0; i < TRAP_KEEP_UNMATCHED; i++)
			free(s->recent[i]);
		free(s->name);
		free(s);
	}
	while ((t = LIST_FIRST(&trap_states)) != NULL) {
		LIST_REMOVE(t, link);
		free(t->summary);
		free(t->name);
		free(t);
	}
}

TOCSIN_PLUGIN("trap", trap_init, trap_fini);
