/*
 * trap_match.c — a received trap as the trap check types see it: its OID,
 * its varbinds as text, and whether a check's oid and conditions match.
 * Reads only what net-snmp parsed into the PDU, within the lengths it
 * gives; never more than TRAP_MAX_VB varbinds or TRAP_OID_MAX
 * sub-identifiers are kept (fuzz_trap holds it to that).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trap_match.h"

/* Names people write in configs, without MIB files (Debian ships none). */
static const struct {
	const char *name;
	const char *num;
} trap_known[] = {
	{ "coldStart", "1.3.6.1.6.3.1.1.5.1" },
	{ "warmStart", "1.3.6.1.6.3.1.1.5.2" },
	{ "linkDown", "1.3.6.1.6.3.1.1.5.3" },
	{ "linkUp", "1.3.6.1.6.3.1.1.5.4" },
	{ "authenticationFailure", "1.3.6.1.6.3.1.1.5.5" },
	{ "ifIndex", "1.3.6.1.2.1.2.2.1.1" },
	{ "ifDescr", "1.3.6.1.2.1.2.2.1.2" },
	{ "ifType", "1.3.6.1.2.1.2.2.1.3" },
	{ "ifAdminStatus", "1.3.6.1.2.1.2.2.1.7" },
	{ "ifOperStatus", "1.3.6.1.2.1.2.2.1.8" },
	{ "ifName", "1.3.6.1.2.1.31.1.1.1.1" },
	{ "ifAlias", "1.3.6.1.2.1.31.1.1.1.18" },
	{ "sysUpTime", "1.3.6.1.2.1.1.3" },
	{ "sysName", "1.3.6.1.2.1.1.5" },
	{ "snmpTrapOID", "1.3.6.1.6.3.1.1.4.1" },
	{ "snmpTrapEnterprise", "1.3.6.1.6.3.1.1.4.3" },
};
#define NKNOWN	(sizeof(trap_known) / sizeof(trap_known[0]))

static const oid oid_uptime[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 };
static const oid oid_trapoid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };
static const oid oid_std_traps[] = { 1, 3, 6, 1, 6, 3, 1, 1, 5 };

/* "1.3.6.1" or ".1.3.6.1" → out.  RETURN VALUE: 0, or -1. */
static int
parse_numeric(const char *s, oid *out, size_t *len)
{
	size_t n = 0, cap = *len;
	unsigned long v;
	char *end;

	if (*s == '.')
		s++;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s) || n >= cap)
			return -1;
		v = strtoul(s, &end, 10);
		if (v > 0xffffffffUL)
			return -1;
		out[n++] = (oid)v;
		s = end;
		if (*s == '.') {
			s++;
			if (*s == '\0')
				return -1;
		} else if (*s != '\0')
			return -1;
	}
	*len = n;
	return n >= 2 ? 0 : -1;
}

