"""
tests/integration/fx_ping.py — fixtures of the ping tests: a network
namespace joined to ours by a veth pair, with netem on its side.

Names carry the test's pid (other helpers run the suite at the same time)
and every namespace registers with harness for teardown, so it is deleted
whether the test passed or not.  Where the environment forbids making
namespaces, Netns() raises harness.Skip with the reason.
"""
import os
import random
import shutil
import subprocess
import sys

import harness

_seq = [0]


def run(*argv, check=True, timeout=10):
    r = subprocess.run(list(argv), capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (
            " ".join(argv), r.returncode, (r.stderr or r.stdout).strip()))
    return r


def _used_prefixes():
    r = run("ip", "-4", "-o", "addr", "show", check=False)
    return r.stdout


class Netns:
    """
    Namespace NAME with a veth pair: `host_if` (here, address host_ip)
    and `ns_if` (inside, address ns_ip), on a /30 of 10.250.0.0/16 not in
    use here.  ns(argv…) runs a command inside.
    """

    def __init__(self, tag="a"):
        if shutil.which("ip") is None:
            raise harness.Skip("iproute2 (ip) is not installed")
        _seq[0] += 1
        pid = os.getpid()
        self.name = "tocsin-ping-%d-%s%d" % (pid, tag, _seq[0])
        base = "tp%x%d" % (pid, _seq[0])
        self.host_if = base + "h"
        self.ns_if = base + "n"
        self.created = False
        r = run("ip", "netns", "add", self.name, check=False)
        if r.returncode != 0:
            raise harness.Skip("cannot make a network namespace here (%s)" %
                               r.stderr.strip())
        self.created = True
        harness.register(self)
        used = _used_prefixes()
        for _ in range(50):
            n = random.randrange(1, 16383) * 4
            pre = "10.250.%d.%d" % (n // 256, n % 256)
            self.host_ip = "10.250.%d.%d" % (n // 256, n % 256 + 1)
            self.ns_ip = "10.250.%d.%d" % (n // 256, n % 256 + 2)
            if (pre.rsplit(".", 1)[0] + ".") not in used:
                break
        run("ip", "link", "add", self.host_if, "type", "veth", "peer",
            "name", self.ns_if)
        run("ip", "link", "set", self.ns_if, "netns", self.name)
        run("ip", "addr", "add", self.host_ip + "/30", "dev", self.host_if)
        run("ip", "link", "set", self.host_if, "up")
        self.ns("ip", "link", "set", "lo", "up")
        self.ns("ip", "addr", "add", self.ns_ip + "/30", "dev", self.ns_if)
        self.ns("ip", "link", "set", self.ns_if, "up")

    def add_ipv6(self):
        """A ULA /64 on the link (nodad: usable at once): host_ip6, ns_ip6."""
        n = random.randrange(1, 0xffff)
        self.host_ip6 = "fd74:6f63:%x::1" % n
        self.ns_ip6 = "fd74:6f63:%x::2" % n
        r = run("ip", "-6", "addr", "add", self.host_ip6 + "/64", "dev",
                self.host_if, "nodad", check=False)
        if r.returncode != 0:
            raise harness.Skip("no IPv6 on this host (%s)" %
                               r.stderr.strip())
        self.ns("ip", "-6", "addr", "add", self.ns_ip6 + "/64", "dev",
                self.ns_if, "nodad")

    def ns(self, *argv, check=True):
        return run("ip", "netns", "exec", self.name, *argv, check=check)

    def netem(self, *args):
        """tc netem on the namespace's side (its replies)."""
        if shutil.which("tc") is None:
            raise harness.Skip("tc (iproute2) is not installed")
        self.ns("tc", "qdisc", "replace", "dev", self.ns_if, "root",
                "netem", *args)

    def responder_only(self, *args):
        """Kernel replies off, icmp_responder.py with args answers."""
        self.ns("sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=1")
        self._start_responder(list(args))

    def _start_responder(self, args):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "icmp_responder.py")
        self.responder = subprocess.Popen(
            ["ip", "netns", "exec", self.name, sys.executable, script] +
            args, stdout=subprocess.PIPE, text=True,
            stdin=subprocess.DEVNULL)
        line = self.responder.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError("icmp_responder.py did not start: %r" %
                                 line)

    def impair(self, loss_pct=30, delay_ms=50):
        """
        Makes the namespace answer pings delay_ms late and lose loss_pct
        (a multiple of 10) of them: with netem where the kernel has it
        (then the loss is random), else with icmp_responder.py in place
        of the kernel's replies (then exactly loss_pct of each 10 are
        lost).  Returns "netem" or "responder".
        """
        if shutil.which("tc") is not None:
            r = self.ns("tc", "qdisc", "replace", "dev", self.ns_if, "root",
                        "netem", "loss", "%d%%" % loss_pct, "delay",
                        "%dms" % delay_ms, check=False)
            if r.returncode == 0:
                return "netem"
            print("# netem unavailable (%s): emulating %d%% loss and %dms "
                  "delay with icmp_responder.py" % (
                      r.stderr.strip(), loss_pct, delay_ms))
        k = loss_pct // 10
        drop = ",".join(str(i * 10 // k) for i in range(k))
        self.responder_only("--delay", str(delay_ms / 1000.0),
                            "--drop-every", "10", "--drop", drop)
        return "responder"

    def link(self, up):
        """The namespace's end of the link up or down."""
        self.ns("ip", "link", "set", self.ns_if, "up" if up else "down")

    def cleanup(self):
        r = getattr(self, "responder", None)
        if r is not None and r.poll() is None:
            r.kill()
            r.wait(timeout=10)
        if r is not None:
            r.stdout.close()
        if not self.created:
            return
        # deleting the namespace deletes ns_if, and with it the pair
        run("ip", "netns", "del", self.name, check=False)
        run("ip", "link", "del", self.host_if, check=False)
        self.created = False


def metric(check, name):
    for m in check.get("metrics") or []:
        if m["name"] == name:
            return m["value"]
    raise AssertionError("check %s has no metric %s: %r" % (
        check.get("name"), name, check.get("metrics")))


class DnsServer:
    """
    A small DNS server on 127.0.0.1:PORT (UDP) for names under
    tocsin.test: NAME.tocsin.test with NAME in `a` answers that IPv4
    address, "nx" is NXDOMAIN, "silent" is never answered (a resolver
    that hangs), AAAA questions get an empty answer.  `queries` counts
    the questions seen per name.
    """

    def __init__(self, a):
        import socket
        import threading
        self.a = dict(a)
        self.queries = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        harness.register(self)

    def _serve(self):
        import select
        import struct
        while not self.stop:
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if not r:
                continue
            try:
                q, src = self.sock.recvfrom(4096)
            except OSError:
                continue
            if len(q) < 12:
                continue
            labels, i = [], 12
            while i < len(q) and q[i] != 0:
                n = q[i]
                labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
                i += 1 + n
            qend = i + 5
            if qend > len(q):
                continue
            qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
            name = ".".join(labels).lower()
            self.queries[name] = self.queries.get(name, 0) + 1
            host = name[:-len(".tocsin.test")] if name.endswith(
                ".tocsin.test") else None
            if host == "silent":
                continue
            question = q[12:qend]
            if host in self.a:
                rcode, answers = 0, []
                if qtype == 1:
                    answers.append(b"\xc0\x0c" + struct.pack(
                        "!HHIH", 1, 1, 60, 4) + socket_aton(self.a[host]))
            else:
                rcode, answers = 3, []
            hdr = q[:2] + struct.pack("!HHHHH", 0x8180 | rcode, 1,
                                      len(answers), 0, 0)
            try:
                self.sock.sendto(hdr + question + b"".join(answers), src)
            except OSError:
                pass

    def resolv_conf(self, path, timeout=5):
        # libevent's evdns takes "IP:PORT" nameservers
        harness.write_file(path, "nameserver 127.0.0.1:%d\n"
                                 "options timeout:%d attempts:1\n" % (
                                     self.port, timeout))
        return path

    def cleanup(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()


def socket_aton(ip):
    import socket
    return socket.inet_aton(ip)


def with_resolv_conf(env, d, resolv):
    """
    Makes d run in its own mount namespace with resolv over
    /etc/resolv.conf; raises harness.Skip where that is not allowed.
    """
    if shutil.which("unshare") is None:
        raise harness.Skip("unshare (util-linux) is not installed")
    r = run("unshare", "-m", "--", "true", check=False)
    if r.returncode != 0:
        raise harness.Skip("cannot make a mount namespace here (%s)" %
                           r.stderr.strip())
    d.binary = env.file("tocsind-resolv", (
        "#!/bin/sh\n"
        "exec unshare -m -- sh -c 'mount --bind \"$0\" /etc/resolv.conf "
        "&& exec \"$@\"' %s %s \"$@\"\n") % (resolv, d.binary), mode=0o755)
