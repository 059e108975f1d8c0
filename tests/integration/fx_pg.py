"""
tests/integration/fx_pg.py — a private PostgreSQL cluster for a test.

Postgres(env) runs Debian's own server binaries (/usr/lib/postgresql/N/
bin, the newest N installed): initdb in a fresh directory of its own
under /tmp, owned by an unprivileged user (the tests run as root and the
server refuses root; "nobody" unless TOCSIN_PG_USER names another), then
pg_ctl start on a free TCP port of 127.0.0.1 with its unix socket in the
same directory.  Trust authentication, for loopback and the socket only.
stop() and start() stop and restart the same cluster (an outage in a
test); cleanup() (the harness's teardown) stops it ("immediate") and
removes the directory.  Nothing outside the directory is touched.

    pg = fx_pg.Postgres(env)
    pg.uri            # "postgresql://tocsin@127.0.0.1:PORT/tocsin"
    pg.conninfo       # the same over the unix socket
    pg.sql("SELECT 1")  # psql -At, returns stdout
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

import harness


def pg_bindir():
    """The newest /usr/lib/postgresql/N/bin with initdb, or Skip."""
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        v = d.split("/")[-2]
        if v.isdigit() and os.access(os.path.join(d, "initdb"), os.X_OK):
            found.append((int(v), d))
    if not found:
        raise harness.Skip("PostgreSQL server binaries not installed "
                           "(apt-get install postgresql)")
    return max(found)[1]


class Postgres:
    """A private PostgreSQL cluster, database and role "tocsin"."""

    def __init__(self, env, user=None, dbname="tocsin", also_listen=None,
                 trust_from=None):
        """also_listen: one more address to listen on (a veth's, for a
        member in a network namespace); trust_from: an address that may
        connect over TCP with trust (that member's)."""
        self.bindir = pg_bindir()
        self.user = user or os.environ.get("TOCSIN_PG_USER", "nobody")
        pw = pwd.getpwnam(self.user)
        # Not under env.tmpdir: that one is root's, mode 0700.
        self.dir = tempfile.mkdtemp(prefix="tocsin-pg-")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = harness.free_port()
        self.dbname = dbname
        self.running = False
        harness.register(self)
        self._as_user([os.path.join(self.bindir, "initdb"), "-D", self.data,
                       "-U", "tocsin", "-A", "trust", "-E", "UTF8",
                       "--no-sync", "--locale=C"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1%s'\n"
                    "port = %d\n"
                    "unix_socket_directories = '%s'\n"
                    "fsync = off\n"          # a test cluster, thrown away
                    "max_connections = 50\n"
                    "shared_buffers = 16MB\n" % (
                        ", " + also_listen if also_listen else "",
                        self.port, self.dir))
        if trust_from:
            with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
                f.write("host all all %s/32 trust\n" % trust_from)
        self.start()
        self.sql("CREATE DATABASE %s" % dbname, db="postgres")
        self.uri = "postgresql://tocsin@127.0.0.1:%d/%s" % (self.port,
                                                            dbname)
        self.conninfo = "host=%s port=%d user=tocsin dbname=%s" % (
            self.dir, self.port, dbname)

    def _as_user(self, argv, check=True, timeout=60):
        p = subprocess.run(["runuser", "-u", self.user, "--"] + argv,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout, cwd=self.dir)
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d: %s%s%s" % (
                " ".join(argv[:2]), p.returncode, p.stdout, p.stderr,
                self.server_log()))
        return p

    def server_log(self):
        try:
            with open(self.log) as f:
                return "\nserver log:\n" + harness.tail(f.read(), 30)
        except OSError:
            return ""

    def start(self):
        """pg_ctl start, waiting until it accepts connections."""
        self._as_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                       "-l", self.log, "-w", "-t", "60", "start"])
        self.running = True

    def stop(self, mode="fast"):
        """pg_ctl stop (mode fast or immediate), waiting until it is down."""
        self._as_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                       "-m", mode, "-w", "-t", "60", "stop"])
        self.running = False

    def sql(self, query, db=None):
        """Runs query with psql over the socket; returns its -At output."""
        p = subprocess.run(
            [os.path.join(self.bindir, "psql"), "-X", "-At", "-v",
             "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
             "-U", "tocsin", "-d", db or self.dbname, "-c", query],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=60)
        if p.returncode != 0:
            raise AssertionError("psql %r exited %d: %s" % (
                query, p.returncode, p.stderr))
        return p.stdout

    def cleanup(self):
        try:
            if self.running and os.path.exists(
                    os.path.join(self.data, "postmaster.pid")):
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
