"""Service-level objectives as an operator runs them: an `slo` over a
group's checks, driven by exec checks whose exit code the test controls,
its burn-rate alerts turning into incidents that real webhook receivers
get (pages and tickets routed by priority), GET /api/v1/slos, /metrics,
tocsinctl slos, and the history read back from the incident log after a
restart.  Windows are seconds here instead of hours so that a test runs
in one minute; the arithmetic is the same (tests/unit/test_slo.c)."""
import re
import time

import harness
from harness import wait_for
from fx_api import tocsinctl
from fx_notify import Webhook, exec_check, incidents


def policy(pages, tickets):
    """Priority 1-4 pages, priority 5 (an SLO's ticket) opens a ticket."""
    return ('channel "pager" { type = webhook  url = "%s"\n'
            '  retry_min = 200ms  retry_max = 800ms }\n'
            'channel "tickets" { type = webhook  url = "%s"\n'
            '  retry_min = 200ms  retry_max = 800ms }\n'
            'contact "alice" { channels = { "pager" } }\n'
            'contact "queue" { channels = { "tickets" } }\n'
            'escalation "page" { step { notify = { "contact:alice" } } }\n'
            'escalation "ticket" { step { notify = { "contact:queue" } } }\n'
            'route "tickets" { match_priority = { "P5" }  escalation = "ticket" }\n'
            'route "pages" { escalation = "page" }\n'
            % (pages.url("/pages"), tickets.url("/tickets")))


def slo_incidents(d, name="shop"):
    return [i for i in incidents(d) if i["root_cause"] == name]


def received(hook, incident_id, path):
    return [b for _, _, b, _ in hook.received(path)
            if b.get("incident", {}).get("id") == incident_id]


def the_slo(d, name="shop"):
    slos = {s["name"]: s for s in d.get("/api/v1/slos")["slos"]}
    return slos[name]


