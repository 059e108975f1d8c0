"""Heartbeat checks: a job reports in to the check's secret push URL
(read with the token from GET /api/v1/checks/NAME/push or tocsinctl
push-url), silence past expect_every + grace is CRITICAL, the next push
recovers the check at once, and a URL changes nothing but its check."""
import json
import re
import urllib.parse

from fx_api import tocsinctl
from harness import wait_for

CONFIG = ('heartbeat "nightly-backup" {\n  expect_every = 2s\n  grace = 1s\n'
          '  interval = 500ms\n  max_attempts = 1\n}\n'
          'heartbeat "other-job" {\n  expect_every = 1h\n  interval = 1s\n}\n'
          'dummy "web" { state = ok  interval = 1s }\n')


def push_url(d, name):
    st, _, body = d.get_raw("/api/v1/checks/%s/push" % name, token=True)
    assert st == 200, (st, body)
    doc = json.loads(body)
    assert doc["check"] == name, doc
    return doc["url"], doc["path"]


def push(d, path, query="", method="GET", body=None):
    st, _, data = d.get_raw(path + query, method=method, body=body,
                            headers={"Content-Type": "application/json"}
                            if body is not None else None)
    return st, data


def test_heartbeat_silence_alarms_and_push_recovers(env):
    d = env.daemon(CONFIG)
    d.require_plugin("heartbeat")
    d.start()
    c = d.wait_check("nightly-backup", "OK",
                     pred=lambda c: "waiting for the first heartbeat" in
                     (c["summary"] or ""))
    assert "(expected every 2s)" in c["summary"], c
    # the URL is secret: only with the token
    st, _, _ = d.get_raw("/api/v1/checks/nightly-backup/push")
    assert st == 401, st
    url, path = push_url(d, "nightly-backup")
    assert re.match(r"^http://127\.0\.0\.1:%d/api/v1/push/[0-9a-f]{32}$" %
                    d.port, url), url
    assert push_url(d, "nightly-backup")[0] == url     # stable
    assert push_url(d, "other-job")[0] != url          # one per check
    # silence: CRITICAL, naming the wait
    d.wait_check("nightly-backup", "CRITICAL", timeout=10,
                 pred=lambda c: re.match(
                     r"^no heartbeat since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, "
                     r"when tocsind started \(expected every 2s\)$",
                     c["summary"]))
    # a push (no token) recovers at once
    st, data = push(d, path)
    assert st == 200, (st, data)
    assert json.loads(data)["state"] == "OK", data
    c = d.check("nightly-backup")
    assert c["state"] == "OK" and c["summary"] == "heartbeat received", c
    # state, summary and duration from the query
    q = "?" + urllib.parse.urlencode({"state": "WARNING",
                                      "summary": "backup took long",
                                      "duration": "12.5"})
    st, data = push(d, path, q)
    assert st == 200, (st, data)
    c = d.check("nightly-backup")
    assert c["state"] == "WARNING" and c["summary"] == "backup took long", c
    m = [m for m in c["metrics"] if m["name"] == "duration"]
    assert m and m[0]["value"] == 12.5 and m[0]["unit"] == "s", c
    # later runs repeat what the push said, until silence again
    d.wait_check("nightly-backup", "WARNING", pred=lambda c:
                 c["summary"] == "backup took long")
    d.wait_check("nightly-backup", "CRITICAL", timeout=10,
                 pred=lambda c: c["summary"].startswith(
                     "no heartbeat since ") and "started" not in
                 c["summary"])
    # a JSON body by POST
    st, data = push(d, path, method="POST",
                    body=json.dumps({"state": "OK", "summary": "done",
                                     "duration": 3}).encode())
    assert st == 200, (st, data)
    c = d.check("nightly-backup")
    assert c["state"] == "OK" and c["summary"] == "done", c
    # the URL changed nothing else
    assert d.check("other-job")["summary"].startswith("waiting"), \
        d.check("other-job")
    d.stop()


