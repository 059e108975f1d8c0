"""The API's access rules, check mutations and request limits."""
import json
import os
import re
import socket
import stat
import subprocess
import time

import harness

CHECKS = (
    # interval 1h: the first run is spread over the hour, so these only
    # run when a test asks them to
    'dummy "idle" { state = critical  interval = 1h  max_attempts = 3 }\n'
    'dummy "fast" { state = ok  interval = 500ms  value = 7 }\n')


def concrete(path):
    """A request path for a route path (a prefix gets a plausible rest)."""
    if path == "/api/v1/checks/":
        return None         # tested one action at a time below
    if path.endswith("/"):
        return path + "1/ack"
    return path


def concrete_for(method, path):
    """As concrete(), for a DELETE the prefix gets an id only."""
    if method == "DELETE" and path.endswith("/"):
        return path + "1"
    return concrete(path)


def mutations(d):
    """(method, path) of every mutating route of this build, concretely."""
    st, _, body = d.get_raw("/api/v1/routes")
    assert st == 200, (st, body)
    routes = json.loads(body)["routes"]
    # changes need a token: no route but a GET may be open, except the
    # signed ones (action links, vendors' webhooks), which refuse a
    # request without a valid signature and change nothing
    open_writes = [r for r in routes if r["method"] != "GET" and
                   not r["mutates"] and not r.get("signed")]
    assert open_writes == [], open_writes
    for r in routes:
        if r.get("signed") and r["method"] != "GET":
            st, _, data = d.get_raw(concrete_for(r["method"], r["path"]),
                                    method=r["method"], body=b"{}",
                                    headers={"Content-Type":
                                             "application/json"})
            assert st in (401, 403), (r, st, data)
    out = []
    for r in routes:
        if not r["mutates"]:
            continue
        assert r["method"] in ("POST", "DELETE"), r
        if r["path"] == "/api/v1/checks/":
            out += [("POST", "/api/v1/checks/idle/run"),
                    ("POST", "/api/v1/checks/idle/result")]
        else:
            out.append((r["method"], concrete_for(r["method"], r["path"])))
    return out


def test_token_file_created_0600(env):
    d = env.daemon(CHECKS)
    d.start()
    sb = os.stat(d.token_file)
    assert stat.S_IMODE(sb.st_mode) == 0o600, oct(sb.st_mode)
    tok = d.token
    assert re.fullmatch(r"[0-9a-f]{64}", tok), tok
    log = d.log()
    assert d.token_file in log, harness.tail(log, 10)
    assert tok not in log, "the token itself is in the log"
    d.stop()
    # a restart keeps the token and does not announce a new one
    start = len(d.log())
    d.start()
    assert d.token == tok
    assert "created a new API token" not in d.log()[start:]
    d.stop()


def test_every_mutation_needs_the_token(env):
    d = env.daemon(CHECKS)
    d.start()
    muts = mutations(d)
    paths = [p for _, p in muts]
    for want in ("/api/v1/checks/idle/run", "/api/v1/checks/idle/result",
                 "/api/v1/reload"):
        assert want in paths, (want, paths)
    before = d.check("idle")
    assert before["last_check"] is None, before
    log_start = len(d.log())
    body = json.dumps({"state": "OK", "summary": "x"}).encode()
    for method, path in muts:
        for token, err in ((None, None), ("wrong-" + "0" * 58,
                                          "invalid_token"),
                           (d.token[:-1], "invalid_token"),
                           (d.token + "0", "invalid_token")):
            st, h, data = d.get_raw(path, method=method, body=body,
                                    headers={"Content-Type":
                                             "application/json"},
                                    token=token)
            assert st == 401, (path, token, st, data)
            www = h.get("www-authenticate", "")
            assert www.startswith("Bearer"), (path, h)
            if err:
                assert 'error="%s"' % err in www, www
            assert h.get("content-type", "").startswith(
                "application/json"), h
            assert "error" in json.loads(data), data
        # a scheme other than Bearer is no token either
        st, _, _ = d.get_raw(path, method=method, body=body,
                             headers={"Authorization": "Basic " +
                                      d.token}, token=None)
        assert st == 401, (path, st)
    time.sleep(0.5)
    after = d.check("idle")
    assert after["last_check"] is None, after
    assert after["state"] == before["state"], after
    assert "reloading" not in d.log()[log_start:]
    assert d.alive()
    d.stop()


