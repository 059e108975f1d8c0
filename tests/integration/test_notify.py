"""Paging as the people on call see it: a real nginx goes down, the
on-call person of the rotation gets one email and one webhook, nobody
acknowledges so the policy escalates, an ack stops it, the recovery is
announced to everyone paged.  Receivers are real (aiosmtpd, a python
HTTP server); they go down, fail, and tocsind is killed with pages
pending — nothing is lost."""
import datetime
import json
import sqlite3
import time

import harness
from harness import RFC3339, wait_for
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


def simple_policy(hook_url, extra_chan="", extra=""):
    return ('channel "hook" { type = webhook  url = "%s"\n'
            '  retry_min = 200ms  retry_max = 800ms  max_attempts = 100 %s}\n'
            'contact "alice" { channels = { "hook" } }\n'
            'escalation "ops" { step { notify = { "contact:alice" } } }\n'
            'route "all" { escalation = "ops" }\n%s'
            % (hook_url, extra_chan, extra))


def test_retries_until_the_receiver_is_up(env):
    hook = Webhook(env, start=False)        # nothing listens yet
    sf = env.file("web.state", "0\n")
    d = env.daemon(exec_check("web", sf) + simple_policy(hook.url()))
    d.require_plugin("exec")
    d.start()
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    n = wait_for(lambda: [x for x in notifications(d)
                          if x["attempts"] >= 3], 15, "three failed attempts")
    assert n[0]["status"] == "pending" and n[0]["last_error"], n
    assert RFC3339.match(n[0]["next_attempt_at"])
    metrics = d.get_raw("/metrics")[2].decode()
    assert "tocsin_outbox_pending 1" in metrics, metrics[-2000:]

    hook.start()                            # the receiver comes back
    got = wait_for(lambda: hook.received(), 10, "the page")
    wait_for(lambda: notifications(d)[0]["status"] == "sent", 10, "sent")
    time.sleep(1)
    assert len(hook.received()) == 1        # delivered once, not per retry
    assert got[0][2]["event"] == "incident.opened"
    tl = d.get("/api/v1/incidents/%d" % inc["id"])["timeline"]
    kinds = [e["kind"] for e in tl]
    assert kinds.count("notify_failed") >= 3 and "notified" in kinds, kinds
    assert "tocsin_outbox_pending 0" in d.get_raw("/metrics")[2].decode()
    d.stop()
    d.assert_no_sanitizer_report()


def test_kill9_with_pages_pending_loses_none(env):
    hook = Webhook(env, start=False)
    files = [env.file("c%d.state" % i, "0\n") for i in range(6)]
    d = env.daemon("".join(exec_check("c%d" % i, f) for i, f in
                           enumerate(files)) + simple_policy(hook.url()))
    d.require_plugin("exec")
    d.start()
    for i in range(6):
        d.wait_check("c%d" % i, "OK", pred=lambda c: c["last_check"])
    for f in files:
        harness.write_file(f, "2\n")
    wait_for(lambda: len(incidents(d, "open")) == 6, 20, "six incidents")
    wait_for(lambda: len([x for x in notifications(d)
                          if x["status"] == "pending"]) == 6, 10,
             "six pages pending")
    keys = sorted(x["idempotency_key"] for x in notifications(d))
    d.kill()                                # kill -9 with six pages due
    hook.start()
    d.start()
    wait_for(lambda: len({b["idempotency_key"] for _, _, b, _ in
                          hook.received()}) == 6, 20, "all six pages")
    got = sorted({b["idempotency_key"] for _, _, b, _ in hook.received()})
    assert got == keys
    assert sorted({b["incident"]["id"] for _, _, b, _ in
                   hook.received()}) == sorted(
                       i["id"] for i in incidents(d, "open"))
    wait_for(lambda: all(x["status"] == "sent" for x in notifications(d)),
             10, "all marked sent")
    d.stop()
    d.assert_no_sanitizer_report()


