"""Configuration: -t, file:line errors, includes, plugin ABI."""
import os

import harness
from harness import line_of


def test_check_config_ok_prints_config_ok(env):
    d = env.daemon('dummy "fine" { state = ok  interval = 1s }\n')
    rc, out = d.check_config()
    assert rc == 0, "tocsind -t exited %d: %s%s" % (rc, out, d.last_stderr)
    assert out.strip() == "config OK", "stdout: %r" % out


def test_check_config_reports_every_error_with_file_and_line(env):
    included = (
        'dummy "web-front" {\n'
        '  interval = "5 parsecs"\n'
        '}\n'
        'dummy "dup" {\n'
        '  text = "first definition"\n'
        '}\n'
        'dummy "cycle-b" {\n'
        '  depends_on = { "cycle-a" }\n'
        '}\n')
    inc = env.file("conf.d/web.conf", included)
    main = (
        'include("conf.d/*.conf")\n'
        '\n'
        'host "h1" { address = "127.0.0.1" }\n'
        '\n'
        'dummy "unknown-key" {\n'
        '  colour = "blue"\n'
        '}\n'
        'dummy "bad-type" {\n'
        '  max_attempts = abc\n'
        '}\n'
        'exec "no-command" {\n'
        '  interval = 1s\n'
        '}\n'
        'dummy "dup" {\n'
        '  text = "second definition"\n'
        '}\n'
        'dummy "on-missing-host" {\n'
        '  host = "nohost"\n'
        '}\n'
        'dummy "bad-dep" {\n'
        '  depends_on = { "no-such-check" }\n'
        '}\n'
        'dummy "cycle-a" {\n'
        '  depends_on = { "cycle-b" }\n'
        '}\n'
        # an unknown section ends the parse, so it comes last
        'frobnicate "thing" {\n'
        '  x = 1\n'
        '}\n')
    d = env.daemon(main)
    d.require_plugin("exec")
    conf = d.conf
    # (description, [acceptable "FILE:LINE:" prefixes], words the message
    # must contain)
    expected = [
        ("unknown key", ["%s:%d:" % (conf, d.line_of("colour ="))],
         ["colour"]),
        ("bad duration in the included file",
         ["%s:%d:" % (inc, line_of(included, "5 parsecs"))],
         ["interval", "5 parsecs"]),
        ("wrong type", ["%s:%d:" % (conf, d.line_of("max_attempts = abc"))],
         ["max_attempts", "abc"]),
        ("missing required key at the section's opening line",
         ["%s:%d:" % (conf, d.line_of('exec "no-command"'))],
         ["command"]),
        ("duplicate name at the second definition",
         ["%s:%d:" % (conf, d.line_of('dummy "dup"'))],
         ["dup"]),
        ("unknown host", ["%s:%d:" % (conf, d.line_of('host = "nohost"'))],
         ["nohost"]),
        ("unknown depends_on",
         ["%s:%d:" % (conf, d.line_of('"no-such-check"'))],
         ["no-such-check"]),
        ("dependency cycle at a depends_on line inside it",
         ["%s:%d:" % (conf, d.line_of('depends_on = { "cycle-b" }')),
          "%s:%d:" % (inc, line_of(included, 'depends_on = { "cycle-a" }'))],
         ["cycle"]),
        ("unknown check type", ["%s:%d:" % (conf, d.line_of("frobnicate"))],
         ["frobnicate"]),
    ]
    rc, out = d.check_config()
    lines = out.splitlines()
    missing = []
    for what, prefixes, words in expected:
        if not any(l.startswith(p) and all(w in l for w in words)
                   for l in lines for p in prefixes):
            missing.append("%s: a line starting with %s naming %s" % (
                what, " or ".join(prefixes), ", ".join(map(repr, words))))
    assert not missing, "tocsind -t (exit %d) did not report:\n  %s\n" \
        "it printed:\n%s%s" % (rc, "\n  ".join(missing), out, d.last_stderr)
    assert rc == 1, "tocsind -t exited %d, expected 1" % rc
    # nothing but FILE:LINE: messages
    for l in lines:
        assert l.startswith((conf + ":", inc + ":")), \
            "error line without FILE:LINE: %r" % l