def test_reads_are_open_on_loopback(env):
    d = env.daemon(CHECKS)
    d.start()
    for path in ("/api/v1/status", "/api/v1/checks", "/metrics", "/"):
        st, _, body = d.get_raw(path)
        assert st == 200, (path, st, body[:200])
    d.stop()


def test_read_requires_token(env):
    d = env.daemon(CHECKS)
    d.header_text = d.header().replace(
        "api {", "api { read_requires_token = yes ")
    d.config_text = d.header_text + CHECKS
    harness.write_file(d.conf, d.config_text)
    d.start()
    for path in ("/api/v1/status", "/api/v1/checks", "/metrics"):
        st, h, _ = d.get_raw(path)
        assert st == 401, (path, st)
        assert h.get("www-authenticate", "").startswith("Bearer"), h
        st, _, _ = d.get_raw(path, token=True)
        assert st == 200, (path, st)
    # the dashboard's page holds no data: it stays public to ask for
    # the token
    st, _, _ = d.get_raw("/")
    assert st == 200
    d.stop()


def non_loopback_address():
    """An IPv4 address of this machine that is not loopback, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))     # no packet is sent
        a = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if a.startswith("127.") else a


def remote_get(addr, port, path, token=None):
    import http.client
    c = http.client.HTTPConnection(addr, port, timeout=5)
    try:
        h = {"Authorization": "Bearer " + token} if token else {}
        c.request("GET", path, headers=h)
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def test_remote_reads_need_token_unless_allowed(env):
    addr = non_loopback_address()
    if addr is None:
        raise harness.Skip("no non-loopback IPv4 address on this machine")
    for allow in (False, True):
        d = env.daemon(CHECKS)
        d.header_text = d.header().replace(
            'listen = "127.0.0.1:', 'allow_remote_reads = %s  '
            'listen = "0.0.0.0:' % ("yes" if allow else "no"))
        d.config_text = d.header_text + CHECKS
        harness.write_file(d.conf, d.config_text)
        d.start()
        st = remote_get(addr, d.port, "/api/v1/status")
        assert st == (200 if allow else 401), (allow, st)
        assert remote_get(addr, d.port, "/api/v1/status", d.token) == 200
        # loopback clients read freely either way
        assert d.get_raw("/api/v1/status")[0] == 200
        # changes need the token whatever allow_remote_reads says
        st, _ = d.post("/api/v1/checks/idle/run", token=None)
        assert st == 401, st
        d.stop()


def test_token_rotation_takes_effect(env):
    d = env.daemon(CHECKS)
    d.start()
    old = d.token
    new = "f" * 64
    harness.write_file(d.token_file, new + "\n", mode=0o600)
    st, _ = d.post("/api/v1/checks/fast/run", token=old)
    assert st == 401, st
    st, _ = d.post("/api/v1/checks/fast/run", token=new)
    assert st == 202, st
    d.stop()


def test_token_file_setting(env):
    tf = env.path("secret", "tok")
    os.makedirs(os.path.dirname(tf))
    harness.write_file(tf, "operator-chosen-token-123\n", mode=0o600)
    d = env.daemon(CHECKS)
    d.header_text = d.header().replace(
        "api {", 'api { token_file = "%s" ' % tf)
    d.config_text = d.header_text + CHECKS
    harness.write_file(d.conf, d.config_text)
    d.token_file = tf
    d.start()
    assert not os.path.exists(os.path.join(d.state_dir, "api.token"))
    st, _ = d.post("/api/v1/checks/fast/run")
    assert st == 202, st
    d.stop()
    # a token file that is too short is refused at start-up, loudly
    harness.write_file(tf, "short\n", mode=0o600)
    try:
        d.start(timeout=5)
    except harness.DaemonExited as e:
        assert "token" in e.log, e.log
    else:
        raise AssertionError("tocsind started with a 5-byte token")


def test_run_now(env):
    d = env.daemon(CHECKS)
    d.start()
    assert d.check("idle")["last_check"] is None
    st, doc = d.post("/api/v1/checks/idle/run")
    assert st == 202, (st, doc)
    assert doc["name"] == "idle", doc
    c = d.wait_ran("idle", timeout=5)
    assert c["state"] == "CRITICAL" and c["state_type"] == "soft", c
    st, doc = d.post("/api/v1/checks/no-such/run")
    assert st == 404 and "no-such" in doc["error"], (st, doc)
    d.stop()


def test_passive_results_drive_soft_to_hard(env):
    d = env.daemon(CHECKS)
    d.start()
    seen = []
    res = {"state": "CRITICAL", "summary": "disk on fire",
           "long_output": "line 1\nline 2",
           "metrics": [{"name": "temp", "value": 91.5, "unit": "C",
                        "warn": 80, "crit": "90", "min": 0, "max": None}]}
    for _ in range(3):
        st, c = d.post("/api/v1/checks/idle/result", res)
        assert st == 200, (st, c)
        seen.append((c["state"], c["state_type"], c["attempt"]))
    assert seen == [("CRITICAL", "soft", 1), ("CRITICAL", "soft", 2),
                    ("CRITICAL", "hard", 3)], seen
    c = d.check("idle")
    assert c["summary"] == "disk on fire", c
    m = c["metrics"][0]
    assert (m["name"], m["value"], m["unit"], m["warn"], m["crit"],
            m["min"], m["max"]) == ("temp", 91.5, "C", 80, 90, 0,
                                    None), m
    d.wait_log(r"idle: hard state OK -> CRITICAL: disk on fire")
    st, c = d.post("/api/v1/checks/idle/result",
                   {"state": "OK", "summary": "cool again"})
    assert st == 200 and (c["state"], c["state_type"]) == ("OK", "hard")
    # a multi-line summary keeps its first line only
    st, c = d.post("/api/v1/checks/idle/result",
                   {"state": "WARNING", "summary": "one\ntwo\x07"})
    assert st == 200 and c["summary"] == "one", c
    d.stop()


BAD_RESULTS = [
    # (body, the field the error must name)
    ({"summary": "x"}, "state"),
    ({"state": "UNREACHABLE", "summary": "x"}, "state"),
    ({"state": "critical!", "summary": "x"}, "state"),
    ({"state": 2, "summary": "x"}, "state"),
    ({"state": "OK"}, "summary"),
    ({"state": "OK", "summary": 5}, "summary"),
    ({"state": "OK", "summary": "x", "long_output": 1}, "long_output"),
    ({"state": "OK", "summary": "x", "metrics": {}}, "metrics"),
    ({"state": "OK", "summary": "x", "metrics": [1]}, "metrics[0]"),
    ({"state": "OK", "summary": "x", "metrics": [{"value": 1}]},
     "metrics[0].name"),
    ({"state": "OK", "summary": "x", "metrics": [{"name": "a=b",
                                                  "value": 1}]},
     "metrics[0].name"),
    ({"state": "OK", "summary": "x", "metrics": [{"name": "a"}]},
     "metrics[0].value"),
    ({"state": "OK", "summary": "x", "metrics": [{"name": "a",
                                                  "value": "1"}]},
     "metrics[0].value"),
    ({"state": "OK", "summary": "x",
      "metrics": [{"name": "a", "value": 1, "warn": "high"}]},
     "metrics[0].warn"),
    ({"state": "OK", "summary": "x",
      "metrics": [{"name": "a", "value": 1, "min": "0"}]},
     "metrics[0].min"),
    ({"state": "OK", "summary": "x",
      "metrics": [{"name": "a", "value": 1, "colour": "red"}]},
     "metrics[0].colour"),
    ({"state": "OK", "summary": "x",
      "metrics": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]},
     "metrics[1].name"),
    ({"state": "OK", "summary": "x",
      "metrics": [{"name": "m%d" % i, "value": i} for i in range(300)]},
     "metrics"),
    ({"state": "OK", "sumary": "typo"}, "sumary"),
]


def test_bad_results_are_400_naming_the_field(env):
    d = env.daemon(CHECKS)
    d.start()
    for body, field in BAD_RESULTS:
        st, doc = d.post("/api/v1/checks/idle/result", body)
        assert st == 400, (body, st, doc)
        assert doc["error"].startswith(field), (field, doc)
    for raw, what in ((b"{bad", "malformed JSON"), (b"[1]", "object"),
                      (b"", "required"),
                      (b'{"state":"OK","state":"OK","summary":"x"}',
                       "malformed JSON")):
        st, doc = d.post("/api/v1/checks/idle/result", body=raw)
        assert st == 400 and what in doc["error"], (raw, st, doc)
    c = d.check("idle")
    assert c["last_check"] is None, c     # nothing got through
    assert d.alive()
    d.stop()


def test_huge_body_is_413(env):
    d = env.daemon(CHECKS)
    d.start()
    big = b'{"state":"OK","summary":"' + b"x" * (2 << 20) + b'"}'
    try:
        st, _, _ = d.get_raw("/api/v1/checks/idle/result", method="POST",
                             body=big, token=True, timeout=10)
    except (ConnectionResetError, BrokenPipeError):
        st = 413    # evhttp may close before reading it all
    assert st == 413, st
    # just under the limit is read and judged on its merits
    ok = {"state": "OK", "summary": "y" * 1000,
          "long_output": "z" * (900 << 10)}
    st, c = d.post("/api/v1/checks/idle/result", ok)
    assert st == 200 and c["state"] == "OK", st
    assert d.alive()
    assert d.get_raw("/api/v1/status")[0] == 200
    d.stop()


def test_unknown_paths_are_404(env):
    d = env.daemon(CHECKS)
    d.start()
    for path in ("/nope", "/api/v1/nope", "/api/v2/status",
                 "/dashboard/nope.js"):
        st, h, body = d.get_raw(path)
        assert st == 404, (path, st)
        assert "error" in json.loads(body), body
    st, doc = d.post("/api/v1/checks/idle/explode")
    assert st == 404, (st, doc)
    d.stop()


def test_reload_through_the_api(env):
    d = env.daemon(CHECKS)
    d.start()
    start = len(d.log())
    harness.write_file(d.conf, d.config_text +
                       'dummy "added" { state = ok  interval = 1s }\n')
    st, doc = d.post("/api/v1/reload")
    assert st == 202, (st, doc)
    d.wait_log(r"configuration reloaded: 3 checks", start=start)
    assert d.check("added")["name"] == "added"
    d.stop()


def test_idle_connections_do_not_stop_the_api(env):
    """Many clients that connect and send nothing: others still get in."""
    d = env.daemon(CHECKS)
    d.start()
    socks = []
    try:
        for _ in range(200):
            socks.append(socket.create_connection(("127.0.0.1", d.port),
                                                  timeout=5))
        # half a request on some
        for s in socks[:50]:
            s.sendall(b"POST /api/v1/reload HTTP/1.1\r\nContent-Length: "
                      b"100\r\n\r\n{")
        t0 = time.monotonic()
        st, _, _ = d.get_raw("/api/v1/status", timeout=5)
        assert st == 200
        assert time.monotonic() - t0 < 3
    finally:
        for s in socks:
            s.close()
    assert d.alive()
    d.stop()
