"""Check states in PostgreSQL for a takeover (src/incident/
cluster_checks.c through tests/drivers/ccs_driver; issue 19): what the
node taking a check over reads is what the node that ran it had — soft
or hard, attempt, last hard state, flap history and percent, last run —
so the next result does to it exactly what it would have done there."""
import json
import os
import subprocess

import fx_pg
import harness

N = 100


def _run(env, *args):
    p = subprocess.run([os.path.join(env.builddir, "tests", "drivers",
                                     "ccs_driver")] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    harness.assert_no_sanitizer_report(p.stdout + p.stderr, "ccs_driver")
    assert p.returncode == 0, p.stderr[-2000:]
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    return {l["name"]: l for l in lines if "name" in l}, lines[-1]


def test_takeover_reads_the_state_the_owner_had(env):
    pg = fx_pg.Postgres(env)
    had, end = _run(env, "save", pg.uri, "mon-a", N, 1000)
    assert end == {"saved": N, "failed": 0}, end
    got, end = _run(env, "load", pg.uri, N)
    assert end == {"loaded": N}
    assert got == had, [k for k in had if got.get(k) != had[k]][:5]
    # the sample covers what matters: soft and hard problems, flapping,
    # a full flap history (21 results)
    assert any(not v["hard"] and v["state"] != 0 for v in had.values())
    assert any(v["hard"] and v["hard_state"] == 2 for v in had.values())
    assert any(v["flapping"] for v in had.values())
    assert any(len(v["history"]) == 21 for v in had.values())


def test_an_older_result_does_not_overwrite_a_newer_one(env):
    """A node cut off from the others that still ran the check (its
    last_run_ms older) cannot write over the new owner's state."""
    pg = fx_pg.Postgres(env)
    _run(env, "save", pg.uri, "mon-b", N, 2000)
    _, end = _run(env, "save", pg.uri, "mon-a", N, 1000)
    assert end == {"saved": N, "failed": 0}, end   # accepted, ignored
    got, _ = _run(env, "load", pg.uri, N)
    assert {v["node"] for v in got.values()} == {"mon-b"}
    assert {v["last_run_ms"] for v in got.values()} == {2000}
    _run(env, "save", pg.uri, "mon-a", N, 3000)
    got, _ = _run(env, "load", pg.uri, N)
    assert {v["node"] for v in got.values()} == {"mon-a"}
