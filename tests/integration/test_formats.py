"""The shipped chat and paging formats (format = NAME, jq files in
formats/) and jq programs on a webhook channel: each vendor's request as
its documentation describes it (method, path, headers, required fields,
size limits), checked by a receiver on loopback; jq errors at the
channel's line under tocsind -t, and at send time as dead letters."""
import base64
import json
import re
import urllib.parse

import harness
from harness import wait_for
from fx_notify import Webhook, exec_check, incidents, notifications

# the route's text: long, and not ASCII, so every format has to cut it
LONG = "Zahlungsdienst gestört 🚨 " * 600


def formats_dir(env):
    return 'paging { formats_dir = "%s/formats" }\n' % env.srcdir


def vendor_channels(hook):
    u = hook.url
    return (
        'channel "teams" { type = webhook  format = teams  url = "%s" }\n'
        'channel "discord" { type = webhook  format = discord  url = "%s" }\n'
        'channel "tg" { type = webhook  format = telegram  url = "%s"\n'
        '  vars = { "chat_id=-1001234567890" } }\n'
        'channel "ntfy" { type = webhook  format = ntfy  url = "%s"\n'
        '  vars = { "topic=ops-pages" } }\n'
        'channel "matrix" { type = webhook  format = matrix  url = "%s"\n'
        '  headers = { "Authorization: Bearer syt_matrix" } }\n'
        'channel "og" { type = webhook  format = opsgenie  url = "%s"\n'
        '  headers = { "Authorization: GenieKey og-key" } }\n'
        'channel "gchat" { type = webhook  format = googlechat  url = "%s" }\n'
        'channel "mm" { type = webhook  format = mattermost  url = "%s" }\n'
        'channel "sms" { type = webhook  format = twilio  url = "%s"\n'
        '  vars = { "account_sid=AC0123", "auth_token=tw-token",'
        ' "from=+15550001111" } }\n'
        % (u("/teams/workflows/invoke"),
           u("/discord/api/webhooks/1/TOKEN"),
           u("/tg/bot123:ABC/sendMessage"), u("/ntfy"),
           u("/matrix/_matrix/client/v3/rooms/%21room%3Aexample.org/send/"
             "m.room.message"),
           u("/og/v2/alerts"),
           u("/gchat/v1/spaces/AAA/messages?key=k1&token=t1"),
           u("/mm/hooks/mmkey"),
           u("/tw/2010-04-01/Accounts/AC0123/Messages.json")))


NAMES = ("teams", "discord", "tg", "ntfy", "matrix", "og", "gchat", "mm",
         "sms")


def ctype(h):
    return h.get("content-type", "").split(";")[0].strip()


def check_teams(m, path, h, body):
    assert m == "POST" and ctype(h) == "application/json"
    b = json.loads(body)
    assert len(body.encode()) < 28 * 1024          # Teams' message limit
    assert b["type"] == "message"
    att = b["attachments"][0]
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = att["content"]
    assert card["type"] == "AdaptiveCard" and card["version"]
    assert card["body"] and all("type" in x for x in card["body"])
    return b


def check_discord(m, path, h, body):
    assert m == "POST" and ctype(h) == "application/json"
    b = json.loads(body)
    assert b.get("content") or b.get("embeds")
    assert len(b["content"].encode("utf-16-le")) // 2 <= 2000
    assert b["allowed_mentions"] == {"parse": []}
    assert len(b["embeds"]) <= 10
    total = 0
    for e in b["embeds"]:
        assert len(e.get("title", "")) <= 256
        assert len(e.get("description", "")) <= 4096
        assert len(e.get("fields", [])) <= 25
        total += len(e.get("title", "")) + len(e.get("description", ""))
        for f in e.get("fields", []):
            assert 0 < len(f["name"]) <= 256 and 0 < len(f["value"]) <= 1024
            total += len(f["name"]) + len(f["value"])
    assert total <= 6000
    return b


