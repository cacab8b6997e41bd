#!/usr/bin/env python3
"""Measure what mmcd survives and write docs/reliability.md.

usage: /work/venv/bin/python scripts/reliability.py run [SECTION ...] [options]
       /work/venv/bin/python scripts/reliability.py report
   e.g. scripts/reliability.py run sustain faults auth fuzz             (about 15 minutes)
        scripts/reliability.py run overload soak --sustainable-rate 500000 --soak-minutes 60
                                         (an hour; without --sustainable-rate, the sustain result)
        scripts/reliability.py report                                    (docs/reliability.md from the results)

Sections (each writes docs/reliability/SECTION.json; `report` renders every file present):
  sustain   the sustainable ingest rate, binary PUSH feeds into a PULL input with a 50,000-point
            window re-clustered every second: an unpaced feed gives the peak, then paced feeds at
            100%, 90%, 80%, ... of it for --hold-seconds each; the first one the daemon holds
            (the feed ends on time, every update on schedule) is the sustainable rate unless
            --sustainable-rate gives another
  soak      80% of that rate (or --rate) for --soak-minutes: loss, resident memory after warm-up,
            re-clusterings counted against the schedule, gaps between published updates
  overload  a SUB input fed at ten times its sustainable rate: sent = received + dropped + rejected,
            updates keep coming, resident memory stays bounded
  faults    producer SIGKILL and restart, subscriber restart, daemon SIGKILL (loss vs snapshot
            interval), state directory read-only and full, corrupt snapshot, re-clustering over
            its time budget
  auth      CURVE on: a client with an unknown key, then the key allowed by SIGHUP
  fuzz      `mmc fuzz` over every decoder and the configuration parser (--fuzz-execs each)

It uses the release binaries in --bin-dir (built first unless --no-build) and Python's pyzmq for
its own subscribers and clients. Progress goes to standard error.
"""

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import zmq

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "docs", "reliability")
SECTIONS = ["sustain", "soak", "overload", "faults", "auth", "fuzz"]


def progress(message):
    print(f"reliability.py: {message}", file=sys.stderr, flush=True)


def free_ports(count):
    """`count` loopback TCP ports that were free a moment ago, all held until each is known."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def machine():
    """Processors, CPU model and load average, read now."""
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": model, "load": os.getloadavg(), "system": platform.platform()}


def git_commit():
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()


def wait_until(condition, limit, step=0.05):
    """Polls `condition` until it is true or `limit` seconds pass; returns its last value."""
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


class Daemon:
    """One `mmcd` process with its own configuration file, state directory and loopback ports."""

    def __init__(self, args, folder, settings, name="mmcd"):
        self.args = args
        self.folder = folder
        self.name = name
        os.makedirs(folder, exist_ok=True)
        self.state = settings.pop("state_directory", os.path.join(folder, "state"))
        ports = free_ports(4)
        self.input = f"tcp://127.0.0.1:{ports[0]}"
        self.output = f"tcp://127.0.0.1:{ports[1]}"
        self.control = f"tcp://127.0.0.1:{ports[2]}"
        self.http = ports[3]
        values = {
            "input.bind": [self.input], "input.socket": "pull", "output.endpoint": self.output,
            "control.endpoint": self.control, "state.directory": self.state, "http.port": self.http,
        }
        values.update(settings)
        self.config = os.path.join(folder, f"{name}.toml")
        self.write_config(values)
        self.process = None
        self.log = None

    def write_config(self, values):
        tables = {}
        for key, value in values.items():
            table, name = key.split(".", 1)
            tables.setdefault(table, {})[name] = value
        with open(self.config, "w") as file:
            for table, entries in tables.items():
                file.write(f"[{table}]\n")
                for name, value in entries.items():
                    file.write(f"{name} = {json.dumps(value)}\n")
        self.values = values

    def start(self):
        self.log = open(os.path.join(self.folder, f"{self.name}.log"), "ab")
        self.process = subprocess.Popen([os.path.join(self.args.bin_dir, "mmcd"), "--config", self.config],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_until(lambda: self.healthz() is not None, 60):
            raise RuntimeError(f"{self.name} did not serve /healthz within 60 s; see {self.log.name}")
        return self

    def healthz(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/healthz", timeout=2) as reply:
                return json.loads(reply.read())
        except Exception:
            return None

    def metrics(self):
        """Every sample of /metrics as {name{labels}: value}."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    def metric(self, name, samples=None):
        """The sum of every sample whose name (before the labels) is `name`."""
        samples = samples if samples is not None else self.metrics()
        return sum(v for k, v in samples.items() if k == name or k.startswith(name + "{"))

    def rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return None

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log.name, errors="replace") as file:
            return file.read()

    def send(self, number):
        self.process.send_signal(number)

    def stop(self, sig=signal.SIGTERM, limit=60):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(limit)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log:
            self.log.close()
        return self.process.returncode


def feed(args, endpoint, *extra, wait=True, source=("--generate", "drift")):
    """`mmc feed` of `source` (the drifting stream, or a file) onto `endpoint`; the summary line's
    figures when `wait`."""
    command = [os.path.join(args.bin_dir, "mmc"), "feed", *source, "--endpoint", endpoint,
               *[str(e) for e in extra]]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return process
    return feed_summary(process)


def feed_summary(process, limit=None):
    out, err = process.communicate(timeout=limit)
    match = re.search(r"sent (\d+) points in (\d+) batch\w* in ([\d.]+) s \((\d+) points/s\)", out)
    if not match:
        raise RuntimeError(f"mmc feed failed ({process.returncode}): {out}{err}")
    return {"points": int(match[1]), "batches": int(match[2]), "seconds": float(match[3]),
            "rate": int(match[4])}


