"""The snmp check type against a private snmpd: values and thresholds,
counters to rates (32-bit wrap, agent restart), interface discovery, v3,
and every way an agent can fail or misbehave."""
import os
import random
import socket
import subprocess
import threading
import time

import harness
import fx_snmp
from fx_snmp import check, metric, v2c, v3


def start(env, config):
    d = env.daemon(config)
    d.require_plugin("snmp")
    d.start()
    return d


def ran_since(d, name, t0):
    """Waits for a run of name that started after monotonic time t0."""
    seen = d.check(name)["last_check"]

    def newer():
        c = d.check(name)
        return c if c["last_check"] != seen else None
    c = d.wait_for(newer, 10, "a new run of %s" % name)
    # one more: the first new result may have started before t0
    seen = c["last_check"]
    return d.wait_for(newer, 10, "a second new run of %s" % name)


def test_snmp_v2c_values_and_thresholds(env):
    s = fx_snmp.Snmpd(env.tmpdir)
    s.set("gauge", 10)
    s.set("text", "hello")
    d = start(env, check("g", s.address(), v2c(
        ["load=%s" % fx_snmp.GAUGE_OID, "text=%s" % fx_snmp.TEXT_OID,
         "where=sysLocation.0",
         "up=SNMPv2-MIB::sysUpTime.0"],
        '  warn = { "load=50" }\n  crit = { "load=90" }\n')))
    c = d.wait_check("g", "OK", pred=lambda c: metric(c, "load") == 10)
    assert 'where="tocsin test rack"' in c["summary"], c
    assert "load=10" in c["summary"], c
    assert metric(c, "up") > 0, c
    m = [m for m in c["metrics"] if m["name"] == "load"][0]
    assert m["warn"] == 50 and m["crit"] == 90, m
    s.set("gauge", 70)
    c = d.wait_check("g", "WARNING")
    assert "load=70 (warning 50)" in c["summary"], c
    s.set("gauge", 95)
    c = d.wait_check("g", "CRITICAL")
    assert "load=95 (critical 90)" in c["summary"], c
    s.set("gauge", 5)
    d.wait_check("g", "OK")
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_counter_rate_wrap_and_agent_restart(env):
    s = fx_snmp.Snmpd(env.tmpdir)
    t_agent = time.monotonic()
    s.set("counter", 4294967000)          # 296 below 2^32
    s.set("gauge", 1)
    # two pass OIDs per request: snmpd re-runs a pass script for an OID
    # asked twice in a row only after a while
    d = start(env, check("ctr", s.address(), v2c(
        ["g=%s" % fx_snmp.GAUGE_OID, "octets=%s" % fx_snmp.COUNTER_OID])))
    c = d.wait_check("ctr", "OK", pred=lambda c: "sampled" in c["summary"])
    assert metric(c, "octets") is None, c      # no rate from one sample
    c = d.wait_check("ctr", "OK",
                     pred=lambda c: metric(c, "octets") is not None)
    assert metric(c, "octets") == 0, c
    s.set("counter", 200)                  # wrapped through 2^32: +496
    c = d.wait_check("ctr", "OK",
                     pred=lambda c: (metric(c, "octets") or 0) > 0)
    rate = metric(c, "octets")
    # 496 over one interval (1 s, scheduling jitter either way)
    assert 100 < rate < 2000, "rate after a 32-bit wrap: %r" % rate
    # an agent restart: sysUpTime goes back and the counter starts low
    # again; the next run must not see a 2^32 jump
    time.sleep(max(0, 4 - (time.monotonic() - t_agent)))
    s.set("counter", 10)
    s.restart()
    c = d.wait_check("ctr", pred=lambda c: "agent restarted" in
                     c["summary"], timeout=15)
    assert c["state"] == "OK", c
    assert metric(c, "octets") is None, c
    s.set("counter", 1010)
    c = d.wait_check("ctr", "OK",
                     pred=lambda c: (metric(c, "octets") or 0) > 0)
    assert metric(c, "octets") < 5000, c
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_interfaces(env):
    s = fx_snmp.Snmpd(env.tmpdir)
    d = start(env,
              check("lo", s.address(), v2c(extra=(
                  '  interfaces = { "lo" }\n'
                  '  crit = { "in_errors=10" }\n'))) +
              check("all", s.address(), v2c(extra='  interfaces = "all"\n'))
              + check("missing", s.address(), v2c(
                  extra='  interfaces = { "lo", "nosuchif0" }\n')))
    c = d.wait_check("lo", "OK",
                     pred=lambda c: metric(c, "lo.in_bps") is not None)
    assert metric(c, "lo.up") == 1, c
    for m in ("lo.out_bps", "lo.in_errors", "lo.out_errors",
              "lo.in_discards", "lo.out_discards"):
        assert metric(c, m) is not None and metric(c, m) >= 0, (m, c)
    # lo has a speed on Linux (10 Mbit/s), so utilisation is there
    assert metric(c, "lo.in_util") is not None, c
    assert "1/1 interfaces up" in c["summary"], c
    errs = [m for m in c["metrics"] if m["name"] == "lo.in_errors"][0]
    assert errs["crit"] == 10, errs
    c = d.wait_check("all", pred=lambda c: metric(c, "lo.up") == 1)
    assert "interfaces up" in c["summary"], c
    c = d.wait_check("missing", "UNKNOWN")
    assert 'interface "nosuchif0" not found' in c["summary"], c
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_no_response(env):
    s = fx_snmp.Snmpd(env.tmpdir)
    silent = fx_snmp.free_udp_port()
    fast = '  timeout = 2s\n  retries = 1\n'
    config = (check("wrongport", "127.0.0.1:%d" % silent,
                    v2c(["up=sysUpTime.0"], fast)) +
              check("community", s.address(),
                    v2c(["up=sysUpTime.0"], fast).replace(
                        fx_snmp.COMMUNITY, "not-the-community")) +
              check("agent", s.address(), v2c(["up=sysUpTime.0"], fast)))
    d = start(env, config)
    c = d.wait_check("wrongport", "CRITICAL")
    assert c["summary"] == "no response from 127.0.0.1:%d (2 tries)" % \
        silent, c
    # a reload while requests are in flight cancels those runs and frees
    # the checks under them (the sanitizer build watches)
    out = d.reload(config.replace("retries = 1", "retries = 2"))
    assert "refused" not in out, out
    c = d.wait_check("wrongport", "CRITICAL", pred=lambda c: "3 tries" in
                     c["summary"])
    c = d.wait_check("community", "CRITICAL")
    assert c["summary"].startswith("no response from %s" % s.address()), c
    d.wait_check("agent", "OK")
    s.stop()
    c = d.wait_check("agent", "CRITICAL", timeout=15)
    assert "no response from" in c["summary"], c
    s.start()
    d.wait_check("agent", "OK", timeout=15)
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_v3_auth_priv(env):
    s = fx_snmp.Snmpd(env.tmpdir)
    d = start(env, check("v3", s.address(), v3(
        oids=("up=sysUpTime.0", "name=sysName.0"),
        extra='  interfaces = { "lo" }\n  timeout = 3s\n')))
    c = d.wait_check("v3", "OK",
                     pred=lambda c: metric(c, "lo.in_bps") is not None)
    assert metric(c, "up") > 0, c
    # the agent restarts with the same engineID: the kept engineID and
    # keys go on working
    d.wait_check("v3", "OK", pred=lambda c: metric(c, "up") > 400)
    s.restart()
    c = d.wait_check("v3", pred=lambda c: (metric(c, "up") or 1e9) < 400,
                     timeout=15)
    assert c["state"] == "OK", c
    # a new agent (new engineID) at the same address drops requests for
    # the old one: a timeout, then the engineID is learnt again
    s.engine_id += "new"
    s.restart()
    c = d.wait_check("v3", "OK", timeout=20,
                     pred=lambda c: (metric(c, "up") or 1e9) < 400)
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_v3_wrong_password_and_user(env):
    s = fx_snmp.Snmpd(env.tmpdir)
    d = start(env,
              check("badauth", s.address(), v3(auth="not-the-password")) +
              check("baduser", s.address(), v3().replace(
                  fx_snmp.V3_USER, "nobody-here")))
    c = d.wait_check("badauth", "UNKNOWN")
    assert c["summary"].startswith(
        'authentication failed for user "%s" at %s' %
        (fx_snmp.V3_USER, s.address())), c
    c = d.wait_check("baduser", "UNKNOWN")
    assert c["summary"].startswith(
        'authentication failed for user "nobody-here"'), c
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_missing_objects(env):
    s = fx_snmp.Snmpd(env.tmpdir)
    s.set("gauge", 1)
    d = start(env,
              check("noobj", s.address(), v2c(
                  ["ok=%s" % fx_snmp.GAUGE_OID,
                   "gone=1.3.6.1.2.1.1.99.0"])) +
              check("noinst", s.address(), v2c(["x=sysUpTime.7"])) +
              check("v1", s.address(), v2c(["gone=1.3.6.1.2.1.1.99.0"])
                    .replace('version = "2c"', 'version = "1"')) +
              check("v1walk", s.address(), v2c(extra=(
                  '  interfaces = { "lo" }\n')).replace(
                  'version = "2c"', 'version = "1"')) +
              # a name, looked up with evdns (here: the hosts file)
              check("byname", "localhost:%d" % s.port,
                    v2c(["ok=%s" % fx_snmp.GAUGE_OID])))
    c = d.wait_check("noobj", "UNKNOWN")
    assert c["summary"].startswith("noSuchObject: gone (1.3.6.1.2.1.1.99.0)"
                                   ), c
    c = d.wait_check("noinst", "UNKNOWN")
    assert c["summary"].startswith(
        "noSuchInstance: x (sysUpTime.7 = 1.3.6.1.2.1.1.3.7)"), c
    c = d.wait_check("v1", "UNKNOWN")
    assert c["summary"].startswith("noSuchName: gone (1.3.6.1.2.1.1.99.0)"), c
    # v1 walks with GETNEXT and no 64-bit counters: 32-bit octets instead
    c = d.wait_check("v1walk", "OK",
                     pred=lambda c: metric(c, "lo.in_bps") is not None)
    c = d.wait_check("byname", "OK", pred=lambda c: metric(c, "ok") == 1)
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_config_errors(env):
    d = env.daemon(
        'snmp "a" {\n'
        '  address = "127.0.0.1:161"\n'
        '  oids = { "x=fooBarBaz.0" }\n'                    # line a
        '}\n'
        'snmp "b" {\n'
        '  address = "not a host!"\n'                      # line b
        '  oids = { "up=sysUpTime.0" }\n'
        '}\n'
        'snmp "c" {\n'
        '  address = "127.0.0.1"\n'
        '  oids = { "up=sysUpTime.0" }\n'
        '  warn = { "nothere=5" }\n'                       # line c
        '}\n'
        'snmp "d" {\n'
        '  address = "127.0.0.1"\n'
        '  version = "3"\n'
        '  username = "u"\n'
        '  auth_password = "short"\n'                      # line d
        '  oids = { "up=sysUpTime.0" }\n'
        '}\n'
        'snmp "e" {\n'                                     # line e
        '  address = "127.0.0.1"\n'
        '}\n')
    rc, out = d.check_config()
    err = out + d.last_stderr
    assert rc == 1, (rc, out, err)
    conf = d.conf
    for marker, words in (("fooBarBaz", ("oids", "fooBarBaz")),
                          ("not a host!", ("address",
                                           "not an IP address or a host")),
                          ("nothere=5", ("warn", "nothere")),
                          ('"short"', ("auth_password", "8 characters")),
                          ('snmp "e"', ("nothing to poll",))):
        line = "%s:%d:" % (conf, d.line_of(marker))
        hits = [l for l in err.splitlines() if l.startswith(line)]
        assert hits, "no error at %s in:\n%s" % (line, harness.tail(err, 20))
        for w in words:
            assert w in hits[0], (w, hits[0])


