"""The dashboard in a real headless Chromium (fx_browser)."""
import json
import os
import shutil
import time
import time

import harness
from fx_browser import Browser
from fx_notify import Webhook

DYGRAPHS = "/usr/share/javascript/dygraphs"
SCREENS = "/work/notes/screens"

CHECKS = (
    'dummy "shop-frontpage" { state = critical  max_attempts = 1  '
    'interval = 500ms  value = 250  impact = high  urgency = high '
    ' text = "HTTP 503 <b>not bold</b>" }\n'
    'dummy "disk-root" { state = warning  max_attempts = 1  '
    'interval = 500ms  value = 91 }\n'
    'dummy "load" { state = ok  interval = 500ms  value = 0.5 }\n'
    'dummy "dns" { state = ok  interval = 500ms }\n')

# Collects uncaught errors of the page, for the test to check.
CATCH = ("window.__errors = window.__errors || [];"
         "window.addEventListener('error', e => "
         "window.__errors.push(String(e.message)));")


def shot_path(env, name):
    """Screenshots go next to the build (kept after the test) if asked."""
    keep = os.environ.get("TOCSIN_SCREENSHOT_DIR")
    d = keep or env.tmpdir
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)


def shot(env, b, name):
    """A screenshot in the test's dir, and a copy where people look at
    them (/work/notes/screens, when that directory can be made)."""
    path = b.screenshot(shot_path(env, name))
    try:
        os.makedirs(SCREENS, exist_ok=True)
        shutil.copy(path, os.path.join(SCREENS, name))
    except OSError:
        pass
    return path


def test_dashboard_shows_counts_and_failing_checks(env):
    # batch's first run is at a point of its week: it has not run yet
    d = env.daemon(CHECKS + 'dummy "batch" { state = ok  interval = 1w }\n')
    d.start()
    d.wait_for(lambda: all(c["last_check"] for c in d.checks()
                           if c["name"] != "batch"), 10,
               "every check to run")
    b = Browser(env.tmpdir)
    b.get("http://127.0.0.1:%d/" % d.port)
    b.execute(CATCH)
    b.wait_text("#count-CRITICAL", "1")
    assert b.text("#count-WARNING") == "1"
    assert b.text("#count-OK") == "2"
    assert b.text("#count-PENDING") == "1"  # batch has not run
    b.wait_text('#problems tr[data-check="shop-frontpage"]',
                lambda t: t is not None and "CRITICAL" in t)
    row = b.text('#problems tr[data-check="shop-frontpage"]')
    # API text is shown as text, never as markup
    assert "HTTP 503 <b>not bold</b>" in row, row
    assert b.find_all('#problems tr[data-check="shop-frontpage"] b') == []
    assert b.text('#problems tr[data-check="disk-root"]') is not None
    assert b.text('#problems tr[data-check="load"]') is None
    # the page refreshes itself: a check that fails shows up, and leaves
    # the list when it recovers
    st, _ = d.post("/api/v1/checks/batch/result",
                   {"state": "UNKNOWN", "summary": "no data"})
    assert st == 200
    b.wait_text('#problems tr[data-check="batch"]',
                lambda t: t is not None and "UNKNOWN" in t, timeout=15)
    st, _ = d.post("/api/v1/checks/batch/result",
                   {"state": "OK", "summary": "fine now"})
    assert st == 200
    harness.wait_for(lambda: not b.find_all(
        '#problems tr[data-check="batch"]'), 15, "batch to leave the list",
        interval=0.2)
    # a module that is absent is a note, not a broken page
    st, _, _ = d.get_raw("/api/v1/incidents")
    if st == 404:
        b.wait_text("#incidents-note", lambda t: t and "not part" in t)
    # the graphs are an interactive chart that fits the data by default:
    # a new check's minutes of values are not a sliver at the edge of a day
    rows = harness.wait_for(lambda: b.execute(
        "const g = (window.tocsinCharts || {})['graphs'];"
        "return g ? g.numRows() : 0;"), 15, "a chart on the page")
    assert rows > 0
    lo, hi = b.execute("return window.tocsinCharts['graphs'].xAxisRange();")
    assert hi - lo < 3600 * 1000, (lo, hi)      # not the whole day
    shot(env, b, "dashboard.png")
    b.execute("document.getElementById('graphs').scrollIntoView();")
    shot(env, b, "dashboard-chart.png")
    assert b.console_errors() == [], b.console_errors()
    d.stop()


