"""Regressions for what the fuzz harnesses (tests/fuzz/) found: each input
that crashed or leaked is replayed through the real tocsind here, so the
fix stays fixed also in builds without clang (the sanitizer build checks
the leaks: tocsind -t exits normally, LSan runs, harness fails on its
report)."""


def test_malformed_function_call_is_a_config_error_without_leak(env):
    # fuzz_conf: libconfuse leaked the arguments of an include() cut short
    # by a syntax error; now conf.c refuses such a call first, with its line
    for bad in ('include("x" }\n', 'include("conf.d/a.conf" daemon { }\n',
                'include(a b)\n', 'include("x",\n', 'include(e',
                'include(conf.d/*.conf)\n'):
        d = env.daemon('dummy "fine" { state = ok }\n' + bad)
        rc, out = d.check_config()
        line = d.line_of("include(")
        assert rc == 1, "tocsind -t accepted %r: %s" % (bad, out)
        want = "%s:%d: malformed function call" % (d.conf, line)
        assert want in out, "for %r wanted %r in: %s" % (bad, want, out)


def test_wellformed_function_calls_still_accepted(env):
    env.file("conf.d/a.conf", 'dummy "a" { state = ok }\n')
    d = env.daemon('dummy "fine" { state = ok }\n'
                   'include( "conf.d/*.conf" )\n'
                   'include(\n  "conf.d/none*.conf"\n)\n')
    rc, out = d.check_config()
    assert rc == 0, "tocsind -t exited %d: %s%s" % (rc, out, d.last_stderr)


def test_incident_log_with_a_negative_schema_version_is_refused(env):
    # fuzz_idb: a database whose user_version is negative (any 32-bit
    # number can be there) indexed the migration table out of bounds
    import os
    import sqlite3
    import harness
    d = env.daemon('dummy "fine" { state = ok }\n')
    os.makedirs(d.state_dir, exist_ok=True)
    db = os.path.join(d.state_dir, "incidents.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = -50331549")
    con.commit()
    con.close()
    try:
        d.start()
    except harness.DaemonExited as e:
        assert e.returncode not in (None, 0) and e.returncode > 0, \
            e.returncode
        assert "schema version -50331549 is not one tocsind wrote" in \
            e.log, e.log
    else:
        raise AssertionError("tocsind started on a foreign incident log")
    # nothing was written over it
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == -50331549
    con.close()