def test_a_fast_burn_pages_once_and_resolves_when_the_burn_stops(env):
    pages, tickets = Webhook(env, "pages"), Webhook(env, "tickets")
    web = env.file("web.state", "0\n")
    d = env.daemon(
        exec_check("shop-home", web, '  group = "web"\n') +
        'slo "shop" {\n'
        '  group = "web"  objective = 98  window = 1h  interval = 1s\n'
        '  page_burn = { "14.4x 20s 5s" }  ticket_burn = { "1x 40s 10s" }\n'
        '}\n' + policy(pages, tickets))
    d.require_plugin("exec")
    d.start()
    d.wait_check("shop-home", "OK", pred=lambda c: c["last_check"])
    s = the_slo(d)
    assert s["checks"] == ["shop-home"] and s["objective"] == 98, s
    assert s["status"] == "ok" and s["availability"] == 100, s
    assert set(s["burn_rates"]) == {"5s", "10s", "20s", "40s"}, s
    assert s["window"] == "1h" and s["window_s"] == 3600, s

    # the service goes down: its first second is the 1x ticket (0.8 s of
    # 40 s at a 2 % budget), 5.8 s of it the 14.4x page (14.4 x 2 % of
    # 20 s, confirmed over the last 5 s)
    harness.write_file(web, "2\n")
    d.wait_check("shop-home", "CRITICAL", pred=lambda c: c["state_type"] == "hard")
    page = wait_for(lambda: [i for i in slo_incidents(d)
                             if i["priority"] == "P3" and
                             i["status"] == "open"], 30,
                    "the SLO's paging incident")[0]
    s = the_slo(d)
    assert s["status"] == "page", s
    assert s["burn_rates"]["20s"] >= 14.4 and s["availability"] < 100, s
    assert [a["firing"] for a in s["alerts"]] == [True, True], s
    # the slow burn was a ticket first (priority 5, the tickets route),
    # resolved when the burn began to page; the page is its own incident
    ticket = [i for i in slo_incidents(d) if i["priority"] == "P5"]
    assert len(ticket) == 1 and ticket[0]["status"] == "resolved", ticket
    wait_for(lambda: received(tickets, ticket[0]["id"], "/tickets"), 10,
             "the ticket")
    wait_for(lambda: received(pages, page["id"], "/pages"), 10, "the page")
    assert not received(pages, ticket[0]["id"], "/pages"), "a ticket paged"
    # not joined to the service's own incident (same group)
    own = [i for i in incidents(d) if i["root_cause"] == "shop-home"]
    assert len(own) == 1 and own[0]["id"] != page["id"], own
    assert d.check("shop")["state"] == "CRITICAL"

    # /metrics and tocsinctl show it
    st, _, body = d.get_raw("/metrics")
    text = body.decode()
    m = re.search(r'^tocsin_slo_burn_rate\{slo="shop",window="20s"\} '
                  r'([0-9.e+-]+)$', text, re.M)
    assert m and float(m.group(1)) >= 14.4, text[-2000:]
    assert re.search(r'^tocsin_slo_alert_firing\{slo="shop",'
                     r'severity="page"\} 1$', text, re.M)
    assert re.search(r'^tocsin_slo_objective\{slo="shop"\} 98$', text, re.M)
    rc, out, err = tocsinctl(env, d, "slos")
    assert rc == 0, err
    row = [ln for ln in out.splitlines() if ln.startswith("shop")]
    assert row and row[0].split()[-1] == "page" and "20s=" in row[0], out

    # the service is back: the 5 s and 10 s windows clear, the SLO's
    # incident resolves (the 1 h budget stays spent)
    harness.write_file(web, "0\n")
    wait_for(lambda: [i for i in slo_incidents(d) if i["id"] == page["id"]
                      and i["status"] == "resolved"], 30,
             "the SLO's incident resolved")
    s = the_slo(d)
    assert s["status"] == "ok" and s["availability"] < 100, s
    assert s["error_budget_remaining"] < 100, s
    n_pages = len(received(pages, page["id"], "/pages"))
    assert len([i for i in slo_incidents(d) if i["priority"] == "P3"]) == 1

    # a restart reads the spent budget back from the incident log
    spent = s["error_budget_remaining"]
    d.stop()
    d.start()
    s = the_slo(d)
    assert s["availability"] < 100, s
    assert abs(s["error_budget_remaining"] - spent) < 5, (s, spent)
    assert len(received(pages, page["id"], "/pages")) == n_pages
    d.stop()


def test_a_slow_burn_is_a_ticket_not_a_page(env):
    pages, tickets = Webhook(env, "pages"), Webhook(env, "tickets")
    web = env.file("web.state", "0\n")
    # objective 50: the service down all the time burns at 2x at most,
    # far below the page's 14.4x, above the ticket's 1x
    d = env.daemon(
        exec_check("shop-home", web, '  group = "web"\n') +
        'slo "shop" {\n'
        '  group = "web"  objective = 50  window = 1h  interval = 1s\n'
        '  page_burn = { "14.4x 20s 5s" }  ticket_burn = { "1x 20s 5s" }\n'
        '}\n' + policy(pages, tickets))
    d.require_plugin("exec")
    d.start()
    d.wait_check("shop-home", "OK", pred=lambda c: c["last_check"])
    harness.write_file(web, "2\n")
    t = wait_for(lambda: slo_incidents(d), 30, "the SLO's ticket")[0]
    assert t["priority"] == "P5", t
    wait_for(lambda: received(tickets, t["id"], "/tickets"), 10, "the ticket")
    # 25 s of full outage: the 20 s burn is at its 2x ceiling, no page
    wait_for(lambda: the_slo(d)["burn_rates"]["20s"] >= 1.9, 40,
             "the burn at its ceiling")
    s = the_slo(d)
    assert s["status"] == "ticket" and s["burn_rates"]["20s"] <= 2.0, s
    assert [(a["severity"], a["firing"]) for a in s["alerts"]] == [
        ("page", False), ("ticket", True)], s
    assert [i["priority"] for i in slo_incidents(d)] == ["P5"]
    assert d.check("shop")["state"] == "WARNING"
    assert not [b for _, _, b, _ in pages.received("/pages")
                if b.get("incident", {}).get("root_cause") == "shop"]
    d.stop()


