"""The state machine as an operator sees it: soft/hard, timeouts,
metrics, reachability, flapping."""
import time

import harness
from harness import RFC3339, track_check, wait_for


def exit_code_check(name, state_file, extra=""):
    """An exec check that prints and exits with the number in state_file."""
    return ('exec "%s" {\n'
            '  command = { "/bin/sh", "-c", '
            '"echo \\"%s says $(cat %s)\\"; exit $(cat %s)" }\n'
            '%s'
            '}\n' % (name, name, state_file, state_file, extra))


def test_soft_then_hard_then_recovery(env):
    sf = env.file("state_file", "0\n")
    d = env.daemon(exit_code_check(
        "svc", sf, "  interval = 1s  retry_interval = 500ms  "
        "max_attempts = 3\n"))
    d.require_plugin("exec")
    d.start()
    c = d.wait_check("svc", "OK", "hard", attempt=1,
                     pred=lambda c: c["last_check"])
    assert c["max_attempts"] == 3, c
    assert c["summary"] == "svc says 0", c
    for k in ("last_check", "next_check"):
        assert isinstance(c[k], str) and RFC3339.match(c[k]), \
            "%s is not RFC 3339: %r" % (k, c[k])
    assert c["next_check"] >= c["last_check"], c

    harness.write_file(sf, "2\n")
    c, seen = track_check(d, "svc", lambda c: (c["state"], c["state_type"],
                                                c["attempt"]) ==
                          ("CRITICAL", "hard", 3), 10,
                          "svc to go hard CRITICAL")
    assert seen[-3:] == [("CRITICAL", "soft", 1), ("CRITICAL", "soft", 2),
                         ("CRITICAL", "hard", 3)], \
        "states seen after the failure: %r" % seen
    assert c["summary"] == "svc says 2", c
    assert c["max_attempts"] == 3

    # stays hard at max_attempts while the problem lasts
    time.sleep(1.2)
    c = d.check("svc")
    assert (c["state"], c["state_type"], c["attempt"]) == \
        ("CRITICAL", "hard", 3), c

    harness.write_file(sf, "0\n")
    c, seen = track_check(d, "svc", lambda c: c["state"] == "OK", 10,
                          "svc to recover")
    assert seen[-1] == ("OK", "hard", 1), \
        "recovery is not hard at once: %r" % seen
    assert c["summary"] == "svc says 0", c
    for k in ("last_check", "next_check"):
        assert RFC3339.match(c[k]), (k, c[k])
    d.stop()


def test_timeout_cancels_a_sleeping_plugin(env):
    marker = harness.unique_marker("30")
    d = env.daemon('exec "sleeper" {\n'
                   '  command = { "/bin/sleep", "%s" }\n'
                   '  timeout = 500ms  interval = 1s  max_attempts = 1\n'
                   '}\n' % marker)
    d.require_plugin("exec")
    try:
        d.start()
        t0 = time.monotonic()
        c = d.wait_check("sleeper", "CRITICAL", timeout=5,
                         pred=lambda c: "timed out" in c["summary"])
        assert time.monotonic() - t0 < 5
        # the killed sleeps do not pile up while the daemon runs
        time.sleep(1.5)
        n = len(harness.pids_matching("sleep " + marker))
        assert n <= 1, "%d sleep %s processes alive at once" % (n, marker)
        d.stop()
        left = []
        try:
            wait_for(lambda: not harness.pids_matching("sleep " + marker), 3,
                     "no sleep %s left" % marker)
        except AssertionError:
            left = harness.pids_matching("sleep " + marker)
        assert not left, "sleep %s still running after stop: pids %s" % (
            marker, left)
    finally:
        harness.kill_pids(harness.pids_matching("sleep " + marker))


def test_perfdata_becomes_metrics(env):
    d = env.daemon('exec "perf" {\n'
                   '  command = { "/bin/echo", '
                   '"OK - fine|\'disk used\'=42.5%;80;90;0;100 load=0.3" }\n'
                   '  interval = 1s\n'
                   '}\n')
    d.require_plugin("exec")
    d.start()
    c = d.wait_check("perf", "OK", pred=lambda c: c["metrics"])
    assert c["summary"] == "OK - fine", c
    m = {x["name"]: x for x in c["metrics"]}
    assert set(m) == {"disk used", "load"}, c["metrics"]
    assert m["disk used"] == {"name": "disk used", "value": 42.5, "unit": "%",
                              "warn": 80, "crit": 90, "min": 0,
                              "max": 100}, m["disk used"]
    assert m["load"]["value"] == 0.3, m["load"]
    assert m["load"]["unit"] in (None, ""), m["load"]
    assert m["load"]["min"] is None and m["load"]["max"] is None, m["load"]
    d.stop()


def track_states(d, names, until, timeout, what):
    """Polls checks until until(by_name) is true; returns every
    (name, state, state_type) seen, in order."""
    seen = []

    def poll():
        by = {n: d.check(n) for n in names}
        for n in names:
            t = (n, by[n]["state"], by[n]["state_type"])
            if t not in seen:
                seen.append(t)
        return until(by)
    try:
        wait_for(poll, timeout, what)
    except AssertionError as e:
        raise AssertionError("%s; states seen: %r" % (e, seen)) from None
    return seen


