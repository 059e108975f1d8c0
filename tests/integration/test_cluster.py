"""Cluster membership, check ownership and leadership on a real PostgreSQL
(src/incident/cluster.c through tests/drivers/cluster_driver; issue 19).
The members are separate processes on one private PostgreSQL; a kill -9
ends a member's session the way a dead host's does."""
import time

import fx_pg
import harness
from fx_cluster import Member
from fx_ping import Netns, run

LEASE = 2000
N = 300


def _stable(members, n_live):
    """Every member sees n_live live nodes and the same one leader."""
    def ok():
        last = [m.last() for m in members]
        if any(s is None or len(s["live"]) != n_live for s in last):
            return False
        leaders = [s for s in last if s["leader"]]
        names = {s["cluster"]["leader"] for s in last}
        return len(leaders) == 1 and len(names) == 1 and \
            None not in names
    harness.wait_for(ok, 20, "%d live members, one leader" % n_live)
    return [m.last() for m in members]


def _owned(members):
    return {m.node: set(m.last()["owned"]) for m in members}


def _partition(owned):
    sets = list(owned.values())
    union = set().union(*sets)
    assert union == set(range(N)), sorted(set(range(N)) - union)[:10]
    assert sum(len(s) for s in sets) == N, [len(s) for s in sets]


def test_members_share_the_checks_and_elect_one_leader(env):
    pg = fx_pg.Postgres(env)
    ms = [Member(env, pg.uri, n, "eu-1", LEASE, N) for n in "abc"]
    last = _stable(ms, 3)
    owned = _owned(ms)
    # every check on exactly one node, about a third each
    _partition(owned)
    assert all(60 <= len(s) <= 140 for s in owned.values()), \
        {k: len(v) for k, v in owned.items()}
    # GET /api/v1/cluster's shape, as every member shows it
    cl = last[0]["cluster"]
    assert cl["connected"] and cl["node"] == "a", cl
    assert [n["name"] for n in cl["nodes"]] == ["a", "b", "c"], cl
    for n in cl["nodes"]:
        assert set(n) == {"name", "location", "alive", "leader", "checks",
                          "last_seen", "config_hash", "config_differs",
                          "api"}, n
        assert n["alive"] and n["location"] == "eu-1", n
        assert not n["config_differs"], n
        assert n["last_seen"].endswith("Z") and "T" in n["last_seen"], n
    assert sum(n["leader"] for n in cl["nodes"]) == 1, cl
    leader = [m for m in ms if m.last()["leader"]][0]
    assert cl["leader"] == leader.node, cl
    # one heartbeat row a node, in the server, holding the lock
    rows = pg.sql("SELECT name FROM cluster_nodes ORDER BY name").split()
    assert rows == ["a", "b", "c"], rows
    holders = pg.sql("SELECT count(*) FROM pg_locks WHERE "
                     "locktype = 'advisory' AND granted AND objid = "
                     "7630161").strip()
    assert holders == "1", holders
    for m in ms:
        m.stop()
        harness.assert_no_sanitizer_report(m.stderr(), "cluster_driver")


def test_killed_leader_its_checks_move_and_only_them(env):
    """kill -9 of the leader: another member leads within the lease, the
    dead member's checks go to the survivors within the lease plus a
    beat, and no survivor loses a check it had."""
    pg = fx_pg.Postgres(env)
    ms = [Member(env, pg.uri, n, "-", LEASE, N) for n in "abc"]
    _stable(ms, 3)
    before = _owned(ms)
    dead = [m for m in ms if m.last()["leader"]][0]
    rest = [m for m in ms if m is not dead]
    t0 = time.time()
    dead.kill()
    _stable(rest, 2)
    # when did a survivor first say it leads, and see two live nodes?
    led = min(m.times[i] for m in rest for i, l in
              enumerate(m.lines) if m.times[i] > t0 and l["leader"])
    moved = max(min(m.times[i] for i, l in enumerate(m.lines)
                    if m.times[i] > t0 and len(l["live"]) == 2)
                for m in rest)
    assert led - t0 < LEASE / 1000.0, led - t0
    assert moved - t0 < LEASE / 1000.0 + 1.5, moved - t0
    after = _owned(rest)
    _partition(after)
    for m in rest:
        assert before[m.node] <= after[m.node], m.node
    assert set().union(*[after[m.node] - before[m.node] for m in rest]) \
        == before[dead.node]
    # it comes back: it gets its checks back, nobody else's
    dead.start()
    _stable(ms, 3)
    again = _owned(ms)
    assert again == before, {k: len(v ^ before[k]) for k, v in
                             again.items()}


def test_config_that_differs_from_the_leader_s_is_flagged(env):
    pg = fx_pg.Postgres(env)
    a = Member(env, pg.uri, "a", "-", LEASE, 10, config_hash="v1")
    a.wait(lambda s: s["leader"], 20, "a leads")
    b = Member(env, pg.uri, "b", "-", LEASE, 10, config_hash="v2")
    _stable([a, b], 2)

    def flagged():
        nodes = {n["name"]: n for n in b.last()["cluster"]["nodes"]}
        return nodes["b"]["config_differs"] and \
            not nodes["a"]["config_differs"] and \
            nodes["b"]["config_hash"] == "v2"
    harness.wait_for(flagged, 10, "b's config flagged")


