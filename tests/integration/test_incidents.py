"""The incident log as an operator sees it: one real problem → one
incident with the right root cause, opened at once, resolved on recovery,
reopened, grouped, suppressed by maintenance, kept across restarts and
kill -9.  Exec checks whose exit code the test controls drive tocsind;
the API and the SQLite file are what the test reads."""
import json
import os
import random
import signal
import sqlite3
import time

import harness
from harness import RFC3339, wait_for


def ctl_check(name, state_file, extra=""):
    """An exec check that exits with the number in state_file."""
    return ('exec "%s" {\n'
            '  command = { "/bin/sh", "-c", '
            '"echo \\"%s says $(cat %s)\\"; exit $(cat %s)" }\n'
            '  interval = 1s  retry_interval = 300ms  max_attempts = 2\n'
            '%s'
            '}\n' % (name, name, state_file, state_file, extra))


def post(d, path, obj=None):
    headers = {"Content-Type": "application/json"}
    token = getattr(d, "token", None)
    if callable(token):
        token = token()
    if token:
        headers["Authorization"] = "Bearer " + token
    body = json.dumps(obj).encode() if obj is not None else None
    st, _, data = d.get_raw(path, method="POST", body=body, headers=headers)
    return st, json.loads(data) if data else None


def incidents(d, status="all"):
    return d.get("/api/v1/incidents?status=%s&limit=1000" % status)[
        "incidents"]


def db(d):
    con = sqlite3.connect("file:%s/incidents.db?mode=ro" % d.state_dir,
                          uri=True, timeout=5)
    con.row_factory = sqlite3.Row
    return con


def wait_incidents(d, pred, timeout, what, status="all"):
    last = [None]

    def ok():
        last[0] = incidents(d, status)
        return last[0] if pred(last[0]) else None
    try:
        return wait_for(ok, timeout, what)
    except AssertionError as e:
        raise AssertionError("%s; incidents: %s" % (
            e, json.dumps([{k: i.get(k) for k in (
                "id", "title", "status", "root_cause")} for i in
                (last[0] or [])])))


def test_one_failure_one_incident_resolve_and_reopen(env):
    sf = env.file("web.state", "0\n")
    d = env.daemon(ctl_check("web", sf, "  impact = high  urgency = high\n"
                             "  group = \"shop\"\n") +
                   'incidents { reopen_window = 1m  group_window = 2s }\n')
    d.require_plugin("exec")
    d.start()
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    assert incidents(d) == []
    assert d.get("/api/v1/status")["open_incidents"] == 0

    harness.write_file(sf, "2\n")
    d.wait_check("web", "CRITICAL", "hard", timeout=15)
    incs = wait_incidents(d, lambda v: len(v) == 1, 10, "one incident")
    i = incs[0]
    assert isinstance(i["id"], int), i
    assert i["status"] == "open" and i["priority"] == "P1", i
    assert i["impact"] == "high" and i["urgency"] == "high", i
    assert i["root_cause"] == "web", i
    assert i["title"] == "web is CRITICAL", i
    assert RFC3339.match(i["opened_at"]), i
    assert i["acknowledged_at"] is None and i["resolved_at"] is None, i
    assert i["checks"] == [{"name": "web", "state": "CRITICAL",
                            "stored_state": "CRITICAL",
                            "role": "root_cause"}], i["checks"]
    assert i["timeline"][0]["kind"] == "opened", i["timeline"]
    assert "web says 2" in i["timeline"][0]["text"], i["timeline"]
    assert d.get("/api/v1/status")["open_incidents"] == 1
    single = d.get("/api/v1/incidents/%d" % i["id"])
    assert single["id"] == i["id"] and single["timeline"], single

    # a repeated failure (another hard state) is a timeline entry
    harness.write_file(sf, "1\n")
    d.wait_check("web", "WARNING", "hard", timeout=10)
    time.sleep(0.5)
    incs = incidents(d)
    assert len(incs) == 1, incs
    assert any(t["kind"] == "state" and "WARNING" in t["text"]
               for t in incs[0]["timeline"]), incs[0]["timeline"]

    # recovery resolves
    harness.write_file(sf, "0\n")
    incs = wait_incidents(d, lambda v: v and v[0]["status"] == "resolved",
                          10, "the incident to resolve")
    assert RFC3339.match(incs[0]["resolved_at"]), incs[0]
    assert incidents(d, "open") == []
    assert d.get("/api/v1/status")["open_incidents"] == 0

    # the same root cause fails again within reopen_window: reopened
    harness.write_file(sf, "2\n")
    incs = wait_incidents(d, lambda v: v and v[0]["status"] == "open", 15,
                          "the incident to reopen")
    assert len(incs) == 1 and incs[0]["id"] == i["id"], incs
    kinds = [t["kind"] for t in incs[0]["timeline"]]
    assert kinds.count("opened") == 1 and "reopened" in kinds, kinds
    assert "resolved" in kinds, kinds

    # every hard change is an event in the database
    con = db(d)
    rows = con.execute("SELECT old_state, new_state, incident_id FROM "
                       "events WHERE check_name = 'web' ORDER BY id"
                       ).fetchall()
    con.close()
    changes = [(r["old_state"], r["new_state"]) for r in rows]
    assert changes == [("OK", "CRITICAL"), ("CRITICAL", "WARNING"),
                       ("WARNING", "OK"), ("OK", "CRITICAL")], changes
    assert all(r["incident_id"] == i["id"] for r in rows), [
        tuple(r) for r in rows]
    d.stop()