def test_permanent_failures_are_dead_letters(env):
    hook, smtp = Webhook(env), Smtp(env)
    hook.fail_with(400)
    smtp.reply_with("550 5.1.1 no such user")
    sf = env.file("web.state", "0\n")
    d = env.daemon(exec_check("web", sf) +
                   'channel "mail" { type = email  smtp = "%s"  from = '
                   '"t@example.com"  starttls = never  retry_min = 200ms }\n'
                   'contact "bob" { email = "bob@example.com"  channels = '
                   '{ "mail" } }\n' % smtp.url() +
                   simple_policy(hook.url()).replace(
                       '"contact:alice"', '"contact:alice", "contact:bob"'))
    d.require_plugin("exec")
    d.start()
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    n = wait_for(lambda: (lambda v: v if len(v) == 2 and all(
        x["status"] == "dead" for x in v) else None)(notifications(d)),
        10, "two dead letters")
    errs = sorted(x["last_error"] for x in n)
    assert errs[0].startswith("HTTP 400"), errs
    assert errs[1].startswith("SMTP 550"), errs
    assert all(x["attempts"] == 1 for x in n)
    tl = d.get("/api/v1/incidents/%d" % inc["id"])["timeline"]
    fails = [e["text"] for e in tl if e["kind"] == "notify_failed"]
    assert len(fails) == 2 and all("given up" in t for t in fails), fails
    d.stop()
    d.assert_no_sanitizer_report()


def test_slack_pagerduty_and_command_payloads(env):
    hook = Webhook(env)
    out = env.path("cmd.env")
    sf = env.file("web.state", "0\n")
    d = env.daemon(
        exec_check("web", sf, '  group = "shop"  impact = high\n'
                   '  urgency = medium\n') +
        'channel "slack" { type = webhook  url = "%s"  format = slack\n'
        '  headers = { "Authorization: Bearer s3cret" } }\n'
        'channel "pd" { type = webhook  url = "%s"  format = pagerduty\n'
        '  routing_key = "R0UT1NGKEY0123456789012345678901" }\n'
        'channel "cmd" { type = command  command = { "/bin/sh", "-c", '
        '"env | grep ^TOCSIN_ | sort >> %s; echo --- >> %s" } }\n'
        'escalation "ops" { step { notify = { "channel:slack", '
        '"channel:pd", "channel:cmd" } } }\n'
        'route "shop" { match_group = "shop"  match_priority = { "P2" }\n'
        '  escalation = "ops" }\n'
        % (hook.url("/slack"), hook.url("/pd"), out, out))
    d.require_plugin("exec")
    d.start()
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    assert inc["priority"] == "P2"
    def cmd_done():
        with open(out) as f:
            return "---" in f.read()
    wait_for(lambda: hook.received("/slack") and hook.received("/pd") and
             cmd_done(), 10, "three channels")
    s = hook.received("/slack")[0][2]
    assert hook.received("/slack")[0][1]["authorization"] == "Bearer s3cret"
    assert isinstance(s["text"], str) and "#%d" % inc["id"] in s["text"]
    att = s["attachments"][0]
    assert att["color"] == "danger" and att["title"] == inc["title"]
    assert {f["title"] for f in att["fields"]} >= {"Priority", "Root cause"}
    p = hook.received("/pd")[0][2]
    assert p["routing_key"] == "R0UT1NGKEY0123456789012345678901"
    assert p["event_action"] == "trigger"
    assert p["dedup_key"] == str(inc["id"])
    pl = p["payload"]
    assert pl["severity"] == "error"        # P2
    assert pl["source"] == "web" and pl["summary"]
    assert pl["severity"] in ("critical", "error", "warning", "info")
    assert datetime.datetime.fromisoformat(
        pl["timestamp"].replace("Z", "+00:00"))
    with open(out) as f:
        env1 = f.read().split("---")[0]
    assert "TOCSIN_EVENT=incident.opened" in env1
    assert "TOCSIN_INCIDENT_ID=%d" % inc["id"] in env1
    assert "TOCSIN_INCIDENT_PRIORITY=P2" in env1
    assert "TOCSIN_ROOT_CAUSE=web" in env1

    st, _ = d.post("/api/v1/incidents/%d/resolve" % inc["id"], {"by": "x"})
    assert st == 200
    wait_for(lambda: len(hook.received("/pd")) == 2, 10, "pd resolve")
    p2 = hook.received("/pd")[1][2]
    assert p2["event_action"] == "resolve"
    assert p2["dedup_key"] == str(inc["id"]) and "payload" not in p2
    wait_for(lambda: len(hook.received("/slack")) == 2, 10, "slack resolve")
    assert hook.received("/slack")[1][2]["attachments"][0]["color"] == "good"
    d.stop()
    d.assert_no_sanitizer_report()


