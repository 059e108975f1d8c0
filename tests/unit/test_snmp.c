/*
 * test_snmp.c — the snmp check type's pure parts: OID names, varbind
 * values and the interface walk over hand-built replies (no agent).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "snmp_int.h"

static void
test_oid_names_and_numbers(void)
{
	static const struct {
		const char *in;
		const char *out;	/* NULL: must fail */
	} t[] = {
		{ "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.3.0" },
		{ ".1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.3.0" },
		{ "sysUpTime.0", "1.3.6.1.2.1.1.3.0" },
		{ "SNMPv2-MIB::sysUpTime.0", "1.3.6.1.2.1.1.3.0" },
		{ "ifHCInOctets.12", "1.3.6.1.2.1.31.1.1.1.6.12" },
		{ "IF-MIB::ifOperStatus.3", "1.3.6.1.2.1.2.2.1.8.3" },
		{ "ifDescr", "1.3.6.1.2.1.2.2.1.2" },
		{ "sysName.0.1", "1.3.6.1.2.1.1.5.0.1" },
		{ "1..3", NULL },
		{ "1.3.x", NULL },
		{ "", NULL },
		{ "1", NULL },
		{ "1.3.6.99999999999", NULL },
		{ "sysUpTime.", NULL },
		{ "sysUpTime.x", NULL },
		{ "noSuchNameAnywhere.0", NULL },
	};
	oid o[MAX_OID_LEN];
	char buf[256];
	size_t i, len;
	int rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		len = MAX_OID_LEN;
		rc = snmp_oid_resolve(t[i].in, o, &len);
		if (t[i].out == NULL) {
			if (rc == 0)
				printf("#   %s resolved\n", t[i].in);
			CHECK(rc < 0);
			continue;
		}
		CHECK(rc == 0);
		if (rc == 0) {
			snmp_oid_format(o, len, buf, sizeof(buf));
			CHECK_STR(buf, t[i].out);
		}
	}
}

/* A name net-snmp would make a costly regex of fails fast (< 0.2 s CPU). */
static void
test_oid_regex_name_is_refused_fast(void)
{
	char name[80];
	oid o[MAX_OID_LEN];
	size_t len = MAX_OID_LEN;
	clock_t t0;

	strcpy(name, "IFl");
	memset(name + 3, '+', 64);
	strcpy(name + 67, "-MIB");
	t0 = clock();
	CHECK(snmp_oid_resolve(name, o, &len) < 0);
	CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 0.2);
}

static void
test_values_by_type(void)
{
	netsnmp_variable_list vb;
	struct snmp_value v;
	struct counter64 c64 = { 1, 5 };
	long l;

	memset(&vb, 0, sizeof(vb));
	l = 4294967000L;
	snmp_set_var_typed_value(&vb, ASN_COUNTER, &l, sizeof(l));
	snmp_vb_value(&vb, &v);
	CHECK(v.kind == SV_COUNTER32 && v.counter == 4294967000ULL);
	snmp_set_var_typed_value(&vb, ASN_COUNTER64, &c64, sizeof(c64));
	snmp_vb_value(&vb, &v);
	CHECK(v.kind == SV_COUNTER64 && v.counter == (1ULL << 32) + 5);
	l = -7;
	snmp_set_var_typed_value(&vb, ASN_INTEGER, &l, sizeof(l));
	snmp_vb_value(&vb, &v);
	CHECK(v.kind == SV_GAUGE);
	CHECK_NUM(v.gauge, -7);
	snmp_set_var_typed_value(&vb, ASN_OCTET_STR, " 42.5\n", 6);
	snmp_vb_value(&vb, &v);
	CHECK(v.kind == SV_GAUGE);
	CHECK_NUM(v.gauge, 42.5);
	snmp_set_var_typed_value(&vb, ASN_OCTET_STR, "a\001b\377c", 5);
	snmp_vb_value(&vb, &v);
	CHECK(v.kind == SV_TEXT);
	CHECK_STR(v.text, "a?b?c");
	snmp_set_var_typed_value(&vb, ASN_OCTET_STR, "nan", 3);
	snmp_vb_value(&vb, &v);
	CHECK(v.kind == SV_TEXT);
	snmp_free_var_internals(&vb);
	vb.type = SNMP_NOSUCHINSTANCE;
	vb.val_len = 0;
	snmp_vb_value(&vb, &v);
	CHECK(v.kind == SV_EXCEPTION && v.exception == SNMP_NOSUCHINSTANCE);
	CHECK_STR(snmp_exception_name(v.exception), "noSuchInstance");
}

