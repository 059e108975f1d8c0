"""The http plugin against a real nginx (and a python socket that stalls):
each failure kind gives the right state and a summary naming its cause."""
import json
import re

import harness
from harness import free_port, track_check, wait_for
from fx_http import CA, FullBacklog, HttpNginx, SlowServer


def q(s):
    return json.dumps(s)   # a config string literal


def http_check(name, url, extra=""):
    return ('http %s {\n  url = %s\n  interval = 1s\n  max_attempts = 1\n'
            '%s}\n' % (q(name), q(url), extra))


def start(env, config):
    d = env.daemon(config)
    d.require_plugin("http")
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


def test_http_ok_with_metrics(env):
    n = HttpNginx(env.tmpdir)
    d = start(env, http_check("front", n.url("/"),
                              '  expect_body = "hello tocsin"\n'
                              '  expect_regex = "^hello \\\\w+$"\n'
                              '  headers = { "X-Tocsin: probe-1" }\n'))
    c = wait_summary(d, "front", "OK", r"^HTTP 200 OK: 13 bytes in ")
    for m in ("time_total", "time_namelookup", "time_connect", "time_ttfb"):
        assert metric(c, m) is not None and metric(c, m)["unit"] == "s", c
        assert 0 <= metric(c, m)["value"] < 5, c
    assert metric(c, "status")["value"] == 200, c
    assert metric(c, "size")["value"] == 13, c
    assert metric(c, "time_tls") is None and \
        metric(c, "cert_days_left") is None, c
    # nginx logs a request after it has answered it
    wait_for(lambda: re.search(r'GET / "tocsin/[^"]+" "probe-1"',
                               n.access_log()), 5, "the request logged")
    d.stop()


def test_http_body_regex_status(env):
    n = HttpNginx(env.tmpdir)
    d = start(env,
              http_check("nobody", n.url("/"),
                         '  expect_body = "Add to basket"\n') +
              http_check("noregex", n.url("/"),
                         '  expect_regex = "^bye"\n') +
              http_check("s503", n.url("/status/503")) +
              http_check("s500", n.url("/status/500")) +
              http_check("want503", n.url("/status/503"),
                         '  expect_status = { 500, 503 }\n') +
              http_check("want204", n.url("/"),
                         '  expect_status = { 204 }\n') +
              http_check("post", n.url("/"),
                         '  method = "POST"  body = "a=1"\n'
                         '  expect_status = { 405 }\n'))
    wait_summary(d, "nobody", "CRITICAL",
                 r'^body did not contain "Add to basket" \(HTTP 200')
    wait_summary(d, "noregex", "CRITICAL", r"^regex did not match: /\^bye/")
    wait_summary(d, "s503", "CRITICAL",
                 r"^unexpected status 503 Service Temporarily Unavailable "
                 r"\(expected 2xx/3xx\)")
    wait_summary(d, "s500", "CRITICAL",
                 r"^unexpected status 500 Internal Server Error")
    wait_summary(d, "want503", "OK", r"^HTTP 503")
    wait_summary(d, "want204", "CRITICAL",
                 r"^unexpected status 200 OK \(expected 204\)")
    wait_summary(d, "post", "OK", r"^HTTP 405")
    wait_for(lambda: re.search(r"POST / \S+ \S+ 3", n.access_log()), 5,
             "the POST logged")
    d.stop()


def test_http_redirects(env):
    n = HttpNginx(env.tmpdir)
    d = start(env,
              http_check("chain", n.url("/redir/1"),
                         "  follow_redirects = true\n"
                         '  expect_body = "hello"\n') +
              http_check("nofollow", n.url("/redir/1")) +
              http_check("short", n.url("/redir/1"),
                         "  follow_redirects = true  max_redirects = 2\n") +
              http_check("loop", n.url("/loop"),
                         "  follow_redirects = true\n"))
    wait_summary(d, "chain", "OK", r"^HTTP 200 OK: .* after 3 redirects$")
    wait_summary(d, "nofollow", "OK", r"^HTTP 302 Moved Temporarily")
    wait_summary(d, "short", "CRITICAL",
                 r"^redirect loop: more than 2 redirects, next to "
                 r"http://127\.0\.0\.1:\d+/$")
    wait_summary(d, "loop", "CRITICAL",
                 r"^redirect loop: more than 5 redirects, next to .*/loop$")
    d.stop()


