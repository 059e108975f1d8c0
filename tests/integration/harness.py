"""
tests/integration/harness.py — the world an integration test runs in.

A test drives tocsind as an operator would: it writes a config file into
its own temp dir, starts the daemon, and looks only at what an operator
sees: the API, the log (stderr), exit codes, files and processes.  Every
object made here (daemons, nginx instances) registers itself so that
run.py can tear it down after the test, whether the test passed or not.

Every wait is bounded: a test may fail, it may never hang.
"""
import http.client
import json
import os
import re
import resource
import shutil
import shlex
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "LeakSanitizer",
                     "runtime error:")
RFC3339 = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN", "UNREACHABLE")


class Skip(Exception):
    """Raised by a test that cannot run here (a missing tool)."""


class DaemonExited(Exception):
    """tocsind exited while we waited for it to answer."""

    def __init__(self, returncode, log):
        self.returncode = returncode
        self.log = log
        super().__init__("tocsind exited with status %s before answering; "
                         "its log:\n%s" % (returncode, tail(log, 30)))


# ---- registry of what a test started, for teardown ---------------------

_live = []


def register(obj):
    _live.append(obj)
    return obj


def live_objects():
    return list(_live)


def cleanup_all():
    """Tears down everything started since the last call (run.py)."""
    errors = []
    while _live:
        obj = _live.pop()
        try:
            obj.cleanup()
        except Exception as e:  # keep tearing down the rest
            errors.append("%s: %s" % (type(obj).__name__, e))
    return errors


# ---- small helpers ------------------------------------------------------

def tail(text, n):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def assert_no_sanitizer_report(text, where):
    for m in SANITIZER_MARKERS:
        if m in text:
            i = text.index(m)
            raise AssertionError("sanitizer report in %s (%r):\n%s" % (
                where, m, text[max(0, i - 300):i + 3000]))


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def line_of(text, marker, nth=1):
    """1-based line number of the nth line of text containing marker."""
    seen = 0
    for i, line in enumerate(text.splitlines(), 1):
        if marker in line:
            seen += 1
            if seen == nth:
                return i
    raise AssertionError("marker %r (occurrence %d) not in text" %
                         (marker, nth))