class MangleProxy:
    """
    UDP proxy in front of snmpd that damages replies: random bytes,
    truncations, bit flips, duplicates, or the reply intact.  Requests
    go to the agent untouched.
    """

    def __init__(self, agent_port, seed):
        self.rng = random.Random(seed)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.agent = ("127.0.0.1", agent_port)
        self.stop_flag = False
        self.sent = 0
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()
        harness.register(self)

    def mangle(self, data):
        r = self.rng.random()
        if r < 0.15:
            return [bytes(self.rng.getrandbits(8)
                          for _ in range(self.rng.randint(0, 300)))]
        if r < 0.35:
            return [data[:self.rng.randint(0, max(0, len(data) - 1))]]
        if r < 0.7:
            b = bytearray(data)
            for _ in range(self.rng.randint(1, 8)):
                i = self.rng.randrange(len(b))
                b[i] ^= 1 << self.rng.randrange(8)
            return [bytes(b)]
        if r < 0.8:
            return [data, data]
        return [data]

    def loop(self):
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(1)
        try:
            while not self.stop_flag:
                try:
                    req, client = self.sock.recvfrom(65535)
                except socket.timeout:
                    continue
                up.sendto(req, self.agent)
                try:
                    resp, _ = up.recvfrom(65535)
                except socket.timeout:
                    continue
                for out in self.mangle(resp):
                    self.sock.sendto(out, client)
                    self.sent += 1
        finally:
            up.close()

    def cleanup(self):
        self.stop_flag = True
        self.t.join(5)
        self.sock.close()


