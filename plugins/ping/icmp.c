/*
 * plugins/ping/icmp.c — one non-blocking ICMP socket per address family,
 * shared by every ping check (see icmp.h).
 *
 * Datagram ("ping") sockets come first: they need no privilege, only the
 * process's group inside net.ipv4.ping_group_range, and the kernel gives
 * each one its own identifier and delivers only the replies carrying it.
 * Raw sockets need CAP_NET_RAW and see every ICMP packet of the host, so
 * the kernel filter keeps only echo replies and we check the identifier.
 *
 * Never blocks: the sockets are O_NONBLOCK, reads happen on the loop when
 * the socket is readable, and a full send buffer is an error the caller
 * counts as a lost packet rather than a reason to wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/random.h>

#include <event2/event.h>
#include <tocsin/plugin.h>

#include "icmp.h"

/* raw IPv4 ICMP type filter of Linux (linux/icmp.h clashes with netinet) */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif
struct icmp_type_filter {
	uint32_t data;		/* bit set: type is dropped */
};

/* Reads per readable event before letting other events run. */
#define READ_BURST	256
/* Room for the largest datagram plus an IPv4 header with options. */
#define RECV_BUF	(65536 + 64)
#define SOCK_BUF	(4 * 1024 * 1024)

struct isock {
	int family;
	enum icmp_kind kind;
	int fd;
	uint16_t ident;		/* raw: ours; datagram: the kernel's */
	struct event *ev;
};

static struct isock socks[2] = {
	{ AF_INET, ICMP_NONE, -1, 0, NULL },
	{ AF_INET6, ICMP_NONE, -1, 0, NULL },
};
static icmp_reply_cb reply_cb;
static uint8_t *rbuf;

static struct isock *
isock_of(int family)
{
	return family == AF_INET6 ? &socks[1] : &socks[0];
}

uint16_t
icmp_cksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len == 1)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Bigger socket buffers, so a burst of thousands of replies is not lost. */
static void
grow_buffers(int fd)
{
	int sz = SOCK_BUF;

	/* the FORCE variants pass rmem_max with CAP_NET_ADMIN; else cap */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

int
icmp_open(int family, char *why, size_t whylen)
{
	struct isock *s = isock_of(family);
	int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd, derr, on = 1, tiny = 1;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	uint16_t r;

	if (s->fd >= 0)
		return 0;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd >= 0) {
		/* bind now so that the kernel's identifier is known */
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)family;
		if (bind(fd, (struct sockaddr *)&ss, family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in))
		    == 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
			s->kind = ICMP_DGRAM;
			s->ident = ntohs(family == AF_INET6 ?
			    ((struct sockaddr_in6 *)&ss)->sin6_port :
			    ((struct sockaddr_in *)&ss)->sin_port);
			goto done;
		}
		derr = errno;
		close(fd);
	} else
		derr = errno;
	fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		snprintf(why, whylen, "no %s ICMP socket: datagram: %s (is "
		    "group %u in sysctl net.ipv4.ping_group_range?); raw: %s "
		    "(needs CAP_NET_RAW)", family == AF_INET6 ? "IPv6" :
		    "IPv4", strerror(derr), (unsigned)getegid(),
		    strerror(errno));
		return -1;
	}
	s->kind = ICMP_RAW;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint16_t)(getpid() ^ time(NULL));
	s->ident = r;
	if (family == AF_INET6) {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		(void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f,
		    sizeof(f));
	} else {
		struct icmp_type_filter f = { ~(1U << ICMP_ECHOREPLY) };

		(void)setsockopt(fd, SOL_RAW, ICMP_FILTER, &f, sizeof(f));
	}
done:
	s->fd = fd;
	/*
	 * Until icmp_watch() nobody reads: a raw socket would queue every
	 * echo reply the host gets.  Keep that queue tiny till then.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny));
	/* kernel receive timestamps: RTTs unaffected by loop latency */
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	return 0;
}

enum icmp_kind
icmp_kind(int family)
{
	return isock_of(family)->kind;
}

const char *
icmp_kind_name(int family)
{
	switch (isock_of(family)->kind) {
	case ICMP_DGRAM:
		return "datagram";
	case ICMP_RAW:
		return "raw";
	default:
		return "none";
	}
}

