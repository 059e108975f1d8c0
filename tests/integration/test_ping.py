"""The ping plugin: ICMP echo on loopback and through network namespaces
with netem loss and delay, the automatic host check (check = ping) and
UNREACHABLE children behind a downed link, config errors."""
import os
import re
import socket
import subprocess
import time

import harness
from fx_ping import DnsServer, Netns, metric, with_resolv_conf

SUMMARY = re.compile(r"^PING (OK|WARNING|CRITICAL) - [\d.]+% loss"
                     r"(, rtt avg [\d.e+-]+ ms)?$")


def start(env, config):
    d = env.daemon(config)
    d.require_plugin("ping")
    rc, out = d.check_config()
    if rc != 0 and "cannot ping" in out and "CAP_NET_RAW" in out:
        # not root, no CAP_NET_RAW and outside ping_group_range
        raise harness.Skip("no ICMP socket may be opened here: " +
                           out.strip().splitlines()[0])
    d.start()
    return d


def assert_ok_result(c):
    assert c["state"] == "OK", c
    assert SUMMARY.match(c["summary"]), c["summary"]
    assert c["summary"].startswith("PING OK - 0% loss, rtt avg "), c
    names = sorted(m["name"] for m in c["metrics"])
    assert names == ["loss", "rtt_avg", "rtt_max", "rtt_mdev",
                     "rtt_min"], names
    assert metric(c, "loss") == 0, c["metrics"]
    lo, avg, hi = (metric(c, n) for n in ("rtt_min", "rtt_avg", "rtt_max"))
    assert 0 < lo <= avg <= hi < 1000, (lo, avg, hi)
    assert metric(c, "rtt_mdev") >= 0


def test_loopback_ipv4_ipv6_and_names(env):
    fast = "  interval = 1s\n  count = 3\n  packet_interval = 20ms\n"
    conf = ('ping "lo4" { address = "127.0.0.1"\n%s}\n'
            'ping "lo-other" { address = "127.31.7.9"\n%s}\n'
            'ping "by-name" { address = "localhost"  ip_version = 4\n%s}\n'
            % (fast, fast, fast))
    has6 = socket.has_ipv6 and os.path.exists("/proc/net/if_inet6")
    if has6:
        conf += ('ping "lo6" { address = "::1"\n%s}\n'
                 'ping "lo6-scoped" { address = "::1%%lo"\n%s}\n'
                 % (fast, fast))
    d = start(env, conf)
    for name in ("lo4", "lo-other", "by-name") + (
            ("lo6", "lo6-scoped") if has6 else ()):
        c = d.wait_check(name, timeout=10, pred=lambda c: c["last_check"])
        assert_ok_result(c)
    c = d.check("lo4")
    assert "127.0.0.1" in (c.get("long_output") or ""), c
    d.stop()


def test_rtt_threshold_on_loopback(env):
    # loopback answers in well under 1ms: a 0ms threshold always trips
    d = start(env, 'ping "w" { address = "127.0.0.2"  interval = 1s\n'
                   '  count = 2  packet_interval = 10ms\n'
                   '  warn_rtt = 0ms  max_attempts = 1 }\n'
                   'ping "c" { address = "127.0.0.3"  interval = 1s\n'
                   '  count = 2  packet_interval = 10ms\n'
                   '  warn_rtt = 0ms  crit_rtt = 0ms  max_attempts = 1 }\n')
    w = d.wait_check("w", "WARNING", timeout=10)
    assert w["summary"].startswith("PING WARNING - 0% loss, rtt avg"), w
    rtt = [m for m in w["metrics"] if m["name"] == "rtt_avg"][0]
    assert rtt["warn"] == 0 and rtt["unit"] == "ms", rtt
    c = d.wait_check("c", "CRITICAL", timeout=10)
    assert c["summary"].startswith("PING CRITICAL - 0% loss"), c
    d.stop()


