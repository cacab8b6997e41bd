#!/usr/bin/env python3
"""Tests the mmcd Debian package under a real systemd.

    scripts/systemd_test.py [dist/mmcd_VERSION_ARCH.deb]     (as root; default: the newest in dist/)

Boots systemd as PID 1 of a new PID + mount namespace (its own /tmp, /run and journal, only the
basic target, udev masked), installs the package there with apt-get, and checks for real, for
mmcd.service and then for two mmcd@NAME instances side by side on other ports:

- install: files in place, the service enabled and not started, binaries that load no library
  of the Swift toolchain, which is made inaccessible to the services (InaccessiblePaths=);
- start: READY=1 (systemctl start returns, active), the unit's StatusText is the daemon's STATUS,
  journal lines carry syslog priorities and a clean start logs no warning;
- 20,000 points fed with `mmc feed` counted in the metrics and re-clustered;
- reload: a live key (log.level) takes effect; a broken configuration is refused while the
  service keeps running with the old one, and so is a secret key file that holds no key, each
  logged at priority err;
- watchdog: SIGSTOP on the main process, killed by WatchdogSec (3 s in a test drop-in),
  restarted, window restored from the snapshot; SIGKILL: restarted by Restart=on-failure,
  window restored; stop: STOPPING=1 reaches systemd, the snapshot is written and the next start
  restores the whole window;
- `systemd-analyze security` exposure of the shipped units no worse than 1.1;
- remove keeps configuration and state (a reinstall restores the window), purge leaves nothing.

Test drop-ins live in the namespace's /run, so they vanish with it. The namespace's systemd is
killed at the end whatever happens, and the package purged. Prints one line per check and
`N passed, N failed`; exits 1 if a check failed. Skips (exit 0, saying why) only when the machine
cannot boot systemd this way: not root, no unshare/nsenter, or systemd does not come up.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

# Private /tmp, /run and journal: systemd-tmpfiles empties /tmp at boot, /run holds systemd's
# own sockets, and a persistent journal would mix runs.
BOOT = (
    "mount -t tmpfs tmpfs /tmp && mount -t tmpfs -o mode=755 tmpfs /run && "
    "{ [ ! -d /var/log/journal ] || mount -t tmpfs tmpfs /var/log/journal; } && "
    "exec env container=docker /lib/systemd/systemd --system systemd.unit=basic.target "
    "systemd.mask=systemd-udevd.service systemd.mask=systemd-udev-trigger.service"
)
FED = 20_000
WINDOW = 10_000
# What the package installs, and what running the services adds; a purge must leave none of it.
INSTALLED = [
    "/usr/bin/mmcd", "/usr/bin/mmc", "/etc/mmcd/mmcd.toml", "/etc/default/mmcd", "/lib/systemd/system/mmcd.service",
    "/lib/systemd/system/mmcd@.service", "/usr/share/doc/mmcd/copyright", "/usr/share/man/man8/mmcd.8.gz",
    "/usr/share/man/man1/mmc.1.gz", "/usr/share/man/man1/mmc-feed.1.gz", "/usr/share/bash-completion/completions/mmc",
    "/usr/share/zsh/vendor-completions/_mmcd",
]
LEFT_BY_SERVICES = [
    "/etc/mmcd", "/usr/share/doc/mmcd", "/var/lib/mmcd", "/var/lib/private/mmcd", "/var/lib/mmcd-a",
    "/var/lib/private/mmcd-a", "/etc/systemd/system/multi-user.target.wants/mmcd.service",
]


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.on_failure = None

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
            if self.on_failure:
                self.on_failure()
        return bool(condition)


def wait_for(condition, timeout, interval=0.2):
    """The first truthy value of condition() within timeout seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def free_ports(count):
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Namespace:
    """systemd as PID 1 of a PID + mount namespace; commands run in it through nsenter."""

    def __init__(self):
        self.log = open("/var/tmp/mmcd-systemd-test-boot.log", "w")
        self.unshare = subprocess.Popen(
            ["unshare", "--fork", "--pid", "--mount", "--mount-proc", "sh", "-c", BOOT],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = wait_for(self._child, 10)

    def _child(self):
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = open(stat).read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.unshare.pid:
                pid = int(stat.split("/")[2])
                if os.readlink(f"/proc/{pid}/exe").endswith("/systemd"):
                    return pid
        return None

    def booted(self, timeout=60):
        if not self.pid:
            return None
        return wait_for(
            lambda: self.run("systemctl", "is-system-running").stdout.strip() in ("running", "degraded"), timeout, 0.5)

    def run(self, *args, timeout=120, input=None, env=None):
        return subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-p", *args], capture_output=True, text=True, timeout=timeout,
            input=input, env=env)

    def systemctl(self, *args, timeout=120):
        return self.run("systemctl", *args, timeout=timeout)

    def show(self, unit, prop):
        return self.systemctl("show", "-p", prop, "--value", unit).stdout.strip()

    def kill(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.unshare.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.unshare.kill()
        self.log.close()


class Daemon:
    """One unit's daemon: its ports, its configuration file and its metrics."""

    def __init__(self, ns, unit, config):
        self.ns, self.unit, self.config = ns, unit, config
        self.input, self.output, self.control, self.http = free_ports(4)

    def write_config(self, template, log_level="info", broken=False, secret_key_file=None):
        text = template
        for pattern, value in [
            (r'bind = \["tcp://127\.0\.0\.1:5556"\]', f'bind = ["tcp://127.0.0.1:{self.input}"]'),
            (r'socket = "sub"', 'socket = "pull"'),
            (r'endpoint = "tcp://127\.0\.0\.1:5557"', f'endpoint = "tcp://127.0.0.1:{self.output}"'),
            (r'endpoint = "tcp://127\.0\.0\.1:5558"', f'endpoint = "tcp://127.0.0.1:{self.control}"'),
            (r'\nport = 9477', f"\nport = {self.http}"),
            (r'\ninterval_seconds = 10\.0', "\ninterval_seconds = 1.0"),
            (r'snapshot_interval_seconds = 300\.0', "snapshot_interval_seconds = 1.0"),
            (r'level = "info"', f'level = "{log_level}"'),
        ]:
            text, n = re.subn(pattern, value, text)
            if n != 1:
                raise RuntimeError(f"the shipped configuration no longer has {pattern!r}")
        if broken:
            text = text.replace("\nsize = 10000\n", "\nsize = -3\n", 1)
        if secret_key_file is not None:
            text, n = re.subn(r'\ncurve_secret_key_file = ""\n', f'\ncurve_secret_key_file = "{secret_key_file}"\n', text)
            if n != 1:
                raise RuntimeError("the shipped configuration no longer has curve_secret_key_file = \"\"")
        with open(self.config, "w") as f:
            f.write(text)

    def metrics(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return None
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def metric(self, name):
        values = self.metrics()
        return None if values is None else values.get(name, 0.0)

    def main_pid(self):
        """The main process's PID as the namespace sees it (kill and /proc through ns.run)."""
        return int(self.ns.show(self.unit, "MainPID") or 0)

    def invocation(self):
        return self.ns.show(self.unit, "InvocationID")

    def journal(self, *selectors, output="cat"):
        return self.ns.run("journalctl", "--no-pager", "-o", output, *selectors).stdout

    def feed(self, count, first_id=0):
        """`mmc feed` over PUSH (no loss); a daemon that takes nothing makes it time out."""
        try:
            return subprocess.run(
                ["/usr/bin/mmc", "feed", "--generate", "drift", "--count", str(count), "--first-id", str(first_id),
                 "--socket", "push", "--endpoint", f"tcp://127.0.0.1:{self.input}"],
                capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([], 1, "", "mmc feed timed out")

    def window_restored(self, expected):
        """The window of a daemon just (re)started, once it says it restored its snapshot."""
        values = wait_for(
            lambda: (m := self.metrics()) and m.get('mmcd_state_restores_total{result="restored"}') and m, 30)
        return values and values.get("mmcd_window_points") == expected, values and values.get("mmcd_window_points")


def lines_with_priority(entries, priority):
    return [e["MESSAGE"] for e in entries if e.get("PRIORITY") == str(priority)]


def journal_entries(daemon, invocation):
    out = daemon.journal(f"_SYSTEMD_INVOCATION_ID={invocation}", output="json")
    entries = []
    for line in out.splitlines():
        entry = json.loads(line)
        if isinstance(entry.get("MESSAGE"), str):
            entries.append(entry)
    return entries


def test_unit(r, ns, daemon, template, toolchain):
    """Every service check on one unit, which is stopped and configured with daemon.config."""
    unit = daemon.unit
    r.on_failure = lambda: print(daemon.journal("-u", unit, "-n", "25", "-o", "short-monotonic"), flush=True)
    daemon.write_config(template)

    # Start: READY=1 is what lets `systemctl start` of a Type=notify unit return.
    started = ns.systemctl("start", unit, timeout=120)
    r.check(f"{unit}: systemctl start returns after READY=1", started.returncode == 0, started.stderr.strip())
    r.check(f"{unit}: is-active = active", ns.systemctl("is-active", unit).stdout.strip() == "active")
    status = ns.show(unit, "StatusText")
    r.check(f"{unit}: StatusText is the daemon's STATUS", status.startswith("window "), repr(status))
    pid = daemon.main_pid()
    if toolchain:
        visible = ns.run("nsenter", "-t", str(pid), "-m", "test", "-e", f"{toolchain}/usr").returncode == 0
        maps = ns.run("cat", f"/proc/{pid}/maps").stdout
        r.check(f"{unit}: runs with {toolchain} inaccessible and maps nothing from it",
                not visible and toolchain not in maps)
    first = daemon.invocation()
    entries = wait_for(lambda: (e := journal_entries(daemon, first)) and any("ready" in x["MESSAGE"] for x in e) and e, 10) or []
    info = lines_with_priority(entries, 6)
    r.check(f"{unit}: journal lines carry their priority (info: <6>, no time stamp)",
            any(m.startswith("info mmcd: ready") for m in info) and not any(m.startswith("<") for m in info),
            repr(info[:3]))
    noisy = [e["MESSAGE"] for e in entries if int(e.get("PRIORITY", 6)) <= 4
             or re.search(r"libdispatch|swift runtime|Fatal|warning:", e["MESSAGE"])]
    r.check(f"{unit}: a clean start logs no warning (libdispatch, runtime or daemon)", not noisy, repr(noisy[:3]))

    # Points counted and re-clustered.
    feed = daemon.feed(FED)
    r.check(f"{unit}: mmc feed sends {FED} points", feed.returncode == 0, feed.stderr.strip()[-300:])
    decoded = wait_for(lambda: daemon.metric("mmcd_points_decoded_total") == FED, 30)
    r.check(f"{unit}: {FED} points counted in mmcd_points_decoded_total", decoded,
            daemon.metric("mmcd_points_decoded_total"))
    clustered = wait_for(
        lambda: (m := daemon.metrics()) and m.get("mmcd_window_points") == WINDOW and m.get("mmcd_clusters", 0) > 0
        and "last re-clustering" in ns.show(unit, "StatusText") and "window 10000 points" in ns.show(unit, "StatusText"), 30)
    r.check(f"{unit}: the {WINDOW}-point window re-clustered (clusters > 0, STATUS updated)", clustered,
            ns.show(unit, "StatusText"))

    # Reload: a live key applies; a broken file is refused and nothing changes.
    daemon.write_config(template, log_level="debug")
    reload = ns.systemctl("reload", unit)
    applied = wait_for(
        lambda: re.search(r'configuration key applied key=log\.level new="?\\?"?debug',
                          daemon.journal(f"_SYSTEMD_INVOCATION_ID={first}")), 10)
    debug = wait_for(lambda: lines_with_priority(journal_entries(daemon, first), 7), 10)
    r.check(f"{unit}: reload applies log.level=debug live (debug lines, <7>, follow)",
            reload.returncode == 0 and applied and debug and daemon.main_pid() == pid, reload.stderr.strip())
    daemon.write_config(template, log_level="debug", broken=True)
    refused = ns.systemctl("reload", unit)
    errors = daemon.journal("-u", unit, "-p", "err", f"_SYSTEMD_INVOCATION_ID={first}")
    r.check(f"{unit}: a broken configuration is refused by reload (logged at priority err)",
            refused.returncode != 0 and "window.size = -3" in errors, refused.stderr.strip()[-200:])
    r.check(f"{unit}: ... and the service keeps running, same process",
            ns.systemctl("is-active", unit).stdout.strip() == "active" and daemon.main_pid() == pid
            and daemon.metric("mmcd_window_points") == WINDOW)
    # A file a key names that is wrong (read by --check-config once the keys are in range).
    daemon.write_config(template, log_level="debug", secret_key_file="/etc/hostname")
    refused = ns.systemctl("reload", unit)
    errors = daemon.journal("-u", unit, "-p", "err", f"_SYSTEMD_INVOCATION_ID={first}")
    r.check(f"{unit}: a secret key file that holds no key is refused by reload (logged at priority err)",
            refused.returncode != 0 and "security.curve_secret_key_file /etc/hostname" in errors,
            refused.stderr.strip()[-200:])
    daemon.write_config(template, log_level="debug")

    # Watchdog: a stopped owner loop stops the pings; systemd kills and restarts the daemon.
    snapshot = wait_for(lambda: daemon.metric('mmcd_snapshot_writes_total{result="ok"}'), 15)
    r.check(f"{unit}: a periodic snapshot was written", snapshot)
    timeouts = daemon.journal("-u", unit).count("Watchdog timeout")
    ns.run("kill", "-STOP", str(pid))
    restarted = wait_for(lambda: (p := daemon.main_pid()) and p != pid and daemon.metrics() is not None and p, 40)
    watchdog = daemon.journal("-u", unit).count("Watchdog timeout") > timeouts
    r.check(f"{unit}: SIGSTOP -> killed by the watchdog and restarted", restarted and watchdog,
            f"main pid {daemon.main_pid()}")
    ok, window = daemon.window_restored(WINDOW)
    r.check(f"{unit}: ... window restored from the snapshot ({WINDOW} points)", ok, window)

    # SIGKILL: Restart=on-failure.
    pid = daemon.main_pid()
    wait_for(lambda: daemon.metric('mmcd_snapshot_writes_total{result="ok"}'), 15)
    ns.run("kill", "-KILL", str(pid))
    restarted = wait_for(lambda: (p := daemon.main_pid()) and p != pid and daemon.metrics() is not None and p, 40)
    r.check(f"{unit}: SIGKILL -> restarted by Restart=on-failure", restarted, f"main pid {daemon.main_pid()}")
    ok, window = daemon.window_restored(WINDOW)
    r.check(f"{unit}: ... window restored from the snapshot ({WINDOW} points)", ok, window)

    # Stop: STOPPING=1 reaches systemd (its debug log shows the notification), the snapshot is
    # written on the way out, and the next start restores the whole window.
    invocation = daemon.invocation()
    ns.run("systemd-analyze", "log-level", "debug")
    stopped = ns.systemctl("stop", unit)
    ns.run("systemd-analyze", "log-level", "info")
    notes = daemon.journal("-u", unit, "--since", "-60s")
    stopping = re.search(r"Got notification message from PID \d+ \(STOPPING=1", notes)
    written = [e["MESSAGE"] for e in journal_entries(daemon, invocation) if "state snapshot written" in e["MESSAGE"]]
    r.check(f"{unit}: systemctl stop -> STOPPING=1 received, snapshot written on the way out",
            stopped.returncode == 0 and stopping and written, stopped.stderr.strip())
    r.check(f"{unit}: ... inactive", ns.systemctl("is-active", unit).stdout.strip() == "inactive")
    ns.systemctl("start", unit)
    ok, window = daemon.window_restored(WINDOW)
    r.check(f"{unit}: the next start restores the whole window ({WINDOW} points)", ok, window)
    r.on_failure = None


def security(r, ns, unit):
    out = ns.run("systemd-analyze", "security", "--no-pager", unit)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out.stdout)
    exposure = float(match.group(1)) if match else None
    r.check(f"{unit}: systemd-analyze security exposure {exposure} <= 1.1", exposure is not None and exposure <= 1.1,
            out.stderr.strip())


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    debs = sorted(glob.glob(f"dist/mmcd_*_{arch}.deb"), key=os.path.getmtime)
    deb = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else (debs[-1] if debs else "dist/none.deb"))

    reasons = []
    if os.geteuid() != 0:
        reasons.append("not root")
    for tool in ("unshare", "nsenter"):
        if not shutil.which(tool):
            reasons.append(f"no {tool}")
    if not os.path.exists("/lib/systemd/systemd"):
        reasons.append("no /lib/systemd/systemd")
    if reasons:
        print(f"SKIPPED: the real-systemd tests need to boot systemd in a namespace: {', '.join(reasons)}")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    if not os.path.exists(deb):
        print(f"FAIL no package at {deb}: build it with scripts/package.sh")
        print("0 passed, 1 failed")
        return 1

    # SIGTERM (a CI time-out) and a 15-minute limit end the run through the clean-up below.
    def stop(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGALRM, stop)
    signal.alarm(900)

    swift = shutil.which("swift")
    toolchain = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(swift)))) if swift else None
    r = Results()
    started = time.monotonic()
    ns = Namespace()
    instance_configs = ["/etc/mmcd/a.toml", "/etc/mmcd/b.toml"]
    try:
        if not ns.booted():
            print("SKIPPED: systemd did not come up as PID 1 of a PID + mount namespace "
                  f"(unshare --fork --pid --mount --mount-proc); boot log: /var/tmp/mmcd-systemd-test-boot.log")
            print("0 passed, 0 failed, 1 skipped")
            return 0
        print(f"systemd booted in a namespace (pid {ns.pid}) in {time.monotonic() - started:.1f} s; package {deb}")
        if subprocess.run(["dpkg", "-s", "mmcd"], capture_output=True).returncode == 0:
            print("mmcd was installed: purging it first")
            ns.run("apt-get", "purge", "-y", "-qq", "mmcd")
        for path in instance_configs + LEFT_BY_SERVICES[2:]:
            if os.path.lexists(path):
                print(f"removing {path}, left by an earlier run")
                subprocess.run(["rm", "-rf", path])

        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ns.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", deb, env=env)
        r.check("apt-get install ./dist/mmcd_*.deb", install.returncode == 0, install.stderr.strip()[-500:])
        conffiles = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "mmcd"], capture_output=True, text=True).stdout
        r.check("conffiles: /etc/mmcd/mmcd.toml, /etc/default/mmcd",
                "/etc/mmcd/mmcd.toml" in conffiles and "/etc/default/mmcd" in conffiles, conffiles)
        missing = [p for p in INSTALLED if not os.path.exists(p)]
        r.check("binaries, units, configuration, docs, man pages, completions installed", not missing, missing)
        for tool in ("/usr/bin/mmcd", "/usr/bin/mmc"):
            libraries = subprocess.run(["ldd", tool], capture_output=True, text=True).stdout
            foreign = [l.strip() for l in libraries.splitlines()
                       if re.search(r"swift|Foundation|dispatch|not found|/opt/", l)]
            r.check(f"ldd {tool}: Debian libraries only", libraries and not foreign, foreign)
        r.check("installed: enabled, not started",
                ns.systemctl("is-enabled", "mmcd.service").stdout.strip() == "enabled"
                and ns.systemctl("is-active", "mmcd.service").stdout.strip() == "inactive")
        for unit in ("mmcd.service", "mmcd@a.service"):
            security(r, ns, unit)

        # Test drop-ins (in the namespace's /run): a short watchdog and restart delay, and the
        # Swift toolchain out of the services' reach.
        # (No start rate limit: each unit is restarted four times within seconds.)
        dropin = "[Unit]\nStartLimitIntervalSec=0\n[Service]\nWatchdogSec=3\nRestartSec=1\n"
        if toolchain:
            dropin += f"InaccessiblePaths={toolchain}\n"
        for unit in ("mmcd.service", "mmcd@.service"):
            ns.run("mkdir", "-p", f"/run/systemd/system/{unit}.d")
            ns.run("sh", "-c", f"cat > /run/systemd/system/{unit}.d/test.conf", input=dropin)
        ns.systemctl("daemon-reload")

        template = open("/etc/mmcd/mmcd.toml").read()
        single = Daemon(ns, "mmcd.service", "/etc/mmcd/mmcd.toml")
        single.write_config(template)
        now = ns.systemctl("enable", "--now", "mmcd")
        r.check("systemctl enable --now mmcd: running", now.returncode == 0
                and ns.systemctl("is-active", "mmcd.service").stdout.strip() == "active", now.stderr.strip())
        ns.systemctl("stop", "mmcd")
        test_unit(r, ns, single, template, toolchain)
        ns.systemctl("stop", "mmcd")

        # Two instances side by side: each its own configuration, ports and state.
        a = Daemon(ns, "mmcd@a.service", instance_configs[0])
        b = Daemon(ns, "mmcd@b.service", instance_configs[1])
        b.write_config(template)
        started_b = ns.systemctl("start", b.unit)
        fed_b = started_b.returncode == 0 and b.feed(5_000, first_id=1_000_000)
        r.check("mmcd@b beside: started after mmcd.service ran, 5,000 points of its own",
                fed_b and fed_b.returncode == 0
                and wait_for(lambda: b.metric("mmcd_points_decoded_total") == 5_000, 30),
                started_b.stderr.strip() + b.journal("-u", b.unit, "-n", "10"))
        b_pid = b.main_pid()
        test_unit(r, ns, a, template, toolchain)
        r.check("mmcd@b ran undisturbed beside mmcd@a (same process, its own 5,000 points)",
                b.main_pid() == b_pid and b.metric("mmcd_points_decoded_total") == 5_000
                and a.metric("mmcd_points_decoded_total") is not None)
        ns.systemctl("stop", b.unit)
        test_unit(r, ns, b, template, toolchain)
        r.check("instances keep their state apart (/var/lib/mmcd-a, /var/lib/mmcd-b)",
                all(os.path.exists(f"/var/lib/private/mmcd-{name}/state.bin") for name in ("a", "b")))
        ns.systemctl("stop", a.unit, b.unit)

        # Remove stops the service and keeps configuration and state; a reinstall picks both up.
        ns.systemctl("start", "mmcd")
        remove = ns.run("apt-get", "remove", "-y", "-qq", "mmcd", env=env)
        r.check("apt-get remove: running service stopped, binary gone, configuration and state kept",
                remove.returncode == 0 and ns.systemctl("is-active", "mmcd.service").stdout.strip() != "active"
                and not os.path.exists("/usr/bin/mmcd") and f"port = {single.http}" in open("/etc/mmcd/mmcd.toml").read()
                and os.path.exists("/var/lib/private/mmcd/state.bin"), remove.stderr.strip()[-300:])
        reinstall = ns.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", deb, env=env)
        ns.systemctl("start", "mmcd")
        ok, window = single.window_restored(WINDOW)
        r.check("reinstall: kept configuration used, window restored from the kept state",
                reinstall.returncode == 0 and ok, window)

        for path in instance_configs:
            os.remove(path)
        purge = ns.run("apt-get", "purge", "-y", "-qq", "mmcd", env=env)
        left = [p for p in INSTALLED + LEFT_BY_SERVICES if os.path.lexists(p)]
        units = ns.systemctl("list-unit-files", "--no-legend", "mmcd*").stdout.strip()
        running = ns.systemctl("list-units", "--no-legend", "mmcd*").stdout.strip()
        r.check("apt-get purge mmcd: nothing left behind", purge.returncode == 0 and not left and not units and not running,
                f"{left} {units} {running} {purge.stderr.strip()[-300:]}")
    finally:
        ns.kill()
        for path in instance_configs:
            if os.path.exists(path):
                os.remove(path)
        if subprocess.run(["dpkg", "-s", "mmcd"], capture_output=True).returncode == 0:
            subprocess.run(["dpkg", "--purge", "mmcd"], capture_output=True)
    print(f"real-systemd tests took {time.monotonic() - started:.0f} s")
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
