"""
The metric store's write-back cache (daemon { rrd_flush_delay }), driven
as an operator would: a real tocsind with dummy checks, the RRD files
read with the rrdtool command, readers through the API, signals.
"""
import calendar
import os
import re
import signal
import time

import harness
from fx_metric import fetch, known, rrd_path, rrdtool


def lastupdate(path):
    """The time of the file's last update, or 0 when it does not exist."""
    if not os.path.exists(path):
        return 0
    out = rrdtool("lastupdate", path)
    times = [int(m.group(1)) for m in re.finditer(r"^(\d+):", out, re.M)]
    return times[-1] if times else 0


def series(d, name):
    """The value of /metrics series name (no labels)."""
    st, _, body = d.get_raw("/metrics")
    assert st == 200, body[:200]
    m = re.search(r"^%s ([0-9.e+-]+)$" % name, body.decode(), re.M)
    assert m, "no %s in /metrics" % name
    return float(m.group(1))


def last_check(d, name):
    """The Unix time of name's last result (0: none yet)."""
    t = d.check(name)["last_check"]
    if not t:
        return 0
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))


def test_values_arrive_after_the_delay_not_before(env):
    """Each file is written once per delay, in batches, at its own phase
    within the delay (so the first write comes 0-8 s after the first
    result, never later), and no value waits longer than the delay."""
    delay = 8
    d = env.daemon('dummy "slow" { value = 4  interval = 1s }\n',
                   rrd_flush_delay="%ds" % delay)
    d.start()
    path = rrd_path(d, "slow")
    harness.wait_for(lambda: last_check(d, "slow") > 0, 10, "a first result")
    first = time.time() - 1
    seen = []           # distinct lastupdate values, in order
    appeared = None
    end = time.time() + 3 * delay + 2
    while time.time() < end:
        now = time.time()
        lu = lastupdate(path)
        if lu == 0:
            assert now - first <= delay + 3, \
                "nothing on disk %.1f s after the first result" % (now - first)
        else:
            if appeared is None:
                appeared = now
            # no value waits longer than the delay (plus the poll's slack)
            assert now - lu <= delay + 3, (now - lu, seen)
            if not seen or seen[-1] != lu:
                seen.append(lu)
        assert series(d, "tocsin_rrd_cache_oldest_seconds") <= delay + 1.5
        time.sleep(0.25)
    assert appeared is not None, "never written"
    # written in batches: about once per delay, not once per result (26 s
    # of 1 s results are 26 writes unbatched)
    assert 2 <= len(seen) <= 5, seen
    steps = [b - a for a, b in zip(seen, seen[1:])]
    assert all(s >= delay - 2 for s in steps), (steps, seen)
    assert len(known(fetch(path, start="-60")["value"])) >= 2 * delay
    assert series(d, "tocsin_rrd_cache_flushes") >= 2
    d.stop()


def test_readers_flush_the_file_first(env):
    d = env.daemon('dummy "g" { value = 6  interval = 1s }\n'
                   'dummy "other" { value = 1  interval = 1s }\n',
                   rrd_flush_delay="1h")
    d.start()
    path, other = rrd_path(d, "g"), rrd_path(d, "other")
    harness.wait_for(lambda: series(d, "tocsin_rrd_cache_updates") >= 6, 10,
                     "results in the cache")
    assert lastupdate(path) == 0
    # a graph writes g's cached values before it reads them
    st, _, body = d.get_raw("/api/v1/graph/g/value.png?since=5m")
    assert st == 200, body[:200]
    t = lastupdate(path)
    assert t >= last_check(d, "g") - 1, (t, last_check(d, "g"))
    assert 6.0 in known(fetch(path)["value"])
    assert lastupdate(other) == 0, "another file was written too"
    assert series(d, "tocsin_rrd_cache_flushes_read") >= 1
    # a forecast does too, and sees the newest value at once
    harness.wait_for(lambda: last_check(d, "g") > t + 1, 5, "newer results")
    f = d.get("/api/v1/forecast/g/value?window=5m")
    assert f["last"] == 6.0, f
    assert lastupdate(path) >= last_check(d, "g") - 1
    # and a series read (the dashboard's charts): the newest row is there
    harness.wait_for(lambda: last_check(d, "g") > lastupdate(path) + 1, 5,
                     "newer results cached")
    newest = last_check(d, "g")
    s = d.get("/api/v1/series/g/value?since=2m&step=1")
    rows = [p for p in s["points"] if p[1] is not None]
    assert rows and rows[-1][0] >= newest - 1, (rows[-3:], newest)
    assert lastupdate(other) == 0, "another file was written too"
    d.stop()


def test_reload_and_sigterm_write_everything(env):
    cfg = 'dummy "t" { value = 2  interval = 1s }\n'
    d = env.daemon(cfg, rrd_flush_delay="1h")
    d.start()
    path = rrd_path(d, "t")
    harness.wait_for(lambda: series(d, "tocsin_rrd_cache_updates") >= 3, 10,
                     "results in the cache")
    assert lastupdate(path) == 0
    d.reload(cfg)
    harness.wait_for(lambda: lastupdate(path) > 0, 5, "written at reload")
    harness.wait_for(lambda: series(d, "tocsin_rrd_cache_updates") >= 2, 10,
                     "results cached again")
    before = lastupdate(path)
    newest = last_check(d, "t")
    assert newest > before
    d.stop()
    # SIGTERM wrote every cached value: the newest result is in the file
    assert lastupdate(path) >= newest, (lastupdate(path), newest)
    vals = known(fetch(path, start="-120")["value"])
    assert set(vals) == {2.0} and len(vals) >= 5, vals


def test_kill9_loses_at_most_the_delay(env):
    d = env.daemon('dummy "k" { value = 3  interval = 1s }\n',
                   rrd_flush_delay="4s")
    d.start()
    path = rrd_path(d, "k")
    harness.wait_for(lambda: lastupdate(path) > 0, 10, "a first flush")
    time.sleep(6)
    newest = last_check(d, "k")
    d.signal(signal.SIGKILL)
    d.wait_exit(10)
    lost = newest - lastupdate(path)
    print("kill -9: the file's last update is %d s behind the newest "
          "result (delay 4 s)" % lost)
    # the delay, plus a second for the result in flight and rounding
    assert 0 <= lost <= 4 + 1, lost


def test_many_checks_are_written_spread_not_in_waves(env):
    n, delay = 300, 6
    cfg = "".join('dummy "w%03d" { value = %d  interval = 1s }\n' % (i, i)
                  for i in range(n))
    d = env.daemon(cfg, rrd_flush_delay="%ds" % delay)
    d.start()
    # past the first round (every file made), then count flushes a second
    harness.wait_for(lambda: series(d, "tocsin_rrd_files_created") >= n,
                     3 * delay + 10, "every file created")
    per_s, prev = [], series(d, "tocsin_rrd_cache_flushes")
    t_prev = time.monotonic()
    for _ in range(2 * delay):
        time.sleep(1)
        now, t = series(d, "tocsin_rrd_cache_flushes"), time.monotonic()
        per_s.append((now - prev) / (t - t_prev))
        prev, t_prev = now, t
    even = n / delay
    print("files written a second (%d files, delay %d s, %.0f if even): %s"
          % (n, delay, even, " ".join("%.0f" % x for x in per_s)))
    # in waves, one second would see all 300 and the others none
    assert max(per_s) <= 3 * even, per_s
    assert min(per_s) >= even / 4, per_s
    assert series(d, "tocsin_rrd_cache_oldest_seconds") <= delay + 1.5
    assert series(d, "tocsin_rrd_cache_flushes_early") == 0
    d.stop()
