"""
The metric store, graphs and forecasts, driven as an operator would:
checks in the config, RRD files read back with the rrdtool command,
graphs through the API and tocsinctl, a real rrdcached.
"""
import json
import os
import subprocess
import time

import harness
from fx_metric import (CachedDaemon, Rrdcached, ds_list, ds_name, fetch,
                       info, known, png_size, rrd_path, rrdtool, svg_size)

# one gauge with thresholds, one counter (epoch seconds: a rate of 1/s)
COUNTER = ('exec "cnt" { command = { "/bin/sh", "-c", '
           '"echo \\"OK | req=$(date +%s)c load=0.5;1;2\\"" }  '
           'interval = 1s }\n')


def wait_values(path, ds, pred, timeout=12, what="values"):
    def ok():
        if not os.path.exists(path):
            return False
        try:
            return pred(known(fetch(path, start="-60").get(ds, [])))
        except AssertionError:
            return False
    harness.wait_for(ok, timeout, what)


def test_values_and_counter_rates_read_back(env):
    d = env.daemon('dummy "web" { value = 42  interval = 1s }\n' + COUNTER)
    d.start()
    web, cnt = rrd_path(d, "web"), rrd_path(d, "cnt")
    wait_values(web, "value", lambda v: len(v) >= 2, what="web values")
    wait_values(cnt, "req", lambda v: len(v) >= 2, what="counter rates")
    assert set(known(fetch(web)["value"])) == {42.0}
    i = info(cnt)
    assert i["step"] == "1", i["step"]
    assert i["ds[req].type"] == "DERIVE" and i["ds[load].type"] == "GAUGE"
    # a counter of epoch seconds is stored as its rate: 1 per second
    rates = known(fetch(cnt)["req"])
    assert rates and all(abs(r - 1.0) < 1e-6 for r in rates), rates
    assert set(known(fetch(cnt)["load"])) == {0.5}
    # the capacity-planning layout: 4 resolutions x AVERAGE/MIN/MAX
    rras = sorted((int(i["rra[%d].pdp_per_row" % k]), i["rra[%d].cf" % k],
                   int(i["rra[%d].rows" % k])) for k in range(12))
    # (raw: 2 days, but at most 8 640 rows for a check run every second)
    assert rras[:3] == [(1, "AVERAGE", 8640), (1, "MAX", 8640),
                        (1, "MIN", 8640)], rras
    assert (86400, "AVERAGE", 1830) in rras and (3600, "MAX", 9480) in rras
    d.stop()


def test_metric_added_later_keeps_history(env):
    out = env.file("out.txt", "OK | a=1\n")
    cfg = ('exec "grow" { command = { "/bin/cat", "%s" }  interval = 1s }\n'
           % out)
    d = env.daemon(cfg)
    d.start()
    path = rrd_path(d, "grow")
    wait_values(path, "a", lambda v: len(v) >= 3, what="a=1 stored")
    odd = "rx/s of eth0"		# sanitised to the documented DS name
    harness.write_file(out, "OK | a=2 b=3 '%s'=4\n" % odd)
    wait_values(path, "b", lambda v: len(v) >= 2, what="b stored")
    assert ds_list(path) == ["a", "b", ds_name(odd)], ds_list(path)
    a = known(fetch(path, start="-120")["a"])
    assert 1.0 in a and 2.0 in a, a		# old rows are still there
    assert set(known(fetch(path, start="-120")[ds_name(odd)])) == {4.0}
    assert not [f for f in os.listdir(os.path.dirname(path))
                if f.endswith(".old")]
    d.stop()


def test_restart_keeps_history_and_interval_change_keeps_file(env):
    cfg = 'dummy "r" { value = 7  interval = 1s }\n'
    d = env.daemon(cfg)
    d.start()
    path = rrd_path(d, "r")
    wait_values(path, "value", lambda v: len(v) >= 2, what="first values")
    d.stop()
    d.write_config('dummy "r" { value = 9  interval = 1s }\n')
    d.start()
    wait_values(path, "value", lambda v: 9.0 in v, what="values after restart")
    assert 7.0 in known(fetch(path, start="-120")["value"])
    assert "restart" not in d.log() or "failed" not in d.log()
    assert "update of" not in d.log(), harness.tail(d.log(), 20)
    # another interval: a new file; the old one is kept, never reused
    d.reload('dummy "r" { value = 9  interval = 2s }\n')
    harness.wait_for(lambda: info(path)["step"] == "2", 10, "new file")
    old = [f for f in os.listdir(os.path.dirname(path))
           if f.startswith("r.rrd.") and f.endswith(".old")]
    assert len(old) == 1, old
    d.stop()


