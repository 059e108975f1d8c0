/*
 * plugins/snmp/snmp_vb.c — turns what an agent sent back into numbers:
 * single varbinds into typed values, and GETNEXT/GETBULK replies into the
 * rows of ifTable/ifXTable.
 *
 * Everything here reads bytes an agent (or anyone spoofing UDP) chose:
 * lengths are checked against net-snmp's val_len, strings are copied with
 * a bound and made printable, and an agent that loops or goes backwards
 * ends the walk instead of the daemon.  tests/fuzz/fuzz_snmp.c feeds it
 * random PDUs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snmp_int.h"

/* Column OIDs, in enum snmp_ifcol order. */
static const oid if_entry[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1 };
static const oid ifx_entry[] = { 1, 3, 6, 1, 2, 1, 31, 1, 1, 1 };
static const struct {
	int x;		/* in ifXTable */
	oid col;
} if_cols[IFC_N] = {
	[IFC_DESCR] = { 0, 2 }, [IFC_NAME] = { 1, 1 },
	[IFC_ADMIN] = { 0, 7 }, [IFC_OPER] = { 0, 8 },
	[IFC_HCIN] = { 1, 6 }, [IFC_HCOUT] = { 1, 10 },
	[IFC_IN] = { 0, 10 }, [IFC_OUT] = { 0, 16 },
	[IFC_INERR] = { 0, 14 }, [IFC_OUTERR] = { 0, 20 },
	[IFC_INDISC] = { 0, 13 }, [IFC_OUTDISC] = { 0, 19 },
	[IFC_HIGHSPEED] = { 1, 15 }, [IFC_SPEED] = { 0, 5 },
};

const char *
snmp_exception_name(int type)
{
	switch (type) {
	case SNMP_NOSUCHOBJECT:
		return "noSuchObject";
	case SNMP_NOSUCHINSTANCE:
		return "noSuchInstance";
	case SNMP_ENDOFMIBVIEW:
		return "endOfMibView";
	default:
		return "exception";
	}
}

/* Copies at most size-1 bytes of an OCTET STRING, non-printables as '?'. */
static void
copy_text(char *dst, size_t size, const u_char *src, size_t len)
{
	size_t i;

	if (src == NULL)
		len = 0;
	if (len > size - 1)
		len = size - 1;
	for (i = 0; i < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[len] = '\0';
}

/* Text that is a whole number (extend/pass output): a gauge. */
static int
text_number(const char *s, double *out)
{
	char *end;
	double d;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || end == s)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0' || d != d || d > 1e300 || d < -1e300)
		return -1;
	*out = d;
	return 0;
}

void
snmp_vb_value(const netsnmp_variable_list *vb, struct snmp_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (vb->type) {
	case ASN_INTEGER:
		if (vb->val.integer == NULL || vb->val_len < sizeof(long))
			break;
		v->kind = SV_GAUGE;
		v->gauge = (double)*vb->val.integer;
		return;
	case ASN_GAUGE:		/* also Unsigned32 */
	case ASN_TIMETICKS:
	case ASN_UINTEGER:
		if (vb->val.integer == NULL || vb->val_len < sizeof(long))
			break;
		v->kind = SV_GAUGE;
		v->gauge = (double)(uint32_t)*vb->val.integer;
		return;
	case ASN_COUNTER:
		if (vb->val.integer == NULL || vb->val_len < sizeof(long))
			break;
		v->kind = SV_COUNTER32;
		v->counter = (uint32_t)*vb->val.integer;
		return;
	case ASN_COUNTER64:
		if (vb->val.counter64 == NULL ||
		    vb->val_len < sizeof(struct counter64))
			break;
		v->kind = SV_COUNTER64;
		v->counter = ((uint64_t)vb->val.counter64->high << 32) |
		    (uint32_t)vb->val.counter64->low;
		return;
	case SNMP_NOSUCHOBJECT:
	case SNMP_NOSUCHINSTANCE:
	case SNMP_ENDOFMIBVIEW:
		v->kind = SV_EXCEPTION;
		v->exception = vb->type;
		return;
	case ASN_OCTET_STR:
		copy_text(v->text, sizeof(v->text), vb->val.string,
		    vb->val_len);
		v->kind = SV_TEXT;
		/* numeric text (extend/pass output): the raw bytes, no NUL */
		if (vb->val.string != NULL && vb->val_len < sizeof(v->text) &&
		    memchr(vb->val.string, '\0', vb->val_len) == NULL) {
			char raw[sizeof(v->text)];

			memcpy(raw, vb->val.string, vb->val_len);
			raw[vb->val_len] = '\0';
			if (text_number(raw, &v->gauge) == 0)
				v->kind = SV_GAUGE;
		}
		return;
	case ASN_OBJECT_ID:
		if (vb->val.objid != NULL)
			snmp_oid_format(vb->val.objid,
			    vb->val_len / sizeof(oid), v->text,
			    sizeof(v->text));
		v->kind = SV_TEXT;
		return;
	case ASN_IPADDRESS:
		if (vb->val.string != NULL && vb->val_len == 4)
			snprintf(v->text, sizeof(v->text), "%u.%u.%u.%u",
			    vb->val.string[0], vb->val.string[1],
			    vb->val.string[2], vb->val.string[3]);
		v->kind = SV_TEXT;
		return;
	default:
		break;
	}
	v->kind = SV_TEXT;
	snprintf(v->text, sizeof(v->text), "(value of ASN type 0x%02x)",
	    vb->type);
}

