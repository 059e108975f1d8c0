/*
 * plugins/snmp/snmp_int.h — what the files of the snmp check type share:
 * OID names (snmp_oid.c) and the decoding of agent replies (snmp_vb.c).
 * Only the plugin and its fuzz harness include it.
 */
#ifndef TOCSIN_SNMP_INT_H
#define TOCSIN_SNMP_INT_H

#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

/* ---- snmp_oid.c: names and numbers -------------------------------- */

/* On entry *len is the room in out; on success the OID's length. */
int snmp_oid_parse_numeric(const char *s, oid *out, size_t *len);
int snmp_oid_resolve(const char *text, oid *out, size_t *len);
void snmp_oid_format(const oid *o, size_t len, char *buf, size_t size);

/* ---- snmp_vb.c: values -------------------------------------------- */

enum snmp_vkind {
	SV_NONE = 0,		/* not received */
	SV_GAUGE,		/* INTEGER, Gauge32, TimeTicks, numeric text */
	SV_COUNTER32,
	SV_COUNTER64,
	SV_TEXT,		/* any other value, as printable text */
	SV_EXCEPTION,		/* noSuchObject, noSuchInstance, endOfMibView */
};

struct snmp_value {
	enum snmp_vkind kind;
	double gauge;
	uint64_t counter;
	int exception;		/* SNMP_NOSUCHOBJECT… for SV_EXCEPTION */
	char text[128];		/* printable, NUL-terminated, for SV_TEXT */
};

/* Decodes one varbind into v (never fails: odd values become SV_TEXT). */
void snmp_vb_value(const netsnmp_variable_list *vb, struct snmp_value *v);
const char *snmp_exception_name(int type);

/* ---- snmp_vb.c: the interface walk -------------------------------- */

enum snmp_ifcol {
	IFC_DESCR, IFC_NAME, IFC_ADMIN, IFC_OPER, IFC_HCIN, IFC_HCOUT,
	IFC_IN, IFC_OUT, IFC_INERR, IFC_OUTERR, IFC_INDISC, IFC_OUTDISC,
	IFC_HIGHSPEED, IFC_SPEED, IFC_N
};

#define SNMP_IFROWS_MAX		1024	/* interfaces kept per agent */
#define SNMP_WALK_REQS_MAX	256	/* requests per walk: a looping agent stops here */

struct snmp_ifrow {
	uint32_t index;
	char descr[64];
	char name[64];
	uint64_t v[IFC_N];	/* numeric columns */
	unsigned have;		/* bit per column received */
};

struct snmp_walk {
	oid cur[IFC_N][MAX_OID_LEN];	/* last OID seen per column */
	size_t curlen[IFC_N];
	unsigned active;		/* columns still walking (bit mask) */
	unsigned sent;			/* columns of the request in flight */
	struct snmp_ifrow *rows;
	unsigned nrows;
	unsigned requests;
};

void snmp_walk_init(struct snmp_walk *w);
void snmp_walk_free(struct snmp_walk *w);
/* Adds a varbind per active column to pdu; RETURN VALUE: 0 or -1. */
int snmp_walk_request(struct snmp_walk *w, netsnmp_pdu *pdu);
/*
 * Takes in a GETNEXT/GETBULK response to the last request.  Columns leave
 * the walk at the end of their subtree, at endOfMibView, or when the agent
 * does not move forward.  RETURN VALUE: 0, or -1 with why set.
 */
int snmp_walk_absorb(struct snmp_walk *w, const netsnmp_pdu *resp,
    char *why, size_t whylen);

#endif /* TOCSIN_SNMP_INT_H */
