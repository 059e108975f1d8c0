"""Privileges: tocsind started as root becomes daemon { user } (without
one: tocsin, else nobody) with only CAP_NET_RAW, owns its state, and stays
root only when allowed or when that account cannot reach the state."""
import os
import pwd
import re
import shutil
import signal
import stat

import harness
from fx_system import CAP_NET_RAW, PrivDaemon, SystemUser, proc_status

# a failure that opens an incident (state is written), and a child that
# shows which capabilities exec'd plugins inherit
CHECKS = ('dummy "broken" { state = critical  max_attempts = 1 '
          ' interval = 1s }\n'
          'exec "caps" {\n'
          '  command = { "/bin/sh", "-c", '
          '"grep -E \'^Cap(Eff|Amb)\' /proc/self/status | tr \'\\\\n\' \' \'" }\n'
          '  interval = 1s\n'
          '}\n')


def test_root_drops_to_user(env):
    user = SystemUser()
    os.chmod(env.tmpdir, 0o755)     # the user must reach its state_dir
    d = PrivDaemon(env, CHECKS, '  user = "%s"\n' % user.name)
    d.require_plugin("dummy")
    # state left by an earlier run as root is handed over too
    old = os.path.join(d.state_dir, "rrd", "old.rrd")
    harness.write_file(old, "x")
    d.start()
    st = proc_status(d.proc.pid)
    assert st["Uid"].split() == [str(user.uid)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(user.gid)] * 4, st["Gid"]
    assert st["Groups"].split() in ([], [str(user.gid)]), st["Groups"]
    for k in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert int(st[k], 16) == CAP_NET_RAW, (k, st[k])
    assert int(st["CapInh"], 16) == CAP_NET_RAW, st["CapInh"]
    assert "running as user %s" % user.name in d.log()

    # it works as that user: an incident is written, the token exists
    d.wait_check("broken", "CRITICAL", "hard", timeout=10)
    harness.wait_for(lambda: d.get("/api/v1/incidents")["incidents"], 10,
                     "an incident for the broken check")
    for f in ("", "incidents.db", "api.token", "rrd", "rrd/old.rrd"):
        s = os.stat(os.path.join(d.state_dir, f))
        assert (s.st_uid, s.st_gid) == (user.uid, user.gid), (f, s)
    # what exec'd plugins get: CAP_NET_RAW, for check_icmp and fping
    c = d.wait_check("caps", "OK", timeout=10,
                     pred=lambda c: "CapEff" in c["summary"])
    for k in ("CapEff", "CapAmb"):
        assert re.search(k + r":\s*0000000000002000\b", c["summary"]), \
            c["summary"]
    # a reload still reads the config, as the user
    log = d.reload(CHECKS + 'dummy "added" { interval = 1s }\n')
    assert "reloaded" in log, log
    d.wait_check("added", "OK", timeout=10, pred=lambda c: c["last_check"])
    d.stop()


def default_user():
    """The account tocsind picks as root without daemon { user }."""
    try:
        return pwd.getpwnam("tocsin")
    except KeyError:
        return pwd.getpwnam("nobody")


def test_root_without_user_drops_to_tocsin_or_nobody(env):
    if os.geteuid() != 0:
        raise harness.Skip("needs root")
    pw = default_user()
    os.chmod(env.tmpdir, 0o755)     # the account must reach its state_dir
    d = PrivDaemon(env, CHECKS, "")
    d.require_plugin("dummy")
    d.start()
    st = proc_status(d.proc.pid)
    assert st["Uid"].split() == [str(pw.pw_uid)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(pw.pw_gid)] * 4, st["Gid"]
    for k in ("CapEff", "CapPrm", "CapBnd"):
        assert int(st[k], 16) == CAP_NET_RAW, (k, st[k])
    log = d.log()
    assert "without daemon { user }: becoming %s" % pw.pw_name in log, log
    assert "running as user %s" % pw.pw_name in log, log
    assert "refusing" not in log and "error:" not in log, log
    # it works as that account, which owns the state
    d.wait_check("broken", "CRITICAL", "hard", timeout=10)
    harness.wait_for(lambda: d.get("/api/v1/incidents")["incidents"], 10,
                     "an incident for the broken check")
    for f in ("", "incidents.db", "api.token"):
        s = os.stat(os.path.join(d.state_dir, f))
        assert (s.st_uid, s.st_gid) == (pw.pw_uid, pw.pw_gid), (f, s)
    log = d.reload(CHECKS + 'dummy "added" { }\n')
    assert "reloaded" in log, log
    d.stop()


