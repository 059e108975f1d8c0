"""The dns plugin against dnsmasq on loopback (fixed records in the zone
"test"), a UDP socket that never answers and a python responder that
answers SERVFAIL: NXDOMAIN, SERVFAIL, timeout and wrong answers are
distinct one-line causes."""
import json
import re

from fx_dns import Dnsmasq, ServfailDns, SilentDns


def q(s):
    return json.dumps(s)


def dns_check(name, qname, server, extra=""):
    return ('dns %s {\n  name = %s\n  server = %s\n  interval = 1s\n'
            '  max_attempts = 1\n%s}\n' % (q(name), q(qname), q(server),
                                           extra))


def start(env, config):
    d = env.daemon(config)
    d.require_plugin("dns")
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


def test_dns_record_types(env):
    m = Dnsmasq(env)
    s = m.server
    d = start(env,
              dns_check("a", "host.test", s, '  expect = { "192.0.2.5" }\n') +
              dns_check("aaaa", "host.test", s,
                        '  type = "AAAA"\n  expect = { "2001:db8::5" }\n') +
              dns_check("multi", "multi.test", s,
                        '  expect = { "192.0.2.22", "192.0.2.21" }\n') +
              dns_check("cname", "alias.test", s,
                        '  type = "CNAME"\n  expect = { "host.test" }\n') +
              dns_check("mx", "test", s,
                        '  type = "MX"\n  expect = { "10 mail.test" }\n') +
              dns_check("ns", "test", s,
                        '  type = "NS"\n  expect_regex = "^ns[12]\\\\.test$"\n') +
              dns_check("txt", "txt.test", s,
                        '  type = "TXT"\n  expect = { "v=spf1 -all" }\n') +
              dns_check("srv", "_ldap._tcp.test", s,
                        '  type = "SRV"\n  expect = { "5 20 389 ldap.test" }\n') +
              dns_check("soa", "test", s,
                        '  type = "SOA"\n  min_serial = %d\n' % m.SERIAL) +
              dns_check("ptr", "192.0.2.5", s,
                        '  type = "PTR"\n  expect = { "host.test" }\n'))
    c = wait_summary(d, "a", "OK",
                     r"^DNS OK: host\.test A = 192\.0\.2\.5 in [0-9.]+s "
                     r"\(127\.0\.0\.1:\d+\)$")
    assert metric(c, "time")["unit"] == "s", c
    assert 0 <= metric(c, "time")["value"] < 5, c
    assert metric(c, "answers")["value"] == 1, c
    wait_summary(d, "aaaa", "OK", r"= 2001:db8::5 in")
    wait_summary(d, "multi", "OK", r"= 192\.0\.2\.2[12], 192\.0\.2\.2[12]")
    wait_summary(d, "cname", "OK", r"^DNS OK: alias\.test CNAME = host\.test")
    wait_summary(d, "mx", "OK", r"^DNS OK: test MX = 10 mail\.test in")
    wait_summary(d, "ns", "OK", r"^DNS OK: test NS = ns[12]\.test, ns[12]")
    wait_summary(d, "txt", "OK", r"^DNS OK: txt\.test TXT = v=spf1 -all in")
    wait_summary(d, "srv", "OK", r"= 5 20 389 ldap\.test in")
    c = wait_summary(d, "soa", "OK",
                     r"^DNS OK: test SOA = ns1\.test hostmaster\.test "
                     r"%d " % m.SERIAL)
    assert metric(c, "serial")["value"] == m.SERIAL, c
    wait_summary(d, "ptr", "OK", r"^DNS OK: 192\.0\.2\.5 PTR = host\.test")
    d.stop()


