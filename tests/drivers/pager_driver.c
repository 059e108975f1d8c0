/*
 * pager_driver.c — a cluster member that pages (src/incident/cluster.c for
 * the leadership, cluster_outbox.c for the rows) against a real
 * PostgreSQL and a webhook receiver, for tests/integration/
 * test_cluster_outbox.py:
 *
 *   pager_driver CONNINFO NODE LEASE_MS URL CONCURRENCY
 *
 * While it leads: takes back what a former leader had in flight, then
 * claims due rows (up to CONCURRENCY in flight), POSTs each to URL with
 * the header Idempotency-Key (body {"id", "key", "node", "resend"}),
 * and settles it (sent on 2xx, else due again in 500 ms).  Prints a JSON
 * line every second and when its leadership changes: {"leader", "posted",
 * "sent", "retried", "lost_settles", "taken_back"}.  Until SIGTERM.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "core/log.h"
#include "incident/cluster.h"
#include "incident/cluster_outbox.h"
#include "incident/pg_conn.h"

static struct event_base *base;
static struct cluster *cl;
static struct pgc *pg;
static const char *node;
static char claimer[96];	/* this run of node */
static struct evhttp_uri *uri;
static int concurrency, inflight;
static bool leading, claiming, taking;
static long posted, sent, retried, lost, taken_back;
static struct event *later;

struct req {
	int64_t id;
	int attempts;
};

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
report(void)
{
	printf("{\"leader\":%s,\"posted\":%ld,\"sent\":%ld,\"retried\":%ld,"
	    "\"lost_settles\":%ld,\"taken_back\":%ld,\"inflight\":%d}\n",
	    leading ? "true" : "false", posted, sent, retried, lost,
	    taken_back, inflight);
	fflush(stdout);
}

static void pump(void);

static void
settled(void *arg, bool ok)
{
	(void)arg;
	if (!ok)
		lost++;
}

static void
answered(struct evhttp_request *r, void *arg)
{
	struct req *q = arg;
	int code = r != NULL ? evhttp_request_get_response_code(r) : 0;

	inflight--;
	if (code >= 200 && code < 300) {
		sent++;
		cob_sent(pg, claimer, q->id, now_ms(), q->attempts + 1, settled,
		    NULL);
	} else {
		retried++;
		cob_retry(pg, claimer, q->id, q->attempts + 1, now_ms() + 500,
		    "no 2xx", settled, NULL);
	}
	free(q);
	pump();
}

static void
post(const struct cob_row *row)
{
	struct evhttp_connection *c;
	struct evhttp_request *r;
	struct req *q = calloc(1, sizeof(*q));
	char body[256];

	if (q == NULL)
		return;
	q->id = row->id;
	q->attempts = row->attempts;
	c = evhttp_connection_base_new(base, NULL, evhttp_uri_get_host(uri),
	    (unsigned short)evhttp_uri_get_port(uri));
	r = evhttp_request_new(answered, q);
	evhttp_connection_free_on_completion(c);
	evhttp_connection_set_timeout(c, 10);
	evhttp_add_header(evhttp_request_get_output_headers(r), "Host",
	    "127.0.0.1");
	evhttp_add_header(evhttp_request_get_output_headers(r),
	    "Content-Type", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(r),
	    "Idempotency-Key", row->idem_key);
	snprintf(body, sizeof(body), "{\"id\":%lld,\"key\":\"%s\","
	    "\"node\":\"%s\",\"resend\":%s}", (long long)row->id,
	    row->idem_key, node, row->resend ? "true" : "false");
	evbuffer_add(evhttp_request_get_output_buffer(r), body, strlen(body));
	inflight++;
	posted++;
	evhttp_make_request(c, r, EVHTTP_REQ_POST, evhttp_uri_get_path(uri));
}

static void
claimed(void *arg, const struct cob_row *rows, int n)
{
	struct timeval tenth = { 0, 100000 };
	int i;

	(void)arg;
	claiming = false;
	for (i = 0; i < n; i++)
		post(&rows[i]);
	if (n <= 0)
		evtimer_add(later, &tenth);
	else
		pump();
}

static void
pump(void)
{
	if (!leading || claiming || taking || inflight >= concurrency ||
	    !pgc_up(pg))
		return;
	claiming = true;
	if (cob_claim(pg, claimer, now_ms(), concurrency - inflight, claimed,
	    NULL) != 0)
		claiming = false;
}

static void
taken(void *arg, long n)
{
	(void)arg;
	taking = false;
	if (n < 0) {		/* try again before claiming anything */
		leading = false;
		return;
	}
	taken_back += n;
	pump();
}

static void
on_change(void *arg)
{
	bool now = cluster_is_leader(cl);

	(void)arg;
	if (now && !leading && pgc_up(pg) && !taking) {
		leading = true;
		taking = true;
		if (cob_takeover(pg, claimer, taken, NULL) != 0)
			taking = false;
	} else if (!now)
		leading = false;
	report();
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!leading && cluster_is_leader(cl))
		on_change(NULL);
	pump();
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	later_cb(-1, 0, NULL);
	report();
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopexit(base, NULL);
}

int
main(int argc, char *argv[])
{
	struct cluster_opts o;
	struct timeval sec = { 1, 0 };
	struct event *t, *sig;

	if (argc != 6) {
		fprintf(stderr, "usage: pager_driver CONNINFO NODE LEASE_MS "
		    "URL CONCURRENCY\n");
		return 2;
	}
	log_init(true, LOG_INFO);
	base = event_base_new();
	node = argv[2];
	concurrency = atoi(argv[5]);
	if ((uri = evhttp_uri_parse(argv[4])) == NULL)
		return 2;
	memset(&o, 0, sizeof(o));
	o.database = argv[1];
	o.node = node;
	o.lease_ms = atol(argv[3]);
	o.config_hash = "same";
	snprintf(claimer, sizeof(claimer), "%s/%lld", node,
	    (long long)now_ms());
	pg = pgc_new(base, argv[1], NULL, NULL);
	cl = cluster_new(base, &o, on_change, NULL);
	later = evtimer_new(base, later_cb, NULL);
	t = event_new(base, -1, EV_PERSIST, tick, NULL);
	sig = evsignal_new(base, SIGTERM, on_signal, NULL);
	if (pg == NULL || cl == NULL)
		return 1;
	event_add(t, &sec);
	event_add(sig, NULL);
	report();
	event_base_dispatch(base);
	cluster_free(cl);
	pgc_free(pg);
	event_free(later);
	event_free(t);
	event_free(sig);
	evhttp_uri_free(uri);
	event_base_free(base);
	return 0;
}