def test_snmp_mangled_replies_never_crash(env):
    s = fx_snmp.Snmpd(env.tmpdir)
    s.set("gauge", 3)
    s.set("counter", 1)
    p1 = MangleProxy(s.port, 1)
    p3 = MangleProxy(s.port, 3)
    fast = '  timeout = 1s\n  retries = 1\n  interval = 200ms\n'
    d = start(env,
              check("m2c", "127.0.0.1:%d" % p1.port, v2c(
                  ["g=%s" % fx_snmp.GAUGE_OID, "c=%s" % fx_snmp.COUNTER_OID,
                   "t=%s" % fx_snmp.TEXT_OID],
                  fast + '  interfaces = "all"\n'), interval="200ms") +
              check("m3", "127.0.0.1:%d" % p3.port, v3(
                  extra=fast + '  interfaces = { "lo" }\n'),
                  interval="200ms"))
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        assert d.alive(), "tocsind died:\n" + harness.tail(d.log(), 30)
        time.sleep(0.5)
    assert p1.sent > 10 and p3.sent > 10, (p1.sent, p3.sent)
    for name in ("m2c", "m3"):
        c = d.check(name)
        assert c["last_check"] and c["state"] in harness.STATES, c
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_name_that_does_not_resolve(env):
    # .invalid never resolves (RFC 6761); without a reachable DNS server
    # the core's timeout cancels the lookup instead: either is a result
    d = start(env, check("nx", "no-such-host.invalid:161", v2c(
        ["up=sysUpTime.0"], "  timeout = 2s\n")))
    c = d.wait_check("nx", pred=lambda c: c["last_check"], timeout=10)
    assert c["state"] in ("UNKNOWN", "CRITICAL"), c
    if c["state"] == "UNKNOWN":
        assert c["summary"].startswith(
            "cannot resolve no-such-host.invalid"), c
    assert d.alive()
    d.stop()
    d.assert_no_sanitizer_report()


