/*
 * trap_match.h — what the trap check types do with a received trap, as
 * pure functions over net-snmp's PDU (no sockets, no loop), so that
 * tests/fuzz/fuzz_trap drives them with any bytes: the trap's OID (v1
 * traps mapped to v2 OIDs, RFC 3584), its varbinds as printable text,
 * and the match of a check's oid and conditions ("ifIndex=3").
 */
#ifndef TOCSIN_TRAP_MATCH_H
#define TOCSIN_TRAP_MATCH_H

#include <stddef.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#define TRAP_MAX_VB	32	/* varbinds kept of a trap */
#define TRAP_OID_MAX	64	/* sub-identifiers kept of an OID */

struct trap_vb {
	oid	 name[TRAP_OID_MAX];
	size_t	 len;
	char	 value[128];		/* printable */
};

struct trap_msg {
	char		source[64];	/* the sender's address */
	char		community[64];	/* printable; v1/v2c */
	int		version;	/* SNMP_VERSION_1, _2c, _3 */
	oid		trap_oid[TRAP_OID_MAX];
	size_t		trap_len;
	struct trap_vb	vb[TRAP_MAX_VB];
	unsigned	nvb;
	unsigned	more;		/* varbinds not kept */
};

/* A condition "NAME=VALUE": a varbind under NAME whose value is VALUE. */
struct trap_cond {
	oid	 name[TRAP_OID_MAX];
	size_t	 len;
	char	*value;			/* owned */
	char	*text;			/* "ifIndex=3", owned */
};

/*
 * trap_oid_resolve — a numeric OID ("1.3.6.1.6.3.1.1.5.3"), a name we
 * know ("linkDown", "IF-MIB::ifIndex", with an optional ".N" suffix) or
 * one the installed MIBs know.  *len: room in out on entry.
 * RETURN VALUE: 0, or -1.
 */
int trap_oid_resolve(const char *text, oid *out, size_t *len);
/* A known name for o ("linkDown", "ifIndex.3") or its numbers. */
void trap_oid_name(const oid *o, size_t len, char *buf, size_t size);

/*
 * trap_msg_from_pdu — fill m from a received v1 trap, v2c/v3 trap or
 * inform.  RETURN VALUE: 0, or -1 when the PDU is not a trap or has no
 * snmpTrapOID.0.
 */
int trap_msg_from_pdu(const netsnmp_pdu *pdu, const char *source,
    struct trap_msg *m);

/*
 * trap_conds_parse — "ifIndex=3, ifDescr=eth0" into *conds (n of them;
 * free with trap_conds_free).  RETURN VALUE: 0, or -1 with why filled.
 */
int trap_conds_parse(const char *text, struct trap_cond **conds,
    unsigned *n, char *why, size_t whylen);
void trap_conds_free(struct trap_cond *conds, unsigned n);

/* Non-zero if m's trap OID is o and every condition holds. */
int trap_match(const struct trap_msg *m, const oid *o, size_t olen,
    const struct trap_cond *conds, unsigned n);

/* "linkDown from 192.0.2.1: ifIndex.3=3 ifAdminStatus.3=2" */
void trap_msg_describe(const struct trap_msg *m, char *buf, size_t size);

#endif
