"""
tests/integration/fx_dns.py — DNS servers for the dns plugin's tests.

Dnsmasq: dnsmasq (dnsmasq-base) on 127.0.0.1:port with fixed records
under the zone "test" (authoritative for it, so SOA and NS answer too);
names under test it does not know are NXDOMAIN.
SilentDns: a UDP socket that never answers.
ServfailDns: a tiny python responder answering every query SERVFAIL.
"""
import os
import pwd
import shutil
import socket
import subprocess
import threading

import harness

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


class Dnsmasq:
    SERIAL = 2024120401

    def __init__(self, env):
        if not os.access(DNSMASQ, os.X_OK):
            raise harness.Skip("dnsmasq not installed (dnsmasq-base)")
        self.port = harness.free_port()
        self.log = env.path("dnsmasq.log")
        args = [DNSMASQ, "--no-daemon", "--port=%d" % self.port,
                "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts",
                "--user=%s" % pwd.getpwuid(os.geteuid()).pw_name,
                "--pid-file=", "--log-facility=%s" % self.log,
                "--local=/test/",
                "--auth-server=ns1.test,127.0.0.1",
                "--auth-zone=test,192.0.2.0/24,2001:db8::/32",
                "--auth-soa=%d,hostmaster.test" % self.SERIAL,
                "--auth-sec-servers=ns2.test",
                "--host-record=host.test,192.0.2.5,2001:db8::5",
                "--host-record=multi.test,192.0.2.21",
                "--host-record=multi.test,192.0.2.22",
                "--txt-record=txt.test,v=spf1 -all",
                "--mx-host=test,mail.test,10",
                "--srv-host=_ldap._tcp.test,ldap.test,389,5,20",
                "--cname=alias.test,host.test"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        harness.register(self)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited: %s" %
                                     self.proc.stderr.read().decode())
            return os.path.exists(self.log) and \
                "started" in open(self.log).read()
        harness.wait_for(up, 10, "dnsmasq on port %d" % self.port)

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc.stderr.close()


class _Udp:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        harness.register(self)

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port

    def _serve(self):
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            self.queries += 1
            self.answer(data, peer)

    def answer(self, data, peer):
        pass

    def cleanup(self):
        self._stop = True
        self.thread.join(timeout=5)
        self.sock.close()


class SilentDns(_Udp):
    """Reads every query, answers none."""


class ServfailDns(_Udp):
    """Answers every query with its question and rcode SERVFAIL."""

    def answer(self, data, peer):
        if len(data) < 12:
            return
        flags = 0x8000 | (data[2] & 0x01) << 8 | 0x0080 | 2  # QR RD RA
        reply = data[:2] + bytes([flags >> 8, flags & 0xff]) + \
            data[4:6] + b"\0\0\0\0\0\0" + data[12:]
        try:
            self.sock.sendto(reply, peer)
        except OSError:
            pass