class Subscriber:
    """A pyzmq SUB socket on the daemon's updates, recording each message's arrival time."""

    def __init__(self, endpoint, prefix=b"clusters."):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.SUBSCRIBE, prefix)
        self.socket.setsockopt(zmq.RCVHWM, 0)
        self.socket.connect(endpoint)
        self.arrivals = []
        self.sequences = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while self.running:
            if poller.poll(100):
                frames = self.socket.recv_multipart()
                self.arrivals.append(time.monotonic())
                self.sequences.append(int.from_bytes(frames[-1], "little"))

    def close(self):
        self.running = False
        self.thread.join()
        self.socket.close(0)
        self.context.term()


def write_blobs(path, count, seed=1):
    """`count` 2-D points, eight Gaussian blobs in the unit square plus 5% uniform noise."""
    generator = random.Random(seed)
    centres = [(generator.random(), generator.random(), 0.01 + 0.04 * generator.random()) for _ in range(8)]
    with open(path, "w") as file:
        for _ in range(count):
            if generator.random() < 0.05:
                x, y = generator.random(), generator.random()
            else:
                cx, cy, spread = generator.choice(centres)
                x, y = generator.gauss(cx, spread), generator.gauss(cy, spread)
            file.write(f"{x:.6f} {y:.6f}\n")
    return count


# The daemon issue's binary ingest target, which its paced benchmark sustains (docs/benchmarks.md).
BENCHMARK_RATE = 500_000


def base_settings(args):
    """The benchmark configuration of the daemon issue: 50,000-point window, re-clustered every second."""
    return {"window.size": 50_000, "schedule.interval_seconds": 1.0, "schedule.every_points": 0}


# MARK: sections

def steal_seconds():
    """CPU time the hypervisor gave to others while this guest wanted it, all CPUs, so far."""
    with open("/proc/stat") as stat:
        return int(stat.readline().split()[8]) / os.sysconf("SC_CLK_TCK")


def sustain(args, scratch):
    """The highest paced rate the daemon holds, from the unpaced peak down in steps of 10%.

    A 20-s unpaced peak overstates what the daemon keeps up with: the feeder, the daemon and its
    re-clusterings then share two cores flat out. A rate holds when the paced feed ends within 2%
    (plus a second) of its scheduled time, so the daemon never made it wait, and no two published
    updates after the first 10 s are more than 1.5 re-clustering intervals apart. A short hold on a
    quiet host can still overstate an hour on a shared one (an hour at 80% of a 2-minute hold fell
    behind when the host got busy); --sustainable-rate sets the rate the soak and overload use."""
    daemon = Daemon(args, os.path.join(scratch, "peak"), base_settings(args)).start()
    try:
        process = feed(args, daemon.input, "--socket", "push", "--batch", 1000, "--loop", wait=False)
        time.sleep(5)
        first, t0 = daemon.metric("mmcd_points_decoded_total"), time.monotonic()
        time.sleep(args.sustain_seconds)
        last, t1 = daemon.metric("mmcd_points_decoded_total"), time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(30)
    finally:
        daemon.stop()
    peak = (last - first) / (t1 - t0)
    progress(f"unpaced peak {peak:,.0f} points/s")
    holds = []
    for percent in range(100, 0, -10):
        rate = int(peak * percent / 100)
        holds.append(hold(args, os.path.join(scratch, f"hold-{percent}"), rate))
        progress(f"{rate:,} points/s for {args.hold_seconds:.0f} s: {'held' if holds[-1]['held'] else 'not held'}")
        if holds[-1]["held"]:
            break
    held = [h for h in holds if h["held"]]
    return {"rate": held[0]["rate"] if held else None, "peak_rate": peak, "peak_seconds": t1 - t0,
            "hold_seconds": args.hold_seconds, "holds": holds, "machine": machine(), "commit": git_commit()}


def hold(args, folder, rate):
    """Whether a fresh daemon takes a paced feed of `rate` for --hold-seconds on time and on schedule."""
    settings = base_settings(args)
    daemon = Daemon(args, folder, settings).start()
    subscriber = Subscriber(daemon.output)
    steal = steal_seconds()
    try:
        count = int(rate * args.hold_seconds)
        started = time.monotonic()
        summary = feed(args, daemon.input, "--socket", "push", "--batch", 1000, "--rate", rate, "--count", count)
        wait_until(lambda: daemon.metric("mmcd_points_received_total") >= count, 60, 0.5)
    finally:
        subscriber.close()
        daemon.stop()
    arrivals = [t for t in subscriber.arrivals if t >= started + 10]
    gap = max((b - a for a, b in zip(arrivals, arrivals[1:])), default=None)
    on_time = summary["seconds"] <= args.hold_seconds * 1.02 + 1
    on_schedule = gap is not None and gap <= 1.5 * settings["schedule.interval_seconds"]
    return {"rate": rate, "feed_seconds": summary["seconds"], "update_gap_max": gap, "held": on_time and on_schedule,
            "steal_seconds": steal_seconds() - steal}