def test_postgres_restart_no_leader_meanwhile_checks_stay(env):
    """PostgreSQL stopped: nobody leads (nobody may page), every member
    keeps the checks it had; started again: one leader within the
    lease plus a reconnect, the same checks where they were."""
    pg = fx_pg.Postgres(env)
    ms = [Member(env, pg.uri, n, "-", LEASE, N) for n in "ab"]
    _stable(ms, 2)
    before = _owned(ms)
    pg.stop()
    t0 = time.time()
    for m in ms:
        m.wait(lambda s: not s["leader"] and not s["connected"], 10,
               "no leader while PostgreSQL is down")
    time.sleep(3)
    for m in ms:
        assert not any(l["leader"] for l in m.since(t0 + 0.5)), m.node
        assert set(m.last()["owned"]) == before[m.node], m.node
    pg.start()
    t1 = time.time()
    _stable(ms, 2)
    assert time.time() - t1 < LEASE / 1000.0 + 5
    assert _owned(ms) == before


def test_member_cut_off_from_postgres_loses_its_checks_then_takes_them_back(env):
    """The leader, in a network namespace, is cut off from PostgreSQL
    (a blackhole route each way: its packets vanish, nothing says so).
    It stops counting itself the leader within a lease of its last
    answered beat, 2 s before the server can end its session (keepalives
    after ceil(lease) s, two probes) and let another take the lock; the
    others take its checks after the lease.  Back on the network, it has
    its checks again at its first beat, and the others let them go
    within the lease: running them twice lasts at most that long."""
    ns = Netns("cl")
    pg = fx_pg.Postgres(env, also_listen=ns.host_ip, trust_from=ns.ns_ip)
    uri_ns = "postgresql://tocsin@%s:%d/tocsin" % (ns.host_ip, pg.port)
    c = Member(env, uri_ns, "c", "-", LEASE, N, netns=ns.name)
    c.wait(lambda s: s["leader"], 20, "c leads")
    ab = [Member(env, pg.uri, n, "-", LEASE, N) for n in "ab"]
    ms = [c] + ab
    _stable(ms, 3)
    before = _owned(ms)
    assert c.last()["leader"]
    run("ip", "route", "add", "blackhole", ns.ns_ip + "/32")
    ns.ns("ip", "route", "add", "blackhole", ns.host_ip + "/32")
    t0 = time.time()
    _stable(ab, 2)
    new_leader = min(m.times[i] for m in ab for i, l in enumerate(m.lines)
                     if m.times[i] > t0 and l["leader"])
    c_stepped_down = min(at for l, at in zip(c.lines, c.times)
                         if at > t0 and not l["leader"])
    # never two leaders: c gave up before the lock could move
    assert new_leader - c_stepped_down > 1.0, (c_stepped_down - t0,
                                               new_leader - t0)
    # at most a lease after its last answered beat (which came before
    # the cut): a beat every lease/4, given up after lease/2 unanswered
    assert c_stepped_down - t0 < LEASE / 1000.0 + 0.75, \
        c_stepped_down - t0
    during = _owned(ab)
    _partition(during)
    for m in ab:
        assert before[m.node] <= during[m.node]
    # c, alone, keeps what it had (it cannot tell this from PostgreSQL
    # being down for everyone)
    assert set(c.last()["owned"]) == before["c"]
    run("ip", "route", "del", "blackhole", ns.ns_ip + "/32")
    ns.ns("ip", "route", "del", "blackhole", ns.host_ip + "/32")
    t1 = time.time()
    _stable(ms, 3)
    assert _owned(ms) == before
    back = min(at for l, at in zip(c.lines, c.times)
               if at > t1 and len(l["live"]) == 3)
    released = max(min(at for l, at in zip(m.lines, m.times)
                       if at > t1 and set(l["owned"]) == before[m.node])
                   for m in ab)
    assert released - back < LEASE / 1000.0, released - back


def test_checks_from_several_places_run_once_in_each_location(env):
    """locations = { "eu-1", "us-1", "ap-1" }: every check runs on one
    live node in each location; a node dying hands its checks to another
    node of its own location, and no other place's checks move."""
    pg = fx_pg.Postgres(env)
    where = ["eu-1", "us-1", "ap-1"]
    ms = [Member(env, pg.uri, "%s-%s" % (loc[:2], x), loc, LEASE, 60,
                 locations=where) for loc in where for x in "ab"]
    _stable(ms, 6)
    by_loc = {loc: [m for m in ms if m.node.startswith(loc[:2])]
              for loc in where}

    def check_places(members_by_loc):
        out = {}
        for loc, mm in members_by_loc.items():
            sets = [set(m.last()["owned"]) for m in mm]
            assert set().union(*sets) == set(range(60)), loc
            assert sum(len(x) for x in sets) == 60, loc
            out.update({m.node: set(m.last()["owned"]) for m in mm})
        return out
    before = check_places(by_loc)
    dead = by_loc["eu-1"][1]
    dead.kill()
    rest = [m for m in ms if m is not dead]
    _stable(rest, 5)
    after = check_places({loc: [m for m in mm if m is not dead]
                          for loc, mm in by_loc.items()})
    assert after["eu-a"] == set(range(60))
    for m in rest:
        if not m.node.startswith("eu"):
            assert after[m.node] == before[m.node], m.node
