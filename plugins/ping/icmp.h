/*
 * plugins/ping/icmp.h — the ICMP echo sockets of the ping plugin: one
 * non-blocking socket per address family, shared by every ping check, and
 * the wire format of echo requests and replies.
 *
 * What it owns: the two sockets, the choice between an unprivileged
 * datagram socket (SOCK_DGRAM/IPPROTO_ICMP, allowed by the sysctl
 * net.ipv4.ping_group_range) and a raw socket (CAP_NET_RAW), and turning
 * received bytes into (source, sequence, payload).  It knows nothing about
 * checks: ping.c matches replies to runs.
 */
#ifndef TOCSIN_PING_ICMP_H
#define TOCSIN_PING_ICMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;

#define ICMP_HDR_LEN	8

enum icmp_kind {
	ICMP_NONE = 0,		/* no socket for this family */
	ICMP_DGRAM,		/* kernel sets the identifier, filters replies */
	ICMP_RAW,		/* we set the identifier and filter */
};

/* A parsed echo reply (pointers into the receive buffer). */
struct icmp_reply {
	int family;
	struct sockaddr_storage from;
	uint16_t seq;
	const uint8_t *payload;
	size_t plen;
	int64_t mono_ns;	/* CLOCK_MONOTONIC when read */
	int64_t kernel_ns;	/* CLOCK_REALTIME kernel timestamp, or -1 */
};

typedef void (*icmp_reply_cb)(const struct icmp_reply *r);

/*
 * icmp_open — open the socket of family (AF_INET or AF_INET6), datagram
 * first, raw second.  On failure fills why (a sentence) and returns -1.
 * Done at plugin start-up, before privileges could be dropped.
 */
int icmp_open(int family, char *why, size_t whylen);
enum icmp_kind icmp_kind(int family);
const char *icmp_kind_name(int family);
/* Watch both sockets on base, calling cb for each echo reply for us. */
int icmp_watch(struct event_base *base, icmp_reply_cb cb);
void icmp_close_all(void);

/*
 * icmp_send — one echo request with sequence seq and the given payload.
 * RETURN VALUE: 0, or -1 with errno set (EAGAIN: socket buffer full).
 */
int icmp_send(int family, const struct sockaddr *to, socklen_t tolen,
    uint16_t seq, const uint8_t *payload, size_t plen);

/*
 * icmp_parse — is buf (n bytes, as read from a socket of family/kind) an
 * echo reply for us?  Raw IPv4 data starts with the IP header; everything
 * else starts with the ICMP header.  ident is checked for raw sockets
 * only.  RETURN VALUE: 0 with *seq, *payload and *plen set, or -1.
 */
int icmp_parse(int family, enum icmp_kind kind, uint16_t ident,
    const uint8_t *buf, size_t n, uint16_t *seq, const uint8_t **payload,
    size_t *plen);

/* The Internet checksum of len bytes (RFC 1071). */
uint16_t icmp_cksum(const uint8_t *p, size_t len);

#endif