def test_heartbeat_push_errors(env):
    d = env.daemon(CONFIG)
    d.require_plugin("heartbeat")
    d.start()
    _, path = push_url(d, "nightly-backup")
    st, _ = push(d, "/api/v1/push/" + "0" * 32)
    assert st == 403, st
    st, _ = push(d, "/api/v1/push/short")
    assert st == 403, st
    st, data = push(d, path, "?state=BROKEN")
    assert st == 400 and b"is not OK, WARNING" in data, (st, data)
    st, data = push(d, path, "?duration=soon")
    assert st == 400 and b"duration" in data, (st, data)
    # only heartbeat checks have one
    st, _, body = d.get_raw("/api/v1/checks/web/push", token=True)
    assert st == 400 and b"only heartbeat checks" in body, (st, body)
    st, _, body = d.get_raw("/api/v1/checks/nosuch/push", token=True)
    assert st == 404, (st, body)
    # tocsinctl push-url prints the same URL
    rc, out, err = tocsinctl(env, d, "push-url", "nightly-backup")
    assert rc == 0, (rc, out, err)
    assert out.strip() == push_url(d, "nightly-backup")[0], (out, err)
    rc, out, err = tocsinctl(env, d, "push-url", "web")
    assert rc == 1 and "only heartbeat checks" in err, (rc, out, err)
    d.stop()


def test_heartbeat_config_errors(env):
    d = env.daemon('heartbeat "a" { expect_every = 100ms }\n'
                   'heartbeat "b" { grace = 1h }\n')
    d.require_plugin("heartbeat")
    rc, out = d.check_config()
    err = out + d.last_stderr
    assert rc == 1, (rc, out, err)
    assert re.search(r":1\d*: .*expect_every: must be at least 1s", err) or \
        "expect_every: must be at least 1s" in err, err
    assert re.search(r'heartbeat "b"|check b', err) and "expect_every" in \
        err, err


def test_heartbeat_push_survives_restart(env):
    d = env.daemon(CONFIG)
    d.require_plugin("heartbeat")
    d.start()
    _, path = push_url(d, "nightly-backup")
    st, data = push(d, path, "?state=WARNING&summary=slow%20disk")
    assert st == 200, (st, data)
    d.stop()
    d.start()
    # the push from before the restart is remembered: repeated, then
    # its silence is measured from it, not from the start-up
    d.wait_check("nightly-backup", "WARNING",
                 pred=lambda c: c["summary"] == "slow disk")
    c = d.wait_check("nightly-backup", "CRITICAL", timeout=10,
                     pred=lambda c: c["summary"].startswith(
                         "no heartbeat since "))
    assert "started" not in c["summary"], c
    assert push_url(d, "nightly-backup")[1] == path     # same URL
    d.stop()


def test_push_url_is_not_served_on_the_public_listener(env):
    """api.public_listen serves the action links and inbound webhooks
    only (README, tocsin.conf(5)): a push URL, a credential for a local
    job, is a 404 there, and still works on api.listen."""
    import harness
    pub = harness.free_port()
    d = env.daemon(CONFIG)
    d.header_text = d.header().replace(
        "api {", 'api { public_url = "http://127.0.0.1:%d/"\n'
        '  public_listen = "127.0.0.1:%d"\n' % (pub, pub))
    d.config_text = d.header_text + CONFIG
    harness.write_file(d.conf, d.config_text)
    d.require_plugin("heartbeat")
    d.start()
    _, path = push_url(d, "nightly-backup")
    import http.client
    for method in ("GET", "POST"):
        c = http.client.HTTPConnection("127.0.0.1", pub, timeout=10)
        try:
            c.request(method, path + "?state=OK&summary=from-outside")
            r = c.getresponse()
            st = r.status
            r.read()
        finally:
            c.close()
        assert st == 404, (method, st)
    assert d.check("nightly-backup")["summary"] != "from-outside"
    # the main listener still takes it
    st, data = push(d, path, "?summary=local")
    assert st == 200, (st, data)
    d.stop()
    d.assert_no_sanitizer_report()


def test_push_key_not_written_on_a_full_disk_is_made_again(env):
    """state_dir/push.key is made at the first use: if the disk is full
    then, the URL read fails (500), and once there is room again the next
    read makes the key, rather than finding an empty file and failing for
    good."""
    import os
    import harness
    if os.geteuid() != 0:
        raise harness.Skip("mounting a tmpfs needs root")
    from test_incident_log import Tmpfs
    d = env.daemon(CONFIG)
    d.require_plugin("heartbeat")
    fs = Tmpfs(d.state_dir, "3m")
    d.start(timeout=20)
    filler = fs.fill()
    st, _, body = d.get_raw("/api/v1/checks/nightly-backup/push",
                            token=True)
    assert st == 500, (st, body)
    os.unlink(filler)
    url, path = push_url(d, "nightly-backup")
    st, data = push(d, path)
    assert st == 200, (st, data)
    d.stop()
    d.assert_no_sanitizer_report()


