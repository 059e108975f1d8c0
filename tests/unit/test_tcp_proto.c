/*
 * test_tcp_proto.c — the tcp plugin's STARTTLS dialogs
 * (plugins/tcp/tcp_proto.c), table-driven: each row is a protocol and
 * the server's answers in turn; the dialog must end as the row says,
 * sending what the protocol wants, whatever way the bytes are split.
 */
#include <stdio.h>
#include <string.h>

#include "../../plugins/tcp/tcp_proto.h"
#include "tap.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

struct dialog {
	const char *proto;
	const char *answers[4];		/* NULL-terminated */
	size_t ldap_len[4];		/* binary answers: their length */
	enum tcp_stls_step end;
	const char *sent;		/* all the client sent, concatenated */
	const char *why;		/* substring of why on FAIL */
};

/* LDAP ExtendedResponse, messageID 1, resultCode 0 / 2 "no TLS here" */
static const char ldap_ok[] = "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00"
    "\x04\x00\x04\x00";
static const char ldap_no[] = "\x30\x17\x02\x01\x01\x78\x12\x0a\x01\x02"
    "\x04\x00\x04\x0bno TLS here";

static const struct dialog dialogs[] = {
	{ "smtp", { "220 mx ESMTP\r\n", "250-mx\r\n250-SIZE 1000\r\n"
	    "250 STARTTLS\r\n", "220 go ahead\r\n" }, { 0 }, TCP_STLS_DONE,
	    "EHLO tocsin.invalid\r\nSTARTTLS\r\n", NULL },
	{ "smtp", { "220-mx\r\n220 hi\r\n", "250-mx\r\n250 8BITMIME\r\n" },
	    { 0 }, TCP_STLS_FAIL, "EHLO tocsin.invalid\r\n",
	    "does not offer STARTTLS" },
	{ "smtp", { "554 go away\r\n" }, { 0 }, TCP_STLS_FAIL, "",
	    "SMTP greeting: \"554 go away\\r\\n\"" },
	{ "smtp", { "220 mx\r\n", "250 STARTTLS\r\n", "454 TLS not "
	    "available\r\n" }, { 0 }, TCP_STLS_FAIL,
	    "EHLO tocsin.invalid\r\nSTARTTLS\r\n", "STARTTLS refused" },
	{ "smtp", { "HTTP/1.1 400 Bad\r\n" }, { 0 }, TCP_STLS_FAIL, "",
	    "not an SMTP reply" },
	{ "imap", { "* OK IMAP4rev1 ready\r\n", "* CAPABILITY IMAP4rev1\r\n"
	    "a1 OK Begin TLS\r\n" }, { 0 }, TCP_STLS_DONE,
	    "a1 STARTTLS\r\n", NULL },
	{ "imap", { "* OK ready\r\n", "a1 BAD unknown command\r\n" }, { 0 },
	    TCP_STLS_FAIL, "a1 STARTTLS\r\n", "IMAP STARTTLS refused" },
	{ "imap", { "* BYE busy\r\n" }, { 0 }, TCP_STLS_FAIL, "",
	    "IMAP greeting" },
	{ "pop3", { "+OK POP3 ready\r\n", "+OK begin TLS\r\n" }, { 0 },
	    TCP_STLS_DONE, "STLS\r\n", NULL },
	{ "pop3", { "+OK POP3\n", "-ERR no\n" }, { 0 }, TCP_STLS_FAIL,
	    "STLS\r\n", "POP3 STLS refused: \"-ERR no\"" },
	{ "ldap", { ldap_ok }, { sizeof(ldap_ok) - 1 }, TCP_STLS_DONE,
	    NULL, NULL },
	{ "ldap", { ldap_no }, { sizeof(ldap_no) - 1 }, TCP_STLS_FAIL,
	    NULL, "resultCode 2 \"no TLS here\"" },
	{ "ldap", { "\x30\x03\x02\x01\x01" }, { 5 }, TCP_STLS_FAIL, NULL,
	    "not an LDAP ExtendedResponse" },
};