def soak(args, scratch):
    rate = args.rate or sustainable_rate(args) * 0.8
    rate = int(rate)
    minutes = args.soak_minutes
    settings = base_settings(args)
    settings["state.snapshot_interval_seconds"] = 60.0
    daemon = Daemon(args, os.path.join(scratch, "soak"), settings).start()
    subscriber = Subscriber(daemon.output)
    progress(f"soak: {rate:,} points/s for {minutes} min")
    commit = git_commit()
    started = time.monotonic()
    # A paced feed of exactly rate x duration points: it ends by itself once the daemon has taken
    # its last batch (a PUSH feed waits while the daemon is behind, so it may take longer).
    count = int(rate * minutes * 60)
    process = feed(args, daemon.input, "--socket", "push", "--batch", 1000, "--rate", rate, "--count", count,
                   wait=False)
    samples = []
    steal = steal_seconds()
    try:
        while process.poll() is None:
            time.sleep(args.sample_seconds)
            m = daemon.metrics()
            samples.append({
                "t": time.monotonic() - started, "rss_mib": daemon.rss_mib(), "steal_s": steal_seconds() - steal,
                "decoded": daemon.metric("mmcd_points_decoded_total", m),
                "reclusters": daemon.metric("mmcd_recluster_duration_seconds_count", m),
                "abandoned": daemon.metric("mmcd_recluster_abandoned_total", m),
                "window": daemon.metric("mmcd_window_points", m),
                "updates": len(subscriber.arrivals),
            })
            if len(samples) % 30 == 0:
                progress(f"soak: {samples[-1]}")
        summary = feed_summary(process)
        wait_until(lambda: daemon.metric("mmcd_points_received_total") >= summary["points"], 60, 0.5)
        time.sleep(2)
        m = daemon.metrics()
    finally:
        subscriber.close()
        daemon.stop()
    warm = args.warmup_minutes * 60
    after = [s["rss_mib"] for s in samples if s["t"] >= warm]
    # The level after warm-up: the mean of the first minute's samples after it.
    first_minute = [s["rss_mib"] for s in samples if warm <= s["t"] < warm + 60]
    baseline = sum(first_minute) / len(first_minute) if first_minute else None
    duration = samples[-1]["t"] - samples[0]["t"] if len(samples) > 1 else 0
    reclusters = samples[-1]["reclusters"] - samples[0]["reclusters"] if samples else 0
    arrivals = subscriber.arrivals
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    # "On schedule": an update at least every interval; one that took longer than the interval
    # delays the next start, so a gap above 1.5 intervals is a late re-clustering.
    interval = settings["schedule.interval_seconds"]
    late = sum(1 for gap in gaps if gap > 1.5 * interval)
    sequences = subscriber.sequences
    missed = sum(max(0, b - a - 1) for a, b in zip(sequences, sequences[1:]))
    return {
        "target_rate": rate, "rate_from": "--rate" if args.rate else "80% of " + (
            "--sustainable-rate" if args.sustainable_rate else "the sustain section"), "minutes": minutes, "sent": summary["points"], "feed_rate": summary["rate"],
        "feed_seconds": summary["seconds"],
        "received": daemon.metric("mmcd_points_received_total", m),
        "decoded": daemon.metric("mmcd_points_decoded_total", m),
        "rejected": daemon.metric("mmcd_messages_rejected_total", m),
        "dropped": daemon.metric("mmcd_points_dropped_total", m),
        "rss_baseline_mib": baseline, "rss_min_mib": min(after) if after else None,
        "rss_max_mib": max(after) if after else None, "warmup_minutes": args.warmup_minutes,
        "reclusters_sampled": reclusters, "sampled_seconds": duration,
        "reclusters_total": daemon.metric("mmcd_recluster_duration_seconds_count", m),
        "abandoned": daemon.metric("mmcd_recluster_abandoned_total", m),
        "updates": len(arrivals), "update_gap_max": max(gaps) if gaps else None,
        "update_gap_mean": sum(gaps) / len(gaps) if gaps else None, "updates_late": late,
        "sequence_missed": missed,
        "samples": samples, "machine": machine(), "commit": commit,
    }


def overload(args, scratch):
    """A SUB input fed at ten times the sustainable rate for --overload-seconds."""
    sustainable = sustainable_rate(args)
    rate = int(sustainable * 10)
    batch = 1000
    settings = base_settings(args)
    settings.update({"input.socket": "sub", "input.receive_hwm": 0})
    daemon = Daemon(args, os.path.join(scratch, "overload"), settings).start()
    subscriber = Subscriber(daemon.output)
    # Generating the drifting stream costs a feeder more CPU than the daemon spends per point, so
    # the feeders replay a file instead (Gaussian blobs in 5% noise, read once), each its own id
    # range; several share the rate.
    points_file = os.path.join(scratch, "overload-points.txt")
    file_points = write_blobs(points_file, 200_000)
    feeders = args.overload_feeders
    repeats = max(1, round(rate * args.overload_seconds / feeders / file_points))
    count = repeats * file_points
    processes = [feed(args, daemon.input, "--socket", "pub", "--hwm", 0, "--warmup-ms", 1000, "--batch", batch,
                      "--rate", rate // feeders, "--repeat", repeats, "--first-id", index * count,
                      wait=False, source=(points_file,))
                 for index in range(feeders)]
    rss = []
    while any(process.poll() is None for process in processes):
        rss.append(daemon.rss_mib())
        time.sleep(1)
    summaries = [feed_summary(process) for process in processes]
    seconds = max(s["seconds"] for s in summaries)
    summary = {"points": sum(s["points"] for s in summaries), "seconds": seconds,
               "rate": int(sum(s["points"] for s in summaries) / seconds)}

    def accounted():
        m = daemon.metrics()
        received = daemon.metric("mmcd_points_received_total", m)
        dropped = daemon.metric("mmcd_points_dropped_total", m)
        rejected = daemon.metric("mmcd_messages_rejected_total", m)
        # Drops are counted in points, or (before that change) in messages of `batch` points.
        for unit, factor in (("points", 1), ("messages", batch)):
            if received + (dropped + rejected) * factor == summary["points"]:
                return received, dropped * factor, rejected * factor, unit
        return received, dropped, rejected, None

    wait_until(lambda: accounted()[3] is not None, 60, 0.5)
    received, dropped, rejected, unit = accounted()
    m = daemon.metrics()
    subscriber.close()
    daemon.stop()
    gaps = [b - a for a, b in zip(subscriber.arrivals, subscriber.arrivals[1:])]
    return {
        "sustainable_rate": sustainable, "target_rate": rate, "sent": summary["points"], "feed_rate": summary["rate"],
        "seconds": summary["seconds"], "received": received, "dropped": dropped, "rejected": rejected,
        "drop_unit": unit, "unaccounted": summary["points"] - received - dropped - rejected,
        "updates": len(subscriber.arrivals), "update_gap_max": max(gaps) if gaps else None,
        "reclusters": daemon.metric("mmcd_recluster_duration_seconds_count", m),
        "rss_max_mib": max(r for r in rss if r), "rss_samples": rss, "feeders": feeders, "machine": machine(),
    }


