"""Acks coming back: PagerDuty v3 webhooks and Slack interactive buttons,
signed exactly as the vendors document (Slack's published example
request and signature included), act on tocsin's incidents and stop its
escalation; forged, altered, stale and replayed requests are 401 and
change nothing."""
import hashlib
import hmac
import http.client
import json
import os
import time
import urllib.parse
import uuid

import harness
from harness import wait_for
from fx_notify import Webhook, exec_check, incidents

PD_SECRET = "pd-webhook-secret-0123456789abcdef"
# Slack's documentation ("Verifying requests from Slack") signs this
# example slash-command request with this secret at this timestamp.
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_DOC_TS = "1531420618"
SLACK_DOC_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain="
    "testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id="
    "U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F"
    "397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015."
    "47445629121.803a0bc887a14d10d2c447fce8b6703c")
SLACK_DOC_SIG = ("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd2751966"
                 "6489c69b503")


def post(d, path, body, headers, port=None):
    c = http.client.HTTPConnection("127.0.0.1", port or d.port, timeout=10)
    try:
        c.request("POST", path, body=body.encode(), headers=headers)
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


def pd_body(event_type, key, who="Alice Example", at=None):
    at = time.time() if at is None else at
    return json.dumps({"event": {
        "id": str(uuid.uuid4()),
        "event_type": event_type,
        "resource_type": "incident",
        "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at))
        + ".169Z",
        "agent": {"id": "PLH1HKV", "summary": who, "type": "user_reference"},
        "client": {"name": "PagerDuty"},
        "data": {"id": "PGR0VU2", "type": "incident", "number": 2,
                 "status": event_type.split(".")[1],
                 "incident_key": key, "title": "shop is CRITICAL",
                 "urgency": "high"}}})


def pd_sig(body, secret=PD_SECRET):
    return "v1=" + hmac.new(secret.encode(), body.encode(),
                            hashlib.sha256).hexdigest()


def pages_to(hook, who):
    return [b for _, _, b, _ in hook.received("/hook")
            if b.get("recipient", {}).get("contact") == who]


def daemon(env, hook, sf, snooze="1h"):
    d = env.daemon(
        'paging { snooze = %s  formats_dir = "%s/formats" }\n' % (
            snooze, env.srcdir) +
        exec_check("shop", sf) +
        'channel "hook" { type = webhook  url = "%s" }\n'
        'channel "pd" { type = webhook  url = "%s"  format = pagerduty\n'
        '  routing_key = "R0UT1NGKEY0123456789012345678901"\n'
        '  webhook_secret = "%s" }\n'
        'channel "slack" { type = webhook  url = "%s"  format = slack\n'
        '  signing_secret = "%s" }\n'
        'channel "og" { type = webhook  url = "%s"  format = opsgenie\n'
        '  headers = { "Authorization: GenieKey k" } }\n'
        'contact "alice" { channels = { "hook" } }\n'
        'contact "carol" { channels = { "hook" } }\n'
        'escalation "ops" {\n'
        '  step { notify = { "contact:alice", "channel:pd", '
        '"channel:slack", "channel:og" } }\n'
        '  step { after = 8s  notify = { "contact:carol" } }\n'
        '}\n'
        'route "all" { escalation = "ops" }\n'
        % (hook.url("/hook"), hook.url("/pd"), PD_SECRET,
           hook.url("/slack"), SLACK_SECRET, hook.url("/og/v2/alerts")))
    d.require_plugin("exec")
    return d