def test_ack_resolve_comment_from_the_api(env):
    sf = env.file("svc.state", "2\n")
    d = env.daemon(ctl_check("svc", sf))
    d.start()
    i = wait_incidents(d, lambda v: len(v) == 1, 15, "an incident")[0]
    assert i["priority"] == "P3", i         # medium × medium

    st, body = post(d, "/api/v1/incidents/%d/ack" % i["id"],
                    {"by": "alice", "comment": "looking"})
    assert st == 200, body
    assert body["status"] == "acknowledged", body
    assert body["acknowledged_by"] == "alice", body
    assert RFC3339.match(body["acknowledged_at"]), body
    st, body = post(d, "/api/v1/incidents/%d/comment" % i["id"],
                    {"by": "alice", "comment": "disk full on db1"})
    assert st == 200, body
    assert any(t["kind"] == "comment" and "disk full on db1" in t["text"]
               for t in body["timeline"]), body["timeline"]
    # errors say why
    st, body = post(d, "/api/v1/incidents/%d/comment" % i["id"], {})
    assert st == 400 and "comment" in body["error"], body
    st, body = post(d, "/api/v1/incidents/999999/ack", {})
    assert st == 404, body
    st, body = post(d, "/api/v1/incidents/%d/frobnicate" % i["id"], {})
    assert st == 404, body
    st, _, raw = d.get_raw("/api/v1/incidents/%d/ack" % i["id"], "POST",
                           b"{not json", {"Content-Type":
                                           "application/json",
                                           "Authorization": "Bearer " +
                                           str(getattr(d, "token", ""))})
    assert st in (400, 401), raw
    st, _, raw = d.get_raw("/api/v1/incidents/abc")
    assert st == 400, raw
    st, _, raw = d.get_raw("/api/v1/incidents?status=bogus")
    assert st == 400 and b"bogus" in raw, raw

    st, body = post(d, "/api/v1/incidents/%d/resolve" % i["id"],
                    {"by": "alice"})
    assert st == 200 and body["status"] == "resolved", body
    st, body = post(d, "/api/v1/incidents/%d/ack" % i["id"], {})
    assert st == 409 and "resolved" in body["error"], body
    d.stop()


