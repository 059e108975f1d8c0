"""tocsinctl against a running tocsind: every command, output, exit codes."""
import json
import os

import harness
from fx_api import tocsinctl

CHECKS = (
    'dummy "web" { state = critical  max_attempts = 1  interval = 500ms  '
    'value = 3 }\n'
    'dummy "db" { state = ok  interval = 500ms }\n'
    'dummy "idle" { state = ok  interval = 1w }\n')   # not run: PENDING


def started(env):
    d = env.daemon(CHECKS)
    d.start()
    d.wait_for(lambda: d.check("web")["last_check"] and
               d.check("db")["last_check"], 10, "web and db to run")
    return d


def routes(d):
    return {(r["method"], r["path"]) for r in d.get("/api/v1/routes")[
        "routes"]}


def test_status_checks_check(env):
    d = started(env)
    rc, out, err = tocsinctl(env, d, "status")
    assert rc == 0, err
    assert "CRITICAL 1" in out and "OK 1" in out, out
    assert "PENDING 1" in out, out          # idle has not run yet
    rc, out, err = tocsinctl(env, d, "checks")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "STATE", "ATTEMPT"], lines
    web = [l for l in lines if l.startswith("web ")]
    assert web and "CRITICAL" in web[0], out
    assert "\033[" not in out       # no colour when not on a terminal
    rc, out, err = tocsinctl(env, d, "check", "web")
    assert rc == 0, err
    assert "CRITICAL" in out and "value" in out, out
    rc, out, err = tocsinctl(env, d, "--json", "check", "web")
    assert rc == 0 and json.loads(out)["name"] == "web", out
    d.stop()


def test_errors_and_exit_codes(env):
    d = started(env)
    rc, out, err = tocsinctl(env, d, "check", "no-such-check")
    assert rc == 1, (rc, out, err)
    assert "404" in err and "no such check: no-such-check" in err, err
    rc, _, err = tocsinctl(env, d, "run", "web", token="0" * 64)
    assert rc == 1 and "401" in err and "invalid token" in err, err
    rc, _, err = tocsinctl(env, d, "run", "web", token=False)
    assert rc == 1 and "401" in err, err
    for argv in (("frobnicate",), (), ("check",), ("check", "a", "b"),
                 ("status", "--all"), ("incidents", "--since", "1d"),
                 ("ack", "x1"), ("graph", "web", "value"),
                 ("--bogus-option", "status")):
        rc, out, err = tocsinctl(env, d, *argv)
        assert rc == 2, (argv, rc, out, err)
        assert "usage" in err, (argv, err)
    rc, out, _ = tocsinctl(env, d, "--help")
    assert rc == 0 and "forecast CHECK METRIC" in out, out
    d.stop()
    port = harness.free_port()
    rc, _, err = tocsinctl(env, d, "-s", "http://127.0.0.1:%d" % port,
                           "status", url=False)
    assert rc == 1 and "cannot reach" in err, err


def test_run_and_reload(env):
    d = started(env)
    assert d.check("idle")["last_check"] is None
    rc, out, err = tocsinctl(env, d, "run", "idle")
    assert rc == 0 and "run requested" in out, (out, err)
    d.wait_ran("idle", timeout=5)
    start = len(d.log())
    harness.write_file(d.conf, d.config_text +
                       'dummy "new" { state = ok  interval = 1s }\n')
    rc, out, err = tocsinctl(env, d, "reload")
    assert rc == 0, err
    d.wait_log(r"configuration reloaded: 4 checks", start=start)
    d.stop()


def test_url_and_token_from_environment_and_config(env):
    d = started(env)
    url = "http://127.0.0.1:%d" % d.port
    rc, out, err = tocsinctl(env, d, "run", "db", url=False, token=False,
                             extra_env={"TOCSIN_URL": url,
                                        "TOCSIN_TOKEN": d.token})
    assert rc == 0, err
    # -c: listen and the token file (default state_dir/api.token)
    rc, out, err = tocsinctl(env, d, "-c", d.conf, "run", "db", url=False,
                             token=False)
    assert rc == 0, err
    # flags win over the environment
    rc, out, err = tocsinctl(env, d, "run", "db", token="1" * 64,
                             extra_env={"TOCSIN_TOKEN": d.token})
    assert rc == 1 and "401" in err, err
    rc, _, err = tocsinctl(env, d, "-c", env.path("missing.conf"),
                           "status", url=False, token=False)
    assert rc == 1 and "missing.conf" in err, err
    d.stop()


