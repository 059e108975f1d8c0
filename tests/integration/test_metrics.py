"""GET /metrics: the Prometheus text exposition of tocsind and its checks."""
import harness
from fx_api import parse_samples, promtool_check

STATES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3,
          "UNREACHABLE": 4}

CHECKS = (
    'dummy "web \\"front\\"" { state = critical  max_attempts = 1  '
    'interval = 300ms  value = 12.5 }\n'
    'dummy "back\\\\slash" { state = warning  max_attempts = 1  '
    'interval = 300ms  value = -3 }\n'
    'dummy "caf\u00e9" { state = ok  interval = 300ms  value = 1e-9 }\n'
    'dummy "quiet" { state = ok  interval = 300ms }\n'
    'host "h" { check = "down" }\n'
    'dummy "down" { state = critical  max_attempts = 1  interval = 300ms }\n'
    'dummy "behind" { state = critical  host = "h"  max_attempts = 1  '
    'interval = 300ms }\n')


def scrape(d):
    st, h, body = d.get_raw("/metrics")
    assert st == 200, (st, body[:300])
    ct = h.get("content-type", "")
    assert ct.startswith("text/plain; version=0.0.4"), ct
    return body.decode("utf-8")


def test_promtool_accepts_metrics(env):
    d = env.daemon(CHECKS)
    d.start()
    d.wait_for(lambda: all(c["last_check"] for c in d.checks()), 10,
               "every check to run")
    text = scrape(d)
    rc, out = promtool_check(text)
    assert rc == 0, "promtool check metrics failed:\n%s\n%s" % (
        out, text[:3000])
    d.stop()


def test_check_states_and_metrics(env):
    d = env.daemon(CHECKS)
    d.start()
    d.wait_for(lambda: d.check("behind")["state"] == "UNREACHABLE" and
               all(c["last_check"] for c in d.checks()), 10,
               "checks to settle")
    api = {c["name"]: c for c in d.checks()}
    samples = parse_samples(scrape(d))
    state = {s[1]["check"]: (s[1]["type"], s[2]) for s in samples
             if s[0] == "tocsin_check_state"}
    assert set(state) == set(api), (sorted(state), sorted(api))
    for name, c in api.items():
        assert state[name] == ("dummy", STATES[c["state"]]), (name, c,
                                                              state[name])
    assert state["behind"][1] == 4
    metric = {(s[1]["check"], s[1]["metric"]): s[2] for s in samples
              if s[0] == "tocsin_check_metric"}
    assert metric == {('web "front"', "value"): 12.5,
                      ("back\\slash", "value"): -3.0,
                      ("caf\u00e9", "value"): 1e-9}, metric
    d.stop()


def test_counters_and_histograms(env):
    d = env.daemon(CHECKS)
    d.start()
    d.wait_for(lambda: all(c["last_check"] for c in d.checks()), 10,
               "every check to run")

    def runs():
        return [s[2] for s in parse_samples(scrape(d))
                if s[0] == "tocsin_checks_run_total" and
                s[1] == {"type": "dummy"}][0]
    r1 = runs()
    assert r1 >= 6, r1
    d.wait_for(lambda: runs() >= r1 + 6, 10, "more runs counted")
    # wait for the 1 s loop tick to have been measured
    d.wait_for(lambda: any(s[0] == "tocsin_loop_lag_seconds_count" and
                           s[2] >= 1 for s in parse_samples(scrape(d))),
               10, "a loop lag sample")
    samples = parse_samples(scrape(d))
    for h in ("tocsin_schedule_latency_seconds", "tocsin_loop_lag_seconds"):
        buckets = [(s[1]["le"], s[2]) for s in samples
                   if s[0] == h + "_bucket"]
        assert buckets[-1][0] == "+Inf", buckets[-3:]
        counts = [b[1] for b in buckets]
        assert counts == sorted(counts), (h, counts)    # cumulative
        count = [s[2] for s in samples if s[0] == h + "_count"][0]
        assert counts[-1] == count and count >= 1, (h, counts[-1], count)
        les = [float(b[0]) for b in buckets[:-1]]
        assert les == sorted(les) and len(set(les)) == len(les), les
    names = {s[0] for s in samples}
    for n in ("tocsin_incidents_open", "tocsin_outbox_pending",
              "process_resident_memory_bytes", "process_open_fds",
              "process_cpu_seconds_total", "tocsin_build_info"):
        assert n in names, n
    rss = [s[2] for s in samples if s[0] == "process_resident_memory_bytes"]
    assert 1 << 20 < rss[0] < 4 << 30, rss
    d.stop()


def test_passive_metrics_show_up(env):
    d = env.daemon('dummy "p" { state = ok  interval = 1h }\n')
    d.start()
    st, _ = d.post("/api/v1/checks/p/result", {
        "state": "WARNING", "summary": "s",
        "metrics": [{"name": "queue depth", "value": 42},
                    {"name": "ratio", "value": 0.25, "unit": "%"}]})
    assert st == 200
    samples = parse_samples(scrape(d))
    got = {s[1]["metric"]: s[2] for s in samples
           if s[0] == "tocsin_check_metric" and s[1]["check"] == "p"}
    assert got == {"queue depth": 42, "ratio": 0.25}, got
    rc, out = promtool_check(scrape(d))
    assert rc == 0, out
    d.stop()