def test_dashboard_run_now_uses_the_token(env):
    d = env.daemon(CHECKS +
                   'dummy "nightly" { state = critical  interval = 1h }\n')
    d.start()
    st, _ = d.post("/api/v1/checks/nightly/result",
                   {"state": "CRITICAL", "summary": "backup failed"})
    assert st == 200
    runs = d.check("nightly")["last_check"]
    b = Browser(env.tmpdir)
    b.get("http://127.0.0.1:%d/" % d.port)
    sel = '#problems tr[data-check="nightly"] button'
    b.wait_text(sel, "Run now")
    # without a token the page says what is missing and changes nothing
    b.click(sel)
    b.wait_text("#message", lambda t: t and "token" in t)
    assert d.check("nightly")["last_check"] == runs
    b.type("#token", d.token)
    b.click("#token-save")
    b.wait_text("#message", lambda t: t and "saved" in t)
    b.wait_text(sel, "Run now")
    b.click(sel)
    d.wait_check("nightly", pred=lambda c: c["summary"] == "dummy result",
                 timeout=15)
    d.stop()


def test_dashboard_acknowledges_an_incident(env):
    d = env.daemon(CHECKS)
    d.start()
    st, _, _ = d.get_raw("/api/v1/incidents")
    if st == 404:
        raise harness.Skip("incident module not present "
                           "(GET /api/v1/incidents is 404)")
    inc = d.wait_for(
        lambda: [i for i in d.get("/api/v1/incidents")["incidents"]
                 if i["root_cause"] == "shop-frontpage"], 15,
        "an open incident for shop-frontpage")[0]
    assert inc["status"] == "open", inc
    b = Browser(env.tmpdir)
    b.get("http://127.0.0.1:%d/" % d.port)
    b.type("#token", d.token)
    b.click("#token-save")
    row = '#incidents tr[data-id="%s"]' % inc["id"]
    b.wait_text(row, lambda t: t is not None and "shop-frontpage" in t and
                inc["priority"] in t)
    b.click(row + " button.ack")
    d.wait_for(lambda: d.get("/api/v1/incidents/%s" % inc["id"])[
        "status"] == "acknowledged", 15, "the incident to be acknowledged")
    b.wait_text(row + " td.status", lambda t: t and "acknowledged" in t)
    shot(env, b, "dashboard-incident.png")
    d.stop()


def test_dashboard_serves_dygraphs_embedded(env):
    """dygraphs (libjs-dygraphs) is built into tocsind, byte for byte:
    no CDN, no file read at run time."""
    d = env.daemon('dummy "x" { }\n')
    d.start()
    for name, ctype in (("dygraph.min.js", "text/javascript"),
                        ("dygraph.min.css", "text/css")):
        st, h, body = d.get_raw("/dashboard/" + name)
        assert st == 200 and h["content-type"].startswith(ctype), (st, h)
        with open(os.path.join(DYGRAPHS, name), "rb") as f:
            assert body == f.read(), name
    st, _, body = d.get_raw("/")
    assert b'src="/dashboard/dygraph.min.js"' in body
    assert b"//" not in body.split(b"<body>")[0].replace(b"://", b"")
    d.stop()


# checks of several states, groups and types for the list's filters
LIST = (
    'dummy "web-front" { state = critical  max_attempts = 1  '
    'interval = 500ms  group = "shop"  text = "HTTP 503" }\n'
    'dummy "web-api" { state = ok  interval = 500ms  group = "shop" }\n'
    'dummy "db-main" { state = warning  max_attempts = 1  interval = 500ms '
    ' group = "db"  text = "replication lag 40 s" }\n'
    'exec "db-disk" { command = { "/bin/echo", "OK | used=41%;80;90" }  '
    'interval = 500ms  group = "db" }\n'
    'dummy "batch" { state = ok  interval = 1w }\n')


