"""The exec plugin against plugins that misbehave: bad output never
crashes the daemon, and every run still ends with a result."""
import time

import harness
from harness import STATES, wait_for


def sh_check(name, script, extra="  interval = 1s\n"):
    script = script.replace("\\", "\\\\").replace('"', '\\"')
    return ('exec "%s" {\n'
            '  command = { "/bin/sh", "-c", "%s" }\n'
            '%s'
            '}\n' % (name, script, extra))


def start_exec(env, config):
    d = env.daemon(config)
    d.require_plugin("exec")
    d.start()
    return d


def assert_still_serving(d, name):
    """The daemon answers and the check has a well-formed result."""
    assert d.alive(), "tocsind died:\n" + harness.tail(d.log(), 30)
    st = d.get("/api/v1/status")
    assert st["checks"]["total"] >= 1, st
    d.checks()          # the whole list still serialises
    c = d.check(name)
    assert c["last_check"], c
    assert c["state"] in STATES, c
    assert isinstance(c["summary"], str), c
    return c


def test_garbage_output(env):
    d = start_exec(env, sh_check(
        "garbage", "head -c 4096 /dev/urandom; exit 1",
        "  interval = 200ms\n  max_attempts = 1\n"))
    d.wait_check("garbage", "WARNING", timeout=5)
    time.sleep(1.5)     # several more runs of random bytes
    c = assert_still_serving(d, "garbage")
    assert c["state"] == "WARNING", c
    d.stop()


def test_huge_output_is_cut(env):
    line = "tocsin huge output line"
    d = start_exec(env, sh_check(
        "huge", "yes '%s' | head -c 10485760" % line,
        "  interval = 2s\n  timeout = 10s\n"))
    c = d.wait_check("huge", timeout=15, pred=lambda c: c["last_check"])
    c = assert_still_serving(d, "huge")
    assert c["state"] == "OK", c
    assert c["summary"] == line, c["summary"][:200]
    lo = c.get("long_output") or ""
    assert len(lo) <= 1024 * 1024, "long_output is %d bytes" % len(lo)
    st, _, body = d.get_raw("/api/v1/checks/huge")
    assert st == 200 and len(body) <= 2 * 1024 * 1024, \
        "check JSON is %d bytes" % len(body)
    d.stop()


def test_plugin_closing_stdout_and_running(env):
    # EOF on the output comes a second before the exit: the result must
    # wait for the exit code.
    d = start_exec(env, sh_check(
        "closer", "exec >&- 2>&-; sleep 1; exit 1",
        "  interval = 1s\n  max_attempts = 1\n  timeout = 5s\n"))
    c = d.wait_check("closer", timeout=6, pred=lambda c: c["last_check"])
    assert c["state"] == "WARNING", c
    if c.get("duration_ms") is not None:
        assert c["duration_ms"] >= 900, c["duration_ms"]
    assert_still_serving(d, "closer")
    d.stop()


def test_plugin_forking_and_exiting(env):
    marker = harness.unique_marker("30")
    d = start_exec(env, sh_check(
        "forker", "sleep %s & echo forked; exit 0" % marker,
        "  interval = 1s\n  timeout = 10s\n"))
    try:
        c = d.wait_check("forker", timeout=6, pred=lambda c: c["last_check"])
        assert c["state"] == "OK", c
        assert c["summary"] == "forked", c
        if c.get("duration_ms") is not None:
            assert c["duration_ms"] < 5000, c["duration_ms"]
        # Each run leaves a sleep holding the output pipe; the daemon must
        # kill it soon after the plugin exited, not let it live its 30 s.
        pids = harness.pids_matching("sleep " + marker)

        def gone():
            return not (set(pids) & set(harness.pids_matching(
                "sleep " + marker)))
        wait_for(gone, 4, "the forked sleep %s (pids %s) to be killed" % (
            marker, pids))
        assert_still_serving(d, "forker")
        d.stop()
        wait_for(lambda: not harness.pids_matching("sleep " + marker), 3,
                 "no sleep %s left after stop" % marker)
    finally:
        harness.kill_pids(harness.pids_matching("sleep " + marker))


def test_exit_code_out_of_range_is_unknown(env):
    d = start_exec(env, sh_check("seven", "echo seven; exit 7",
                                 "  interval = 1s\n  max_attempts = 1\n"))
    c = d.wait_check("seven", timeout=5, pred=lambda c: c["last_check"])
    assert c["state"] == "UNKNOWN", c
    assert c["state_type"] == "hard", c
    assert_still_serving(d, "seven")
    d.stop()


def test_missing_binary_is_config_error(env):
    path = "/nonexistent/tocsin-no-such-plugin"
    d = env.daemon('exec "ghost" {\n'
                   '  command = { "%s", "-v" }\n'
                   '}\n' % path)
    d.require_plugin("exec")
    rc, out = d.check_config()
    assert rc == 1, "tocsind -t exited %d:\n%s%s" % (rc, out, d.last_stderr)
    want = "%s:%d:" % (d.conf, d.line_of(path))
    lines = [l for l in out.splitlines() if path in l]
    assert lines, "no error names %s:\n%s" % (path, out)
    assert any(l.startswith(want) for l in lines), \
        "error not at %s:\n%s" % (want, out)