def faults(args, scratch):
    results = {}
    settings = dict(base_settings(args), **{"window.size": 2_000_000, "state.snapshot_interval_seconds": 5.0})
    rate = 50_000

    # Daemon SIGKILL under load: the producer keeps sending into the restarted daemon.
    progress("faults: daemon SIGKILL")
    folder = os.path.join(scratch, "kill")
    daemon = Daemon(args, folder, dict(settings)).start()
    process = feed(args, daemon.input, "--socket", "push", "--batch", 1000, "--rate", rate, "--count", rate * 30,
                   wait=False)
    time.sleep(17)
    before = daemon.metric("mmcd_points_received_total")
    daemon.stop(signal.SIGKILL)
    killed_at = time.monotonic()
    restarted = Daemon(args, folder, dict(settings, state_directory=daemon.state), name="mmcd-restarted")
    restarted.input, restarted.output, restarted.control, restarted.http = (
        daemon.input, daemon.output, daemon.control, daemon.http)
    restarted.write_config(dict(restarted.values, **{
        "input.bind": [daemon.input], "output.endpoint": daemon.output, "control.endpoint": daemon.control,
        "http.port": daemon.http}))
    restarted.start()
    downtime = time.monotonic() - killed_at
    restored_lines = re.findall(r"state restored .*window\.size=(\d+)", restarted.log_text())
    restored = int(restored_lines[-1]) if restored_lines else 0
    summary = feed_summary(process)
    wait_until(lambda: restarted.metric("mmcd_points_received_total") + restored >= summary["points"], 30, 0.5)
    time.sleep(2)
    final = restarted.metric("mmcd_window_points")
    restarted.stop()
    results["daemon_sigkill"] = {
        "rate": rate, "snapshot_interval": settings["state.snapshot_interval_seconds"], "sent": summary["points"],
        "received_before_kill": before, "restored": restored, "lost_by_kill": before - restored,
        "bound": rate * settings["state.snapshot_interval_seconds"], "final_window": final,
        "lost_total": summary["points"] - final, "restart_seconds": downtime,
    }

    # Producer SIGKILL and restart.
    progress("faults: producer SIGKILL")
    daemon = Daemon(args, os.path.join(scratch, "producer"), dict(settings)).start()
    process = feed(args, daemon.input, "--socket", "push", "--batch", 1000, "--rate", rate, "--loop", wait=False)
    time.sleep(5)
    process.kill()
    process.wait()
    before = daemon.metric("mmcd_points_received_total")
    second = feed(args, daemon.input, "--socket", "push", "--batch", 1000, "--count", 100_000, "--first-id", 10**9)
    wait_until(lambda: daemon.metric("mmcd_points_received_total") >= before + second["points"], 30, 0.2)
    after = daemon.metric("mmcd_points_received_total")
    results["producer_sigkill"] = {"received_before": before, "second_sent": second["points"],
                                   "second_received": after - before, "daemon_alive": daemon.process.poll() is None}
    # Subscriber killed and restarted: how long until it has the snapshot again.
    progress("faults: subscriber restart")
    first = Subscriber(daemon.output)
    wait_until(lambda: first.arrivals, 10)
    first.close()
    started = time.monotonic()
    again = Subscriber(daemon.output)
    got = wait_until(lambda: again.arrivals, 10)
    results["subscriber_restart"] = {"snapshot_again": bool(got),
                                     "seconds_to_snapshot": again.arrivals[0] - started if got else None}
    again.close()
    daemon.stop()

    # State directory full and read-only (tmpfs mounts; needs root).
    for kind in ("full", "read-only"):
        progress(f"faults: state directory {kind}")
        folder = os.path.join(scratch, f"state-{kind}")
        state = os.path.join(folder, "state")
        os.makedirs(state, exist_ok=True)
        options = "size=64k" + (",ro" if kind == "read-only" else "")
        if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", state]).returncode != 0:
            results[f"state_{kind}"] = {"skipped": "cannot mount a tmpfs"}
            continue
        try:
            daemon = Daemon(args, folder, dict(base_settings(args), **{
                "state.snapshot_interval_seconds": 1.0, "window.size": 10_000, "state_directory": state})).start()
            sent = feed(args, daemon.input, "--socket", "push", "--count", 20_000)["points"]
            time.sleep(4)
            m = daemon.metrics()
            results[f"state_{kind}"] = {
                "sent": sent, "received": daemon.metric("mmcd_points_received_total", m),
                "snapshot_errors": daemon.metric('mmcd_snapshot_writes_total{result="error"}', m),
                "snapshot_ok": daemon.metric('mmcd_snapshot_writes_total{result="ok"}', m),
                "reclusters": daemon.metric("mmcd_recluster_duration_seconds_count", m),
            }
            results[f"state_{kind}"]["exit"] = daemon.stop()
            results[f"state_{kind}"]["logged"] = "cannot write the state snapshot" in daemon.log_text()
        finally:
            subprocess.run(["umount", "-l", state])

    # Corrupt snapshot.
    progress("faults: corrupt snapshot")
    folder = os.path.join(scratch, "corrupt")
    os.makedirs(os.path.join(folder, "state"), exist_ok=True)
    with open(os.path.join(folder, "state", "state.bin"), "wb") as file:
        file.write(os.urandom(4096))
    daemon = Daemon(args, folder, base_settings(args)).start()
    m = daemon.metrics()
    results["corrupt_snapshot"] = {
        "discarded": daemon.metric('mmcd_state_restores_total{result="discarded"}', m),
        "moved_aside": [f for f in os.listdir(daemon.state) if f.startswith("state.bin.corrupt-")] != [],
        "window": daemon.metric("mmcd_window_points", m), "healthz": daemon.healthz(),
    }
    daemon.stop()

    # Re-clustering over its time budget.
    progress("faults: time budget")
    daemon = Daemon(args, os.path.join(scratch, "budget"), dict(base_settings(args), **{
        "schedule.time_budget_seconds": 0.001})).start()
    feed(args, daemon.input, "--socket", "push", "--count", 50_000)
    time.sleep(5)
    m = daemon.metrics()
    results["time_budget"] = {
        "abandoned": daemon.metric("mmcd_recluster_abandoned_total", m),
        "completed": daemon.metric("mmcd_recluster_duration_seconds_count", m),
        "published": daemon.metric("mmcd_updates_published_total", m),
    }
    daemon.stop()
    return {"results": results, "machine": machine()}


