"""Templates (template "NAME" { }, use = ...) and apply rules (apply
"NAME" { type = ... assign_tags = ... }): what they make, what wins, and
what tocsind -t reports, at which lines."""
import harness
from fx_api import tocsinctl

TEMPLATES = (
    'template "fast" {\n'
    '  interval = 5s\n'
    '  max_attempts = 2\n'
    '  group = "fast"\n'
    '}\n'
    'template "other" {\n'
    '  group = "other"\n'
    '  text = "from a template"\n'
    '}\n')


def by_name(d):
    return {c["name"]: c for c in d.checks()}


def test_templates_fill_keys_the_check_does_not_set(env):
    d = env.daemon(TEMPLATES +
                   'dummy "one" { use = "fast" }\n'
                   # later template wins over the earlier one
                   'dummy "two" { use = { "fast", "other" } }\n'
                   # the check's own keys win over every template
                   'dummy "own" { use = { "fast", "other" }  interval = 7s'
                   '  group = "mine" }\n'
                   'dummy "none" { }\n')
    rc, out = d.check_config()
    assert rc == 0 and out.strip() == "config OK", out + d.last_stderr
    d.start()
    c = by_name(d)
    assert (c["one"]["interval"], c["one"]["max_attempts"],
            c["one"]["group"]) == (5, 2, "fast"), c["one"]
    assert (c["two"]["interval"], c["two"]["group"]) == (5, "other"), \
        c["two"]
    assert (c["own"]["interval"], c["own"]["max_attempts"],
            c["own"]["group"]) == (7, 2, "mine"), c["own"]
    assert (c["none"]["interval"], c["none"]["max_attempts"],
            c["none"]["group"]) == (60, 3, None), c["none"]
    assert all(x["rule"] is None for x in c.values()), c
    d.wait_for(lambda: d.check("two")["last_check"], 10, "two to run")
    assert d.check("two")["summary"] == "from a template", d.check("two")
    d.stop()


def test_unknown_template_and_foreign_keys_are_reported_at_both_lines(env):
    d = env.daemon('template "snmpish" {\n'
                   '  community = "public"\n'
                   '  interval = 30s\n'
                   '}\n'
                   'template "spaced" { interval = 5 m }\n'
                   'dummy "a" {\n'
                   '  use = "nosuch"\n'
                   '}\n'
                   'dummy "b" {\n'
                   '  use = "snmpish"\n'
                   '}\n'
                   'dummy "c" { use = "spaced" }\n'
                   'host "h" { use = "snmpish" }\n')
    d.require_plugin("snmp")
    rc, out = d.check_config()
    assert rc == 1, out + d.last_stderr
    conf = d.conf
    tl = d.line_of("community")
    want = [
        '%s:%d: dummy "a": use: no template is named "nosuch"' % (
            conf, d.line_of('"nosuch"')),
        '%s:%d: dummy "b": use: template "snmpish" sets "community" '
        '(%s:%d), which dummy checks do not have' % (
            conf, d.line_of('use = "snmpish"'), conf, tl),
        # a bad value is reported at the template's line, for the check
        '%s:%d: dummy "c": interval: "5 m" is not a duration (no space '
        'between the number and the unit: 5m)' % (conf, d.line_of("5 m")),
        '%s:%d: host "h": use: template "snmpish" sets "community" '
        '(%s:%d), which hosts do not have' % (
            conf, d.line_of('host "h"'), conf, tl),
        '%s:%d: host "h": use: template "snmpish" sets "interval" '
        '(%s:%d), which hosts do not have' % (
            conf, d.line_of('host "h"'), conf, d.line_of("interval = 30s")),
    ]
    # hosts do have interval (for check = ping), so that one is about it
    lines = out.splitlines()
    want = [w for w in want if "sets \"interval\"" not in w]
    want.append('%s:%d: host "h": interval: only for the automatic host '
                'check (check = ping)' % (conf, d.line_of("interval = 30s")))
    assert sorted(lines) == sorted(want), "\n".join(lines)


