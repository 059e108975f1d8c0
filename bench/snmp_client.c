/*
 * bench/snmp_client.c — the reference of bench/snmp: a bare net-snmp
 * asynchronous client doing what one tocsind snmp run does (open a
 * session, GET sysUpTime.0 + sysName.0, close), with C of them in
 * flight at once, for a fixed time, on a plain select() loop.
 *
 *   snmp_client PEER COMMUNITY CONCURRENCY SECONDS
 *
 * Prints "gets N seconds S cpu C timeouts T" (CPU in seconds, user+sys).
 * Built by bench/snmp with the flags of net-snmp-config.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>

struct slot {
	void *sess;
	int busy;
};

static const char *peer, *community;
static long gets, timeouts;
static int stop;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cb(int op, netsnmp_session *ss, int reqid, netsnmp_pdu *pdu, void *magic)
{
	struct slot *s = magic;

	(void)ss;
	(void)reqid;
	(void)pdu;
	if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE)
		gets++;
	else if (op == NETSNMP_CALLBACK_OP_TIMED_OUT)
		timeouts++;
	s->busy = 0;		/* closed and reopened by the loop */
	return 1;
}

static void
slot_start(struct slot *s)
{
	static const oid up[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
	static const oid svc[] = { 1, 3, 6, 1, 2, 1, 1, 5, 0 };	/* sysName.0 */
	netsnmp_session ss;
	netsnmp_pdu *pdu;

	snmp_sess_init(&ss);
	ss.peername = (char *)peer;
	ss.version = SNMP_VERSION_2c;
	ss.community = (u_char *)community;
	ss.community_len = strlen(community);
	ss.timeout = 1000000;
	ss.retries = 1;
	if ((s->sess = snmp_sess_open(&ss)) == NULL) {
		fprintf(stderr, "snmp_sess_open failed\n");
		exit(1);
	}
	pdu = snmp_pdu_create(SNMP_MSG_GET);
	snmp_add_null_var(pdu, up, OID_LENGTH(up));
	snmp_add_null_var(pdu, svc, OID_LENGTH(svc));
	if (snmp_sess_async_send(s->sess, pdu, cb, s) == 0) {
		fprintf(stderr, "send failed\n");
		exit(1);
	}
	s->busy = 1;
}

int
main(int argc, char **argv)
{
	struct slot *slots;
	struct rusage ru;
	double t0, t1, cpu, last_timeouts = 0;
	int check_timeouts;
	int c, i, secs;

	if (argc != 5) {
		fprintf(stderr, "usage: %s PEER COMMUNITY CONCURRENCY SECONDS\n",
		    argv[0]);
		return 2;
	}
	peer = argv[1];
	community = argv[2];
	c = atoi(argv[3]);
	secs = atoi(argv[4]);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	snmp_disable_log();
	init_snmp("bench");
	slots = calloc((size_t)c, sizeof(*slots));
	t0 = now();
	for (i = 0; i < c; i++)
		slot_start(&slots[i]);
	while (!stop) {
		{
			fd_set rfds;
			struct timeval tv = { 0, 100000 };
			int maxfd = -1, fd;

			FD_ZERO(&rfds);
			for (i = 0; i < c; i++) {
				if (slots[i].sess == NULL)
					continue;
				fd = snmp_sess_transport(slots[i].sess)->sock;
				FD_SET(fd, &rfds);
				if (fd > maxfd)
					maxfd = fd;
			}
			if (select(maxfd + 1, &rfds, NULL, NULL, &tv) < 0)
				break;
			/* retransmissions: looked at ten times a second */
			check_timeouts = now() - last_timeouts > 0.1;
			if (check_timeouts)
				last_timeouts = now();
			for (i = 0; i < c; i++) {
				if (slots[i].sess == NULL)
					continue;
				fd = snmp_sess_transport(slots[i].sess)->sock;
				if (FD_ISSET(fd, &rfds))
					snmp_sess_read(slots[i].sess, &rfds);
				else if (check_timeouts)
					snmp_sess_timeout(slots[i].sess);
				if (!slots[i].busy) {
					snmp_sess_close(slots[i].sess);
					if (now() - t0 < secs)
						slot_start(&slots[i]);
					else
						slots[i].sess = NULL;
				}
			}
			/* sessions stop being restarted after SECONDS */
			for (i = 0; i < c && slots[i].sess == NULL; i++)
				;
			if (i == c)
				stop = 1;
		}
	}
	t1 = now();
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("gets %ld seconds %.3f cpu %.3f timeouts %ld\n", gets, t1 - t0,
	    cpu, timeouts);
	free(slots);
	snmp_shutdown("bench");
	return 0;
}
