"""
tests/integration/fx_tcp.py — servers for the tcp plugin's tests.

StartTlsSmtp: aiosmtpd in a child process on 127.0.0.1, offering
STARTTLS with a certificate from fx_http.CA (or not offering it).
Banner: a python TCP server on 127.0.0.1 or ::1 that sends a fixed
banner on connect and, when `reply` is set, answers each line received
with it; then holds the connection until the client closes.
nginx with TLS (fx_http.HttpNginx) and SlowServer/FullBacklog are
reused from fx_http.
"""
import os
import socket
import subprocess
import threading

import harness
from fx_notify import smtp_python

SMTP_TLS_SCRIPT = r'''
import asyncio, ssl, sys
from aiosmtpd.controller import Controller
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Handler:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

ctx = None
if cert != "-":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx)
c.start()
print("ready", flush=True)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
'''


class StartTlsSmtp:
    """aiosmtpd offering STARTTLS with (cert, key), or no TLS (None)."""

    def __init__(self, env, certkey=None, name="smtp"):
        self.dir = env.path(name)
        os.makedirs(self.dir, exist_ok=True)
        script = os.path.join(self.dir, "smtp.py")
        harness.write_file(script, SMTP_TLS_SCRIPT)
        self.port = harness.free_port()
        cert, key = certkey if certkey else ("-", "-")
        self.errlog = os.path.join(self.dir, "stderr.log")
        self.proc = subprocess.Popen(
            [smtp_python(), script, str(self.port), cert, key],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.errlog, "ab"))
        harness.register(self)

        def up():
            if self.proc.poll() is not None:
                with open(self.errlog) as f:
                    raise AssertionError("smtp.py exited: %s" % f.read())
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return True
            except OSError:
                return False
        harness.wait_for(up, 15, "aiosmtpd on port %d" % self.port)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Banner:
    """A TCP server sending `banner`, answering lines with `reply`."""

    def __init__(self, banner=b"", reply=None, family=socket.AF_INET,
                 close_after_banner=False):
        self.banner, self.reply = banner, reply
        self.close_after_banner = close_after_banner
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("::1" if family == socket.AF_INET6 else
                        "127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.conns = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        harness.register(self)

    def _serve(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.conns.append(c)
            threading.Thread(target=self._talk, args=(c,),
                             daemon=True).start()

    def _talk(self, c):
        try:
            if self.banner:
                c.sendall(self.banner)
            if self.close_after_banner:
                c.close()
                return
            c.settimeout(0.2)
            buf = b""
            while not self._stop:
                try:
                    d = c.recv(4096)
                except socket.timeout:
                    continue
                if not d:
                    break
                self.received += d
                buf += d
                while self.reply is not None and b"\n" in buf:
                    _, buf = buf.split(b"\n", 1)
                    c.sendall(self.reply)
        except OSError:
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    def cleanup(self):
        self._stop = True
        self.thread.join(timeout=5)
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()