def listed(b):
    return b.execute("return Array.from(document.querySelectorAll("
                     "'#checks tbody tr')).map(r => r.dataset.check);")


def wait_listed(b, want, what):
    return harness.wait_for(lambda: sorted(listed(b)) == sorted(want), 10,
                            "%s: %s (shown: %s)" % (what, want, listed(b)),
                            interval=0.1)


def pick(b, css, value):
    b.execute("const s = document.querySelector(arguments[0]);"
              "s.value = arguments[1];"
              "s.dispatchEvent(new Event('change'));", css, value)


def test_dashboard_check_list_filters(env):
    d = env.daemon(LIST)
    d.start()
    d.wait_for(lambda: all(c["last_check"] for c in d.checks()
                           if c["name"] != "batch"), 10, "checks to run")
    b = Browser(env.tmpdir)
    b.get("http://127.0.0.1:%d/#/checks" % d.port)
    b.execute(CATCH)
    names = ["batch", "db-disk", "db-main", "web-api", "web-front"]
    wait_listed(b, names, "every check")
    assert b.text("#checks-count") == "(5)"
    pick(b, "#f-state", "CRITICAL")
    wait_listed(b, ["web-front"], "state CRITICAL")
    assert b.text("#checks-count") == "(1 of 5)"
    pick(b, "#f-state", "PENDING")
    wait_listed(b, ["batch"], "state PENDING")
    pick(b, "#f-state", "")
    pick(b, "#f-group", "db")
    wait_listed(b, ["db-disk", "db-main"], "group db")
    shot(env, b, "dashboard-checks-group.png")
    pick(b, "#f-type", "exec")
    wait_listed(b, ["db-disk"], "group db, type exec")
    b.click("#f-clear")
    wait_listed(b, names, "cleared")
    # free text: name, host, group or summary
    b.type("#f-text", "replication")
    wait_listed(b, ["db-main"], "text in the summary")
    # the list refreshes itself without losing the filter
    before = b.text("#updated")
    harness.wait_for(lambda: b.text("#updated") != before, 15,
                     "the page to refresh", interval=0.2)
    assert listed(b) == ["db-main"], listed(b)
    b.click("#f-clear")
    wait_listed(b, names, "cleared")
    shot(env, b, "dashboard-checks.png")
    # the overview's counts open the list filtered by state
    b.get("http://127.0.0.1:%d/" % d.port)
    b.wait_text("#count-WARNING", "1")
    b.click('.count[data-state="WARNING"]')
    wait_listed(b, ["db-main"], "the WARNING count clicked")
    # a name opens its check page
    b.click('#checks tr[data-check="db-main"] a')
    b.wait_text("#check-name", "db-main")
    b.wait_text("#check-summary", "replication lag 40 s")
    # a check that does not exist is a note, not an old check's page
    b.get("http://127.0.0.1:%d/#/check/nosuch" % d.port)
    b.wait_text("#check-note", lambda t: t and "nosuch" in t)
    assert b.execute("return document.getElementById('check-body')"
                     ".hidden;") is True
    assert b.console_errors() == [], b.console_errors()
    d.stop()


# a check with three metrics that move, and a second one to compare
METRICS = (
    'exec "api" { command = { "/bin/sh", "-c", "echo \\"OK | '
    'rtt=$(date +%S)ms;50;55 load=$(($(date +%s) % 7)).5;4;8 '
    'used=41%\\"" }  '
    'interval = 1s  group = "web" }\n'
    'exec "peer" { command = { "/bin/sh", "-c", "echo \\"OK | '
    'rtt=12ms\\"" }  interval = 2s }\n')


def chart(b, expr):
    return b.execute("const g = (window.tocsinCharts || {})"
                     "['check-chart-box']; return g ? (%s) : null;" % expr)


