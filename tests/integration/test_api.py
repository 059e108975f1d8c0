"""The HTTP API's contract: JSON everywhere, status codes, filters."""
import json
import socket

CHECKS = (
    'dummy "c1" { state = critical  max_attempts = 1  interval = 500ms }\n'
    'dummy "c2" { state = critical  max_attempts = 1  interval = 500ms }\n'
    'dummy "w1" { state = warning   max_attempts = 1  interval = 500ms }\n'
    'dummy "o1" { state = ok        interval = 500ms }\n')


def all_ran(d):
    return all(c["last_check"] for c in d.checks())


def test_status_counts_states(env):
    d = env.daemon(CHECKS)
    d.start()
    d.wait_for(lambda: all_ran(d), 5, "every check to run once")
    st = d.get("/api/v1/status")
    assert isinstance(st.get("version"), str) and st["version"], st
    assert isinstance(st.get("uptime"), int) and st["uptime"] >= 0, st
    want = {"total": 4, "OK": 1, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 0,
            "UNREACHABLE": 0}
    got = {k: st["checks"].get(k) for k in want}
    assert got == want, st["checks"]
    assert st.get("open_incidents") is not None, st
    d.stop()


def test_unknown_check_is_404_json(env):
    d = env.daemon(CHECKS)
    d.start()
    st, h, body = d.get_raw("/api/v1/checks/no-such-check")
    assert st == 404, (st, body)
    assert h.get("content-type", "").startswith("application/json"), h
    doc = json.loads(body)
    assert "no-such-check" in doc.get("error", ""), doc
    d.stop()


def test_method_not_allowed_is_405(env):
    d = env.daemon(CHECKS)
    d.start()
    st, h, body = d.get_raw("/api/v1/status", method="POST", body=b"{}",
                            headers={"Content-Type": "application/json"})
    assert st == 405, (st, body)
    assert "GET" in h.get("allow", ""), h
    assert h.get("content-type", "").startswith("application/json"), h
    assert "error" in json.loads(body), body
    assert d.alive()
    d.stop()


def test_check_names_are_url_decoded(env):
    d = env.daemon('dummy "web front" { state = ok  interval = 500ms }\n')
    d.start()
    c = d.get("/api/v1/checks/web%20front")
    assert c["name"] == "web front", c
    assert c["type"] == "dummy", c
    d.stop()


def test_filters(env):
    d = env.daemon(CHECKS)
    d.start()
    d.wait_for(lambda: all_ran(d), 5, "every check to run once")

    def names(q):
        return sorted(c["name"] for c in d.checks(q))
    assert names("?state=CRITICAL") == ["c1", "c2"]
    assert names("?state=OK") == ["o1"]
    assert names("?state=CRITICAL,WARNING") == ["c1", "c2", "w1"]
    assert names("?state=UNREACHABLE") == []
    assert names("") == ["c1", "c2", "o1", "w1"]
    st, _, body = d.get_raw("/api/v1/checks?state=BOGUS")
    assert st == 400 and "error" in json.loads(body), (st, body)
    d.stop()


def test_bad_requests_get_errors_not_crashes(env):
    d = env.daemon(CHECKS)
    d.start()
    # a NUL in a check name: 400, JSON
    st, h, body = d.get_raw("/api/v1/checks/a%00b")
    assert st == 400, (st, body)
    assert "error" in json.loads(body), body
    # bad percent escapes, bytes that are not UTF-8, a long name
    for path in ("/api/v1/checks/%zz", "/api/v1/checks/%ff%fe",
                 "/api/v1/checks/" + "x" * 4000, "/api/v1/nothing",
                 "/api/v1/checks?state=%ff", "/api/v1/checks?bogus=1"):
        st, h, body = d.get_raw(path)
        assert st in (400, 404), (path, st, body[:200])
        assert "error" in json.loads(body), (path, body[:200])
    # HEAD: the GET's headers, no body
    st, h, body = d.get_raw("/api/v1/status", method="HEAD")
    assert st == 200 and body == b"", (st, body)
    # garbage that is not HTTP at all
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    try:
        s.sendall(b"\x00\xff\xfe garbage \x01\x02\r\n\r\n")
        s.settimeout(5)
        try:
            s.recv(4096)
        except (socket.timeout, ConnectionResetError):
            pass
    finally:
        s.close()
    assert d.alive(), "tocsind died"
    assert d.get("/api/v1/status")["checks"]["total"] == 4
    d.stop()