int
trap_oid_resolve(const char *text, oid *out, size_t *len)
{
	const char *p, *name = text;
	size_t cap = *len, nlen, i, n, m;

	if (text[0] == '\0')
		return -1;
	if (parse_numeric(text, out, len) == 0)
		return 0;
	if (text[strspn(text, "0123456789.")] == '\0')
		return -1;
	if ((p = strstr(text, "::")) != NULL)
		name = p + 2;
	nlen = strcspn(name, ".");
	for (i = 0; i < NKNOWN; i++)
		if (strlen(trap_known[i].name) == nlen &&
		    strncmp(trap_known[i].name, name, nlen) == 0)
			break;
	if (i < NKNOWN) {
		n = cap;
		if (parse_numeric(trap_known[i].num, out, &n) == -1)
			return -1;
		if (name[nlen] == '.') {
			m = cap - n;
			/* ".3" or ".1.2": the instance */
			if (m == 0 || parse_numeric(name + nlen, out + n, &m)
			    == -1) {
				char *end;
				unsigned long v = strtoul(name + nlen + 1,
				    &end, 10);

				if (n >= cap || *end != '\0' ||
				    !isdigit((unsigned char)name[nlen + 1]) ||
				    v > 0xffffffffUL)
					return -1;
				out[n] = (oid)v;
				m = 1;
			}
			n += m;
		} else if (name[nlen] != '\0')
			return -1;
		*len = n;
		return 0;
	}
	/*
	 * The installed MIBs, if any, for what looks like a MIB name: net-snmp
	 * may turn the text into a regex (fuzz_trap: "IFl+++…" took 2 GB in
	 * glibc's regcomp), so nothing but letters, digits, "-_:." and no
	 * longer than a name.
	 */
	if (strlen(text) > 128 || text[strspn(text, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.")] != '\0')
		return -1;
	*len = cap;
	return snmp_parse_oid(text, out, len) != NULL ? 0 : -1;
}

static int
oid_prefix(const oid *o, size_t len, const oid *pre, size_t plen)
{
	return len >= plen && memcmp(o, pre, plen * sizeof(oid)) == 0;
}

void
trap_oid_name(const oid *o, size_t len, char *buf, size_t size)
{
	oid k[TRAP_OID_MAX];
	size_t i, j, klen, used;
	int n;

	buf[0] = '\0';
	if (size == 0)
		return;
	for (i = 0; i < NKNOWN; i++) {
		klen = TRAP_OID_MAX;
		if (parse_numeric(trap_known[i].num, k, &klen) == -1 ||
		    !oid_prefix(o, len, k, klen))
			continue;
		used = (size_t)snprintf(buf, size, "%s", trap_known[i].name);
		for (j = klen; j < len && used < size; j++) {
			n = snprintf(buf + used, size - used, ".%lu",
			    (unsigned long)o[j]);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		return;
	}
	for (i = 0, used = 0; i < len && used < size; i++) {
		n = snprintf(buf + used, size - used, i ? ".%lu" : "%lu",
		    (unsigned long)o[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Printable text of len bytes. */
static void
printable(char *dst, size_t size, const unsigned char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < size; i++) {
		if (s[i] >= 0x20 && s[i] <= 0x7e)
			dst[o++] = (char)s[i];
		else
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x",
			    s[i]);
	}
	dst[o] = '\0';
}

/* A varbind's value as text: numbers in decimal, strings as such. */
static void
vb_text(const netsnmp_variable_list *vb, char *buf, size_t size)
{
	size_t i, used = 0;
	int n;

	buf[0] = '\0';
	switch (vb->type) {
	case ASN_INTEGER:
		if (vb->val.integer != NULL && vb->val_len >= sizeof(long))
			snprintf(buf, size, "%ld", *vb->val.integer);
		break;
	case ASN_COUNTER:
	case ASN_GAUGE:
	case ASN_TIMETICKS:
	case ASN_UINTEGER:
		if (vb->val.integer != NULL && vb->val_len >= sizeof(long))
			snprintf(buf, size, "%lu",
			    (unsigned long)*vb->val.integer & 0xffffffffUL);
		break;
	case ASN_COUNTER64:
		if (vb->val.counter64 != NULL &&
		    vb->val_len >= sizeof(struct counter64))
			snprintf(buf, size, "%llu", (unsigned long long)
			    vb->val.counter64->high << 32 |
			    (vb->val.counter64->low & 0xffffffffUL));
		break;
	case ASN_OCTET_STR:
	case ASN_OPAQUE:
		if (vb->val.string != NULL)
			printable(buf, size, vb->val.string, vb->val_len);
		break;
	case ASN_IPADDRESS:
		if (vb->val.string != NULL && vb->val_len == 4)
			snprintf(buf, size, "%u.%u.%u.%u", vb->val.string[0],
			    vb->val.string[1], vb->val.string[2],
			    vb->val.string[3]);
		break;
	case ASN_OBJECT_ID:
		if (vb->val.objid == NULL)
			break;
		for (i = 0; i < vb->val_len / sizeof(oid) && used < size;
		    i++) {
			n = snprintf(buf + used, size - used, i ? ".%lu" :
			    "%lu", (unsigned long)vb->val.objid[i]);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		break;
	default:
		snprintf(buf, size, "(type 0x%02x)", vb->type);
		break;
	}
}

int
trap_msg_from_pdu(const netsnmp_pdu *pdu, const char *source,
    struct trap_msg *m)
{
	const netsnmp_variable_list *vb;
	size_t n;

	memset(m, 0, sizeof(*m));
	snprintf(m->source, sizeof(m->source), "%s", source);
	m->version = (int)pdu->version;
	if (pdu->community != NULL)
		printable(m->community, sizeof(m->community), pdu->community,
		    pdu->community_len);
	if (pdu->command == SNMP_MSG_TRAP) {
		/* RFC 3584 §3.1: a v1 trap's snmpTrapOID */
		if (pdu->trap_type >= 0 && pdu->trap_type < 6) {
			memcpy(m->trap_oid, oid_std_traps,
			    sizeof(oid_std_traps));
			m->trap_len = sizeof(oid_std_traps) / sizeof(oid);
			m->trap_oid[m->trap_len++] = (oid)pdu->trap_type + 1;
		} else {
			n = pdu->enterprise_length;
			if (pdu->enterprise == NULL || n == 0 ||
			    n + 2 > TRAP_OID_MAX)
				return -1;
			memcpy(m->trap_oid, pdu->enterprise, n * sizeof(oid));
			m->trap_oid[n] = 0;
			m->trap_oid[n + 1] = (oid)pdu->specific_type;
			m->trap_len = n + 2;
		}
	} else if (pdu->command != SNMP_MSG_TRAP2 &&
	    pdu->command != SNMP_MSG_INFORM)
		return -1;
	for (vb = pdu->variables; vb != NULL; vb = vb->next_variable) {
		if (vb->name == NULL)
			continue;
		if (vb->name_length == sizeof(oid_uptime) / sizeof(oid) &&
		    oid_prefix(vb->name, vb->name_length, oid_uptime,
		    vb->name_length))
			continue;
		if (vb->name_length == sizeof(oid_trapoid) / sizeof(oid) &&
		    oid_prefix(vb->name, vb->name_length, oid_trapoid,
		    vb->name_length)) {
			if (pdu->command == SNMP_MSG_TRAP)
				continue;
			if (vb->type != ASN_OBJECT_ID || vb->val.objid ==
			    NULL)
				return -1;
			n = vb->val_len / sizeof(oid);
			if (n == 0 || n > TRAP_OID_MAX)
				return -1;
			memcpy(m->trap_oid, vb->val.objid, n * sizeof(oid));
			m->trap_len = n;
			continue;
		}
		if (m->nvb >= TRAP_MAX_VB ||
		    vb->name_length > TRAP_OID_MAX) {
			m->more++;
			continue;
		}
		memcpy(m->vb[m->nvb].name, vb->name,
		    vb->name_length * sizeof(oid));
		m->vb[m->nvb].len = vb->name_length;
		vb_text(vb, m->vb[m->nvb].value, sizeof(m->vb[m->nvb].value));
		m->nvb++;
	}
	return m->trap_len > 0 ? 0 : -1;
}

int
trap_conds_parse(const char *text, struct trap_cond **conds, unsigned *np,
    char *why, size_t whylen)
{
	struct trap_cond *c = NULL;
	unsigned n = 0, cap = 0;
	const char *p = text, *end, *eq;
	char name[256];

	*conds = NULL;
	*np = 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, ",");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq == p || (size_t)(eq - p) >= sizeof(name)) {
			char t[160];

			/* quoted printable: a reason is one line of text */
			printable(t, sizeof(t), (const unsigned char *)p,
			    (size_t)(end - p) < 100 ? (size_t)(end - p) : 100);
			snprintf(why, whylen, "\"%s\" is not NAME=VALUE", t);
			goto fail;
		}
		memcpy(name, p, (size_t)(eq - p));
		name[eq - p] = '\0';
		while (eq - p > 0 && name[strlen(name) - 1] == ' ')
			name[strlen(name) - 1] = '\0';
		if (n == cap) {
			struct trap_cond *nc;

			cap = cap ? cap * 2 : 4;
			if ((nc = realloc(c, cap * sizeof(*c))) == NULL)
				goto nomem;
			c = nc;
		}
		memset(&c[n], 0, sizeof(c[n]));
		c[n].len = TRAP_OID_MAX;
		if (trap_oid_resolve(name, c[n].name, &c[n].len) == -1) {
			char t[160];

			printable(t, sizeof(t), (const unsigned char *)name,
			    strlen(name) < 100 ? strlen(name) : 100);
			snprintf(why, whylen, "\"%s\" is not an OID or a name "
			    "tocsin or the installed MIBs know", t);
			goto fail;
		}
		eq++;
		while (*eq == ' ')
			eq++;
		if ((c[n].value = strndup(eq, (size_t)(end - eq))) == NULL ||
		    (c[n].text = strndup(p, (size_t)(end - p))) == NULL) {
			n++;
			goto nomem;
		}
		while (c[n].value[0] != '\0' &&
		    c[n].value[strlen(c[n].value) - 1] == ' ')
			c[n].value[strlen(c[n].value) - 1] = '\0';
		n++;
		p = end;
	}
	*conds = c;
	*np = n;
	return 0;
nomem:
	snprintf(why, whylen, "out of memory");
fail:
	trap_conds_free(c, n);
	return -1;
}

void
trap_conds_free(struct trap_cond *conds, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		free(conds[i].value);
		free(conds[i].text);
	}
	free(conds);
}

int
trap_match(const struct trap_msg *m, const oid *o, size_t olen,
    const struct trap_cond *conds, unsigned n)
{
	unsigned i, j;

	if (m->trap_len != olen || memcmp(m->trap_oid, o, olen *
	    sizeof(oid)) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < m->nvb; j++)
			if (oid_prefix(m->vb[j].name, m->vb[j].len,
			    conds[i].name, conds[i].len) &&
			    strcmp(m->vb[j].value, conds[i].value) == 0)
				break;
		if (j == m->nvb)
			return 0;
	}
	return 1;
}

void
trap_msg_describe(const struct trap_msg *m, char *buf, size_t size)
{
	char name[128];
	size_t used;
	unsigned i;
	int n;

	if (size == 0)
		return;
	trap_oid_name(m->trap_oid, m->trap_len, name, sizeof(name));
	n = snprintf(buf, size, "%s from %s", name, m->source);
	used = n < 0 ? 0 : (size_t)n;
	for (i = 0; i < m->nvb && used + 1 < size; i++) {
		trap_oid_name(m->vb[i].name, m->vb[i].len, name, sizeof(name));
		n = snprintf(buf + used, size - used, "%s%s=%s", i ? " " :
		    ": ", name, m->vb[i].value);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (m->more > 0 && used + 1 < size)
		snprintf(buf + used, size - used, " (+%u more)", m->more);
}