def test_dashboard_check_page_draws_an_interactive_chart(env):
    d = env.daemon(METRICS)
    d.start()
    d.wait_for(lambda: len(d.check("api")["metrics"]) == 3, 10,
               "api's metrics")
    # some seconds of values
    d.wait_for(lambda: sum(1 for p in d.get(
        "/api/v1/series/api/rtt?since=2m")["points"] if p[1] is not None)
        >= 8, 20, "stored values")
    b = Browser(env.tmpdir, width=1280, height=1400)
    b.get("http://127.0.0.1:%d/#/check/api" % d.port)
    b.execute(CATCH)
    b.wait_text("#check-name", "api")
    b.wait_text("#check-state", "OK")
    assert "web" in b.text("#check-details")
    # the first metric is drawn, with its values
    harness.wait_for(lambda: (chart(b, "g.numRows()") or 0) > 0, 15,
                     "the chart")
    assert chart(b, "g.getLabels()") == ["time", "rtt"]
    vals = chart(b, "Array.from({length: g.numRows()}, (_, i) => "
                    "g.getValue(i, 1)).filter(v => v !== null)")
    # ms drawn in seconds (0..59 ms)
    assert len(vals) >= 4 and all(0 <= v < 0.06 for v in vals), vals
    # the ticks say the unit, scaled for people
    ticks = b.execute("return Array.from(document.querySelectorAll("
                      "'#check-chart-box .dygraph-axis-label-y'))"
                      ".map(e => e.textContent);")
    assert ticks and all(t.endswith("ms") for t in ticks), ticks
    # several metrics on one chart: load joins on a second axis
    b.click('#check-metrics tr[data-metric="load"] input')
    harness.wait_for(lambda: chart(b, "g.getLabels()") ==
                     ["time", "rtt", "load"], 10, "rtt and load")
    assert chart(b, "g.getOption('series')") == {"load": {"axis": "y2"}}
    # and another check's metric
    pick(b, "#check-compare", json.dumps({"check": "peer",
                                          "metric": "rtt"},
                                         separators=(",", ":")))
    harness.wait_for(lambda: chart(b, "g.getLabels()") ==
                     ["time", "api rtt", "api load", "peer rtt"], 10,
                     "peer's rtt on the chart")
    # peer's 2 s rows beside api's 1 s ones: a line, no gap every other
    # row (nulls only after peer's last row)
    peer = chart(b, "Array.from({length: g.numRows()}, (_, i) => "
                    "g.getValue(i, 3))")
    known = [i for i, v in enumerate(peer) if v is not None]
    assert len(known) >= 4, peer[-40:]
    assert all(peer[i] is not None
               for i in range(known[0], known[-1] + 1)), peer[-40:]
    # the key has each series' last value; hovering, the row's values
    key = b.text("#check-chart-box .chart-legend")
    assert key.startswith("last: ") and "api rtt" in key and \
        "peer rtt: 12 ms" in key, key
    # a third unit is not drawn against another's axis (41 % as "40 s"):
    # the chart leaves it out and says so
    b.click('#check-metrics tr[data-metric="used"] input')
    b.wait_text("#check-chart-box .chart-note", lambda t: t and
                "api used (%) not drawn: a chart shows two units at most"
                in t)
    assert chart(b, "g.getLabels()") == ["time", "api rtt", "api load",
                                         "peer rtt"]
    b.click('#check-metrics tr[data-metric="used"] input')
    harness.wait_for(lambda: b.execute(
        "return document.querySelector('#check-chart-box .chart-note')"
        ".hidden;"), 10, "the note to go")
    legend = b.execute(
        "const g = window.tocsinCharts['check-chart-box'];"
        "let r = g.numRows() - 1;"
        "while (r > 0 && g.getValue(r, 1) === null) r--;"
        "g.setSelection(r);"
        "return document.querySelector('#check-chart-box .chart-legend')"
        ".textContent;")
    assert "api rtt" in legend and "ms" in legend, legend
    b.execute("document.getElementById('check-chart-box')"
              ".scrollIntoView();")
    shot(env, b, "dashboard-check-hover.png")
    # zoom (as a drag does) and back (as a double-click does)
    lo, hi = chart(b, "g.xAxisRange()")
    mid = (lo + hi) / 2
    b.execute("window.tocsinCharts['check-chart-box'].updateOptions("
              "{dateWindow: [arguments[0], arguments[1]]});", mid - 5000,
              mid + 5000)
    assert chart(b, "g.isZoomed('x')") is True
    b.execute("window.tocsinCharts['check-chart-box'].resetZoom();")
    assert chart(b, "g.isZoomed('x')") is False
    # the range picker: each range is drawn, from an hour to a year
    for rng, secs in (("1h", 3600), ("6h", 6 * 3600), ("1d", 86400),
                      ("1w", 7 * 86400), ("30d", 30 * 86400),
                      ("365d", 365 * 86400)):
        b.click('#check-range button[data-range="%s"]' % rng)
        harness.wait_for(lambda: (lambda r: r and abs((r[1] - r[0]) / 1e3 -
                                                      secs) < secs * 0.1)(
            chart(b, "g.xAxisRange()")), 10, "the range %s" % rng)
        assert b.execute("return document.querySelector("
                         "'#check-chart-box .chart-note').hidden;"), \
            b.text("#check-chart-box .chart-note")
    b.click('#check-range button[data-range=""]')
    harness.wait_for(lambda: (lambda r: r and r[1] - r[0] < 3600e3)(
        chart(b, "g.xAxisRange()")), 10, "back to the data's range")
    shot(env, b, "dashboard-check.png")
    assert b.console_errors() == [], b.console_errors()
    d.stop()


