"""
tests/integration/fx_api.py — helpers for the API's own tests: running
tocsinctl against a daemon, promtool, and the Prometheus text format.
"""
import os
import re
import shutil
import subprocess

import harness

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def tocsinctl(env, d, *args, token=True, extra_env=None, url=True,
              timeout=30):
    """
    Runs the built tocsinctl against daemon d; returns (rc, stdout,
    stderr).  url/token True: -s and -t for d; False: not given (so the
    environment or -c must say).
    """
    binary = os.path.join(env.builddir, "tocsinctl")
    if not os.access(binary, os.X_OK):
        raise AssertionError("no tocsinctl at %s (build first)" % binary)
    argv = [binary]
    if url is True:
        argv += ["-s", "http://127.0.0.1:%d" % d.port]
    if token is True:
        argv += ["-t", d.token]
    elif isinstance(token, str):
        argv += ["-t", token]
    argv += list(args)
    e = {k: v for k, v in os.environ.items()
         if k not in ("TOCSIN_URL", "TOCSIN_TOKEN")}
    e["ASAN_OPTIONS"] = "detect_leaks=1"
    e.update(extra_env or {})
    r = subprocess.run(argv, capture_output=True, text=True,
                       errors="replace", timeout=timeout, env=e, cwd="/",
                       stdin=subprocess.DEVNULL)
    harness.assert_no_sanitizer_report(r.stdout + r.stderr, "tocsinctl")
    return r.returncode, r.stdout, r.stderr


def promtool_check(text):
    """Runs promtool check metrics on text; returns (rc, its output)."""
    if not os.access(PROMTOOL, os.X_OK):
        raise harness.Skip("promtool not installed")
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(v[i + 1],
                                                            v[i + 1]))
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def parse_samples(text):
    """[(name, {label: value}, float)] of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        labels = {k: unescape(v) for k, v in _LABEL.findall(m.group(3) or
                                                            "")}
        out.append((m.group(1), labels, float(m.group(4))))
    return out
