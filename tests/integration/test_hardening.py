"""Hardening (issue 14): what tocsind leaves readable, what it sends in
clear, what a plugin run leaves behind, and which requests it answers —
each driven through the config, the API and the files, as an attacker or
an operator would see it."""
import json
import os
import shutil
import stat
import sys
import time

import harness
from harness import wait_for
from fx_notify import Smtp, Webhook, exec_check, incidents, notifications

SECRET_CHANNEL = ('channel "mail" { type = email  smtp = "smtp://127.0.0.1:1"'
                  '\n  from = "tocsin@example.com"  username = "u"\n'
                  '  password = "hunter2" }\n')


def test_state_files_not_readable_by_others(env):
    """incidents.db, its WAL, the RRD files and the token are 0640 or
    tighter even when tocsind is started with umask 022, and an existing
    0755 state_dir (systemd's default) is closed to others."""
    old = os.umask(0o022)
    try:
        d = env.daemon('dummy "broken" { state = critical  max_attempts = 1'
                       '  interval = 1s }\n'
                       'exec "m" { command = { "/bin/echo", "OK | a=1" }'
                       '  interval = 1s }\n')
        d.require_plugin("dummy")
        os.makedirs(d.state_dir, 0o755)
        os.chmod(d.state_dir, 0o755)
        d.start()
    finally:
        os.umask(old)
    wait_for(lambda: d.get("/api/v1/incidents")["incidents"], 10,
             "an incident written")
    rrd = os.path.join(d.state_dir, "rrd", "m.rrd")
    wait_for(lambda: os.path.exists(rrd), 10, "an RRD file")
    assert stat.S_IMODE(os.stat(d.state_dir).st_mode) == 0o750
    seen = []
    for root, dirs, files in os.walk(d.state_dir):
        for f in dirs + files:
            p = os.path.join(root, f)
            mode = stat.S_IMODE(os.lstat(p).st_mode)
            seen.append((os.path.relpath(p, d.state_dir), oct(mode)))
            assert mode & 0o007 == 0, (p, oct(mode))
    names = [n for n, _ in seen]
    assert "incidents.db" in names and "rrd/m.rrd" in names, seen
    d.stop()


def test_secret_in_world_readable_config_warns(env):
    """Any secret-named key (password, *_password, *secret*, routing_key,
    headers, a community other than the default) of any section or check
    type, in a file others can read: a FILE:LINE warning each."""
    d = env.daemon(SECRET_CHANNEL +
                   'http "web" { url = "http://127.0.0.1:1/"  '
                   'username = "u"\n  password = "opensesame" }\n'
                   'snmp "sw" { address = "127.0.0.1"\n'
                   '  oids = { "up=sysUpTime.0" } }\n'
                   'snmp "v3" { address = "127.0.0.1"  version = "3"\n'
                   '  username = "u"  auth_password = "authpass1"\n'
                   '  oids = { "up=sysUpTime.0" } }\n')
    d.require_plugin("http")
    d.require_plugin("snmp")
    line = d.line_of('password = "hunter2"')
    line2 = d.line_of('password = "opensesame"')
    os.chmod(d.conf, 0o644)
    rc, out = d.check_config()
    assert rc == 0 and "config OK" in out, (rc, out, d.last_stderr)
    for n in (line, line2):
        want = ("%s:%d: password: this file is readable by every local "
                "user (mode 0644)" % (d.conf, n))
        assert want in d.last_stderr, d.last_stderr
    want = ("%s:%d: auth_password: this file is readable" %
            (d.conf, d.line_of('auth_password = "authpass1"')))
    assert want in d.last_stderr, d.last_stderr
    # the default community "public" is no secret
    assert "community" not in d.last_stderr, d.last_stderr
    assert "hunter2" not in d.last_stderr + out
    assert "opensesame" not in d.last_stderr + out
    assert "authpass1" not in d.last_stderr + out
    os.chmod(d.conf, 0o640)
    rc, out = d.check_config()
    assert rc == 0 and "readable by every" not in d.last_stderr, \
        d.last_stderr


