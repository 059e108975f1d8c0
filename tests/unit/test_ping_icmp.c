/*
 * test_ping_icmp.c — the ping plugin's wire format (plugins/ping/icmp.c):
 * which received bytes are an echo reply for us, and the checksum.
 * Table-driven: each row is a packet as a socket of a family and kind
 * would deliver it, and whether it must be accepted.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <netinet/in.h>

#include <tocsin/plugin.h>

#include "../../plugins/ping/icmp.h"
#include "tap.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define IDENT		0x1234

/* icmp.c logs through the core; the test has no core */
void
tocsin_log(enum tocsin_log_level level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

/* An ICMP message: type, code, ident, seq, payload of plen bytes. */
static size_t
icmp_msg(uint8_t *b, uint8_t type, uint16_t ident, uint16_t seq,
    size_t plen, int good_sum)
{
	size_t i;
	uint16_t ck;

	b[0] = type;
	b[1] = 0;
	b[2] = b[3] = 0;
	b[4] = (uint8_t)(ident >> 8);
	b[5] = (uint8_t)ident;
	b[6] = (uint8_t)(seq >> 8);
	b[7] = (uint8_t)seq;
	for (i = 0; i < plen; i++)
		b[8 + i] = (uint8_t)(i * 7);
	ck = icmp_cksum(b, 8 + plen);
	if (!good_sum)
		ck ^= 0x0101;
	b[2] = (uint8_t)(ck >> 8);
	b[3] = (uint8_t)ck;
	return 8 + plen;
}

/* An IPv4 header of ihl bytes in front of an ICMP message of n bytes. */
static size_t
ip4(uint8_t *b, size_t ihl, uint8_t proto, size_t n)
{
	size_t tot = ihl + n;

	memset(b, 0, ihl);
	b[0] = (uint8_t)(0x40 | (ihl / 4));
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[9] = proto;
	return ihl;
}

enum shape { ICMP_ONLY, WITH_IP };

static const struct row {
	const char *what;
	int family;
	enum icmp_kind kind;
	enum shape shape;
	size_t ihl;		/* WITH_IP */
	uint8_t proto;		/* WITH_IP */
	uint8_t type;
	uint16_t ident;
	size_t plen;
	int good_sum;
	size_t cut;		/* deliver only this many bytes (0: all) */
	size_t pad;		/* link padding after the datagram */
	int accept;
} rows[] = {
	{ "v4 datagram reply", AF_INET, ICMP_DGRAM, ICMP_ONLY, 0, 0, 0,
	    0x9999, 56, 1, 0, 0, 1 },
	{ "v4 datagram: any ident (kernel's)", AF_INET, ICMP_DGRAM,
	    ICMP_ONLY, 0, 0, 0, 7, 8, 1, 0, 0, 1 },
	{ "v4 datagram: echo request", AF_INET, ICMP_DGRAM, ICMP_ONLY, 0, 0,
	    8, IDENT, 56, 1, 0, 0, 0 },
	{ "v4 datagram: header cut", AF_INET, ICMP_DGRAM, ICMP_ONLY, 0, 0, 0,
	    IDENT, 56, 1, 7, 0, 0 },
	{ "v4 raw reply", AF_INET, ICMP_RAW, WITH_IP, 20, IPPROTO_ICMP, 0,
	    IDENT, 56, 1, 0, 0, 1 },
	{ "v4 raw reply, IP options", AF_INET, ICMP_RAW, WITH_IP, 40,
	    IPPROTO_ICMP, 0, IDENT, 56, 1, 0, 0, 1 },
	{ "v4 raw reply, link padding", AF_INET, ICMP_RAW, WITH_IP, 20,
	    IPPROTO_ICMP, 0, IDENT, 8, 1, 0, 6, 1 },
	{ "v4 raw: other ident", AF_INET, ICMP_RAW, WITH_IP, 20,
	    IPPROTO_ICMP, 0, IDENT + 1, 56, 1, 0, 0, 0 },
	{ "v4 raw: bad checksum", AF_INET, ICMP_RAW, WITH_IP, 20,
	    IPPROTO_ICMP, 0, IDENT, 56, 0, 0, 0, 0 },
	{ "v4 raw: not ICMP", AF_INET, ICMP_RAW, WITH_IP, 20, IPPROTO_UDP, 0,
	    IDENT, 56, 1, 0, 0, 0 },
	{ "v4 raw: IP header only", AF_INET, ICMP_RAW, WITH_IP, 20,
	    IPPROTO_ICMP, 0, IDENT, 56, 1, 24, 0, 0 },
	{ "v4 raw: ihl past the end", AF_INET, ICMP_RAW, WITH_IP, 60,
	    IPPROTO_ICMP, 0, IDENT, 0, 1, 30, 0, 0 },
	{ "v4 raw: 3 bytes", AF_INET, ICMP_RAW, WITH_IP, 20, IPPROTO_ICMP, 0,
	    IDENT, 0, 1, 3, 0, 0 },
	{ "v6 datagram reply", AF_INET6, ICMP_DGRAM, ICMP_ONLY, 0, 0, 129,
	    0x4444, 56, 1, 0, 0, 1 },
	{ "v6: v4 reply type", AF_INET6, ICMP_DGRAM, ICMP_ONLY, 0, 0, 0,
	    IDENT, 56, 1, 0, 0, 0 },
	{ "v6 raw reply", AF_INET6, ICMP_RAW, ICMP_ONLY, 0, 0, 129, IDENT,
	    56, 1, 0, 0, 1 },
	{ "v6 raw: other ident", AF_INET6, ICMP_RAW, ICMP_ONLY, 0, 0, 129,
	    IDENT ^ 0x100, 56, 1, 0, 0, 0 },
	{ "v6 raw: empty", AF_INET6, ICMP_RAW, ICMP_ONLY, 0, 0, 129, IDENT,
	    0, 1, 1, 0, 0 },
};

static void
test_parse_table(void)
{
	uint8_t buf[2048];
	const uint8_t *payload;
	size_t i, n, plen, off;
	uint16_t seq;
	int rc;

	for (i = 0; i < NITEMS(rows); i++) {
		const struct row *r = &rows[i];

		memset(buf, 0xee, sizeof(buf));
		off = r->shape == WITH_IP ? r->ihl : 0;
		n = icmp_msg(buf + off, r->type, r->ident, (uint16_t)(1000 + i),
		    r->plen, r->good_sum);
		if (r->shape == WITH_IP)
			ip4(buf, r->ihl, r->proto, n);
		n += off + r->pad;
		if (r->cut)
			n = r->cut;
		rc = icmp_parse(r->family, r->kind, IDENT, buf, n, &seq,
		    &payload, &plen);
		if ((rc == 0) != r->accept) {
			printf("#   row %zu (%s): %s\n", i, r->what,
			    rc == 0 ? "accepted" : "refused");
			CHECK(0);
			continue;
		}
		if (rc == 0) {
			CHECK(seq == 1000 + i);
			CHECK(plen == r->plen);
			CHECK(payload == buf + off + 8);
		}
	}
}

static void
test_checksum(void)
{
	/* RFC 1071's example words sum to 0xddf2: checksum 0x220d */
	static const uint8_t w[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5,
	    0xf6, 0xf7 };
	uint8_t b[64];
	size_t n;

	CHECK(icmp_cksum(w, sizeof(w)) == 0x220d);
	/* a message with its checksum in place sums to zero, odd or not */
	n = icmp_msg(b, 8, 1, 2, 13, 1);
	CHECK(icmp_cksum(b, n) == 0);
	n = icmp_msg(b, 8, 1, 2, 14, 1);
	CHECK(icmp_cksum(b, n) == 0);
}

int
main(void)
{
	RUN(test_parse_table);
	RUN(test_checksum);
	return TAP_END();
}
