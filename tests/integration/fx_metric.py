"""
tests/integration/fx_metric.py — helpers for the metric store's tests:
reading RRD files with the rrdtool command, a real rrdcached started by
the test, the DS-name rule recomputed independently, and PNG/SVG sizes.
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import time

import harness

RRDTOOL = shutil.which("rrdtool") or "/usr/bin/rrdtool"
RRDCACHED = shutil.which("rrdcached") or "/usr/bin/rrdcached"


def rrdtool(*args, timeout=20):
    r = subprocess.run([RRDTOOL] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, "rrdtool %s: %s" % (" ".join(map(str, args)),
                                                  r.stderr or r.stdout)
    return r.stdout


def rrd_path(d, check):
    """The file of check (names in these tests need no escaping)."""
    return os.path.join(d.state_dir, "rrd", check + ".rrd")


def info(path):
    """rrdtool info as a dict of strings."""
    out = {}
    for line in rrdtool("info", path).splitlines():
        k, _, v = line.partition(" = ")
        out[k] = v.strip('"')
    return out


def ds_list(path):
    i = info(path)
    names = {}
    for k, v in i.items():
        m = re.match(r"ds\[(.+)\]\.index$", k)
        if m:
            names[int(v)] = m.group(1)
    return [names[k] for k in sorted(names)]


def fetch(path, cf="AVERAGE", start="-300", end="now", res=None):
    """{ds: [(t, value or None)]} from rrdtool fetch."""
    args = ["fetch", path, cf, "-s", start, "-e", end]
    if res is not None:
        args += ["-r", res]
    lines = rrdtool(*args).splitlines()
    names = lines[0].split()
    out = {n: [] for n in names}
    for line in lines[1:]:
        if ":" not in line:
            continue
        t, _, rest = line.partition(":")
        for n, v in zip(names, rest.split()):
            f = float(v)
            out[n].append((int(t), None if f != f else f))
    return out


def known(series):
    return [v for _, v in series if v is not None]


def ds_name(metric):
    """The documented DS-name rule, recomputed here (FNV-1a 32)."""
    if re.fullmatch(r"[A-Za-z0-9_]{1,19}", metric):
        return metric
    h = 2166136261
    for b in metric.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    # the first 12 bytes, each outside [A-Za-z0-9] as '_'
    prefix = "".join(chr(c) if (48 <= c <= 57 or 65 <= c <= 90 or
                                97 <= c <= 122) else "_"
                     for c in metric.encode()[:12])
    return "%s_%06x" % (prefix, h & 0xffffff)


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR", data[8:32]
    return struct.unpack(">II", data[16:24])


def svg_size(text):
    m = re.search(r'<svg[^>]*\swidth="([\d.]+)(?:pt|px)?"[^>]*'
                  r'\sheight="([\d.]+)(?:pt|px)?"', text)
    assert m, text[:400]
    return int(float(m.group(1))), int(float(m.group(2)))


class CachedDaemon(harness.Daemon):
    """A Daemon whose daemon { } section sends updates to rrdcached."""

    def __init__(self, tmpdir, config_text, builddir, rrdcached,
                 daemon_extra="", **kw):
        self.rrdcached = rrdcached
        self.daemon_extra = daemon_extra
        super().__init__(tmpdir, config_text, builddir, **kw)

    def header(self):
        text = super().header()
        self.header_text = text.replace(
            '  log_level = "debug"\n',
            '  log_level = "debug"\n  rrdcached = "%s"\n%s' % (
                self.rrdcached, self.daemon_extra))
        return self.header_text


class Rrdcached:
    """A real rrdcached on a unix socket in tmpdir (writes delayed 1 h), or
    with tcp=True on 127.0.0.1 at a free port, its files in its own base
    directory (self.base) that tocsind is never told of."""

    def __init__(self, tmpdir, tcp=False):
        if not os.access(RRDCACHED, os.X_OK):
            raise harness.Skip("rrdcached not installed")
        self.dir = os.path.join(os.path.abspath(tmpdir),
                                "rrdcached-tcp" if tcp else "rrdcached")
        os.makedirs(os.path.join(self.dir, "journal"), exist_ok=True)
        self.sock = os.path.join(self.dir, "sock")
        self.tcp = tcp
        if tcp:
            self.port = harness.free_port()
            self.addr = "127.0.0.1:%d" % self.port
            self.base = os.path.join(self.dir, "files")
            os.makedirs(self.base, exist_ok=True)
        else:
            self.addr = "unix:" + self.sock
            self.base = self.dir
        self.proc = None
        harness.register(self)
        self._log = open(os.path.join(self.dir, "log"), "ab")
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [RRDCACHED, "-g", "-l", self.addr, "-b", self.base,
             "-j", os.path.join(self.dir, "journal"),
             "-p", os.path.join(self.dir, "pid"), "-w", "3600", "-z", "1",
             "-F"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        if self.tcp:
            harness.wait_for(self._answers, 10, "rrdcached on TCP")
        else:
            harness.wait_for(lambda: os.path.exists(self.sock), 10,
                             "rrdcached socket")

    def _answers(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def stop(self):
        """SIGTERM: rrdcached writes what it holds and exits."""
        self.proc.terminate()
        self.proc.wait(20)

    def _connect(self):
        if self.tcp:
            return socket.create_connection(("127.0.0.1", self.port), 5)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.sock)
        return s

    def stats(self):
        s = self._connect()
        s.sendall(b"STATS\n")
        buf = b""
        deadline = time.time() + 5
        while time.time() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
            lines = buf.decode().splitlines()
            if lines and len(lines) > int(lines[0].split()[0]):
                break
        s.close()
        out = {}
        for line in buf.decode().splitlines()[1:]:
            k, _, v = line.partition(":")
            out[k.strip()] = int(v)
        return out

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
