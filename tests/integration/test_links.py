"""Acting from the page itself: signed action links in every page (api {
public_url }), the confirmation page a GET shows, the POST of its one
button, in a real headless Chromium; tampered, expired and forged links;
the public listener that serves only them; snooze."""
import base64
import hashlib
import hmac
import http.client
import json
import os
import stat
import time
import urllib.parse

import harness
from harness import wait_for
from fx_notify import Smtp, Webhook, exec_check, incidents

PEOPLE = (
    'contact "alice" { email = "alice@example.com"  channels = { "hook" } }\n'
    'contact "carol" { email = "carol@example.com"  channels = { "hook" } }\n')


def links_daemon(env, text, snooze="1h"):
    """A daemon with action links on a public listener of its own, and
    the API closed to reads without the token."""
    pub = harness.free_port()
    text = 'paging { snooze = %s }\n' % snooze + text
    d = env.daemon(text)
    d.header_text = d.header().replace(
        "api {", 'api { public_url = "http://127.0.0.1:%d/"\n'
        '  public_listen = "127.0.0.1:%d"  action_link_ttl = 1h\n'
        '  read_requires_token = yes\n' % (pub, pub))
    d.config_text = d.header_text + text
    harness.write_file(d.conf, d.config_text)

    def get(path):                  # reads need the token here
        st, _, body = d.get_raw(path, token=True)
        assert st == 200, (path, st, body[:300])
        return json.loads(body)
    d.get = get
    return d, pub


def pages_to(hook, who):
    return [b for _, _, b, _ in hook.received()
            if b.get("recipient", {}).get("contact") == who]