def test_error_lines_count_comment_lines(env):
    # Comments of every kind the syntax allows, then errors: the line
    # numbers must still be those an editor shows.
    main = (
        '# a comment line\n'
        '// another one\n'
        '/* a block\n'
        '   comment */\n'
        'dummy "a" {  # a trailing comment\n'
        '  colour = "blue"\n'
        '  interval = "5 parsecs"\n'
        '}\n'
        'dummy "b" { host = "nohost" }\n')
    d = env.daemon(main)
    rc, out = d.check_config()
    assert rc == 1, "tocsind -t exited %d:\n%s" % (rc, out)
    for marker, word in (("colour", "colour"), ("5 parsecs", "interval"),
                         ('"nohost"', "nohost")):
        want = "%s:%d:" % (d.conf, d.line_of(marker))
        assert any(l.startswith(want) and word in l
                   for l in out.splitlines()), \
            "no error %s ... %s; got:\n%s" % (want, word, out)


def test_daemon_refuses_to_start_on_broken_config(env):
    d = env.daemon('dummy "x" {\n  interval = "5 parsecs"\n}\n')
    try:
        d.start()
    except harness.DaemonExited as e:
        harness.assert_no_sanitizer_report(e.log, "stderr")
        assert e.returncode == 1, "exit status %d, expected 1" % e.returncode
        want = "%s:%d:" % (d.conf, d.line_of("5 parsecs"))
        assert want in e.log and "interval" in e.log, \
            "stderr does not report %s ... interval:\n%s" % (want, e.log)
        return
    raise AssertionError("tocsind started with a broken config")


def test_wrong_abi_plugin_is_refused(env):
    bad = os.path.join(env.builddir, "tests", "plugins", ".libs", "badabi.so")
    assert os.path.exists(bad), "test plugin not built: %s" % bad
    d = env.daemon('dummy "x" { }\n', extra_plugins=[bad])
    rc, out = d.check_config()
    text = out + d.last_stderr
    assert rc == 1, "tocsind -t exited %d with badabi.so loaded:\n%s" % (
        rc, text)
    msg = [l for l in text.splitlines() if "badabi.so" in l]
    assert msg and any("ABI" in l for l in msg), \
        "no message naming badabi.so and ABI:\n%s" % text
    # and the daemon itself refuses to start
    try:
        d.start()
    except harness.DaemonExited as e:
        harness.assert_no_sanitizer_report(e.log, "stderr")
        assert e.returncode == 1, "exit status %d, expected 1:\n%s" % (
            e.returncode, e.log)
        assert "badabi.so" in e.log and "ABI" in e.log, e.log
        return
    raise AssertionError("tocsind started with a wrong-ABI plugin")


def test_include_glob_relative_to_including_file(env):
    # main includes conf.d/*.conf (relative to the main file), and
    # conf.d/a.conf includes more/*.conf (relative to conf.d/, not to the
    # main file nor to the daemon's working directory, which is /).
    env.file("conf.d/a.conf",
             'dummy "from-a" { interval = 1s }\n'
             'include("more/*.conf")\n')
    env.file("conf.d/b.conf", 'dummy "from-b" { interval = 1s }\n')
    env.file("conf.d/ignored.txt", 'dummy "not-included" { }\n')
    env.file("conf.d/more/c.conf", 'dummy "from-c" { interval = 1s }\n')
    d = env.daemon('dummy "from-main" { interval = 1s }\n'
                   'include("conf.d/*.conf")\n')
    rc, out = d.check_config()
    assert rc == 0, "tocsind -t exited %d:\n%s%s" % (rc, out, d.last_stderr)
    d.start()
    names = sorted(c["name"] for c in d.checks())
    assert names == ["from-a", "from-b", "from-c", "from-main"], names
    d.stop()


def _shipped(env, name):
    """conf/NAME with the harness's daemon and api sections instead of
    its own (state_dir and plugin_dir of this build), includes dropped."""
    import re
    with open(os.path.join(env.srcdir, "conf", name)) as f:
        text = f.read()
    text = re.sub(r"(?ms)^(daemon|api) \{.*?^\}\n", "", text)
    return re.sub(r'(?m)^include\(.*\)$', "", text)


def test_shipped_configs_pass_check_config(env):
    """The bundled config and the example with every key are valid as
    shipped: a lost brace or a stale key in either fails here."""
    for name in ("tocsin.conf", "tocsin.conf.example"):
        text = _shipped(env, name)
        assert len(text) > 1000, (name, len(text))
        d = env.daemon(text)
        for p in ("http", "ping", "snmp", "system"):
            d.require_plugin(p)
        rc, out = d.check_config()
        assert rc == 0 and "config OK" in out, (name, out + d.last_stderr)


def _errors(d):
    rc, out = d.check_config()
    assert rc == 1, "tocsind -t exited %d:\n%s%s" % (rc, out, d.last_stderr)
    return out.splitlines()


