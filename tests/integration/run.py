#!/usr/bin/env python3
"""
tests/integration/run.py — runs the integration scenarios, prints TAP.

    python3 tests/integration/run.py --builddir B --srcdir S [-k PATTERN]

Discovers tests/integration/test_*.py, runs every function named test_*
(modules and functions in sorted order; PATTERN, a substring or a glob,
filters on "module.function").  Each test gets a harness.Env with a fresh
temp dir, a watchdog of WATCHDOG seconds, and a full teardown (daemons
killed, servers stopped, temp dir removed) whatever happens.

Output: "ok N - module.test", "not ok N - module.test" followed by "# "
lines (traceback, tail of each daemon's log), "ok N - module.test # SKIP
reason", and "1..N" at the end.  Exit status 1 if any test failed.
Set TOCSIN_KEEP_TMP=1 to keep the temp dirs of failed tests.
"""
import argparse
import fnmatch
import importlib
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True    # leave no __pycache__ in the tree

import harness  # noqa: E402

WATCHDOG = int(os.environ.get("TOCSIN_WATCHDOG", "120"))


class Watchdog(Exception):
    pass


def on_alarm(signum, frame):
    raise Watchdog("test still running after the %ds watchdog" % WATCHDOG)


def emit(line=""):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def comment(text):
    for line in text.rstrip("\n").splitlines():
        emit("# " + line)


def discover(pattern):
    """[(id, function or None, import error text or None)], sorted."""
    found = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        modname = fn[:-3]
        try:
            mod = importlib.import_module(modname)
        except Exception:
            tid = modname + ".(import)"
            if matches(tid, pattern) or pattern is None:
                found.append((tid, None, traceback.format_exc()))
            continue
        for name in sorted(dir(mod)):
            f = getattr(mod, name)
            if name.startswith("test_") and callable(f) and \
                    getattr(f, "__module__", None) == modname:
                tid = "%s.%s" % (modname, name)
                if matches(tid, pattern):
                    found.append((tid, f, None))
    return found


def matches(tid, pattern):
    if not pattern:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(tid, pattern)
    return pattern in tid


def run_one(n, tid, func, args):
    tmpdir = harness.make_tmpdir()
    env = harness.Env(tmpdir, args.builddir, args.srcdir)
    status, detail, logs = "ok", None, []
    t0 = time.monotonic()
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(WATCHDOG)
    try:
        try:
            func(env)
        finally:
            signal.alarm(0)
    except harness.Skip as e:
        status, detail = "skip", str(e)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            harness.cleanup_all()
            harness.remove_tmpdir(tmpdir)
            raise
        status, detail = "fail", traceback.format_exc()
    finally:
        signal.signal(signal.SIGALRM, old)
        # logs are read before teardown removes anything
        if status == "fail":
            for obj in harness.live_objects():
                if isinstance(obj, harness.Daemon):
                    logs.append(("tocsind log %s" % obj.logfile,
                                 harness.tail(obj.log(), 30)))
                elif isinstance(obj, harness.Nginx):
                    logs.append(("nginx log", obj.log()))
        errors = harness.cleanup_all()
        if errors and status != "fail":
            status, detail = "fail", "teardown failed:\n" + "\n".join(errors)
    elapsed = time.monotonic() - t0

    if status == "ok":
        emit("ok %d - %s" % (n, tid))
    elif status == "skip":
        emit("ok %d - %s # SKIP %s" % (n, tid, detail.replace("\n", " ")))
    else:
        emit("not ok %d - %s" % (n, tid))
        comment(detail)
        for title, text in logs:
            comment("--- %s (last 30 lines) ---" % title)
            comment(text if text.strip() else "(empty)")
    if os.environ.get("TOCSIN_VERBOSE"):
        comment("%s: %.1fs" % (tid, elapsed))
    if status == "fail" and os.environ.get("TOCSIN_KEEP_TMP"):
        comment("kept %s" % tmpdir)
    else:
        harness.remove_tmpdir(tmpdir)
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("-k", dest="pattern", default=None)
    args = ap.parse_args()
    args.builddir = os.path.abspath(args.builddir)
    args.srcdir = os.path.abspath(args.srcdir)

    t0 = time.monotonic()
    tests = discover(args.pattern)
    failed = 0
    for n, (tid, func, err) in enumerate(tests, 1):
        if func is None:
            emit("not ok %d - %s" % (n, tid))
            comment(err)
            failed += 1
            continue
        if run_one(n, tid, func, args) == "fail":
            failed += 1
    emit("1..%d" % len(tests))
    comment("integration: %d tests, %d failed, %.1fs" % (
        len(tests), failed, time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
