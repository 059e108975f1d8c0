"""Signals: SIGHUP reloads without losing state, SIGTERM stops cleanly."""
import time

from harness import wait_for

BROKEN = ('dummy "broken" { state = critical  text = "boom"\n'
          '  interval = 500ms  retry_interval = 200ms  max_attempts = 2 }\n')


def test_sighup_keeps_state_of_unchanged_checks(env):
    d = env.daemon(BROKEN)
    d.start()
    before = d.wait_check("broken", "CRITICAL", "hard", timeout=10,
                          attempt=2)
    out = d.reload(BROKEN + 'dummy "fresh" { state = ok  interval = 500ms }\n')
    assert "refused" not in out, out
    c = d.check("broken")
    assert (c["state"], c["state_type"], c["attempt"]) == \
        ("CRITICAL", "hard", 2), "state lost by the reload: %r" % c
    assert c["last_check"] is not None and \
        c["last_check"] >= before["last_check"], (before, c)
    assert c["last_hard_state_change"] == before["last_hard_state_change"], \
        (before, c)
    assert c["summary"] == "boom", c
    # and it stays hard: later runs do not start a new soft series
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        c = d.check("broken")
        assert (c["state"], c["state_type"], c["attempt"]) == \
            ("CRITICAL", "hard", 2), "after the reload: %r" % c
        time.sleep(0.05)
    names = sorted(x["name"] for x in d.checks())
    assert names == ["broken", "fresh"], names
    d.wait_check("fresh", "OK", timeout=5, pred=lambda c: c["last_check"])
    d.stop()


def test_broken_reload_is_refused(env):
    d = env.daemon(BROKEN + 'dummy "kept" { state = ok  interval = 500ms }\n')
    d.start()
    d.wait_check("broken", "CRITICAL", "hard", timeout=10)
    out = d.reload('dummy "new" {\n  interval = "5 parsecs"\n}\n')
    assert "refused" in out, "log after the reload:\n%s" % out
    assert "5 parsecs" in out, "the log does not say why:\n%s" % out
    assert d.alive(), "tocsind died on a broken reload"
    names = sorted(x["name"] for x in d.checks())
    assert names == ["broken", "kept"], names
    c = d.check("broken")
    assert (c["state"], c["state_type"]) == ("CRITICAL", "hard"), c
    # the old config keeps running: "kept" gets new results
    first = d.wait_check("kept", timeout=5,
                         pred=lambda c: c["last_check"])["last_check"]
    wait_for(lambda: d.check("kept")["last_check"] > first, 5,
             "kept to run again after the refused reload")
    d.stop()


def test_sigterm_stops_cleanly(env):
    d = env.daemon(BROKEN)
    d.start()
    d.wait_check("broken", timeout=5, pred=lambda c: c["last_check"])
    assert d.stop() == 0
    assert not d.alive()