def check_tg(m, path, h, body):
    assert m == "POST" and path == "/tg/bot123:ABC/sendMessage"
    assert ctype(h) == "application/json"
    b = json.loads(body)
    assert b["chat_id"] == "-1001234567890"
    # 1-4096 characters; Telegram counts UTF-16 units
    assert 1 <= len(b["text"].encode("utf-16-le")) // 2 <= 4096
    return b


def check_ntfy(m, path, h, body):
    assert m == "POST" and path == "/ntfy"
    assert ctype(h) == "application/json"
    b = json.loads(body)
    assert b["topic"] == "ops-pages"
    assert len(b["message"].encode()) <= 4096
    assert b["priority"] in (1, 2, 3, 4, 5)
    assert len(b.get("actions", [])) <= 3
    return b


def check_matrix(m, path, h, body):
    pre = "/matrix/_matrix/client/v3/rooms/%21room%3Aexample.org/send/" \
          "m.room.message/"
    assert m == "PUT" and path.startswith(pre) and len(path) > len(pre)
    assert re.fullmatch(r"[A-Za-z0-9._~-]+", path[len(pre):])
    assert h["authorization"] == "Bearer syt_matrix"
    assert ctype(h) == "application/json"
    assert len(body.encode()) < 65536
    b = json.loads(body)
    assert b["msgtype"] == "m.text" and b["body"]
    assert b.get("format") in (None, "org.matrix.custom.html")
    return b


def check_og(m, path, h, body):
    assert m == "POST" and path.startswith("/og/v2/alerts")
    assert h["authorization"] == "GenieKey og-key"
    assert ctype(h) == "application/json"
    b = json.loads(body)
    if path == "/og/v2/alerts":
        assert 0 < len(b["message"]) <= 130
        assert 0 < len(b["alias"]) <= 512
        assert len(b.get("description", "")) <= 15000
        assert b["priority"] in ("P1", "P2", "P3", "P4", "P5")
    return b


def check_gchat(m, path, h, body):
    assert m == "POST"
    u = urllib.parse.urlsplit(path)
    q = urllib.parse.parse_qs(u.query)
    assert u.path == "/gchat/v1/spaces/AAA/messages"
    assert q["key"] == ["k1"] and q["token"] == ["t1"]
    assert q["messageReplyOption"] == [
        "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"]
    assert h["content-type"].lower() == "application/json; charset=utf-8"
    b = json.loads(body)
    assert 0 < len(b["text"]) <= 4096
    assert b["thread"]["threadKey"]
    return b


def check_mm(m, path, h, body):
    assert m == "POST" and path == "/mm/hooks/mmkey"
    assert ctype(h) == "application/json"
    b = json.loads(body)
    assert b.get("text") or b.get("attachments")
    n = len(b.get("text", "")) + sum(
        len(a.get("text", "")) + len(a.get("title", ""))
        for a in b.get("attachments", []))
    assert n <= 16383
    return b


def check_sms(m, path, h, body):
    assert m == "POST" and path == "/tw/2010-04-01/Accounts/AC0123/" \
        "Messages.json"
    assert ctype(h) == "application/x-www-form-urlencoded"
    assert h["authorization"] == "Basic " + base64.b64encode(
        b"AC0123:tw-token").decode()
    f = urllib.parse.parse_qs(body, strict_parsing=True)
    assert f["To"] == ["+15557654321"] and f["From"] == ["+15550001111"]
    assert 0 < len(f["Body"][0]) <= 1600
    return f


CHECK = {"teams": check_teams, "discord": check_discord, "tg": check_tg,
         "ntfy": check_ntfy, "matrix": check_matrix, "og": check_og,
         "gchat": check_gchat, "mm": check_mm, "sms": check_sms}
PREFIX = {"teams": "/teams", "discord": "/discord", "tg": "/tg",
          "ntfy": "/ntfy", "matrix": "/matrix", "og": "/og",
          "gchat": "/gchat", "mm": "/mm", "sms": "/tw"}


