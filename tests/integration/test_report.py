"""The availability report (GET /api/v1/report): down time inside a
maintenance window is not downtime, time UNREACHABLE behind a down
parent is the parent's, and a month comes as JSON, CSV or a printable
HTML page.  exec checks whose exit code the test writes drive tocsind."""
import csv
import io
import json
import sqlite3
import time

import harness
from test_incidents import ctl_check, post


def check_row(rep, name):
    return [c for c in rep["checks"] if c["name"] == name][0]


def test_report_excludes_maintenance_and_gives_unreachable_to_the_parent(
        env):
    svc = env.file("svc.state", "0\n")
    sw = env.file("sw.state", "0\n")
    web = env.file("web.state", "0\n")
    conf = (ctl_check("svc", svc, "  max_attempts = 1\n") +
            ctl_check("core-switch", sw, "  max_attempts = 1\n") +
            'host "sw" { address = "127.0.0.1"  check = "core-switch" }\n'
            'host "webhost" { address = "127.0.0.1"  parents = { "sw" } }\n'
            + ctl_check("web", web, '  max_attempts = 1\n'
                        '  host = "webhost"\n'))
    d = env.daemon(conf)
    d.start()
    for n in ("svc", "core-switch", "web"):
        d.wait_check(n, "OK", pred=lambda c: c["last_check"])
    # svc fails inside a maintenance window of its own
    st, w = post(d, "/api/v1/maintenance", {"checks": ["svc"],
                                            "duration": "1h"})
    assert st == 201, w
    harness.write_file(svc, "2\n")
    # the switch fails, and web behind it: web is UNREACHABLE
    harness.write_file(sw, "2\n")
    harness.write_file(web, "2\n")
    d.wait_check("svc", "CRITICAL", "hard", timeout=10)
    d.wait_check("core-switch", "CRITICAL", "hard", timeout=10)
    d.wait_check("web", "UNREACHABLE", timeout=10)
    time.sleep(4)
    for f in (svc, sw, web):
        harness.write_file(f, "0\n")
    for n in ("svc", "core-switch", "web"):
        d.wait_check(n, "OK", "hard", timeout=10)
    rep = d.get("/api/v1/report?since=1h")
    s, p, c = (check_row(rep, n) for n in ("svc", "core-switch", "web"))
    assert s["downtime_s"] <= 1 and s["maintenance_s"] >= 3, s
    assert p["downtime_s"] >= 3 and p["maintenance_s"] == 0, p
    assert c["downtime_s"] <= 1 and c["unreachable_s"] >= 3, c
    assert p["availability"] < s["availability"], (p, s)
    d.stop()
    d.assert_no_sanitizer_report()


def test_report_of_a_month_as_json_csv_and_html(env):
    d = env.daemon('dummy "shop <b>&" { state = ok  interval = 1s  '
                   'group = "web" }\n')
    d.start()
    d.wait_check("shop <b>&", "OK", pred=lambda c: c["last_check"])
    rep = d.get("/api/v1/report?month=2026-11")
    assert (rep["since"], rep["until"]) == ("2026-11-01T00:00:00Z",
                                            "2026-12-01T00:00:00Z"), rep
    rep = d.get("/api/v1/report?month=2026-12")
    assert rep["until"] == "2027-01-01T00:00:00Z", rep

    st, h, body = d.get_raw("/api/v1/report?month=2026-11&format=csv")
    assert st == 200 and h["content-type"].startswith("text/csv"), h
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["check", "group", "availability", "downtime_s",
                       "maintenance_s", "unreachable_s", "since",
                       "until"], rows
    assert rows[1][:2] == ["shop <b>&", "web"], rows
    assert float(rows[1][2]) == 100.0 and rows[1][6] == \
        "2026-11-01T00:00:00Z", rows

    st, h, body = d.get_raw("/api/v1/report?month=2026-11&format=html")
    page = body.decode()
    assert st == 200 and h["content-type"].startswith("text/html"), h
    assert "default-src 'none'" in h["content-security-policy"], h
    assert "<h1>Availability report</h1>" in page, page[:300]
    assert "shop &lt;b&gt;&amp;" in page and "<b>&" not in page, page
    assert "2026-11-01T00:00:00Z" in page

    for q, want in (("month=2026-13", "month:"), ("month=nov", "month:"),
                    ("month=2026-11&since=1d", "either month or since"),
                    ("format=xml", "format:")):
        st, _, body = d.get_raw("/api/v1/report?" + q)
        assert st == 400 and want in json.loads(body)["error"], (q, body)
    d.stop()
    d.assert_no_sanitizer_report()


