"""A node's events to the leader through PostgreSQL (src/incident/
cluster_events.c through tests/drivers/cev_driver; issue 19): in order,
kept on local disk through an outage, consumed exactly once by a leader
that may die at any moment."""
import json
import os
import signal
import subprocess
import time

import fx_pg
import harness


def _driver(env):
    return os.path.join(env.builddir, "tests", "drivers", "cev_driver")


def _produce(env, pg, node, n, rate, spool_max=16 << 20, wait_s=120,
             spool=None):
    spool = spool or os.path.join(env.tmpdir, "spool-%s" % node)
    p = subprocess.Popen([_driver(env), "produce", pg.uri, node, spool,
                          str(spool_max), str(n), str(rate), str(wait_s)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, stdin=subprocess.DEVNULL)
    harness.register(_Proc(p))
    return p


class _Proc:
    def __init__(self, p):
        self.p = p

    def cleanup(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(10)


def _finish(p, timeout=150):
    out, err = p.communicate(timeout=timeout)
    harness.assert_no_sanitizer_report(out + err, "cev_driver")
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    return p.returncode, lines[-1] if lines else None, err


def test_events_survive_a_postgres_outage_in_order_once(env):
    pg = fx_pg.Postgres(env)
    n = 1500
    p = _produce(env, pg, "a", n, 150)
    harness.wait_for(lambda: pg.sql("SELECT count(*) FROM cluster_events"
                                    ).strip() not in ("", "0"), 20,
                     "events arriving")
    pg.stop()
    time.sleep(4)
    pg.start()
    rc, last, err = _finish(p)
    assert rc == 0, (last, err[-2000:])
    assert last["dropped"] == 0 and last["spooled"] > 0, last
    assert last["durable"] == n and last["order_ok"], last
    rows = pg.sql("SELECT node_seq, body FROM cluster_events ORDER BY seq"
                  ).split()
    seqs = [int(r.split("|")[0]) for r in rows]
    idx = [json.loads(r.split("|")[1])["i"] for r in rows]
    # every event once, in the order it was added
    assert idx == list(range(n)), [i for i, (a, b) in enumerate(
        zip(idx, range(n))) if a != b][:10]
    assert seqs == sorted(seqs) and len(set(seqs)) == n
    assert "spooled events sent" in err, err[-2000:]


def test_consumer_killed_again_and_again_sees_each_event_once(env):
    pg = fx_pg.Postgres(env)
    pg.sql("CREATE TABLE cev_seen (k BIGSERIAL PRIMARY KEY, seq BIGINT, "
           "node TEXT, node_seq BIGINT, body TEXT)")
    n = 3000
    prods = [_produce(env, pg, node, n, 1000) for node in "ab"]
    cons = None
    for _ in range(8):
        cons = subprocess.Popen([_driver(env), "consume", pg.uri, "50"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        harness.register(_Proc(cons))
        time.sleep(0.4)
        cons.send_signal(signal.SIGKILL)
        cons.wait(10)
    for p in prods:
        rc, last, err = _finish(p)
        assert rc == 0 and last["durable"] == n, (last, err[-2000:])
    cons = subprocess.Popen([_driver(env), "consume", pg.uri, "50"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    harness.register(_Proc(cons))
    harness.wait_for(lambda: pg.sql("SELECT count(*) FROM cluster_events"
                                    ).strip() == "0", 60, "all consumed")
    cons.terminate()
    _, err = cons.communicate(timeout=20)
    harness.assert_no_sanitizer_report(err, "cev_driver consume")
    total, distinct = pg.sql("SELECT count(*), count(DISTINCT (node, "
                             "node_seq)) FROM cev_seen").strip().split("|")
    assert int(total) == int(distinct) == 2 * n, (total, distinct)
    for node in "ab":
        got = [int(v) for v in pg.sql(
            "SELECT node_seq FROM cev_seen WHERE node = '%s' ORDER BY k"
            % node).split()]
        assert got == sorted(got), node   # each node's order kept


def test_spool_bound_drops_and_says_so_then_a_restart_sends_the_rest(env):
    pg = fx_pg.Postgres(env)
    pg.stop()
    spool = os.path.join(env.tmpdir, "spool-small")
    p = _produce(env, pg, "a", 200, 1000, spool_max=4096, wait_s=3,
                 spool=spool)
    rc, last, err = _finish(p)
    assert rc == 1, last
    assert last["dropped"] > 0 and last["spooled"] > 0, last
    assert last["durable"] == last["spooled"], last
    assert last["durable"] + last["dropped"] == 200, last
    assert "cannot keep it in the spool (full" in err, err[-2000:]
    kept = last["spooled"]
    # a new run finds the spool, sends it when PostgreSQL is back
    pg.start()
    p = _produce(env, pg, "a", 0, 1, spool=spool)
    rc, last, err = _finish(p)
    assert rc == 0 and last["in_spool"] == 0, (last, err[-2000:])
    assert "in the spool from before" in err, err[-2000:]
    got = [json.loads(b)["i"] for b in pg.sql(
        "SELECT body FROM cluster_events ORDER BY seq").split()]
    assert got == list(range(kept)), got[:20]