def test_dns_failure_kinds(env):
    m = Dnsmasq(env)
    silent = SilentDns()
    servfail = ServfailDns()
    s = m.server
    d = start(env,
              dns_check("nx", "nope.test", s) +
              dns_check("nx-wanted", "nope.test", s,
                        '  expect_rcode = "NXDOMAIN"\n') +
              dns_check("servfail", "host.test", servfail.server) +
              dns_check("silent", "host.test", silent.server,
                        '  timeout = 2s\n') +
              dns_check("wrong", "host.test", s,
                        '  expect = { "192.0.2.99" }\n') +
              dns_check("wrong-any", "multi.test", s,
                        '  expect_any = { "192.0.2.1", "192.0.2.2" }\n') +
              dns_check("any", "multi.test", s,
                        '  expect_any = { "192.0.2.1", "192.0.2.22" }\n') +
              dns_check("wrong-rx", "host.test", s,
                        '  expect_regex = "^10\\\\."\n') +
              dns_check("nodata", "txt.test", s, '  type = "MX"\n') +
              dns_check("old-serial", "test", s,
                        '  type = "SOA"\n  min_serial = %d\n' %
                        (m.SERIAL + 1)))
    wait_summary(d, "nx", "CRITICAL",
                 r"^NXDOMAIN: nope\.test does not exist \(127\.0\.0\.1:\d+\)$")
    wait_summary(d, "nx-wanted", "OK",
                 r"^DNS OK: nope\.test A is NXDOMAIN as expected")
    wait_summary(d, "servfail", "CRITICAL",
                 r"^SERVFAIL from 127\.0\.0\.1:%d for host\.test A$" %
                 servfail.port)
    wait_summary(d, "silent", "CRITICAL",
                 r"^timeout: no answer from 127\.0\.0\.1:%d for host\.test "
                 r"A within 1\.8s$" % silent.port)
    assert silent.queries >= 2     # c-ares retransmitted once
    wait_summary(d, "wrong", "CRITICAL",
                 r'^wrong answer for host\.test A: got "192\.0\.2\.5", '
                 r'expected "192\.0\.2\.99"$')
    wait_summary(d, "wrong-any", "CRITICAL",
                 r'^wrong answer for multi\.test A: got "192\.0\.2\.2[12], '
                 r'192\.0\.2\.2[12]", expected one of "192\.0\.2\.1, '
                 r'192\.0\.2\.2"$')
    wait_summary(d, "any", "OK", r"^DNS OK: multi\.test A")
    wait_summary(d, "wrong-rx", "CRITICAL",
                 r'^wrong answer for host\.test A: "192\.0\.2\.5" does not '
                 r'match /\^10\\\.'
                 r'/$')
    wait_summary(d, "nodata", "CRITICAL",
                 r"^no MX record for txt\.test \(NOERROR, no answer\)")
    wait_summary(d, "old-serial", "CRITICAL",
                 r"^SOA serial %d of test is below min_serial %d" %
                 (m.SERIAL, m.SERIAL + 1))
    d.stop()


def test_dns_config_errors(env):
    d = env.daemon(
        dns_check("a", "x.test", "127.0.0.1", '  type = "HINFO"\n') +
        dns_check("b", "x.test", "not-an-address:53") +
        dns_check("c", "x.test", "127.0.0.1:99999") +
        dns_check("d", "x.test", "127.0.0.1", '  expect_rcode = "MAYBE"\n') +
        dns_check("e", "x.test", "127.0.0.1", '  min_serial = 5\n') +
        dns_check("f", "x.test", "127.0.0.1", '  expect_regex = "(x"\n'))
    d.require_plugin("dns")
    rc, out = d.check_config()
    err = out + d.last_stderr
    assert rc == 1, (rc, out, err)
    for marker, text in (('"HINFO"', 'type: "HINFO" is not A, AAAA'),
                         ('"not-an-address:53"', "is not ADDRESS"),
                         ('99999', "is not ADDRESS"),
                         ('"MAYBE"', "expect_rcode"),
                         ("min_serial = 5", 'needs type = "SOA"'),
                         ('"(x"', "expect_regex")):
        line = d.line_of(marker)
        assert re.search(r"%s:%d: .*%s" % (re.escape(d.conf), line,
                                           re.escape(text)), err), \
            (marker, text, err)
