/*
 * dns_answer.c — turns a DNS reply into the rcode and the answers of the
 * asked type as printable text.  c-ares's parsers read the records (they
 * follow a CNAME chain for A and AAAA); CNAME answers are read here with
 * ares_expand_name, bounds-checked against alen.  Whatever bytes come,
 * the result is a dns_answer or a "malformed" reason: never a read past
 * alen (fuzz_dns holds it to that).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#include "dns_answer.h"

static const struct {
	const char *name;
	int type;
} dns_types[] = {
	{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "CNAME", DNS_T_CNAME },
	{ "MX", DNS_T_MX }, { "NS", DNS_T_NS }, { "TXT", DNS_T_TXT },
	{ "SOA", DNS_T_SOA }, { "SRV", DNS_T_SRV }, { "PTR", DNS_T_PTR },
};

static const char *const dns_rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL",
    "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
    "NOTAUTH", "NOTZONE" };

int
dns_type_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (strcasecmp(name, dns_types[i].name) == 0)
			return dns_types[i].type;
	return 0;
}

const char *
dns_type_name(int type)
{
	size_t i;

	for (i = 0; i < sizeof(dns_types) / sizeof(dns_types[0]); i++)
		if (dns_types[i].type == type)
			return dns_types[i].name;
	return "?";
}

const char *
dns_rcode_name(int rcode)
{
	static char buf[16];

	if (rcode >= 0 && (size_t)rcode < sizeof(dns_rcodes) /
	    sizeof(dns_rcodes[0]))
		return dns_rcodes[rcode];
	snprintf(buf, sizeof(buf), "RCODE%d", rcode);
	return buf;
}

int
dns_rcode_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(dns_rcodes) / sizeof(dns_rcodes[0]); i++)
		if (strcasecmp(name, dns_rcodes[i]) == 0)
			return (int)i;
	return -1;
}

/* Add len bytes of s as printable text (\xNN for the rest). */
static int
add_item(struct dns_answer *a, const unsigned char *s, size_t len)
{
	char *t;
	size_t i, o = 0;

	if (a->n >= DNS_MAX_ANSWERS) {
		a->more++;
		return 0;
	}
	if ((t = malloc(len * 4 + 1)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] >= 0x20 && s[i] <= 0x7e && s[i] != '\\')
			t[o++] = (char)s[i];
		else
			o += (size_t)snprintf(t + o, 5, "\\x%02x", s[i]);
	}
	t[o] = '\0';
	a->items[a->n++] = t;
	return 0;
}

static int
add_str(struct dns_answer *a, const char *s)
{
	return add_item(a, (const unsigned char *)s, strlen(s));
}