def write_file(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(tmp, mode)
    os.replace(tmp, path)   # atomic: a plugin never reads half a file


def wait_for(predicate, timeout, what, interval=0.05):
    """
    Polls predicate() every interval seconds until it returns something
    true, and returns that.  On timeout raises AssertionError naming what
    was awaited and the last value (or exception) seen.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = predicate()
            if v:
                return v
            last = v
        except (AssertionError, OSError, ValueError,
                http.client.HTTPException) as e:
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %gs waiting for %s; "
                                 "last seen: %r" % (timeout, what, last))
        time.sleep(interval)


def pids_matching(marker):
    """Pids of live processes whose command line contains marker."""
    r = subprocess.run(["pgrep", "-f", "--", marker], capture_output=True,
                       text=True, timeout=10)
    me = os.getpid()
    return sorted(int(p) for p in r.stdout.split() if int(p) != me)


def kill_pids(pids):
    """Kills the given pids (leftovers of a test), one by one."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def unique_marker(base="30"):
    """A sleep argument nobody else uses: "30.<random digits>"."""
    return "%s.%06d%d" % (base, int.from_bytes(os.urandom(3), "big") %
                          1000000, os.getpid() % 10)


# ---- tocsind ------------------------------------------------------------

class Daemon:
    """
    One tocsind with its own config, state dir, plugin dir and API port,
    all under tmpdir.  Construct, optionally check_config(), start(), poke
    it through get()/check()/reload(), stop().
    """

    def __init__(self, tmpdir, config_text, builddir, extra_plugins=(),
                 conf_name="tocsin.conf", with_plugins=True, api_extra="",
                 nofile=None, rrd_flush_delay="1s", api_host="127.0.0.1",
                 netns=None):
        self.tmpdir = os.path.abspath(tmpdir)
        # where its API listens and is asked (an address of its network
        # namespace when netns names one: it runs in there)
        self.api_host = api_host
        self.netns = netns
        self.builddir = os.path.abspath(builddir)
        self.binary = os.path.join(self.builddir, "tocsind")
        if not os.access(self.binary, os.X_OK):
            raise AssertionError("no tocsind binary at %s (build first)" %
                                 self.binary)
        self.conf = os.path.join(self.tmpdir, conf_name)
        self.state_dir = os.path.join(self.tmpdir, "state")
        self.plugin_dir = os.path.join(self.tmpdir, "plugins")
        self.logfile = os.path.join(self.tmpdir,
                                    conf_name.replace(".conf", "") + ".log")
        self.port = free_port()
        # where tocsind keeps the API token (api.token_file); a test that
        # sets token_file in its config sets this too
        self.token_file = os.path.join(self.state_dir, "api.token")
        self.proc = None
        # more keys for the api { } block the header writes
        self.api_extra = api_extra
        # RLIMIT_NOFILE (soft and hard) tocsind starts with, or None
        self.nofile = nofile
        # daemon { rrd_flush_delay }: 1 s so that tests reading RRD files
        # see values soon (the default, 5m, is tested in test_rrd_cache);
        # None: the default
        self.rrd_flush_delay = rrd_flush_delay
        self.last_stderr = ""
        self._log_fp = None
        self._out_fp = None
        self._log_start = 0
        register(self)
        os.makedirs(self.plugin_dir, exist_ok=True)
        if with_plugins:
            libs = os.path.join(self.builddir, "plugins", ".libs")
            if os.path.isdir(libs):
                for f in sorted(os.listdir(libs)):
                    if f.endswith(".so"):
                        self._link_plugin(os.path.join(libs, f))
        for p in extra_plugins:
            self._link_plugin(p)
        self.write_config(config_text)

    def _link_plugin(self, path):
        dst = os.path.join(self.plugin_dir, os.path.basename(path))
        if os.path.lexists(dst):
            os.unlink(dst)
        os.symlink(os.path.abspath(path), dst)

    def plugins(self):
        return sorted(os.listdir(self.plugin_dir))

    def require_plugin(self, name):
        """Fails (not skips) when a plugin the test needs was not built."""
        if name + ".so" not in self.plugins():
            raise AssertionError(
                "plugin %s.so not built in %s/plugins/.libs" %
                (name, self.builddir))

    def header(self):
        self.header_text = ('daemon {\n'
                '  state_dir = "%s"\n'
                '  plugin_dir = "%s"\n'
                '  log_level = "debug"\n'
                '%s%s'
                '}\n'
                'api { listen = "%s:%d" %s}\n'
                % (self.state_dir, self.plugin_dir,
                   '  rrd_flush_delay = %s\n' % self.rrd_flush_delay
                   if self.rrd_flush_delay is not None else '',
                   # tests run as root in CI: tocsind refuses that unless told
                   '  allow_root = true\n' if os.geteuid() == 0 else '',
                   self.api_host, self.port, self.api_extra + " " if self.api_extra
                   else ""))
        return self.header_text

    def write_config(self, config_text):
        self.config_text = self.header() + config_text
        write_file(self.conf, self.config_text)

    def line_of(self, marker, nth=1):
        """Line number of marker in the main config file as written."""
        return line_of(self.config_text, marker, nth)

    def env(self):
        e = dict(os.environ)
        e["ASAN_OPTIONS"] = "detect_leaks=1"
        e["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        return e

    # -- running --

    @staticmethod
    def wrapper():
        """TOCSIN_DAEMON_WRAPPER (make check-valgrind): what tocsind runs
        under, e.g. "valgrind --error-exitcode=99"; [] normally."""
        return shlex.split(os.environ.get("TOCSIN_DAEMON_WRAPPER", ""))

    def check_config(self):
        """tocsind -t: returns (returncode, stdout); stderr in last_stderr."""
        r = subprocess.run(self.wrapper() +
                           [self.binary, "-t", "-c", self.conf],
                           capture_output=True, text=True, errors="replace",
                           timeout=30, env=self.env(), cwd="/",
                           stdin=subprocess.DEVNULL)
        self.last_stderr = r.stderr
        assert_no_sanitizer_report(r.stdout + r.stderr, "tocsind -t")
        return r.returncode, r.stdout

    def start(self, timeout=10):
        """
        Starts tocsind -f and waits until GET /api/v1/status answers.
        Raises DaemonExited if the process ends first.  The working
        directory is / so that nothing works by accident of the cwd.
        stderr (the log) goes to self.logfile, stdout to its own file.
        """
        for attempt in range(3):
            try:
                return self._start(timeout)
            except DaemonExited as e:
                # free_port() races with anything else binding ports: if
                # the port was taken meanwhile, take another one.
                if attempt == 2 or "cannot listen on" not in e.log or \
                        "in use" not in e.log:
                    raise
                self.port = free_port()
                self.write_config(self.config_text[len(self.header_text):])

    def _start(self, timeout):
        assert self.proc is None or self.proc.poll() is not None, \
            "already running"
        self._close_log()
        self._log_start = len(self.log())
        self._log_fp = open(self.logfile, "ab")
        self._out_fp = open(self.logfile + ".stdout", "ab")
        if self.wrapper():
            timeout *= 10   # valgrind: slow start
        nofile = self.nofile

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        # "ip netns exec" execs tocsind: the pid is still tocsind's
        ns = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen(
            ns + self.wrapper() + [self.binary, "-f", "-c", self.conf],
            stdin=subprocess.DEVNULL,
            stdout=self._out_fp, stderr=self._log_fp, env=self.env(),
            cwd="/", preexec_fn=limits if nofile is not None else None)
        deadline = time.monotonic() + timeout
        last = None
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self._close_log()
                raise DaemonExited(rc, self.log()[self._log_start:])
            try:
                # with the token once it exists: reads may need it
                st, _, _ = self.get_raw(
                    "/api/v1/status", timeout=1,
                    token=os.path.exists(self.token_file) or None)
                if st == 200:
                    return self
                last = "HTTP %d" % st
            except (OSError, http.client.HTTPException) as e:
                last = str(e)
            if time.monotonic() >= deadline:
                raise AssertionError(
                    "tocsind did not answer GET /api/v1/status within %gs "
                    "(last: %s); log:\n%s" % (timeout, last,
                                              tail(self.log(), 30)))
            time.sleep(0.05)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout=10):
        """Waits for the process to end by itself; returns its status."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("tocsind still running after %gs" %
                                 timeout)

    def signal(self, sig):
        assert self.alive(), "tocsind is not running"
        self.proc.send_signal(sig)

    def stop(self, timeout=10):
        """SIGTERM; asserts a clean exit (status 0, no sanitizer report)."""
        assert self.proc is not None, "tocsind was never started"
        rc = self.proc.poll()
        if self.wrapper():
            timeout *= 6    # valgrind: the leak check at exit
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("tocsind did not stop within %gs of "
                                     "SIGTERM" % timeout)
        self._close_log()
        assert rc == 0, "tocsind exited with status %d after SIGTERM" % rc
        self.assert_no_sanitizer_report()
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._close_log()

    def _close_log(self):
        for attr in ("_log_fp", "_out_fp"):
            fp = getattr(self, attr, None)
            if fp is not None:
                fp.close()
                setattr(self, attr, None)

    def cleanup(self):
        self.kill()

    def log(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def assert_no_sanitizer_report(self):
        assert_no_sanitizer_report(self.log(), "the tocsind log")

    def wait_log(self, pattern, timeout=10, start=0):
        """Waits until the log (from offset start) matches regex pattern."""
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.log()[start:]), timeout,
                        "log line matching %r" % pattern)

    def reload(self, new_config_text, timeout=10):
        """
        Rewrites the config and sends SIGHUP, then waits until the log
        says the reload was done or refused.  Returns the log text the
        reload produced.
        """
        start = len(self.log())
        self.write_config(new_config_text)
        self.signal(signal.SIGHUP)
        wait_for(lambda: re.search(r"reloaded|refused",
                                   self.log()[start:]),
                 timeout, "the log to report the reload")
        return self.log()[start:]

    # -- API --

    @property
    def token(self):
        """The API token, as tocsind wrote it to token_file."""
        with open(self.token_file) as f:
            return f.read().strip()

    def get_raw(self, path, method="GET", body=None, headers=None,
                timeout=5, token=None):
        """
        Any request; returns (status, headers as a dict, body bytes).
        token: None sends no Authorization header, True sends the
        daemon's token, a string sends that string as the token.
        """
        headers = dict(headers or {})
        if token is True:
            token = self.token
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        c = http.client.HTTPConnection(self.api_host, self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path):
        st, _, body = self.get_raw(path)
        if st != 200:
            raise AssertionError("GET %s: HTTP %d: %s" % (
                path, st, body[:500].decode("utf-8", "replace")))
        try:
            return json.loads(body)
        except ValueError as e:
            raise AssertionError("GET %s: not JSON (%s): %r" % (
                path, e, body[:500]))

    def post(self, path, obj=None, token=True, body=None):
        """
        POST obj as JSON (or raw body bytes) with the token (see
        get_raw); returns (status, the reply parsed as JSON or None).
        """
        if obj is not None:
            body = json.dumps(obj).encode()
        st, _, data = self.get_raw(
            path, method="POST", body=body if body is not None else b"",
            headers={"Content-Type": "application/json"}, token=token)
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        return st, doc

    def checks(self, query=""):
        return self.get("/api/v1/checks" + query)["checks"]

    def check(self, name):
        return self.get("/api/v1/checks/" + urllib.parse.quote(name, safe=""))

    def wait_for(self, predicate, timeout, what):
        return wait_for(predicate, timeout, what)

    def wait_check(self, name, state=None, state_type=None, timeout=10,
                   pred=None, **fields):
        """
        Waits until check name has the given state, state_type, other
        fields (attempt=2, …) and satisfies pred(check) if given; returns
        the check.  Fails with the last value seen.
        """
        last = [None]

        def ok():
            c = self.check(name)
            last[0] = c
            if state is not None and c.get("state") != state:
                return None
            if state_type is not None and c.get("state_type") != state_type:
                return None
            for k, v in fields.items():
                if c.get(k) != v:
                    return None
            if pred is not None and not pred(c):
                return None
            return c

        want = {"state": state, "state_type": state_type}
        want.update(fields)
        want = {k: v for k, v in want.items() if v is not None}
        try:
            return wait_for(ok, timeout, "check %r with %r%s" % (
                name, want, " and a condition" if pred else ""))
        except AssertionError as e:
            c = last[0]
            if c is not None:
                c = {k: c.get(k) for k in (
                    "state", "state_type", "attempt", "max_attempts",
                    "summary", "last_check", "flapping")}
            raise AssertionError("%s; last check seen: %r" % (
                str(e).split("; last seen")[0], c)) from None

    def wait_ran(self, name, timeout=10):
        """Waits for the first result of check name (last_check set)."""
        return self.wait_check(name, timeout=timeout,
                               pred=lambda c: c.get("last_check"))


def track_check(d, name, until, timeout, what):
    """
    Polls check name until until(check); returns (check, the distinct
    (state, state_type, attempt) seen in order).
    """
    seen = []

    def poll():
        c = d.check(name)
        t = (c["state"], c["state_type"], c["attempt"])
        if not seen or seen[-1] != t:
            seen.append(t)
        return c if until(c) else None
    try:
        c = wait_for(poll, timeout, what)
    except AssertionError as e:
        raise AssertionError("%s; seen: %r" % (e, seen)) from None
    return c, seen


# ---- nginx --------------------------------------------------------------

class Nginx:
    """
    The system nginx as a private instance on 127.0.0.1:port: its own
    prefix, config, pid file and logs under tmpdir/nginx, a normal master
    (so it can be reloaded) kept in the foreground so that it is our
    child.  Serves docroot (index.html: "hello tocsin"); a test makes a
    page fail by deleting it (404) or stops nginx (connection refused).
    """
    BINARY = "/usr/sbin/nginx"

    def __init__(self, tmpdir, start=True):
        if not os.access(self.BINARY, os.X_OK):
            raise Skip("nginx not installed (%s)" % self.BINARY)
        self.prefix = os.path.join(os.path.abspath(tmpdir), "nginx")
        self.docroot = os.path.join(self.prefix, "html")
        self.conf = os.path.join(self.prefix, "nginx.conf")
        self.pidfile = os.path.join(self.prefix, "nginx.pid")
        self.error_log = os.path.join(self.prefix, "error.log")
        self.port = free_port()
        self.proc = None
        register(self)
        for d in ("html", "tmp/body", "tmp/proxy", "tmp/fastcgi",
                  "tmp/uwsgi", "tmp/scgi"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        write_file(os.path.join(self.docroot, "index.html"),
                   "hello tocsin\n")
        if start:
            self.start()

    def _write_conf(self):
        p = self.prefix
        user = "user root;\n" if os.geteuid() == 0 else ""
        write_file(self.conf, (
            "%(user)s"
            "worker_processes 1;\n"
            "error_log %(p)s/error.log info;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            "  access_log %(p)s/access.log;\n"
            "  client_body_temp_path %(p)s/tmp/body;\n"
            "  proxy_temp_path %(p)s/tmp/proxy;\n"
            "  fastcgi_temp_path %(p)s/tmp/fastcgi;\n"
            "  uwsgi_temp_path %(p)s/tmp/uwsgi;\n"
            "  scgi_temp_path %(p)s/tmp/scgi;\n"
            "  server {\n"
            "    listen 127.0.0.1:%(port)d;\n"
            "    root %(p)s/html;\n"
            "    location / { }\n"
            "  }\n"
            "}\n") % {"user": user, "p": p, "port": self.port})

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def start(self, timeout=10):
        for attempt in range(3):
            self._write_conf()
            try:
                return self._start(timeout)
            except AssertionError:
                # free_port() raced with another bind: take another port
                if attempt == 2 or "in use" not in self.log():
                    raise
                self.stop()
                self.port = free_port()

    def _start(self, timeout):
        self._err = open(os.path.join(self.prefix, "stderr.log"), "ab")
        self.proc = subprocess.Popen(
            [self.BINARY, "-p", self.prefix + "/", "-e", self.error_log,
             "-c", self.conf, "-g",
             "pid %s; daemon off;" % self.pidfile],
            stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited with status %d:\n%s" % (
                    self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return True
            except OSError:
                return False
        try:
            wait_for(up, timeout, "nginx to listen on port %d" % self.port)
        except RuntimeError as e:
            self._err.close()
            raise AssertionError(str(e)) from None

    def log(self):
        out = []
        for f in ("stderr.log", "error.log"):
            try:
                with open(os.path.join(self.prefix, f), "rb") as fp:
                    out.append(fp.read().decode("utf-8", "replace"))
            except FileNotFoundError:
                pass
        return tail("\n".join(out), 30)

    def remove(self, name):
        os.unlink(os.path.join(self.docroot, name))

    def put(self, name, text):
        write_file(os.path.join(self.docroot, name), text)

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)   # fast shutdown
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if not self._err.closed:
            self._err.close()

    def cleanup(self):
        self.stop()


# ---- the per-test environment run.py hands to each test ------------------

class Env:
    """What a test gets: its temp dir, the build and source trees."""

    def __init__(self, tmpdir, builddir, srcdir):
        self.tmpdir = tmpdir
        self.builddir = os.path.abspath(builddir)
        self.srcdir = os.path.abspath(srcdir)

    def path(self, *parts):
        return os.path.join(self.tmpdir, *parts)

    def daemon(self, config_text, **kw):
        return Daemon(self.tmpdir, config_text, self.builddir, **kw)

    def nginx(self):
        return Nginx(self.tmpdir)

    def file(self, relpath, text, mode=None):
        p = self.path(relpath)
        write_file(p, text, mode)
        return p


def make_tmpdir():
    return tempfile.mkdtemp(prefix="tocsin-it-")


def remove_tmpdir(path):
    shutil.rmtree(path, ignore_errors=True)