def test_smtp_password_requires_starttls(env):
    """A channel with a password and no starttls key refuses a server that
    offers no STARTTLS (aiosmtpd here) instead of mailing in clear."""
    smtp = Smtp(env)
    state = env.file("s.state", "2\n")
    d = env.daemon(
        exec_check("down", state) +
        'channel "mail" { type = email  smtp = "%s"\n'
        '  from = "tocsin@example.com"  username = "u"  password = "p"\n'
        '  retry_min = 200ms  retry_max = 500ms  max_attempts = 100 }\n'
        'contact "alice" { email = "alice@example.com"'
        '  channels = { "mail" } }\n'
        'escalation "ops" { step { notify = { "contact:alice" } } }\n'
        'route "all" { escalation = "ops" }\n' % smtp.url())
    d.require_plugin("exec")
    os.chmod(d.conf, 0o600)
    d.start()
    wait_for(lambda: incidents(d, "open"), 20, "an incident")
    n = wait_for(lambda: [x for x in notifications(d)
                          if x["channel"] == "mail" and x["attempts"] >= 2],
                 20, "two failed mail attempts")
    assert n[0]["status"] == "pending" and n[0]["last_error"], n
    assert smtp.messages() == [], smtp.messages()
    d.stop()


def test_setsid_leftovers_of_a_run_are_killed(env):
    """A plugin that starts a child in its own session (setsid) escapes
    the kill of the run's process group; tocsind, a child subreaper,
    inherits it when the plugin exits and kills it."""
    marker = harness.unique_marker("300")
    d = env.daemon(
        'exec "forker" { command = { "/bin/sh", "-c", '
        '"setsid /bin/sleep %s </dev/null >/dev/null 2>&1 & echo OK" }\n'
        '  interval = 1s }\n' % marker)
    d.require_plugin("exec")
    try:
        d.start()
        wait_for(lambda: d.log().count("check forker: started /bin/sh")
                 >= 6, 20, "six runs")
        # each run left one sleep: at most the last few (2 s grace) live
        wait_for(lambda: len(harness.pids_matching(marker)) <= 3, 10,
                 "leftovers killed")
        assert "left behind by a plugin run" in d.log()
        d.stop()
        assert len(harness.pids_matching(marker)) <= 3
    finally:
        harness.kill_pids(harness.pids_matching(marker))


def with_daemon_keys(d, keys):
    """d's daemon { } section with keys added (and log_level info)."""
    orig = d.header

    def header():
        d.header_text = orig().replace(
            '  log_level = "debug"\n', '  log_level = "info"\n' + keys)
        return d.header_text
    d.header = header
    d.write_config(d.config_text[len(d.header_text):])


def test_many_waiting_checks_start_without_recursion(env):
    """20 000 checks of a type capped at one run at a time queue behind
    a slow one; when it ends, each waiter starts and finishes at once.
    That used to recurse once per waiter (run_end -> start -> finish ->
    run_end) until the stack overflowed; now the queue is a loop."""
    n = 20000
    d = env.daemon('dummy "slow" { delay = 2s  interval = 1s  timeout = 5s }'
                   '\n' + "".join('dummy "c%d" { interval = 1s }\n' % i
                                  for i in range(n)))
    d.require_plugin("dummy")
    with_daemon_keys(d, '  concurrency = { "dummy=1" }\n')
    d.start(timeout=60)
    # the slow run ends twice: the whole queue was started behind it
    wait_for(lambda: d.check("slow")["last_check"] and
             all(d.check(x)["last_check"] for x in ("c0", "c%d" % (n - 1))),
             60, "every check ran")
    t = d.check("slow")["last_check"]
    wait_for(lambda: d.check("slow")["last_check"] != t, 30,
             "slow ran again")
    assert d.alive()
    d.stop(timeout=60)


def test_root_refuses_plugins_others_could_write(env):
    """Started as root, tocsind loads plugins before it drops to its
    user: a plugin_dir or plugin that another user owns or may write is
    refused, with the path and what to do."""
    if os.geteuid() != 0:
        raise harness.Skip("needs root")
    d = env.daemon('dummy "a" { }\n')
    d.require_plugin("dummy")
    rc, out = d.check_config()
    assert rc == 0, out
    os.chmod(d.plugin_dir, 0o777)
    rc, out = d.check_config()
    assert rc == 1 and ("%s: plugin_dir writable by every user (mode 0777)"
                        % d.plugin_dir) in out, out
    os.chmod(d.plugin_dir, 0o775)
    rc, out = d.check_config()
    assert rc == 1 and "writable by its group" in out, out
    os.chmod(d.plugin_dir, 0o755)
    # a plugin file (the one a symbolic link names) writable by others
    so = os.path.join(d.plugin_dir, "dummy.so")
    real = os.path.join(env.tmpdir, "dummy-copy.so")
    shutil.copy(os.path.realpath(so), real)
    os.unlink(so)
    os.symlink(real, so)
    os.chmod(real, 0o666)
    rc, out = d.check_config()
    assert rc == 1 and ("%s: plugin writable by every user" % so) in out, out
    os.chmod(real, 0o755)
    os.chown(real, 65534, 0)
    rc, out = d.check_config()
    assert rc == 1 and "plugin owned by uid 65534, not root" in out, out
    os.chown(real, 0, 0)
    rc, out = d.check_config()
    assert rc == 0, out


