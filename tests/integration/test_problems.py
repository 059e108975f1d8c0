"""Problem records as the person paged sees them: one check fails three
times, tocsin opens one problem linking the three incidents; an operator
records the known error's workaround through the API; the fourth outage
links to the problem and its page carries the workaround.  Resolving the
problem and failing again reopens it.  A real webhook receiver gets the
pages; an exec check whose exit code the test controls drives tocsind."""
import json

import harness
from harness import wait_for
from fx_api import tocsinctl
from fx_notify import Smtp, Webhook, exec_check, incidents


def post(d, path, obj, token=True):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + d.token
    st, _, data = d.get_raw(path, method="POST",
                            body=json.dumps(obj).encode(), headers=headers)
    return st, json.loads(data) if data else None


def policy(hook, smtp):
    return ('channel "hook" { type = webhook  url = "%s"\n'
            '  retry_min = 200ms  retry_max = 800ms }\n'
            'channel "slack" { type = webhook  url = "%s"  format = slack\n'
            '  retry_min = 200ms  retry_max = 800ms }\n'
            'channel "mail" { type = email  smtp = "%s"\n'
            '  from = "tocsin@example.com"  starttls = never\n'
            '  retry_min = 200ms  retry_max = 1s }\n'
            'contact "alice" { email = "alice@example.com"\n'
            '  channels = { "hook", "slack", "mail" } }\n'
            'escalation "ops" { step { notify = { "contact:alice" } } }\n'
            'route "all" { escalation = "ops" }\n'
            % (hook.url(), hook.url("/slack"), smtp.url()))


def outage(d, sf, n):
    """The check fails and recovers: incident number n opens, resolves."""
    harness.write_file(sf, "2\n")
    wait_for(lambda: len(incidents(d)) == n and
             incidents(d)[0]["status"] == "open", 15, "incident %d" % n)
    harness.write_file(sf, "0\n")
    wait_for(lambda: incidents(d)[0]["status"] == "resolved", 15,
             "incident %d resolved" % n)
    return incidents(d)[0]


def opened_pages(hook):
    return [r[2] for r in hook.received("/hook")
            if r[2].get("event") == "incident.opened"]


