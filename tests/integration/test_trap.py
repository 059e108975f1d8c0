"""The trap plugin: traps sent with net-snmp's snmptrap/snmpinform to a
trap_listener on a loopback port drive passive trap checks (linkDown
raises, linkUp clears, at once: the checks' interval is an hour);
unmatched and wrongly-addressed traps are counted and shown, not lost."""
import json
import os
import re
import shutil
import subprocess

import harness
from harness import free_port
from fx_api import tocsinctl

LINKDOWN = "1.3.6.1.6.3.1.1.5.3"
LINKUP = "1.3.6.1.6.3.1.1.5.4"
IFINDEX = "1.3.6.1.2.1.2.2.1.1"
IFADMIN = "1.3.6.1.2.1.2.2.1.7"
IFOPER = "1.3.6.1.2.1.2.2.1.8"


def q(s):
    return json.dumps(s)


def tool(name):
    path = shutil.which(name) or "/usr/bin/" + name
    if not os.access(path, os.X_OK):
        raise harness.Skip("%s not installed (package snmp)" % name)
    return path


def send(port, trap_oid, ifindex, version="2c", community="public",
         inform=False):
    """snmptrap (or snmpinform) with ifIndex/ifAdminStatus/ifOperStatus."""
    vbs = ["%s.%d" % (IFINDEX, ifindex), "i", str(ifindex),
           "%s.%d" % (IFADMIN, ifindex), "i", "1",
           "%s.%d" % (IFOPER, ifindex), "i", "2"]
    if version == "1":
        # enterprise, agent, generic trap 2 = linkDown / 3 = linkUp
        generic = "2" if trap_oid == LINKDOWN else "3"
        args = [tool("snmptrap"), "-v", "1", "-c", community,
                "127.0.0.1:%d" % port, "1.3.6.1.4.1.8072.2.3", "127.0.0.1",
                generic, "0", ""] + vbs
    else:
        args = [tool("snmpinform" if inform else "snmptrap"), "-v", "2c",
                "-c", community, "-r", "1", "-t", "2",
                "127.0.0.1:%d" % port, "", trap_oid] + vbs
    env = dict(os.environ, MIBS="", MIBDIRS="/nonexistent")
    r = subprocess.run(args, capture_output=True, text=True, timeout=20,
                       env=env)
    return r.returncode, r.stderr


def config(port, extra=""):
    return ('trap_listener "traps" {\n  listen = "udp:127.0.0.1:%d"\n'
            '  community = { "public", "s3cret" }\n  interval = 1s\n}\n'
            'trap "sw1-link" {\n  oid = "IF-MIB::linkDown"\n'
            '  clear_oid = "IF-MIB::linkUp"\n  match = "ifIndex=3"\n'
            '  source = "127.0.0.1"\n  interval = 1h\n  max_attempts = 1\n'
            '}\n%s' % (port, extra))


def wait_summary(d, name, state, pattern, timeout=10):
    rx = re.compile(pattern)
    return d.wait_check(name, state, timeout=timeout,
                        pred=lambda c: rx.search(c["summary"] or ""))


def metric(c, name):
    for m in c.get("metrics") or []:
        if m["name"] == name:
            return m
    return None


def start(env, port, extra=""):
    d = env.daemon(config(port, extra))
    d.require_plugin("trap")
    d.start()
    wait_summary(d, "traps", "OK", r"^listening on udp:127\.0\.0\.1:%d: "
                 % port)
    return d


def test_trap_linkdown_raises_linkup_clears(env):
    port = free_port()
    d = start(env, port)
    rc, err = send(port, LINKDOWN, 3)
    assert rc == 0, err
    c = wait_summary(d, "sw1-link", "CRITICAL",
                     r"^linkDown from 127\.0\.0\.1: ifIndex\.3=3 "
                     r"ifAdminStatus\.3=1 ifOperStatus\.3=2 at \d{4}-")
    assert c["state_type"] == "hard", c
    rc, err = send(port, LINKUP, 3, community="s3cret")
    assert rc == 0, err
    wait_summary(d, "sw1-link", "OK", r"^linkUp from 127\.0\.0\.1: "
                 r"ifIndex\.3=3")
    # a v1 trap (generic linkDown) is the same trap (RFC 3584)
    rc, err = send(port, LINKDOWN, 3, version="1")
    assert rc == 0, err
    wait_summary(d, "sw1-link", "CRITICAL", r"^linkDown from 127\.0\.0\.1")
    # an inform is answered (snmpinform exits 0 only then) and counts
    rc, err = send(port, LINKUP, 3, inform=True)
    assert rc == 0, err
    wait_summary(d, "sw1-link", "OK", r"^linkUp from")
    c = wait_summary(d, "traps", "OK", r": 4 traps, 4 matched, 0 unmatched, "
                     r"0 rejected$")
    assert metric(c, "received")["value"] == 4, c
    d.stop()


def test_trap_unmatched_and_rejected_are_counted(env):
    port = free_port()
    d = start(env, port)
    rc, err = send(port, LINKDOWN, 4)          # another interface
    assert rc == 0, err
    rc, err = send(port, LINKDOWN, 3, community="wrong")
    assert rc == 0, err
    c = wait_summary(d, "traps", "OK",
                     r": 2 traps, 0 matched, 1 unmatched, 1 rejected "
                     r"\(last unmatched: \S+ \S+ linkDown from 127\.0\.0\.1: "
                     r"ifIndex\.4=4 ")
    assert metric(c, "unmatched")["value"] == 1, c
    assert metric(c, "rejected")["value"] == 1, c
    assert "last unmatched traps:" in (c.get("long_output") or ""), c
    assert "no trap check matches linkDown from 127.0.0.1: ifIndex.4=4" in \
        d.log()
    assert "wrong" not in d.log()    # communities are never logged
    rc, out, err = tocsinctl(env, d, "traps")
    assert rc == 0, (rc, out, err)
    assert re.search(r"^traps: listening on udp:127\.0\.0\.1:%d: 2 traps, "
                     r"0 matched, 1 unmatched, 1 rejected" % port, out), out
    assert re.search(r"^last unmatched traps:\n\S+ \S+ linkDown from "
                     r"127\.0\.0\.1: ifIndex\.4=4", out, re.M), out
    # sw1-link never ran on a trap: it has no result or an OK one
    c = d.check("sw1-link")
    assert c["state"] in ("OK", "PENDING", None) or c.get("last_check") \
        is None, c
    d.stop()


