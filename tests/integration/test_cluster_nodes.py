"""Several real tocsind as one cluster on a private PostgreSQL (issue 19):
checks spread over the nodes and run once, taken over when their node
dies, one correlator, any node answering the whole API."""
import json
import os
import re
import subprocess
import time

import harness
import fx_pg
from fx_http import HttpNginx
from harness import wait_for

LEASE = "2s"


def q(s):
    return json.dumps(s)


def node_config(uri, name, checks, lease=LEASE, extra=""):
    return ('cluster {\n  database = %s\n  node = %s\n  lease = %s\n%s}\n'
            % (q(uri), q(name), lease, extra)) + checks


def http_checks(nginx, n, interval="2s", prefix="web", path="/c/%03d.html",
                attempts=1):
    out = ""
    for i in range(n):
        out += ('http %s {\n  url = %s\n  interval = %s\n'
                '  max_attempts = %d\n}\n' % (
                    q("%s-%03d" % (prefix, i)), q(nginx.url(path % i)),
                    interval, attempts))
    return out


class Cluster:
    """n tocsind on one PostgreSQL, sharing one API token."""

    def __init__(self, env, pg, names, checks, lease=LEASE):
        self.token_file = os.path.join(env.tmpdir, "cluster.token")
        self.nodes = {}
        for name in names:
            d = harness.Daemon(
                os.path.join(env.tmpdir, "node-" + name),
                node_config(pg.uri, name, checks, lease), env.builddir,
                api_extra="token_file = %s" % q(self.token_file))
            d.token_file = self.token_file
            self.nodes[name] = d
        for d in self.nodes.values():
            d.require_plugin("http")
            d.start()

    def alive(self):
        return {n: d for n, d in self.nodes.items() if d.alive()}

    def any(self):
        return next(iter(self.alive().values()))

    def view(self, name=None):
        d = self.nodes[name] if name else self.any()
        return d.get("/api/v1/cluster")

    def leader(self):
        return self.view()["leader"]

    def wait_members(self, names, timeout=20):
        def ok():
            for n in self.alive():
                v = self.view(n)
                live = sorted(x["name"] for x in v["nodes"] if x["alive"])
                if live != sorted(names) or v["leader"] not in names:
                    return False
            return True
        wait_for(ok, timeout, "every node sees %s live with a leader" %
                 sorted(names))


def _settled(cl, n):
    views = [{c["name"]: (c["node"], c["state"]) for c in d.checks()}
             for d in cl.alive().values()]
    if any(v != views[0] for v in views) or len(views[0]) != n:
        return False
    per = {}
    for node, state in views[0].values():
        if state != "OK":
            return False
        per[node] = per.get(node, 0) + 1
    return sorted(per) == sorted(cl.alive())


def all_incidents(d):
    out, off = [], 0
    while True:
        page = d.get("/api/v1/incidents?status=all&limit=1000&offset=%d"
                     % off)["incidents"]
        out += page
        if len(page) < 1000:
            return out
        off += 1000


Cluster.wait_settled = lambda self, n, timeout=20: wait_for(
    lambda: _settled(self, n), timeout,
    "every node's API: the same owner for each check, all OK")