void
snmp_walk_init(struct snmp_walk *w)
{
	int c;
	size_t n;

	memset(w, 0, sizeof(*w));
	for (c = 0; c < IFC_N; c++) {
		if (if_cols[c].x) {
			n = sizeof(ifx_entry) / sizeof(oid);
			memcpy(w->cur[c], ifx_entry, sizeof(ifx_entry));
		} else {
			n = sizeof(if_entry) / sizeof(oid);
			memcpy(w->cur[c], if_entry, sizeof(if_entry));
		}
		w->cur[c][n] = if_cols[c].col;
		w->curlen[c] = n + 1;
	}
	w->active = (1u << IFC_N) - 1;
}

void
snmp_walk_free(struct snmp_walk *w)
{
	free(w->rows);
	w->rows = NULL;
	w->nrows = 0;
}

int
snmp_walk_request(struct snmp_walk *w, netsnmp_pdu *pdu)
{
	int c;

	w->sent = 0;
	for (c = 0; c < IFC_N; c++) {
		if (!(w->active & (1u << c)))
			continue;
		if (snmp_add_null_var(pdu, w->cur[c], w->curlen[c]) == NULL)
			return -1;
		w->sent |= 1u << c;
	}
	w->requests++;
	return 0;
}

static struct snmp_ifrow *
row_get(struct snmp_walk *w, uint32_t index)
{
	struct snmp_ifrow *r;
	unsigned i;

	/* Rows arrive in index order per column: look from the end. */
	for (i = w->nrows; i-- > 0;)
		if (w->rows[i].index == index)
			return &w->rows[i];
	if (w->nrows >= SNMP_IFROWS_MAX)
		return NULL;
	if ((w->nrows & (w->nrows - 1)) == 0) {	/* 0, 1, 2, 4, 8… */
		r = realloc(w->rows, (w->nrows ? w->nrows * 2 : 8) *
		    sizeof(*r));
		if (r == NULL)
			return NULL;
		w->rows = r;
	}
	r = &w->rows[w->nrows++];
	memset(r, 0, sizeof(*r));
	r->index = index;
	return r;
}

/* Stores one value of column c; the OID is base.col.ifIndex. */
static void
row_store(struct snmp_walk *w, int c, const netsnmp_variable_list *vb)
{
	struct snmp_ifrow *r;
	struct snmp_value v;

	if ((r = row_get(w, (uint32_t)vb->name[vb->name_length - 1])) == NULL)
		return;
	if (c == IFC_DESCR || c == IFC_NAME) {
		if (vb->type != ASN_OCTET_STR)
			return;
		copy_text(c == IFC_DESCR ? r->descr : r->name,
		    sizeof(r->descr), vb->val.string, vb->val_len);
		r->have |= 1u << c;
		return;
	}
	snmp_vb_value(vb, &v);
	if (v.kind == SV_GAUGE && v.gauge >= 0)
		r->v[c] = (uint64_t)v.gauge;
	else if (v.kind == SV_COUNTER32 || v.kind == SV_COUNTER64)
		r->v[c] = v.counter;
	else
		return;
	r->have |= 1u << c;
}

int
snmp_walk_absorb(struct snmp_walk *w, const netsnmp_pdu *resp, char *why,
    size_t whylen)
{
	const netsnmp_variable_list *vb;
	int order[IFC_N], n = 0, c, k;
	unsigned done = 0;
	size_t base;

	for (c = 0; c < IFC_N; c++)
		if (w->sent & (1u << c))
			order[n++] = c;
	if (n == 0) {
		snprintf(why, whylen, "response to no request");
		return -1;
	}
	/*
	 * GETBULK with no non-repeaters answers row by row: varbind k belongs
	 * to the k % n-th column of the request.  GETNEXT is the same with
	 * one row.
	 */
	for (vb = resp->variables, k = 0; vb != NULL;
	    vb = vb->next_variable, k++) {
		c = order[k % n];
		if (done & (1u << c))
			continue;
		/* the column's own prefix: table entry + column number */
		base = (size_t)(if_cols[c].x ? sizeof(ifx_entry) :
		    sizeof(if_entry)) / sizeof(oid) + 1;
		if (vb->type == SNMP_ENDOFMIBVIEW ||
		    vb->type == SNMP_NOSUCHOBJECT ||
		    vb->type == SNMP_NOSUCHINSTANCE ||
		    vb->name == NULL || vb->name_length != base + 1 ||
		    snmp_oidtree_compare(w->cur[c], base, vb->name,
		    vb->name_length) != 0) {
			done |= 1u << c;	/* left the column */
			continue;
		}
		if (snmp_oid_compare(vb->name, vb->name_length, w->cur[c],
		    w->curlen[c]) <= 0) {
			done |= 1u << c;	/* agent went backwards */
			continue;
		}
		memcpy(w->cur[c], vb->name, vb->name_length * sizeof(oid));
		w->curlen[c] = vb->name_length;
		row_store(w, c, vb);
	}
	if (k == 0) {
		snprintf(why, whylen, "empty response to a walk");
		return -1;
	}
	w->active &= ~done;
	if (w->active != 0 && w->requests >= SNMP_WALK_REQS_MAX) {
		snprintf(why, whylen, "interface walk still going after %d "
		    "requests", SNMP_WALK_REQS_MAX);
		return -1;
	}
	return 0;
}
