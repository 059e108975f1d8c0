#!/usr/bin/env python3
"""
tests/integration/icmp_responder.py — answers ICMP echo requests itself,
late and not always: the stand-in for `tc qdisc … netem loss delay` on
kernels without sch_netem.  Run inside a network namespace whose kernel
replies are off (net.ipv4.icmp_echo_ignore_all = 1):

    icmp_responder.py --delay 0.05 --drop-every 10 --drop 0,3,6

drops the requests whose arrival count (per source address and first 8
payload bytes) modulo 10 is in {0, 3, 6}, exactly 30 %, and answers the
rest after --delay seconds.  Prints "ready" once
its socket is open; stops on SIGTERM, or after --lifetime seconds.

With --junk it first answers every request with packets a pinger must
ignore (the payload's first bytes changed, a wrong sequence number, a
wrong identifier, a bad checksum, truncated and random bytes), and with
--answer-size N it answers for real only requests of N payload bytes,
twice (a duplicate).
"""
import os
import random
import argparse
import heapq
import select
import socket
import struct
import sys
import time


def cksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def with_cksum(pkt):
    pkt = pkt[:2] + b"\0\0" + pkt[4:]
    return pkt[:2] + struct.pack("!H", cksum(pkt)) + pkt[4:]


def junk(req):
    """Replies to request req that a pinger must not count."""
    body = req[4:]
    seq = struct.unpack("!H", req[6:8])[0]
    payload = req[8:]
    flipped = bytes(b ^ 0xff for b in payload[:8]) + payload[8:]
    out = [
        with_cksum(b"\0\0\0\0" + req[4:8] + flipped),       # wrong cookie
        with_cksum(b"\0\0\0\0" + req[4:6] +                 # wrong seq
                   struct.pack("!H", (seq + 7919) & 0xffff) + payload),
        with_cksum(b"\0\0\0\0" + struct.pack(              # wrong id
            "!H", (struct.unpack("!H", req[4:6])[0] ^ 0x5a5a)) +
            req[6:8] + payload),
        with_cksum(b"\0\0\0\0" + body)[:2] + b"\xde\xad" + body,  # cksum
        with_cksum(b"\0\0\0\0" + body)[:6],                # truncated
        with_cksum(b"\0\0\0\0" + req[4:8] + payload[:-1]),  # short
        b"\0" + os.urandom(random.randrange(0, 40)),         # garbage
    ]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--drop-every", type=int, default=10)
    ap.add_argument("--drop", default="")
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--junk", action="store_true")
    ap.add_argument("--answer-size", type=int, default=-1)
    a = ap.parse_args()
    drop = {int(x) for x in a.drop.split(",") if x != ""}
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.setblocking(False)
    print("ready", flush=True)
    pending = []        # (due, seq, dest, packet)
    n = 0
    # counted per stream: per source and first 8 payload bytes (tocsind's
    # per-run cookie), so runs interleaved on one target each lose 30 %
    counts = {}
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        now = time.monotonic()
        wait = 0.5
        if pending:
            wait = max(0.0, min(wait, pending[0][0] - now))
        r, _, _ = select.select([s], [], [], wait)
        if r:
            for _ in range(256):
                try:
                    data, src = s.recvfrom(65535)
                except BlockingIOError:
                    break
                ihl = (data[0] & 0x0f) * 4
                icmp = data[ihl:]
                if len(icmp) < 8 or icmp[0] != 8 or icmp[1] != 0:
                    continue            # only echo requests
                n += 1
                if a.junk:
                    for j in junk(icmp):
                        try:
                            s.sendto(j, (src[0], 0))
                        except OSError:
                            pass
                if a.answer_size >= 0 and len(icmp) - 8 != a.answer_size:
                    continue
                key = (src[0], icmp[8:16])
                counts[key] = counts.get(key, 0) + 1
                if (counts[key] - 1) % a.drop_every in drop:
                    continue
                reply = b"\0\0\0\0" + icmp[4:]
                c = cksum(reply)
                reply = reply[:2] + struct.pack("!H", c) + reply[4:]
                heapq.heappush(pending, (time.monotonic() + a.delay, n,
                                         src[0], reply))
                if a.answer_size >= 0:      # and a duplicate
                    heapq.heappush(pending, (time.monotonic() + a.delay,
                                             n, src[0], reply))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, dst, pkt = heapq.heappop(pending)
            try:
                s.sendto(pkt, (dst, 0))
            except OSError as e:
                print("send: %s" % e, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