def test_errors_in_unnamed_sections_name_their_file(env):
    # api { } and incidents { } exist before any file is read; their
    # errors named no file ("?:2: api: ...").  In an included file they
    # must name that file.
    included = ('incidents {\n'
                '  also_nope = 1\n'
                '}\n')
    inc = env.file("conf.d/inc.conf", included)
    d = env.daemon('api {\n'
                   '  bogus = 1\n'
                   '}\n'
                   'incidents {\n'
                   '  nope = 2\n'
                   '}\n'
                   'include("conf.d/*.conf")\n')
    lines = _errors(d)
    want = ['%s:%d: api: unknown key "bogus"' % (d.conf, d.line_of("bogus")),
            '%s:%d: incidents: unknown key "nope"' % (
                d.conf, d.line_of("nope")),
            '%s:%d: incidents: unknown key "also_nope"' % (
                inc, line_of(included, "also_nope"))]
    assert sorted(lines) == sorted(want), "\n".join(lines)


def test_value_with_a_space_says_what_is_wrong_with_it(env):
    # "interval = 30 s" was 'unknown key "s"' and then a syntax error at
    # the next line's "=", which stopped the parse.
    d = env.daemon('dummy "a" {\n'
                   '  interval = 30 s\n'
                   '  timeout = 5s\n'
                   '}\n'
                   'dummy "b" { text = hello world  state = ok }\n'
                   'dummy "c" { colour = 1 }\n')
    lines = _errors(d)
    want = ['%s:%d: dummy "a": interval: "30 s" is not a duration (no '
            'space between the number and the unit: 30s)' % (
                d.conf, d.line_of("30 s")),
            '%s:%d: dummy "b": text: "hello world" has spaces: quote a '
            'value that has them' % (d.conf, d.line_of("hello world")),
            # the parse went on past both
            '%s:%d: dummy "c": unknown key "colour"' % (
                d.conf, d.line_of("colour"))]
    assert lines == want, "\n".join(lines)


def test_missing_closing_quote_points_at_the_string(env):
    # libconfuse strings may span lines: a missing quote ran on to the
    # next quote and errors came lines later, quoting swallowed text.
    d = env.daemon('dummy "a" {\n'
                   '  text = "hello\n'
                   '  interval = 30s\n'
                   '}\n'
                   'dummy "b" {\n'
                   '  text = "fine"\n'
                   '  interval = 1m\n'
                   '}\n'
                   'dummy "c" { colour = 1 }\n')
    lines = _errors(d)
    want = ['%s:%d: dummy "a": text: missing closing quote: the string '
            'that begins here runs on to line %d' % (
                d.conf, d.line_of('"hello'), d.line_of('dummy "b"')),
            # the rest of the file is still checked
            '%s:%d: dummy "c": unknown key "colour"' % (
                d.conf, d.line_of("colour"))]
    assert lines == want, "\n".join(lines)


def test_missing_closing_quote_at_the_end_of_the_file(env):
    d = env.daemon('dummy "a" { interval = 1m }\n'
                   'dummy "b" {\n'
                   '  text = "never closed\n'
                   '}\n')
    lines = _errors(d)
    assert lines == ['%s:%d: dummy "b": text: missing closing quote: the '
                     'string that begins here runs on to the end of the '
                     'file' % (d.conf, d.line_of("never closed"))], \
        "\n".join(lines)


def test_a_string_over_several_lines_is_still_valid(env):
    d = env.daemon('dummy "a" {\n'
                   '  text = "first line\n'
                   'second line"\n'
                   '  interval = 1m\n'
                   '}\n')
    rc, out = d.check_config()
    assert rc == 0 and out.strip() == "config OK", out + d.last_stderr


def test_cluster_section_errors_name_file_and_line(env):
    # cluster { } (issue 19): every bad value is reported on its line.
    d = env.daemon('cluster {\n'
                   '  database = "postgresql://tocsin:s3cret@db/tocsin"\n'
                   '  node = "mon a"\n'
                   '  location = "eu/1"\n'
                   '  lease = 500ms\n'
                   '}\n')
    lines = _errors(d)
    want = ['%s:%d: cluster: database: holds a password; put it in a '
            'passfile (PGPASSFILE or ~/.pgpass) instead' % (
                d.conf, d.line_of("s3cret")),
            '%s:%d: cluster: node: "mon a" is not a node name (1 to 63 '
            'letters, digits, \'.\', \'_\', \'-\')' % (
                d.conf, d.line_of("mon a")),
            '%s:%d: cluster: location: "eu/1" is not a location name (1 '
            'to 63 letters, digits, \'.\', \'_\', \'-\')' % (
                d.conf, d.line_of("eu/1")),
            '%s:%d: cluster: lease: must be at least 1s' % (
                d.conf, d.line_of("500ms"))]
    assert sorted(lines) == sorted(want), "\n".join(lines)
    d = env.daemon('cluster {\n'
                   '  node = "mon-a"\n'
                   '}\n')
    lines = _errors(d)
    assert lines == ['%s:%d: cluster: node: database is required in '
                     'cluster { } (a postgresql:// URI or a conninfo '
                     'string)' % (d.conf, d.line_of("mon-a"))], \
        "\n".join(lines)


