/*
 * fuzz_tcp.c — libFuzzer harness for what the tcp check type reads from a
 * server before TLS: the STARTTLS dialogs of plugins/tcp/tcp_proto.c
 * (SMTP, IMAP and POP3 replies, the LDAP ExtendedResponse in BER) and the
 * printable excerpt of a server's bytes that summaries quote.
 *
 * Input: byte 0 picks the protocol, byte 1 the size of the pieces the
 * rest arrives in (as a socket would split it).  Promises checked beyond
 * "no crash, no sanitizer report": the dialog never consumes more than it
 * was given, ends in DONE or FAIL or waits for more, a FAIL says why in
 * printable text, and the excerpt is printable and within its buffer.
 *
 * Seeds: real dialogs (aiosmtpd with and without STARTTLS, Dovecot-style
 * IMAP and POP3 greetings, an OpenLDAP StartTLS answer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t cap)
{
	size_t i;

	for (i = 0; i < cap && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
	if (i == cap)
		abort();	/* not terminated */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum tcp_stls_proto protos[] = { TCP_STLS_SMTP,
	    TCP_STLS_IMAP, TCP_STLS_POP3, TCP_STLS_LDAP };
	struct tcp_stls st;
	unsigned char *buf;
	size_t chunk, off = 0, have = 0, used, outlen, sends = 0;
	const void *out;
	char why[256], text[200];
	enum tcp_stls_step s;

	if (size < 2)
		return 0;
	memset(&st, 0, sizeof(st));
	st.proto = protos[data[0] % 4];
	chunk = (size_t)(data[1] % 64) + 1;
	data += 2;
	size -= 2;

	tcp_printable(text, sizeof(text), data, size, 120);
	check_text(text, sizeof(text));

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	(void)tcp_stls_begin(&st, &out, &outlen);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		memcpy(buf + have, data + off, n);	/* a fresh read */
		have += n;
		off += n;
		memset(why, 'x', sizeof(why));
		s = tcp_stls_feed(&st, buf, have, &used, &out, &outlen, why,
		    sizeof(why));
		if (used > have)
			abort();
		if (s == TCP_STLS_MORE) {
			if (used != 0)
				abort();
			continue;
		}
		if (s == TCP_STLS_FAIL) {
			check_text(why, sizeof(why));
			if (why[0] == '\0')
				abort();
			break;
		}
		if (s == TCP_STLS_DONE)
			break;
		/* SEND: something to send, at most one per step of a dialog */
		if (out == NULL || outlen == 0 || ++sends > 3)
			abort();
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	free(buf);
	return 0;
}