def auth(args, scratch):
    """CURVE with an allow-list: an unknown client, then the same client allowed by SIGHUP."""
    folder = os.path.join(scratch, "auth")
    os.makedirs(folder, exist_ok=True)
    mmc = os.path.join(args.bin_dir, "mmc")

    def keygen(name):
        subprocess.run([mmc, "keygen", "--force", "--out", os.path.join(folder, name)], check=True,
                       capture_output=True)
        with open(os.path.join(folder, name + ".pub")) as file:
            return [line for line in file.read().splitlines() if line and not line.startswith("#")][0]

    server, client, other = keygen("server"), keygen("client"), keygen("other")
    allow = os.path.join(folder, "clients")
    with open(allow, "w") as file:
        file.write(other + "\n")
    daemon = Daemon(args, folder, dict(base_settings(args), **{
        "security.curve_secret_key_file": os.path.join(folder, "server.key"),
        "security.curve_authorized_keys_file": allow})).start()
    count = 100_000
    curve = ["--curve-server-key=" + server, "--curve-key-file", os.path.join(folder, "client.key")]
    process = feed(args, daemon.input, "--socket", "push", "--count", count, *curve, wait=False)
    plain = feed(args, daemon.input, "--socket", "push", "--count", count, wait=False)
    time.sleep(5)
    plain.kill()
    plain.wait()
    m = daemon.metrics()
    refused = {k: v for k, v in m.items() if k.startswith("mmcd_auth_refused_total")}
    received_refused = daemon.metric("mmcd_points_received_total", m)
    # libzmq does not reconnect a connection the allow-list refused; the producer starts anew.
    process.kill()
    process.wait()
    with open(allow, "a") as file:
        file.write(client + "\n")
    daemon.send(signal.SIGHUP)
    wait_until(lambda: "allow-list reloaded" in daemon.log_text(), 10)
    summary = feed(args, daemon.input, "--socket", "push", "--count", count, *curve)
    wait_until(lambda: daemon.metric("mmcd_points_received_total") >= count, 30, 0.2)
    received_allowed = daemon.metric("mmcd_points_received_total")
    daemon.stop()
    return {"unknown_key_sent_for_seconds": 5, "plain_sent_for_seconds": 5, "refused": refused,
            "received_while_refused": received_refused, "allowed_sent": summary["points"],
            "received_after_sighup": received_allowed}


def fuzz(args, scratch):
    """`mmc fuzz` over every target, --fuzz-execs inputs each."""
    reports = []
    commit = git_commit()
    for target in ("binary-batch", "json-batch", "update", "request", "reply", "config"):
        progress(f"fuzz: {target}, {args.fuzz_execs:,} inputs")
        started = time.monotonic()
        run = subprocess.run([os.path.join(args.bin_dir, "mmc"), "fuzz", "--target", target, "--execs",
                              str(args.fuzz_execs), "--seed", str(args.fuzz_seed), "--progress-every", "100000"],
                             capture_output=True, text=True)
        if run.returncode == 0 and run.stdout.strip():
            report = json.loads(run.stdout)
            report["crashed"] = False
        else:
            done = re.findall(r"inputs \d+\.\.<(\d+)", run.stderr)
            report = {"target": target, "crashed": True, "exit": run.returncode,
                      "done_before_crash": int(done[-1]) if done else 0, "stderr": run.stderr[-2000:],
                      "seconds": time.monotonic() - started}
        reports.append(report)
    return {"reports": reports, "seed": args.fuzz_seed, "machine": machine(), "commit": commit}


# MARK: plumbing

def sustainable_rate(args):
    """--sustainable-rate, or the rate the sustain section held."""
    return args.sustainable_rate or load("sustain")["rate"]


def load(section):
    with open(os.path.join(RESULTS, f"{section}.json")) as file:
        return json.load(file)


