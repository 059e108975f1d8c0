"""
tests/integration/fx_cluster.py — cluster members (tests/drivers/
cluster_driver, src/incident/cluster.c) on a private PostgreSQL.

    m = Member(env, pg.uri, "a", lease_ms=2000, checks=300)
    m.wait(lambda s: s["leader"], 10, "a leads")   # s: the last line
    m.kill()           # kill -9: its session ends with the process
    m.stop()           # SIGTERM
    Member(..., netns=NAME) runs it in that network namespace.
Every line the driver printed is kept (m.lines), with the local time it
was read (m.times).
"""
import json
import os
import signal
import subprocess
import threading
import time

import harness


class Member:
    def __init__(self, env, database, node, location="-", lease_ms=2000,
                 checks=300, config_hash="same", netns=None,
                 locations=None):
        self.env = env
        self.node = node
        # in a network namespace: "ip netns exec" execs the driver, so
        # the pid is still the driver's (a kill -9 reaches it)
        self.argv = (["ip", "netns", "exec", netns] if netns else []) + [
            os.path.join(env.builddir, "tests", "drivers",
                                  "cluster_driver"), database, node,
                     location, str(lease_ms), str(checks), config_hash] + (
                         [",".join(locations)] if locations else [])
        self.lines, self.times = [], []
        self.err = os.path.join(env.tmpdir, "cluster-%s.err" % node)
        self.proc = None
        self.lock = threading.Lock()
        harness.register(self)
        self.start()

    def start(self):
        self._errf = open(self.err, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=self._errf)
        t = threading.Thread(target=self._read, args=(self.proc,),
                             daemon=True)
        t.start()

    def _read(self, proc):
        for raw in proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            with self.lock:
                self.lines.append(line)
                self.times.append(time.time())

    def last(self):
        with self.lock:
            return self.lines[-1] if self.lines else None

    def since(self, t):
        """The lines read after local time t."""
        with self.lock:
            return [l for l, at in zip(self.lines, self.times) if at > t]

    def wait(self, pred, timeout, what):
        def ok():
            s = self.last()
            return s is not None and pred(s)
        harness.wait_for(ok, timeout, "%s: %s" % (self.node, what))
        return self.last()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.alive():
            self.proc.terminate()
            self.proc.wait(20)

    def stderr(self):
        with open(self.err, errors="replace") as f:
            return f.read()

    def cleanup(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)
        if getattr(self, "_errf", None):
            self._errf.close()