def test_dashboard_incident_page_acks_comments_and_resolves(env):
    hook = Webhook(env)
    d = env.daemon(CHECKS +
                   'channel "hook" { type = webhook  url = "%s" }\n'
                   'contact "alice" { channels = { "hook" } }\n'
                   'escalation "ops" { step { notify = { "contact:alice" } '
                   '} }\n'
                   'route "all" { escalation = "ops" }\n' % hook.url())
    d.start()
    st, _, _ = d.get_raw("/api/v1/incidents")
    if st == 404:
        raise harness.Skip("incident module not present")
    inc = d.wait_for(
        lambda: [i for i in d.get("/api/v1/incidents")["incidents"]
                 if i["root_cause"] == "shop-frontpage"], 15,
        "an open incident for shop-frontpage")[0]
    b = Browser(env.tmpdir, width=1280, height=1200)
    b.get("http://127.0.0.1:%d/" % d.port)
    b.execute(CATCH)
    b.type("#token", d.token)
    b.click("#token-save")
    # from the overview's list to the incident's page
    b.wait_text('#incidents tr[data-id="%s"]' % inc["id"],
                lambda t: t is not None and "shop-frontpage" in t)
    b.click('#incidents tr[data-id="%s"] a' % inc["id"])
    b.wait_text("#inc-title", inc["title"])
    b.wait_text('#inc-checks tr[data-check="shop-frontpage"]',
                lambda t: t and "root cause" in t and "CRITICAL" in t)
    assert b.text('#inc-timeline li[data-kind="opened"]') is not None
    # the page sent to alice's webhook
    b.wait_text("#inc-pages tbody tr", lambda t: t and "incident.opened" in t
                and "alice" in t and "sent" in t)
    b.click("#inc-ack")
    d.wait_for(lambda: d.get("/api/v1/incidents/%s" % inc["id"])[
        "status"] == "acknowledged", 15, "the incident to be acknowledged")
    assert d.get("/api/v1/incidents/%s" % inc["id"])[
        "acknowledged_by"] == "dashboard"
    b.wait_text('#inc-timeline li[data-kind="acknowledged"]',
                lambda t: t is not None)
    b.wait_text("#inc-details td.status",
                lambda t: t and t.startswith("acknowledged"))
    b.type("#inc-comment", "restarting the <app>")
    b.click("#inc-comment-send")
    b.wait_text('#inc-timeline li[data-kind="comment"]',
                lambda t: t and "restarting the <app>" in t)
    shot(env, b, "dashboard-incident-page.png")
    b.click("#inc-resolve")
    d.wait_for(lambda: d.get("/api/v1/incidents/%s" % inc["id"])[
        "status"] == "resolved", 15, "the incident to be resolved")
    b.wait_text("#inc-details td.status",
                lambda t: t and t.startswith("resolved"))
    assert b.console_errors() == [], b.console_errors()
    d.stop()