def test_module_commands(env):
    """
    incidents, ack, resolve, comment, graph, forecast, report, oncall:
    each either works (its module is in this build) or fails with the
    API's 404 and exit status 1 — never a crash or a usage error.
    """
    d = started(env)
    have = routes(d)
    cases = [
        (("incidents",), ("GET", "/api/v1/incidents")),
        (("incidents", "--all"), ("GET", "/api/v1/incidents")),
        (("report", "--since", "7d"), ("GET", "/api/v1/report")),
        (("oncall",), ("GET", "/api/v1/oncall")),
        (("forecast", "web", "value"), ("GET", "/api/v1/forecast/")),
    ]
    for argv, route in cases:
        rc, out, err = tocsinctl(env, d, *argv)
        if route in have:
            assert rc == 0, (argv, rc, out, err)
            rc, out, err = tocsinctl(env, d, "--json", *argv)
            assert rc == 0, (argv, err)
            json.loads(out)
        else:
            assert rc == 1 and "404" in err, (argv, rc, out, err)
    png = env.path("web.png")
    rc, out, err = tocsinctl(env, d, "graph", "web", "value", "--since",
                             "1h", "-o", png)
    if ("GET", "/api/v1/graph/") in have:
        assert rc == 0, err
        with open(png, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    else:
        assert rc == 1 and "404" in err, (rc, err)
    for argv in (("ack", "1", "--by", "alice", "--comment", "on it"),
                 ("comment", "1", "looking"), ("resolve", "1"),
                 ("incident", "1")):
        rc, out, err = tocsinctl(env, d, *argv)
        assert rc in (0, 1), (argv, rc, err)
        if ("GET", "/api/v1/incidents") not in have:
            assert "404" in err, (argv, err)
    d.stop()


def test_incident_workflow(env):
    """ack/comment/resolve against the incident module (once merged)."""
    d = env.daemon(
        'dummy "shop" { state = critical  max_attempts = 1  '
        'interval = 500ms  impact = high  urgency = high }\n')
    d.start()
    st, _, _ = d.get_raw("/api/v1/incidents")
    if st == 404:
        raise harness.Skip("incident module not present "
                           "(GET /api/v1/incidents is 404)")
    inc = d.wait_for(lambda: d.get("/api/v1/incidents")["incidents"], 10,
                     "an incident for shop")[0]
    iid = str(inc["id"])
    rc, out, err = tocsinctl(env, d, "incidents")
    assert rc == 0 and "shop" in out, (out, err)
    rc, out, err = tocsinctl(env, d, "ack", iid, "--by", "alice",
                             "--comment", "on it")
    assert rc == 0, err
    got = d.get("/api/v1/incidents/" + iid)
    assert got["status"] == "acknowledged", got
    assert got["acknowledged_by"] == "alice", got
    rc, out, err = tocsinctl(env, d, "comment", iid, "rebooting web1")
    assert rc == 0, err
    rc, out, err = tocsinctl(env, d, "incident", iid)
    assert rc == 0 and "rebooting web1" in out, out
    rc, out, err = tocsinctl(env, d, "resolve", iid)
    assert rc == 0, err
    assert d.get("/api/v1/incidents/" + iid)["status"] in (
        "resolved", "closed")
    rc, out, err = tocsinctl(env, d, "incident", "999999")
    assert rc == 1 and "404" in err, err
    d.stop()


def test_ack_without_user_env_records_the_login_name(env):
    """cron, su -c, docker exec: no $USER, no terminal — the password
    entry of the uid still names who acknowledged."""
    import pwd
    d = env.daemon('dummy "shop" { state = critical  max_attempts = 1  '
                   'interval = 500ms }\n')
    d.start()
    assert "started: 1 check, 0 hosts" in d.log(), d.log()   # not "1 checks"
    inc = d.wait_for(lambda: d.get("/api/v1/incidents")["incidents"], 10,
                     "an incident for shop")[0]
    e = {k: v for k, v in os.environ.items()
         if k not in ("USER", "LOGNAME")}
    import subprocess
    r = subprocess.run([os.path.join(env.builddir, "tocsinctl"), "-s",
                        "http://127.0.0.1:%d" % d.port, "-t", d.token,
                        "ack", str(inc["id"])],
                       capture_output=True, text=True, env=e, cwd="/",
                       stdin=subprocess.DEVNULL, timeout=30,
                       start_new_session=True)     # no controlling tty
    assert r.returncode == 0, r.stderr
    got = d.get("/api/v1/incidents/%d" % inc["id"])
    assert got["acknowledged_by"] == pwd.getpwuid(os.getuid()).pw_name, got
    d.stop()


def test_forecast_without_enough_history_says_no_trend(env):
    """The forecast check's rule in the API and tocsinctl: before
    min_history no slope, no days, no value at the horizon."""
    d = env.daemon('dummy "disk" { state = ok  interval = 500ms  '
                   'value = 40 }\n'
                   'forecast "disk-full" { source = "disk:value"  '
                   'threshold = 95  window = 7d  warn = 14d  crit = 3d  '
                   'interval = 1h }\n')
    d.start()
    d.wait_check("disk", "OK", pred=lambda c: c["last_check"])
    f = d.get("/api/v1/forecast/disk/value")
    assert f["min_history_s"] == 86400, f
    assert f["reason"].startswith("no trend yet"), f
    for k in ("slope_per_day", "value_at_horizon", "days_until",
              "crosses_at", "time_to_threshold_s"):
        assert f[k] is None, (k, f)
    rc, out, err = tocsinctl(env, d, "forecast", "disk", "value")
    assert rc == 0, err
    assert "no trend yet" in out and "min_history is 24.0 h" in out \
        or "not enough for a trend" in out, out
    assert "days" not in out and "reaches" not in out, out
    # the same answer the forecast check gives
    d.post("/api/v1/checks/disk-full/run")
    c = d.wait_check("disk-full", "OK", pred=lambda c: c["last_check"])
    assert "no trend yet" in c["summary"], c
    # with min_history = 0 and two values, there are numbers
    d.wait_for(lambda: d.get("/api/v1/forecast/disk/value?window=1m&min_history=0s")
               ["points"] >= 2, 15, "two stored values")
    f = d.get("/api/v1/forecast/disk/value?window=1m&min_history=0s")
    assert f["slope_per_day"] is not None and "reason" not in f, f
    st, _, body = d.get_raw("/api/v1/forecast/disk/value?min_history=8d")
    assert st == 400 and b"min_history" in body, (st, body)
    d.stop()


def test_report_and_oncall_print_tables(env):
    d = env.daemon(
        'dummy "web" { state = ok  interval = 500ms  group = "shop" }\n'
        'channel "mail" { type = email  smtp = "smtp://127.0.0.1:9"\n'
        '  from = "tocsin@example.com"  starttls = never }\n'
        'contact "alice" { email = "alice@example.com"  '
        'channels = { "mail" } }\n'
        'contact "bob" { email = "bob@example.com"  channels = { "mail" } }\n'
        'schedule "primary" { members = { "alice", "bob" }\n'
        '  handoff = "mon 09:00"  period = 1w  timezone = "UTC" }\n')
    d.start()
    rc, out, err = tocsinctl(env, d, "report", "--since", "1d")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[1].startswith("incidents: 0 opened"), out
    hdr = [l for l in lines if l.startswith("CHECK")]
    assert hdr and hdr[0].split() == ["CHECK", "GROUP", "AVAILABILITY",
                                      "DOWNTIME"], out
    assert any(l.split()[:2] == ["web", "shop"] for l in lines), out
    assert any(l.split()[:1] == ["shop"] and "%" in l for l in lines), out
    assert "- 1" not in out and "name:" not in out, out     # no list dump
    rc, out, err = tocsinctl(env, d, "--json", "report", "--month",
                             "2026-11")
    assert rc == 0, err
    assert json.loads(out)["since"] == "2026-11-01T00:00:00Z", out
    rc, out, err = tocsinctl(env, d, "report", "--month", "2026-11",
                             "--since", "1d")
    assert rc == 2 and "not both" in err, (rc, out, err)
    rc, out, err = tocsinctl(env, d, "oncall")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["SCHEDULE", "ON", "CALL", "SINCE", "UNTIL",
                                "EMAIL"], out
    row = lines[1].split()
    assert row[0] == "primary" and row[1] in ("alice", "bob"), out
    assert row[-1] == "%s@example.com" % row[1], out
    d.stop()
