"""Real Nagios plugins, unchanged, through the exec check type."""
import os

import harness
from harness import track_check

PLUGINS = "/usr/lib/nagios/plugins"


def need_plugin(name):
    p = os.path.join(PLUGINS, name)
    if not os.access(p, os.X_OK):
        raise harness.Skip("%s not installed" % p)
    return p


def test_check_http_against_real_nginx_soft_hard_recover(env):
    check_http = need_plugin("check_http")
    ngx = env.nginx()
    d = env.daemon(
        'exec "web" {\n'
        '  command = { "%s", "-H", "127.0.0.1", "-p", "%d",\n'
        '              "-u", "/index.html", "-t", "2" }\n'
        '  interval = 300ms  retry_interval = 200ms  max_attempts = 3\n'
        '  timeout = 5s\n'
        '}\n' % (check_http, ngx.port))
    d.require_plugin("exec")
    d.start()
    c = d.wait_check("web", "OK", "hard", timeout=10,
                     pred=lambda c: c["last_check"] and c["metrics"])
    names = {m["name"] for m in c["metrics"]}
    assert {"time", "size"} <= names, c["metrics"]
    m = {m["name"]: m for m in c["metrics"]}
    assert m["time"]["unit"] == "s" and m["time"]["value"] >= 0, m["time"]
    assert m["size"]["unit"] == "B" and m["size"]["value"] > 0, m["size"]

    ngx.remove("index.html")        # now a 404
    c, seen = track_check(d, "web", lambda c: c["state"] != "OK" and
                          c["state_type"] == "hard", 10,
                          "web to go hard non-OK after a 404")
    bad = [t for t in seen if t[0] != "OK"]
    assert [(t[1], t[2]) for t in bad] == [("soft", 1), ("soft", 2),
                                           ("hard", 3)], \
        "states seen after the 404: %r" % seen
    assert c["state"] in ("WARNING", "CRITICAL"), c
    assert "404" in c["summary"], c

    ngx.put("index.html", "hello tocsin\n")
    c, seen = track_check(d, "web", lambda c: c["state"] == "OK", 10,
                          "web to recover")
    assert seen[-1] == ("OK", "hard", 1), seen
    assert c["metrics"], c

    # nginx gone: connection refused is CRITICAL
    ngx.stop()
    c = d.wait_check("web", "CRITICAL", "hard", timeout=10)
    d.stop()


def test_check_disk_and_load_run_unchanged(env):
    check_load = need_plugin("check_load")
    check_disk = need_plugin("check_disk")
    d = env.daemon(
        'exec "load" {\n'
        '  command = { "%s", "-w", "100,100,100", "-c", "200,200,200" }\n'
        '  interval = 1s\n'
        '}\n'
        'exec "disk-root" {\n'
        '  command = { "%s", "-w", "1%%", "-c", "1%%", "-p", "/" }\n'
        '  interval = 1s\n'
        '}\n' % (check_load, check_disk))
    d.require_plugin("exec")
    d.start()
    c = d.wait_check("load", timeout=10, pred=lambda c: c["last_check"])
    assert c["state"] == "OK", c
    names = {m["name"] for m in c["metrics"]}
    assert "load1" in names, c["metrics"]
    c = d.wait_check("disk-root", timeout=10, pred=lambda c: c["last_check"])
    assert c["state"] in harness.STATES, c
    assert c["summary"], c
    assert c["metrics"], "check_disk gave no metrics: %r" % c
    assert all(isinstance(m["value"], (int, float)) for m in c["metrics"]), \
        c["metrics"]
    d.stop()
