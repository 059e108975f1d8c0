"""The dashboard in a real headless Chromium (fx_browser)."""
import os
import shutil

import harness
from fx_browser import Browser

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