ENGINE = "0x80001f8880c0ffee00000001"


def send_v3(port, ifindex, user="ops", auth="authpass1", priv="privpass1"):
    args = [tool("snmptrap"), "-v", "3", "-e", ENGINE, "-u", user, "-l",
            "authPriv", "-a", "SHA", "-A", auth, "-x", "AES", "-X", priv,
            "127.0.0.1:%d" % port, "", LINKDOWN,
            "%s.%d" % (IFINDEX, ifindex), "i", str(ifindex)]
    env = dict(os.environ, MIBS="", MIBDIRS="/nonexistent",
               SNMPCONFPATH="/nonexistent", HOME="/nonexistent")
    r = subprocess.run(args, capture_output=True, text=True, timeout=20,
                       env=env)
    return r.returncode, r.stderr


def test_trap_v3_users(env):
    port = free_port()
    d = env.daemon(
        'trap_listener "traps" {\n  listen = "udp:127.0.0.1:%d"\n'
        '  community = { }\n'
        '  v3_users = { "-e %s ops SHA authpass1 AES privpass1" }\n'
        '  interval = 1s\n}\n'
        'trap "sw1-link" {\n  oid = "linkDown"\n  match = "ifIndex=3"\n'
        '  interval = 1h\n  max_attempts = 1\n}\n' % (port, ENGINE))
    d.require_plugin("trap")
    d.start()
    wait_summary(d, "traps", "OK", r"^listening on ")
    rc, err = send_v3(port, 3)
    assert rc == 0, err
    wait_summary(d, "sw1-link", "CRITICAL", r"^linkDown from 127\.0\.0\.1: "
                 r"ifIndex\.3=3")
    # a wrong pass phrase does not get through net-snmp's USM; a v2c
    # trap finds no community on this listener: rejected
    rc, err = send_v3(port, 4, auth="wrongpass1")
    assert rc == 0, err
    rc, err = send(port, LINKDOWN, 4)
    assert rc == 0, err
    c = wait_summary(d, "traps", "OK", r": 2 traps, 1 matched, 0 unmatched, "
                     r"1 rejected")
    assert "authpass1" not in d.log() and "privpass1" not in d.log()
    d.stop()


def test_trap_v3_users_are_a_secret(env):
    """v3_users holds pass phrases: in a file every local user may read,
    tocsind -t warns at its line, without the phrase."""
    d = env.daemon(
        'trap_listener "traps" {\n  listen = "udp:127.0.0.1:%d"\n'
        '  v3_users = { "-e %s ops SHA authpass1 AES privpass1" }\n}\n' %
        (free_port(), ENGINE))
    d.require_plugin("trap")
    os.chmod(d.conf, 0o644)
    rc, out = d.check_config()
    assert rc == 0, (rc, out, d.last_stderr)
    want = "%s:%d: v3_users: this file is readable by every local user" % (
        d.conf, d.line_of("v3_users"))
    assert want in d.last_stderr, d.last_stderr
    assert "authpass1" not in d.last_stderr + out


def test_trap_state_survives_reload(env):
    port = free_port()
    d = start(env, port)
    rc, err = send(port, LINKDOWN, 3)
    assert rc == 0, err
    wait_summary(d, "sw1-link", "CRITICAL", r"^linkDown")
    d.reload(config(port, 'dummy "other" { state = "ok"  interval = 1s }\n'))
    d.wait_check("other", "OK")
    rc, err = send(port, LINKDOWN, 3)   # the socket is still open
    assert rc == 0, err
    c = d.wait_check("traps", "OK", pred=lambda c:
                     metric(c, "received") and
                     metric(c, "received")["value"] >= 2)
    c = d.check("sw1-link")
    assert c["state"] == "CRITICAL", c
    d.stop()


def test_trap_config_errors(env):
    d = env.daemon(
        'trap_listener "l" { listen = "tcp:127.0.0.1:1162" }\n'
        'trap "a" { oid = "NO-SUCH-MIB::frobnicate" }\n'
        'trap "b" { oid = "linkDown" match = "ifIndex" }\n'
        'trap "c" { oid = "linkDown" source = "sw1.example" }\n'
        'trap "e" { oid = "linkDown" state = "unknown" }\n')
    d.require_plugin("trap")
    rc, out = d.check_config()
    err = out + d.last_stderr
    assert rc == 1, (rc, out, err)
    for marker, text in (('"tcp:', "listen: \"tcp:127.0.0.1:1162\" is not "
                          "udp:"),
                         ("frobnicate", "is not an OID or a name"),
                         ('"ifIndex"', 'match: "ifIndex" is not NAME=VALUE'),
                         ('"sw1.example"', "is not an IPv4 or IPv6"),
                         ('"unknown"', "is not warning or critical")):
        line = d.line_of(marker)
        assert re.search(r"%s:%d: .*%s" % (re.escape(d.conf), line,
                                           re.escape(text)), err), \
            (marker, text, err)