int
icmp_parse(int family, enum icmp_kind kind, uint16_t ident,
    const uint8_t *buf, size_t n, uint16_t *seq, const uint8_t **payload,
    size_t *plen)
{
	size_t off = 0;
	uint8_t want;

	if (family == AF_INET && kind == ICMP_RAW) {
		size_t ihl, tot;

		if (n < 20 || (buf[0] >> 4) != 4)
			return -1;
		ihl = (size_t)(buf[0] & 0x0f) * 4;
		tot = (size_t)buf[2] << 8 | buf[3];
		if (ihl < 20 || ihl > n || buf[9] != IPPROTO_ICMP)
			return -1;
		if (tot >= ihl && tot < n)
			n = tot;	/* ignore link padding */
		off = ihl;
	}
	if (n - off < ICMP_HDR_LEN)
		return -1;
	want = family == AF_INET6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
	if (buf[off] != want || buf[off + 1] != 0)
		return -1;
	/*
	 * Datagram sockets get only what ICMP accepted, checksum verified,
	 * and ICMPv6 raw sockets verify it themselves; raw IPv4 sockets get
	 * packets before that check, so a corrupted reply is dropped here.
	 */
	if (kind == ICMP_RAW) {
		if (((uint16_t)(buf[off + 4] << 8 | buf[off + 5])) != ident)
			return -1;
		if (family == AF_INET && icmp_cksum(buf + off, n - off) != 0)
			return -1;
	}
	*seq = (uint16_t)(buf[off + 6] << 8 | buf[off + 7]);
	*payload = buf + off + ICMP_HDR_LEN;
	*plen = n - off - ICMP_HDR_LEN;
	return 0;
}

int
icmp_send(int family, const struct sockaddr *to, socklen_t tolen,
    uint16_t seq, const uint8_t *payload, size_t plen)
{
	struct isock *s = isock_of(family);
	uint8_t stackbuf[1500], *pkt = stackbuf;
	size_t n = ICMP_HDR_LEN + plen;
	uint16_t ck;
	ssize_t w;

	if (s->fd < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (n > sizeof(stackbuf) && (pkt = malloc(n)) == NULL)
		return -1;
	pkt[0] = family == AF_INET6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	pkt[1] = 0;
	pkt[2] = pkt[3] = 0;
	/* a datagram socket overwrites the identifier with its own */
	pkt[4] = (uint8_t)(s->ident >> 8);
	pkt[5] = (uint8_t)s->ident;
	pkt[6] = (uint8_t)(seq >> 8);
	pkt[7] = (uint8_t)seq;
	memcpy(pkt + ICMP_HDR_LEN, payload, plen);
	/* ICMPv6 checksums cover a pseudo-header: the kernel fills them */
	if (family == AF_INET) {
		ck = icmp_cksum(pkt, n);
		pkt[2] = (uint8_t)(ck >> 8);
		pkt[3] = (uint8_t)ck;
	}
	w = sendto(s->fd, pkt, n, MSG_DONTWAIT, to, tolen);
	if (pkt != stackbuf) {
		int e = errno;

		free(pkt);
		errno = e;
	}
	if (w < 0)
		return -1;
	if ((size_t)w != n) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct isock *s = arg;
	struct icmp_reply r;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *cm;
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec)) + 64];
		struct cmsghdr align;
	} ctl;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < READ_BURST; i++) {
		memset(&mh, 0, sizeof(mh));
		memset(&r, 0, sizeof(r));
		iov.iov_base = rbuf;
		iov.iov_len = RECV_BUF;
		mh.msg_name = &r.from;
		mh.msg_namelen = sizeof(r.from);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				tocsin_log(TOCSIN_LOG_DEBUG, "ping: %s %s "
				    "socket: recvmsg: %s", s->family ==
				    AF_INET6 ? "IPv6" : "IPv4",
				    icmp_kind_name(s->family), strerror(errno));
			return;
		}
		if (mh.msg_flags & MSG_TRUNC)
			continue;
		if (r.from.ss_family != s->family)
			continue;
		r.family = s->family;
		r.mono_ns = mono_ns();
		r.kernel_ns = -1;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SO_TIMESTAMPNS &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				r.kernel_ns = (int64_t)ts.tv_sec * 1000000000 +
				    ts.tv_nsec;
			}
		if (icmp_parse(s->family, s->kind, s->ident, rbuf, (size_t)n,
		    &r.seq, &r.payload, &r.plen) != 0)
			continue;	/* not an echo reply for us */
		reply_cb(&r);
	}
}

int
icmp_watch(struct event_base *base, icmp_reply_cb cb)
{
	unsigned i;

	reply_cb = cb;
	if (rbuf == NULL && (rbuf = malloc(RECV_BUF)) == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		struct isock *s = &socks[i];

		if (s->fd < 0 || s->ev != NULL)
			continue;
		grow_buffers(s->fd);
		s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST,
		    on_readable, s);
		if (s->ev == NULL || event_add(s->ev, NULL) != 0)
			return -1;
	}
	return 0;
}

void
icmp_close_all(void)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		if (socks[i].ev != NULL)
			event_free(socks[i].ev);
		socks[i].ev = NULL;
		if (socks[i].fd >= 0)
			close(socks[i].fd);
		socks[i].fd = -1;
		socks[i].kind = ICMP_NONE;
	}
	free(rbuf);
	rbuf = NULL;
}