def udp_sockets(pid):
    """The inodes of the UDP (IPv4 and IPv6) sockets process pid holds."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue        # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    udp = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    udp.add(fields[9])
    return udp


def test_snmp_checks_of_one_agent_share_one_kept_session(env):
    """20 checks of one agent at 1 s: one UDP socket, the same one from
    run to run (no socket opened and closed per run); a reload that
    removes the checks closes it."""
    s = fx_snmp.Snmpd(env.tmpdir)
    s.set("gauge", 10)
    other = 'dummy "other" { interval = 1s }\n'
    cfg = other + "".join(
        check("g%02d" % i, s.address(),
              v2c(["load=%s" % fx_snmp.GAUGE_OID]))
        for i in range(20))
    d = start(env, cfg)
    for i in range(20):
        d.wait_check("g%02d" % i, "OK", pred=lambda c: c["last_check"])
    pid = d.proc.pid
    seen = set()
    runs0 = sum(d.check("g%02d" % i)["attempt"] >= 0 for i in range(20))
    t0 = d.check("g00")["last_check"]
    end = time.monotonic() + 3
    while time.monotonic() < end:
        socks = udp_sockets(pid)
        assert len(socks) <= 1, socks
        seen |= socks
        time.sleep(0.05)
    assert len(seen) == 1, ("a socket per run, not one kept", seen)
    assert d.check("g00")["last_check"] != t0, "no run in 3 s"
    assert runs0 == 20
    # the checks gone, the session goes
    d.reload(other)
    d.wait_for(lambda: not udp_sockets(pid), 10, "the session closed")
    d.stop()
    d.assert_no_sanitizer_report()


def test_snmp_shared_session_survives_a_dead_agent_and_cancelled_runs(
        env):
    """The agent stops answering (runs time out, some are cancelled by a
    reload while their request is out) and comes back: the kept session
    answers again, nothing leaks or crashes."""
    s = fx_snmp.Snmpd(env.tmpdir)
    s.set("gauge", 10)
    def cfg(timeout):
        return "".join(check("h%d" % i, s.address(),
                             v2c(["load=%s" % fx_snmp.GAUGE_OID],
                                 '  timeout = %ds\n' % timeout))
                       for i in range(5))
    d = start(env, cfg(3))
    for i in range(5):
        d.wait_check("h%d" % i, "OK", pred=lambda c: c["last_check"])
    s.stop()
    d.wait_check("h0", "CRITICAL", timeout=20)
    # reloads that change the checks while requests are out: those runs
    # are cancelled, their requests still out on the old session
    for k in range(4):
        d.reload(cfg(4 + k % 2))
        time.sleep(0.4)
    s.start()
    for i in range(5):
        d.wait_check("h%d" % i, "OK", timeout=30)
    assert len(udp_sockets(d.proc.pid)) == 1
    d.stop()
    d.assert_no_sanitizer_report()


def same_phase_names(prefix, n, interval_ms=1000):
    """n check names whose first runs fall on the same millisecond of
    the interval (tocsind's phase: FNV-1a of the name modulo the
    interval), so that their runs are due together."""
    def fnv(s):
        h = 2166136261
        for ch in s.encode():
            h = ((h ^ ch) * 16777619) & 0xffffffff
        return h
    by_phase = {}
    i = 0
    while True:
        name = "%s%d" % (prefix, i)
        names = by_phase.setdefault(fnv(name) % interval_ms, [])
        names.append(name)
        if len(names) == n:
            return names
        i += 1


def agent_packets(s):
    """snmpInPkts.0 of the private snmpd (our own snmpget counts one)."""
    r = subprocess.run(
        ["snmpget", "-v2c", "-c", fx_snmp.COMMUNITY, "-t", "2", "-r", "1",
         "-Oqv", s.address(), ".1.3.6.1.2.1.11.1.0"],
        capture_output=True, text=True, env=s.env(), timeout=30)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[0])


def test_snmp_checks_due_together_share_one_request(env):
    """Checks of one agent that are due together go as one GET PDU
    (combine_requests, the default): 12 checks at 1 s cost the agent a
    few requests a second, not 12; each check still gets its own values,
    and an OID one of them asks for that the agent lacks fails that check
    alone (v2c: its exception; v1: the merged request's noSuchName makes
    each check ask alone).  combine_requests = false: one request each."""
    s = fx_snmp.Snmpd(env.tmpdir)
    s.set("gauge", 7)
    s.set("text", "rack 7")
    names = same_phase_names("m", 12)
    v1names = same_phase_names("v", 3)
    solo = same_phase_names("solo", 4)
    cfg = "".join(check(n, s.address(),
                        v2c(["load=%s" % fx_snmp.GAUGE_OID,
                             "up=sysUpTime.0"])) for n in names[:10])
    cfg += check(names[10], s.address(),
                 v2c(["gone=1.3.6.1.2.1.1.99.0"]))
    cfg += check(names[11], s.address(), v2c(["text=%s" % fx_snmp.TEXT_OID]))
    v1 = lambda oids: v2c(oids).replace('version = "2c"', 'version = "1"')
    cfg += check(v1names[0], s.address(), v1(["load=%s" % fx_snmp.GAUGE_OID]))
    cfg += check(v1names[1], s.address(), v1(["gone=1.3.6.1.2.1.1.99.0"]))
    cfg += check(v1names[2], s.address(), v1(["load=%s" % fx_snmp.GAUGE_OID]))
    d = start(env, cfg)
    for n in names[:10]:
        d.wait_check(n, "OK", pred=lambda c: metric(c, "load") == 7)
    c = d.wait_check(names[10], "UNKNOWN")
    assert c["summary"].startswith("noSuchObject: gone (1.3.6.1.2.1.1.99.0)"
                                   ), c
    d.wait_check(names[11], "OK", pred=lambda c: "rack 7" in c["summary"])
    c = d.wait_check(v1names[1], "UNKNOWN")
    assert c["summary"].startswith("noSuchName: gone (1.3.6.1.2.1.1.99.0)"), c
    for n in (v1names[0], v1names[2]):
        d.wait_check(n, "OK", pred=lambda c: metric(c, "load") == 7)
    # the agent's count of requests over 3 s against the runs made
    runs0 = {n: d.check(n)["last_check"] for n in names}
    p0 = agent_packets(s)
    time.sleep(3)
    p1 = agent_packets(s)
    assert all(d.check(n)["last_check"] != runs0[n] for n in names)
    # 15 checks at 1 s (+ the v1 one that asks alone, twice) is ~50
    # requests in 3 s one by one; merged, the 12 v2c ones are one
    took = p1 - p0 - 1
    assert took <= 25, "%d requests in 3 s for 15 checks at 1 s" % took
    # combine_requests = false: a request per check
    d.reload(cfg + "".join(
        check(n, s.address(), v2c(["load=%s" % fx_snmp.GAUGE_OID],
                                   extra="  combine_requests = false\n"))
        for n in solo))
    for n in solo:
        d.wait_check(n, "OK", pred=lambda c: metric(c, "load") == 7)
    p0 = agent_packets(s)
    time.sleep(3)
    p1 = agent_packets(s)
    more = p1 - p0 - 1 - took
    assert more >= 9, ("4 checks that do not combine took %d more "
                       "requests in 3 s" % more)
    d.stop()
    d.assert_no_sanitizer_report()
