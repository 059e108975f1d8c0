/*
 * tcp_proto.c — the STARTTLS dialogs of the tcp check type and the
 * printable excerpt of a server's bytes.  Pure functions: they read only
 * the bytes they are given and never more than len of them; whatever a
 * server sends ends in MORE, SEND, DONE or FAIL (fuzz_tcp holds them to
 * it).
 *
 * The dialogs (RFC 3207 SMTP, RFC 2595 IMAP and POP3, RFC 4511 LDAP):
 *   smtp  <- 220 greeting   -> EHLO        <- 250 with STARTTLS
 *         -> STARTTLS       <- 220
 *   imap  <- * OK greeting  -> a1 STARTTLS <- a1 OK (untagged skipped)
 *   pop3  <- +OK greeting   -> STLS        <- +OK
 *   ldap  -> ExtendedRequest 1.3.6.1.4.1.1466.20037
 *         <- ExtendedResponse, resultCode 0
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#endif

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tcp_proto.h"

static const char smtp_ehlo[] = "EHLO tocsin.invalid\r\n";
static const char smtp_starttls[] = "STARTTLS\r\n";
static const char imap_starttls[] = "a1 STARTTLS\r\n";
static const char pop3_stls[] = "STLS\r\n";
/* LDAPMessage { messageID 1, extendedReq { requestName StartTLS } } */
static const unsigned char ldap_starttls[] = {
	0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16,
	'1', '.', '3', '.', '6', '.', '1', '.', '4', '.', '1', '.',
	'1', '4', '6', '6', '.', '2', '0', '0', '3', '7',
};

enum tcp_stls_proto
tcp_stls_parse(const char *name)
{
	if (strcasecmp(name, "smtp") == 0)
		return TCP_STLS_SMTP;
	if (strcasecmp(name, "imap") == 0)
		return TCP_STLS_IMAP;
	if (strcasecmp(name, "pop3") == 0)
		return TCP_STLS_POP3;
	if (strcasecmp(name, "ldap") == 0)
		return TCP_STLS_LDAP;
	return TCP_STLS_NONE;
}

const char *
tcp_stls_name(enum tcp_stls_proto p)
{
	switch (p) {
	case TCP_STLS_SMTP:
		return "smtp";
	case TCP_STLS_IMAP:
		return "imap";
	case TCP_STLS_POP3:
		return "pop3";
	case TCP_STLS_LDAP:
		return "ldap";
	default:
		return "none";
	}
}