def test_unreachable_child_of_down_host(env):
    d = env.daemon(
        'host "core" { address = "127.0.0.1"  check = "core-check" }\n'
        'host "web" { address = "127.0.0.1"  parents = { "core" } }\n'
        'dummy "core-check" { state = critical  text = "core down"\n'
        '  interval = 1s  max_attempts = 1 }\n'
        'dummy "web-check" { host = "web"  state = critical  '
        'text = "web down"\n'
        '  interval = 1s  retry_interval = 200ms  max_attempts = 3 }\n')
    d.start()
    seen = track_states(
        d, ["core-check", "web-check"],
        lambda by: by["core-check"]["state"] == "CRITICAL" and
        by["core-check"]["state_type"] == "hard" and
        by["web-check"]["state"] == "UNREACHABLE" and
        by["web-check"]["state_type"] == "hard",
        10, "core-check hard CRITICAL and web-check hard UNREACHABLE")
    assert ("web-check", "CRITICAL", "hard") not in seen, \
        "web-check went hard CRITICAL although its parent host is down: " \
        "%r" % seen
    c = d.check("web-check")
    assert c["host"] == "web", c
    # it stays so while core is down
    time.sleep(1.2)
    assert d.check("web-check")["state"] == "UNREACHABLE"
    d.stop()


def test_depends_on_makes_unreachable(env):
    d = env.daemon(
        'dummy "db" { state = critical  text = "db down"\n'
        '  interval = 1s  max_attempts = 1 }\n'
        'dummy "app" { state = critical  text = "app down"\n'
        '  depends_on = { "db" }\n'
        '  interval = 1s  retry_interval = 200ms  max_attempts = 3 }\n'
        'dummy "other" { state = critical  text = "other down"\n'
        '  interval = 1s  retry_interval = 200ms  max_attempts = 3 }\n')
    d.start()
    seen = track_states(
        d, ["db", "app", "other"],
        lambda by: by["db"]["state"] == "CRITICAL" and
        by["app"]["state"] == "UNREACHABLE" and
        by["app"]["state_type"] == "hard" and
        by["other"]["state"] == "CRITICAL" and
        by["other"]["state_type"] == "hard",
        10, "db hard CRITICAL, app hard UNREACHABLE, other hard CRITICAL")
    assert ("app", "CRITICAL", "hard") not in seen, \
        "app went hard CRITICAL although db, which it depends on, is " \
        "down: %r" % seen
    assert d.check("app")["depends_on"] == ["db"]
    d.stop()


def test_flapping_detected(env):
    counter = env.file("counter", "0\n")
    d = env.daemon(
        'exec "flappy" {\n'
        '  command = { "/bin/sh", "-c", "n=$(cat %s); '
        'echo $((n + 1)) > %s.new && mv %s.new %s; '
        'echo run $n; exit $(( (n %% 2) * 2 ))" }\n'
        '  interval = 100ms  max_attempts = 1\n'
        '}\n' % (counter, counter, counter, counter))
    d.require_plugin("exec")
    d.start()
    c = d.wait_check("flappy", timeout=10, flapping=True)
    assert c["state"] in ("OK", "CRITICAL"), c
    st = d.get("/api/v1/status")
    assert st.get("flapping", 0) >= 1, st
    d.stop()


def test_never_run_check_is_pending_until_its_first_result(env):
    """A check that has not run is PENDING — not OK, not hard — in the
    check, the status counts, the state filter, /metrics and tocsinctl;
    it opens no incident and makes nothing unreachable; its first result
    ends it.  A reload that adds a check makes that one PENDING only."""
    from fx_api import tocsinctl
    # "later" runs once a week, at a point of the week: not during the test
    d = env.daemon(
        'host "h" { address = "127.0.0.1"  check = "later" }\n'
        'dummy "later" { state = critical  max_attempts = 1  '
        'interval = 1w }\n'
        'dummy "child" { state = critical  max_attempts = 1  '
        'interval = 500ms  host = "h" }\n'
        'dummy "now" { state = ok  interval = 500ms }\n')
    d.start()
    d.wait_check("now", "OK", pred=lambda c: c["last_check"])
    # a PENDING host check is not a DOWN host: the child is CRITICAL itself
    d.wait_check("child", "CRITICAL", "hard")
    c = d.check("later")
    assert (c["state"], c["state_type"], c["attempt"], c["last_check"]) == \
        ("PENDING", None, 0, None), c
    st = d.get("/api/v1/status")["checks"]
    assert (st["PENDING"], st["OK"], st["CRITICAL"]) == (1, 1, 1), st
    assert st["total"] == sum(v for k, v in st.items() if k != "total"), st
    assert [x["name"] for x in d.checks("?state=PENDING")] == ["later"]
    inc = d.wait_for(lambda: d.get("/api/v1/incidents")["incidents"], 10,
                     "the child's incident")
    assert [i["root_cause"] for i in inc] == ["child"], inc
    st, _, body = d.get_raw("/metrics")
    text = body.decode()
    assert 'tocsin_checks_by_state{state="PENDING"} 1' in text, text
    assert 'tocsin_check_state{check="later",type="dummy"} 5' in text, text
    assert 'tocsin_check_hard{check="later"} 0' in text, text
    rc, out, err = tocsinctl(env, d, "status")
    assert rc == 0 and "PENDING 1" in out, (out, err)
    # a passive result cannot claim PENDING
    st, body = d.post("/api/v1/checks/now/result", {"state": "PENDING",
                                                     "summary": "x"})
    assert st == 400, (st, body)
    # the first result ends it (and this one is a real failure)
    d.post("/api/v1/checks/later/run")
    c = d.wait_check("later", "CRITICAL", "hard", attempt=1)
    assert "PENDING" not in d.get("/api/v1/status")["checks"] or \
        d.get("/api/v1/status")["checks"]["PENDING"] == 0
    # a reload that adds a check: that one is PENDING, the others keep
    # their state
    log = d.reload(d.config_text[len(d.header_text):] +
                   'dummy "added" { state = ok  interval = 1w }\n')
    assert "reloaded" in log, log
    assert d.check("added")["state"] == "PENDING"
    assert d.check("later")["state"] == "CRITICAL"
    assert d.check("now")["state"] == "OK"
    d.stop()
