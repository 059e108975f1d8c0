"""The cluster's pages (src/incident/cluster_outbox.c, with cluster.c's
leadership, through tests/drivers/pager_driver; issue 19): only the
leader pages, from rows claimed in PostgreSQL; when it dies, the next
leader sends what it had in flight again, once, with the same
idempotency key, and every other page exactly once."""
import collections
import json
import os
import signal
import subprocess
import threading
import time

import fx_pg
import harness
from fx_notify import Webhook

LEASE = 2000
N = 1000
CONC = 5


class Pager:
    def __init__(self, env, pg, node, url):
        self.argv = [os.path.join(env.builddir, "tests", "drivers",
                                  "pager_driver"), pg.uri, node,
                     str(LEASE), url, str(CONC)]
        self.node = node
        self.err = os.path.join(env.tmpdir, "pager-%s.err" % node)
        self.lines = []
        harness.register(self)
        self.start()

    def start(self):
        self.lines = []            # this process's lines only
        self._errf = open(self.err, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                     stderr=self._errf,
                                     stdin=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, args=(self.proc,),
                         daemon=True).start()

    def _read(self, proc):
        for raw in proc.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                pass

    def leads(self):
        return self.proc.poll() is None and self.lines and \
            self.lines[-1]["leader"]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stderr(self):
        with open(self.err, errors="replace") as f:
            return f.read()

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._errf.close()


def _leader(pagers):
    return harness.wait_for(lambda: ([p for p in pagers if p.leads()] or
                                     [None])[0], 20, "a leader")


def test_leader_killed_during_a_page_storm(env):
    pg = fx_pg.Postgres(env)
    hook = Webhook(env)
    hook.fail_with(200, 0.05)      # a slow receiver: pages in flight
    ps = [Pager(env, pg, n, hook.url()) for n in "abc"]
    _leader(ps)
    pg.sql("INSERT INTO incidents (id, title, status, impact, urgency, "
           "priority, root_cause, opened_at) VALUES (1, 'storm', 'open', "
           "'high', 'high', 1, 'x', 1)")
    pg.sql("INSERT INTO notify_outbox (id, incident_id, event, channel, "
           "idem_key, status, next_at, created_at) SELECT i, 1, 'opened', "
           "'hook', 'k' || i, 'pending', 0, 0 FROM generate_series(1, %d) "
           "i" % N)
    kills, killed = 0, []
    for _ in range(3):
        time.sleep(1.2)
        dead = _leader(ps)
        sent = int(pg.sql("SELECT count(*) FROM notify_outbox WHERE "
                          "status = 'sent'"))
        dead.kill()
        kills += 1
        killed.append((dead.node, sent))
        # a dead host is not back in milliseconds: another leads first
        harness.wait_for(lambda: [p for p in ps if p is not dead and
                                  p.leads()], 20, "another leader")
        dead.start()
    # every kill came in the middle of the storm
    assert all(0 < sent < N for _, sent in killed), killed
    harness.wait_for(lambda: pg.sql("SELECT count(*) FROM notify_outbox "
                                    "WHERE status = 'sent'").strip() ==
                     str(N), 90, "every page sent (%s)" % (lambda: pg.sql(
                         "SELECT status, sending, claimed_by, count(*) "
                         "FROM notify_outbox GROUP BY 1, 2, 3"))())
    got = collections.defaultdict(list)
    for _, headers, body, _ in hook.received():
        assert headers["idempotency-key"] == body["key"], (headers, body)
        got[body["key"]].append(body)
    # every page arrived
    assert set(got) == {"k%d" % i for i in range(1, N + 1)}, \
        len(set(got))
    # a key twice only when its page was in flight under a killed leader
    # and sent again by the next, marked so; at most one resend a kill
    dups = {k: v for k, v in got.items() if len(v) > 1}
    resent = set(pg.sql("SELECT idem_key FROM notify_outbox WHERE "
                        "resend = 1").split())
    assert set(dups) <= resent, sorted(set(dups) - resent)[:10]
    for k, v in dups.items():
        assert len(v) <= 1 + kills and any(b["resend"] for b in v), (k, v)
    assert len(dups) <= kills * CONC, len(dups)
    # the pages went from more than one leader
    nodes = collections.Counter(b["node"] for v in got.values() for b in v)
    assert len(nodes) > 1, (nodes, killed)
    print("# %d pages, %d kills of the leader, %d sent twice (in flight "
          "at a kill)" % (N, kills, len(dups)))
    for p in ps:
        harness.assert_no_sanitizer_report(p.stderr(), "pager_driver")