def fetch(url, method="GET", body=None):
    """(status, headers, text) without any token."""
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        c.request(method, u.path + ("?" + u.query if u.query else ""),
                  body=body, headers={"Content-Type":
                                      "application/x-www-form-urlencoded"}
                  if body is not None else {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, \
            r.read().decode("utf-8", "replace")
    finally:
        c.close()


def incident(d, i):
    return d.get("/api/v1/incidents/%d" % i)


def test_outage_page_link_in_a_browser_stops_the_escalation(env):
    from fx_browser import Browser
    from test_dashboard import shot_path
    hook = Webhook(env)
    sf = env.file("shop.state", "0\n")
    d, pub = links_daemon(env,
        exec_check("shop", sf, '  group = "shop"  impact = high\n'
                   '  urgency = high\n') +
        'channel "hook" { type = webhook  url = "%s"\n'
        '  retry_min = 200ms  retry_max = 1s }\n' % hook.url() + PEOPLE +
        'escalation "ops" {\n'
        '  step { after = 0s  notify = { "contact:alice" } }\n'
        '  step { after = 8s  notify = { "contact:carol" } }\n'
        '}\n'
        'route "shop" { match_group = "shop"  escalation = "ops" }\n')
    d.require_plugin("exec")
    d.start()
    d.wait_check("shop", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")                   # the outage
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    opened = time.time()
    page = wait_for(lambda: pages_to(hook, "alice"), 10, "alice's page")[0]
    assert page["event"] == "incident.opened"
    acts = page["actions"]
    assert set(acts) == {"acknowledge", "resolve", "snooze"}
    link = acts["acknowledge"]
    assert link.startswith("http://127.0.0.1:%d/api/v1/act/%d/acknowledge?"
                           % (pub, inc["id"]))

    # a mail scanner or a chat preview fetches the link: nothing happens
    st, h, html = fetch(link)
    assert st == 200 and h["content-type"].startswith("text/html")
    assert h["cache-control"] == "no-store"
    assert h["referrer-policy"] == "no-referrer"
    assert incident(d, inc["id"])["status"] == "open"

    b = Browser(env.tmpdir, width=420, height=900)     # a phone
    b.get(link)
    b.wait_text("#act", "Acknowledge as alice")
    assert b.text("#status") == "open"
    assert inc["title"] in b.text("h1")
    assert "shop" in b.text("ul")
    b.screenshot(shot_path(env, "action-link-confirm.png"))
    assert incident(d, inc["id"])["status"] == "open"
    b.click("#act")
    b.wait_text("#result", lambda t: t and t.startswith(
        "Acknowledged by alice"))
    b.screenshot(shot_path(env, "action-link-done.png"))
    assert b.text("#status") == "acknowledged"

    got = incident(d, inc["id"])
    assert got["status"] == "acknowledged"
    assert got["acknowledged_by"] == "alice"
    assert any(t["text"] == "acknowledged by alice via link"
               for t in got["timeline"]), got["timeline"]
    # alice hears of the ack with only the resolve link left
    ack = wait_for(lambda: [p for p in pages_to(hook, "alice")
                            if p["event"] == "incident.acknowledged"], 10,
                   "the acknowledgement")[0]
    assert set(ack["actions"]) == {"resolve"}
    # the escalation stopped: carol (step 2, at 8s) is never paged
    wait_for(lambda: time.time() > opened + 11 or pages_to(hook, "carol"),
             15, "past the second step")
    assert pages_to(hook, "carol") == []
    d.stop()
    d.assert_no_sanitizer_report()


def sign(key, i, action, who, exp):
    msg = b"".join(x.encode() + b"\0" for x in
                   (str(i), action, who, str(exp)))
    return base64.urlsafe_b64encode(hmac.new(key, msg, hashlib.sha256)
                                    .digest()).rstrip(b"=").decode()


def test_tampered_expired_and_the_public_listener(env):
    hook = Webhook(env)
    smtp = Smtp(env)
    sf = env.file("web.state", "0\n")
    d, pub = links_daemon(env,
        exec_check("web", sf) +
        'channel "hook" { type = webhook  url = "%s" }\n'
        'channel "mail" { type = email  smtp = "%s"\n'
        '  from = "tocsin@example.com"  starttls = never }\n'
        'channel "slack" { type = webhook  url = "%s"  format = slack }\n'
        'channel "pd" { type = webhook  url = "%s"  format = pagerduty\n'
        '  routing_key = "R0UT1NGKEY0123456789012345678901" }\n'
        'contact "alice" { email = "alice@example.com"\n'
        '  channels = { "hook", "mail" } }\n'
        'escalation "ops" { step { notify = { "contact:alice", '
        '"channel:slack", "channel:pd" } } }\n'
        'route "all" { escalation = "ops" }\n' % (
            hook.url(), smtp.url(), hook.url("/slack"), hook.url("/pd")),
        snooze="3s")
    d.require_plugin("exec")
    d.start()
    keyfile = os.path.join(d.state_dir, "action.key")
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    key = bytes.fromhex(open(keyfile).read().strip())
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    i = inc["id"]
    page = wait_for(lambda: pages_to(hook, "alice"), 10, "a page")[0]
    link = page["actions"]["acknowledge"]
    u = urllib.parse.urlsplit(link)
    q = dict(urllib.parse.parse_qsl(u.query))
    # the signature is HMAC-SHA256 as documented
    assert q["s"] == sign(key, i, "acknowledge", "alice", int(q["e"]))
    assert int(q["e"]) - time.time() > 3500       # action_link_ttl = 1h
    # email carries the same links as plain text
    msg = wait_for(lambda: smtp.messages(), 10, "the email")[0][2]
    assert "/api/v1/act/%d/acknowledge?r=alice&e=" % i in msg
    assert "/api/v1/act/%d/snooze?r=alice&e=" % i in msg
    # Slack shows them as buttons, PagerDuty as links (for the channel)
    wait_for(lambda: hook.received("/slack") and hook.received("/pd"), 10,
             "slack and pagerduty")
    att = hook.received("/slack")[0][2]["attachments"][0]
    btn = {a["text"]: a for a in att["actions"]}
    assert set(btn) == {"Acknowledge", "Resolve", "Snooze 3s"}
    assert all(a["type"] == "button" for a in att["actions"])
    assert "/api/v1/act/%d/acknowledge?r=slack&" % i in \
        btn["Acknowledge"]["url"]
    pd = hook.received("/pd")[0][2]
    assert {l["text"] for l in pd["links"]} == {
        "Acknowledge in tocsin", "Resolve in tocsin", "Snooze in tocsin"}
    assert all("r=pd&" in l["href"] for l in pd["links"])

    base = "http://127.0.0.1:%d/api/v1/act/%d/" % (pub, i)

    def url(action, who, exp, sig):
        return base + "%s?%s" % (action, urllib.parse.urlencode(
            {"r": who, "e": exp, "s": sig}))
    e = int(q["e"])
    # forged: one character of the signature changed (its last two were
    # once replaced by "AA", which the real one ended in 1 time in 1 024)
    s = q["s"]
    forged = s[:5] + ("B" if s[5] != "B" else "C") + s[6:]
    bad = [url("acknowledge", "alice", e, forged),              # forged
           url("acknowledge", "mallory", e, q["s"]),            # other who
           url("resolve", "alice", e, q["s"]),                  # other act
           url("acknowledge", "alice", e + 3600, q["s"]),       # later exp
           base.replace("/%d/" % i, "/%d/" % (i + 1)) +
           "acknowledge?" + u.query,                            # other id
           base + "acknowledge",                                # unsigned
           url("acknowledge", "alice", int(time.time()) - 5,   # expired
               sign(key, i, "acknowledge", "alice",
                    int(time.time()) - 5))]
    for b in bad:
        for method in ("GET", "POST"):
            st, h, html = fetch(b, method, body="" if method == "POST"
                                else None)
            assert st == 403, (b, method, st)
            assert h["content-type"].startswith("text/html")
            assert ("has expired" in html) == ("e=%d" % (e + 3600) not in b
                                               and b == bad[-1]), b
    assert incident(d, i)["status"] == "open"

    # the public listener serves the links and nothing else
    for path in ("/api/v1/status", "/api/v1/incidents", "/",
                 "/api/v1/incidents/%d/ack" % i):
        st, _, _ = fetch("http://127.0.0.1:%d%s" % (pub, path))
        assert st == 404, (path, st)
    st, _, _ = fetch("http://127.0.0.1:%d/api/v1/incidents/%d/ack"
                     % (pub, i), "POST", body="{}")
    assert st == 404
    # the main API still wants its token, except for the links
    st, _, _ = d.get_raw("/api/v1/status")
    assert st == 401
    st, _, _ = fetch(link.replace(":%d/" % pub, ":%d/" % d.port))
    assert st == 200
    assert incident(d, i)["status"] == "open"

    # snooze: acknowledged now, paged again when it runs out (3s here)
    snooze = page["actions"]["snooze"]
    st, _, html = fetch(snooze, "POST", body="")
    assert st == 200 and "Snoozed for 3s by alice" in html
    got = incident(d, i)
    assert got["status"] == "acknowledged" and \
        got["acknowledged_by"] == "alice"
    assert any(t["text"] == "acknowledged by alice via link: snoozed for 3s"
               for t in got["timeline"])
    again = wait_for(lambda: [p for p in pages_to(hook, "alice")
                              if p["event"] == "incident.unacknowledged"],
                     15, "the page after the snooze")[0]
    assert set(again["actions"]) == {"acknowledge", "resolve", "snooze"}
    assert incident(d, i)["status"] == "open"
    assert any("unacknowledged by tocsind via the end of a snooze" in
               t["text"] for t in incident(d, i)["timeline"])
    # resolve from the new page's link
    st, _, html = fetch(again["actions"]["resolve"], "POST", body="")
    assert st == 200 and "Resolved by alice" in html
    got = incident(d, i)
    assert got["status"] == "resolved"
    assert any(t["text"] == "resolved by alice via link"
               for t in got["timeline"])
    # a link of a resolved incident: the page says so, no button
    st, _, html = fetch(again["actions"]["acknowledge"])
    assert st == 200 and 'id="nothing"' in html and 'id="act"' not in html
    d.stop()
    d.assert_no_sanitizer_report()


def test_the_public_url_host_is_served_behind_a_proxy(env):
    """A reverse proxy passes "Host: mon.example.com": the links work,
    though the name is not in allowed_hosts (it is public_url's); any
    other name is still refused (DNS rebinding)."""
    hook = Webhook(env)
    sf = env.file("web.state", "0\n")
    d, pub = links_daemon(env,
        exec_check("web", sf) +
        'channel "hook" { type = webhook  url = "%s" }\n'
        'contact "alice" { channels = { "hook" } }\n'
        'escalation "ops" { step { notify = { "contact:alice" } } }\n'
        'route "all" { escalation = "ops" }\n' % hook.url())
    d.header_text = d.header_text.replace(
        'public_url = "http://127.0.0.1:%d/"' % pub,
        'public_url = "https://mon.example.com/tocsin"')
    d.config_text = d.config_text.replace(
        'public_url = "http://127.0.0.1:%d/"' % pub,
        'public_url = "https://mon.example.com/tocsin"')
    harness.write_file(d.conf, d.config_text)
    d.require_plugin("exec")
    d.start()
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    page = wait_for(lambda: pages_to(hook, "alice"), 15, "a page")[0]
    link = page["actions"]["acknowledge"]
    assert link.startswith("https://mon.example.com/tocsin/api/v1/act/")
    path = link[len("https://mon.example.com/tocsin"):]
    for host, want in (("mon.example.com", 200), ("MON.example.com:443",
                                                  200),
                       ("evil.example", 403)):
        c = http.client.HTTPConnection("127.0.0.1", pub, timeout=10)
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        c.close()
        assert r.status == want, (host, r.status, body[:200])
        if want == 200:
            assert 'id="act"' in body
    d.stop()


def test_a_page_sent_late_offers_only_what_is_left(env):
    """Links follow the incident as it is when a page goes out: a page
    that was retried until after the incident was resolved carries no
    links (and no link to acknowledge something resolved)."""
    hook = Webhook(env)
    sf = env.file("web.state", "0\n")
    d, pub = links_daemon(env,
        exec_check("web", sf) +
        'channel "hook" { type = webhook  url = "%s"\n'
        '  retry_min = 300ms  retry_max = 500ms  max_attempts = 100 }\n'
        'contact "alice" { channels = { "hook" } }\n'
        'escalation "ops" { step { notify = { "contact:alice" } } }\n'
        'route "all" { escalation = "ops" }\n' % hook.url())
    d.require_plugin("exec")
    hook.fail_with(503)                     # the receiver is down
    d.start()
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    wait_for(lambda: any(t["kind"] == "notify_failed" for t in
                         incident(d, inc["id"])["timeline"]), 10,
             "a failed attempt")
    st, _ = d.post("/api/v1/incidents/%d/resolve" % inc["id"], {"by": "x"})
    assert st == 200
    hook.fail_with(None)                    # back up: the retries go out
    pages = wait_for(lambda: len(pages_to(hook, "alice")) >= 2 and
                     pages_to(hook, "alice"), 15, "opened and resolved")
    assert [p["event"] for p in pages] == ["incident.opened",
                                           "incident.resolved"]
    assert all("actions" not in p for p in pages), pages
    d.stop()
