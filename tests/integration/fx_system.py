"""
fx_system.py — helpers of the privilege tests: a tocsind whose daemon { }
section the test writes, and a throw-away system user.
"""
import os
import pwd
import shutil
import subprocess
import time

import harness


class PrivDaemon(harness.Daemon):
    """A Daemon whose daemon { } section holds daemon_keys, not allow_root."""

    def __init__(self, env, config_text, daemon_keys):
        self.daemon_keys = daemon_keys
        super().__init__(env.tmpdir, config_text, env.builddir)

    def header(self):
        self.header_text = ('daemon {\n'
                            '  state_dir = "%s"\n'
                            '  plugin_dir = "%s"\n'
                            '  log_level = "debug"\n'
                            '%s'
                            '}\n'
                            'api { listen = "127.0.0.1:%d" }\n'
                            % (self.state_dir, self.plugin_dir,
                               self.daemon_keys, self.port))
        return self.header_text


class SystemUser:
    """A system user made by useradd for one test, removed by cleanup()."""

    def __init__(self):
        if os.geteuid() != 0:
            raise harness.Skip("needs root (to start tocsind as root)")
        if shutil.which("useradd") is None:
            raise harness.Skip("no useradd")
        # unique per test process: other helpers run tests at once
        self.name = "tocsint%d" % (os.getpid() % 1000000)
        subprocess.run(["userdel", self.name], capture_output=True,
                       timeout=30)
        for attempt in range(5):    # /etc/passwd may be locked a moment
            r = subprocess.run(["useradd", "--system", "--no-create-home",
                                "--shell", "/usr/sbin/nologin", "--home-dir",
                                "/nonexistent", self.name],
                               capture_output=True, text=True, timeout=30)
            if r.returncode == 0:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("useradd %s: %s" % (self.name, r.stderr))
        harness.register(self)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def cleanup(self):
        subprocess.run(["userdel", self.name], capture_output=True,
                       timeout=30)


def proc_status(pid):
    """/proc/PID/status as a dict of its fields."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


CAP_NET_RAW = 1 << 13