/*
 * Play d, the server's answers delivered `chunk` bytes at a time.
 * RETURN VALUE: the last step; sent and why filled.
 */
static enum tcp_stls_step
play(const struct dialog *d, size_t chunk, char *sent, size_t sentlen,
    char *why, size_t whylen)
{
	struct tcp_stls st = { tcp_stls_parse(d->proto), 0 };
	unsigned char buf[1024];
	size_t have = 0, used, outlen, a, off;
	const void *out;
	enum tcp_stls_step s;

	sent[0] = '\0';
	s = tcp_stls_begin(&st, &out, &outlen);
	if (s == TCP_STLS_SEND)
		strncat(sent, out, outlen);	/* ldap: binary, not compared */
	for (a = 0; a < 4 && d->answers[a] != NULL; a++) {
		size_t len = d->ldap_len[a] ? d->ldap_len[a] :
		    strlen(d->answers[a]);

		for (off = 0; off < len; ) {
			size_t n = len - off < chunk ? len - off : chunk;

			memcpy(buf + have, d->answers[a] + off, n);
			have += n;
			off += n;
			s = tcp_stls_feed(&st, buf, have, &used, &out,
			    &outlen, why, whylen);
			if (s == TCP_STLS_MORE)
				continue;
			memmove(buf, buf + used, have - used);
			have -= used;
			if (s == TCP_STLS_SEND) {
				strncat(sent, out, outlen);
				(void)sentlen;
				continue;
			}
			return s;
		}
	}
	return s;
}

static void
test_dialogs(void)
{
	char sent[512], why[256];
	size_t i, chunk;

	for (i = 0; i < NITEMS(dialogs); i++) {
		const struct dialog *d = &dialogs[i];

		for (chunk = 1; chunk <= 64; chunk *= 4) {
			enum tcp_stls_step s = play(d, chunk, sent,
			    sizeof(sent), why, sizeof(why));

			if (s != d->end)
				printf("# row %zu (%s), chunk %zu: step %d, "
				    "why %s\n", i, d->proto, chunk, (int)s, why);
			CHECK(s == d->end);
			if (d->sent != NULL)
				CHECK_STR(sent, d->sent);
			if (d->why != NULL && strstr(why, d->why) == NULL) {
				printf("# row %zu: why \"%s\"\n", i, why);
				CHECK(0);
			}
		}
	}
}

static void
test_babbler(void)
{
	static unsigned char big[TCP_STLS_MAX_REPLY + 10];
	struct tcp_stls st = { TCP_STLS_SMTP, 0 };
	const void *out;
	size_t used, outlen;
	char why[256];

	memset(big, 'a', sizeof(big));
	CHECK(tcp_stls_feed(&st, big, sizeof(big), &used, &out, &outlen, why,
	    sizeof(why)) == TCP_STLS_FAIL);
	CHECK(strstr(why, "longer than 16 KiB") != NULL);
	CHECK(tcp_stls_parse("SMTP") == TCP_STLS_SMTP);
	CHECK(tcp_stls_parse("ftp") == TCP_STLS_NONE);
}

static void
test_printable(void)
{
	char dst[32];

	tcp_printable(dst, sizeof(dst), (const unsigned char *)"220 hi\r\n",
	    8, 100);
	CHECK_STR(dst, "220 hi\\r\\n");
	tcp_printable(dst, sizeof(dst), (const unsigned char *)"\x01\"x",
	    3, 100);
	CHECK_STR(dst, "\\x01\\\"x");
	tcp_printable(dst, sizeof(dst), (const unsigned char *)
	    "0123456789012345678901234567890123456789", 40, 100);
	CHECK(strlen(dst) < sizeof(dst));
	CHECK(strcmp(dst + strlen(dst) - 3, "...") == 0);
	tcp_printable(dst, sizeof(dst), (const unsigned char *)"abcdef", 6,
	    3);
	CHECK_STR(dst, "abc...");
}

int
main(void)
{
	RUN(test_dialogs);
	RUN(test_babbler);
	RUN(test_printable);
	return TAP_END();
}