def test_every_shipped_format_sends_what_its_vendor_documents(env):
    hook = Webhook(env)
    sf = env.file("pay.state", "0\n")
    d = env.daemon(
        formats_dir(env) +
        exec_check("pay", sf, '  group = "payments"  impact = high\n'
                   '  urgency = high\n') +
        vendor_channels(hook) +
        'contact "alice" { phone = "+15557654321"\n'
        '  channels = { %s } }\n' % ", ".join('"%s"' % n for n in NAMES) +
        'escalation "ops" { step { notify = { "contact:alice" } } }\n'
        # the P1 wording for payments: long, so each format cuts it
        'route "pay" { match_group = "payments"  escalation = "ops"\n'
        '  text = "\\"P1 payments: \\" + .incident.title + \\" %s\\"" }\n'
        % LONG)
    d.require_plugin("exec")
    rc, out = d.check_config()
    assert rc == 0, d.last_stderr + out
    d.start()
    d.wait_check("pay", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    wait_for(lambda: all(hook.raw(PREFIX[n]) for n in NAMES), 15,
             "a page on every format")
    got = {}
    for n in NAMES:
        m, path, h, body = hook.raw(PREFIX[n])[0]
        got[n] = CHECK[n](m, path, h, body)
        assert h["idempotency-key"]
    # the route's wording reached them (cut to each one's limit)
    assert got["tg"]["text"].startswith("P1 payments: %s Zahlungsdienst"
                                        % inc["title"])
    assert got["discord"]["content"].endswith("…")
    assert got["og"]["alias"] == str(inc["id"])
    assert got["og"]["message"] == inc["title"]
    # opsgenie acknowledges and closes by alias; the others get a message
    st, _ = d.post("/api/v1/incidents/%d/ack" % inc["id"], {"by": "bob"})
    assert st == 200
    ack = "/og/v2/alerts/%d/acknowledge?identifierType=alias" % inc["id"]
    wait_for(lambda: [r for r in hook.raw("/og") if r[1] == ack], 10,
             "opsgenie acknowledge")
    m, path, h, body = [r for r in hook.raw("/og") if r[1] == ack][0]
    assert check_og(m, path, h, body)["user"] == "bob"
    harness.write_file(sf, "0\n")
    close = "/og/v2/alerts/%d/close?identifierType=alias" % inc["id"]
    wait_for(lambda: [r for r in hook.raw("/og") if r[1] == close], 20,
             "opsgenie close")
    for n in NAMES:
        wait_for(lambda: len(hook.raw(PREFIX[n])) >= 3, 10,
                 "%s: opened, acknowledged, resolved" % n)
        for m, path, h, body in hook.raw(PREFIX[n]):
            CHECK[n](m, path, h, body)
    # a retry of the same notification is the same Matrix transaction
    keys = [p for _, p, _, _ in hook.raw("/matrix")]
    assert len(set(keys)) == len(keys)
    d.stop()
    d.assert_no_sanitizer_report()


def test_jq_programs_errors_and_skips(env):
    hook = Webhook(env)
    sf = env.file("web.state", "0\n")
    d = env.daemon(
        formats_dir(env) +
        exec_check("web", sf) +
        'channel "obj" { type = webhook  url = "%s"\n'
        '  jq = "{msg: .text, who: .recipient.channel, n: $n}"'
        '  vars = { "n=7" } }\n'
        'channel "form" { type = webhook  url = "%s"\n'
        '  jq = "\\"t=\\" + (.incident.title|@uri)"\n'
        '  content_type = "application/x-www-form-urlencoded" }\n'
        'channel "boom" { type = webhook  url = "%s"\n'
        '  jq = "error(\\"no way\\")" }\n'
        'channel "huge" { type = webhook  url = "%s"\n'
        '  jq = "{big: (\\"x\\" * 2000000)}" }\n'
        'channel "quiet" { type = webhook  url = "%s"\n'
        '  jq = "select(.event == \\"incident.resolved\\")" }\n'
        'channel "badfmt" { type = webhook  url = "%s"\n'
        '  format = "%s" }\n'
        'escalation "ops" { step { notify = { "channel:obj", '
        '"channel:form", "channel:boom", "channel:huge", "channel:quiet", '
        '"channel:badfmt" } } }\n'
        'route "all" { escalation = "ops" }\n'
        % (hook.url("/obj"), hook.url("/form"), hook.url("/boom"),
           hook.url("/huge"), hook.url("/quiet"), hook.url("/badfmt"),
           env.file("bad.jq", '{body: 1, method: "DELETE"}\n')))
    d.require_plugin("exec")
    d.start()
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    harness.write_file(sf, "2\n")
    inc = wait_for(lambda: incidents(d, "open"), 15, "an incident")[0]
    wait_for(lambda: hook.raw("/obj") and hook.raw("/form"), 10, "pages")
    m, _, h, body = hook.raw("/obj")[0]
    assert json.loads(body) == {"msg": "[%s] incident #%d opened: %s" % (
        inc["priority"], inc["id"], inc["title"]), "who": "obj", "n": "7"}
    assert h["content-type"] == "application/json"
    _, _, h, body = hook.raw("/form")[0]
    assert body == "t=" + urllib.parse.quote(inc["title"], safe="")
    assert h["content-type"] == "application/x-www-form-urlencoded"

    def dead():
        return {n["channel"]: n for n in notifications(
            d, "?incident=%d&status=dead" % inc["id"])}
    dl = wait_for(lambda: len(dead()) == 3 and dead(), 10, "dead letters")
    assert dl["boom"]["attempts"] == 1
    assert "jq: no way" in dl["boom"]["last_error"]
    assert "over 1048576 bytes" in dl["huge"]["last_error"]
    assert "method is not POST, PUT or PATCH" in dl["badfmt"]["last_error"]
    tl = d.get("/api/v1/incidents/%d" % inc["id"])["timeline"]
    assert any("jq: no way" in t["text"] and t["kind"] == "notify_failed"
               for t in tl)
    # no output: nothing sent, recorded as sent (skipped)
    q = [n for n in notifications(d, "?incident=%d" % inc["id"])
         if n["channel"] == "quiet"]
    assert q and q[0]["status"] == "sent" and not hook.raw("/quiet")
    harness.write_file(sf, "0\n")
    wait_for(lambda: hook.raw("/quiet"), 20, "the resolved one")
    assert json.loads(hook.raw("/quiet")[0][3])["event"] == \
        "incident.resolved"
    d.stop()
    d.assert_no_sanitizer_report()


def test_jq_errors_point_at_the_channel_line(env):
    d = env.daemon(
        formats_dir(env) +
        'channel "a" { type = webhook  url = "http://127.0.0.1:9/"\n'
        '  jq = "{text: .x"  }\n'
        'channel "b" { type = webhook  url = "http://127.0.0.1:9/"\n'
        '  format = telegram }\n'
        'channel "c" { type = webhook  url = "http://127.0.0.1:9/"\n'
        '  format = nosuchformat }\n'
        'channel "d" { type = email  smtp = "smtp://127.0.0.1:1"\n'
        '  from = "a@b.c"  jq = "." }\n'
        'channel "e" { type = webhook  url = "http://127.0.0.1:9/"\n'
        '  jq = "."  vars = { "bad name=1" } }\n'
        'escalation "x" { step { notify = { "channel:a" } } }\n'
        'route "r" { escalation = "x"  text = ".incident | $undefined" }\n')
    rc, out = d.check_config()
    assert rc == 1
    f = d.conf
    for marker, text in (('{text: .x', 'syntax error'),
                         ('format = telegram', '$chat_id is not defined'),
                         ('format = nosuchformat', 'cannot read'),
                         ('jq = "." }', 'only a webhook channel'),
                         ('bad name=1', 'is not NAME=VALUE'),
                         ('$undefined', '$undefined is not defined')):
        want = "%s:%d: " % (f, d.line_of(marker))
        assert any(line.startswith(want) and text in line
                   for line in out.splitlines()), (marker, want, text, out)