def test_parent_down_behind_50_children_is_one_incident(env):
    pf = env.file("sw.state", "0\n")
    conf = ctl_check("core-switch", pf, "  max_attempts = 1\n")
    conf += 'host "sw" { address = "127.0.0.1"  check = "core-switch" }\n'
    conf += 'host "web" { address = "127.0.0.1"  parents = { "sw" } }\n'
    cf = env.file("child.state", "0\n")
    c7 = env.file("child07.state", "0\n")
    for n in range(50):
        conf += ('exec "child%02d" {\n'
                 '  command = { "/bin/sh", "-c", "exit $(cat %s)" }\n'
                 '  interval = 2s  retry_interval = 500ms  max_attempts = 2\n'
                 '  host = "web"\n}\n' % (n, c7 if n == 7 else cf))
    d = env.daemon(conf)
    d.start()
    d.wait_check("child49", "OK", pred=lambda c: c["last_check"],
                 timeout=15)
    harness.write_file(pf, "2\n")
    harness.write_file(cf, "2\n")
    harness.write_file(c7, "2\n")
    d.wait_check("core-switch", "CRITICAL", "hard", timeout=10)

    # a child whose retries beat the parent's check (a loaded machine)
    # opens an incident a moment early; it is resolved as merged when the
    # child turns UNREACHABLE, so one incident stays open
    def all_attached(v):
        live = [x for x in v if x["status"] == "open"]
        early = [x for x in v if x["status"] != "open"]
        return (len(live) == 1 and len([c for c in live[0]["checks"]
                                        if c["role"] == "unreachable"]) == 50
                and all(x["root_cause"].startswith("child") and
                        x["status"] == "resolved" for x in early))
    incs = wait_incidents(d, all_attached, 30,
                          "one incident with 50 unreachable children")
    merged = {x["id"] for x in incs if x["status"] != "open"}
    i = [x for x in incs if x["status"] == "open"][0]
    assert i["root_cause"] == "core-switch", i
    roles = {c["name"]: c["role"] for c in i["checks"]}
    assert roles["core-switch"] == "root_cause", roles
    assert all(roles["child%02d" % n] == "unreachable" for n in range(50))
    assert all(c["state"] in ("UNREACHABLE",) for c in i["checks"]
               if c["role"] == "unreachable"), i["checks"]
    assert "50 checks unreachable" in i["title"], i["title"]

    # the parent recovers first, one child stays down: it gets its own
    harness.write_file(cf, "0\n")
    harness.write_file(pf, "0\n")
    # child07 keeps failing on its own (c7 still says 2)
    incs = wait_incidents(
        d, lambda v: len([x for x in v if x["id"] not in merged]) == 2 and any(
            x["root_cause"] == "child07" and x["status"] == "open"
            for x in v) and any(x["root_cause"] == "core-switch" and
                                x["status"] == "resolved" for x in v),
        40, "the parent's incident resolved and child07's own opened")
    incs = [x for x in incs if x["id"] not in merged]
    own = [x for x in incs if x["root_cause"] == "child07"][0]
    assert own["checks"][0]["role"] == "root_cause", own
    parent = [x for x in incs if x["root_cause"] == "core-switch"][0]
    assert "child07" not in [c["name"] for c in parent["checks"]], parent
    d.stop()


def test_child_failing_before_its_parent_is_merged(env):
    """The parent's check is slow (2 s), the children's retries quick:
    the children turn hard CRITICAL first and open incidents, then turn
    UNREACHABLE behind the parent; their incidents are resolved as
    merged and the parent's holds them."""
    pf = env.file("sw.state", "0\n")
    conf = ('exec "gw" {\n'
            '  command = { "/bin/sh", "-c", "sleep 2; exit $(cat %s)" }\n'
            '  interval = 1h  max_attempts = 1  timeout = 10s\n}\n' % pf)
    conf += 'host "gwh" { address = "127.0.0.1"  check = "gw" }\n'
    conf += 'host "srv" { address = "127.0.0.1"  parents = { "gwh" } }\n'
    cf = env.file("child.state", "0\n")
    for n in range(3):
        conf += ('exec "leaf%d" {\n'
                 '  command = { "/bin/sh", "-c", "exit $(cat %s)" }\n'
                 '  interval = 1s  retry_interval = 200ms  max_attempts = 2\n'
                 '  host = "srv"\n}\n' % (n, cf))
    d = env.daemon(conf)
    d.start()
    d.wait_check("leaf2", "OK", pred=lambda c: c["last_check"], timeout=15)
    harness.write_file(pf, "2\n")
    harness.write_file(cf, "2\n")

    def merged(v):
        live = [x for x in v if x["status"] == "open"]
        return (len(live) == 1 and live[0]["root_cause"] == "gw" and
                len([c for c in live[0]["checks"]
                     if c["role"] == "unreachable"]) == 3 and v)
    incs = wait_incidents(d, merged, 30,
                          "the leaves' incidents merged into gw's")
    early = [x for x in incs if x["root_cause"] != "gw"]
    assert early, "no leaf failed before gw: the test saw no early incident"
    for x in early:
        assert x["status"] == "resolved", x
        full = d.get("/api/v1/incidents/%d" % x["id"])
        texts = " ".join(e.get("text", "") for e in full["timeline"])
        assert "merged into gw's incident" in texts, full["timeline"]
    d.stop()