def test_three_outages_make_a_problem_and_the_fourth_page_has_the_workaround(
        env):
    hook = Webhook(env)
    smtp = Smtp(env)
    sf = env.file("shop.state", "0\n")
    d = env.daemon(exec_check("shop-home", sf) +
                   'incidents { reopen_window = 0s  problem_after = 3\n'
                   '  problem_window = 7d }\n' + policy(hook, smtp))
    d.require_plugin("exec")
    d.start()
    d.wait_check("shop-home", "OK", pred=lambda c: c["last_check"])

    ids = []
    for n in (1, 2):
        ids.append(outage(d, sf, n)["id"])
    assert d.get("/api/v1/problems")["problems"] == []
    ids.append(outage(d, sf, 3)["id"])

    probs = d.get("/api/v1/problems")["problems"]
    assert len(probs) == 1, probs
    p = probs[0]
    assert p["title"] == "shop-home failed 3 times in 7 days", p
    assert p["status"] == "open" and p["root_cause"] == "shop-home"
    assert p["incidents"] == sorted(ids), (p, ids)
    assert d.get("/api/v1/problems/%d" % p["id"]) == p
    tl = d.get("/api/v1/incidents/%d" % ids[-1])["timeline"]
    assert any(e["kind"] == "problem" and "problem #%d" % p["id"] in
               e["text"] for e in tl), tl
    # the third page already names the (open) problem, without workaround
    wait_for(lambda: len(opened_pages(hook)) == 3, 15, "three pages")
    third = opened_pages(hook)[2]
    assert third["problem"]["id"] == p["id"], third["problem"]
    assert third["problem"]["workaround"] is None
    assert opened_pages(hook)[0]["problem"] is None

    # bad requests, then the known error and its workaround
    st, body = post(d, "/api/v1/problems/%d" % p["id"],
                    {"status": "fixed"})
    assert st == 400 and body["error"].startswith("status"), body
    st, _ = post(d, "/api/v1/problems/%d" % p["id"],
                 {"status": "known_error"}, token=False)
    assert st == 401
    st, body = post(d, "/api/v1/problems/999", {"status": "open"})
    assert st == 404, body
    wa = "restart php-fpm on web1 (systemctl restart php8.2-fpm)"
    st, body = post(d, "/api/v1/problems/%d" % p["id"], {
        "status": "known_error", "workaround": wa,
        "root_cause_analysis": "the session cache fills /tmp"})
    assert st == 200, body
    assert body["status"] == "known_error" and body["workaround"] == wa
    assert [x["id"] for x in d.get("/api/v1/problems?status=known_error")[
        "problems"]] == [p["id"]]
    assert d.get("/api/v1/problems?status=open")["problems"] == []

    fourth = outage(d, sf, 4)
    assert d.get("/api/v1/problems/%d" % p["id"])["incidents"] == \
        sorted(ids + [fourth["id"]])
    wait_for(lambda: len(opened_pages(hook)) == 4, 15, "the fourth page")
    page = opened_pages(hook)[3]
    assert page["incident"]["id"] == fourth["id"]
    assert page["problem"] == {"id": p["id"], "title": p["title"],
                               "status": "known_error",
                               "workaround": wa}, page["problem"]
    assert len(d.get("/api/v1/problems")["problems"]) == 1
    # the same in the e-mail and in Slack
    mail = wait_for(lambda: [m for m in smtp.messages()
                             if ("#%d " % fourth["id"]) in m[1]["Subject"]
                             and "opened" in m[1]["Subject"]], 15,
                    "the fourth e-mail")
    body = mail[0][1].get_content()
    assert "Known error #%d: %s (known_error)" % (p["id"], p["title"]) \
        in body and "Workaround: " + wa in body, body

    def slack4():
        return [r[2] for r in hook.received("/slack")
                if ("#%d opened" % fourth["id"]) in r[2].get("text", "")]
    s = wait_for(slack4, 15, "the fourth Slack message")[0]
    fields = s["attachments"][0]["fields"]
    assert any(f["title"] == "Problem" and wa in f["value"]
               for f in fields), fields

    # resolved: the fix is in; a recurrence reopens it
    st, body = post(d, "/api/v1/problems/%d" % p["id"],
                    {"status": "resolved"})
    assert st == 200 and body["resolved_at"], body
    outage(d, sf, 5)
    again = d.get("/api/v1/problems/%d" % p["id"])
    assert again["status"] == "open" and again["resolved_at"] is None
    assert len(again["incidents"]) == 5

    # the report counts incidents and time lost per problem
    rep = d.get("/api/v1/report?since=1h")["problems"]
    assert [(x["id"], x["incidents"]) for x in rep] == [(p["id"], 5)], rep
    assert rep[0]["lost_s"] > 0 and rep[0]["status"] == "open"

    # by hand, and through tocsinctl
    st, man = post(d, "/api/v1/problems", {
        "title": "slow checkout", "by": "bob", "incidents": [ids[0]]})
    assert st == 201 and man["incidents"] == [ids[0]], man
    assert man["created_by"] == "bob" and man["status"] == "open"
    st, body = post(d, "/api/v1/problems", {"title": "x",
                                            "incidents": [99999]})
    assert st == 400, body
    rc, out, err = tocsinctl(env, d, "problems")
    assert rc == 0 and "shop-home failed 3 times" in out and \
        "slow checkout" in out, (out, err)
    rc, out, err = tocsinctl(env, d, "report", "--since", "1h")
    assert rc == 0 and "TIME LOST" in out and \
        "#%d shop-home failed 3 times" % p["id"] in out, (out, err)
    rc, out, err = tocsinctl(env, d, "problem", str(p["id"]))
    assert rc == 0 and wa in out and "#%d" % ids[0] in out, (out, err)
    d.stop()
    d.assert_no_sanitizer_report()