RULES = (
    'host "web1" { address = "127.0.0.11"  tags = { "web" } }\n'
    'host "web2" { address = "127.0.0.12"  tags = { "web", "staging" } }\n'
    'host "web3" { use = "webhost" }\n'
    'template "webhost" { address = "127.0.0.13"  tags = { "web" } }\n'
    'host "db1" { address = "127.0.0.21" }\n'
    'template "quick" { interval = 1s  max_attempts = 1 }\n'
    'apply "health" {\n'
    '  type = "dummy"\n'
    '  assign_tags = { "web" }\n'
    '  ignore_tags = { "staging" }\n'
    '  use = "quick"\n'
    '  text = "{host} at {address} by {rule}"\n'
    '}\n'
    'apply "db" {\n'
    '  type = "dummy"\n'
    '  assign_hosts = { "db*" }\n'
    '  name = "{host}-alive"\n'
    '}\n')


def test_apply_rules_make_a_check_per_matching_host(env):
    d = env.daemon(RULES)
    rc, out = d.check_config()
    assert rc == 0, out + d.last_stderr
    assert out.splitlines() == [
        'apply "health" (%s:%d): 2 dummy checks' % (
            d.conf, d.line_of('apply "health"')),
        'apply "db" (%s:%d): 1 dummy check' % (
            d.conf, d.line_of('apply "db"')),
        "config OK"], out
    d.start()
    c = by_name(d)
    assert sorted(c) == ["db1-alive", "web1-health", "web3-health"], c
    for name, host, rule in (("web1-health", "web1", "health"),
                             ("web3-health", "web3", "health"),
                             ("db1-alive", "db1", "db")):
        assert (c[name]["host"], c[name]["rule"]) == (host, rule), c[name]
    assert (c["web1-health"]["interval"],
            c["web1-health"]["max_attempts"]) == (1, 1), c["web1-health"]
    d.wait_for(lambda: d.check("web3-health")["last_check"], 10,
               "web3-health to run")
    assert d.check("web3-health")["summary"] == \
        "web3 at 127.0.0.13 by health", d.check("web3-health")
    # tocsinctl checks shows which rule made each check
    rc, out, err = tocsinctl(env, d, "checks")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "ATTEMPT", "LAST", "CHECK",
                                "RULE", "SUMMARY"], lines
    row = [l for l in lines if l.startswith("db1-alive ")]
    assert row and " db " in row[0], out
    d.stop()


def test_apply_rule_errors_point_at_the_rule(env):
    d = env.daemon('host "h1" { tags = { "web" } }\n'
                   'host "h2" { tags = { "web" } }\n'
                   'dummy "h2-health" { }\n'
                   'apply "health" {\n'
                   '  type = "dummy"\n'
                   '  assign_tags = { "web" }\n'
                   '  text = "{address}"\n'
                   '}\n'
                   'apply "badtype" {\n'
                   '  type = "nosuch"\n'
                   '  assign_tags = { "web" }\n'
                   '}\n'
                   'apply "badkey" {\n'
                   '  type = "dummy"\n'
                   '  assign_hosts = { "*" }\n'
                   '  url = "http://x/"\n'
                   '}\n'
                   'apply "nohosts" { type = "dummy" }\n')
    rc, out = d.check_config()
    assert rc == 1, out + d.last_stderr
    conf = d.conf
    want = [
        # the made check's name clashes with a check in the file
        '%s:%d: dummy "h2-health": duplicate check name "h2-health" '
        '(first defined at %s:%d)' % (conf, d.line_of('apply "health"'),
                                      conf, d.line_of('dummy "h2-health"')),
        '%s:%d: apply "health": text: host "h1" has no address to put in '
        '{address}' % (conf, d.line_of('"{address}"')),
        '%s:%d: apply "badtype": type: no check type "nosuch" (no loaded '
        'plugin provides it)' % (conf, d.line_of('"nosuch"')),
        '%s:%d: apply "badkey": url: dummy checks have no such key' % (
            conf, d.line_of('url = ')),
        '%s:%d: apply "nohosts": needs assign_tags or assign_hosts (the '
        'hosts it makes a check for)' % (conf, d.line_of('"nohosts"')),
    ]
    assert sorted(out.splitlines()) == sorted(want), out