def test_group_failures_within_window_are_one_incident(env):
    gf = env.file("g.state", "0\n")
    conf = 'incidents { group_window = 30s }\n'
    for n in range(20):
        conf += ('exec "shop%02d" {\n'
                 '  command = { "/bin/sh", "-c", "exit $(cat %s)" }\n'
                 '  interval = 2s  retry_interval = 500ms  max_attempts = 2\n'
                 '  group = "shop"\n%s}\n' % (
                     n, gf, "  impact = high\n" if n == 13 else ""))
    conf += ctl_check("lonely", env.file("l.state", "0\n"))
    d = env.daemon(conf)
    d.start()
    d.wait_check("shop19", "OK", pred=lambda c: c["last_check"], timeout=15)
    harness.write_file(gf, "2\n")

    def grouped(v):
        return len(v) == 1 and len(v[0]["checks"]) == 20
    incs = wait_incidents(d, grouped, 30, "one incident with 20 checks")
    i = incs[0]
    assert i["title"] == "20 checks of group shop are CRITICAL", i["title"]
    assert i["priority"] == "P2", i     # shop13 has impact high
    assert sorted(c["name"] for c in i["checks"]) == \
        ["shop%02d" % n for n in range(20)]
    assert [c["role"] for c in i["checks"]].count("root_cause") == 1
    d.stop()


def test_flapping_check_opens_one_incident_marked_flapping(env):
    # a check that alternates OK/CRITICAL on every run
    counter = env.file("flap.count", "0\n")
    conf = ('exec "flappy" {\n'
            '  command = { "/bin/sh", "-c", "n=$(cat %s); '
            'echo $((n+1)) > %s; exit $(( (n %% 2) * 2 ))" }\n'
            '  interval = 300ms  retry_interval = 300ms  max_attempts = 1\n'
            '  flap_low = 20  flap_high = 40\n}\n' % (counter, counter))
    d = env.daemon(conf)
    d.start()
    d.wait_check("flappy", pred=lambda c: c["flapping"], timeout=30)
    time.sleep(2)       # more transitions while flapping
    incs = incidents(d)
    assert len(incs) == 1, [(i["id"], i["title"]) for i in incs]
    assert incs[0]["flapping"] is True, incs[0]
    assert incs[0]["title"] == "flappy is flapping", incs[0]["title"]
    assert incs[0]["status"] == "open", incs[0]
    d.stop()


def test_maintenance_window_suppresses_then_opens(env):
    sf = env.file("m.state", "0\n")
    d = env.daemon(ctl_check("db", sf, '  host = "db1"\n') +
                   'host "db1" { address = "127.0.0.1" }\n')
    d.start()
    d.wait_check("db", "OK", pred=lambda c: c["last_check"])
    st, w = post(d, "/api/v1/maintenance",
                 {"hosts": ["db1"], "duration": "6s", "comment": "patching",
                  "by": "bob"})
    assert st == 201, w
    assert w["active"] is True and w["source"] == "api", w
    assert d.get("/api/v1/maintenance")["windows"][0]["id"] == w["id"]
    harness.write_file(sf, "2\n")
    d.wait_check("db", "CRITICAL", "hard", timeout=10)
    time.sleep(1)
    assert incidents(d) == [], "an incident opened during maintenance"
    con = db(d)
    ev = con.execute("SELECT new_state, suppressed FROM events WHERE "
                     "check_name = 'db'").fetchall()
    con.close()
    assert [tuple(r) for r in ev] == [("CRITICAL", 1)], [tuple(r)
                                                         for r in ev]
    incs = wait_incidents(d, lambda v: len(v) == 1, 15,
                          "an incident when the window ends")
    assert incs[0]["root_cause"] == "db", incs[0]
    assert any(t["kind"] == "maintenance" for t in incs[0]["timeline"])
    # bad windows are refused with the reason
    st, body = post(d, "/api/v1/maintenance", {"hosts": ["db1"]})
    assert st == 400 and "end" in body["error"], body
    st, body = post(d, "/api/v1/maintenance", {"checks": "db",
                                               "duration": "1h"})
    assert st == 400 and "checks" in body["error"], body
    st, _, raw = d.get_raw("/api/v1/maintenance/%d" % w["id"], "DELETE",
                           headers={"Authorization": "Bearer %s" %
                                    getattr(d, "token", "")})
    # the window has ended: it is history now (reports, SLOs), kept
    assert st == 409 and b"history" in raw, raw
    d.stop()


