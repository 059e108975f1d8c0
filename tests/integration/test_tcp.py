"""The tcp plugin against real servers on loopback: nginx over TLS with
openssl-made certificates, aiosmtpd offering STARTTLS, python listeners
that send a banner, answer, or never answer; each failure kind gives
its own one-line cause."""
import json
import re
import socket

import harness
from harness import free_port, wait_for
from fx_http import CA, FullBacklog, HttpNginx, SlowServer
from fx_tcp import Banner, StartTlsSmtp


def q(s):
    return json.dumps(s)   # a config string literal


def tcp_check(name, address, port, extra=""):
    return ('tcp %s {\n  address = %s\n  port = %d\n  interval = 1s\n'
            '  max_attempts = 1\n%s}\n' % (q(name), q(address), port,
                                           extra))


def start(env, config):
    d = env.daemon(config)
    d.require_plugin("tcp")
    d.start()
    return d


def metric(c, name):
    for m in c.get("metrics") or []:
        if m["name"] == name:
            return m
    return None


def wait_summary(d, name, state, pattern, timeout=10):
    rx = re.compile(pattern)
    return d.wait_check(name, state, timeout=timeout,
                        pred=lambda c: rx.search(c["summary"]))


def test_tcp_connect_send_expect(env):
    n = HttpNginx(env.tmpdir)
    ssh = Banner(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n")
    v6 = None
    try:
        v6 = Banner(b"+OK ready\r\n", family=socket.AF_INET6)
    except OSError:
        pass
    refused = free_port()
    get = "GET / HTTP/1.0\r\nHost: x\r\n\r\n"
    cfg = (tcp_check("plain", "127.0.0.1", n.port) +
           tcp_check("byname", "localhost", n.port,
                     '  ip_version = "4"\n') +
           tcp_check("http", "127.0.0.1", n.port,
                     "  send = %s\n  expect = \"200 OK\"\n" % q(get)) +
           tcp_check("http-rx", "127.0.0.1", n.port,
                     "  send = %s\n  expect_regex = %s\n" %
                     (q(get), q(r"^HTTP/1\.[01] 2\d\d"))) +
           tcp_check("http-500", "127.0.0.1", n.port,
                     "  send = %s\n  expect = \"HTTP/1.1 500\"\n" % q(get)) +
           tcp_check("ssh", "127.0.0.1", ssh.port,
                     '  expect = "SSH-2.0-"\n') +
           tcp_check("ssh-wrong", "127.0.0.1", ssh.port,
                     '  expect = "SSH-1.99"\n  timeout = 2s\n') +
           tcp_check("refused", "127.0.0.1", refused))
    if v6 is not None:
        cfg += tcp_check("v6", "::1", v6.port, '  expect = "+OK"\n')
    d = start(env, cfg)
    c = wait_summary(d, "plain", "OK",
                     r"^TCP OK: 127\.0\.0\.1 port %d \(127\.0\.0\.1\) in "
                     r"[0-9.]+s$" % n.port)
    assert 0 <= metric(c, "time_connect")["value"] < 5, c
    assert metric(c, "time_connect")["unit"] == "s", c
    assert metric(c, "time_total") is not None, c
    c = wait_summary(d, "byname", "OK",
                     r"^TCP OK: localhost port %d \(127\.0\.0\.1\)" % n.port)
    assert metric(c, "time_dns") is not None, c
    c = wait_summary(d, "http", "OK", r", answer matched$")
    assert metric(c, "time_first_byte") is not None, c
    wait_summary(d, "http-rx", "OK", r", answer matched$")
    wait_summary(d, "http-500", "CRITICAL",
                 r'^expect mismatch: connection closed after \d+ bytes '
                 r'without "HTTP/1\.1 500", got "HTTP/1\.1 200 OK\\r\\n')
    wait_summary(d, "ssh", "OK", r"answer matched")
    wait_summary(d, "ssh-wrong", "CRITICAL",
                 r'^expect mismatch: no "SSH-1\.99" within 1\.8s, got '
                 r'"SSH-2\.0-OpenSSH_9\.2p1 Debian\\r\\n"$')
    c = wait_summary(d, "refused", "CRITICAL",
                     r"^connection refused by 127\.0\.0\.1 port %d$" %
                     refused)
    # no connection: no response time (null, U in the RRD file), no phases
    assert metric(c, "time_total")["value"] is None, c["metrics"]
    assert metric(c, "time_connect") is None, c["metrics"]
    if v6 is not None:
        wait_summary(d, "v6", "OK", r"^TCP OK: ::1 port %d \(::1\)" %
                     v6.port)
    # nginx logs a request after it has answered it
    wait_for(lambda: re.search(r"^GET / ", n.access_log(), re.M), 5,
             "the GET logged")
    d.stop()


def test_tcp_timeouts_name_the_phase(env):
    silent = SlowServer(None)          # accepts, never answers
    backlog = FullBacklog()            # SYNs dropped: connect times out
    d = start(env,
              tcp_check("silent", "127.0.0.1", silent.port,
                        '  expect = "220"\n  timeout = 2s\n') +
              tcp_check("silent-tls", "127.0.0.1", silent.port,
                        '  tls = yes\n  timeout = 2s\n') +
              tcp_check("silent-smtp", "127.0.0.1", silent.port,
                        '  starttls = "smtp"\n  timeout = 2s\n') +
              tcp_check("backlog", "127.0.0.1", backlog.port,
                        '  timeout = 2s\n'))
    wait_summary(d, "silent", "CRITICAL",
                 r"^response timeout: connected, no answer within 1\.8s$")
    wait_summary(d, "silent-tls", "CRITICAL",
                 r"^TLS handshake timeout with 127\.0\.0\.1 port %d after "
                 r"1\.8s$" % silent.port)
    wait_summary(d, "silent-smtp", "CRITICAL",
                 r'^STARTTLS smtp timeout: no complete answer from '
                 r'127\.0\.0\.1 within 1\.8s \(got ""\)$')
    wait_summary(d, "backlog", "CRITICAL",
                 r"^connect timeout: no connection to 127\.0\.0\.1 port "
                 r"%d within 1\.8s$" % backlog.port)
    d.stop()


def test_tcp_tls_certificates(env):
    ca = CA(env.path("pki"))
    good = ca.cert("good", 90)
    soon = ca.cert("soon", 5)
    old = ca.cert("old", -1)
    other = ca.cert("other", 90, dns=("www.example.org",), ips=())
    n = HttpNginx(env.tmpdir, tls={"good": good, "soon": soon, "old": old,
                                   "other": other})
    caf = "  tls = yes\n  ca_file = %s\n" % q(ca.pem)
    get = "GET / HTTP/1.0\r\n\r\n"
    d = start(env,
              tcp_check("good", "localhost", n.tls_port["good"],
                        caf + '  send = %s\n  expect = "hello tocsin"\n' %
                        q(get)) +
              tcp_check("good-ip", "127.0.0.1", n.tls_port["good"], caf) +
              tcp_check("soon", "127.0.0.1", n.tls_port["soon"], caf) +
              tcp_check("old", "127.0.0.1", n.tls_port["old"], caf) +
              tcp_check("old-noverify", "127.0.0.1", n.tls_port["old"],
                        caf + "  tls_verify = false\n") +
              tcp_check("wrongname", "127.0.0.1", n.tls_port["other"],
                        caf) +
              tcp_check("noca", "127.0.0.1", n.tls_port["good"],
                        "  tls = yes\n") +
              tcp_check("plain-port", "127.0.0.1", n.port,
                        "  tls = yes\n"))
    c = wait_summary(d, "good", "OK",
                     r"^TCP OK: localhost port \d+ \(127\.0\.0\.1\) in "
                     r"[0-9.]+s, TLSv1\.[23] in [0-9.]+s, certificate "
                     r"valid for (89|90) days, answer matched$")
    for m in ("time_connect", "time_tls", "time_first_byte",
              "cert_days_left"):
        assert metric(c, m) is not None, (m, c)
    assert 89 <= metric(c, "cert_days_left")["value"] <= 90, c
    wait_summary(d, "good-ip", "OK", r"certificate valid for")
    wait_summary(d, "soon", "CRITICAL",
                 r"^certificate expires in 5 days \(cert_expiry_crit 7d\)$")
    wait_summary(d, "old", "CRITICAL",
                 r"^TLS handshake failed with 127\.0\.0\.1 port \d+: "
                 r"certificate verify failed: certificate has expired$")
    wait_summary(d, "old-noverify", "CRITICAL",
                 r"^certificate expired 1 day ago$")
    wait_summary(d, "wrongname", "CRITICAL",
                 r"^TLS handshake failed with 127\.0\.0\.1 port \d+: "
                 r"certificate verify failed: (IP address|Hostname) "
                 r"mismatch$")
    wait_summary(d, "noca", "CRITICAL",
                 r"certificate verify failed: unable to get local issuer "
                 r"certificate$")
    wait_summary(d, "plain-port", "CRITICAL",
                 r"^TLS handshake failed with 127\.0\.0\.1 port %d: "
                 r"(wrong version number|packet length too long|"
                 r"record layer failure)" % n.port)
    d.stop()


def test_tcp_starttls_smtp(env):
    ca = CA(env.path("pki"))
    smtp = StartTlsSmtp(env, ca.cert("mx", 60), name="smtp-tls")
    notls = StartTlsSmtp(env, None, name="smtp-plain")
    pop = Banner(b"+OK POP3 ready\r\n", reply=b"-ERR not here\r\n")
    d = start(env,
              tcp_check("mx", "127.0.0.1", smtp.port,
                        '  starttls = "smtp"\n  ca_file = %s\n'
                        '  cert_expiry_warn = 90d\n  cert_expiry_crit = 30d\n'
                        % q(ca.pem)) +
              tcp_check("mx-ok", "127.0.0.1", smtp.port,
                        '  starttls = "smtp"\n  ca_file = %s\n' %
                        q(ca.pem)) +
              tcp_check("mx-notls", "127.0.0.1", notls.port,
                        '  starttls = "smtp"\n') +
              tcp_check("pop", "127.0.0.1", pop.port,
                        '  starttls = "pop3"\n'))
    c = wait_summary(d, "mx-ok", "OK",
                     r"^TCP OK: 127\.0\.0\.1 port %d \(127\.0\.0\.1\) in "
                     r"[0-9.]+s, STARTTLS smtp \+ TLSv1\.[23] in [0-9.]+s, "
                     r"certificate valid for (59|60) days$" % smtp.port)
    assert metric(c, "time_tls") is not None, c
    wait_summary(d, "mx", "WARNING",
                 r"^certificate expires in 60 days \(cert_expiry_warn "
                 r"90d\)$")
    wait_summary(d, "mx-notls", "CRITICAL",
                 r"^STARTTLS smtp with 127\.0\.0\.1 failed: the SMTP "
                 r"server does not offer STARTTLS$")
    wait_summary(d, "pop", "CRITICAL",
                 r'^STARTTLS pop3 with 127\.0\.0\.1 failed: POP3 STLS '
                 r'refused: "-ERR not here"$')
    d.stop()


def test_tcp_config_errors(env):
    d = env.daemon(
        tcp_check("a", "127.0.0.1", 70000) +
        tcp_check("b", "127.0.0.1", 25, '  starttls = "ftp"\n') +
        tcp_check("c", "127.0.0.1", 25, '  expect_regex = "(open"\n') +
        tcp_check("d", "127.0.0.1", 25, '  ca_file = "/etc/hostname"\n') +
        tcp_check("e", "127.0.0.1", 25, '  ip_version = "6"\n') +
        tcp_check("f", "127.0.0.1", 25,
                  '  tls = yes\n  starttls = "imap"\n'))
    d.require_plugin("tcp")
    rc, out = d.check_config()
    err = out + d.last_stderr
    assert rc == 1, (rc, out, err)
    for marker, text in (("70000", "port: 70000 is not 1..65535"),
                         ('"ftp"', 'is not smtp, imap, pop3 or ldap'),
                         ("(open", "expect_regex"),
                         ('"/etc/hostname"', "ca_file: needs tls = yes"),
                         ('"6"', 'does not match the address'),
                         ('"imap"', "and tls = yes: choose one")):
        line = d.line_of(marker)
        assert re.search(r"%s:%d: .*%s" % (re.escape(d.conf), line,
                                           re.escape(text)), err), \
            (marker, text, err)


def test_tcp_server_closing_without_a_byte(env):
    """expect against a server that closes before sending anything: a
    CRITICAL that says so (the empty input was once handed to memmem as a
    null buffer: undefined behaviour, a UBSan abort)."""
    mute = Banner(b"", close_after_banner=True)
    d = start(env, tcp_check("mute", "127.0.0.1", mute.port,
                             '  expect = "220"\n'))
    wait_summary(d, "mute", "CRITICAL",
                 r'^expect mismatch: connection closed after 0 bytes '
                 r'without "220"')
    d.stop()
    d.assert_no_sanitizer_report()