def test_oncall_rotation_hands_off_and_overrides(env):
    hook = Webhook(env, start=False)
    d = env.daemon(
        'channel "hook" { type = webhook  url = "%s" }\n'
        'contact "alice" { channels = { "hook" } }\n'
        'contact "bob" { channels = { "hook" } }\n'
        'contact "carol" { channels = { "hook" } }\n'
        'schedule "weekly" { members = { "alice", "bob", "carol" }\n'
        '  handoff = "mon 09:00"  period = 1w  timezone = "Europe/Berlin"\n'
        '  overrides = { "2026-12-24..2026-12-27=carol" } }\n'
        'schedule "daily" { members = { "alice", "bob" }  handoff = "18:30"'
        '  period = 1d }\n' % hook.url())
    d.start()

    def at(t):
        return {o["schedule"]: o for o in d.get(
            "/api/v1/oncall?at=" + t)["oncall"]}
    # Mon 2026-11-30 09:00 Berlin = 08:00 UTC: the handoff
    before, after = at("2026-11-30T07:59:59Z"), at("2026-11-30T08:00:00Z")
    assert before["weekly"]["contact"] != after["weekly"]["contact"]
    assert after["weekly"]["since"] == "2026-11-30T08:00:00Z"
    assert after["weekly"]["until"] == "2026-12-07T08:00:00Z"
    nxt = at("2026-12-07T08:00:00Z")["weekly"]["contact"]
    order = ["alice", "bob", "carol"]
    assert order.index(nxt) == (order.index(
        after["weekly"]["contact"]) + 1) % 3
    # daily at 18:30 UTC
    a, b = at("2026-12-01T18:29:00Z"), at("2026-12-01T18:30:00Z")
    assert a["daily"]["contact"] != b["daily"]["contact"]
    assert b["daily"]["since"] == "2026-12-01T18:30:00Z"
    xmas = at("2026-12-25T12:00:00Z")["weekly"]
    assert xmas["contact"] == "carol" and xmas["override"] is True
    st, _, body = d.get_raw("/api/v1/oncall?at=tomorrow")
    assert st == 400 and b"at:" in body
    import fx_api
    rc, out, err = fx_api.tocsinctl(env, d, "oncall")
    assert rc == 0 and "weekly" in out and "daily" in out, (out, err)
    rc, out, err = fx_api.tocsinctl(env, d, "--json", "oncall")
    assert rc == 0, err
    now = {o["schedule"]: o["contact"] for o in json.loads(out)["oncall"]}
    assert now == {o["schedule"]: o["contact"]
                   for o in d.get("/api/v1/oncall")["oncall"]}
    d.stop()
    d.assert_no_sanitizer_report()


def test_config_errors_point_at_the_line(env):
    d = env.daemon(
        'channel "hook" { type = webhook  url = "ftp://x" }\n'
        'channel "mail" { type = email  smtp = "smtp://127.0.0.1:1" }\n'
        'channel "h2" { type = webhook  url = "http://x/"\n'
        '  headers = { "X-Bad\\r\\nInjected: 1" } }\n'
        'contact "alice" { channels = { "nosuch" } }\n'
        'contact "eve" { email = "eve@x\\r\\nBcc: all@x"\n'
        '  channels = { "hook" } }\n'
        'schedule "s" { members = { "alice", "zed" }  handoff = "noon" }\n'
        'escalation "ops" { step { notify = { "contact:nobody" } } }\n'
        'escalation "empty" { repeat = 2 }\n'
        'route "r" { escalation = "missing" }\n')
    rc, out = d.check_config()
    assert rc == 1
    f = d.conf
    for marker, text in (('url = "ftp', 'url: "ftp://x" is not an http'),
                         ('channel "mail"', "needs smtp and from"),
                         ('X-Bad', 'is not "Name: value" on one line'),
                         ('"nosuch"', 'no channel "nosuch"'),
                         ('eve@x', 'is not an email address'),
                         ('"zed"', 'no contact "zed"'),
                         ('"noon"', "handoff"),
                         ('contact:nobody', '"contact:nobody"'),
                         ('escalation "empty"', "at least one step"),
                         ('"missing"', 'no escalation "missing"')):
        want = "%s:%d: " % (f, d.line_of(marker))
        assert any(line.startswith(want) and text in line
                   for line in out.splitlines()), (marker, want, text, out)


