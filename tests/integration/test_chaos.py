"""Crash safety: tocsind killed with SIGKILL at random moments of a storm
of failing and recovering checks, restarted each time, loses nothing it
had shown through the API and duplicates nothing; a full disk gives clear
errors, keeps the daemon serving and corrupts nothing."""
import os
import random
import signal
import sqlite3
import subprocess
import time

import harness
from harness import wait_for

KILLS = 5


def storm_conf(n, failing):
    return "".join('dummy "s%03d" { state = "%s"  interval = 1s  '
                   'max_attempts = 1  group = "g%d" }\n'
                   % (k, "critical" if k in failing else "ok", k % 7)
                   for k in range(n))


def db_rows(d, sql):
    con = sqlite3.connect("file:%s/incidents.db?mode=ro" % d.state_dir,
                          uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_kill_9_at_random_moments_loses_and_duplicates_nothing(env):
    n = 300
    rnd = random.Random(20261125)
    failing = set(rnd.sample(range(n), n // 2))
    d = env.daemon(storm_conf(n, failing) +
                   'incidents { group_window = 2s  reopen_window = 1m }\n')
    d.require_plugin("dummy")
    d.start(timeout=30)
    shown_events = set()      # (check, state) pairs the API showed hard
    shown_incidents = {}      # id -> status seen
    for k in range(KILLS):
        # a new storm: a different half fails, reload, then kill soon
        failing = set(rnd.sample(range(n), n // 2))
        d.write_config(storm_conf(n, failing) +
                       'incidents { group_window = 2s  '
                       'reopen_window = 1m }\n')
        d.signal(signal.SIGHUP)
        deadline = time.time() + rnd.uniform(0.3, 2.5)
        while time.time() < deadline:
            for c in d.checks():
                if c["state_type"] == "hard" and c["last_check"]:
                    shown_events.add((c["name"], c["state"]))
            for i in d.get("/api/v1/incidents?status=all&limit=1000")[
                    "incidents"]:
                shown_incidents[i["id"]] = i["status"]
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)

        rows = db_rows(d, "PRAGMA integrity_check")
        assert rows == [("ok",)], rows
        # every hard state the API showed is the last logged state of
        # that check at the time, or the check never changed (OK)
        logged = {}
        for name, state in db_rows(d, "SELECT check_name, new_state FROM "
                                   "events ORDER BY id"):
            logged[name] = logged.get(name, set()) | {state}
        lost = [(c, s) for c, s in shown_events
                if s != "OK" and s not in logged.get(c, set())]
        assert not lost, "kill %d: shown but not logged: %r" % (k, lost[:5])
        ids = {r[0]: r[1] for r in db_rows(d, "SELECT id, status FROM "
                                           "incidents")}
        gone = [i for i in shown_incidents if i not in ids]
        assert not gone, "kill %d: incidents lost: %r" % (k, gone[:5])
        # no check is in two active incidents at once
        dup = db_rows(d, "SELECT ic.check_name, count(*) FROM "
                      "incident_checks ic JOIN incidents i ON "
                      "i.id = ic.incident_id WHERE i.status IN "
                      "('open','acknowledged') AND ic.detached = 0 "
                      "GROUP BY ic.check_name HAVING count(*) > 1")
        assert dup == [], "kill %d: %r" % (k, dup[:5])
        d.start(timeout=30)

    # after the last restart the log converges to the configured truth
    def converged():
        crit = {c["name"] for c in d.checks("?state=CRITICAL")
                if c["state_type"] == "hard"}
        return crit == {"s%03d" % k for k in failing}
    wait_for(converged, 20, "the checks to settle after the restarts")
    time.sleep(1.5)
    active = {r[0] for r in db_rows(
        d, "SELECT ic.check_name FROM incident_checks ic JOIN incidents i "
        "ON i.id = ic.incident_id WHERE i.status IN ('open',"
        "'acknowledged') AND ic.detached = 0")}
    want = {"s%03d" % k for k in failing}
    assert want <= active, sorted(want - active)[:10]
    d.stop()


def test_full_disk_gives_clear_errors_and_no_corruption(env):
    if os.geteuid() != 0:
        raise harness.Skip("mounting a small tmpfs needs root")
    mnt = env.path("small")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k",
                        "tmpfs", mnt], capture_output=True, text=True)
    if r.returncode != 0:
        raise harness.Skip("cannot mount a tmpfs here: %s" %
                           r.stderr.strip())

    class Umount:
        def cleanup(self):
            subprocess.run(["umount", "-l", mnt], capture_output=True)
    harness.register(Umount())

    n = 200
    d = env.daemon("")
    d.state_dir = mnt           # header() puts it in daemon { }
    d.write_config(storm_conf(n, set(range(n))))
    d.start(timeout=30)
    wait_for(lambda: d.get("/api/v1/status")["open_incidents"] > 0, 20,
             "incidents on the small disk")
    # fill the disk
    filler = os.path.join(mnt, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    # storms keep coming: flip everything to OK and back
    for state in ("ok", "critical", "ok"):
        d.write_config(storm_conf(n, set(range(n)) if state == "critical"
                                  else set()))
        d.signal(signal.SIGHUP)
        time.sleep(2)
        assert d.alive(), d.log()[-2000:]
        d.get("/api/v1/status")          # still serving
    log = d.log()
    assert "full" in log or "commit failed" in log or "write failed" in \
        log, log[-3000:]
    os.unlink(filler)
    time.sleep(2)
    d.stop()
    rows = db_rows(d, "PRAGMA integrity_check")
    assert rows == [("ok",)], rows
