"""The private PostgreSQL fixture (fx_pg.py) the PostgreSQL store's and
the cluster's tests run on (issue 19)."""
import json
import os
import pwd
import re
import socket
import sqlite3
import subprocess
import time

import harness
import fx_pg
from harness import wait_for
from fx_notify import Webhook, incidents
from test_incident_log import hook_policy


def test_pg_fixture_is_a_private_cluster(env):
    pg = fx_pg.Postgres(env)
    # Debian 12's server (15) or newer, run by the unprivileged user.
    v = int(pg.sql("SHOW server_version_num").strip())
    assert v >= 150000, v
    st = os.stat(pg.data)
    assert st.st_uid == pwd.getpwnam(pg.user).pw_uid != 0, st
    # Its unix socket is in its own directory, its TCP port on loopback.
    assert os.path.exists(os.path.join(pg.dir, ".s.PGSQL.%d" % pg.port))
    socket.create_connection(("127.0.0.1", pg.port), timeout=5).close()
    assert pg.sql("SELECT current_database()").strip() == "tocsin"
    assert pg.sql("SHOW listen_addresses").strip() == "127.0.0.1"


def test_pg_fixture_survives_a_stop_and_start(env):
    pg = fx_pg.Postgres(env)
    pg.sql("CREATE TABLE t (v int); INSERT INTO t VALUES (42)")
    pg.stop()

    def refused():
        try:
            socket.create_connection(("127.0.0.1", pg.port),
                                     timeout=1).close()
            return False
        except OSError:
            return True
    harness.wait_for(refused, 10, "PostgreSQL down")
    pg.start()
    assert pg.sql("SELECT v FROM t").strip() == "42"
    d = pg.dir
    pg.cleanup()
    assert not os.path.exists(d), os.listdir(d)