FUSE_HANG = r'''
import ctypes, os, sys
# a FUSE mount nobody answers, in this private mount namespace only:
# statvfs() on it waits for ever; the fd goes to tocsind, which never
# reads it (the mount and the hang end with tocsind)
mnt = sys.argv[1]
os.makedirs(mnt, exist_ok=True)
fd = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
opts = ("fd=%d,rootmode=40000,user_id=0,group_id=0" % fd).encode()
if libc.mount(b"hang", mnt.encode(), b"fuse.hang", 0, opts) != 0:
    sys.exit("mount: %s" % os.strerror(ctypes.get_errno()))
os.set_inheritable(fd, True)
os.execv(sys.argv[2], sys.argv[2:])
'''


def test_hung_fuse_mount_does_not_block_the_loop(env):
    """A FUSE mount whose process never answers, seen by tocsind (its own
    mount namespace): the system check's automatic disk choice must not
    statvfs() it, or the whole loop hangs."""
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        raise harness.Skip("needs root and /dev/fuse")
    helper = env.file("fuse_hang.py", FUSE_HANG)
    mnt = os.path.join(env.tmpdir, "hung")
    d = env.daemon('system "sys" { interval = 1s  measure = { "disk" } }\n')
    d.require_plugin("system")
    d.wrapper = lambda: ["unshare", "-m", "--propagation", "private",
                         sys.executable, helper, mnt]
    d.start(timeout=20)
    t = wait_for(lambda: d.check("sys")["last_check"], 10, "a first run")
    wait_for(lambda: d.check("sys")["last_check"] > t, 10, "a second run")
    with open("/proc/%d/mounts" % d.proc.pid) as f:
        assert " fuse.hang " in f.read()
    names = [m["name"] for m in d.check("sys").get("metrics", [])]
    assert not [n for n in names if "hung" in n], names
    d.kill()


def test_only_known_host_names_are_served(env):
    """DNS rebinding: a page whose name now resolves to 127.0.0.1 makes a
    browser send "Host: evil.example" to the loopback API.  Only IP
    literals, localhost and api { allowed_hosts } are served."""
    d = env.daemon('dummy "a" { }\n')
    d.require_plugin("dummy")
    # allowed_hosts goes into the api { } section the harness writes
    orig = d.header

    def header():
        d.header_text = orig().replace(
            'api { listen', 'api { allowed_hosts = { "monitor.example.com" }'
            '  listen')
        return d.header_text
    d.header = header
    d.write_config(d.config_text[len(d.header_text):])
    d.start()
    p = d.port
    for host in ("evil.example", "evil.example:%d" % p, "localhost.evil",
                 "127.0.0.1.evil.example", "monitor.example.com.evil"):
        st, h, body = d.get_raw("/api/v1/checks", headers={"Host": host})
        assert st == 403, (host, st, body)
        assert h["content-type"] == "application/json"
        assert "is not a name of this API" in json.loads(body)["error"]
    for host in ("127.0.0.1:%d" % p, "localhost:%d" % p, "LOCALHOST",
                 "localhost.", "app.localhost:%d" % p, "[::1]:%d" % p,
                 "10.1.2.3", "monitor.example.com",
                 "Monitor.Example.Com:%d" % p):
        st, _, body = d.get_raw("/api/v1/checks", headers={"Host": host})
        assert st == 200, (host, st, body)
    # a name that is not a host name is a config error at its line
    d.stop()
    bad = d.config_text.replace('"monitor.example.com"',
                                '"http://x.example:80"')
    harness.write_file(d.conf, bad)
    rc, out = d.check_config()
    assert rc == 1 and "allowed_hosts" in out and "is not a host name" in \
        out, out


def test_unknown_methods_are_json_405(env):
    """PUT and PATCH were evhttp's 501 with an HTML body; every method a
    route does not have is a JSON 405 with Allow, like the rest."""
    d = env.daemon('dummy "a" { }\n')
    d.require_plugin("dummy")
    d.start()
    for m in ("PUT", "PATCH", "OPTIONS", "TRACE"):
        st, h, body = d.get_raw("/api/v1/checks", method=m, body=b"{}",
                                token=True)
        assert st == 405, (m, st, body)
        assert h["content-type"] == "application/json", (m, h)
        assert "not allowed" in json.loads(body)["error"], body
        assert "GET" in h["allow"], h
    st, h, body = d.get_raw("/api/v1/nosuch", method="PUT", body=b"{}")
    assert st == 404 and h["content-type"] == "application/json", (st, h)