def test_config_maintenance_window_and_errors(env):
    sf = env.file("c.state", "2\n")
    d = env.daemon(ctl_check("batch", sf, '  group = "nightly"\n') +
                   'maintenance "always" {\n'
                   '  groups = { "nightly" }\n'
                   '  every = "daily 00:00"  duration = 1d\n'
                   '}\n')
    d.start()
    d.wait_check("batch", "CRITICAL", "hard", timeout=10)
    time.sleep(1)
    assert incidents(d) == []
    w = d.get("/api/v1/maintenance")["windows"]
    assert w[0]["name"] == "always" and w[0]["active"] is True, w
    d.stop()

    bad = env.daemon('maintenance "x" {\n  every = "someday 25:00"\n'
                     '  duration = 1h\n  checks = { "a" }\n}\n'
                     'maintenance "y" {\n  start = "tomorrow"\n'
                     '  end = "2026-01-01T00:00:00Z"\n  hosts = { "h" }\n'
                     '}\n'
                     'incidents {\n  priority_matrix = { "high/high=P9" }\n'
                     '}\n', conf_name="bad.conf")
    rc, out = bad.check_config()
    assert rc == 1, out
    for marker, key in (('every = "someday', "every"),
                        ('start = "tomorrow"', "start"),
                        ('priority_matrix', "priority_matrix")):
        line = bad.line_of(marker)
        assert ("%s:%d: " % (bad.conf, line)) in out and key in out, \
            (marker, line, out)


def test_restart_keeps_the_incident_and_does_not_reopen(env):
    sf = env.file("r.state", "2\n")
    d = env.daemon(ctl_check("api", sf))
    d.start()
    i = wait_incidents(d, lambda v: len(v) == 1, 15, "an incident")[0]
    d.stop()
    d.start()
    c = d.check("api")
    assert (c["state"], c["state_type"]) == ("CRITICAL", "hard"), c
    time.sleep(2.5)     # several runs after the restart
    incs = incidents(d)
    assert len(incs) == 1 and incs[0]["id"] == i["id"], incs
    assert incs[0]["status"] == "open", incs[0]
    con = db(d)
    n = con.execute("SELECT count(*) FROM events WHERE check_name = 'api'"
                    ).fetchone()[0]
    con.close()
    assert n == 1, "the restart logged %d events, not 1" % n
    harness.write_file(sf, "0\n")
    wait_incidents(d, lambda v: v[0]["status"] == "resolved", 10,
                   "resolution after the restart")
    d.stop()


def test_kill_9_during_a_storm_loses_no_event_the_api_showed(env):
    n = 1000
    conf = "".join('dummy "s%04d" { state = "critical"  interval = 2s  '
                   'max_attempts = 1 }\n' % k for k in range(n))
    d = env.daemon(conf)
    d.require_plugin("dummy")
    d.start(timeout=30)
    rnd = random.Random(7)
    seen = set()
    deadline = time.time() + rnd.uniform(0.8, 2.0)
    while time.time() < deadline:
        for c in d.checks("?state=CRITICAL"):
            if c["state_type"] == "hard":
                seen.add(c["name"])
    # the last answer was read: kill at once
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    assert seen, "no check went hard CRITICAL before the kill"
    con = db(d)
    logged = {r[0] for r in con.execute(
        "SELECT check_name FROM events WHERE new_state = 'CRITICAL'")}
    opened = {r[0] for r in con.execute(
        "SELECT check_name FROM incident_checks")}
    con.close()
    missing = seen - logged
    assert not missing, "%d of %d events shown by the API were lost: %r" % (
        len(missing), len(seen), sorted(missing)[:10])
    assert seen <= opened, sorted(seen - opened)[:10]

    # restart: nothing is logged twice, every check ends in one incident
    d.start(timeout=30)
    wait_for(lambda: len(d.checks("?state=CRITICAL")) == n, 30,
             "all checks CRITICAL after the restart")
    time.sleep(2.5)
    con = db(d)
    dup = con.execute("SELECT check_name, count(*) FROM events WHERE "
                      "new_state = 'CRITICAL' GROUP BY check_name "
                      "HAVING count(*) > 1").fetchall()
    attached = con.execute("SELECT count(DISTINCT check_name) FROM "
                           "incident_checks").fetchone()[0]
    con.close()
    assert dup == [], [tuple(r) for r in dup][:10]
    assert attached == n, attached
    d.stop()


def test_corrupt_database_is_refused_with_the_reason(env):
    d = env.daemon("")
    os.makedirs(d.state_dir, exist_ok=True)
    harness.write_file(os.path.join(d.state_dir, "incidents.db"),
                       "this is not a database\n" * 100)
    try:
        d.start()
    except harness.DaemonExited as e:
        assert e.returncode == 1, e.returncode
        assert "incidents.db" in e.log and "not a database" in e.log, \
            e.log[-2000:]
    else:
        raise AssertionError("tocsind started on a corrupt incident log")
