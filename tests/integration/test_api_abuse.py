"""
The API under abuse (issue 14): clients that hold connections, send
slowly, never read, or ask for expensive answers must neither stall the
loop, nor starve the checks of file descriptors, nor open incidents.
Everything on loopback, bounded in count and time.
"""
import concurrent.futures
import json
import os
import time

import harness
from fx_metric import rrd_path

BIG_GRAPH = "/api/v1/graph/g/value.png?width=4000&height=2000&since=1800d"


def test_graph_queue_full_answers_503_with_retry_after(env):
    d = env.daemon('dummy "g" { value = 1  interval = 1s }\n',
                   api_extra="graph_workers = 1  graph_queue = 1")
    d.start()
    path = rrd_path(d, "g")
    harness.wait_for(lambda: os.path.exists(path), 10, "g's RRD file")

    def get(_):
        st, h, body = d.get_raw(BIG_GRAPH, timeout=60)
        return st, h, body

    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        futs = [ex.submit(get, i) for i in range(12)]
        # the loop answers while the worker draws
        t0 = time.monotonic()
        st, _, _ = d.get_raw("/api/v1/status", timeout=5)
        status_s = time.monotonic() - t0
        res = [f.result(timeout=120) for f in futs]
    codes = sorted(r[0] for r in res)
    assert 200 in codes and 503 in codes, codes
    assert st == 200 and status_s < 1, (st, status_s)
    for code, h, body in res:
        if code == 503:
            assert h.get("retry-after") == "2", h
            assert "busy" in json.loads(body)["error"], body
        else:
            assert code == 200 and h["content-type"] == "image/png", code
    d.stop()


def incidents(d):
    return d.get("/api/v1/incidents?status=all&limit=1000")["incidents"]


def test_local_shortage_is_unknown_and_an_incident_about_tocsind(env):
    """
    tocsind runs out of descriptors itself (its own exec checks hold
    them, at a limit of 64): the checks it cannot start are UNKNOWN with
    the cause, soft, and open no incident; the `self` check opens one
    about tocsind.  When descriptors are back, every check is OK.
    """
    mark = env.path("go")
    cfg = "".join(
        'exec "s%02d" { command = { "/bin/sh", "-c", '
        '"test -e %s && exit 0; exec sleep 6" }  interval = 4s  '
        'timeout = 30s }\n' % (i, mark) for i in range(60))
    cfg += 'self "tocsind" { interval = 1s  max_attempts = 1 }\n'
    d = env.daemon(cfg, nofile=64)
    d.start()
    d.wait_log(r"tocsind is out of file descriptors", timeout=20)
    harness.write_file(mark, "")
    # descriptors come back as the sleeps end; then every check runs
    ok = lambda: all(c["state"] == "OK" for c in d.checks()
                     if c["name"].startswith("s"))
    harness.wait_for(ok, 40, "every exec check OK again")
    log = d.log()
    assert "UNKNOWN, no attempt counted: not checked: tocsind is out of " \
        "file descriptors" in log, harness.tail(log, 20)
    assert "exec: cannot run" not in log, harness.tail(log, 20)
    # no hard change of any exec check, no incident about one
    for line in log.splitlines():
        assert not ("hard state" in line and "check s" in line), line
    incs = incidents(d)
    assert [i["root_cause"] for i in incs] == ["tocsind"], incs
    assert "out of file descriptors" in incs[0]["title"] + json.dumps(
        d.get("/api/v1/incidents/%d" % incs[0]["id"])), incs[0]
    d.stop()
