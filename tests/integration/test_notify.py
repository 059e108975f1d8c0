"""Paging as the people on call see it: a real nginx goes down, the
on-call person of the rotation gets one email and one webhook, nobody
acknowledges so the policy escalates, an ack stops it, the recovery is
announced to everyone paged.  Receivers are real (aiosmtpd, a python
HTTP server); they go down, fail, and tocsind is killed with pages
pending — nothing is lost."""
import datetime
import json
import os
import signal
import sqlite3
import time

import harness
from harness import RFC3339, wait_for
import fx_notify
from fx_notify import Smtp, Webhook, exec_check, incidents, notifications


def oncall_now(members, now=None):
    """The rotation's rule, independently: weekly from Mon 2024-01-01
    09:00 UTC, in member order."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    anchor = datetime.datetime(2024, 1, 1, 9, 0,
                               tzinfo=datetime.timezone.utc)
    k = (now - anchor) // datetime.timedelta(weeks=1)
    return members[k % len(members)]


def people(hook_url, smtp_url, extra_hook=""):
    return ('channel "hook" { type = webhook  url = "%s"  format = generic\n'
            '  retry_min = 200ms  retry_max = 1s  max_attempts = 100 %s}\n'
            'channel "mail" { type = email  smtp = "%s"\n'
            '  from = "tocsin@example.com"  starttls = never\n'
            '  retry_min = 200ms  retry_max = 1s }\n'
            'contact "alice" { email = "alice@example.com"'
            '  channels = { "mail", "hook" } }\n'
            'contact "bob"   { email = "bob@example.com"'
            '  channels = { "mail", "hook" } }\n'
            'contact "carol" { email = "carol@example.com"'
            '  channels = { "mail", "hook" } }\n'
            'contact "dave"  { email = "dave@example.com"'
            '  channels = { "mail", "hook" } }\n'
            'schedule "primary" { members = { "alice", "bob" }\n'
            '  handoff = "mon 09:00"  period = 1w  timezone = "UTC" }\n'
            % (hook_url, extra_hook, smtp_url))


def events_for(hook, who):
    return [(b["event"], t) for _, _, b, t in hook.received()
            if b.get("recipient", {}).get("contact") == who]


def wait_events(hook, who, want, timeout, what):
    def ok():
        ev = [e for e, _ in events_for(hook, who)]
        return ev if all(ev.count(w) >= 1 for w in want) else None
    return wait_for(ok, timeout, what)


def test_page_escalate_ack_resolve_with_nginx(env):
    nginx = env.nginx()
    hook, smtp = Webhook(env), Smtp(env)
    on = oncall_now(["alice", "bob"])
    d = env.daemon(
        'exec "shop" { command = { "/bin/sh", "-c", "/usr/bin/curl -sf '
        '-o /dev/null --max-time 2 %s || exit 2" }\n'
        '  interval = 1s  retry_interval = 300ms  max_attempts = 2\n'
        '  group = "shop"  impact = high  urgency = high }\n'
        % nginx.url("/index.html") +
        people(hook.url(), smtp.url()) +
        'escalation "ops" {\n'
        '  step { after = 0s  notify = { "schedule:primary" } }\n'
        '  step { after = 2s  notify = { "contact:carol" } }\n'
        '  step { after = 6s  notify = { "contact:dave" } }\n'
        '}\n'
        'route "shop" { match_group = "shop"  escalation = "ops" }\n')
    d.require_plugin("exec")
    d.start()
    assert d.get("/api/v1/oncall")["oncall"][0]["contact"] == on
    d.wait_check("shop", "OK", pred=lambda c: c["last_check"])

    nginx.remove("index.html")              # the website is down
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    wait_events(hook, on, ["incident.opened"], 10, "the on-call webhook")
    msgs = wait_for(lambda: [m for m in smtp.messages()
                             if m[0] == ["%s@example.com" % on]], 10,
                    "the on-call email")
    rcpt, m, raw, _ = msgs[0]
    assert m["From"].addresses[0].addr_spec == "tocsin@example.com"
    assert m["To"].addresses[0].addr_spec == "%s@example.com" % on
    assert "#%d" % inc["id"] in m["Subject"] and "P1" in m["Subject"]
    assert m["Date"] and m["Message-ID"].startswith("<tocsin.")
    body = m.get_content()
    for want in ("Root cause:  shop", "Priority:    P1", "Down since:",
                 "tocsinctl ack %d" % inc["id"], "  - shop  CRITICAL"):
        assert want in body, (want, body)
    # the webhook carries the incident as the API shows it
    _, headers, b, t_open = [r for r in hook.received()
                             if r[2]["recipient"]["contact"] == on][0]
    assert b["event"] == "incident.opened"
    assert b["incident"]["id"] == inc["id"]
    assert b["incident"]["root_cause"] == "shop"
    assert RFC3339.match(b["sent_at"])
    assert headers["idempotency-key"] == b["idempotency_key"]

    # nobody acknowledges: carol is paged after the step's delay
    ev = wait_events(hook, "carol", ["incident.escalated"], 10,
                     "escalation to carol")
    t_esc = events_for(hook, "carol")[0][1]
    assert t_esc - t_open >= 1.5, (t_esc - t_open)
    st, _ = d.post("/api/v1/incidents/%d/ack" % inc["id"],
                   {"by": on, "comment": "looking"})
    assert st == 200
    wait_events(hook, "carol", ["incident.acknowledged"], 10,
                "the ack notice to carol")
    # past dave's step (6 s after opening) nobody else is paged
    time.sleep(max(0, t_open + 7.5 - time.time()))
    assert events_for(hook, "dave") == []
    assert [m for m in smtp.messages() if m[0] == ["dave@example.com"]] == []

    nginx.put("index.html", "hello again\n")    # recovery
    wait_events(hook, on, ["incident.resolved"], 15, "resolved to on-call")
    wait_events(hook, "carol", ["incident.resolved"], 10,
                "resolved to carol")
    wait_for(lambda: len([m for m in smtp.messages()
                          if "resolved" in m[1]["Subject"]]) == 2, 10,
             "two resolved emails")
    ev = [e for e, _ in events_for(hook, on)]
    assert ev == ["incident.opened", "incident.acknowledged",
                  "incident.resolved"], ev
    assert [e for e, _ in events_for(hook, "carol")] == [
        "incident.escalated", "incident.acknowledged", "incident.resolved"]
    tl = d.get("/api/v1/incidents/%d" % inc["id"])["timeline"]
    kinds = [e["kind"] for e in tl]
    assert "escalated" in kinds and kinds.count("notified") >= 10, kinds
    d.stop()
    d.assert_no_sanitizer_report()