def access_counts(nginx, start):
    """Requests per path in nginx's access log after byte offset start."""
    counts = {}
    for line in nginx.access_log()[start:].splitlines():
        m = re.match(r'GET (\S+) ', line)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def test_cluster_runs_each_check_once_over_three_nodes(env):
    pg = fx_pg.Postgres(env)
    nginx = HttpNginx(env.tmpdir)
    n = 300
    for i in range(n):
        nginx.put("c/%03d.html" % i, "ok\n")
    cl = Cluster(env, pg, ["a", "b", "c"], http_checks(nginx, n))
    cl.wait_members(["a", "b", "c"])

    # every check is run, by one node each, and every node says which
    def all_ran():
        cs = cl.nodes["a"].checks()
        return len(cs) == n and all(c["state"] == "OK" and c.get("node")
                                    for c in cs)
    wait_for(all_ran, 30, "all %d checks OK on node a's API" % n)
    # each node's row says how many it runs (written every lease / 4)
    def counted():
        per = {x["name"]: x["checks"] for x in cl.view("b")["nodes"]}
        return per if sum(per.values()) == n else None
    per = wait_for(counted, 10, "the nodes' counts add up to %d" % n)
    assert min(per.values()) > n // 10, per
    # every node's API names the same node for each check (the one whose
    # count includes it), once the new owners' results came in
    def agree():
        views = [{c["name"]: c["node"] for c in d.checks()}
                 for d in cl.nodes.values()]
        if any(v != views[0] for v in views):
            return None
        ran = {x: sum(1 for o in views[0].values() if o == x)
               for x in cl.nodes}
        return ran if ran == per else None
    wait_for(agree, 15, "the nodes agree on who ran each check")

    # tocsinctl cluster: the same as a table
    d = cl.nodes["c"]
    p = subprocess.run([os.path.join(env.builddir, "tocsinctl"), "-s",
                        "http://127.0.0.1:%d" % d.port, "cluster"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    rows = [l.split() for l in p.stdout.splitlines()]
    assert rows[0][:5] == ["NODE", "LOCATION", "ALIVE", "ROLE", "CHECKS"], \
        p.stdout
    body = {r[0]: r for r in rows[1:]}
    assert sorted(body) == ["a", "b", "c"], p.stdout
    assert [r[3].rstrip(",") for r in body.values()].count("leader") == 1
    for x in "abc":
        assert body[x][2] == "yes" and int(body[x][4]) == per[x], p.stdout

    # nginx sees each URL once per interval (2 s), not two or three times
    time.sleep(2.5)         # past any takeover's first run
    off = len(nginx.access_log())
    t0 = time.monotonic()
    time.sleep(10)
    counts = access_counts(nginx, off)
    el = time.monotonic() - t0
    urls = ["/c/%03d.html" % i for i in range(n)]
    got = [counts.get(u, 0) for u in urls]
    expect = el / 2.0
    assert max(got) <= int(expect) + 1, sorted(
        (c, u) for c, u in zip(got, urls))[-5:]
    assert min(got) >= int(expect) - 1, sorted(
        (c, u) for c, u in zip(got, urls))[:5]
    for d in cl.nodes.values():
        d.assert_no_sanitizer_report()


def test_cluster_kill_of_a_node_moves_its_checks_and_keeps_hard_states(env):
    pg = fx_pg.Postgres(env)
    nginx = HttpNginx(env.tmpdir)
    n = 40
    for i in range(n):
        nginx.put("c/%03d.html" % i, "ok\n")
    # web-*: up; down-*: a 404 each, hard CRITICAL at the 2nd result
    checks = http_checks(nginx, n) + http_checks(
        nginx, 12, prefix="down", path="/missing/%03d", attempts=2)
    cl = Cluster(env, pg, ["a", "b", "c"], checks)
    cl.wait_members(["a", "b", "c"])
    leader = cl.leader()

    def hard_down():
        cs = {c["name"]: c for c in cl.nodes[leader].checks()}
        return all(cs["down-%03d" % i]["state"] == "CRITICAL" and
                   cs["down-%03d" % i]["state_type"] == "hard"
                   for i in range(12)) and cs
    cs = wait_for(hard_down, 30, "down-* hard CRITICAL")

    def incidents_of(d):
        return d.get("/api/v1/incidents?status=all&limit=1000")[
            "incidents"]
    # one incident for the 12 (grouped) or one each: never one twice
    def opened():
        inc = incidents_of(cl.nodes[leader])
        names = [c for i in inc for c in i.get("checks", [])]
        return inc if all(("down-%03d" % i) in json.dumps(inc)
                          for i in range(12)) else None
    before = wait_for(opened, 20, "incidents for down-* on the leader")

    # a follower answers the leader's incidents (forwarded)
    follower = next(x for x in cl.nodes if x != leader)
    assert incidents_of(cl.nodes[follower]) == incidents_of(
        cl.nodes[leader])

    # kill -9 a node that is not the leader and owns some down-* checks
    victims = [x for x in cl.nodes if x != leader and any(
        c["node"] == x for name, c in cs.items() if name.startswith(
            "down-"))]
    assert victims, {k: c["node"] for k, c in cs.items()}
    victim = victims[0]
    moved = sorted(name for name, c in cs.items() if c["node"] == victim)
    last = {name: cs[name]["last_check"] for name in moved}
    cl.nodes[victim].kill()
    t_kill = time.monotonic()
    survivors = [x for x in cl.nodes if x != victim]

    def taken_over():
        now = {c["name"]: c for c in cl.nodes[leader].checks()}
        return all(now[m]["node"] in survivors and
                   now[m]["last_check"] != last[m] for m in moved) and now
    now = wait_for(taken_over, 2 + 2 + 8, "%d checks of %s run by the "
                   "others" % (len(moved), victim))
    took = time.monotonic() - t_kill
    # within a lease plus an interval (2 s + 2 s), with the 2 s refresh
    # of the API's view on top
    assert took <= 2 + 2 + 2 + 1, took
    if os.environ.get("TOCSIN_TEST_REPORT"):
        with open(os.environ["TOCSIN_TEST_REPORT"], "a") as f:
            f.write("owner killed: its checks seen run by others %.2f s "
                    "after\n" % took)
    for m in moved:
        if m.startswith("down-"):
            assert now[m]["state"] == "CRITICAL" and \
                now[m]["state_type"] == "hard", now[m]
    time.sleep(3)
    after = incidents_of(cl.nodes[leader])
    assert len(after) == len(before), (before, after)
    assert [i["id"] for i in after] == [i["id"] for i in before]
    for x in survivors:
        cl.nodes[x].assert_no_sanitizer_report()


def test_cluster_leader_killed_in_a_storm_loses_no_incident_or_page(env):
    from fx_notify import Webhook
    from test_incident_log import hook_policy
    pg = fx_pg.Postgres(env)
    hook = Webhook(env)
    n = 1000
    # every check fails as soon as a node runs it: a storm of n incidents
    checks = "".join('dummy "s%04d" { state = "critical"  interval = 1h  '
                     'max_attempts = 1 }\n' % k for k in range(n))
    checks += hook_policy(hook.url()) + 'incidents { group_window = 0s }\n'
    cl = Cluster(env, pg, ["a", "b", "c"], checks)
    leader = cl.leader()
    assert leader in cl.nodes

    def opened_keys():
        return [(b["incident"]["id"], b["idempotency_key"])
                for _, _, b, _ in hook.received()
                if b.get("event") == "incident.opened"]
    wait_for(lambda: len(opened_keys()) >= 100, 60,
             "100 pages before the kill")
    cl.nodes[leader].kill()
    at_kill = len(opened_keys())
    assert at_kill < n, "the storm ended before the kill"
    survivors = [x for x in cl.nodes if x != leader]

    def new_leader():
        v = cl.view(survivors[0])
        return v["leader"] if v["leader"] in survivors else None
    wait_for(new_leader, 2 + 5, "a survivor leads")
    d = cl.nodes[survivors[0]]

    def all_in():
        inc = all_incidents(d)
        return inc if sum(len(i["checks"]) for i in inc) >= n else None
    inc = wait_for(all_in, 90, "all %d checks in incidents" % n)
    per_check = {}
    for i in inc:
        for c in i["checks"]:
            per_check.setdefault(c["name"] if isinstance(c, dict) else c,
                                 []).append(i["id"])
    assert len(per_check) == n, len(per_check)
    twice = {k: v for k, v in per_check.items() if len(v) > 1}
    assert not twice, list(twice.items())[:5]
    assert len(inc) == n, len(inc)
    # the other survivor's API shows the same log (forwarded)
    other = cl.nodes[survivors[1]]
    assert len(all_incidents(other)) == n

    # every incident is paged; a key twice only for a page in flight when
    # the leader died (at most 32 at once)
    ids = {i["id"] for i in inc}
    wait_for(lambda: ids <= {i for i, _ in opened_keys()}, 60,
             "a page for each incident")
    keys = [k for _, k in opened_keys()]
    dup = len(keys) - len(set(keys))
    assert dup <= 32, dup
    assert len(set(keys)) == n, len(set(keys))
    if os.environ.get("TOCSIN_TEST_REPORT"):
        with open(os.environ["TOCSIN_TEST_REPORT"], "a") as f:
            f.write("leader kill: %d of %d pages before it, %d resent\n" %
                    (at_kill, n, dup))
    for x in survivors:
        cl.nodes[x].assert_no_sanitizer_report()


def test_cluster_postgres_down_30s_events_kept_in_order_pages_once(env):
    from fx_notify import Webhook
    from test_incident_log import hook_policy
    pg = fx_pg.Postgres(env)
    nginx = HttpNginx(env.tmpdir)
    hook = Webhook(env)
    n = 20
    for i in range(n):
        nginx.put("c/%03d.html" % i, "ok\n")
    checks = http_checks(nginx, n, interval="1s") + hook_policy(
        hook.url()) + 'incidents { group_window = 0s  resolve_delay = 0s }\n'
    cl = Cluster(env, pg, ["a", "b", "c"], checks)
    cl.wait_members(["a", "b", "c"])
    cl.wait_settled(n)

    pg.stop()
    t_stop = time.monotonic()
    time.sleep(2)
    # web-000 .. 004 fail; then web-000 recovers; then 005 .. 009 fail
    for i in range(5):
        os.unlink(os.path.join(nginx.docroot, "c/%03d.html" % i))
    time.sleep(4)
    nginx.put("c/000.html", "ok\n")
    time.sleep(4)
    for i in range(5, 10):
        os.unlink(os.path.join(nginx.docroot, "c/%03d.html" % i))
    # the nodes keep running their checks meanwhile (from their APIs)
    def seen_down():
        cs = {c["name"]: c for c in cl.nodes["a"].checks()}
        return all(cs["web-%03d" % i]["state"] == "CRITICAL"
                   for i in range(5, 10) if cs["web-%03d" % i]["node"]
                   == "a")
    wait_for(seen_down, 10, "node a sees its checks down")
    time.sleep(max(0, 30 - (time.monotonic() - t_stop)))
    assert hook.received() == [], "paged while PostgreSQL was down"
    pg.start()

    d = cl.nodes["a"]

    def settled():
        inc = all_incidents(d)
        by = {}
        for i in inc:
            for c in i["checks"]:
                by.setdefault(c["name"] if isinstance(c, dict) else c,
                              []).append(i)
        if sorted(by) != ["web-%03d" % i for i in range(10)]:
            return None
        if by["web-000"][0]["status"] not in ("resolved", "closed"):
            return None
        if any(by["web-%03d" % i][0]["status"] != "open"
               for i in range(1, 10)):
            return None
        return by
    by = wait_for(settled, 40, "incidents for web-000..009, web-000 "
                  "resolved")
    assert all(len(v) == 1 for v in by.values()), by

    def paged():
        ev = [(b["event"], b["incident"]["id"], b["idempotency_key"])
              for _, _, b, _ in hook.received()]
        opened = {i for e, i, _ in ev if e == "incident.opened"}
        return ev if opened >= {v[0]["id"] for v in by.values()} else None
    ev = wait_for(paged, 30, "a page for each incident")
    time.sleep(2)
    ev = [(b["event"], b["incident"]["id"], b["idempotency_key"])
          for _, _, b, _ in hook.received()]
    keys = [k for _, _, k in ev]
    assert len(keys) == len(set(keys)), ev
    opened = [i for e, i, _ in ev if e == "incident.opened"]
    assert len(opened) == len(set(opened)) == 10, ev
    for x in cl.nodes.values():
        x.assert_no_sanitizer_report()


class _Unroute:
    """Deletes the host's blackhole route to addr at the end of a test."""

    def __init__(self, addr):
        self.addr = addr

    def cleanup(self):
        import subprocess as sp
        sp.run(["ip", "route", "del", "blackhole", self.addr + "/32"],
               capture_output=True)


class _LoggingNginx(HttpNginx):
    """nginx on 127.0.0.1 and on addr too, logging each request's source
    address and time."""

    def __init__(self, tmpdir, addr):
        self.addr = addr
        super().__init__(tmpdir)

    def _write_conf(self):
        super()._write_conf()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace(
            "    listen 127.0.0.1:%d;\n" % self.port,
            "    listen 127.0.0.1:%d;\n    listen %s:%d;\n" % (
                self.port, self.addr, self.port), 1)
        text = text.replace("log_format t '", "log_format t '$msec "
                            "$remote_addr ", 1)
        harness.write_file(self.conf, text)

    def requests(self):
        """[(time, source address, path)]"""
        out = []
        for line in self.access_log().splitlines():
            m = re.match(r'(\S+) (\S+) GET (\S+) ', line)
            if m:
                out.append((float(m.group(1)), m.group(2), m.group(3)))
        return out


def test_cluster_node_cut_off_from_postgres_loses_its_checks_then_back(env):
    """Node c, in its own network namespace, reaches PostgreSQL over one
    veth pair and the checked web server over another.  Cut off from
    PostgreSQL only (blackhole routes: its packets vanish), it stops
    being a member and a, b take its checks; back, the checks return to
    it and none runs on two nodes for longer than the lease."""
    import random
    from fx_ping import Netns, run
    ns = Netns("cn")
    # a second veth pair: PostgreSQL's path only
    tag = ns.host_if[:-1]
    h2, n2 = tag + "H", tag + "N"
    k = random.randrange(1, 16383) * 4
    pg_ip = "10.251.%d.%d" % (k // 256, k % 256 + 1)
    c_ip = "10.251.%d.%d" % (k // 256, k % 256 + 2)
    run("ip", "link", "add", h2, "type", "veth", "peer", "name", n2)
    run("ip", "link", "set", n2, "netns", ns.name)
    run("ip", "addr", "add", pg_ip + "/30", "dev", h2)
    run("ip", "link", "set", h2, "up")
    ns.ns("ip", "addr", "add", c_ip + "/30", "dev", n2)
    ns.ns("ip", "link", "set", n2, "up")
    pg = fx_pg.Postgres(env, also_listen=pg_ip, trust_from=c_ip)
    nginx = _LoggingNginx(env.tmpdir, ns.host_ip)
    n = 30
    for i in range(n):
        nginx.put("c/%03d.html" % i, "ok\n")
    checks = "".join('http "web-%03d" {\n  url = "http://%s:%d/c/%03d.html"\n'
                     '  interval = 1s\n  max_attempts = 1\n}\n' % (
                         i, ns.host_ip, nginx.port, i) for i in range(n))
    token = os.path.join(env.tmpdir, "cluster.token")
    nodes = {}
    for name in "ab":
        nodes[name] = harness.Daemon(
            os.path.join(env.tmpdir, "node-" + name),
            node_config(pg.uri, name, checks), env.builddir,
            api_extra="token_file = %s" % q(token))
    uri_c = "postgresql://tocsin@%s:%d/tocsin" % (pg_ip, pg.port)
    nodes["c"] = harness.Daemon(
        os.path.join(env.tmpdir, "node-c"), node_config(uri_c, "c", checks),
        env.builddir, api_extra="token_file = %s  allow_remote_reads = "
        "true" % q(token), api_host=ns.ns_ip, netns=ns.name)
    cl = Cluster.__new__(Cluster)
    cl.nodes = nodes
    for d in nodes.values():
        d.token_file = token
        d.require_plugin("http")
        d.start()
    cl.wait_members(["a", "b", "c"])
    cl.wait_settled(n)
    mine_c = sorted(c["name"] for c in nodes["a"].checks()
                    if c["node"] == "c")
    assert mine_c
    urls_c = {"/c/%s.html" % m[4:] for m in mine_c}

    t0 = time.time()
    harness.register(_Unroute(c_ip))
    run("ip", "route", "add", "blackhole", c_ip + "/32")
    ns.ns("ip", "route", "add", "blackhole", pg_ip + "/32")

    def moved():
        v = nodes["a"].get("/api/v1/cluster")
        return sorted(x["name"] for x in v["nodes"] if x["alive"]) == \
            ["a", "b"]
    wait_for(moved, 10, "a and b see c gone")

    def run_by_ab():
        got = {p for t, src, p in nginx.requests()
               if t > time.time() - 1.5 and src != ns.ns_ip}
        return urls_c <= got
    wait_for(run_by_ab, 10, "c's checks run by a and b")
    took = time.time() - t0
    # c is dead to the others a lease after its last beat, plus an interval
    assert took < 2 + 0.5 + 1 + 2, took

    run("ip", "route", "del", "blackhole", c_ip + "/32")
    ns.ns("ip", "route", "del", "blackhole", pg_ip + "/32")
    t1 = time.time()
    cl.wait_members(["a", "b", "c"])
    time.sleep(4)
    # after the return: the last time a or b ran one of c's checks
    last_ab = max([t for t, src, p in nginx.requests()
                   if p in urls_c and src != ns.ns_ip and t > t1] or [t1])
    assert last_ab - t1 < 2 + 1, last_ab - t1
    # and c runs them again
    recent = {p for t, src, p in nginx.requests()
              if t > time.time() - 1.5 and src == ns.ns_ip}
    assert urls_c <= recent, sorted(urls_c - recent)
    if os.environ.get("TOCSIN_TEST_REPORT"):
        with open(os.environ["TOCSIN_TEST_REPORT"], "a") as f:
            f.write("partition: checks moved %.2f s after the cut; run "
                    "twice %.2f s after the return\n" % (took,
                                                          last_ab - t1))
    for d in nodes.values():
        d.assert_no_sanitizer_report()


def test_cluster_locations_quorum_one_place_down_stays_ok_two_open(env):
    """A check run from three places with quorum 2: down in one place it
    stays OK (that place's own trouble pages nobody), down in two it
    opens an incident; each place's result is in the API."""
    pg = fx_pg.Postgres(env)
    where = {"a": "eu-1", "b": "us-1", "c": "ap-1"}
    sdir = os.path.join(env.tmpdir, "states")
    os.makedirs(sdir)
    for loc in where.values():
        harness.write_file(os.path.join(sdir, loc), "0\n")
    # what the check sees depends on where it runs: $TOCSIN_TEST_LOC
    checks = ('exec "shop" {\n'
              '  command = { "/bin/sh", "-c", "s=$(cat %s/$TOCSIN_TEST_LOC);'
              ' echo \\"shop from $TOCSIN_TEST_LOC: $s\\"; exit $s" }\n'
              '  interval = 1s  max_attempts = 1\n'
              '  locations = { "eu-1", "us-1", "ap-1" }  quorum = 2\n'
              '}\n'
              'incidents { group_window = 0s }\n' % sdir)
    token = os.path.join(env.tmpdir, "cluster.token")
    cl = Cluster.__new__(Cluster)
    cl.nodes = {}
    for name, loc in where.items():
        d = harness.Daemon(
            os.path.join(env.tmpdir, "node-" + name),
            node_config(pg.uri, name, checks,
                        extra="  location = %s\n" % q(loc)), env.builddir,
            api_extra="token_file = %s" % q(token))
        d.token_file = token
        d.env = (lambda base=d.env, loc=loc:
                 dict(base(), TOCSIN_TEST_LOC=loc))
        d.require_plugin("exec")
        cl.nodes[name] = d
        d.start()
    cl.wait_members(list(where))

    def places(d):
        c = d.check("shop")
        return c, {x["location"]: x["state"] for x in c["locations"]}

    def all_ok():
        for d in cl.nodes.values():
            c, p = places(d)
            if c["state"] != "OK" or p != {l: "OK" for l in where.values()}:
                return False
        return True
    wait_for(all_ok, 20, "shop OK from all three places, on every node")
    c, _ = places(cl.nodes["a"])
    assert c["quorum"] == 2 and [x["node"] for x in c["locations"]] == [
        "a", "b", "c"], c

    # down from eu-1 only: seen there, the check stays OK
    harness.write_file(os.path.join(sdir, "eu-1"), "2\n")
    wait_for(lambda: places(cl.nodes["c"])[1]["eu-1"] == "CRITICAL", 10,
             "eu-1's result CRITICAL")
    t_end = time.monotonic() + 4
    while time.monotonic() < t_end:
        c, p = places(cl.nodes["c"])
        assert c["state"] == "OK", c
        time.sleep(0.2)
    assert "1 of" not in c["summary"] and "eu-1 CRITICAL" in c["summary"], c
    leader = cl.nodes[cl.leader()]
    assert all_incidents(leader) == []

    # down from us-1 too: two places, quorum met
    harness.write_file(os.path.join(sdir, "us-1"), "2\n")
    wait_for(lambda: places(cl.nodes["a"])[0]["state"] == "CRITICAL", 10,
             "shop CRITICAL")
    inc = wait_for(lambda: all_incidents(leader), 10, "an incident")
    assert len(inc) == 1, inc

    # back in both: OK, the incident resolved
    for loc in ("eu-1", "us-1"):
        harness.write_file(os.path.join(sdir, loc), "0\n")
    wait_for(lambda: places(cl.nodes["a"])[0]["state"] == "OK", 10,
             "shop OK again")
    wait_for(lambda: all_incidents(leader)[0]["status"] in (
        "resolved", "closed"), 15, "the incident resolved")
    for d in cl.nodes.values():
        d.assert_no_sanitizer_report()


def test_cluster_heartbeat_push_to_any_node_reaches_the_leader(env):
    """A heartbeat runs on the leader; its push URL works on every node
    (the nodes share state_dir/push.key, as they share the token): a
    follower passes the push on."""
    pg = fx_pg.Postgres(env)
    checks = ('heartbeat "backup" {\n  expect_every = 1h\n'
              '  interval = 500ms\n  max_attempts = 1\n}\n'
              'dummy "web" { state = ok  interval = 1s }\n')
    token = os.path.join(env.tmpdir, "cluster.token")
    cl = Cluster.__new__(Cluster)
    cl.nodes = {}
    key = None
    for name in "abc":
        d = harness.Daemon(os.path.join(env.tmpdir, "node-" + name),
                           node_config(pg.uri, name, checks), env.builddir,
                           api_extra="token_file = %s" % q(token))
        d.token_file = token
        if key is not None:
            os.makedirs(d.state_dir, exist_ok=True)
            harness.write_file(os.path.join(d.state_dir, "push.key"), key,
                               0o600)
        d.require_plugin("heartbeat")
        d.start()
        if key is None:
            st, _, body = d.get_raw("/api/v1/checks/backup/push",
                                    token=True)
            assert st == 200, body
            with open(os.path.join(d.state_dir, "push.key")) as f:
                key = f.read()
        cl.nodes[name] = d
    cl.wait_members(["a", "b", "c"])
    leader = cl.leader()
    wait_for(lambda: cl.nodes[leader].check("backup")["node"] == leader,
             10, "the heartbeat on the leader")
    follower = [x for x in "abc" if x != leader][0]
    d = cl.nodes[follower]
    st, _, body = d.get_raw("/api/v1/checks/backup/push", token=True)
    path = json.loads(body)["path"]
    st, _, body = d.get_raw(path + "?state=WARNING&summary=slow+backup")
    assert st == 200, (st, body)
    assert json.loads(body)["state"] == "WARNING", body
    c = cl.nodes[leader].check("backup")
    assert c["state"] == "WARNING" and c["summary"] == "slow backup", c
    assert c["node"] == leader, c
    for x in cl.nodes.values():
        x.assert_no_sanitizer_report()