def test_cluster_section_valid_and_its_api_address(env):
    # A valid cluster { } passes -t; "api" must be HOST:PORT.
    d = env.daemon('dummy "a" { state = ok  interval = 1s }\n'
                   'cluster {\n'
                   '  database = "postgresql://tocsin@127.0.0.1/tocsin"\n'
                   '  node     = "mon-a"\n'
                   '  location = "eu-1"\n'
                   '  lease    = 10s\n'
                   '  api      = "10.0.0.1:8080"\n'
                   '}\n')
    rc, out = d.check_config()
    assert rc == 0 and out.strip() == "config OK", out + d.last_stderr
    d = env.daemon('cluster {\n'
                   '  database = "postgresql://tocsin@127.0.0.1/tocsin"\n'
                   '  api      = "10.0.0.1"\n'
                   '}\n')
    lines = _errors(d)
    assert lines == ['%s:%d: cluster: api: "10.0.0.1" is not ADDRESS:PORT '
                     '(an IP address: "10.0.0.1:8080", "[2001:db8::1]:8080")'
                     % (d.conf, d.line_of('"10.0.0.1"'))], "\n".join(lines)
    d = env.daemon('cluster {\n'
                   '  database = "postgresql://tocsin@127.0.0.1/tocsin"\n'
                   '  api      = "mon-a.example.com:8080"\n'
                   '}\n')
    lines = _errors(d)
    assert len(lines) == 1 and '"mon-a.example.com:8080" is not ' \
        'ADDRESS:PORT' in lines[0], "\n".join(lines)
    # api { listen } on every address: the others cannot be sent there
    d = env.daemon('cluster {\n'
                   '  database = "postgresql://tocsin@127.0.0.1:1/tocsin"\n'
                   '}\n')
    d.config_text = d.config_text.replace(
        "127.0.0.1:%d" % d.port, "0.0.0.0:%d" % d.port)
    harness.write_file(d.conf, d.config_text)
    try:
        d.start()
    except harness.DaemonExited as e:
        assert e.returncode == 1, e.returncode
        assert 'cluster: api { listen = "0.0.0.0:%d" } is no address the '\
            'other nodes can reach (a wildcard, or a name: they are sent '\
            'to an IP address); say which in cluster { api = '\
            '"ADDRESS:PORT" }' % d.port in e.log, e.log[-2000:]
    else:
        raise AssertionError("a cluster node started on a wildcard API "
                             "address with no cluster { api }")
    # An empty section is no section.
    d = env.daemon('dummy "a" { state = ok  interval = 1s }\n'
                   'cluster {\n'
                   '}\n')
    rc, out = d.check_config()
    assert rc == 0 and out.strip() == "config OK", out + d.last_stderr


def test_check_locations_and_quorum_errors_name_file_and_line(env):
    d = env.daemon('dummy "a" { state = ok  quorum = 2 }\n'
                   'dummy "b" { state = ok  locations = { "eu-1", "us-1" }'
                   '\n  quorum = 3 }\n'
                   'dummy "c" { state = ok  locations = { "eu-1", "eu-1" }'
                   ' }\n')
    lines = _errors(d)
    want = ['%s:%d: dummy "a": quorum: only with locations' % (
                d.conf, d.line_of('dummy "a"')),
            '%s:%d: dummy "b": quorum: 3 is not between 1 and the 2 '
            'locations' % (d.conf, d.line_of("quorum = 3")),
            '%s:%d: dummy "c": locations: "eu-1" twice' % (
                d.conf, d.line_of('dummy "c"'))]
    assert sorted(lines) == sorted(want), "\n".join(lines)
    d = env.daemon('dummy "b" { state = ok  locations = { "eu-1", "us-1",'
                   ' "ap-1" } }\n')
    rc, out = d.check_config()
    assert rc == 0 and out.strip() == "config OK", out + d.last_stderr