def save(section, result):
    os.makedirs(RESULTS, exist_ok=True)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    with open(os.path.join(RESULTS, f"{section}.json"), "w") as file:
        json.dump(result, file, indent=1)
        file.write("\n")


RUNNERS = {"sustain": sustain, "soak": soak, "overload": overload, "faults": faults, "auth": auth, "fuzz": fuzz}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "report"])
    parser.add_argument("sections", nargs="*", help=f"sections to run: {', '.join(SECTIONS)} (default: all but soak)")
    parser.add_argument("--bin-dir", default=os.path.join(REPO, ".build", "release"), help="mmcd and mmc")
    parser.add_argument("--no-build", action="store_true", help="use the binaries already in --bin-dir")
    parser.add_argument("--sustainable-rate", type=float,
                        help="points/s the soak (80%%) and overload (10x) are relative to (default: the sustain result)")
    parser.add_argument("--rate", type=float, help="soak rate in points/s (default: 80%% of the sustainable rate)")
    parser.add_argument("--soak-minutes", type=float, default=60)
    parser.add_argument("--warmup-minutes", type=float, default=5, help="soak minutes before the memory baseline")
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--sustain-seconds", type=float, default=20, help="the unpaced peak's measuring time")
    parser.add_argument("--hold-seconds", type=float, default=120, help="each paced run of the sustain section")
    parser.add_argument("--fuzz-execs", type=int, default=1_000_000, help="executions per fuzz target")
    parser.add_argument("--fuzz-seed", type=int, default=1)
    parser.add_argument("--overload-seconds", type=float, default=30)
    parser.add_argument("--overload-feeders", type=int, default=2, help="feeder processes sharing the overload")
    parser.add_argument("--scratch", help="folder for configurations, state and logs (default: a temporary one)")
    args = parser.parse_args()
    if args.command == "report":
        report()
        return
    sections = args.sections or [s for s in SECTIONS if s != "soak"]
    if not args.no_build:
        for product in ("mmcd", "mmc"):
            subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO, check=True)
    scratch = args.scratch or tempfile.mkdtemp(prefix="mmcd-reliability-")
    for section in sections:
        folder = os.path.join(scratch, section)
        shutil.rmtree(folder, ignore_errors=True)
        progress(f"running {section} in {folder}")
        save(section, RUNNERS[section](args, folder))
    if not args.scratch:
        shutil.rmtree(scratch, ignore_errors=True)


