/*
 * bench/snmp_client.c — the reference of bench/snmp: a bare net-snmp
 * asynchronous client doing what tocsind's snmp runs do (GET sysUpTime.0
 * + sysName.0 on one kept session per agent), with C requests in flight
 * on that one session at once, for a fixed time, on a plain select()
 * loop.
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

static const char *peer, *community;
static void *sess;
static long gets, timeouts, done;	/* done: answered since the last send */
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
	(void)ss;
	(void)reqid;
	(void)pdu;
	(void)magic;
	if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE)
		gets++;
	else if (op == NETSNMP_CALLBACK_OP_TIMED_OUT)
		timeouts++;
	else
		return 1;
	done++;			/* the loop sends another */
	return 1;
}

static void
send_one(void)
{
	static const oid up[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
	static const oid svc[] = { 1, 3, 6, 1, 2, 1, 1, 5, 0 };	/* sysName.0 */
	netsnmp_pdu *pdu;

	pdu = snmp_pdu_create(SNMP_MSG_GET);
	snmp_add_null_var(pdu, up, OID_LENGTH(up));
	snmp_add_null_var(pdu, svc, OID_LENGTH(svc));
	if (snmp_sess_async_send(sess, pdu, cb, NULL) == 0) {
		fprintf(stderr, "send failed\n");
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	netsnmp_session ss;
	struct rusage ru;
	double t0, t1, cpu, last_timeouts = 0;
	long inflight;
	int c, i, secs, fd;

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
	snmp_sess_init(&ss);
	ss.peername = (char *)peer;
	ss.version = SNMP_VERSION_2c;
	ss.community = (u_char *)community;
	ss.community_len = strlen(community);
	ss.timeout = 2500000;
	ss.retries = 1;
	if ((sess = snmp_sess_open(&ss)) == NULL) {
		fprintf(stderr, "snmp_sess_open failed\n");
		return 1;
	}
	fd = snmp_sess_transport(sess)->sock;
	t0 = now();
	for (i = 0; i < c; i++)
		send_one();
	inflight = c;
	while (!stop) {
		fd_set rfds;
		struct timeval tv = { 0, 100000 };

		FD_ZERO(&rfds);
		FD_SET(fd, &rfds);
		if (select(fd + 1, &rfds, NULL, NULL, &tv) < 0)
			break;
		if (FD_ISSET(fd, &rfds))
			snmp_sess_read(sess, &rfds);
		/* retransmissions: looked at ten times a second */
		if (now() - last_timeouts > 0.1) {
			last_timeouts = now();
			snmp_sess_timeout(sess);
		}
		inflight -= done;
		/* keep C in flight until SECONDS, then drain */
		for (; done > 0; done--)
			if (now() - t0 < secs) {
				send_one();
				inflight++;
			}
		if (inflight == 0)
			stop = 1;
	}
	t1 = now();
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("gets %ld seconds %.3f cpu %.3f timeouts %ld\n", gets, t1 - t0,
	    cpu, timeouts);
	snmp_sess_close(sess);
	snmp_shutdown("bench");
	return 0;
}