def test_graphs_png_svg_and_tocsinctl(env):
    d = env.daemon(COUNTER)
    d.start()
    path = rrd_path(d, "cnt")
    wait_values(path, "req", lambda v: len(v) >= 2, what="values")
    st, h, body = d.get_raw("/api/v1/graph/cnt/load.png?since=10m&"
                            "width=500&height=250")
    assert st == 200 and h["content-type"] == "image/png", (st, body[:200])
    assert png_size(body) == (500, 250)
    # several metrics on one graph, as SVG (cairo draws its text as
    # glyphs, so the legend cannot be read back here)
    st, h, body = d.get_raw("/api/v1/graph/cnt/load,req.svg?since=1h&"
                            "width=640&height=320")
    assert st == 200 and h["content-type"] == "image/svg+xml", st
    text = body.decode()
    assert svg_size(text) == (640, 320), svg_size(text)
    assert text.rstrip().endswith("</svg>")
    # errors: clear, never a crash
    for url, code in (("/api/v1/graph/cnt/nosuch.png", 404),
                      ("/api/v1/graph/nosuch/load.png", 404),
                      ("/api/v1/graph/cnt/load.gif", 404),
                      ("/api/v1/graph/cnt/load.png?width=5", 400),
                      ("/api/v1/graph/cnt/load.png?since=yesterday", 400),
                      ("/api/v1/graph/cnt/load.png?since=1h&until=2h", 400)):
        st, _, body = d.get_raw(url)
        assert st == code, (url, st, body[:200])
        assert "error" in json.loads(body), body
    # tocsinctl graph saves one
    out = env.path("g.png")
    ctl = os.path.join(env.builddir, "tocsinctl")
    r = subprocess.run([ctl, "-s", "http://127.0.0.1:%d" % d.port, "graph",
                        "cnt", "load", "--since", "1h", "-o", out],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    with open(out, "rb") as f:
        assert png_size(f.read()) == (800, 300)
    d.stop()


def make_disk_history(path, slope_per_day, now_value, days=3, step=300):
    """A disk check's RRD with a straight line ending now."""
    now = int(time.time()) // step * step
    start = now - int(days * 86400) // step * step
    rrdtool("create", path, "--step", step, "--start", start - step,
            "DS:used_pct:GAUGE:%d:U:U" % (2 * step),
            "RRA:AVERAGE:0.5:1:4032")
    ups = []
    for t in range(start, now + 1, step):
        ups.append("%d:%.6f" % (t, now_value - slope_per_day *
                                (now - t) / 86400.0))
    for k in range(0, len(ups), 200):
        rrdtool("update", path, *ups[k:k + 200])


def test_forecast_filling_disk_raises_warning_and_critical(env):
    os.makedirs(env.path("state", "rrd"), exist_ok=True)
    # 85 % used, filling 2 %/day: 90 % in 2.5 days, 95 % in 5 days
    make_disk_history(env.path("state", "rrd", "disk.rrd"), 2.0, 85.0)
    make_disk_history(env.path("state", "rrd", "flat.rrd"), 0.0, 40.0)
    # 3 hours of a steep climb: too short a history to page anyone about,
    # unless min_history says 3 hours are enough
    make_disk_history(env.path("state", "rrd", "young.rrd"), 20.0, 85.0,
                      days=0.125)
    d = env.daemon(
        'forecast "disk-95" { source = "disk:used_pct"  threshold = 95  '
        'window = 2d  warn = 14d  crit = 3d  max_attempts = 1  interval = 2s }\n'
        'forecast "disk-90" { source = "disk:used_pct"  threshold = 90  '
        'window = 2d  warn = 14d  crit = 3d  max_attempts = 1  interval = 2s }\n'
        'forecast "flat-fc" { source = "flat:used_pct"  threshold = 95  '
        'max_attempts = 1  interval = 2s }\n'
        'forecast "none" { source = "nosuch:x"  threshold = 1  '
        'max_attempts = 1  interval = 2s }\n'
        # a source that has not run yet (a new install): no alarm
        'dummy "fresh" { state = ok  value = 1  interval = 1h }\n'
        'forecast "young-fc" { source = "young:used_pct"  threshold = 95  '
        'max_attempts = 1  interval = 2s }\n'
        'forecast "young-fc-2h" { source = "young:used_pct"  threshold = 95  '
        'min_history = 2h  max_attempts = 1  interval = 2s }\n'
        'forecast "fresh-fc" { source = "fresh:value"  threshold = 95  '
        'max_attempts = 1  interval = 2s }\n')
    d.start()
    c = d.wait_check("fresh-fc", "OK", pred=lambda c: c["last_check"])
    assert "no trend yet" in c["summary"], c
    c = d.wait_check("young-fc", "OK", pred=lambda c: c["last_check"])
    assert "min_history is 24.0 h" in c["summary"], c
    d.wait_check("young-fc-2h", "CRITICAL", "hard")
    d.wait_check("disk-95", "WARNING", "hard")
    d.wait_check("disk-90", "CRITICAL", "hard")
    d.wait_check("flat-fc", "OK")
    d.wait_check("none", "UNKNOWN")
    c = d.check("disk-95")
    days = {m["name"]: m["value"] for m in c["metrics"]}["days_until"]
    assert abs(days - 5.0) / 5.0 < 0.01, c
    c = d.check("disk-90")
    days = {m["name"]: m["value"] for m in c["metrics"]}["days_until"]
    assert abs(days - 2.5) / 2.5 < 0.01, c
    assert "never reaches" in d.check("flat-fc")["summary"]
    # it is a normal check: the critical forecast opened an incident
    harness.wait_for(lambda: any(
        i["root_cause"] == "disk-90" for i in d.get("/api/v1/incidents")
        ["incidents"]), 10, "an incident for disk-90")
    # and its days_until is stored like any metric
    p = rrd_path(d, "disk-95")
    harness.wait_for(lambda: os.path.exists(p) and
                     "days_until" in ds_list(p), 10, "days_until stored")
    # the API: slope, value at horizon, time to threshold
    f = d.get("/api/v1/forecast/disk/used_pct?threshold=95&horizon=10d")
    assert abs(f["slope_per_day"] - 2.0) < 0.02, f
    assert abs(f["value_at_horizon"] - 105.0) < 0.2, f
    assert abs(f["days_until"] - 5.0) / 5.0 < 0.01, f
    assert f["crosses_at"] and f["points"] > 500, f
    f = d.get("/api/v1/forecast/flat/used_pct?threshold=95")
    assert f["days_until"] is None and f["time_to_threshold_s"] is None
    st, _, body = d.get_raw("/api/v1/forecast/nosuch/x")
    assert st == 404, (st, body)
    d.stop()


def test_rrdcached_path_and_flush_before_read(env):
    rc = Rrdcached(env.tmpdir)
    d = CachedDaemon(env.tmpdir, 'dummy "c" { value = 5  interval = 1s }\n',
                     env.builddir, rc.addr)
    d.start()
    path = rrd_path(d, "c")
    harness.wait_for(lambda: rc.stats().get("UpdatesReceived", 0) >= 3, 12,
                     "updates received by rrdcached")
    # rrdcached holds them (-w 1h): the file itself has none yet
    assert known(fetch(path)["value"]) == []
    # a graph flushes the file first, and so the values are on disk
    st, _, body = d.get_raw("/api/v1/graph/c/value.png?since=5m")
    assert st == 200, body[:200]
    assert 5.0 in known(fetch(path)["value"])
    # the forecast reads the flushed values too; 3 s of history is under
    # min_history (half the 5 min window), so it says so instead of a slope
    f = d.get("/api/v1/forecast/c/value?window=5m")
    assert f["last"] == 5.0 and f["points"] >= 3, f
    assert f["slope_per_day"] is None and \
        f["reason"].startswith("no trend yet"), f
    d.stop()
    assert "cannot connect" not in d.log()


def test_rrdcached_over_tcp_holds_the_files(env):
    """daemon.rrdcached = "host:port": the files live in rrdcached's base
    directory, not in state_dir; tocsind creates them with CREATE, adds a
    metric that appears later by remaking the file from itself (its values
    kept), and reads graphs, series and forecasts with FETCH.  While
    rrdcached is down the updates wait, and arrive when it is back."""
    rc = Rrdcached(env.tmpdir, tcp=True)
    out = os.path.join(env.tmpdir, "m.out")
    with open(out, "w") as f:
        f.write("OK | a=1\n")
    d = CachedDaemon(env.tmpdir,
                     'dummy "c" { value = 5  interval = 1s }\n'
                     'exec "m" { command = { "/bin/cat", "%s" }  '
                     'interval = 1s }\n' % out, env.builddir, rc.addr)
    d.start()
    remote = os.path.join(rc.base, "c.rrd")
    harness.wait_for(lambda: os.path.exists(remote), 20,
                     "c.rrd created in rrdcached's base directory")
    assert not os.path.exists(rrd_path(d, "c"))
    assert "on rrdcached at %s" % rc.addr in d.log()
    harness.wait_for(lambda: rc.stats().get("UpdatesReceived", 0) >= 3, 15,
                     "updates received by rrdcached")

    def series(check, metric, q="since=5m"):
        s = d.get("/api/v1/series/%s/%s?%s" % (check, metric, q))
        return s, [(p[0], p[1]) for p in s["points"]]

    # rrdcached holds the updates (-w 1h); FETCH flushes them first
    _, pts = series("c", "value")
    assert 5.0 in [v for _, v in pts], pts
    # FETCH has no resolution: a longer step is consolidated by tocsind
    s, pts = series("c", "value", "since=10m&step=60")
    assert s["step"] == 60 and s["end"] % 60 == 0 and \
        10 <= s["rows"] <= 11, s
    assert 5.0 in [v for _, v in pts], pts
    st, _, body = d.get_raw("/api/v1/graph/c/value.png?since=5m")
    assert st == 200 and body[:4] == b"\x89PNG", body[:200]
    st, _, body = d.get_raw("/api/v1/graph/c/nosuch.png?since=5m")
    assert st == 404 and b"no metric nosuch stored" in body, body
    st, _, body = d.get_raw("/api/v1/graph/nosuch/value.png")
    assert st == 404, body
    harness.wait_for(lambda: len([v for _, v in series("c", "value")[1]
                                  if v == 5.0]) >= 3, 20, "3 values of c")
    f = d.get("/api/v1/forecast/c/value?window=5m")
    assert f["last"] == 5.0 and f["points"] >= 3, f

    # a metric that appears later: the file is remade with both, a's
    # values from before kept
    mfile = os.path.join(rc.base, "m.rrd")
    harness.wait_for(lambda: os.path.exists(mfile), 20, "m.rrd")
    harness.wait_for(lambda: len([v for _, v in series("m", "a")[1]
                                  if v == 1.0]) >= 3, 20, "a stored")
    changed = time.time()
    with open(out, "w") as f:
        f.write("OK | a=1 b=2\n")
    harness.wait_for(lambda: "b" in ds_list(mfile), 20, "b added to m.rrd")
    harness.wait_for(lambda: 2.0 in [v for _, v in series("m", "b")[1]],
                     20, "b's values")
    _, pts = series("m", "a")
    assert [t for t, v in pts if v == 1.0 and t < changed - 2], pts
    assert "remade m.rrd on rrdcached" in d.log()

    # rrdcached away for a while: the updates wait, none is lost
    rc.stop()
    down = time.time()
    harness.wait_for(lambda: "lost rrdcached" in d.log() or
                     "cannot connect to rrdcached" in d.log(), 15,
                     "tocsind noticing rrdcached gone")
    # a reader says rrdcached is away, not that the check has no data
    st, _, body = d.get_raw("/api/v1/series/c/value?since=5m")
    assert st == 503 and b"cannot read c.rrd" in body, (st, body)
    st, _, body = d.get_raw("/api/v1/graph/c/value.png?since=5m")
    assert st == 503, (st, body[:200])
    time.sleep(2)
    rc.start()
    back = time.time()
    harness.wait_for(lambda: [v for t, v in series("c", "value")[1]
                              if t > back + 1 and v == 5.0], 30,
                     "values after rrdcached is back")
    _, pts = series("c", "value")
    gap = [t for t, v in pts if down - 1 <= t <= back and v is None]
    assert len(gap) <= 1, (down, back, gap, pts)
    assert "updates wait" in d.log()
    d.stop()
    assert "dropped" not in d.log()


def test_rrdcached_over_tcp_waiting_updates_go_at_once_when_it_is_back(env):
    """Updates that waited for a remote rrdcached are written as soon as
    it is back, all files at once: they are not new files, and the pace
    of creations (daemon.rrd_create_rate, here 1 a second) is not theirs
    to wait for."""
    rc = Rrdcached(env.tmpdir, tcp=True)
    checks = ["c%d" % i for i in range(6)]
    d = CachedDaemon(env.tmpdir, "".join(
        'dummy "%s" { value = 5  interval = 1s }\n' % c for c in checks),
        env.builddir, rc.addr, daemon_extra="  rrd_create_rate = 1\n")
    d.start()
    harness.wait_for(lambda: all(os.path.exists(os.path.join(
        rc.base, c + ".rrd")) for c in checks), 30, "6 files, 1 a second")

    def newest(c):
        # rrdcached's own LAST (what it holds): not through tocsind, whose
        # readers would write a file's waiting updates first
        out = subprocess.run(["rrdtool", "last", "--daemon", rc.addr,
                              c + ".rrd"], capture_output=True, text=True,
                             timeout=10)
        return int(out.stdout.strip() or 0) if out.returncode == 0 else 0
    harness.wait_for(lambda: all(newest(c) > time.time() - 5
                                 for c in checks), 20,
                     "values in every file")
    connects = d.log().count("info: metrics: connected to rrdcached")
    rc.stop()
    harness.wait_for(lambda: "lost rrdcached" in d.log() or
                     "cannot connect to rrdcached" in d.log(), 15,
                     "tocsind noticing rrdcached gone")
    time.sleep(3)
    down_until = time.time()
    rc.start()
    # the writer tries again within 10 s; then every file at once, not
    # one a second
    harness.wait_for(lambda: d.log().count(
        "info: metrics: connected to rrdcached") > connects, 15,
        "reconnected")
    t0 = time.time()
    harness.wait_for(lambda: all(newest(c) >= int(down_until) - 1
                                 for c in checks), 10,
                     "the waiting updates of every file")
    assert time.time() - t0 < 3.0, time.time() - t0
    d.stop()


def test_config_errors(env):
    d = env.daemon('forecast "f" { source = "nocolon"  threshold = 1 }\n'
                   'forecast "g" { source = "a:b" }\n'
                   'forecast "h" { source = "a:b"  threshold = 1  '
                   'direction = "sideways"  crit = 20d }\n')
    rc, out = d.check_config()
    assert rc == 1, out
    assert "%s:%d: " % (d.conf, d.line_of('source = "nocolon"')) in out, out
    assert '"nocolon" is not CHECK:METRIC' in out
    assert "threshold" in out and "sideways" in out
    assert "crit: must not be longer than warn" in out, out


def test_graph_axis_fits_the_data_with_units_and_figures(env):
    """The y-axis scales to the values, not to thresholds far above them
    (a 1-5 ms response time on a 0-3.4 s axis showed nothing); the key says
    which thresholds are above, and has last/avg/max/min; the axis has a
    unit, in base units so that SI prefixes read right (0.040 ms is 40 µs,
    not "40 m")."""
    d = env.daemon('exec "m" { command = { "/bin/sh", "-c", '
                   '"echo \\"OK | rtt=0.040ms;100;200 load=0.5;4;8 '
                   'pct=93%;95;98\\"" }  interval = 1s }\n')
    d.start()
    wait_values(rrd_path(d, "m"), "load", lambda v: len(v) >= 2,
                what="values")

    def graph(metric):
        st, h, body = d.get_raw("/api/v1/graph/m/%s.png?since=10m" % metric)
        assert st == 200 and png_size(body) == (800, 300), (st, body[:200])
        lo, hi = (float(x) for x in h["x-tocsin-y-range"].split())
        return lo, hi, h["x-tocsin-y-unit"], h["x-tocsin-key"]

    lo, hi, unit, key = graph("load")
    assert hi < 1, (lo, hi, key)            # not stretched to crit 8
    assert "(warn 4, crit 8: above the graph)" in key, key
    assert "last 0.5  avg 0.5  max 0.5  min 0.5" in key, key
    lo, hi, unit, key = graph("rtt")
    assert unit == "s" and hi < 1e-3, (lo, hi, unit)
    assert "last 40 ?s" in key, key         # µs, ASCII-fied in the header
    assert "warn 100 ms, crit 200 ms: above the graph" in key, key
    lo, hi, unit, key = graph("pct")
    assert unit == "%" and 98 <= hi, (lo, hi)   # near: drawn, in view
    assert "(warn orange, crit red)" in key, key
    # several metrics: their colours and each one's last value
    lo, hi, unit, key = graph("rtt,load")
    assert unit == "", unit                     # mixed: no label
    assert "m: rtt blue, load green  last rtt 40 ?s, load 0.5" in key, key
    d.stop()


def test_graph_without_since_starts_where_the_data_does(env):
    """With minutes of data the default day showed nothing (the day's
    archive has no value yet): without since, the graph starts where the
    values do (10 minutes at least); since=1d still draws the day."""
    d = env.daemon('dummy "x" { value = 3  interval = 1s }\n')
    d.start()
    wait_values(rrd_path(d, "x"), "value", lambda v: len(v) >= 3,
                what="values")
    st, h, _ = d.get_raw("/api/v1/graph/x/value.png")
    assert st == 200
    start, end = (int(x) for x in h["x-tocsin-time-range"].split())
    assert 600 <= end - start <= 700, (start, end)
    assert "last 3  avg 3  max 3  min 3" in h["x-tocsin-key"], h
    st, h, _ = d.get_raw("/api/v1/graph/x/value.png?since=1d")
    start, end = (int(x) for x in h["x-tocsin-time-range"].split())
    assert end - start == 86400, (start, end)
    d.stop()
