"""Change events as a pipeline and the person paged see them: a deploy
recorded through POST /api/v1/changes, then the next incident in the
deployed group names it as a possible cause on its timeline and in its
page (recent_changes); a change of another group, or one older than
incidents { change_window }, is not named.  A real webhook receiver gets
the pages; exec checks whose exit code the test controls drive tocsind."""
import datetime
import json
import time

import harness
from harness import RFC3339, wait_for
from fx_api import tocsinctl
from fx_notify import Webhook, exec_check, incidents


def post(d, path, obj, token=True):
    headers = {"Content-Type": "application/json"}
    if token:
        tok = d.token() if callable(d.token) else d.token
        headers["Authorization"] = "Bearer " + tok
    st, _, data = d.get_raw(path, method="POST",
                            body=json.dumps(obj).encode(), headers=headers)
    return st, json.loads(data) if data else None


def utc(seconds_ago):
    t = datetime.datetime.now(datetime.timezone.utc) - \
        datetime.timedelta(seconds=seconds_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def policy(hook_url):
    return ('channel "hook" { type = webhook  url = "%s"\n'
            '  retry_min = 200ms  retry_max = 800ms }\n'
            'contact "alice" { channels = { "hook" } }\n'
            'escalation "ops" { step { notify = { "contact:alice" } } }\n'
            'route "all" { escalation = "ops" }\n' % hook_url)


def test_a_recorded_change_is_named_by_the_next_incident(env):
    hook = Webhook(env)
    web = env.file("web.state", "0\n")
    db = env.file("db.state", "0\n")
    d = env.daemon(exec_check("shop-home", web, '  group = "web"\n') +
                   exec_check("db", db, '  group = "database"\n') +
                   'incidents { change_window = 30m }\n' +
                   policy(hook.url()))
    d.require_plugin("exec")
    d.start()
    d.wait_check("shop-home", "OK", pred=lambda c: c["last_check"])

    # bad requests say which key is wrong; no token, no change
    st, body = post(d, "/api/v1/changes", {"title": "x"})
    assert st == 400 and "group" in body["error"], body
    st, body = post(d, "/api/v1/changes", {"title": "x", "group": "web",
                                           "started_at": "yesterday"})
    assert st == 400 and body["error"].startswith("started_at"), body
    st, _ = post(d, "/api/v1/changes", {"title": "x", "group": "web"},
                 token=False)
    assert st == 401

    # too old to be named (an hour ago), another group, and the deploy
    st, old = post(d, "/api/v1/changes", {
        "title": "old deploy", "by": "ci", "group": "web",
        "started_at": utc(3600), "ended_at": utc(3500)})
    assert st == 201, old
    st, other = post(d, "/api/v1/changes", {
        "title": "db tuning", "by": "dba", "group": "database"})
    assert st == 201, other
    st, ch = post(d, "/api/v1/changes", {
        "title": "deploy shop 2.3", "by": "ci", "group": "web",
        "started_at": utc(300), "ended_at": utc(240)})
    assert st == 201, ch
    assert ch["groups"] == ["web"] and ch["by"] == "ci"
    assert RFC3339.match(ch["started_at"]) and RFC3339.match(ch["ended_at"])

    listed = d.get("/api/v1/changes?since=1d")["changes"]
    # oldest first, by when they started
    assert [c["id"] for c in listed] == [old["id"], ch["id"], other["id"]]
    assert [c["id"] for c in d.get("/api/v1/changes?since=10m")[
        "changes"]] == [ch["id"], other["id"]]

    harness.write_file(web, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    assert inc["root_cause"] == "shop-home"
    tl = d.get("/api/v1/incidents/%d" % inc["id"])["timeline"]
    lines = [e["text"] for e in tl if e["kind"] == "change"]
    assert lines == ["possible cause: change #%d 'deploy shop 2.3' by ci, "
                     "4 min before" % ch["id"]], tl

    got = wait_for(lambda: hook.received(), 15, "the page")
    page = got[0][2]
    assert page["event"] == "incident.opened"
    rc = page["recent_changes"]
    assert [c["id"] for c in rc] == [ch["id"]], rc
    assert rc[0]["title"] == "deploy shop 2.3" and rc[0]["by"] == "ci"
    assert 230 <= rc[0]["seconds_before"] <= 260, rc

    # tocsinctl records one and lists them
    rc, out, err = tocsinctl(env, d, "change", "restart shop", "--group",
                             "web", "--check", "db", "--by", "bob")
    assert rc == 0 and "change recorded" in out, (rc, out, err)
    rc, out, err = tocsinctl(env, d, "change", "no target")
    assert rc == 2, (rc, out, err)
    rc, out, err = tocsinctl(env, d, "--json", "changes", "--since", "1h")
    assert rc == 0, err
    last = json.loads(out)["changes"][-1]
    assert (last["title"], last["by"], last["groups"], last["checks"]) == \
        ("restart shop", "bob", ["web"], ["db"]), last
    rc, out, err = tocsinctl(env, d, "changes")
    assert rc == 0 and "deploy shop 2.3" in out and "restart shop" in out
    d.stop()
    d.assert_no_sanitizer_report()


MARK = b"stroke:rgb(58.039216%,40.392157%,74.117647%)"


def test_graphs_mark_the_changes_of_their_check(env):
    """A change of the check (by name, host or group) is a vertical line on
    its graphs, with its title in the key; another group's is not."""
    d = env.daemon('exec "shop" {\n'
                   '  command = { "/bin/sh", "-c", "echo \\"ok | load=1.5\\"" }\n'
                   '  interval = 1s  group = "web"\n'
                   '}\n')
    d.require_plugin("exec")
    d.start()
    d.wait_check("shop", "OK", pred=lambda c: c["last_check"])
    st, ch = post(d, "/api/v1/changes", {
        "title": "deploy shop 2.3", "by": "ci", "group": "web",
        "started_at": utc(120)})
    assert st == 201, ch
    st, other = post(d, "/api/v1/changes", {
        "title": "db tuning", "group": "database", "started_at": utc(60)})
    assert st == 201, other
    st, old = post(d, "/api/v1/changes", {
        "title": "last week's", "checks": ["shop"],
        "started_at": utc(7 * 86400)})
    assert st == 201, old

    def graph():
        st, h, body = d.get_raw("/api/v1/graph/shop/load.svg?since=1h")
        return (h, body) if st == 200 else None
    h, body = wait_for(graph, 20, "the graph of shop")
    key = h["x-tocsin-key"]
    assert "changes: #%d deploy shop 2.3 (" % ch["id"] in key, key
    assert "db tuning" not in key and "last week" not in key, key
    # drawn: the SVG has a line of the marker's colour (#9467BD), which
    # nothing else on the graph uses
    assert MARK in body, body[:400]
    # a range without the change: no marker
    st, h, body = d.get_raw("/api/v1/graph/shop/load.svg?since=1h&until=%d"
                            % (int(time.time()) - 600))
    assert st == 200 and "changes:" not in h["x-tocsin-key"], h
    assert MARK not in body
    d.stop()
    d.assert_no_sanitizer_report()


def test_a_change_freeze_marks_changes_made_inside_it(env):
    """maintenance "x" { freeze = true }: not maintenance (an outage still
    opens an incident) but a change freeze: changes of what it names made
    while it is open say so in the API, the log, the timeline and the
    page."""
    hook = Webhook(env)
    web = env.file("web.state", "0\n")
    d = env.daemon(
        exec_check("shop-home", web, '  group = "web"\n') +
        'maintenance "year-end" {\n'
        '  groups = { "web" }  freeze = true  comment = "no deploys"\n'
        '  start = "%s"  end = "%s"\n'
        '}\n' % (utc(3600), utc(-3600)) +
        'incidents { change_window = 30m }\n' + policy(hook.url()))
    d.require_plugin("exec")
    d.start()
    d.wait_check("shop-home", "OK", pred=lambda c: c["last_check"])
    w = d.get("/api/v1/maintenance")["windows"]
    assert [(x["name"], x["freeze"], x["active"]) for x in w] == \
        [("year-end", True, True)], w

    st, ch = post(d, "/api/v1/changes", {"title": "hotfix", "by": "ci",
                                         "group": "web"})
    assert st == 201 and ch["freeze"] == "year-end", ch
    st, other = post(d, "/api/v1/changes", {"title": "db tuning",
                                            "group": "database"})
    assert st == 201 and other["freeze"] is None, other
    wait_for(lambda: 'change #%d was made during the change freeze '
             '"year-end"' % ch["id"] in d.log(), 5, "the log line")
    listed = d.get("/api/v1/changes?since=1h")["changes"]
    assert [(c["id"], c["freeze"]) for c in listed] == \
        [(ch["id"], "year-end"), (other["id"], None)], listed

    # a freeze holds no incident back
    harness.write_file(web, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    tl = d.get("/api/v1/incidents/%d" % inc["id"])["timeline"]
    lines = [e["text"] for e in tl if e["kind"] == "change"]
    assert len(lines) == 1 and lines[0].endswith(
        '(made during the change freeze "year-end")'), tl
    page = wait_for(lambda: hook.received(), 15, "the page")[0][2]
    assert page["recent_changes"][0]["freeze"] == "year-end", page

    # the report lists the changes made during a freeze, JSON and HTML
    rep = d.get("/api/v1/report?since=1h")
    assert [(c["id"], c["freeze"]) for c in rep["changes_in_freeze"]] == \
        [(ch["id"], "year-end")], rep["changes_in_freeze"]
    st, _, html = d.get_raw("/api/v1/report?since=1h&format=html")
    assert st == 200 and b"Changes made during a change freeze" in html
    assert b"<td>hotfix</td><td>ci</td><td>year-end</td>" in html, html
    assert b"db tuning" not in html
    d.stop()
    d.assert_no_sanitizer_report()


def test_a_maintenance_window_must_name_something_a_freeze_need_not(env):
    d = env.daemon('maintenance "all" { every = "daily 02:00"  '
                   'duration = 1h }\n')
    rc, out = d.check_config()
    assert rc != 0 and "names no checks, hosts or groups" in out, out
    d = env.daemon('maintenance "all" { every = "daily 02:00"  '
                   'duration = 1h  freeze = true }\n')
    rc, out = d.check_config()
    assert rc == 0, out
