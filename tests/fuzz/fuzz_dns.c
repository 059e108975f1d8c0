/*
 * fuzz_dns.c — libFuzzer harness for what the dns check type reads from a
 * server: the reply to its query, as plugins/dns/dns_answer.c turns it
 * into an rcode and answers (c-ares's parsers, and our own CNAME reader
 * over ares_expand_name).
 *
 * Input: byte 0 picks the asked type (A AAAA CNAME MX NS TXT SOA SRV
 * PTR), the rest is the reply.  Promises beyond "no crash, no sanitizer
 * report": a parse gives either answers or a reason, every answer and
 * reason is printable text, at most DNS_MAX_ANSWERS are kept.
 *
 * Seeds: dnsmasq's real answers to each type (and via a CNAME, NXDOMAIN,
 * an empty NOERROR).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "dns_answer.h"

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
	static const int types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_CNAME,
	    DNS_T_MX, DNS_T_NS, DNS_T_TXT, DNS_T_SOA, DNS_T_SRV, DNS_T_PTR };
	static int inited;
	struct dns_answer a;
	char why[200];
	unsigned i;

	if (!inited) {
		ares_library_init(ARES_LIB_INIT_ALL);
		inited = 1;
	}
	if (size < 1 || size > 65536)
		return 0;
	memset(why, 0, sizeof(why));
	if (dns_answer_parse(types[data[0] % 9], data + 1, (int)(size - 1),
	    &a, why, sizeof(why)) == -1) {
		check_text(why, sizeof(why));
		if (why[0] == '\0' || a.n != 0)
			abort();
		return 0;
	}
	if (a.n > DNS_MAX_ANSWERS)
		abort();
	for (i = 0; i < a.n; i++)
		check_text(a.items[i], 65536 * 4 + 1);
	(void)dns_rcode_name(a.rcode);
	dns_answer_clear(&a);
	return 0;
}