def test_root_without_user_stays_root_when_the_state_is_out_of_reach(env):
    """A build in /root (0700) started as root: the first run works, and
    the log says which directory keeps the account out."""
    if os.geteuid() != 0:
        raise harness.Skip("needs root")
    pw = default_user()
    os.chmod(env.tmpdir, 0o700)
    d = PrivDaemon(env, 'dummy "x" { }\n', "")
    d.start()
    assert proc_status(d.proc.pid)["Uid"].split()[1] == "0"
    log = d.log()
    want = ("warning: running as root: state_dir %s: Permission denied "
            "for user %s: %s (drwx------ root:root) is in the way"
            % (d.state_dir, pw.pw_name, env.tmpdir))
    assert want in log, log
    d.stop()


def test_made_parents_of_state_dir_are_traversable(env):
    """The parents tocsind makes are 0755 whatever the umask, so the user
    gets through them; state_dir itself is 0750 and the user's."""
    user = SystemUser()
    os.chmod(env.tmpdir, 0o755)
    d = PrivDaemon(env, 'dummy "x" { }\n', '  user = "%s"\n' % user.name)
    d.state_dir = os.path.join(env.tmpdir, "var", "lib", "tocsin")
    d.token_file = os.path.join(d.state_dir, "api.token")
    d.write_config('dummy "x" { }\n')
    old = os.umask(0o077)
    try:
        d.start()
    finally:
        os.umask(old)
    for sub in ("var", "var/lib"):
        s = os.stat(os.path.join(env.tmpdir, sub))
        assert stat.S_IMODE(s.st_mode) == 0o755, (sub, oct(s.st_mode))
    s = os.stat(d.state_dir)
    assert stat.S_IMODE(s.st_mode) == 0o750, oct(s.st_mode)
    assert s.st_uid == user.uid, s
    assert "running as user %s" % user.name in d.log()
    d.stop()


def test_no_user_at_all_is_an_error_that_says_how_to_make_one(env):
    """root, no user set, allow_root = false: the same as before, but if
    neither tocsin nor nobody exists the error says how to make one —
    shown here with an explicit unknown user at start-up (the -t message
    is in test_unknown_user_is_a_file_line_error)."""
    if os.geteuid() != 0:
        raise harness.Skip("needs root")
    d = PrivDaemon(env, 'dummy "x" { }\n', '  user = "no-such-user-tocsin"\n')
    rc, out = d.check_config()
    assert rc == 1, out
    assert ("useradd --system --home-dir %s --no-create-home --shell "
            "/usr/sbin/nologin no-such-user-tocsin" % d.state_dir) in out, out


def test_allow_root_keeps_root(env):
    if os.geteuid() != 0:
        raise harness.Skip("needs root")
    d = PrivDaemon(env, 'dummy "x" { }\n', "  allow_root = true\n")
    d.start()
    assert proc_status(d.proc.pid)["Uid"].split()[1] == "0"
    assert "running as root" in d.log()
    d.signal(signal.SIGHUP)
    d.stop()