void
tcp_printable(char *dst, size_t dstlen, const unsigned char *buf,
    size_t len, size_t max)
{
	size_t i, o = 0;
	char e[5];

	if (dstlen == 0)
		return;
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = buf[i];
		size_t n;

		if (c == '\r')
			n = (size_t)snprintf(e, sizeof(e), "\\r");
		else if (c == '\n')
			n = (size_t)snprintf(e, sizeof(e), "\\n");
		else if (c == '\t')
			n = (size_t)snprintf(e, sizeof(e), "\\t");
		else if (c == '\\' || c == '"')
			n = (size_t)snprintf(e, sizeof(e), "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			n = (size_t)snprintf(e, sizeof(e), "\\x%02x", c);
		else {
			e[0] = (char)c;
			e[1] = '\0';
			n = 1;
		}
		if (o + n + 4 > dstlen)	/* room for "..." and the NUL */
			break;
		memcpy(dst + o, e, n);
		o += n;
	}
	if (i < len && o + 4 <= dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/*
 * The length of the first line of buf (without its "\r\n" or "\n"), and
 * in *next the offset after its end.  RETURN VALUE: 0, or -1 when buf
 * holds no complete line yet.
 */
static int
line_at(const unsigned char *buf, size_t len, size_t *linelen, size_t *next)
{
	const unsigned char *nl = memchr(buf, '\n', len);

	if (nl == NULL)
		return -1;
	*next = (size_t)(nl - buf) + 1;
	*linelen = (size_t)(nl - buf);
	if (*linelen > 0 && buf[*linelen - 1] == '\r')
		(*linelen)--;
	return 0;
}

static enum tcp_stls_step
fail(char *why, size_t whylen, const char *what, const unsigned char *line,
    size_t linelen)
{
	char text[160];

	tcp_printable(text, sizeof(text), line, linelen, 120);
	snprintf(why, whylen, "%s: \"%s\"", what, text);
	return TCP_STLS_FAIL;
}

/* No complete reply in len bytes: wait, unless a server is babbling. */
static enum tcp_stls_step
more(size_t len, char *why, size_t whylen, const unsigned char *buf)
{
	if (len < TCP_STLS_MAX_REPLY)
		return TCP_STLS_MORE;
	return fail(why, whylen, "reply longer than 16 KiB", buf, len);
}

/*
 * One complete SMTP reply at buf ("250-a\r\n250 b\r\n").  RETURN VALUE:
 * its code (100..599) with *used set, 0 when incomplete, -1 malformed
 * (*bad_len: the offending line).
 */
static int
smtp_reply(const unsigned char *buf, size_t len, size_t *used, int *tls,
    size_t *bad_off, size_t *bad_len)
{
	size_t off = 0, ll, next;
	int code = -1;

	*tls = 0;
	while (line_at(buf + off, len - off, &ll, &next) == 0) {
		const unsigned char *l = buf + off;
		int c;

		if (ll < 3 || !isdigit(l[0]) || !isdigit(l[1]) ||
		    !isdigit(l[2]) || (ll > 3 && l[3] != ' ' && l[3] != '-')) {
			*bad_off = off;
			*bad_len = ll;
			return -1;
		}
		c = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (code != -1 && c != code) {
			*bad_off = off;
			*bad_len = ll;
			return -1;
		}
		code = c;
		if (ll >= 12 && strncasecmp((const char *)l + 4, "STARTTLS",
		    8) == 0 && (ll == 12 || l[12] == ' '))
			*tls = 1;
		off += next;
		if (ll == 3 || l[3] == ' ') {
			*used = off;
			return code < 100 ? -1 : code;
		}
	}
	return 0;
}

static enum tcp_stls_step
smtp_feed(struct tcp_stls *st, const unsigned char *buf, size_t len,
    size_t *used, const void **out, size_t *outlen, char *why,
    size_t whylen)
{
	size_t boff = 0, blen = 0;
	int code, tls;

	code = smtp_reply(buf, len, used, &tls, &boff, &blen);
	if (code == 0) {
		*used = 0;
		return more(len, why, whylen, buf);
	}
	if (code < 0)
		return fail(why, whylen, "not an SMTP reply", buf + boff,
		    blen);
	switch (st->step) {
	case 0:
		if (code != 220)
			return fail(why, whylen, "SMTP greeting", buf, *used);
		st->step = 1;
		*out = smtp_ehlo;
		*outlen = sizeof(smtp_ehlo) - 1;
		return TCP_STLS_SEND;
	case 1:
		if (code != 250)
			return fail(why, whylen, "SMTP EHLO refused", buf,
			    *used);
		if (!tls) {
			snprintf(why, whylen, "the SMTP server does not offer "
			    "STARTTLS");
			return TCP_STLS_FAIL;
		}
		st->step = 2;
		*out = smtp_starttls;
		*outlen = sizeof(smtp_starttls) - 1;
		return TCP_STLS_SEND;
	default:
		if (code != 220)
			return fail(why, whylen, "SMTP STARTTLS refused", buf,
			    *used);
		return TCP_STLS_DONE;
	}
}

static int
has_prefix(const unsigned char *l, size_t ll, const char *p)
{
	size_t n = strlen(p);

	return ll >= n && strncasecmp((const char *)l, p, n) == 0;
}

static enum tcp_stls_step
imap_feed(struct tcp_stls *st, const unsigned char *buf, size_t len,
    size_t *used, const void **out, size_t *outlen, char *why,
    size_t whylen)
{
	size_t off = 0, ll, next;

	while (line_at(buf + off, len - off, &ll, &next) == 0) {
		const unsigned char *l = buf + off;

		off += next;
		if (st->step == 0) {
			if (!has_prefix(l, ll, "* OK"))
				return fail(why, whylen, "IMAP greeting", l,
				    ll);
			st->step = 1;
			*used = off;
			*out = imap_starttls;
			*outlen = sizeof(imap_starttls) - 1;
			return TCP_STLS_SEND;
		}
		if (has_prefix(l, ll, "* "))	/* untagged: CAPABILITY… */
			continue;
		*used = off;
		if (has_prefix(l, ll, "a1 OK"))
			return TCP_STLS_DONE;
		return fail(why, whylen, "IMAP STARTTLS refused", l, ll);
	}
	*used = 0;
	return more(len, why, whylen, buf);
}

static enum tcp_stls_step
pop3_feed(struct tcp_stls *st, const unsigned char *buf, size_t len,
    size_t *used, const void **out, size_t *outlen, char *why,
    size_t whylen)
{
	size_t ll, next;

	if (line_at(buf, len, &ll, &next) == -1) {
		*used = 0;
		return more(len, why, whylen, buf);
	}
	*used = next;
	if (!has_prefix(buf, ll, "+OK"))
		return fail(why, whylen, st->step == 0 ? "POP3 greeting" :
		    "POP3 STLS refused", buf, ll);
	if (st->step == 0) {
		st->step = 1;
		*out = pop3_stls;
		*outlen = sizeof(pop3_stls) - 1;
		return TCP_STLS_SEND;
	}
	return TCP_STLS_DONE;
}

/*
 * A BER tag and length at p (before end).  RETURN VALUE: the header size
 * with *tag and *clen set, 0 when more bytes are needed, -1 malformed or
 * longer than TCP_STLS_MAX_REPLY.
 */
static int
ber_head(const unsigned char *p, const unsigned char *end, int *tag,
    size_t *clen)
{
	size_t n, i, l = 0;

	if (end - p < 2)
		return 0;
	*tag = p[0];
	if ((p[0] & 0x1f) == 0x1f)	/* multi-byte tags: not in LDAP */
		return -1;
	if (p[1] < 0x80) {
		*clen = p[1];
		return 2;
	}
	n = p[1] & 0x7f;
	if (n == 0 || n > 4)
		return -1;
	if ((size_t)(end - p) < 2 + n)
		return 0;
	for (i = 0; i < n; i++)
		l = (l << 8) | p[2 + i];
	if (l > TCP_STLS_MAX_REPLY)
		return -1;
	*clen = l;
	return (int)(2 + n);
}

static enum tcp_stls_step
ldap_feed(const unsigned char *buf, size_t len, size_t *used, char *why,
    size_t whylen)
{
	const unsigned char *p, *end;
	int h, tag;
	size_t clen, i;
	long code = 0;

	if ((h = ber_head(buf, buf + len, &tag, &clen)) == 0) {
		*used = 0;
		return TCP_STLS_MORE;
	}
	if (h < 0 || tag != 0x30)
		return fail(why, whylen, "not an LDAP message", buf,
		    len < 16 ? len : 16);
	if (len < (size_t)h + clen) {
		*used = 0;
		return TCP_STLS_MORE;
	}
	*used = (size_t)h + clen;
	p = buf + h;
	end = p + clen;
	/* messageID */
	if ((h = ber_head(p, end, &tag, &clen)) <= 0 || tag != 0x02 ||
	    clen > (size_t)(end - p - h))
		goto bad;
	p += (size_t)h + clen;
	/* extendedResp [APPLICATION 24] */
	if ((h = ber_head(p, end, &tag, &clen)) <= 0 || tag != 0x78 ||
	    clen > (size_t)(end - p - h))
		goto bad;
	p += h;
	end = p + clen;
	/* resultCode ENUMERATED */
	if ((h = ber_head(p, end, &tag, &clen)) <= 0 || tag != 0x0a ||
	    clen < 1 || clen > 4 || clen > (size_t)(end - p - h))
		goto bad;
	for (i = 0; i < clen; i++)
		code = (code << 8) | p[h + i];
	p += (size_t)h + clen;
	if (code == 0)
		return TCP_STLS_DONE;
	/* matchedDN, then diagnosticMessage: say what the server said */
	if ((h = ber_head(p, end, &tag, &clen)) > 0 && tag == 0x04 &&
	    clen <= (size_t)(end - p - h)) {
		p += (size_t)h + clen;
		if ((h = ber_head(p, end, &tag, &clen)) > 0 && tag == 0x04 &&
		    clen <= (size_t)(end - p - h)) {
			char text[160];

			tcp_printable(text, sizeof(text), p + h, clen, 120);
			snprintf(why, whylen, "LDAP StartTLS refused: "
			    "resultCode %ld \"%s\"", code, text);
			return TCP_STLS_FAIL;
		}
	}
	snprintf(why, whylen, "LDAP StartTLS refused: resultCode %ld", code);
	return TCP_STLS_FAIL;
bad:
	snprintf(why, whylen, "not an LDAP ExtendedResponse");
	return TCP_STLS_FAIL;
}

enum tcp_stls_step
tcp_stls_begin(struct tcp_stls *st, const void **out, size_t *outlen)
{
	st->step = 0;
	if (st->proto == TCP_STLS_LDAP) {
		st->step = 1;
		*out = ldap_starttls;
		*outlen = sizeof(ldap_starttls);
		return TCP_STLS_SEND;
	}
	return TCP_STLS_MORE;
}

enum tcp_stls_step
tcp_stls_feed(struct tcp_stls *st, const unsigned char *buf, size_t len,
    size_t *used, const void **out, size_t *outlen, char *why,
    size_t whylen)
{
	*used = 0;
	if (whylen > 0)
		why[0] = '\0';
	switch (st->proto) {
	case TCP_STLS_SMTP:
		return smtp_feed(st, buf, len, used, out, outlen, why, whylen);
	case TCP_STLS_IMAP:
		return imap_feed(st, buf, len, used, out, outlen, why, whylen);
	case TCP_STLS_POP3:
		return pop3_feed(st, buf, len, used, out, outlen, why, whylen);
	case TCP_STLS_LDAP:
		return ldap_feed(buf, len, used, why, whylen);
	default:
		snprintf(why, whylen, "no STARTTLS protocol");
		return TCP_STLS_FAIL;
	}
}