def test_http_refused_dns_and_body_too_large(env):
    n = HttpNginx(env.tmpdir)
    port = free_port()
    d = start(env,
              http_check("refused", "http://127.0.0.1:%d/" % port) +
              http_check("dns", "http://tocsin-no-such-host.invalid/",
                         "  timeout = 8s\n") +
              http_check("big", n.url("/big.html"),
                         "  max_body = 1000\n") +
              http_check("bigok", n.url("/big.html")))
    c = wait_summary(d, "refused", "CRITICAL",
                     r"^connection refused by 127\.0\.0\.1 port %d$" % port)
    # phases that did not happen are unknown, not 0: an outage must not
    # draw as the fastest period on the response-time graph
    for name in ("time_total", "time_connect", "time_ttfb", "size"):
        assert metric(c, name)["value"] is None, (name, c["metrics"])
    assert metric(c, "time_namelookup")["value"] is not None, c["metrics"]
    assert metric(c, "status") is None, c["metrics"]
    # ... and U in the RRD file (rrdtool shows the last update)
    rrd = "%s/rrd/refused.rrd" % d.state_dir

    def last_update():
        import subprocess
        r = subprocess.run(["rrdtool", "lastupdate", rrd],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0 or len(r.stdout.split("\n")) < 3:
            return None
        names = r.stdout.split("\n")[0].split()
        vals = r.stdout.split("\n")[2].split()[1:]
        return dict(zip(names, vals))
    lu = wait_for(last_update, 15, "a row in refused.rrd")
    for name in ("time_total", "time_connect", "time_ttfb", "size"):
        assert lu[name] == "U", (name, lu)
    # the metrics endpoint leaves unknown values out
    _, _, body = d.get_raw("/metrics")
    assert 'check="refused",metric="time_connect"' not in body.decode()
    c = wait_summary(d, "dns", "CRITICAL",
                     r"^DNS failure: (cannot resolve|resolving) "
                     r"tocsin-no-such-host\.invalid", timeout=20)
    assert metric(c, "time_namelookup")["value"] is None, c["metrics"]
    assert metric(c, "time_connect")["value"] is None, c["metrics"]
    wait_summary(d, "big", "CRITICAL",
                 r"^body too large: more than 1000 bytes \(max_body\)$")
    wait_summary(d, "bigok", "OK", r"^HTTP 200 OK: 200000 bytes")
    d.stop()


def test_http_timeouts_and_slow(env):
    hang = SlowServer(delay=None)
    slow = SlowServer(delay=0.6)
    full = FullBacklog()
    d = start(env,
              http_check("hang", hang.url(), "  timeout = 1s\n") +
              http_check("noconn", full.url(), "  timeout = 1s\n") +
              http_check("slow", slow.url(),
                         "  warn_time = 200ms  crit_time = 5s\n"
                         "  interval = 2s  timeout = 4s\n") +
              http_check("slowcrit", slow.url(),
                         "  warn_time = 100ms  crit_time = 300ms\n"
                         "  interval = 2s  timeout = 4s\n"))
    c = wait_summary(d, "hang", "CRITICAL",
                     r"^response timeout: connected, no answer within "
                     r"900ms$")
    assert metric(c, "time_connect")["value"] > 0, c
    c = wait_summary(d, "noconn", "CRITICAL",
                     r"^connect timeout: no connection to 127\.0\.0\.1 "
                     r"port %d within 900ms$" % full.port)
    # never connected: unknown (null), not a 0 s connect
    assert metric(c, "time_connect")["value"] is None, c
    assert metric(c, "time_total")["value"] is None, c
    c = wait_summary(d, "slow", "WARNING",
                     r"^response slower than threshold: \d+\.\d+s > "
                     r"warn_time 200ms$")
    assert metric(c, "time_total")["warn"] == 0.2, c
    wait_summary(d, "slowcrit", "CRITICAL",
                 r"^response slower than threshold: .* > crit_time 300ms$")
    d.stop()


def test_http_cancel_in_flight(env):
    # Runs stuck on a server that never answers are cancelled by the core
    # (a reload, then shutdown): no leak or sanitizer report, and the
    # daemon keeps working.
    hang = SlowServer(delay=None)
    n = HttpNginx(env.tmpdir)
    cfg = "".join(http_check("h%d" % i, hang.url(), "  timeout = 30s\n")
                  for i in range(5))
    d = start(env, cfg + http_check("ok", n.url()))
    wait_for(lambda: hang.accepted >= 5, 10, "5 connections to hang")
    out = d.reload(cfg.replace("30s", "20s") + http_check("ok", n.url()))
    assert "reloaded" in out, out
    d.wait_check("ok", "OK", timeout=10)
    wait_for(lambda: hang.accepted >= 10, 10, "5 more connections")
    d.stop()


def test_http_basic_auth(env):
    n = HttpNginx(env.tmpdir)
    d = start(env,
              http_check("anon", n.url("/private/")) +
              http_check("wrong", n.url("/private/"),
                         '  username = "ops"  password = "nope"\n') +
              http_check("auth", n.url("/private/"),
                         '  username = %s  password = %s\n'
                         '  expect_body = "members only"\n' %
                         (q(n.USER), q(n.PASSWORD))))
    wait_summary(d, "anon", "CRITICAL", r"^unexpected status 401 "
                 r"Unauthorized")
    wait_summary(d, "wrong", "CRITICAL", r"^unexpected status 401")
    wait_summary(d, "auth", "OK", r"^HTTP 200 OK")
    d.stop()


def test_http_tls(env):
    ca = CA(env.path("pki"))
    good = ca.cert("good", 30)
    soon = ca.cert("soon", 5)
    old = ca.cert("old", -1)
    other = ca.cert("other", 30, dns=("other.example",), ips=())
    n = HttpNginx(env.tmpdir, tls={"good": good, "soon": soon, "old": old,
                                   "other": other})
    caf = '  ca_file = %s\n' % q(ca.pem)
    d = start(env,
              http_check("good", n.https_url("good"), caf) +
              http_check("untrusted", n.https_url("good")) +
              http_check("soon", n.https_url("soon"), caf) +
              http_check("soonwarn", n.https_url("soon"),
                         caf + "  cert_expiry_warn = 10d  "
                         "cert_expiry_crit = 2d\n") +
              http_check("expired", n.https_url("old"), caf) +
              http_check("expired-noverify", n.https_url("old"),
                         "  tls_verify = false\n") +
              http_check("wrongname", n.https_url("other"), caf))
    c = wait_summary(d, "good", "OK",
                     r"^HTTP 200 OK: 13 bytes in .*, certificate valid for "
                     r"29 days$")
    assert 29 < metric(c, "cert_days_left")["value"] <= 30, c
    assert metric(c, "cert_days_left")["warn"] == "21:", c
    assert metric(c, "time_tls")["value"] > 0, c
    wait_summary(d, "untrusted", "CRITICAL",
                 r"^TLS handshake failed with 127\.0\.0\.1: .*"
                 r"(local issuer|self.signed)")
    wait_summary(d, "soon", "CRITICAL",
                 r"^certificate expires in 5 days \(cert_expiry_crit 7d\)$")
    wait_summary(d, "soonwarn", "WARNING",
                 r"^certificate expires in 5 days \(cert_expiry_warn 10d\)$")
    wait_summary(d, "expired", "CRITICAL",
                 r"^TLS handshake failed with 127\.0\.0\.1: .*expired")
    wait_summary(d, "expired-noverify", "CRITICAL",
                 r"^certificate expired 1 day ago$")
    wait_summary(d, "wrongname", "CRITICAL",
                 r"^TLS handshake failed with 127\.0\.0\.1: .*"
                 r"(subject name|does not match)")
    d.stop()


def test_http_resolve_pinning(env):
    ca = CA(env.path("pki"))
    shop = ca.cert("shop", 30, dns=("shop.tocsin.test",), ips=())
    n = HttpNginx(env.tmpdir, tls={"shop": shop})
    host = "shop.tocsin.test"
    tp = n.tls_port["shop"]
    d = start(env,
              http_check("pinned", "http://%s:%d/" % (host, n.port),
                         '  resolve = { "%s:%d:127.0.0.1" }\n'
                         % (host, n.port)) +
              http_check("pinned-tls", "https://%s:%d/" % (host, tp),
                         '  resolve = { "%s:%d:127.0.0.1" }\n'
                         '  ca_file = %s\n' % (host, tp, q(ca.pem))) +
              http_check("v4only", n.url(), '  ip_version = "4"\n') +
              http_check("byname", "http://localhost:%d/" % n.port,
                         '  ip_version = "4"\n'))
    wait_summary(d, "pinned", "OK", r"^HTTP 200 OK")
    wait_summary(d, "pinned-tls", "OK",
                 r"^HTTP 200 OK.*certificate valid for 29 days")
    wait_summary(d, "v4only", "OK", r"^HTTP 200 OK")
    # a name resolved by curl's resolver (a thread), not pinned
    c = wait_summary(d, "byname", "OK", r"^HTTP 200 OK")
    assert metric(c, "time_namelookup")["value"] > 0, c
    d.stop()


def test_http_config_errors(env):
    d = env.daemon(
        http_check("a", "ftp://127.0.0.1/") +
        http_check("b", "http://127.0.0.1/", '  expect_regex = "(unclosed"\n') +
        http_check("c", "http://127.0.0.1/",
                   '  resolve = { "nohost" }\n') +
        http_check("d", "http://127.0.0.1/",
                   '  expect_status = { 200, 999 }\n') +
        http_check("e", "http://127.0.0.1/", '  ip_version = "5"\n') +
        http_check("f", "http://127.0.0.1/",
                   '  ca_file = "/nonexistent/ca.pem"\n') +
        http_check("g", "http://127.0.0.1/",
                   '  method = "HEAD"\n  expect_body = "headless"\n'))
    d.require_plugin("http")
    rc, out = d.check_config()
    err = out + d.last_stderr
    assert rc == 1, (rc, out, err)
    for marker, text in (('"ftp://', "scheme must be http or https"),
                         ("(unclosed", "expect_regex"),
                         ('"nohost"', "is not HOST:PORT:ADDRESS"),
                         ("999", "not an HTTP status"),
                         ('"5"', "is not any, 4 or 6"),
                         ("/nonexistent/", "No such file"),
                         ('"headless"', "a HEAD request reads no body")):
        line = d.line_of(marker)
        assert re.search(r"%s:%d: .*%s" % (re.escape(d.conf), line,
                                           re.escape(text)), err), \
            (marker, text, err)


def test_http_outage_and_recovery(env):
    n = HttpNginx(env.tmpdir)
    d = start(env, 'http "site" {\n  url = %s\n  interval = 1s\n'
              '  retry_interval = 500ms\n  max_attempts = 3\n'
              '  expect_body = "hello"\n}\n' % q(n.url()))
    d.wait_check("site", "OK", timeout=10)
    n.stop()
    c, seen = track_check(
        d, "site", lambda c: c["state"] == "CRITICAL" and
        c["state_type"] == "hard", 15, "hard CRITICAL after nginx stopped")
    assert ("CRITICAL", "soft", 1) in seen, seen
    assert c["summary"] == ("connection refused by 127.0.0.1 port %d" %
                            n.port), c
    n.start()
    d.wait_check("site", "OK", state_type="hard", timeout=15)
    d.stop()


def test_http_default_config_watches_api(env):
    # The bundled tocsin.conf watches tocsind's own API with an http
    # check: it must parse and the check must be OK against the daemon.
    with open(env.srcdir + "/conf/tocsin.conf") as f:
        text = f.read()
    text = re.sub(r"(?ms)^daemon \{.*?^\}\n", "", text)
    text = re.sub(r"(?ms)^api \{.*?^\}\n", "", text)
    text = re.sub(r"(?m)^include\(.*\)$", "", text)
    assert 'http "tocsin-api"' in text, text
    d = env.daemon("")
    d.require_plugin("http")
    d.write_config(text.replace(":8470/", ":%d/" % d.port)
                   .replace("interval = 1m", "interval = 1s"))
    d.start()
    c = wait_summary(d, "tocsin-api", "OK", r"^HTTP 200 OK: \d+ bytes")
    assert metric(c, "time_total")["crit"] == 5, c
    d.stop()


def test_http_client_certificate_and_head(env):
    ca = CA(env.path("pki"))
    server = ca.cert("server", 30)
    client = ca.cert("client", 30, dns=("tocsin-probe",), ips=())
    n = HttpNginx(env.tmpdir, tls={"mtls": server}, client_ca=ca.pem)
    caf = '  ca_file = %s\n' % q(ca.pem)
    d = start(env,
              http_check("nocert", n.https_url("mtls"), caf) +
              http_check("withcert", n.https_url("mtls"),
                         caf + '  client_cert = %s  client_key = %s\n'
                         '  method = "HEAD"\n' % (q(client[0]),
                                                  q(client[1]))))
    wait_summary(d, "nocert", "CRITICAL", r"^unexpected status 400 ")
    c = wait_summary(d, "withcert", "OK", r"^HTTP 200 OK: 0 bytes")
    assert metric(c, "size")["value"] == 0, c
    # nginx logs a request after it has answered it: wait for the line
    wait_for(lambda: "HEAD / " in n.access_log(), 5, "the HEAD in nginx's "
             "access log")
    d.stop()


def test_http_expect_jq(env):
    n = HttpNginx(env.tmpdir)
    n.put("health.json", '{"status": "ok", "db": {"latency_ms": 12}}\n')
    n.put("sick.json", '{"status": "degraded", "db": {"latency_ms": 900}}\n')
    n.put("list.json", '[1, 2, 3]\n')
    expr = '.status == "ok" and .db.latency_ms < 200'
    d = start(env,
              http_check("healthy", n.url("/health.json"),
                         "  expect_jq = %s\n" % q(expr)) +
              http_check("sick", n.url("/sick.json"),
                         "  expect_jq = %s\n" % q(expr)) +
              http_check("html", n.url("/"),
                         "  expect_jq = %s\n" % q(expr)) +
              http_check("typeerr", n.url("/list.json"),
                         '  expect_jq = ".status.x"\n') +
              http_check("allpos", n.url("/list.json"),
                         '  expect_jq = ".[] > 0"\n') +
              http_check("oneneg", n.url("/list.json"),
                         '  expect_jq = ".[] > 1"\n') +
              http_check("empty", n.url("/list.json"),
                         '  expect_jq = "empty"\n'))
    wait_summary(d, "healthy", "OK", r"^HTTP 200 OK: ")
    wait_summary(d, "sick", "CRITICAL",
                 r'^expect_jq "%s" is false \(HTTP 200\)$' % re.escape(expr))
    wait_summary(d, "html", "CRITICAL",
                 r'^expect_jq "%s": body is not JSON \(.+; HTTP 200, 13 '
                 r'bytes\)$' % re.escape(expr))
    wait_summary(d, "typeerr", "CRITICAL",
                 r'^expect_jq "\.status\.x" failed: Cannot index array '
                 r'with (string )?"status"$')
    wait_summary(d, "allpos", "OK", r"^HTTP 200 OK: ")
    wait_summary(d, "oneneg", "CRITICAL",
                 r'^expect_jq "\.\[\] > 1" is false \(HTTP 200\)$')
    wait_summary(d, "empty", "CRITICAL",
                 r'^expect_jq "empty" gave no result \(HTTP 200\)$')
    d.stop()


def test_http_expect_jq_config_errors(env):
    d = env.daemon(
        http_check("a", "http://127.0.0.1/",
                   '  expect_jq = ".status == (unclosed"\n') +
        http_check("b", "http://127.0.0.1/",
                   '  expect_jq = "no_such_function(1)"\n') +
        http_check("c", "http://127.0.0.1/",
                   '  method = "HEAD"\n  expect_jq = ".ok"\n'))
    d.require_plugin("http")
    rc, out = d.check_config()
    err = out + d.last_stderr
    assert rc == 1, (rc, out, err)
    for marker, text in (("(unclosed", 'expect_jq: ".status == (unclosed"'
                          ': syntax error'),
                         ("no_such_function", "no_such_function/1 is not "
                          "defined"),
                         ('".ok"', "a HEAD request reads no body")):
        line = d.line_of(marker)
        assert re.search(r"%s:%d: .*%s" % (re.escape(d.conf), line,
                                           re.escape(text)), err), \
            (marker, text, err)