def test_pagerduty_acks_resolves_and_refuses_forgeries(env):
    hook = Webhook(env)
    sf = env.file("shop.state", "0\n")
    d = daemon(env, hook, sf)
    d.start()
    d.wait_check("shop", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    i = inc["id"]
    opened = time.time()
    ev = wait_for(lambda: hook.received("/pd"), 10, "the PagerDuty event")
    key = ev[0][2]["dedup_key"]
    assert key == str(i)
    url = "/api/v1/inbound/pagerduty"
    ct = {"Content-Type": "application/json"}

    def status():
        return d.get("/api/v1/incidents/%d" % i)["status"]

    body = pd_body("incident.acknowledged", key)
    stale = pd_body("incident.acknowledged", key, at=time.time() - 900)
    for b, h in ((body, {}),                                   # unsigned
                 (body, {"X-PagerDuty-Signature": pd_sig(body, "wrong")}),
                 (body.replace("Alice", "Mallory"),            # altered
                  {"X-PagerDuty-Signature": pd_sig(body)}),
                 (body, {"X-PagerDuty-Signature": "v1=" + "0" * 64}),
                 (stale, {"X-PagerDuty-Signature": pd_sig(stale)})):
        st, r = post(d, url, b, dict(ct, **h))
        assert st == 401, (st, r, h)
        assert status() == "open"
    assert "stale" in post(d, url, stale, dict(
        ct, **{"X-PagerDuty-Signature": pd_sig(stale)}))[1]["error"]

    # two signatures while the secret rotates: one matching is enough
    sig = pd_sig(body, "the-old-secret") + "," + pd_sig(body)
    st, r = post(d, url, body, dict(ct, **{"X-PagerDuty-Signature": sig}))
    assert st == 200 and r == {"done": "incident.acknowledged"}, r
    got = d.get("/api/v1/incidents/%d" % i)
    assert got["status"] == "acknowledged"
    assert got["acknowledged_by"] == "Alice Example"
    assert any(t["text"] == "acknowledged by Alice Example via PagerDuty"
               for t in got["timeline"])
    # the same delivery again: refused, nothing changes
    st, r = post(d, url, body, dict(ct, **{"X-PagerDuty-Signature": sig}))
    assert st == 401 and "replayed" in r["error"], r
    # tocsin's escalation stopped: carol (at 8s) is never paged
    wait_for(lambda: time.time() > opened + 11 or pages_to(hook, "carol"),
             15, "past the second step")
    assert pages_to(hook, "carol") == []

    # unacknowledged in PagerDuty: open again, the escalation restarts
    b = pd_body("incident.unacknowledged", key, who="Bob")
    st, r = post(d, url, b, dict(ct, **{"X-PagerDuty-Signature":
                                        pd_sig(b)}))
    assert st == 200, r
    assert status() == "open"
    wait_for(lambda: [p for p in pages_to(hook, "alice")
                      if p["event"] == "incident.unacknowledged"], 10,
             "the page after PagerDuty unacknowledged")
    # Opsgenie follows: acknowledged, then unacknowledged, by alias
    og = "/og/v2/alerts/%d/" % i
    wait_for(lambda: [p for _, p, _, _ in hook.raw(og)
                      if p == og + "unacknowledge?identifierType=alias"],
             10, "opsgenie unacknowledge")
    assert [p for _, p, _, _ in hook.raw(og)
            if p == og + "acknowledge?identifierType=alias"]
    # events tocsin does not act on, and keys that are not its incidents
    for t, k in (("incident.annotated", key),
                 ("incident.acknowledged", "d3640fbd41094207a1c11e58e46b")):
        b = pd_body(t, k)
        st, r = post(d, url, b, dict(ct, **{"X-PagerDuty-Signature":
                                            pd_sig(b)}))
        assert st == 200 and "ignored" in r, r
    assert status() == "open"
    b = pd_body("incident.resolved", key, who="Bob")
    st, r = post(d, url, b, dict(ct, **{"X-PagerDuty-Signature":
                                        pd_sig(b)}))
    assert st == 200, r
    got = d.get("/api/v1/incidents/%d" % i)
    assert got["status"] == "resolved"
    assert any(t["text"] == "resolved by Bob via PagerDuty"
               for t in got["timeline"])
    d.stop()
    d.assert_no_sanitizer_report()


def slack_sig(ts, body, secret=SLACK_SECRET):
    return "v0=" + hmac.new(secret.encode(), ("v0:%s:%s" % (ts, body))
                            .encode(), hashlib.sha256).hexdigest()


def slack_click(i, action, response_url, user="alice"):
    payload = {"type": "block_actions",
               "user": {"id": "U2CERLKJA", "username": user, "name": user,
                        "team_id": "T1DC2JH3J"},
               "api_app_id": "A0123", "token": "xyzz0WbapA4vBCDEFasx0q6G",
               "container": {"type": "message", "message_ts": "1.2"},
               "trigger_id": "398738663015.47445629121.803a0bc887a1",
               "response_url": response_url,
               "actions": [{"action_id": "tocsin_" + action,
                            "block_id": "tocsin-%d" % i,
                            "value": str(i), "type": "button",
                            "action_ts": "1548426417.840180"}]}
    return "payload=" + urllib.parse.quote_plus(json.dumps(payload))


def test_slack_buttons_act_and_update_the_message(env):
    # the documented example: tocsind computes exactly Slack's signature
    # (the example is years old, so it is refused as stale, not forged)
    assert slack_sig(SLACK_DOC_TS, SLACK_DOC_BODY) == SLACK_DOC_SIG
    hook = Webhook(env)
    sf = env.file("shop.state", "0\n")
    d = daemon(env, hook, sf)
    d.start()
    url = "/api/v1/inbound/slack"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    st, r = post(d, url, SLACK_DOC_BODY, dict(
        form, **{"X-Slack-Request-Timestamp": SLACK_DOC_TS,
                 "X-Slack-Signature": SLACK_DOC_SIG}))
    assert st == 401 and "stale" in r["error"], r
    st, r = post(d, url, SLACK_DOC_BODY, dict(
        form, **{"X-Slack-Request-Timestamp": SLACK_DOC_TS,
                 "X-Slack-Signature": SLACK_DOC_SIG[:-1] + "0"}))
    assert st == 401 and "does not match" in r["error"], r

    d.wait_check("shop", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    i = inc["id"]
    msg = wait_for(lambda: hook.received("/slack"), 10, "the Slack page")
    blocks = msg[0][2]["blocks"]
    btns = {e["action_id"]: e for e in blocks[-1]["elements"]}
    assert set(btns) == {"tocsin_acknowledge", "tocsin_resolve",
                         "tocsin_snooze"}
    assert all(b["value"] == str(i) and b["type"] == "button"
               for b in btns.values())

    body = slack_click(i, "acknowledge", hook.url("/slack-response"))
    now = str(int(time.time()))
    old = str(int(time.time()) - 600)
    for ts, sig in ((now, slack_sig(now, body, "not-the-secret")),  # forged
                    (now, slack_sig(now, body + "x")),             # altered
                    (old, slack_sig(old, body)),                   # stale
                    (now, None)):                                  # unsigned
        h = dict(form, **{"X-Slack-Request-Timestamp": ts})
        if sig:
            h["X-Slack-Signature"] = sig
        st, r = post(d, url, body, h)
        assert st == 401, (ts, sig, st, r)
        assert d.get("/api/v1/incidents/%d" % i)["status"] == "open"

    h = dict(form, **{"X-Slack-Request-Timestamp": now,
                      "X-Slack-Signature": slack_sig(now, body)})
    st, r = post(d, url, body, h)
    assert st == 200 and r["done"].startswith("Acknowledged by @alice"), r
    got = d.get("/api/v1/incidents/%d" % i)
    assert got["status"] == "acknowledged"
    assert got["acknowledged_by"] == "@alice"
    assert any(t["text"] == "acknowledged by @alice via Slack"
               for t in got["timeline"])
    # the original message is replaced through response_url
    upd = wait_for(lambda: hook.received("/slack-response"), 10,
                   "the message update")[0][2]
    assert upd["replace_original"] is True
    assert upd["text"].startswith("Acknowledged by @alice")
    # the same request again: refused
    st, r = post(d, url, body, h)
    assert st == 401 and "replayed" in r["error"], r
    # resolve from the button of the acknowledgement message
    body = slack_click(i, "resolve", hook.url("/slack-response"), "bob")
    now = str(int(time.time()))
    st, r = post(d, url, body, dict(
        form, **{"X-Slack-Request-Timestamp": now,
                 "X-Slack-Signature": slack_sig(now, body)}))
    assert st == 200, r
    got = d.get("/api/v1/incidents/%d" % i)
    assert got["status"] == "resolved"
    assert any(t["text"] == "resolved by @bob via Slack"
               for t in got["timeline"])
    d.stop()
    d.assert_no_sanitizer_report()


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def test_slack_snooze_after_a_clock_step_pages_on_time(env):
    """A snooze from a Slack button ends on the steady clock, as
    escalation due times do: after the wall clock stepped 2 h ahead, a 3 s
    snooze still pages again after 3 s (with the wall clock it did not
    within 15 s)."""
    if not os.path.exists(FAKETIME):
        raise harness.Skip("faketime (libfaketime) not installed")
    hook = Webhook(env)
    sf = env.file("shop.state", "0\n")
    clock = env.file("clock", "+0\n")
    d = daemon(env, hook, sf, snooze="3s")
    base_env = d.env

    def faked():
        e = base_env()
        e["LD_PRELOAD"] = FAKETIME
        e["FAKETIME_TIMESTAMP_FILE"] = clock
        e["FAKETIME_NO_CACHE"] = "1"
        e["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        e["ASAN_OPTIONS"] = e.get("ASAN_OPTIONS", "") + \
            ":verify_asan_link_order=0"
        return e
    d.env = faked
    d.start()
    d.wait_check("shop", "OK", pred=lambda c: c["last_check"])
    harness.write_file(clock, "+2h\n")      # the wall clock jumps
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    body = slack_click(inc["id"], "snooze", hook.url("/slack-response"))
    now = str(int(time.time()) + 7200)      # Slack's clock is right
    st, r = post(d, "/api/v1/inbound/slack", body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": now,
        "X-Slack-Signature": slack_sig(now, body)})
    assert st == 200 and r["done"].startswith("Snoozed by @alice"), r
    wait_for(lambda: [p for p in pages_to(hook, "alice")
                      if p["event"] == "incident.unacknowledged"],
             15, "the page after the 3 s snooze")
    d.stop()


def test_pagerduty_retry_after_a_failed_write_is_not_a_replay(env):
    """An ack the incident log cannot record (a full disk) is answered
    500 "retry"; PagerDuty then delivers the same event again, and that
    delivery must act, not be refused as a replay of the one that did
    nothing."""
    if os.geteuid() != 0:
        raise harness.Skip("mounting a tmpfs needs root")
    from test_incident_log import Tmpfs
    hook = Webhook(env)
    sf = env.file("shop.state", "0\n")
    d = daemon(env, hook, sf)
    fs = Tmpfs(d.state_dir, "3m")
    d.start(timeout=20)
    d.wait_check("shop", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    i = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]["id"]
    key = wait_for(lambda: hook.received("/pd"), 10,
                   "the PagerDuty event")[0][2]["dedup_key"]
    url = "/api/v1/inbound/pagerduty"
    body = pd_body("incident.acknowledged", key)
    h = {"Content-Type": "application/json",
         "X-PagerDuty-Signature": pd_sig(body)}
    filler = fs.fill()
    st, r = post(d, url, body, h)
    assert st == 500, (st, r)
    os.unlink(filler)
    wait_for(lambda: "writable again" in d.log(), 20, "the log writable")
    st, r = post(d, url, body, h)
    assert st == 200 and r == {"done": "incident.acknowledged"}, (st, r)
    assert d.get("/api/v1/incidents/%d" % i)["status"] == "acknowledged"
    # a third delivery now is a replay
    st, r = post(d, url, body, h)
    assert st == 401 and "replayed" in r["error"], (st, r)
    d.stop()
    d.assert_no_sanitizer_report()