def _tocsinctl(env, *args):
    p = subprocess.run([os.path.join(env.builddir, "tocsinctl")] +
                       list(args), capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    harness.assert_no_sanitizer_report(p.stdout + p.stderr, "tocsinctl")
    return p.returncode, p.stdout, p.stderr


def _pg_rows(pg, table, cols):
    q = "SELECT %s FROM %s ORDER BY %s" % (
        ", ".join("COALESCE(\"%s\"::text, '<NULL>')" % c for c in cols),
        table, ", ".join('"%s"' % c for c in cols))
    # rows end with a record separator, columns with a unit separator
    p = subprocess.run(
        [os.path.join(pg.bindir, "psql"), "-X", "-At", "-F", "\x1f",
         "-R", "\x1e", "-v", "ON_ERROR_STOP=1", "-h", pg.dir, "-p",
         str(pg.port), "-U", "tocsin", "-d", pg.dbname, "-c", q],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout.rstrip("\n")
    return [tuple(r.split("\x1f")) for r in out.split("\x1e")] if out \
        else []


def _sqlite_rows(path, table):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    cols = [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]
    rows = con.execute("SELECT %s FROM %s ORDER BY %s" % (
        ", ".join("COALESCE(CAST(\"%s\" AS TEXT), '<NULL>')" % c
                  for c in cols),
        table, ", ".join('"%s"' % c for c in cols))).fetchall()
    con.close()
    return cols, [tuple(r) for r in rows]


TABLES = ["incidents", "incident_checks", "timeline", "events",
          "check_state", "maintenance", "notify_outbox", "notify_esc",
          "check_daily", "changes", "problems", "problem_incidents"]


def test_pg_migrate_store_copies_the_incident_log(env):
    hook = Webhook(env)
    pg = fx_pg.Postgres(env)
    d = env.daemon('dummy "web" { state = critical  interval = 1s  '
                   'max_attempts = 1 }\n'
                   'dummy "db" { state = ok  interval = 1s }\n' +
                   hook_policy(hook.url()))
    d.start(timeout=20)
    wait_for(lambda: len(incidents(d, "open")) == 1, 20, "an incident")
    inc = incidents(d, "open")[0]
    st, _ = d.post("/api/v1/incidents/%d/ack" % inc["id"],
                   {"by": "alice", "comment": "on it"})
    assert st == 200, st
    d.post("/api/v1/changes", {"title": "deploy 1.2",
                               "checks": ["web"], "by": "ci"})
    wait_for(lambda: hook.raw(), 20, "the page")
    d.stop()
    src = os.path.join(d.state_dir, "incidents.db")

    rc, out, err = _tocsinctl(env, "migrate-store", "--to", pg.uri,
                              "--from", src)
    assert rc == 0, out + err
    assert "schema migrated to version 3" in out, out
    total = 0
    for t in TABLES:
        cols, want = _sqlite_rows(src, t)
        got = _pg_rows(pg, t, cols)
        assert got == want, (t, want, got)
        total += len(want)
    assert "copied %d rows from %s" % (total, src) in out, out
    for t in ("incidents", "timeline", "events", "notify_outbox",
              "changes", "check_state"):
        assert _sqlite_rows(src, t)[1], "nothing in %s to copy" % t
    assert pg.sql("SELECT version FROM tocsin_schema").strip() == "3"

    # Never merged into a log: a second copy is refused, nothing added.
    rc, out, err = _tocsinctl(env, "migrate-store", "--to", pg.uri,
                              "--from", src)
    assert rc == 1 and "already has rows: refused" in err, out + err
    assert int(pg.sql("SELECT count(*) FROM incidents")) == 1

    # A database newer than this tocsinctl is refused, left as it is.
    pg.sql("CREATE DATABASE newer")
    newer = pg.uri.rsplit("/", 1)[0] + "/newer"
    pg.sql("CREATE TABLE tocsin_schema (one INT PRIMARY KEY DEFAULT 1, "
           "version INT NOT NULL); INSERT INTO tocsin_schema (version) "
           "VALUES (99)", db="newer")
    rc, out, err = _tocsinctl(env, "migrate-store", "--to", newer,
                              "--from", src)
    assert rc == 1 and "schema version 99, newer than this tocsinctl's " \
        "3: refused" in err, out + err
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE tablename = "
                  "'incidents'", db="newer").strip() == "0"

    # Usage errors exit 2.
    rc, out, err = _tocsinctl(env, "migrate-store", "--from", src)
    assert rc == 2 and "usage: tocsinctl migrate-store" in err, err


def _driver(env, *args):
    return [os.path.join(env.builddir, "tests", "drivers", "pgc_driver")] + \
        [str(a) for a in args]


def _run_driver(env, *args, timeout=120):
    p = subprocess.run(_driver(env, *args), capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    harness.assert_no_sanitizer_report(p.stdout + p.stderr, "pgc_driver")
    return p.returncode, json.loads(p.stdout), p.stderr


def test_pg_conn_migrates_and_writes_a_pipelined_batch(env):
    # pg_conn.c: asynchronous connect, the schema made on connect, then
    # BEGIN, 2000 INSERTs and COMMIT as one pipelined batch; the loop's
    # 10 ms timer is never held up long (nothing blocks it).
    pg = fx_pg.Postgres(env)
    rc, out, err = _run_driver(env, pg.conninfo, 2000)
    assert rc == 0 and out["committed"], (out, err)
    assert out["ok"] == 2001 and out["failed"] == 0, out
    assert out["max_lag_ms"] < 200, out
    assert "schema migrated to version 3" in err, err
    assert pg.sql("SELECT version FROM tocsin_schema").strip() == "3"
    assert pg.sql("SELECT count(*) FROM check_state").strip() == "2000"
    # Over TCP too, and a current schema is left as it is.
    rc, out, err = _run_driver(env, pg.uri, 0)
    assert rc == 0 and out["committed"], (out, err)
    assert "migrated" not in err, err


def test_pg_conn_waits_through_an_outage_then_writes(env):
    pg = fx_pg.Postgres(env)
    pg.stop()
    p = subprocess.Popen(_driver(env, pg.conninfo, 10, 60),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, stdin=subprocess.DEVNULL)
    try:
        time.sleep(2.5)
        assert p.poll() is None, p.communicate()
        pg.start()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    harness.assert_no_sanitizer_report(out + err, "pgc_driver")
    res = json.loads(out)
    assert p.returncode == 0 and res["committed"], (res, err)
    assert res["ok"] == 11 and res["max_lag_ms"] < 200, res
    assert "postgresql: cannot connect" in err, err
    # an outage is one line, not one a retry; the reconnect counts them
    assert err.count("postgresql: cannot connect") == 1, err
    assert "again in 1000 ms" in err, err
    m = re.search(r"connected again, schema version \d+ \((\d+) failed "
                  r"attempts? not logged\)", err)
    assert m and int(m.group(1)) >= 1, err
    assert "NOTICE" not in err, err     # the server's notices: debug log
    assert pg.sql("SELECT count(*) FROM check_state").strip() == "10"


def test_pg_conn_refuses_a_newer_schema(env):
    pg = fx_pg.Postgres(env)
    pg.sql("CREATE TABLE tocsin_schema (one INT PRIMARY KEY DEFAULT 1, "
           "version INT NOT NULL); INSERT INTO tocsin_schema (version) "
           "VALUES (99)")
    rc, out, err = _run_driver(env, pg.conninfo, 1, 3)
    assert rc == 1 and not out["committed"] and out["ups"] == 0, out
    assert "schema version 99, newer than this tocsind's 3: refused" in \
        err, err
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE tablename = "
                  "'incidents'").strip() == "0"
