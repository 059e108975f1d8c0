"""The system check type: the machine's own load, CPU, memory, disks and
network, compared with what /proc and statvfs say when read here."""
import os
import re
import subprocess

import harness
from harness import wait_for


def metrics(c):
    return {m["name"]: m for m in c["metrics"]}


def start_system(env, body, name="sys"):
    d = env.daemon('system "%s" {\n%s}\n' % (name, body))
    d.require_plugin("system")
    d.start()
    return d


def wait_metric(d, check, metric, timeout=10):
    """The check once a run has reported metric."""
    return d.wait_check(check, timeout=timeout,
                        pred=lambda c: metric in metrics(c))


def proc_meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0]) * 1024
    return out


def test_values_match_proc(env):
    d = start_system(env, '  interval = 1s\n  mounts = { "/" }\n'
                     '  interfaces = { "lo" }\n')
    c = wait_metric(d, "sys", "cpu_used_pct")
    m = metrics(c)
    assert c["state"] == "OK", c

    # load: /proc/loadavg moves slowly; load15 barely at all
    with open("/proc/loadavg") as f:
        l1, l5, l15 = (float(x) for x in f.read().split()[:3])
    assert abs(m["load15"]["value"] - l15) < 1.0, (m["load15"], l15)
    assert abs(m["load5"]["value"] - l5) < 2.0, (m["load5"], l5)
    assert m["load1"]["value"] >= 0

    # CPU: shares of one interval, adding up to at most 100 %
    parts = [m["cpu_%s_pct" % k]["value"]
             for k in ("user", "system", "iowait", "idle")]
    assert all(0 <= p <= 100 for p in parts), parts
    assert 90 <= sum(parts) <= 100.01, parts   # the rest is steal
    used = m["cpu_used_pct"]["value"]
    assert abs(used - (100 - m["cpu_idle_pct"]["value"] -
                       m["cpu_iowait_pct"]["value"])) < 0.01, m

    # memory and swap, as free(1) computes them
    mi = proc_meminfo()
    want = 100.0 * (mi["MemTotal"] - mi["MemAvailable"]) / mi["MemTotal"]
    assert abs(m["mem_used_pct"]["value"] - want) < 5, (m["mem_used_pct"],
                                                        want)
    assert m["mem_available"]["unit"] == "B"
    assert m["mem_available"]["max"] == mi["MemTotal"]
    if mi["SwapTotal"] == 0:
        assert m["swap_used_pct"]["value"] == 0, m["swap_used_pct"]
    else:
        want = 100.0 * (mi["SwapTotal"] - mi["SwapFree"]) / mi["SwapTotal"]
        assert abs(m["swap_used_pct"]["value"] - want) < 5

    # the root disk, with df's formula; other helpers fill the disk too
    st = os.statvfs("/")
    used_b = st.f_blocks - st.f_bfree
    want = 100.0 * used_b / (used_b + st.f_bavail)
    assert abs(m["disk_root_used_pct"]["value"] - want) < 2, (
        m["disk_root_used_pct"], want)
    free = st.f_bavail * st.f_frsize
    assert abs(m["disk_root_free"]["value"] - free) < max(free * 0.05,
                                                          2 << 30)
    assert m["disk_root_used_pct"]["warn"] is not None   # default 90
    if st.f_files:
        want = 100.0 * (st.f_files - st.f_ffree) / st.f_files
        assert abs(m["disk_root_inodes_pct"]["value"] - want) < 2

    # gauges are not counters; interface counters are
    assert not m["disk_root_used_pct"].get("counter"), m
    for k in ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets",
              "rx_errors", "tx_errors"):
        assert m["net_lo_" + k].get("counter") is True, m["net_lo_" + k]
    d.stop()


def test_counters_increase(env):
    d = start_system(env, '  interval = 500ms\n  measure = { "net" }\n'
                     '  interfaces = { "lo" }\n')
    c = wait_metric(d, "sys", "net_lo_rx_bytes")
    first = metrics(c)
    assert set(first) == {"net_lo_" + k for k in (
        "rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors",
        "tx_errors")}, sorted(first)
    # our own API requests go over lo: the counters must grow
    c = d.wait_check("sys", timeout=10, pred=lambda c: metrics(c)[
        "net_lo_rx_bytes"]["value"] > first["net_lo_rx_bytes"]["value"]
        and metrics(c)["net_lo_tx_packets"]["value"] >
        first["net_lo_tx_packets"]["value"])
    assert metrics(c)["net_lo_rx_bytes"]["unit"] == "B"
    assert metrics(c)["net_lo_rx_packets"]["unit"] == "c"
    d.stop()


def test_thresholds_give_warning_and_critical(env):
    st = os.statvfs("/")
    used_b = st.f_blocks - st.f_bfree
    pct = 100.0 * used_b / (used_b + st.f_bavail)
    if pct < 2:
        raise AssertionError("the root disk is %.1f%% used; the test "
                             "needs at least 2 %%" % pct)
    common = ('  interval = 1s\n  max_attempts = 1\n'
              '  measure = { "disk", "memory" }\n  mounts = { "/" }\n')
    d = env.daemon(
        'system "disk-warn" {\n%s  disk_warn = 1\n  disk_crit = 100\n}\n'
        'system "disk-crit" {\n%s  disk_warn = 0.5\n  disk_crit = 1\n}\n'
        'system "mem-warn" {\n%s  mem_warn = 0\n}\n'
        'system "quiet" {\n%s}\n' % (common, common, common, common))
    d.require_plugin("system")
    d.start()
    c = d.wait_check("disk-warn", "WARNING", timeout=10)
    assert re.search(r"disk / [\d.]+% used > warn 1\b", c["summary"]), c
    m = metrics(c)["disk_root_used_pct"]
    assert float(m["warn"]) == 1 and float(m["crit"]) == 100, m
    c = d.wait_check("disk-crit", "CRITICAL", timeout=10)
    assert "disk / " in c["summary"] and "crit 1" in c["summary"], c
    c = d.wait_check("mem-warn", "WARNING", timeout=10)
    assert "memory" in c["summary"], c
    c = d.wait_check("quiet", "OK", timeout=10, pred=lambda c:
                     c["last_check"])
    assert "/ " in c["summary"], c
    d.stop()