def test_push_urls_follow_reloads(env):
    """The push URLs are found through an index of the config in force:
    a heartbeat added by a reload takes pushes at once, one removed is
    refused, one kept keeps its URL, and the last push of each is written
    to push.json within a second (and at once at stop)."""
    d = env.daemon(CONFIG)
    d.require_plugin("heartbeat")
    d.start()
    _, old = push_url(d, "other-job")
    st, _ = push(d, old)
    assert st == 200
    d.reload(CONFIG.replace('heartbeat "nightly-backup"',
                            'heartbeat "new-job"'))
    _, new = push_url(d, "new-job")
    st, data = push(d, new, "?state=WARNING&summary=added")
    assert st == 200, (st, data)
    d.wait_check("new-job", "WARNING", pred=lambda c: c["summary"] == "added")
    assert push_url(d, "other-job")[1] == old
    st, _ = push(d, old)
    assert st == 200
    d.reload(CONFIG.replace('heartbeat "nightly-backup"',
                            'heartbeat "new-job"').replace(
        'heartbeat "other-job"', 'heartbeat "renamed-job"'))
    st, _ = push(d, old)
    assert st == 403
    saved = lambda: json.load(open(d.state_dir + "/push.json"))
    wait_for(lambda: any(p["check"] == "new-job" and p["summary"] == "added"
                         for p in saved()), 5, "push.json written")
    _, new2 = push_url(d, "renamed-job")
    st, _ = push(d, new2, "?summary=last")
    assert st == 200
    d.stop()
    assert any(p["check"] == "renamed-job" and p["summary"] == "last"
               for p in saved()), saved()
    d.assert_no_sanitizer_report()



BURST = 40
BURST_CONF = "".join('heartbeat "h%02d" { expect_every = 1h  max_attempts = 1 }\n'
                     % i for i in range(BURST))


def push_burst(d, paths):
    """A CRITICAL push to each path, every request written on its own
    open connection within microseconds (so they arrive in the same few
    loop iterations); returns once every reply, a 200, has been read."""
    import socket
    socks = [socket.create_connection(("127.0.0.1", d.port), timeout=10)
             for _ in paths]
    for s, p in zip(socks, paths):
        s.sendall(("GET %s?state=CRITICAL&summary=burst HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\nConnection: close\r\n\r\n" % p)
                  .encode())
    for s in socks:
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        assert data.startswith(b"HTTP/1.1 200"), data[:200]


def test_pushes_arriving_together_cost_few_commits(env):
    """One commit serves the pushes of a loop iteration: 40 pushes sent
    at once cost a handful of commits, not one each (before, every
    request committed the writes of the one before it)."""
    d = env.daemon(BURST_CONF)
    d.require_plugin("heartbeat")
    d.start()
    paths = [push_url(d, "h%02d" % i)[1] for i in range(BURST)]
    c0 = d.get("/api/v1/status")["incident_log"]["commits"]
    push_burst(d, paths)
    commits = d.get("/api/v1/status")["incident_log"]["commits"] - c0
    assert commits <= BURST // 4, "%d commits for %d pushes" % (commits,
                                                                BURST)
    d.stop()


def test_pushes_are_on_disk_before_their_reply(env):
    """A reply goes out only after the commit of what it reports: a
    kill -9 right after the last reply loses no push (every incident is
    there after the restart)."""
    d = env.daemon(BURST_CONF)
    d.require_plugin("heartbeat")
    d.start()
    paths = [push_url(d, "h%02d" % i)[1] for i in range(BURST)]
    push_burst(d, paths)
    d.kill()            # at once: no shutdown, no later commit
    d.start()
    got = d.get("/api/v1/incidents?status=all&limit=1000")["incidents"]
    assert len(got) == BURST, [i.get("title") for i in got]
    d.stop()
