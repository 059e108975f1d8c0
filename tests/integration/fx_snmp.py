"""
tests/integration/fx_snmp.py — a private snmpd for the snmp plugin's
tests: its own config, persistent dir and pid file under the test's temp
dir, on a free loopback UDP port.  It serves the machine's real system
and interface tables, a v2c community, a v3 authPriv user, and values a
test controls through a `pass` script that reads files (value.gauge,
value.counter, value.text) in the fixture's directory.
"""
import os
import signal
import socket
import subprocess
import time

import harness

SNMPD = "/usr/sbin/snmpd"
COMMUNITY = "tocsinpub"
V3_USER = "tocsinv3"
V3_AUTH = "tocsin-auth-pw"
V3_PRIV = "tocsin-priv-pw"
# enterprises.netSnmp.netSnmpExperimental.9999: ours, served by `pass`
BASE = ".1.3.6.1.4.1.8072.9999.1"
GAUGE_OID = BASE + ".1.0"
COUNTER_OID = BASE + ".2.0"
TEXT_OID = BASE + ".3.0"

PASS_SCRIPT = r"""#!/bin/sh
# snmpd pass script: -g OID answers from files next to this script
D=%(dir)s
B=%(base)s
[ "$1" = "-g" ] || exit 0
case "$2" in
  $B.1.0) f=gauge; t=gauge ;;
  $B.2.0) f=counter; t=counter ;;
  $B.3.0) f=text; t=string ;;
  *) exit 0 ;;
esac
[ -f "$D/value.$f" ] || exit 0
echo "$2"; echo "$t"; cat "$D/value.$f"
"""


def free_udp_port():
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Snmpd:
    """snmpd -f on 127.0.0.1:port with everything under tmpdir/snmpd."""

    def __init__(self, tmpdir, port=None, start=True):
        if not os.access(SNMPD, os.X_OK):
            raise harness.Skip("snmpd not installed (%s)" % SNMPD)
        self.dir = os.path.join(os.path.abspath(tmpdir), "snmpd")
        self.persist = os.path.join(self.dir, "persist")
        os.makedirs(self.persist, exist_ok=True)
        self.conf = os.path.join(self.dir, "snmpd.conf")
        self.logfile = os.path.join(self.dir, "snmpd.log")
        self.pidfile = os.path.join(self.dir, "snmpd.pid")
        self.script = os.path.join(self.dir, "pass.sh")
        self.port = port or free_udp_port()
        # fixed, so that a restart keeps it (-C skips the persistent
        # file where snmpd would keep a generated one); change it to play
        # a new agent at the same address
        self.engine_id = "tocsin%d" % self.port
        self.proc = None
        self._log = None
        harness.register(self)
        harness.write_file(self.script, PASS_SCRIPT % {
            "dir": self.dir, "base": BASE}, mode=0o755)
        if start:
            self.start()

    def set(self, name, value):
        """Sets what the pass script answers: name gauge|counter|text."""
        harness.write_file(os.path.join(self.dir, "value." + name),
                           "%s\n" % value)

    def unset(self, name):
        try:
            os.unlink(os.path.join(self.dir, "value." + name))
        except FileNotFoundError:
            pass

    def address(self):
        return "127.0.0.1:%d" % self.port

    def _write_conf(self):
        harness.write_file(self.conf, (
            "engineID %(engine)s\n"
            "rocommunity %(comm)s 127.0.0.1\n"
            "createUser %(user)s SHA-256 \"%(auth)s\" AES \"%(priv)s\"\n"
            "rouser %(user)s priv\n"
            "pass %(base)s /bin/sh %(script)s\n"
            "dontLogTCPWrappersConnects yes\n"
            "sysLocation tocsin test rack\n"
            "sysContact tocsin@example.com\n") % {
                "port": self.port, "comm": COMMUNITY, "user": V3_USER,
                "auth": V3_AUTH, "priv": V3_PRIV, "base": BASE,
                "script": self.script, "engine": self.engine_id})

    def env(self):
        e = dict(os.environ)
        e["SNMP_PERSISTENT_DIR"] = self.persist
        e["MIBS"] = ""          # no MIB files needed, no warnings
        e["MIBDIRS"] = "/nonexistent"
        return e

    def start(self, timeout=10):
        self._write_conf()
        self._log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            [SNMPD, "-f", "-Lo", "-C", "-c", self.conf, "-p", self.pidfile,
             "-I", "-smux",     # no TCP 199 listener shared with others
             "udp:127.0.0.1:%d" % self.port],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            env=self.env(), cwd=self.dir)
        harness.wait_for(self._answers, timeout,
                         "snmpd to answer on port %d" % self.port,
                         interval=0.1)

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("snmpd exited with %d:\n%s" % (
                self.proc.returncode, self.log()))
        r = subprocess.run(
            ["snmpget", "-v2c", "-c", COMMUNITY, "-t", "0.3", "-r", "0",
             "-On", self.address(), ".1.3.6.1.2.1.1.3.0"],
            capture_output=True, text=True, env=self.env(), timeout=10)
        return r.returncode == 0

    def log(self):
        try:
            with open(self.logfile, "rb") as fp:
                return harness.tail(fp.read().decode("utf-8", "replace"),
                                    30)
        except FileNotFoundError:
            return ""

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self._log and not self._log.closed:
            self._log.close()

    def restart(self):
        """Stops and starts again on the same port: sysUpTime restarts."""
        self.stop()
        time.sleep(0.2)
        self.start()

    def cleanup(self):
        self.stop()


def check(name, addr, body, interval="1s"):
    """An snmp check section; body holds the type's keys."""
    return ('snmp "%s" {\n  address = "%s"\n  interval = %s\n'
            '  max_attempts = 1\n%s}\n' % (name, addr, interval, body))


def v2c(oids=None, extra=""):
    s = '  version = "2c"\n  community = "%s"\n' % COMMUNITY
    if oids:
        s += "  oids = { %s }\n" % ", ".join('"%s"' % o for o in oids)
    return s + extra


def v3(auth=V3_AUTH, priv=V3_PRIV, oids=("uptime=sysUpTime.0",), extra=""):
    s = ('  version = "3"\n  username = "%s"\n  auth_protocol = "SHA-256"\n'
         '  auth_password = "%s"\n  priv_protocol = "AES"\n'
         '  priv_password = "%s"\n' % (V3_USER, auth, priv))
    s += "  oids = { %s }\n" % ", ".join('"%s"' % o for o in oids)
    return s + extra


def metric(c, name):
    """The value of metric name in check c, or None."""
    for m in c.get("metrics") or []:
        if m["name"] == name:
            return m["value"]
    return None
