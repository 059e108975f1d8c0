"""Regressions for what the fuzz harnesses (tests/fuzz/) found: each input
that crashed or leaked is replayed through the real tocsind here, so the
fix stays fixed also in builds without clang (the sanitizer build checks
the leaks: tocsind -t exits normally, LSan runs, harness fails on its
report)."""


def test_malformed_function_call_is_a_config_error_without_leak(env):
    # fuzz_conf: libconfuse leaked the arguments of an include() cut short
    # by a syntax error; now conf.c refuses such a call first, with its line
    for bad in ('include("x" }\n', 'include("conf.d/a.conf" daemon { }\n',
                'include(a b)\n', 'include("x",\n', 'include(e',
                'include(conf.d/*.conf)\n'):
        d = env.daemon('dummy "fine" { state = ok }\n' + bad)
        rc, out = d.check_config()
        line = d.line_of("include(")
        assert rc == 1, "tocsind -t accepted %r: %s" % (bad, out)
        want = "%s:%d: malformed function call" % (d.conf, line)
        assert want in out, "for %r wanted %r in: %s" % (bad, want, out)


def test_wellformed_function_calls_still_accepted(env):
    env.file("conf.d/a.conf", 'dummy "a" { state = ok }\n')
    d = env.daemon('dummy "fine" { state = ok }\n'
                   'include( "conf.d/*.conf" )\n'
                   'include(\n  "conf.d/none*.conf"\n)\n')
    rc, out = d.check_config()
    assert rc == 0, "tocsind -t exited %d: %s%s" % (rc, out, d.last_stderr)