def test_graph_with_a_time_before_1980_is_400(env):
    """graph?since=100000000 (1973) was a 500 from librrd; the request is
    what is wrong: a 400 that says why."""
    d = env.daemon('exec "m" { command = { "/bin/echo", "OK | a=1" }'
                   '  interval = 1s }\n')
    d.require_plugin("exec")
    d.start()
    d.wait_check("m", "OK", pred=lambda c: c["last_check"])
    url = "/api/v1/graph/m/a.png"
    wait_for(lambda: d.get_raw(url)[0] == 200, 10, "a graph")
    for q, word in (("since=100000000", "since"), ("since=100y", "since"),
                    ("since=1d&until=200000000", "until"),
                    ("until=99999999999", "until")):
        st, h, body = d.get_raw(url + "?" + q)
        assert st == 400, (q, st, body)
        assert h["content-type"] == "application/json"
        assert json.loads(body)["error"].startswith(word + ":"), (q, body)
    d.stop()


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def test_clock_step_neither_pages_early_nor_never(env):
    """The wall clock steps 2 h ahead (a VM resumed, NTP's first sync)
    while an incident is open: the escalation step due after 1 h must not
    fire at once.  libfaketime moves CLOCK_REALTIME only; the monotonic
    clock goes on as it does in such a step."""
    if not os.path.exists(FAKETIME):
        raise harness.Skip("faketime (libfaketime) not installed")
    hook = Webhook(env)
    state = env.file("s.state", "0\n")
    state2 = env.file("s2.state", "0\n")
    clock = env.file("clock", "+0\n")
    d = env.daemon(
        exec_check("down", state) + exec_check("later", state2) +
        'channel "hook" { type = webhook  url = "%s"  retry_min = 200ms }\n'
        'contact "alice" { channels = { "hook" } }\n'
        'contact "bob" { channels = { "hook" } }\n'
        'escalation "ops" {\n'
        '  step { after = 0s  notify = { "contact:alice" } }\n'
        '  step { after = 1h  notify = { "contact:bob" } }\n'
        '}\n'
        'route "all" { escalation = "ops" }\n' % hook.url())
    d.require_plugin("exec")
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
    d.wait_check("down", "OK", pred=lambda c: c["last_check"])
    harness.write_file(state, "2\n")

    def paged(who):
        return [b for _, _, b, _ in hook.received()
                if b.get("recipient", {}).get("contact") == who]
    wait_for(lambda: paged("alice"), 20, "alice paged")
    harness.write_file(clock, "+2h\n")      # the wall clock jumps
    # another incident: the escalation timer is armed again, now
    harness.write_file(state2, "2\n")
    wait_for(lambda: len(paged("alice")) >= 2, 20, "alice paged again")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:      # bob's step is 1 h away
        assert not paged("bob"), paged("bob")
        time.sleep(0.2)
    d.stop()


def test_snooze_after_a_clock_step_pages_on_time(env):
    """Escalation due times are on the steady clock; a snooze taken after
    the wall clock stepped 2 h ahead must still end after its 3 s, not
    2 h later."""
    if not os.path.exists(FAKETIME):
        raise harness.Skip("faketime (libfaketime) not installed")
    from test_links import fetch, links_daemon, pages_to
    hook = Webhook(env)
    sf = env.file("web.state", "0\n")
    clock = env.file("clock", "+0\n")
    d, pub = links_daemon(env,
        exec_check("web", sf) +
        'channel "hook" { type = webhook  url = "%s" }\n'
        'contact "alice" { channels = { "hook" } }\n'
        'escalation "ops" { step { notify = { "contact:alice" } } }\n'
        'route "all" { escalation = "ops" }\n' % hook.url(), snooze="3s")
    d.require_plugin("exec")
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
    d.wait_check("web", "OK", pred=lambda c: c["last_check"])
    harness.write_file(clock, "+2h\n")      # the wall clock jumps
    harness.write_file(sf, "2\n")
    page = wait_for(lambda: pages_to(hook, "alice"), 20, "a page")[0]
    st, _, html = fetch(page["actions"]["snooze"], "POST", body="")
    assert st == 200 and "Snoozed for 3s" in html, (st, html[:300])
    wait_for(lambda: [p for p in pages_to(hook, "alice")
                      if p["event"] == "incident.unacknowledged"],
             15, "the page after the 3 s snooze")
    d.stop()
