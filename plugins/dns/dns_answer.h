/*
 * dns_answer.h — a DNS reply as the dns check type judges it: the rcode
 * and the answers of the asked type as text, read with c-ares's parsers
 * (and ares_expand_name for CNAME).  Pure: no sockets, no loop, so the
 * unit test and tests/fuzz/fuzz_dns read any bytes with it.
 */
#ifndef TOCSIN_DNS_ANSWER_H
#define TOCSIN_DNS_ANSWER_H

#include <stddef.h>

/* Record types (RFC 1035 numbers) the dns check type asks for. */
#define DNS_T_A		1
#define DNS_T_NS	2
#define DNS_T_CNAME	5
#define DNS_T_SOA	6
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_SRV	33

#define DNS_MAX_ANSWERS	64	/* answers kept; more are counted */

struct dns_answer {
	int		 rcode;		/* 0 NOERROR, 3 NXDOMAIN, … */
	int		 tc;		/* truncated */
	unsigned	 n;		/* answers of the asked type in items */
	unsigned	 more;		/* further ones not kept */
	char		*items[DNS_MAX_ANSWERS];	/* owned, printable */
	int		 has_soa;
	unsigned long	 serial;	/* SOA serial, when has_soa */
};

/* "A", "MX", … → the type number; 0 if not one we ask for. */
int dns_type_parse(const char *name);
const char *dns_type_name(int type);
/* "NOERROR", "NXDOMAIN", … (a number as text for others; static). */
const char *dns_rcode_name(int rcode);
/* RETURN VALUE: the rcode for "NOERROR", "NXDOMAIN", …, or -1. */
int dns_rcode_parse(const char *name);

/*
 * dns_answer_parse — read the reply abuf/alen to a query of type.
 * Answers are text: an address for A/AAAA, a name without the final dot
 * for CNAME/NS/PTR, "PREF HOST" for MX, the strings of a record joined
 * for TXT, "MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM" for SOA,
 * "PRIO WEIGHT PORT TARGET" for SRV.  RETURN VALUE: 0, or -1 when the
 * reply is malformed (why filled, printable); a NOERROR reply without
 * answers of the type is 0 with n == 0.  Free with dns_answer_clear().
 */
int dns_answer_parse(int type, const unsigned char *abuf, int alen,
    struct dns_answer *a, char *why, size_t whylen);
void dns_answer_clear(struct dns_answer *a);

/*
 * dns_reverse_name — "192.0.2.1" → "1.2.0.192.in-addr.arpa", an IPv6
 * address to its ip6.arpa name.  RETURN VALUE: 0, or -1 when text is not
 * an address.
 */
int dns_reverse_name(const char *text, char *out, size_t outlen);

#endif
