"""
tests/integration/fx_http.py — servers for the http plugin's tests.

HttpNginx: the system nginx (harness.Nginx) with locations that fail in
known ways (status codes, redirect chains and loops, basic auth, a big
body) and optional TLS servers, one port per certificate.
SlowServer: a python socket that accepts and answers after `delay`
seconds, or never (delay None).
Certificates come from openssl run by the test: a private CA and server
certificates with a chosen lifetime and name.
"""
import os
import socket
import subprocess
import threading
import time

import harness
from harness import free_port, write_file


def openssl(*args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), capture_output=True,
                       text=True, timeout=30, cwd=cwd)
    if r.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), r.stderr))
    return r.stdout


class CA:
    """A private CA in dirpath; cert() issues server certificates."""

    def __init__(self, dirpath):
        self.dir = dirpath
        os.makedirs(dirpath, exist_ok=True)
        self.key = os.path.join(dirpath, "ca.key")
        self.pem = os.path.join(dirpath, "ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                self.key, "-out", self.pem, "-days", "365", "-subj",
                "/CN=tocsin test CA")

    def cert(self, name, days, dns=("localhost",), ips=("127.0.0.1",)):
        """(cert, key) valid for `days` (negative: expired) for names."""
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        pem = os.path.join(self.dir, name + ".pem")
        ext = os.path.join(self.dir, name + ".ext")
        san = ["DNS:" + d for d in dns] + ["IP:" + i for i in ips]
        write_file(ext, "subjectAltName=%s\n" % ",".join(san))
        openssl("req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", csr, "-subj", "/CN=%s" % (dns[0] if dns else
                                                  ips[0]))
        openssl("x509", "-req", "-in", csr, "-CA", self.pem, "-CAkey",
                self.key, "-CAcreateserial", "-days", str(days),
                "-extfile", ext, "-out", pem)
        return pem, key


class HttpNginx(harness.Nginx):
    """
    nginx with test locations; tls = {"name": (cert, key)} adds one
    https server per entry, its port in self.tls_port["name"].
    """
    USER, PASSWORD = "ops", "s3cret"

    def __init__(self, tmpdir, tls=None, client_ca=None):
        self.tls = dict(tls or {})
        self.client_ca = client_ca  # PEM: TLS servers require a client cert
        self.tls_port = {n: free_port() for n in self.tls}
        super().__init__(tmpdir, start=False)
        self.put("big.html", "x" * 200000)
        os.makedirs(os.path.join(self.docroot, "private"), exist_ok=True)
        self.put("private/index.html", "members only\n")
        hashed = openssl("passwd", "-apr1", self.PASSWORD).strip()
        write_file(os.path.join(self.prefix, "htpasswd"),
                   "%s:%s\n" % (self.USER, hashed))
        self.start()

    def _write_conf(self):
        p = self.prefix
        user = "user root;\n" if os.geteuid() == 0 else ""
        tls = ""
        for name, (cert, key) in sorted(self.tls.items()):
            tls += ("  server {\n"
                    "    listen 127.0.0.1:%d ssl;\n"
                    "    ssl_certificate %s;\n"
                    "    ssl_certificate_key %s;\n"
                    "%s"
                    "    root %s/html;\n"
                    "    location / { }\n"
                    "  }\n" % (self.tls_port[name], cert, key,
                                ("    ssl_client_certificate %s;\n"
                                 "    ssl_verify_client on;\n" %
                                 self.client_ca) if self.client_ca else "",
                                p))
        write_file(self.conf, (
            "%(user)s"
            "worker_processes 1;\n"
            "error_log %(p)s/error.log info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "  log_format t '$request_method $request_uri \"$http_user_agent\" '\n"
            "               '\"$http_x_tocsin\" $content_length';\n"
            "  access_log %(p)s/access.log t;\n"
            "  client_body_temp_path %(p)s/tmp/body;\n"
            "  proxy_temp_path %(p)s/tmp/proxy;\n"
            "  fastcgi_temp_path %(p)s/tmp/fastcgi;\n"
            "  uwsgi_temp_path %(p)s/tmp/uwsgi;\n"
            "  scgi_temp_path %(p)s/tmp/scgi;\n"
            "  server {\n"
            "    listen 127.0.0.1:%(port)d;\n"
            "    root %(p)s/html;\n"
            "    location / { }\n"
            "    location = /status/500 { return 500; }\n"
            "    location = /status/503 { return 503; }\n"
            "    location = /redir/1 { return 302 /redir/2; }\n"
            "    location = /redir/2 { return 301 /redir/3; }\n"
            "    location = /redir/3 { return 302 /; }\n"
            "    location = /loop { return 302 /loop; }\n"
            "    location /private/ {\n"
            "      auth_basic \"tocsin\";\n"
            "      auth_basic_user_file %(p)s/htpasswd;\n"
            "    }\n"
            "  }\n"
            "%(tls)s"
            "}\n") % {"user": user, "p": p, "port": self.port, "tls": tls})

    def https_url(self, name, path="/", host="127.0.0.1"):
        return "https://%s:%d%s" % (host, self.tls_port[name], path)

    def access_log(self):
        try:
            with open(os.path.join(self.prefix, "access.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""


class SlowServer:
    """
    A TCP server on 127.0.0.1 that accepts every connection and answers
    "HTTP/1.1 200 OK" after `delay` seconds, or never when delay is None
    (it holds the connection until cleanup).
    """

    def __init__(self, delay=None):
        self.delay = delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        harness.register(self)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def _serve(self):
        pending = []
        while not self._stop:
            try:
                c, _ = self.sock.accept()
                self.accepted += 1
                self.conns.append(c)
                pending.append((time.monotonic(), c))
            except socket.timeout:
                pass
            except OSError:
                break
            if self.delay is None:
                continue
            now = time.monotonic()
            for t, c in list(pending):
                if now - t >= self.delay:
                    pending.remove((t, c))
                    try:
                        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                                  b"Connection: close\r\n\r\nslow\n")
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


class FullBacklog:
    """
    A listening socket that never accepts, its accept queue filled by
    connections of our own: the kernel drops further SYNs, so a client's
    connect() times out as it would against a firewalled port.
    """

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fill = []
        for _ in range(4):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fill.append(c)
        time.sleep(0.2)     # the handshakes of the fillers complete
        harness.register(self)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def cleanup(self):
        for c in self.fill:
            c.close()
        self.sock.close()