def test_unknown_user_is_a_file_line_error(env):
    d = PrivDaemon(env, 'dummy "x" { }\n',
                   '  user = "no-such-user-tocsin"\n')
    want = '%s:%d: daemon: user: no such user "no-such-user-tocsin"' % (
        d.conf, d.line_of("no-such-user-tocsin"))
    rc, out = d.check_config()      # -t finds it, without being root
    assert rc == 1 and want in out, out
    try:
        d.start(timeout=10)
    except harness.DaemonExited as e:
        assert e.returncode == 1, e
        assert want in e.log, e.log
    else:
        raise AssertionError("tocsind started as an unknown user")


def test_unprivileged_with_ambient_capability(env):
    """As the systemd unit starts it: User=, AmbientCapabilities=CAP_NET_RAW,
    CapabilityBoundingSet=CAP_NET_RAW (setpriv does the same here)."""
    if shutil.which("setpriv") is None:
        raise harness.Skip("no setpriv (util-linux)")
    user = SystemUser()
    os.chmod(env.tmpdir, 0o755)
    d = PrivDaemon(env, CHECKS, '  user = "%s"\n' % user.name)
    d.require_plugin("dummy")
    os.makedirs(d.state_dir)
    os.chown(d.state_dir, user.uid, user.gid)   # StateDirectory= does it
    wrapper = env.file("as-unit.sh",
                       '#!/bin/sh\nexec setpriv --reuid=%d --regid=%d '
                       '--init-groups --inh-caps=-all,+net_raw '
                       '--ambient-caps=-all,+net_raw '
                       '--bounding-set=-all,+net_raw %s "$@"\n'
                       % (user.uid, user.gid, d.binary), mode=0o755)
    d.binary = wrapper
    d.start()
    st = proc_status(d.proc.pid)
    assert st["Uid"].split() == [str(user.uid)] * 4, st["Uid"]
    assert int(st["CapEff"], 16) == CAP_NET_RAW, st["CapEff"]
    d.wait_check("broken", "CRITICAL", "hard", timeout=10)
    assert os.stat(os.path.join(d.state_dir, "incidents.db")).st_uid == \
        user.uid
    c = d.wait_check("caps", "OK", timeout=10,
                     pred=lambda c: "CapAmb" in c["summary"])
    assert re.search(r"CapAmb:\s*0000000000002000\b", c["summary"]), c
    assert "ignored" not in d.log(), d.log()    # user = the current one
    d.stop()


def test_state_dir_closed_to_the_user_is_a_clear_error(env):
    user = SystemUser()
    os.chmod(env.tmpdir, 0o700)     # root's: the user cannot get in
    d = PrivDaemon(env, 'dummy "x" { }\n', '  user = "%s"\n' % user.name)
    try:
        d.start(timeout=10)
    except harness.DaemonExited as e:
        assert e.returncode == 1, e
        # an error, naming the directory in the way
        assert ("error: state_dir %s: Permission denied for user %s: %s "
                "(drwx------ root:root) is in the way" % (
                    d.state_dir, user.name, env.tmpdir)) in e.log, e.log
        assert not os.path.exists(os.path.join(d.state_dir, "incidents.db"))
    else:
        raise AssertionError("tocsind started without access to its "
                             "state_dir:\n" + d.log())


def test_without_net_raw_in_the_bounding_set(env):
    """A container that took CAP_NET_RAW away: the drop still works."""
    if shutil.which("setpriv") is None:
        raise harness.Skip("no setpriv (util-linux)")
    user = SystemUser()
    os.chmod(env.tmpdir, 0o755)
    d = PrivDaemon(env, 'dummy "x" { }\n', '  user = "%s"\n' % user.name)
    d.binary = env.file("no-raw.sh", '#!/bin/sh\nexec setpriv '
                        '--bounding-set=-net_raw %s "$@"\n' % d.binary,
                        mode=0o755)
    d.start()
    st = proc_status(d.proc.pid)
    assert st["Uid"].split()[0] == str(user.uid), st["Uid"]
    for k in ("CapEff", "CapPrm", "CapAmb", "CapBnd"):
        assert int(st[k], 16) == 0, (k, st[k])
    assert "capabilities: none" in d.log(), d.log()
    d.stop()