def number(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def report():
    """docs/reliability.md from the results present in docs/reliability/."""
    have = {s: load(s) for s in SECTIONS if os.path.exists(os.path.join(RESULTS, f"{s}.json"))}
    out = ["# Reliability", "",
           "What `mmcd` survives, measured by `scripts/reliability.py` with release binaries on loopback; "
           "every figure below comes from `docs/reliability/*.json`, which that script writes. Rerun:", "",
           "```sh",
           "python3 scripts/reliability.py run sustain faults auth fuzz           # ~20 min",
           "python3 scripts/reliability.py run overload soak --no-build --sustainable-rate 500000 --soak-minutes 60",
           "python3 scripts/reliability.py report                                 # this file",
           "```", "",
           "(`python3` with `pyzmq`: `pip install pyzmq`.)", "",
           "The behaviour behind each row is also asserted by tests (`Tests/MMCDaemonTests/ReliabilityEndToEndTests.swift`, "
           "`DaemonLimitsTests.swift`, `DaemonFaultTests.swift`, `ConfigurationFuzzTests.swift`, "
           "`Tests/MMCWireTests/FuzzTests.swift`); the script adds the numbers.", ""]
    if "sustain" in have:
        sustain_result = have["sustain"]
        m = sustain_result["machine"]
        holds = table(["paced rate, points/s", "feed took (s)", "largest update gap (s)", "steal (s)", "held"],
                      [[number(h["rate"]), f"{h['feed_seconds']:.1f}", number(h["update_gap_max"], 2),
                        f"{h['steal_seconds']:.1f}", "yes" if h["held"] else "no"] for h in sustain_result["holds"]])
        out += ["## Sustainable rate", "",
                f"Binary batches of 1,000 points over PUSH into a PULL input, 50,000-point window re-clustered "
                f"every second ({m['cpus']} CPUs, {m['cpu']}, load average {m['load'][0]:.1f} at the end, commit "
                f"{sustain_result['commit']}). Unpaced, the daemon decoded {number(sustain_result['peak_rate'])} "
                f"points/s over {sustain_result['peak_seconds']:.0f} s after a 5 s warm-up, with the feeder and the "
                f"daemon sharing the two cores flat out. Then paced feeds, from that peak down in steps of 10%, each "
                f"into a fresh daemon for {sustain_result['hold_seconds']:.0f} s, until one held: the feed ended within "
                f"2% of its scheduled time (a PUSH feed waits while the daemon is behind) and no two updates after "
                f"the first 10 s came more than 1.5 s apart.", "", holds, "",
                f"**Held for {sustain_result['hold_seconds']:.0f} s: {number(sustain_result['rate'])} points/s.** "
                f"A short hold on a quiet host is not an hour on a shared one: the soak and overload rows name the "
                f"sustainable rate they were run against (`--sustainable-rate`, `--rate`).", ""]
    rows = []
    if "soak" in have:
        k = have["soak"]
        expected = k["sampled_seconds"] / 1.0
        rss_ok = k["rss_baseline_mib"] and k["rss_max_mib"] <= k["rss_baseline_mib"] * 1.1 \
            and k["rss_min_mib"] >= k["rss_baseline_mib"] * 0.9
        late = k.get("updates_late")
        basis = f"{k['target_rate'] / BENCHMARK_RATE:.0%} of the daemon issue's {number(BENCHMARK_RATE)} points/s"
        if "sustain" in have and have["sustain"]["rate"]:
            basis += f", {k['target_rate'] / have['sustain']['rate']:.0%} of the rate held for " \
                f"{have['sustain']['hold_seconds']:.0f} s"
        rows.append([f"soak: {k['minutes']:.0f} min aimed at {number(k['target_rate'])} points/s ({basis}), PULL, "
                     f"commit {k['commit']}",
                     f"{number(k['sent'])} points sent in {number(k['feed_seconds'] / 60, 1)} min, "
                     f"{number(k['sent'] / k['feed_seconds'])} points/s on average (load average at the end "
                     f"{k['machine']['load'][0]:.1f}); RSS in the minute after the {k['warmup_minutes']:.0f}-min warm-up "
                     f"{number(k['rss_baseline_mib'], 1)} MiB on average, then {number(k['rss_min_mib'], 1)}-"
                     f"{number(k['rss_max_mib'], 1)} MiB to the end (**{'within' if rss_ok else 'NOT within'} 10%**); "
                     f"{number(k['reclusters_sampled'])} re-clusterings in {number(k['sampled_seconds'])} s (one a second "
                     f"would be {number(expected)}), {number(k['abandoned'])} abandoned; {number(k['updates'])} updates, "
                     f"mean gap {number(k['update_gap_mean'], 2)} s, largest {number(k['update_gap_max'], 2)} s"
                     + (f", {number(late)} gaps above 1.5 s" if late is not None else "")
                     + f"; {number(k['sequence_missed'])} sequence gaps",
                     f"**{number(k['sent'] - k['received'])}** (sent {number(k['sent'])}, received "
                     f"{number(k['received'])}, rejected {number(k['rejected'])}, dropped {number(k['dropped'])})"])
    first = os.path.join(RESULTS, "soak-heartbeats.json")
    if os.path.exists(first):
        with open(first) as file:
            k = json.load(file)
        rows.append([f"first soak, stopped after {k['feed_seconds'] / 60:.0f} min: {number(k['target_rate'])} points/s, "
                     f"PULL, commit {k['commit']} (before the fix below)",
                     f"RSS grew from {number(k['rss_baseline_mib'], 1)} to {number(k['rss_max_mib'], 1)} MiB: the daemon "
                     "fell behind (other builds on the machine) and libzmq's receive queue (then 10,000 messages) filled",
                     f"**{number(k['sent'] - k['received'])} points** of {number(k['sent'])} "
                     f"({100 * (k['sent'] - k['received']) / k['sent']:.2f}%) on a PULL input, and points out of order: "
                     "the input's ZMTP heartbeat timed out while libzmq was not reading the full queue, the connection "
                     "closed with messages in flight and the producer reconnected. Fixed: the input uses TCP keepalive "
                     "(`DaemonInputKeepalive`)"])
    if "overload" in have:
        o = have["overload"]
        taken = o["received"] / o["seconds"]
        rows.append([f"overload: SUB input offered {number(o['feed_rate'])} points/s for {o['seconds']:.0f} s, "
                     f"{o['feed_rate'] / o['sustainable_rate']:.1f} times the sustainable rate "
                     f"({number(o['sustainable_rate'])} points/s), by "
                     f"{o.get('feeders', 1)} feeder processes replaying a file (aimed at {number(o['target_rate'])})",
                     f"the daemon took {number(taken)} points/s meanwhile, so it was offered "
                     f"{o['feed_rate'] / taken:.1f} times what it could take; {number(o['sent'])} sent; "
                     f"{number(o['reclusters'])} "
                     f"re-clusterings, {number(o['updates'])} updates, largest gap {number(o['update_gap_max'], 2)} s; "
                     f"RSS at most {number(o['rss_max_mib'], 1)} MiB",
                     f"{number(o['dropped'])} dropped and counted (`queue_full`, counted in {o['drop_unit']}), "
                     f"{number(o['unaccounted'])} unaccounted"])
    if rows:
        out += ["## Load held", "", table(["load", "what held", "lost"], rows), ""]
        if "soak" in have:
            k = have["soak"]
            blocks = []
            for start in range(0, int(k["minutes"] * 60), 300):
                block = [x["rss_mib"] for x in k["samples"] if start <= x["t"] < start + 300]
                if block:
                    blocks.append(f"{start // 60}-{start // 60 + 5} min: {min(block):.0f}-{max(block):.0f}")
            out += ["Soak RSS by 5-minute block, MiB (min-max of the 10-s samples): " + "; ".join(blocks) + ". "
                    "A PUSH feed waits while the daemon is behind, so a feed that ran longer than "
                    f"{k['minutes']:.0f} min, updates late, and RSS above the warm-up level while the input queue "
                    "(at most `input.receive_hwm` + `input.queue_capacity` messages) is full all say the same: the "
                    "daemon did not keep up with that rate the whole time.", ""]
    if "faults" in have:
        r = have["faults"]["results"]
        rows = []
        if "daemon_sigkill" in r:
            d = r["daemon_sigkill"]
            rows.append([f"daemon SIGKILL at {number(d['rate'])} points/s, snapshot every {d['snapshot_interval']:.0f} s",
                         f"restarted from the last periodic snapshot ({number(d['restored'])} points restored, "
                         f"back in {d['restart_seconds']:.1f} s); the producer's PUSH reconnected by itself",
                         f"{number(d['lost_by_kill'])} of the {number(d['received_before_kill'])} points taken in before "
                         f"the kill were not in the last snapshot (rate x interval = {number(d['bound'])}; more when the "
                         f"daemon takes in a backlog faster than the rate); {number(d['lost_total'])} of "
                         f"{number(d['sent'])} over the whole run, the rest being the messages queued in the killed "
                         f"process (at most receive_hwm + queue_capacity messages)"])
        if "producer_sigkill" in r:
            p = r["producer_sigkill"]
            rows.append(["producer SIGKILL, then a new producer",
                         f"daemon kept serving: {number(p['second_received'])} points received after the kill: the "
                         f"{number(p['second_sent'])} of the new producer and what the killed one had already queued "
                         f"in the daemon",
                         "what the killed producer still held in its own send queue (not knowable by the daemon)"])
        if "subscriber_restart" in r:
            sr = r["subscriber_restart"]
            rows.append(["subscriber killed and restarted",
                         f"the new subscription got the latest full snapshot after "
                         f"{number(sr['seconds_to_snapshot'], 3)} s" if sr["snapshot_again"] else "NO snapshot", "nothing"])
        for kind in ("full", "read-only"):
            st = r.get(f"state_{kind}")
            if not st:
                continue
            if "skipped" in st:
                rows.append([f"state directory {kind}", f"skipped: {st['skipped']}", "-"])
                continue
            rows.append([f"state directory {kind} (64 KiB tmpfs)",
                         f"{number(st['snapshot_errors'])} failed snapshot writes counted "
                         f"(`mmcd_snapshot_writes_total{{result=\"error\"}}`), {number(st['snapshot_ok'])} ok, logged: "
                         f"{st['logged']}; kept serving: {number(st['received'])} of {number(st['sent'])} points received, "
                         f"{number(st['reclusters'])} re-clusterings; exit status {st['exit']}",
                         "no input; only what a crash would lose (no snapshot on disk)"])
        if "corrupt_snapshot" in r:
            c = r["corrupt_snapshot"]
            rows.append(["corrupt snapshot (4 KiB of random bytes)",
                         f"counted (`state_restores_total{{result=\"discarded\"}}` = {number(c['discarded'])}), moved aside: "
                         f"{c['moved_aside']}, started empty (window {number(c['window'])}), health {c['healthz']}",
                         "the unusable snapshot's window"])
        if "time_budget" in r:
            t = r["time_budget"]
            rows.append(["re-clustering over its time budget (1 ms)",
                         f"{number(t['abandoned'])} abandoned and counted, {number(t['completed'])} completed, "
                         f"{number(t['published'])} updates published", "no input; the abandoned results"])
        out += ["## Faults survived", "", table(["fault", "what happened", "lost"], rows), ""]
    if "auth" in have:
        a = have["auth"]
        refused = ", ".join(f"`{k}` = {number(v)}" for k, v in sorted(a["refused"].items()))
        out += ["## Authentication", "",
                table(["client", "sent", "accepted"], [
                    ["CURVE, key not on the allow-list", f"{a['unknown_key_sent_for_seconds']} s of a 100,000-point "
                     "PUSH feed (it waits for the handshake)", number(a["received_while_refused"])],
                    ["plain TCP (no CURVE) to the CURVE input", f"{a['plain_sent_for_seconds']} s of a 100,000-point "
                     "PUSH feed", "0 (included above)"],
                    ["the same CURVE client after its key was added and SIGHUP sent", number(a["allowed_sent"]),
                     number(a["received_after_sighup"])],
                ]), "", f"Refusals counted: {refused}. A plain client fails the CURVE handshake inside libzmq "
                "before the allow-list is asked, so it is not counted there.", ""]
    if "fuzz" in have:
        f = have["fuzz"]
        rows = []
        for rep in f["reports"]:
            if rep.get("crashed"):
                rows.append([rep["target"], number(rep["done_before_crash"]), f"{rep['seconds']:.1f}", "-", "-",
                             "**crashed**", "-"])
                continue
            rejected = sum(rep["rejected"].values())
            rows.append([rep["target"], number(rep["execs"]), f"{rep['seconds']:.1f}", number(rep["accepted"]),
                         number(rejected), f"{len(rep['failures'])} failures, 0 crashes",
                         number(rep["peak_rss_kib"] / 1024, 1)])
        out += ["## Bad inputs tried", "",
                f"`mmc fuzz --execs N --seed {f['seed']}` (release build, commit {f['commit']}): mutations of valid "
                "messages (bit flips, byte inserts and deletes, token inserts, truncations, splices, boundary integers "
                "in header fields); each input must decode to a value that survives a round trip, or be refused with "
                "an error. Nothing was lost: a refused message is counted by reason and the daemon goes on.", "",
                table(["target", "inputs", "seconds", "decoded", "refused", "result", "peak RSS, MiB"], rows), "",
                "Crashes the fuzzer found, each now a regression test (`ConfigurationFuzzTests`): toml++ (inside "
                "TOMLKit) aborts the process, even in release builds, on three shapes of malformed TOML: a table "
                "header without a key (`[=]`, `[`, `[é]`, `[ # x`; found in the first 200 inputs), a `}` where an "
                "array expects a value (`connect = [}`; at input 36,000) and a date followed by `T` and no time "
                "(`trees = 1979-05-27T\"07:32:00Z`; at input 437,000 of the first million). `mmcd --check-config`, "
                "a start or a SIGHUP reload of such a file killed the daemon. `TOMLGuard` now finds these shapes "
                "and the loader refuses them before toml++ sees the text. The wire decoders had no crash and no "
                "broken round trip.", ""]
    with open(os.path.join(REPO, "docs", "reliability.md"), "w") as file:
        file.write("\n".join(out))
    progress("wrote docs/reliability.md")


if __name__ == "__main__":
    main()
