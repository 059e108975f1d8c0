/*
 * fuzz_trap.c — libFuzzer harness for what the trap check types do with
 * a received trap (plugins/trap/trap_match.c) and with a check's match
 * text.
 *
 * Input: byte 0 says what the rest is.  Bit 1 set: a `match` string, as
 * trap_conds_parse() reads it from a config.  Otherwise the PDU of a
 * trap (the part of a message after version and community, as net-snmp's
 * snmp_pdu_parse() reads it; bit 0: SNMPv1), turned into a trap with
 * trap_msg_from_pdu(), described, and matched against linkDown with
 * "ifIndex=3, ifDescr=eth0".  Promises beyond "no crash, no sanitizer
 * report": descriptions and reasons are printable and terminated, at
 * most TRAP_MAX_VB varbinds are kept.
 *
 * Seeds: real traps from snmptrap and snmpinform (v2c linkDown/linkUp,
 * v1 generic and enterprise-specific) and a match string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trap_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t cap)
{
	size_t i;

	for (i = 0; i < cap && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
	if (i == cap)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	static struct trap_cond *conds;
	static unsigned nconds;
	static oid linkdown[TRAP_OID_MAX];
	static size_t linkdown_len = TRAP_OID_MAX;
	struct trap_msg m;
	struct trap_cond *c;
	netsnmp_pdu *pdu;
	unsigned n, i;
	char why[256], desc[2048], *text;
	u_char *buf;
	size_t len;

	if (!inited) {
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
		    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
		    NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
		    NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
		snmp_disable_log();
		init_snmp("fuzz");
		if (trap_conds_parse("ifIndex=3, ifDescr=eth0", &conds,
		    &nconds, why, sizeof(why)) == -1 ||
		    trap_oid_resolve("linkDown", linkdown, &linkdown_len) == -1)
			abort();
		inited = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 2) {
		if ((text = malloc(size)) == NULL)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		memset(why, 0, sizeof(why));
		if (trap_conds_parse(text, &c, &n, why, sizeof(why)) == 0)
			trap_conds_free(c, n);
		else
			check_text(why, sizeof(why));
		free(text);
		return 0;
	}
	len = size - 1;
	if ((buf = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, len);
	pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
	pdu->version = (data[0] & 1) ? SNMP_VERSION_1 : SNMP_VERSION_2c;
	if (snmp_pdu_parse(pdu, buf, &len) == 0 &&
	    trap_msg_from_pdu(pdu, "192.0.2.1", &m) == 0) {
		if (m.nvb > TRAP_MAX_VB || m.trap_len > TRAP_OID_MAX)
			abort();
		for (i = 0; i < m.nvb; i++)
			check_text(m.vb[i].value, sizeof(m.vb[i].value));
		trap_msg_describe(&m, desc, sizeof(desc));
		check_text(desc, sizeof(desc));
		(void)trap_match(&m, linkdown, linkdown_len, conds, nconds);
		(void)trap_match(&m, linkdown, linkdown_len, NULL, 0);
	}
	snmp_free_pdu(pdu);
	free(buf);
	return 0;
}
