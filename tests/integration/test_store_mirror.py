"""The incident log's SQLite batches mirrored into PostgreSQL (src/
incident/store_mirror.c through tests/drivers/smirror_driver; issue 19):
the real store writes what the correlator and the notifier write, batch
after batch; PostgreSQL ends with the same rows in every table, through
an outage of PostgreSQL too."""
import os
import sqlite3
import subprocess
import time

import fx_pg
import harness


def _tables(db):
    c = sqlite3.connect(db)
    names = [r[0] for r in c.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
        "LIKE 'sqlite_%' ORDER BY name")]
    out = {}
    for t in names:
        info = c.execute('PRAGMA table_info("%s")' % t).fetchall()
        cols = [r[1] for r in info]
        pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5] > 0]
        rows = c.execute('SELECT %s FROM "%s" ORDER BY %s' % (
            ", ".join('"%s"' % x for x in cols), t,
            ", ".join('"%s"' % x for x in pk))).fetchall()
        out[t] = (cols, pk, [tuple("" if v is None else str(v) for v in r)
                             for r in rows])
    c.close()
    return out


def _pg_rows(pg, t, cols, pk):
    text = pg.sql('COPY (SELECT %s FROM "%s" ORDER BY %s) TO STDOUT '
                  "WITH (FORMAT csv)" % (", ".join('"%s"' % x for x in cols),
                                         t, ", ".join('"%s"' % x
                                                      for x in pk)))
    import csv
    import io
    return [tuple(r) for r in csv.reader(io.StringIO(text))]


def _run(env, pg, db, rounds, interval_ms):
    return subprocess.Popen(
        [os.path.join(env.builddir, "tests", "drivers", "smirror_driver"),
         pg.uri, db, str(rounds), str(interval_ms)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)


def _same(pg, db):
    tables = _tables(db)
    assert len(tables) >= 12, sorted(tables)
    counted = 0
    for t, (cols, pk, rows) in tables.items():
        got = _pg_rows(pg, t, cols, pk)
        assert got == rows, (t, len(got), len(rows),
                             [r for r in rows if r not in got][:3],
                             [r for r in got if r not in rows][:3])
        counted += len(rows)
    return tables, counted


def test_every_batch_arrives_the_same(env):
    pg = fx_pg.Postgres(env)
    db = os.path.join(env.tmpdir, "incidents.db")
    p = _run(env, pg, db, 60, 20)
    out, err = p.communicate(timeout=150)
    harness.assert_no_sanitizer_report(out + err, "smirror_driver")
    assert p.returncode == 0, (out, err[-3000:])
    tables, n = _same(pg, db)
    # the sample is what it says: rows in the tables that matter, some
    # deleted (maintenance windows), some updated (acks, closes, sends)
    for t in ("incidents", "incident_checks", "timeline", "events",
              "check_state", "notify_outbox", "notify_esc", "maintenance",
              "problems", "problem_incidents"):
        assert tables[t][2], t
    assert len(tables["maintenance"][2]) == 1
    assert any(r[tables["incidents"][0].index("status")] == "closed"
               for r in tables["incidents"][2])
    print("# %d rows in %d tables the same; %s" % (n, len(tables),
                                                  out.strip()))


def test_batches_wait_through_a_postgres_outage(env):
    pg = fx_pg.Postgres(env)
    db = os.path.join(env.tmpdir, "incidents.db")
    p = _run(env, pg, db, 150, 20)
    time.sleep(1.0)
    pg.stop()
    time.sleep(2.0)
    pg.start()
    out, err = p.communicate(timeout=150)
    harness.assert_no_sanitizer_report(out + err, "smirror_driver")
    assert p.returncode == 0, (out, err[-3000:])
    _same(pg, db)
    assert "postgresql:" in err and "again in" in err, err[-2000:]


def test_a_follower_copies_the_log_through_kills(env):
    """A follower applies the leader's changesets (store_log) to its own
    SQLite file; killed with SIGKILL twice while doing so, it goes on
    from where it was, and ends with the leader's rows in every table."""
    pg = fx_pg.Postgres(env)
    db = os.path.join(env.tmpdir, "leader.db")
    fdb = os.path.join(env.tmpdir, "follower.db")
    state = os.path.join(env.tmpdir, "follower.seq")
    drv = os.path.join(env.builddir, "tests", "drivers", "smirror_driver")

    def follower():
        return subprocess.Popen([drv, "follow", pg.uri, fdb, state],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
    lead = _run(env, pg, db, 150, 20)
    f = follower()
    for _ in range(2):
        time.sleep(1.0)
        f.kill()
        f.communicate(timeout=20)
        f = follower()
    out, err = lead.communicate(timeout=150)
    assert lead.returncode == 0, (out, err[-3000:])
    last = int(pg.sql("SELECT max(seq) FROM store_log").strip())
    harness.wait_for(lambda: os.path.exists(state) and
                     int(open(state).read().strip() or 0) == last, 30,
                     "the follower at seq %d" % last)
    f.terminate()
    fout, ferr = f.communicate(timeout=20)
    harness.assert_no_sanitizer_report(fout + ferr, "smirror_driver follow")
    leader, follower_t = _tables(db), _tables(fdb)
    for t, (cols, pk, rows) in leader.items():
        assert follower_t[t][2] == rows, (t, len(follower_t[t][2]),
                                          len(rows))
    assert sum(len(v[2]) for v in leader.values()) > 500
    # every changeset applied a second time (a crash between an apply
    # and the note of it, at every step): the same rows
    with open(state, "w") as fh:
        fh.write("0\n")
    f = follower()
    harness.wait_for(lambda: int(open(state).read().strip() or 0) == last,
                     30, "the follower at seq %d again" % last)
    f.terminate()
    fout, ferr = f.communicate(timeout=20)
    assert "cannot apply" not in ferr, ferr[-2000:]
    again = _tables(fdb)
    for t, (cols, pk, rows) in leader.items():
        assert again[t][2] == rows, t
