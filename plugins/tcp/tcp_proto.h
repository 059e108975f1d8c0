/*
 * tcp_proto.h — what the tcp check type reads from a server, as pure
 * functions over bytes (no sockets, no loop), so that the unit test and
 * tests/fuzz/fuzz_tcp drive them with any input: the STARTTLS dialogs of
 * SMTP, IMAP, POP3 and LDAP, and the printable excerpt of what came.
 */
#ifndef TOCSIN_TCP_PROTO_H
#define TOCSIN_TCP_PROTO_H

#include <stddef.h>

enum tcp_stls_proto {
	TCP_STLS_NONE = 0,
	TCP_STLS_SMTP,
	TCP_STLS_IMAP,
	TCP_STLS_POP3,
	TCP_STLS_LDAP,
};

/* What tcp_stls_feed() says to do next. */
enum tcp_stls_step {
	TCP_STLS_MORE,		/* wait for more bytes */
	TCP_STLS_SEND,		/* send *out, then feed again */
	TCP_STLS_DONE,		/* start the TLS handshake now */
	TCP_STLS_FAIL,		/* the server said no: why is filled */
};

/* Bytes of one server reply we wait for at most before giving up. */
#define TCP_STLS_MAX_REPLY	16384

struct tcp_stls {
	enum tcp_stls_proto proto;
	int step;		/* where in the dialog, per protocol */
};

/* "smtp", "imap", "pop3", "ldap" → the protocol; TCP_STLS_NONE if none. */
enum tcp_stls_proto tcp_stls_parse(const char *name);
const char *tcp_stls_name(enum tcp_stls_proto p);

/*
 * tcp_stls_begin — the dialog starts.  RETURN VALUE: TCP_STLS_SEND with
 * *out and *outlen (static bytes) when the client speaks first (LDAP), else
 * TCP_STLS_MORE (wait for the greeting).
 */
enum tcp_stls_step tcp_stls_begin(struct tcp_stls *st, const void **out,
    size_t *outlen);

/*
 * tcp_stls_feed — buf/len is everything the server sent that is not yet
 * used.  Sets *used to the bytes consumed (0 with TCP_STLS_MORE); on
 * TCP_STLS_SEND *out and *outlen are static bytes to send; on TCP_STLS_FAIL
 * why (whylen bytes) says what the server answered, printable.
 */
enum tcp_stls_step tcp_stls_feed(struct tcp_stls *st,
    const unsigned char *buf, size_t len, size_t *used, const void **out,
    size_t *outlen, char *why, size_t whylen);

/*
 * tcp_printable — up to max bytes of buf as one printable line into dst
 * (dstlen bytes, always terminated): \r \n \t as such escapes, other
 * bytes outside 0x20..0x7e as \xNN, "..." appended when cut.
 */
void tcp_printable(char *dst, size_t dstlen, const unsigned char *buf,
    size_t len, size_t max);

#endif
