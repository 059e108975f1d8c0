"""
GET /api/v1/series/CHECK/METRIC: the values of a check's RRD file as JSON
(what the dashboard's charts draw), compared with what the rrdtool command
reads from the same file; the errors a client gets for a bad request.
"""
import json
import math
import time

import harness
from fx_metric import (CachedDaemon, Rrdcached, fetch, known, rrd_path)

# a gauge that moves (the second of the minute), a steady one with a
# unit, and a counter of epoch seconds (stored as a rate of 1/s)
MOVING = ('exec "m" { command = { "/bin/sh", "-c", '
          '"echo \\"OK | sec=$(date +%S) rtt=0.040ms;100;200 '
          'req=$(date +%s)c\\"" }  interval = 1s }\n')


def series(d, path):
    st, _, body = d.get_raw(path)
    assert st == 200, (path, st, body[:300])
    return json.loads(body)


def wait_rows(d, check, metric, n, timeout=15):
    def ok():
        st, _, body = d.get_raw("/api/v1/series/%s/%s?since=5m"
                                % (check, metric))
        if st != 200:
            return False
        return sum(1 for p in json.loads(body)["points"]
                   if p[1] is not None) >= n
    harness.wait_for(ok, timeout, "%d values of %s:%s" % (n, check, metric))


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_series_values_match_rrdtool_fetch(env):
    d = env.daemon(MOVING)
    d.start()
    wait_rows(d, "m", "sec", 6)
    until = int(time.time()) - 2
    since = until - 120
    s = series(d, "/api/v1/series/m/sec,rtt,req?since=%d&until=%d"
               % (since, until))
    assert s["check"] == "m" and s["cf"] == "AVERAGE", s
    assert [m["name"] for m in s["metrics"]] == ["sec", "rtt", "req"]
    # the stored unit; a counter is stored as a rate
    assert [m["unit"] for m in s["metrics"]] == ["", "ms", "/s"], s["metrics"]
    assert s["step"] == 1 and s["rows"] == len(s["points"]) > 100, s["rows"]
    assert s["start"] == s["points"][0][0] and \
        s["end"] == s["points"][-1][0], (s["start"], s["end"])
    # the same file, read by rrdtool with the same range
    ref = fetch(rrd_path(d, "m"), start=str(since), end=str(until))
    for k, name in enumerate(("sec", "rtt", "req")):
        mine = [(p[0], p[1 + k]) for p in s["points"]]
        theirs = ref[name]
        assert [t for t, _ in mine] == [t for t, _ in theirs], name
        bad = [(a, b) for a, b in zip(mine, theirs) if not same(a[1], b[1])]
        assert not bad, (name, bad[:5])
        assert len(known(theirs)) >= 3, (name, theirs[-10:])
    assert {v for _, v in known_pairs(s, 2)} == {0.04}
    assert all(abs(v - 1.0) < 1e-6 for _, v in known_pairs(s, 3))
    # one metric; relative times as rrdtool spells them; a coarser step
    one = series(d, "/api/v1/series/m/sec?since=-10m&until=now&step=5m")
    assert len(one["metrics"]) == 1 and one["step"] == 300, one
    assert all(len(p) == 2 for p in one["points"])
    assert series(d, "/api/v1/series/m/sec?since=1h")["rows"] >= 3600
    # MIN and MAX archives
    lo = series(d, "/api/v1/series/m/sec?since=%d&until=%d&cf=MIN"
                % (since, until))
    assert lo["cf"] == "MIN" and lo["rows"] == s["rows"]
    d.stop()


def known_pairs(s, col):
    return [(p[0], p[col]) for p in s["points"] if p[col] is not None]


def test_series_bad_requests_say_what_is_wrong(env):
    d = env.daemon(MOVING)
    d.start()
    wait_rows(d, "m", "sec", 2)
    for query, words in (
            ("since=yesterday", 'since: "yesterday" is neither'),
            ("until=soon", 'until: "soon" is neither'),
            ("since=1h&until=2h", "since must be before until"),
            ("since=100000000", "before 1980"),
            ("step=0", 'step: "0" is not a duration'),
            ("step=fast", 'step: "fast"'),
            ("since=30d&step=60", "43200 points from since to until at "
             "step=60; at most 10000: ask for step=260 or more"),
            ("cf=LAST", 'cf: "LAST" is not AVERAGE, MIN or MAX')):
        st, _, body = d.get_raw("/api/v1/series/m/sec?" + query)
        assert st == 400, (query, st, body[:300])
        err = json.loads(body)["error"]
        assert words in err, (query, err)
    st, _, body = d.get_raw("/api/v1/series/m/" + ",".join(
        "x%d" % k for k in range(9)))
    assert st == 400 and "more than 8 metrics" in json.loads(body)["error"]
    for path, words in (("/api/v1/series/nosuch/sec", "no check nosuch"),
                        ("/api/v1/series/m/nosuch",
                         "check m: no metric nosuch stored"),
                        ("/api/v1/series/m/sec,nosuch",
                         "check m: no metric nosuch stored"),
                        ("/api/v1/series/m", "use /api/v1/series/CHECK/")):
        st, _, body = d.get_raw(path)
        assert st == 404, (path, st, body[:300])
        assert words in json.loads(body)["error"], (path, body)
    # a check that never stored anything is known, and says so
    d.reload(MOVING + 'exec "idle" { command = { "/bin/echo", "OK" }  '
             'interval = 1s }\n')
    d.wait_ran("idle")
    st, _, body = d.get_raw("/api/v1/series/idle/value")
    assert st == 404, (st, body)
    assert "check idle: no metrics stored yet" in json.loads(body)["error"]
    assert d.alive()
    d.stop()


def test_series_flushes_rrdcached_first(env):
    """rrdcached holds the updates (-w 1h): the series asks it to write
    the file before reading, as graphs do."""
    rc = Rrdcached(env.tmpdir)
    d = CachedDaemon(env.tmpdir, 'dummy "c" { value = 5  interval = 1s }\n',
                     env.builddir, rc.addr)
    d.start()
    path = rrd_path(d, "c")
    harness.wait_for(lambda: rc.stats().get("UpdatesReceived", 0) >= 3, 12,
                     "updates received by rrdcached")
    assert known(fetch(path)["value"]) == []
    s = series(d, "/api/v1/series/c/value?since=5m")
    assert 5.0 in [p[1] for p in s["points"]], s["points"][-10:]
    d.stop()


def test_series_unit_of_a_passive_result_is_whole(env):
    """A passive result's unit may be 16 bytes: the series gives all of
    them (a 16-byte buffer cut the last one)."""
    d = env.daemon('dummy "pp" { interval = 1w }\n')   # never runs here
    d.start()
    unit = "abcdefghijklmnop"
    st, _ = d.post("/api/v1/checks/pp/result", {
        "state": "OK", "summary": "fine",
        "metrics": [{"name": "m", "value": 1, "unit": unit}]})
    assert st == 200

    def answer():
        st, _, body = d.get_raw("/api/v1/series/pp/m?since=30d")
        return json.loads(body) if st == 200 else None
    s = harness.wait_for(answer, 10, "the file of pp")
    assert s["metrics"][0]["unit"] == unit, s["metrics"]
    d.stop()
