/*
 * plugins/snmp/snmp_oid.c — OID names the snmp check type knows without
 * MIB files, and the parsing of an "oids" entry.
 *
 * Debian ships no IETF MIBs, so the MIB-2 objects tocsin itself uses (the
 * system group, ifTable, ifXTable) are compiled in here; other symbolic
 * names go through whatever MIBs net-snmp finds on the system, and numeric
 * OIDs always work.  Called at configure time only, never during a run.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snmp_int.h"

struct oid_name {
	const char *name;
	const char *num;
};

static const struct oid_name known[] = {
	{ "sysDescr", "1.3.6.1.2.1.1.1" },
	{ "sysObjectID", "1.3.6.1.2.1.1.2" },
	{ "sysUpTime", "1.3.6.1.2.1.1.3" },
	{ "sysUpTimeInstance", "1.3.6.1.2.1.1.3.0" },
	{ "sysContact", "1.3.6.1.2.1.1.4" },
	{ "sysName", "1.3.6.1.2.1.1.5" },
	{ "sysLocation", "1.3.6.1.2.1.1.6" },
	{ "sysServices", "1.3.6.1.2.1.1.7" },
	{ "ifNumber", "1.3.6.1.2.1.2.1" },
	{ "ifTable", "1.3.6.1.2.1.2.2" },
	{ "ifEntry", "1.3.6.1.2.1.2.2.1" },
	{ "ifIndex", "1.3.6.1.2.1.2.2.1.1" },
	{ "ifDescr", "1.3.6.1.2.1.2.2.1.2" },
	{ "ifType", "1.3.6.1.2.1.2.2.1.3" },
	{ "ifMtu", "1.3.6.1.2.1.2.2.1.4" },
	{ "ifSpeed", "1.3.6.1.2.1.2.2.1.5" },
	{ "ifPhysAddress", "1.3.6.1.2.1.2.2.1.6" },
	{ "ifAdminStatus", "1.3.6.1.2.1.2.2.1.7" },
	{ "ifOperStatus", "1.3.6.1.2.1.2.2.1.8" },
	{ "ifLastChange", "1.3.6.1.2.1.2.2.1.9" },
	{ "ifInOctets", "1.3.6.1.2.1.2.2.1.10" },
	{ "ifInUcastPkts", "1.3.6.1.2.1.2.2.1.11" },
	{ "ifInNUcastPkts", "1.3.6.1.2.1.2.2.1.12" },
	{ "ifInDiscards", "1.3.6.1.2.1.2.2.1.13" },
	{ "ifInErrors", "1.3.6.1.2.1.2.2.1.14" },
	{ "ifInUnknownProtos", "1.3.6.1.2.1.2.2.1.15" },
	{ "ifOutOctets", "1.3.6.1.2.1.2.2.1.16" },
	{ "ifOutUcastPkts", "1.3.6.1.2.1.2.2.1.17" },
	{ "ifOutNUcastPkts", "1.3.6.1.2.1.2.2.1.18" },
	{ "ifOutDiscards", "1.3.6.1.2.1.2.2.1.19" },
	{ "ifOutErrors", "1.3.6.1.2.1.2.2.1.20" },
	{ "ifOutQLen", "1.3.6.1.2.1.2.2.1.21" },
	{ "ifSpecific", "1.3.6.1.2.1.2.2.1.22" },
	{ "ifXTable", "1.3.6.1.2.1.31.1.1" },
	{ "ifXEntry", "1.3.6.1.2.1.31.1.1.1" },
	{ "ifName", "1.3.6.1.2.1.31.1.1.1.1" },
	{ "ifInMulticastPkts", "1.3.6.1.2.1.31.1.1.1.2" },
	{ "ifInBroadcastPkts", "1.3.6.1.2.1.31.1.1.1.3" },
	{ "ifOutMulticastPkts", "1.3.6.1.2.1.31.1.1.1.4" },
	{ "ifOutBroadcastPkts", "1.3.6.1.2.1.31.1.1.1.5" },
	{ "ifHCInOctets", "1.3.6.1.2.1.31.1.1.1.6" },
	{ "ifHCInUcastPkts", "1.3.6.1.2.1.31.1.1.1.7" },
	{ "ifHCInMulticastPkts", "1.3.6.1.2.1.31.1.1.1.8" },
	{ "ifHCInBroadcastPkts", "1.3.6.1.2.1.31.1.1.1.9" },
	{ "ifHCOutOctets", "1.3.6.1.2.1.31.1.1.1.10" },
	{ "ifHCOutUcastPkts", "1.3.6.1.2.1.31.1.1.1.11" },
	{ "ifHCOutMulticastPkts", "1.3.6.1.2.1.31.1.1.1.12" },
	{ "ifHCOutBroadcastPkts", "1.3.6.1.2.1.31.1.1.1.13" },
	{ "ifLinkUpDownTrapEnable", "1.3.6.1.2.1.31.1.1.1.14" },
	{ "ifHighSpeed", "1.3.6.1.2.1.31.1.1.1.15" },
	{ "ifPromiscuousMode", "1.3.6.1.2.1.31.1.1.1.16" },
	{ "ifConnectorPresent", "1.3.6.1.2.1.31.1.1.1.17" },
	{ "ifAlias", "1.3.6.1.2.1.31.1.1.1.18" },
	{ "ifCounterDiscontinuityTime", "1.3.6.1.2.1.31.1.1.1.19" },
	{ NULL, NULL },
};

/* "1.3.6.1" or ".1.3.6.1": digits and single dots only. */
int
snmp_oid_parse_numeric(const char *s, oid *out, size_t *len)
{
	size_t n = 0;
	unsigned long long v;
	char *end;

	if (*s == '.')
		s++;
	if (*s == '\0')
		return -1;
	for (;;) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = strtoull(s, &end, 10);
		if (v > 0xffffffffULL || n >= *len)
			return -1;
		out[n++] = (oid)v;
		s = end;
		if (*s == '\0')
			break;
		if (*s != '.')
			return -1;
		s++;
	}
	*len = n;
	return n >= 2 ? 0 : -1;
}