def test_past_maintenance_stays_history_for_reports_and_slos(env):
    """Maintenance windows made through the API are kept as history for
    incidents { retention }: a report or an SLO over a period they
    covered subtracts them also after a restart, days later (they were
    dropped a day after they ended before).  DELETE ends a window under
    way instead of erasing what it covered."""
    svc = env.file("svc.state", "0\n")
    d = env.daemon(ctl_check("svc", svc, '  max_attempts = 1\n'
                             '  group = "shop"\n') +
                   'slo "shop" { group = "shop"  objective = 99  '
                   'window = 7d  interval = 1s }\n')
    d.start()
    d.wait_check("svc", "OK", pred=lambda c: c["last_check"])
    now = int(time.time())

    def utc(t):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    # a window three to two days ago, and svc down inside it then
    st, past = post(d, "/api/v1/maintenance", {
        "checks": ["svc"], "start": utc(now - 3 * 86400),
        "end": utc(now - 2 * 86400), "comment": "datacenter move"})
    assert st == 201, past
    d.stop()
    con = sqlite3.connect("%s/incidents.db" % d.state_dir, timeout=5)
    con.executemany(
        "INSERT INTO events (at, check_name, old_state, new_state) "
        "VALUES (?, 'svc', ?, ?)",
        [(now - 3 * 86400 + 3600, "OK", "CRITICAL"),
         (now - 3 * 86400 + 7200, "CRITICAL", "OK")])
    con.commit()
    con.close()
    d.start()
    d.wait_check("shop", "OK", pred=lambda c: c["last_check"])
    rep = d.get("/api/v1/report?since=4d")
    s = check_row(rep, "svc")
    assert s["downtime_s"] <= 1 and s["maintenance_s"] >= 3599, s
    slo = d.get("/api/v1/slos/shop")
    assert slo["availability"] == 100, slo
    # listed for a day after it ends, kept longer
    ids = [w.get("id") for w in d.get("/api/v1/maintenance")["windows"]]
    assert past["id"] not in ids, ids
    # ended: history, not deletable
    st, _, raw = d.get_raw("/api/v1/maintenance/%d" % past["id"], "DELETE",
                           headers={"Authorization": "Bearer " + d.token})
    assert st == 409 and b"history" in raw, raw

    # a window under way, svc down in it, then DELETE: it ends now
    st, w = post(d, "/api/v1/maintenance", {"checks": ["svc"],
                                            "duration": "1h"})
    assert st == 201, w
    harness.write_file(svc, "2\n")
    d.wait_check("svc", "CRITICAL", "hard", timeout=10)
    time.sleep(3)
    st, _, raw = d.get_raw("/api/v1/maintenance/%d" % w["id"], "DELETE",
                           headers={"Authorization": "Bearer " + d.token})
    assert st == 200, raw
    assert json.loads(raw)["ended_at"], raw
    time.sleep(2)       # down outside the window now
    harness.write_file(svc, "0\n")
    d.wait_check("svc", "OK", "hard", timeout=10)
    d.stop()
    d.start()
    rep = d.get("/api/v1/report?since=1h")
    s = check_row(rep, "svc")
    assert s["maintenance_s"] >= 3 and 2 <= s["downtime_s"] <= 6, s
    d.stop()
    d.assert_no_sanitizer_report()
