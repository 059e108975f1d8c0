"""
tests/integration/fx_notify.py — the receiving end of pages for the
notifier's tests: a webhook receiver (python http.server) and an SMTP
sink (aiosmtpd), each a child process on a free loopback port that
records what it got as JSON lines, and that a test can stop, restart on
the same port, or make answer with an error.
"""
import email
import email.policy
import json
import os
import socket
import subprocess
import sys

import harness

HOOK_SCRIPT = r'''
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, log, status_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        code, delay = 200, 0.0
        try:
            with open(status_file) as f:
                v = f.read().split()
            code = int(v[0]) if v else 200
            delay = float(v[1]) if len(v) > 1 else 0.0
        except (OSError, ValueError):
            pass
        time.sleep(delay)           # a slow receiver: sends in flight
        if code < 300:
            rec = {"path": self.path, "t": time.time(),
                   "method": self.command,
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            with open(log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_PUT = do_POST            # Matrix sends with PUT
    do_PATCH = do_POST
    def log_message(self, *a):
        pass

ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
'''

SMTP_SCRIPT = r'''
import asyncio, json, sys, time
from aiosmtpd.controller import Controller
port, log, reply_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Handler:
    async def handle_DATA(self, server, session, envelope):
        try:
            with open(reply_file) as f:
                reply = f.read().strip()
        except OSError:
            reply = ""
        if reply:
            return reply
        rec = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
               "t": time.time(),
               "data": envelope.content.decode("utf-8", "replace")}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return "250 OK"

c = Controller(Handler(), hostname="127.0.0.1", port=port)
c.start()
print("ready", flush=True)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
'''


def smtp_python():
    """A python that has aiosmtpd: ours, or Debian's (the package is for
    /usr/bin/python3 even when another python3 comes first in PATH)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if os.access(py, os.X_OK) and subprocess.run(
                [py, "-c", "import aiosmtpd"], capture_output=True,
                timeout=30).returncode == 0:
            return py
    raise harness.Skip("python3-aiosmtpd not installed")


class _Child:
    """A small server process on 127.0.0.1:port recording to a file."""

    python = sys.executable

    def __init__(self, env, name, script, start=True):
        self.dir = env.path(name)
        os.makedirs(self.dir, exist_ok=True)
        self.script = os.path.join(self.dir, "server.py")
        self.log = os.path.join(self.dir, "received.jsonl")
        self.ctl = os.path.join(self.dir, "control")
        harness.write_file(self.script, script)
        self.port = harness.free_port()
        self.proc = None
        harness.register(self)
        if start:
            self.start()

    def start(self, timeout=10):
        self.proc = subprocess.Popen(
            [self.python, self.script, str(self.port), self.log,
             self.ctl], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, "stderr.log"), "ab"))

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("%s exited: %s" % (
                    self.script, self.stderr()))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return True
            except OSError:
                return False
        harness.wait_for(up, timeout, "%s on port %d" % (self.script,
                                                          self.port))

    def stderr(self):
        try:
            with open(os.path.join(self.dir, "stderr.log")) as f:
                return harness.tail(f.read(), 20)
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self):
        self.stop()

    def records(self):
        try:
            with open(self.log) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def control(self, text):
        """What the server answers next ("" for success)."""
        harness.write_file(self.ctl, text)


class Webhook(_Child):
    def __init__(self, env, name="hook", start=True):
        super().__init__(env, name, HOOK_SCRIPT, start)

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def fail_with(self, code, delay=0):
        """Answer code (None: 200) after delay seconds."""
        self.control("%d %g" % (code or 200, delay))

    def raw(self, prefix=None):
        """[(method, path, headers, body text)] whose path starts with
        prefix, in arrival order (bodies that are not JSON too)."""
        return [(r.get("method", "POST"), r["path"], r["headers"], r["body"])
                for r in self.records()
                if prefix is None or r["path"].startswith(prefix)]

    def received(self, path=None):
        """[(path, headers, parsed JSON body)] in arrival order."""
        out = []
        for r in self.records():
            if path is None or r["path"] == path:
                out.append((r["path"], r["headers"], json.loads(r["body"]),
                            r["t"]))
        return out


class Smtp(_Child):
    def __init__(self, env, name="smtp", start=True):
        self.python = smtp_python()
        super().__init__(env, name, SMTP_SCRIPT, start)

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def reply_with(self, text):
        self.control(text or "")

    def messages(self):
        """[(rcpt list, email.message.EmailMessage, raw text, time)]."""
        out = []
        for r in self.records():
            m = email.message_from_string(r["data"],
                                          policy=email.policy.default)
            out.append((r["to"], m, r["data"], r["t"]))
        return out


def exec_check(name, state_file, extra=""):
    """An exec check that exits with the number in state_file."""
    return ('exec "%s" {\n'
            '  command = { "/bin/sh", "-c", '
            '"echo \\"%s says $(cat %s)\\"; exit $(cat %s)" }\n'
            '  interval = 1s  retry_interval = 300ms  max_attempts = 2\n'
            '%s'
            '}\n' % (name, name, state_file, state_file, extra))


def incidents(d, status="all"):
    return d.get("/api/v1/incidents?status=%s&limit=1000" % status)[
        "incidents"]


def notifications(d, query=""):
    return d.get("/api/v1/notifications" + query)["notifications"]