def test_repeat_update_and_reopen_page_again(env):
    hook = Webhook(env)
    s1, s2 = env.file("a.state", "0\n"), env.file("b.state", "0\n")
    d = env.daemon(
        exec_check("a", s1, '  group = "g"\n') +
        exec_check("b", s2, '  group = "g"\n') +
        'incidents { group_window = 1m  reopen_window = 1m }\n'
        'channel "hook" { type = webhook  url = "%s" }\n'
        'contact "alice" { channels = { "hook" } }\n'
        'escalation "ops" { step { notify = { "contact:alice" } }\n'
        '  repeat = 1  repeat_interval = 2s }\n'
        'route "all" { escalation = "ops" }\n' % hook.url())
    d.require_plugin("exec")
    d.start()
    d.wait_check("a", "OK", pred=lambda c: c["last_check"])
    d.wait_check("b", "OK", pred=lambda c: c["last_check"])

    def evs():
        return [b["event"] for _, _, b, _ in hook.received()]
    harness.write_file(s1, "2\n")
    wait_for(lambda: evs() == ["incident.opened"], 10, "the first page")
    harness.write_file(s2, "2\n")           # joins the group's incident
    wait_for(lambda: "incident.updated" in evs(), 10, "an update page")
    # nobody acks: the policy runs once more after repeat_interval
    wait_for(lambda: "incident.escalated" in evs(), 10, "the repeat")
    assert evs().count("incident.opened") == 1
    harness.write_file(s1, "0\n")
    harness.write_file(s2, "0\n")
    wait_for(lambda: "incident.resolved" in evs(), 15, "resolved")
    n = len(evs())
    harness.write_file(s1, "2\n")           # fails again: reopens
    wait_for(lambda: evs()[n:n + 1] == ["incident.opened"], 15,
             "a page for the reopened incident")
    assert len(incidents(d)) == 1
    assert len({b["incident"]["id"] for _, _, b, _ in hook.received()}) == 1
    keys = [b["idempotency_key"] for _, _, b, _ in hook.received()]
    assert len(keys) == len(set(keys)), keys
    d.stop()
    d.assert_no_sanitizer_report()


def test_kill9_while_sending_then_restart_delivers_all(env):
    """Pages in flight to a slow receiver and mails due to a sink that is
    down when tocsind is killed: after the restart every incident's page
    and mail arrive (at least once), and the outbox is empty."""
    hook, smtp = Webhook(env), Smtp(env, start=False)
    hook.fail_with(None, delay=1.5)         # every send is in flight a while
    files = [env.file("c%d.state" % i, "0\n") for i in range(5)]
    d = env.daemon(
        "".join(exec_check("c%d" % i, f) for i, f in enumerate(files)) +
        'channel "hook" { type = webhook  url = "%s"  timeout = 5s\n'
        '  retry_min = 200ms  retry_max = 500ms  max_attempts = 100 }\n'
        'channel "mail" { type = email  smtp = "%s"  starttls = never\n'
        '  from = "tocsin@example.com"  retry_min = 200ms\n'
        '  retry_max = 500ms  max_attempts = 100 }\n'
        'contact "alice" { email = "alice@example.com"\n'
        '  channels = { "hook", "mail" } }\n'
        'escalation "ops" { step { notify = { "contact:alice" } } }\n'
        'route "all" { escalation = "ops" }\n' % (hook.url(), smtp.url()))
    d.require_plugin("exec")
    d.start()
    for i in range(5):
        d.wait_check("c%d" % i, "OK", pred=lambda c: c["last_check"])
    for f in files:
        harness.write_file(f, "2\n")
    wait_for(lambda: len(incidents(d, "open")) == 5, 20, "five incidents")
    # the webhooks are being answered slowly, the sink is down
    wait_for(lambda: len([x for x in notifications(d)
                          if x["channel"] == "mail" and
                          x["attempts"] >= 1]) == 5, 15, "mail attempts")
    d.kill()
    con = sqlite3.connect("file:%s/incidents.db?mode=ro" % d.state_dir,
                          uri=True, timeout=5)
    ids = sorted(r[0] for r in con.execute("SELECT id FROM incidents"))
    con.close()
    assert len(ids) == 5
    hook.fail_with(None)
    smtp.start()
    d.start()
    wait_for(lambda: sorted({b["incident"]["id"] for _, _, b, _ in
                             hook.received()}) == ids, 20, "every page")
    wait_for(lambda: len({m[1]["Message-ID"] for m in smtp.messages()})
             == 5, 20, "every mail")
    subjects = sorted(str(m[1]["Subject"]) for m in smtp.messages())
    for i in ids:
        assert any("#%d " % i in s for s in subjects), (i, subjects)
    wait_for(lambda: not [x for x in notifications(d)
                          if x["status"] != "sent"], 10, "outbox empty")
    assert "tocsin_outbox_pending 0" in d.get_raw("/metrics")[2].decode()
    d.stop()
    d.assert_no_sanitizer_report()