static int
add_fmt(struct dns_answer *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
add_fmt(struct dns_answer *a, const char *fmt, ...)
{
	char buf[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return add_str(a, buf);
}

/* CNAME answers (c-ares has no parser of its own for them). */
static int
parse_cname(const unsigned char *abuf, int alen, struct dns_answer *a)
{
	const unsigned char *p = abuf + 12, *end = abuf + alen;
	unsigned qd = (unsigned)(abuf[4] << 8 | abuf[5]);
	unsigned an = (unsigned)(abuf[6] << 8 | abuf[7]);
	unsigned i, type, class, rdlen;
	char *name;
	long enc;

	for (i = 0; i < qd; i++) {
		if (ares_expand_name(p, abuf, alen, &name, &enc) !=
		    ARES_SUCCESS)
			return ARES_EBADRESP;
		ares_free_string(name);
		if (enc < 0 || end - p < enc + 4)
			return ARES_EBADRESP;
		p += enc + 4;
	}
	for (i = 0; i < an; i++) {
		if (ares_expand_name(p, abuf, alen, &name, &enc) !=
		    ARES_SUCCESS)
			return ARES_EBADRESP;
		ares_free_string(name);
		if (enc < 0 || end - p < enc + 10)
			return ARES_EBADRESP;
		p += enc;
		type = (unsigned)(p[0] << 8 | p[1]);
		class = (unsigned)(p[2] << 8 | p[3]);
		rdlen = (unsigned)(p[8] << 8 | p[9]);
		p += 10;
		if (end - p < (long)rdlen)
			return ARES_EBADRESP;
		if (type == DNS_T_CNAME && class == 1) {
			if (ares_expand_name(p, abuf, alen, &name, &enc) !=
			    ARES_SUCCESS)
				return ARES_EBADRESP;
			if (add_str(a, name) == -1) {
				ares_free_string(name);
				return ARES_ENOMEM;
			}
			ares_free_string(name);
		}
		p += rdlen;
	}
	return a->n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

static int
parse_hostent_names(struct hostent *h, struct dns_answer *a)
{
	char **al;

	if (h->h_name != NULL && add_str(a, h->h_name) == -1)
		return ARES_ENOMEM;
	for (al = h->h_aliases; al != NULL && *al != NULL; al++)
		if ((h->h_name == NULL || strcasecmp(*al, h->h_name) != 0) &&
		    add_str(a, *al) == -1)
			return ARES_ENOMEM;
	return ARES_SUCCESS;
}

static int
parse_typed(int type, const unsigned char *abuf, int alen,
    struct dns_answer *a)
{
	struct ares_addrttl v4[DNS_MAX_ANSWERS];
	struct ares_addr6ttl v6[DNS_MAX_ANSWERS];
	struct ares_mx_reply *mx = NULL, *m;
	struct ares_srv_reply *srv = NULL, *s;
	struct ares_txt_ext *txt = NULL, *t;
	struct ares_soa_reply *soa = NULL;
	struct hostent *h = NULL;
	char addr[INET6_ADDRSTRLEN];
	unsigned char dummy[4] = { 0, 0, 0, 0 };
	int rc, n, i;

	switch (type) {
	case DNS_T_A:
		n = DNS_MAX_ANSWERS;
		if ((rc = ares_parse_a_reply(abuf, alen, NULL, v4, &n)) !=
		    ARES_SUCCESS)
			return rc;
		for (i = 0; i < n; i++) {
			inet_ntop(AF_INET, &v4[i].ipaddr, addr, sizeof(addr));
			if (add_str(a, addr) == -1)
				return ARES_ENOMEM;
		}
		return ARES_SUCCESS;
	case DNS_T_AAAA:
		n = DNS_MAX_ANSWERS;
		if ((rc = ares_parse_aaaa_reply(abuf, alen, NULL, v6, &n)) !=
		    ARES_SUCCESS)
			return rc;
		for (i = 0; i < n; i++) {
			inet_ntop(AF_INET6, &v6[i].ip6addr, addr,
			    sizeof(addr));
			if (add_str(a, addr) == -1)
				return ARES_ENOMEM;
		}
		return ARES_SUCCESS;
	case DNS_T_CNAME:
		return parse_cname(abuf, alen, a);
	case DNS_T_MX:
		if ((rc = ares_parse_mx_reply(abuf, alen, &mx)) !=
		    ARES_SUCCESS)
			return rc;
		for (m = mx, rc = ARES_SUCCESS; m != NULL && rc == 0;
		    m = m->next)
			if (add_fmt(a, "%u %s", m->priority, m->host) == -1)
				rc = ARES_ENOMEM;
		ares_free_data(mx);
		return rc;
	case DNS_T_SRV:
		if ((rc = ares_parse_srv_reply(abuf, alen, &srv)) !=
		    ARES_SUCCESS)
			return rc;
		for (s = srv, rc = ARES_SUCCESS; s != NULL && rc == 0;
		    s = s->next)
			if (add_fmt(a, "%u %u %u %s", s->priority, s->weight,
			    s->port, s->host) == -1)
				rc = ARES_ENOMEM;
		ares_free_data(srv);
		return rc;
	case DNS_T_TXT:
		if ((rc = ares_parse_txt_reply_ext(abuf, alen, &txt)) !=
		    ARES_SUCCESS)
			return rc;
		rc = ARES_SUCCESS;
		for (t = txt; t != NULL && rc == 0; ) {
			/* one record: its strings joined */
			size_t len = 0, off = 0;
			struct ares_txt_ext *u = t;
			unsigned char *buf;

			do {
				len += u->length;
				u = u->next;
			} while (u != NULL && !u->record_start);
			if ((buf = malloc(len + 1)) == NULL) {
				rc = ARES_ENOMEM;
				break;
			}
			do {
				if (t->length > 0)
					memcpy(buf + off, t->txt, t->length);
				off += t->length;
				t = t->next;
			} while (t != u);
			if (add_item(a, buf, len) == -1)
				rc = ARES_ENOMEM;
			free(buf);
		}
		ares_free_data(txt);
		return rc;
	case DNS_T_SOA:
		if ((rc = ares_parse_soa_reply(abuf, alen, &soa)) !=
		    ARES_SUCCESS)
			return rc;
		a->has_soa = 1;
		a->serial = soa->serial;
		rc = add_fmt(a, "%s %s %u %u %u %u %u", soa->nsname,
		    soa->hostmaster, soa->serial, soa->refresh, soa->retry,
		    soa->expire, soa->minttl) == -1 ? ARES_ENOMEM :
		    ARES_SUCCESS;
		ares_free_data(soa);
		return rc;
	case DNS_T_NS:
		if ((rc = ares_parse_ns_reply(abuf, alen, &h)) !=
		    ARES_SUCCESS)
			return rc;
		/* the NS names are the aliases; h_name is the zone */
		rc = ARES_SUCCESS;
		for (i = 0; h->h_aliases != NULL && h->h_aliases[i] != NULL;
		    i++)
			if (add_str(a, h->h_aliases[i]) == -1)
				rc = ARES_ENOMEM;
		ares_free_hostent(h);
		return rc;
	case DNS_T_PTR:
		if ((rc = ares_parse_ptr_reply(abuf, alen, dummy,
		    sizeof(dummy), AF_INET, &h)) != ARES_SUCCESS)
			return rc;
		rc = parse_hostent_names(h, a);
		ares_free_hostent(h);
		return rc;
	default:
		return ARES_ENOTIMP;
	}
}

int
dns_answer_parse(int type, const unsigned char *abuf, int alen,
    struct dns_answer *a, char *why, size_t whylen)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if (alen < 12) {
		snprintf(why, whylen, "a reply of %d bytes (a header is 12)",
		    alen);
		return -1;
	}
	if (!(abuf[2] & 0x80)) {
		snprintf(why, whylen, "a query, not a reply");
		return -1;
	}
	a->rcode = abuf[3] & 0x0f;
	a->tc = (abuf[2] & 0x02) != 0;
	if (a->rcode != 0 || (abuf[6] == 0 && abuf[7] == 0))
		return 0;
	rc = parse_typed(type, abuf, alen, a);
	if (rc == ARES_SUCCESS || rc == ARES_ENODATA)
		return 0;
	dns_answer_clear(a);
	snprintf(why, whylen, "%s", rc == ARES_ENOMEM ? "out of memory" :
	    ares_strerror(rc));
	return -1;
}

void
dns_answer_clear(struct dns_answer *a)
{
	unsigned i;

	for (i = 0; i < a->n; i++)
		free(a->items[i]);
	a->n = 0;
	a->more = 0;
}

int
dns_reverse_name(const char *text, char *out, size_t outlen)
{
	unsigned char b[16];
	size_t o = 0;
	int i;

	if (inet_pton(AF_INET, text, b) == 1) {
		snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2],
		    b[1], b[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, text, b) != 1 || outlen < 73)
		return -1;
	for (i = 15; i >= 0; i--)
		o += (size_t)snprintf(out + o, outlen - o, "%x.%x.",
		    b[i] & 0x0f, b[i] >> 4);
	snprintf(out + o, outlen - o, "ip6.arpa");
	return 0;
}