/* Adds column.index = value to a reply PDU. */
static void
add(netsnmp_pdu *p, const char *col, unsigned index, u_char type,
    const void *val, size_t len)
{
	oid o[MAX_OID_LEN];
	size_t n = MAX_OID_LEN;

	if (snmp_oid_resolve(col, o, &n) < 0)
		abort();
	o[n++] = index;
	snmp_pdu_add_variable(p, o, n, type, val, len);
}

static void
test_walk_takes_rows_and_stops_at_column_ends(void)
{
	struct snmp_walk w;
	netsnmp_pdu *req, *resp;
	char why[200];
	long up = 1, down = 2;
	unsigned c;

	snmp_walk_init(&w);
	req = snmp_pdu_create(SNMP_MSG_GETBULK);
	CHECK(snmp_walk_request(&w, req) == 0);
	snmp_free_pdu(req);
	CHECK(w.sent == (1u << IFC_N) - 1);
	/*
	 * Two rows of a GETBULK over every column (enum order): row one has
	 * ifIndex 1 everywhere; in row two only ifDescr and ifOperStatus go
	 * on (index 2), the others left their column (sysUpTime, say).
	 */
	resp = snmp_pdu_create(SNMP_MSG_RESPONSE);
	for (c = 0; c < IFC_N; c++) {
		if (c == IFC_DESCR)
			add(resp, "ifDescr", 1, ASN_OCTET_STR, "lo", 2);
		else if (c == IFC_NAME)
			add(resp, "ifName", 1, ASN_OCTET_STR, "lo", 2);
		else if (c == IFC_OPER)
			add(resp, "ifOperStatus", 1, ASN_INTEGER, &up,
			    sizeof(up));
		else
			add(resp, "sysUpTime", 0, ASN_TIMETICKS, &up,
			    sizeof(up));
	}
	for (c = 0; c < IFC_N; c++) {
		if (c == IFC_DESCR)
			add(resp, "ifDescr", 2, ASN_OCTET_STR, "eth0", 4);
		else if (c == IFC_OPER)
			add(resp, "ifOperStatus", 2, ASN_INTEGER, &down,
			    sizeof(down));
		else
			add(resp, "ifDescr", 9, ASN_OCTET_STR, "x", 1);
	}
	CHECK(snmp_walk_absorb(&w, resp, why, sizeof(why)) == 0);
	snmp_free_pdu(resp);
	CHECK(w.nrows == 2);
	CHECK(w.active == ((1u << IFC_DESCR) | (1u << IFC_OPER)));
	if (w.nrows == 2) {
		CHECK_STR(w.rows[0].name, "lo");
		CHECK(w.rows[0].v[IFC_OPER] == 1);
		CHECK_STR(w.rows[1].descr, "eth0");
		CHECK(w.rows[1].v[IFC_OPER] == 2);
		CHECK(!(w.rows[1].have & (1u << IFC_NAME)));
	}
	/* an agent that answers the same OID again is not followed */
	req = snmp_pdu_create(SNMP_MSG_GETBULK);
	snmp_walk_request(&w, req);
	snmp_free_pdu(req);
	resp = snmp_pdu_create(SNMP_MSG_RESPONSE);
	add(resp, "ifDescr", 2, ASN_OCTET_STR, "eth0", 4);
	add(resp, "ifOperStatus", 1, ASN_INTEGER, &up, sizeof(up));
	CHECK(snmp_walk_absorb(&w, resp, why, sizeof(why)) == 0);
	snmp_free_pdu(resp);
	CHECK(w.active == 0);
	/* an empty reply is an error, not a loop */
	w.active = 1;
	req = snmp_pdu_create(SNMP_MSG_GETBULK);
	snmp_walk_request(&w, req);
	snmp_free_pdu(req);
	resp = snmp_pdu_create(SNMP_MSG_RESPONSE);
	CHECK(snmp_walk_absorb(&w, resp, why, sizeof(why)) < 0);
	snmp_free_pdu(resp);
	snmp_walk_free(&w);
}

/* MIB parser chatter is not test output. */
static int
quiet(int major, int minor, void *serverarg, void *clientarg)
{
	(void)major;
	(void)minor;
	(void)serverarg;
	(void)clientarg;
	return 0;
}

int
main(void)
{
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	snmp_disable_log();
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING,
	    quiet, NULL);
	netsnmp_register_loghandler(NETSNMP_LOGHANDLER_CALLBACK, LOG_DEBUG);
	init_snmp("test");
	RUN(test_oid_names_and_numbers);
	RUN(test_oid_regex_name_is_refused_fast);
	RUN(test_values_by_type);
	RUN(test_walk_takes_rows_and_stops_at_column_ends);
	snmp_shutdown("test");
	return TAP_END();
}