def test_reload_changes_routes_and_keeps_the_outbox(env):
    hook = Webhook(env)
    s1, s2 = env.file("a.state", "0\n"), env.file("b.state", "0\n")
    checks = exec_check("a", s1) + exec_check("b", s2)

    def conf(policy_steps):
        return (checks +
                'channel "hook" { type = webhook  url = "%s" }\n'
                'contact "alice" { channels = { "hook" } }\n'
                'contact "bob" { channels = { "hook" } }\n'
                'escalation "ops" { %s }\n'
                'route "all" { escalation = "ops" }\n'
                % (hook.url(), policy_steps))
    d = env.daemon(conf('step { notify = { "contact:alice" } }\n'
                        '  step { after = 3s  notify = { "contact:bob" } }'))
    d.require_plugin("exec")
    d.start()
    d.wait_check("a", "OK", pred=lambda c: c["last_check"])
    d.wait_check("b", "OK", pred=lambda c: c["last_check"])
    harness.write_file(s1, "2\n")
    wait_for(lambda: hook.received(), 10, "alice's page")
    # the policy loses its second step before it is due; b then fails
    out = d.reload(conf('step { notify = { "contact:bob" } }'))
    assert "reloaded" in out, out
    harness.write_file(s2, "2\n")
    wait_for(lambda: len(incidents(d, "open")) == 2, 15, "two incidents")
    wait_for(lambda: len(hook.received()) == 2, 10, "bob's page for b")
    time.sleep(3.5)                         # past the removed step
    got = [(b["incident"]["root_cause"], b["recipient"]["contact"],
            b["event"]) for _, _, b, _ in hook.received()]
    assert got == [("a", "alice", "incident.opened"),
                   ("b", "bob", "incident.opened")], got
    # a config with a dangling reference is refused; paging goes on
    out = d.reload(conf('step { notify = { "contact:nobody" } }'))
    assert "refused" in out, out
    assert d.get("/api/v1/oncall")["oncall"] == []
    d.stop()
    d.assert_no_sanitizer_report()


def test_email_with_a_long_utf8_title_is_well_formed(env):
    smtp = Smtp(env)
    name = "café-frontend-of-the-very-long-shop-name-ünïcödé-ß"
    sf = env.file("web.state", "0\n")
    d = env.daemon(
        exec_check(name, sf) +
        'channel "mail" { type = email  smtp = "%s"  starttls = never\n'
        '  from = "tocsin@example.com" }\n'
        'contact "alice" { email = "alice@example.com"'
        '  channels = { "mail" } }\n'
        'escalation "ops" { step { notify = { "contact:alice" } } }\n'
        'route "all" { escalation = "ops" }\n' % smtp.url())
    d.require_plugin("exec")
    d.start()
    d.wait_check(name, "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    _, m, raw, _ = wait_for(lambda: smtp.messages(), 10, "the mail")[0]
    assert name in str(m["Subject"]) and "#%d" % inc["id"] in str(
        m["Subject"])
    head = raw.split("\r\n\r\n")[0] if "\r\n\r\n" in raw else \
        raw.split("\n\n")[0]
    for line in head.splitlines():
        assert len(line) <= 78 and line.isascii(), line
    assert m.get_content_charset() == "utf-8"
    assert "Root cause:  %s\r\n" % name in raw        # 8bit UTF-8 body
    d.stop()
    d.assert_no_sanitizer_report()