def post_json(d, path, obj):
    st, _, body = d.get_raw(path, method="POST", body=json.dumps(obj).encode(),
                            headers={"Content-Type": "application/json"},
                            token=True)
    assert st in (200, 201), (path, st, body)
    return json.loads(body)


def rows(b, table, key):
    return b.execute("return Array.from(document.querySelectorAll("
                     "'#%s tbody tr')).map(r => r.dataset.%s);"
                     % (table, key))


def test_dashboard_problems_and_changes_views(env):
    """#/problems lists the problem records (resolved ones on asking),
    with their incidents and workaround; #/changes the change events,
    newest first, those made inside a change freeze marked."""
    now = time.time()
    d = env.daemon(
        'dummy "shop" { state = ok  interval = 1s  group = "web" }\n'
        'maintenance "year-end" { groups = { "web" }  freeze = true\n'
        '  start = "%s"  end = "%s" }\n' % (
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))))
    d.start()
    p1 = post_json(d, "/api/v1/problems", {"title": "slow checkout",
                                           "root_cause": "shop"})
    post_json(d, "/api/v1/problems/%d" % p1["id"], {
        "status": "known_error", "workaround": "restart php-fpm on web1"})
    p2 = post_json(d, "/api/v1/problems", {"title": "old one"})
    post_json(d, "/api/v1/problems/%d" % p2["id"], {"status": "resolved"})
    c1 = post_json(d, "/api/v1/changes", {"title": "deploy shop 2.3",
                                          "by": "ci", "group": "web"})
    c2 = post_json(d, "/api/v1/changes", {"title": "db tuning",
                                          "group": "database"})
    assert c1["freeze"] == "year-end" and c2["freeze"] is None
    b = Browser(env.tmpdir)
    b.get("http://127.0.0.1:%d/#/problems" % d.port)
    b.execute(CATCH)
    harness.wait_for(lambda: rows(b, "prob-list", "problem") ==
                     [str(p1["id"])], 10, "the open problem listed")
    row = b.text('#prob-list tr[data-problem="%d"]' % p1["id"])
    assert "known error" in row and "restart php-fpm on web1" in row, row
    assert b.find_all('#prob-list tr a[href="#/check/shop"]'), row
    shot(env, b, "dashboard-problems.png")
    pick(b, "#prob-status", "all")
    harness.wait_for(lambda: sorted(rows(b, "prob-list", "problem")) ==
                     sorted([str(p1["id"]), str(p2["id"])]), 10,
                     "resolved ones too")
    b.click('nav a[data-nav="changes"]')
    harness.wait_for(lambda: rows(b, "chg-list", "change") ==
                     [str(c2["id"]), str(c1["id"])], 10,
                     "the changes, newest first")
    assert b.text('#chg-list tr[data-change="%d"] td.freeze' %
                  c1["id"]) == "year-end"
    assert b.find_all("#chg-list tr.in-freeze") != []
    assert len(b.find_all("#chg-list tr.in-freeze")) == 1
    shot(env, b, "dashboard-changes.png")
    assert b.execute("return window.__errors;") == []
    assert b.console_errors() == [], b.console_errors()
    d.stop()


