"""The private PostgreSQL fixture (fx_pg.py) the PostgreSQL store's and
the cluster's tests run on (issue 19)."""
import os
import pwd
import socket

import harness
import fx_pg


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