def test_missing_mount_and_interface(env):
    d = start_system(env, '  interval = 1s\n  max_attempts = 1\n'
                     '  measure = { "disk", "net" }\n'
                     '  mounts = { "/", "/no/such/mount" }\n'
                     '  interfaces = { "lo", "nosuch0" }\n')
    c = d.wait_check("sys", "CRITICAL", timeout=10)
    assert "/no/such/mount not mounted" in c["summary"], c
    assert "no interface nosuch0" in c["summary"], c
    assert "disk_root_used_pct" in metrics(c), c
    d.stop()


def test_bad_keys_are_file_line_errors(env):
    bad = [
        ('measure = { "load", "bogus" }', "bogus"),
        ('disk_warn = 150', "disk_warn"),
        ('mounts = { "var" }', '"var" is not an absolute path'),
        ('mem_warn = 96\n  mem_crit = 90', "mem_warn"),
        ('interfaces = { "a/b" }', "a/b"),
        ('load_crit = -1', "load_crit"),
        ('frobnicate = 1', "frobnicate"),
    ]
    text = "".join('system "bad%d" {\n  %s\n}\n' % (i, k)
                   for i, (k, _) in enumerate(bad))
    d = env.daemon(text)
    d.require_plugin("system")
    rc, out = d.check_config()
    assert rc == 1, "tocsind -t exited %d:\n%s%s" % (rc, out, d.last_stderr)
    for i, (key, word) in enumerate(bad):
        want = "%s:%d:" % (d.conf, d.line_of(key.split("\n")[0]))
        hits = [l for l in out.splitlines() if l.startswith(want)]
        assert hits and any(word in l for l in hits), \
            "no error at %s naming %r:\n%s" % (want, word, out)


def test_bundled_config_has_a_system_check(env):
    """conf/tocsin.conf graphs the machine: a valid system check."""
    with open(os.path.join(env.srcdir, "conf", "tocsin.conf")) as f:
        text = f.read()
    # the test harness writes its own daemon { } and api { }
    text = re.sub(r"(?ms)^(daemon|api) \{.*?^\}\n", "", text)
    text = re.sub(r'(?m)^include\(.*\)$', "", text)
    if not os.path.exists("/usr/lib/nagios/plugins/check_procs"):
        # the exec checks need monitoring-plugins; the system one does not
        text = re.sub(r'(?ms)^exec "[^"]*" \{.*?^\}\n', "", text)
    assert re.search(r'(?m)^system "system" \{', text), text
    d = env.daemon(text)
    d.require_plugin("system")
    rc, out = d.check_config()
    assert rc == 0, out + d.last_stderr
    # and it runs: the forecast's source exists
    text = re.sub(r"interval = 1m", "interval = 1s", text)
    d.write_config(text)
    d.start()
    wait_for(lambda: "disk_root_used_pct" in metrics(d.check("system")),
             10, "system:disk_root_used_pct")
    # the automatic choice of mounts: no virtual file system
    names = metrics(d.check("system"))
    with open("/proc/self/mounts") as f:
        for line in f:
            _, mnt, fstype = line.split()[:3]
            part = re.sub(r"[^A-Za-z0-9]", "_", mnt.lstrip("/")) or "root"
            if fstype in ("proc", "sysfs", "tmpfs", "devtmpfs", "cgroup",
                          "cgroup2", "devpts"):
                assert "disk_%s_used_pct" % part not in names, (mnt, fstype)
    d.stop()


def test_filling_disk_raises_used_pct_and_state(env):
    """A small tmpfs of our own, listed in mounts, filled while watched."""
    mnt = env.path("my-disk.1")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m",
                        "tocsin-test", mnt], capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        raise harness.Skip("cannot mount a tmpfs: %s" % r.stderr.strip())

    class Unmount:
        def cleanup(self):
            subprocess.run(["umount", "-l", mnt], capture_output=True,
                           timeout=30)
    harness.register(Unmount())
    # the metric name is the mount point, "/" and "-" and "." as "_"
    part = re.sub(r"[^A-Za-z0-9]", "_", mnt.lstrip("/"))
    used = "disk_%s_used_pct" % part
    d = start_system(env, '  interval = 500ms\n  max_attempts = 1\n'
                     '  measure = { "disk" }\n  mounts = { "%s" }\n'
                     '  disk_warn = 40\n  disk_crit = 70\n' % mnt)
    c = d.wait_check("sys", "OK", timeout=10,
                     pred=lambda c: used in metrics(c))
    assert metrics(c)[used]["value"] < 5, metrics(c)[used]
    assert metrics(c)["disk_%s_free" % part]["max"] == 4 << 20

    def fill(mib):
        with open(os.path.join(mnt, "fill%d" % mib), "wb") as f:
            f.write(b"\0" * (mib << 20))
    fill(2)                          # ~50 %
    c = d.wait_check("sys", "WARNING", timeout=10)
    assert 45 < metrics(c)[used]["value"] < 60, metrics(c)[used]
    fill(1)                          # ~75 %
    c = d.wait_check("sys", "CRITICAL", timeout=10)
    assert "disk %s " % mnt in c["summary"], c["summary"]
    assert metrics(c)["disk_%s_free" % part]["value"] < 1.1 * (1 << 20)
    d.stop()