def test_dashboard_chart_shows_api_text_as_text(env):
    """A metric's name and unit are API text (a passive result may send
    any 16 bytes as a unit): the chart's key, hover values and ticks show
    them as text, never as markup.  The page's fetch is given such a
    series, as tocsind would answer it."""
    d = env.daemon('dummy "p" { }\n')
    d.start()
    b = Browser(env.tmpdir)
    b.get("http://127.0.0.1:%d/#/checks" % d.port)
    b.execute(CATCH)
    now = int(time.time())
    reply = {"check": "p", "cf": "AVERAGE", "start": now - 9, "end": now,
             "step": 1, "rows": 10,
             "metrics": [{"name": "<i>m</i>", "ds": "m_x",
                          "unit": "<svg onload=x>"}],
             "points": [[now - 9 + k, float(k)] for k in range(10)]}
    b.execute("""
        const reply = arguments[0];
        const real = window.fetch;
        window.fetch = (url, o) => String(url).startsWith("/api/v1/series/")
          ? Promise.resolve(new Response(JSON.stringify(reply),
              {status: 200, headers: {"Content-Type": "application/json"}}))
          : real(url, o);
        const box = document.createElement("div");
        box.id = "xss-box";
        box.className = "chart-box";
        document.querySelector("main").appendChild(box);
        drawChart("xss-box", [{check: "p", metric: "<i>m</i>"}], "1h", []);
        """, reply)
    harness.wait_for(lambda: b.execute(
        "const g = window.tocsinCharts['xss-box'];"
        "return g ? g.numRows() : 0;") == 10, 10, "the chart")
    b.execute("window.tocsinCharts['xss-box'].setSelection(9);")
    legend = b.text("#xss-box .chart-legend")
    assert "<i>m</i>" in legend and "9 <svg onload=x>" in legend, legend
    assert b.find_all("#xss-box i") == [] and \
        b.find_all("#xss-box svg") == [], "markup from API text"
    ticks = b.execute("return Array.from(document.querySelectorAll("
                      "'#xss-box .dygraph-axis-label-y'))"
                      ".map(e => e.textContent);")
    assert ticks and all(t.endswith("<svg onload=x>") for t in ticks), ticks
    assert b.console_errors() == [], b.console_errors()
    d.stop()


def test_dashboard_shows_slo_tiles(env):
    """The overview has a tile per SLO: availability, objective, budget
    left, burn rates and status, coloured by status; a tile leads to the
    SLO's check page (its availability and burn graphs).  No SLO: no
    section."""
    d = env.daemon(
        'dummy "shop" { state = critical  max_attempts = 1  '
        'interval = 500ms  group = "web" }\n'
        'dummy "dns" { state = ok  interval = 500ms  group = "infra" }\n'
        'slo "shop-slo" { group = "web"  objective = 90  window = 1h\n'
        '  interval = 1s  page_burn = { "2x 20s 5s" }\n'
        '  ticket_burn = { "1x 40s 10s" } }\n'
        'slo "infra-slo" { group = "infra"  objective = 99.5  '
        'interval = 1s }\n')
    d.start()
    b = Browser(env.tmpdir)
    b.get("http://127.0.0.1:%d/" % d.port)
    b.execute(CATCH)

    def status(name):
        return b.execute("const t = document.querySelector("
                         "'#slos a[data-slo=\"' + arguments[0] + '\"]');"
                         "return t ? t.dataset.status : null;", name)
    harness.wait_for(lambda: status("shop-slo") == "page", 30,
                     "the burning SLO's tile says page")
    assert status("infra-slo") == "ok"
    tile = b.text('#slos a[data-slo="shop-slo"]')
    assert "objective 90 % over 1h" in tile and "20s" in tile, tile
    assert "error budget left" in tile and "PAGE" in tile.upper(), tile
    ok = b.text('#slos a[data-slo="infra-slo"]')
    assert "100.000 %" in ok and "WITHIN BUDGET" in ok.upper(), ok
    border = b.execute("return getComputedStyle(document.querySelector("
                       "'#slos a[data-slo=\"shop-slo\"]')).borderLeftColor;")
    okb = b.execute("return getComputedStyle(document.querySelector("
                    "'#slos a[data-slo=\"infra-slo\"]')).borderLeftColor;")
    assert border != okb, (border, okb)
    shot(env, b, "dashboard-slos.png")
    b.click('#slos a[data-slo="shop-slo"]')
    harness.wait_for(lambda: b.execute("return location.hash;") ==
                     "#/check/shop-slo", 10, "the SLO's check page")
    assert b.execute("return window.__errors;") == []
    assert b.console_errors() == [], b.console_errors()
    d.stop()
    # without SLOs the section stays hidden
    d2 = env.daemon('dummy "x" { state = ok  interval = 500ms }\n')
    d2.start()
    b.get("http://127.0.0.1:%d/" % d2.port)
    harness.wait_for(lambda: b.text("#count-OK") == "1", 10, "the counts")
    assert b.execute("return document.getElementById('slo-section')"
                     ".hidden;") is True
    d2.stop()