def test_maintenance_and_unreachable_time_are_not_counted(env):
    home = env.file("home.state", "0\n")
    api = env.file("api.state", "0\n")
    gw = env.file("gw.state", "0\n")
    d = env.daemon(
        exec_check("gateway", gw) +
        exec_check("shop-home", home, '  group = "web"\n'
                   '  depends_on = { "gateway" }\n') +
        exec_check("shop-api", api, '  group = "web"\n') +
        'slo "shop" { group = "web"  objective = 99  window = 1h\n'
        '  interval = 1s }\n')
    d.require_plugin("exec")
    d.start()
    d.wait_check("shop-api", "OK", pred=lambda c: c["last_check"])
    # shop-home UNREACHABLE behind the gateway: the gateway's, not shop's
    harness.write_file(gw, "2\n")
    d.wait_check("gateway", "CRITICAL",
                 pred=lambda c: c["state_type"] == "hard")
    harness.write_file(home, "2\n")
    d.wait_check("shop-home", "UNREACHABLE",
                 pred=lambda c: c["state_type"] == "hard", timeout=20)
    # shop-api down inside a maintenance window
    st, body = d.post("/api/v1/maintenance", {
        "checks": ["shop-api"], "duration": "10m", "comment": "upgrade"})
    assert st == 201, body
    harness.write_file(api, "2\n")
    d.wait_check("shop-api", "CRITICAL",
                 pred=lambda c: c["state_type"] == "hard")
    time.sleep(4)    # 4 s of both down: 100 % of a 1 % budget if counted
    s = the_slo(d)
    assert s["availability"] == 100 and s["status"] == "ok", s
    assert s["checks"] == ["shop-api", "shop-home"], s
    d.stop()


def test_slo_config_errors_name_file_and_line(env):
    d = env.daemon(
        'dummy "a" { group = "web" }\n'
        'slo "s1" { group = "web"  objective = 100 }\n'
        'slo "s2" { group = "web"  objective = 99\n'
        '  page_burn = { "fast 1h 5m" } }\n'
        'slo "s3" { objective = 99.9  checks = { "nope" } }\n'
        'slo "s4" { objective = 99.9 }\n'
        'slo "s5" { group = "empty"  objective = 99.9 }\n'
        'slo "s6" { objective = 99  checks = { "s1" } }\n'
        'slo "s7" { group = "web"  objective = 99\n'
        '  ticket_burn = { "1x 5m 1h" } }\n')
    rc, out = d.check_config()
    assert rc != 0
    lines = out.splitlines()
    conf = open(d.conf).read().splitlines()

    def has(name, pattern, offset=0):
        """The error names the line of slo "name" (plus offset)."""
        n = [k for k, ln in enumerate(conf, 1)
             if ln.startswith('slo "%s"' % name)][0] + offset
        return any(re.search(r'tocsin\.conf:%d: slo "%s": %s' %
                             (n, name, pattern), ln) for ln in lines)
    assert has("s1", r'objective: 100 is not a percentage'), out
    assert has("s2", r'page_burn: "fast 1h 5m" is not FACTOR LONG SHORT',
               1), out
    assert has("s3", r'checks: no check is named "nope"'), out
    assert has("s4", r'an SLO needs its checks'), out
    assert has("s5", r'group: no check other than SLOs is in group '
               r'"empty"'), out
    assert has("s6", r'checks: "s1" is an SLO'), out
    assert has("s7", r'ticket_burn: .*short window \(1h\) must be '
               r'shorter', 1), out