def _socket_fds(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(
                    "socket:"):
                n += 1
        except OSError:
            pass
    return n


def test_many_checks_share_one_socket(env):
    # 300 targets with 4 requests each every second: replies must reach
    # the right run (0% loss everywhere) through the two shared sockets
    conf = "".join(
        'ping "t%03d" { address = "127.0.%d.%d"  interval = 1s\n'
        '  count = 4  packet_interval = 50ms }\n' % (i, i // 200 + 1,
                                                     i % 200 + 1)
        for i in range(300))
    d = start(env, conf)

    def all_ran():
        cs = d.checks()
        return cs if all(c["last_check"] for c in cs) else None
    harness.wait_for(all_ran, 15, "every check to have a result")
    sockets = _socket_fds(d.proc.pid)
    time.sleep(2.5)         # two more runs of each
    bad = [(c["name"], c["summary"]) for c in d.checks()
           if c["state"] != "OK" or metric(c, "loss") != 0]
    assert not bad, bad[:10]
    # API listener, a few clients, the two ICMP sockets: not one per check
    assert sockets < 20, "tocsind holds %d sockets for 300 ping checks" % \
        sockets
    d.stop()


def test_config_errors(env):
    d = env.daemon(
        'ping "a" { address = "127.0.0.1"  count = 0 }\n'          # 1
        'ping "b" { address = "127.0.0.1"  packet_size = 4 }\n'    # 2
        'ping "c" { address = "::1"  ip_version = 4 }\n'           # 3
        'ping "d" { address = "127.0.0.1"  warn_loss = "lots" }\n'  # 4
        'ping "e" { address = "127.0.0.1"  count = 20\n'           # 5
        '  timeout = 1s }\n'                                       # 6
        'ping "f" { address = "bad name" }\n'                      # 7
        'ping "g" { ip_version = 4 }\n'                            # 8
        'host "h" { address = "127.0.0.1"  check = "ping"\n'       # 9
        '  interval = nonsense }\n'                                # 10
        'host "i" { check = "ping" }\n'                            # 11
        'host "j" { address = "127.0.0.1"  max_attempts = 2 }\n')  # 12
    d.require_plugin("ping")
    rc, out = d.check_config()
    assert rc == 1, out
    c = d.conf
    base = d.line_of('ping "a"')
    want = [
        (0, 'ping "a": count: 0 is not between 1 and 1000'),
        (1, 'ping "b": packet_size: 4 is not between 8 and 65000'),
        (2, 'ping "c": address: "::1" is an IPv6 address but ip_version '
            'is 4'),
        (3, 'ping "d": warn_loss: "lots" is not a percent'),
        (5, 'ping "e": timeout: 1000ms is too short for count 20'),
        (6, 'ping "f": address: "bad name" is not a host name'),
        (7, 'ping "g": missing required key "address"'),
        (9, 'host "h": interval: "nonsense" is not a duration'),
        (10, 'host "i": check = ping needs the host\'s address'),
        (11, 'host "j": max_attempts: only for the automatic host check'),
    ]
    for off, text in want:
        line = "%s:%d: %s" % (c, base + off, text)
        assert any(l.startswith(line) for l in out.splitlines()), \
            "missing %r in:\n%s" % (line, out)


def test_host_check_ping_is_made(env):
    d = start(env,
              'host "gw" { address = "127.0.0.1"  check = "ping"\n'
              '  interval = 1s  max_attempts = 2 }\n'
              'host "web" { address = "127.0.0.4"  check = "ping"\n'
              '  parents = { "gw" } }\n')
    c = d.wait_check("gw-ping", "OK", timeout=10,
                     pred=lambda c: c["last_check"])
    assert c["type"] == "ping" and c["host"] == "gw", c
    assert c["max_attempts"] == 2, c
    assert_ok_result(c)
    w = d.check("web-ping")
    assert w["host"] == "web" and w["max_attempts"] == 3, w
    d.stop()


def test_netem_loss_and_latency(env):
    ns = Netns("loss")
    how = ns.impair(loss_pct=30, delay_ms=50)
    common = ('  address = "%s"  interval = 2s  count = 30\n'
              '  packet_interval = 20ms  timeout = 3s  max_attempts = 1\n'
              % ns.ns_ip)
    d = start(env,
              'ping "lossy" {\n%s  warn_loss = 5%%  crit_loss = 95%%\n'
              '  warn_rtt = 20ms  crit_rtt = 1s }\n'
              'ping "slow" {\n%s  warn_loss = 95%%  crit_loss = 100%%\n'
              '  warn_rtt = 10ms  crit_rtt = 40ms }\n' % (common, common))
    c = d.wait_check("lossy", timeout=15, pred=lambda c: c["last_check"])
    assert c["state"] == "WARNING", c
    loss = metric(c, "loss")
    if how == "netem":
        # 30 requests at 30% loss: 5..70% but for a 1 in 3000 draw
        assert 5 <= loss <= 70, c
    else:
        assert loss == 30, c        # 3 of every 10, exactly
        assert c["summary"].startswith("PING WARNING - 30% loss, rtt avg "), c
    assert metric(c, "rtt_min") >= 45, c["metrics"]
    assert re.match(r"PING WARNING - [\d.]+% loss, rtt avg [\d.]+ ms$",
                    c["summary"]), c["summary"]
    s = d.wait_check("slow", timeout=15, pred=lambda c: c["last_check"])
    assert s["state"] == "CRITICAL", s
    assert metric(s, "rtt_avg") >= 45, s["metrics"]
    assert 45 <= metric(s, "rtt_min") <= metric(s, "rtt_max"), s["metrics"]
    d.stop()


def test_link_down_makes_children_unreachable(env):
    ns = Netns("down")
    fast = '  interval = 1s  retry_interval = 1s  timeout = 1s\n'
    pfast = fast + '  count = 3  packet_interval = 100ms\n'
    d = start(env,
              'host "gw" { address = "%s"  check = "ping"\n'
              '  interval = 1s  retry_interval = 1s  max_attempts = 2\n'
              '  timeout = 1s }\n'
              'host "srv" { address = "%s"  check = "ping"\n'
              '  parents = { "gw" }  interval = 1s  retry_interval = 1s\n'
              '  max_attempts = 4  timeout = 1s }\n'
              'ping "svc" { address = "%s"  host = "srv"  max_attempts = 5\n'
              '%s}\n'
              % (ns.ns_ip, ns.ns_ip, ns.ns_ip, pfast))
    for n in ("gw-ping", "srv-ping", "svc"):
        d.wait_check(n, "OK", timeout=10, pred=lambda c: c["last_check"])
    ns.link(False)
    g = d.wait_check("gw-ping", "CRITICAL", "hard", timeout=15)
    assert g["summary"] == "PING CRITICAL - 100% loss", g
    assert metric(g, "loss") == 100, g["metrics"]
    assert not [m for m in g["metrics"] if m["name"].startswith("rtt")], g
    d.wait_check("srv-ping", "UNREACHABLE", "hard", timeout=20)
    d.wait_check("svc", "UNREACHABLE", "hard", timeout=20)
    # the children never alerted as CRITICAL on their own
    assert "check srv-ping: hard state OK -> CRITICAL" not in d.log()
    assert "check svc: hard state OK -> CRITICAL" not in d.log()
    ns.link(True)
    for n in ("gw-ping", "srv-ping", "svc"):
        d.wait_check(n, "OK", timeout=15)
    d.stop()


def _unprivileged(argv):
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all"] + argv


def test_no_socket_is_a_clear_error(env):
    ns = Netns("nosock")
    ns.ns("sysctl", "-q", "-w", "net.ipv4.ping_group_range=1 0")
    d = env.daemon('ping "p" { address = "127.0.0.1" }\n')
    d.require_plugin("ping")
    os.chmod(env.tmpdir, 0o755)
    r = subprocess.run(["ip", "netns", "exec", ns.name] +
                       _unprivileged([d.binary, "-t", "-c", d.conf]),
                       capture_output=True, text=True, timeout=30,
                       cwd="/", env=d.env())
    harness.assert_no_sanitizer_report(r.stdout + r.stderr, "tocsind -t")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    line = "%s:%d: ping \"p\": cannot ping" % (d.conf, d.line_of('ping "p"'))
    assert line in r.stdout, r.stdout
    assert "net.ipv4.ping_group_range" in r.stdout, r.stdout
    assert "CAP_NET_RAW" in r.stdout, r.stdout


class NsDaemon(harness.Daemon):
    """tocsind run unprivileged inside a namespace, its API on the veth."""

    def __init__(self, ns, *args, **kw):
        self.ns = ns
        super().__init__(*args, **kw)

    def header(self):
        h = super().header().replace(
            '"127.0.0.1:%d"' % self.port, '"%s:%d"' % (self.ns.ns_ip,
                                                       self.port))
        self.header_text = h
        return h

    def get_raw(self, path, method="GET", body=None, headers=None,
                timeout=5, token=None):
        import http.client
        headers = dict(headers or {})
        # a read from outside loopback needs the token
        if token is True or (token is None and
                             os.path.exists(self.token_file)):
            token = self.token
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        c = http.client.HTTPConnection(self.ns.ns_ip, self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()


def test_unprivileged_datagram_sockets(env):
    # no CAP_NET_RAW at all: only ping_group_range lets it ping
    ns = Netns("dgram")
    ns.ns("sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
    conf = ('ping "inside" { address = "127.0.0.1"  interval = 1s\n'
            '  count = 3  packet_interval = 20ms }\n'
            'ping "across" { address = "%s"  interval = 1s\n'
            '  count = 3  packet_interval = 20ms }\n'
            'ping "inside6" { address = "::1"  interval = 1s\n'
            '  count = 3  packet_interval = 20ms }\n' % ns.host_ip)
    d = NsDaemon(ns, env.tmpdir, conf, env.builddir)
    d.require_plugin("ping")
    os.chmod(env.tmpdir, 0o755)
    os.makedirs(d.state_dir, exist_ok=True)
    os.chown(d.state_dir, 65534, 65534)
    wrapper = env.file("tocsind-ns", "#!/bin/sh\nexec %s\n" % " ".join(
        ["ip", "netns", "exec", ns.name] + _unprivileged(
            [d.binary, '"$@"'])), mode=0o755)
    d.binary = wrapper
    d.start()
    for name in ("inside", "across", "inside6"):
        c = d.wait_check(name, timeout=10, pred=lambda c: c["last_check"])
        assert_ok_result(c)
    assert "ping: IPv4 socket: datagram, IPv6 socket: datagram" in d.log()
    d.stop()


def test_stray_and_forged_replies_are_ignored(env):
    # The namespace's kernel stays silent; a responder there answers every
    # request with packets that must not count (another cookie, sequence
    # or identifier, bad checksum, truncated, garbage), and answers for
    # real, twice, only requests of 64 payload bytes.
    ns = Netns("junk")
    ns.responder_only("--junk", "--answer-size", "64")
    common = ('  address = "%s"  interval = 1s  count = 5\n'
              '  packet_interval = 20ms  timeout = 800ms  max_attempts = 1\n'
              % ns.ns_ip)
    d = start(env, 'ping "unanswered" {\n%s  packet_size = 56 }\n'
                   'ping "answered" {\n%s  packet_size = 64 }\n'
                   'ping "loop" { address = "127.0.0.1"  interval = 1s\n'
                   '  count = 5  packet_interval = 20ms }\n'
              % (common, common))
    for _ in range(3):      # three rounds of junk
        u = d.wait_check("unanswered", timeout=10,
                         pred=lambda c: c["last_check"])
        a = d.check("answered")
        time.sleep(1)
    u = d.check("unanswered")
    assert u["state"] == "CRITICAL", u
    assert u["summary"] == "PING CRITICAL - 100% loss", u
    a = d.wait_check("answered", "OK", timeout=5)
    assert metric(a, "loss") == 0, a        # duplicates counted once
    assert a["summary"].startswith("PING OK - 0% loss, rtt avg"), a
    assert_ok_result(d.check("loop"))
    assert ns.responder.poll() is None, "the responder died"
    d.stop()


def test_reload_and_stop_mid_run(env):
    # runs in flight (slow requests, names being resolved) are cancelled
    # by reloads and by the stop; the sanitizer build checks for leaks
    def conf(n):
        return "".join(
            'ping "s%d" { address = "%s"  interval = 1s  count = 5\n'
            '  packet_interval = 400ms  timeout = 3s }\n' % (i, a)
            for i, a in enumerate(["127.0.0.1", "localhost", "::1",
                                   "127.0.9.9"][:n]))
    d = start(env, conf(4))
    d.wait_check("s0", timeout=10, pred=lambda c: c["last_check"])
    for n in (2, 4, 3):
        out = d.reload(conf(n))
        assert "reloaded" in out, out
        time.sleep(0.3)
    assert len(d.checks()) == 3
    c = d.wait_check("s1", "OK", timeout=10, pred=lambda c: c["last_check"])
    assert c["summary"].startswith("PING OK - 0% loss"), c
    d.stop()


def test_names_resolve_without_blocking_the_loop(env):
    # a resolver that never answers one name: the other checks keep their
    # schedule, that check ends in the core's timeout, NXDOMAIN is UNKNOWN
    dns = DnsServer({"router": "127.0.0.77", "both": "127.0.0.78"})
    d = env.daemon(
        'ping "named" { address = "router.tocsin.test"  ip_version = 4\n'
        '  interval = 1s  count = 2  packet_interval = 10ms }\n'
        'ping "any-family" { address = "both.tocsin.test"\n'
        '  interval = 1s  count = 2  packet_interval = 10ms }\n'
        'ping "nx" { address = "nx.tocsin.test"  interval = 1s\n'
        '  max_attempts = 1 }\n'
        'ping "hangs" { address = "silent.tocsin.test"  interval = 1s\n'
        '  count = 2  packet_interval = 10ms  timeout = 3s\n'
        '  max_attempts = 1 }\n'
        'ping "literal" { address = "127.0.0.1"  interval = 1s\n'
        '  count = 2  packet_interval = 10ms }\n')
    d.require_plugin("ping")
    with_resolv_conf(env, d, dns.resolv_conf(env.path("resolv.conf")))
    d.start()
    c = d.wait_check("named", timeout=10, pred=lambda c: c["last_check"])
    assert_ok_result(c)
    assert "router.tocsin.test (127.0.0.77)" in c["long_output"], c
    c = d.wait_check("any-family", timeout=10,
                     pred=lambda c: c["last_check"])
    assert_ok_result(c)
    n = d.wait_check("nx", "UNKNOWN", timeout=10)
    assert n["summary"].startswith(
        "PING UNKNOWN - cannot resolve nx.tocsin.test: "), n
    # while "hangs" waits for its resolver, "literal" runs every second
    runs0 = d.check("literal")["last_check"]
    h = d.wait_check("hangs", "CRITICAL", timeout=15)
    assert "PING" not in h["summary"], h      # the core's timeout result
    assert d.check("literal")["last_check"] != runs0
    assert_ok_result(d.check("literal"))
    assert dns.queries.get("silent.tocsin.test", 0) >= 1, dns.queries
    # stop with a resolution in flight: nothing may leak (sanitizer build)
    q = dns.queries["silent.tocsin.test"]
    harness.wait_for(lambda: dns.queries["silent.tocsin.test"] > q, 10,
                     "a new query for silent.tocsin.test")
    d.stop()


def test_ipv6_across_a_link(env):
    ns = Netns("v6")
    ns.add_ipv6()
    d = start(env,
              'ping "v6" { address = "%s"  interval = 1s  count = 3\n'
              '  packet_interval = 20ms  timeout = 1s  max_attempts = 1 }\n'
              'ping "v6-forced" { address = "%s"  ip_version = 6\n'
              '  interval = 1s  count = 3  packet_interval = 20ms }\n'
              % (ns.ns_ip6, ns.ns_ip6))
    for name in ("v6", "v6-forced"):
        c = d.wait_check(name, "OK", timeout=10,
                         pred=lambda c: c["last_check"])
        assert_ok_result(c)
        assert ns.ns_ip6 in c["long_output"], c
    ns.link(False)
    c = d.wait_check("v6", "CRITICAL", timeout=10)
    assert c["summary"] == "PING CRITICAL - 100% loss", c
    d.stop()