/* A built-in name, "MODULE::" prefix allowed, with an optional ".N.M" suffix. */
static int
resolve_known(const char *text, oid *out, size_t *len)
{
	const struct oid_name *k;
	const char *p, *name = text;
	size_t nlen, cap = *len, n, m;
	oid tail[MAX_OID_LEN];

	if ((p = strstr(text, "::")) != NULL)
		name = p + 2;
	nlen = strcspn(name, ".");
	for (k = known; k->name != NULL; k++)
		if (strlen(k->name) == nlen && strncmp(k->name, name, nlen) == 0)
			break;
	if (k->name == NULL)
		return -1;
	n = cap;
	if (snmp_oid_parse_numeric(k->num, out, &n) < 0)
		return -1;
	if (name[nlen] == '.') {
		m = MAX_OID_LEN;
		/* a single sub-identifier suffix is fine too: ".0" */
		if (snmp_oid_parse_numeric(name + nlen, tail, &m) < 0) {
			char *end;
			unsigned long v = strtoul(name + nlen + 1, &end, 10);

			if (*end != '\0' || !isdigit((unsigned char)
			    name[nlen + 1]) || v > 0xffffffffUL)
				return -1;
			tail[0] = (oid)v;
			m = 1;
		}
		if (n + m > cap)
			return -1;
		memcpy(out + n, tail, m * sizeof(oid));
		n += m;
	} else if (name[nlen] != '\0')
		return -1;
	*len = n;
	return 0;
}

int
snmp_oid_resolve(const char *text, oid *out, size_t *len)
{
	size_t cap = *len;

	if (snmp_oid_parse_numeric(text, out, len) == 0)
		return 0;
	if (text[strspn(text, "0123456789.")] == '\0')
		return -1;	/* numeric but malformed: no MIB guessing */
	*len = cap;
	if (resolve_known(text, out, len) == 0)
		return 0;
	/*
	 * Anything else: the system's MIBs, which init_snmp() read — for what
	 * looks like a MIB name only.  net-snmp may turn the text into a
	 * regex: "IFl" + 64 "+" + "-MIB" costs a second of regcomp, longer
	 * ones gigabytes (found by fuzz_trap in the trap plugin's copy).
	 */
	if (strlen(text) > 128 || text[strspn(text, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.")] != '\0')
		return -1;
	*len = cap;
	if (snmp_parse_oid(text, out, len) != NULL)
		return 0;
	return -1;
}

void
snmp_oid_format(const oid *o, size_t len, char *buf, size_t size)
{
	size_t i, used = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < len && used < size; i++) {
		n = snprintf(buf + used, size - used, i ? ".%lu" : "%lu",
		    (unsigned long)o[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
