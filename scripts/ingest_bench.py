#!/usr/bin/env python3
"""Daemon-level ingest and memory benchmarks of mmcd over tcp loopback.

Starts a release mmcd (config/mmcd.toml plus --set overrides, no state directory, ephemeral
ports), drives it with `mmc feed` (binary or JSON columns, batches of 1,000 points, PUSH into a
PULL input or PUB into a SUB input) and watches it from outside only:

- the Prometheus endpoint /metrics, scraped every --sample-ms (100 ms):
  mmcd_points_received_total, mmcd_points_dropped_total{reason}, mmcd_points_rejected_total,
  mmcd_recluster_duration_seconds_{sum,count};
- the published updates (a SUB on the output endpoint): every cluster update gives a
  re-clustering's start (its "time" field) and, by its arrival, its end; every provisional
  assignments message is sent right after one input batch went into the window, so their
  arrival times show ingestion batch by batch (gaps = ingestion stalls);
- the control endpoint's stats at the end, and /proc/PID for resident memory and CPU time.

Subcommands:

  ingest  one run: --socket pull|sub --format binary|json [--rate R] [--points N]
  matrix  the four socket x format runs unpaced, then paced at the targets (500k/s binary,
          150k/s JSON); prints a Markdown table and writes JSON to --out
  soak    resident memory (VmRSS) every 10 s at a steady paced rate (PUSH -> PULL)

Usage (from the repository root, with a Python that has pyzmq; binaries from
`swift build -c release`, or --bin DIR):

  python3 scripts/ingest_bench.py --bin .build/release matrix --out out/dbench/ingest.json
  python3 scripts/ingest_bench.py --bin .build/release soak --minutes 30 --rate 100000 --out out/dbench/soak.json

Loss accounting: PULL must lose nothing (points sent by feed == mmcd_points_received_total).
SUB may lose, but every loss must be counted: sent == received + dropped + rejected, all in
points as the daemon counts them (mmcd_points_dropped_total, mmcd_points_rejected_total).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import zmq

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_BIN = os.path.join(REPO, ".build", "release")
BATCH = 1_000


# ---------------------------------------------------------------------------------------------
# Daemon handling, shared with stream_bench.py


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A running mmcd on ephemeral loopback ports; stop() sends SIGTERM and waits."""

    def __init__(self, binary: str, overrides: list, log_path: str, config: str = ""):
        self.input_port = free_port()
        self.output_port = free_port()
        self.control_port = free_port()
        self.http_port = free_port()
        self.input = f"tcp://127.0.0.1:{self.input_port}"
        self.output = f"tcp://127.0.0.1:{self.output_port}"
        self.control = f"tcp://127.0.0.1:{self.control_port}"
        self.overrides = [
            f"input.bind={self.input}",
            f"output.endpoint={self.output}",
            f"control.endpoint={self.control}",
            f"http.port={self.http_port}",
            'state.directory=""',
        ] + list(overrides)
        self.command = [binary, "--config", config or os.path.join(REPO, "config", "mmcd.toml")]
        for item in self.overrides:
            self.command += ["--set", item]
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        deadline = time.time() + 30
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"mmcd exited with status {self.process.returncode}; see {log_path}")
            try:
                self.metrics()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"mmcd did not serve /metrics within 30 s; see {log_path}")
                time.sleep(0.1)

    def command_line(self) -> str:
        return " ".join(self.command)

    def metrics(self, timeout: float = 5.0) -> dict:
        """The /metrics text as {name or name{labels}: value}."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/metrics", timeout=timeout) as response:
            text = response.read().decode()
        values = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            key, _, value = line.rpartition(" ")
            try:
                values[key] = float(value)
            except ValueError:
                pass
        return values

    def request(self, name: str, timeout: float = 10.0) -> dict:
        context = zmq.Context.instance()
        req = context.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
        req.connect(self.control)
        try:
            req.send(json.dumps({"protocol": 1, "request": name}).encode())
            return json.loads(req.recv())
        finally:
            req.close()

    def stats(self) -> dict:
        return self.request("stats")["stats"]

    def proc(self) -> dict:
        """VmRSS (bytes) and CPU seconds (user + system) of the daemon."""
        rss = 0
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return {"rss": rss, "cpu": (int(fields[11]) + int(fields[12])) / ticks}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def metric(values: dict, name: str, **labels) -> float:
    """The value of one series; a labelled family summed when no labels are given."""
    if labels:
        key = name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"
        return values.get(key, 0.0)
    if name in values:
        return values[name]
    return sum(v for k, v in values.items() if k.startswith(name + "{"))


def steal_seconds() -> float:
    """CPU time stolen by the hypervisor so far, all CPUs (the `steal` column of /proc/stat)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"nproc": os.cpu_count(), "cpu": model, "loadavg": load}


# ---------------------------------------------------------------------------------------------
# Watching a run


class Monitor(threading.Thread):
    """Scrapes /metrics and /proc every `interval` seconds until stopped."""

    def __init__(self, daemon: Daemon, interval: float):
        super().__init__(daemon=True)
        self.d = daemon
        self.interval = interval
        self.samples = []
        self.failures = []  # times of scrapes that failed (timeout after 5 s)
        self.halt = threading.Event()

    def run(self) -> None:
        next_time = time.time()
        while not self.halt.is_set():
            asked = time.time()
            try:
                values = self.d.metrics()
                proc = self.d.proc()
            except OSError:
                values, proc = None, None
                self.failures.append(asked)
            if values is not None:
                self.samples.append({
                    "t": time.time(),
                    "scrape_s": time.time() - asked,
                    "received": metric(values, "mmcd_points_received_total"),
                    "decoded": metric(values, "mmcd_points_decoded_total"),
                    "dropped": metric(values, "mmcd_points_dropped_total"),
                    "rejected": metric(values, "mmcd_points_rejected_total"),
                    "reclusters": metric(values, "mmcd_recluster_duration_seconds_count"),
                    "recluster_seconds": metric(values, "mmcd_recluster_duration_seconds_sum"),
                    "batch_ingest": {k[len(INGEST_BUCKET):-2]: v for k, v in values.items()
                                     if k.startswith(INGEST_BUCKET)},
                    "rss": proc["rss"], "cpu": proc["cpu"],
                })
            next_time += self.interval
            delay = next_time - time.time()
            if delay > 0:
                self.halt.wait(delay)
            else:
                next_time = time.time()


INGEST_BUCKET = 'mmcd_batch_ingest_duration_seconds_bucket{le="'
TIME_FIELD = re.compile(rb'"model_version":(\d+),"time":([-+0-9.eE]+)')


class UpdateWatcher(threading.Thread):
    """Records the arrival of every published message; decodes only a cluster update's header."""

    def __init__(self, endpoint: str):
        super().__init__(daemon=True)
        context = zmq.Context.instance()
        self.sub = context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.connect(endpoint)
        self.clusters = []      # (arrival, model_version, start time, sequence)
        self.provisional = []   # (arrival, sequence, ids in the message, first id)
        self.halt = threading.Event()

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        while not self.halt.is_set():
            if not poller.poll(100):
                continue
            while True:
                try:
                    topic, body, seq = self.sub.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                now = time.time()
                sequence = int.from_bytes(seq, "little")
                if topic.startswith(b"clusters."):
                    match = TIME_FIELD.search(body[:200])
                    if match:
                        self.clusters.append((now, int(match.group(1)), float(match.group(2)), sequence))
                else:
                    # '"ids":[' up to ']': the first id, and the count from the commas
                    start = body.find(b'"ids":[')
                    end = body.find(b"]", start)
                    count = body.count(b",", start, end) + 1 if start >= 0 else 0
                    stop = body.find(b",", start + 7, end)
                    first = int(body[start + 7:stop if stop >= 0 else end]) if start >= 0 else -1
                    self.provisional.append((now, sequence, count, first))
        self.sub.close()


# ---------------------------------------------------------------------------------------------
# One ingest run


def feed_command(mmc: str, endpoint: str, sock: str, fmt: str, points: int, rate) -> list:
    command = [mmc, "feed", "--generate", "drift", "--seed", "7", "--endpoint", endpoint,
               "--socket", "push" if sock == "pull" else "pub", "--format", fmt,
               "--batch", str(BATCH), "--count", str(points)]
    if rate:
        command += ["--rate", str(rate)]
    if sock == "sub":
        command += ["--warmup-ms", "1000"]
    else:
        # A small send queue: with back-pressure, what feed counts as sent has (nearly) left it;
        # with the default 10,000 messages, up to 10 M points could wait in feed's queue and be
        # discarded when its 10 s linger ends.
        command += ["--hwm", "100"]
    return command


def run_ingest(args, sock: str, fmt: str, points: int, rate, label: str) -> dict:
    os.makedirs(args.workdir, exist_ok=True)
    overrides = [
        f"input.socket={sock}",
        f"window.size={args.window}",
        f"schedule.interval_seconds={args.interval}",
        "schedule.every_points=0",
        f"output.provisional={'true' if args.provisional else 'false'}",
    ] + args.set
    log_path = os.path.join(args.workdir, f"mmcd-{label}.log")
    daemon = Daemon(os.path.join(args.bin, "mmcd"), overrides, log_path, args.config)
    watcher = UpdateWatcher(daemon.output)
    watcher.start()
    monitor = Monitor(daemon, args.sample_ms / 1000)
    monitor.start()
    time.sleep(1.0)  # subscriptions settle
    command = feed_command(os.path.join(args.bin, "mmc"), daemon.input, sock, fmt, points, rate)
    load_before = machine()["loadavg"]
    steal_before = steal_seconds()
    feed_start = time.time()
    feed = subprocess.run(command, capture_output=True, text=True)
    feed_end = time.time()
    steal = steal_seconds() - steal_before
    if feed.returncode != 0:
        print(feed.stderr, file=sys.stderr)
    match = re.search(r"sent (\d+) points in (\d+) batch\w* in ([0-9.]+) s", feed.stdout)
    sent = int(match.group(1)) if match else -1
    # Drain: wait until the received counter stops moving for 2 s (at most 120 s).
    last, still_since, deadline = -1.0, time.time(), time.time() + 120
    while time.time() < deadline:
        time.sleep(0.25)
        now_received = monitor.samples[-1]["received"] if monitor.samples else 0
        accounted = now_received + monitor.samples[-1]["dropped"] + monitor.samples[-1]["rejected"] \
            if monitor.samples else 0
        if now_received != last:
            last, still_since = now_received, time.time()
        elif time.time() - still_since > 2.0 or accounted >= sent:
            if time.time() - still_since > 0.5:
                break
    time.sleep(args.interval * 1.5 + 0.5)  # one more re-clustering after the last point
    monitor.halt.set()
    monitor.join()
    asked = time.time()
    final = daemon.metrics(timeout=60)
    final_scrape = time.time() - asked
    stats = daemon.stats()
    watcher.halt.set()
    watcher.join()
    status = daemon.stop()
    result = analyse(monitor.samples, watcher, final, stats, sent, feed_start, feed_end, args, rate)
    result.update({
        "final_scrape_s": final_scrape, "scrape_failures": len(monitor.failures),
        "scrape_max_s": max((x["scrape_s"] for x in monitor.samples), default=None),
        "label": label, "socket": sock, "format": fmt, "rate_requested": rate, "points_requested": points,
        "feed_stdout": feed.stdout.strip(), "feed_command": " ".join(command),
        "mmcd_command": daemon.command_line(), "mmcd_exit": status, "loadavg_before": load_before,
        "loadavg_after": machine()["loadavg"],
        # CPU time the hypervisor gave to other guests while the feed ran (all CPUs summed):
        # a run with steal is disturbed from outside.
        "steal_seconds": steal,
    })
    if args.keep_samples:
        result["samples"] = monitor.samples
        result["updates"] = watcher.clusters
        result["provisional"] = watcher.provisional
    return result


def analyse(samples, watcher, final, stats, sent, feed_start, feed_end, args, rate=None) -> dict:
    received = metric(final, "mmcd_points_received_total")
    dropped = metric(final, "mmcd_points_dropped_total")
    rejected = metric(final, "mmcd_points_rejected_total")
    # Sustained rate: from the first sample with the window full to the last sample that grew.
    full = next((i for i, s in enumerate(samples) if s["received"] >= args.window), None)
    grew = [i for i in range(1, len(samples)) if samples[i]["received"] > samples[i - 1]["received"]]
    last = grew[-1] if grew else None
    sustained = None
    if full is not None and last is not None and last > full:
        a, b = samples[full], samples[last]
        sustained = (b["received"] - a["received"]) / (b["t"] - a["t"])
    first = grew[0] - 1 if grew else None
    overall = None
    if first is not None and last is not None and last > first:
        overall = (samples[last]["received"] - samples[first]["received"]) / (samples[last]["t"] - samples[first]["t"])
    cpu = None
    if first is not None and last is not None and last > first:
        cpu = (samples[last]["cpu"] - samples[first]["cpu"]) / (samples[last]["t"] - samples[first]["t"])

    # Re-clustering intervals: [start, arrival of its update].
    intervals = [(start, arrival) for arrival, _, start, _ in watcher.clusters]
    durations = [b - a for a, b in intervals]

    def busy(t0, t1):
        overlap = sum(max(0.0, min(t1, b) - max(t0, a)) for a, b in intervals)
        return overlap / (t1 - t0) if t1 > t0 else 0.0

    during, between = [], []
    if full is not None and last is not None:
        for i in range(full + 1, last + 1):
            s0, s1 = samples[i - 1], samples[i]
            if s1["t"] <= s0["t"]:
                continue
            sample_rate = (s1["received"] - s0["received"]) / (s1["t"] - s0["t"])
            share = busy(s0["t"], s1["t"])
            if share >= 0.999:
                during.append(sample_rate)
            elif share <= 0.001:
                between.append(sample_rate)

    def summary(values):
        if not values:
            return None
        ordered = sorted(values)
        return {"n": len(values), "mean": sum(values) / len(values), "min": ordered[0],
                "p10": ordered[len(ordered) // 10], "max": ordered[-1]}

    # Batch-level stalls from provisional messages (one per ingested batch).
    gaps_during, gaps_between = [], []
    prov = [p for p in watcher.provisional if full is None or p[0] >= samples[full]["t"]]
    for (t0, *_), (t1, *_) in zip(prov, prov[1:]):
        share = busy(t0, t1)
        (gaps_during if share > 0 else gaps_between).append(t1 - t0)
    seq_gaps = sum(max(0, b[1] - a[1] - 1) for a, b in zip(watcher.provisional, watcher.provisional[1:]))

    def gap_summary(values):
        if not values:
            return None
        ordered = sorted(values)
        return {"n": len(values), "max_ms": ordered[-1] * 1000, "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
                "median_ms": ordered[len(ordered) // 2] * 1000}

    # With a paced feed, batch k leaves feed at about t0 + first_id / rate: the arrival of its
    # provisional assignments minus that is its end-to-end latency (feed -> mmcd window ->
    # publisher -> this process), up to the unknown t0, taken out by subtracting the minimum.
    latency = None
    if rate and prov:
        raw = [(arrival, arrival - first / rate) for arrival, _, _, first in prov]
        floor = min(r for _, r in raw)
        during_l, between_l = [], []
        for arrival, r in raw:
            sent_at = arrival - (r - floor)
            inside = any(a - 0.05 <= sent_at <= b or a <= arrival <= b for a, b in intervals)
            (during_l if inside else between_l).append(r - floor)
        period = BATCH / rate
        latency = {"batch_period_ms": period * 1000, "during": gap_summary(during_l),
                   "between": gap_summary(between_l)}
    # The daemon's own view: per batch, input queue -> window (mmcd_batch_ingest_duration_seconds),
    # counted from the first sample with the window full, as the rates are.
    def ingest_histogram(values: dict) -> dict:
        return {float(bound): count for bound, count in values.items()}
    batch_ingest = None
    if full is not None:
        first_hist = ingest_histogram(samples[full].get("batch_ingest", {}))
        last_hist = {float(k[len(INGEST_BUCKET):-2]): v for k, v in final.items() if k.startswith(INGEST_BUCKET)}
        bounds = sorted(last_hist)
        counts = {b: last_hist[b] - first_hist.get(b, 0.0) for b in bounds}
        total = counts[bounds[-1]] if bounds else 0.0
        within = max((counts[b] for b in bounds if rate and b <= BATCH / rate + 1e-12), default=None)
        batch_ingest = {"batches": total, "at_most_ms": {f"{b * 1000:g}": c for b, c in counts.items()},
                        "over_batch_period": total - within if within is not None else None}
    return {
        "excess_latency": latency,
        "batch_ingest": batch_ingest,
        "sent": sent,
        "received": received,
        "decoded": metric(final, "mmcd_points_decoded_total"),
        "dropped": dropped,
        "rejected": rejected,
        "unaccounted": sent - received - dropped - rejected,
        "stats": stats,
        "feed_seconds": feed_end - feed_start,
        "overall_rate": overall,
        "sustained_rate": sustained,
        "daemon_cpu_cores": cpu,
        "recluster_count": metric(final, "mmcd_recluster_duration_seconds_count"),
        "recluster_mean_s": (metric(final, "mmcd_recluster_duration_seconds_sum")
                             / max(1.0, metric(final, "mmcd_recluster_duration_seconds_count"))),
        "recluster_observed": summary(durations),
        "rate_during_recluster": summary(during),
        "rate_between_reclusters": summary(between),
        "batch_gap_during": gap_summary(gaps_during),
        "batch_gap_between": gap_summary(gaps_between),
        "provisional_messages": len(watcher.provisional),
        "provisional_sequence_gaps": seq_gaps,
        "rss_max": max((s["rss"] for s in samples), default=0),
    }


def fmt_rate(value) -> str:
    return "-" if value is None else f"{value / 1000:,.0f}k"


def print_row(r: dict) -> str:
    during = r["rate_during_recluster"]
    between = r["rate_between_reclusters"]
    gd, gb = r["batch_gap_during"], r["batch_gap_between"]
    loss = r["sent"] - r["received"]
    return (f"| {r['socket']} | {r['format']} | {'max' if not r['rate_requested'] else fmt_rate(r['rate_requested'])} "
            f"| {r['sent']:,} | {r['received']:,.0f} | {r['dropped']:,.0f} | {r['rejected']:,.0f} "
            f"| {loss:,.0f} | {r['unaccounted']:,.0f} | {fmt_rate(r['sustained_rate'])} "
            f"| {fmt_rate(during['mean'] if during else None)} ({fmt_rate(during['min'] if during else None)}) "
            f"| {fmt_rate(between['mean'] if between else None)} ({fmt_rate(between['min'] if between else None)}) "
            f"| {gd['max_ms'] if gd else float('nan'):.0f} / {gb['max_ms'] if gb else float('nan'):.0f} "
            f"| {r['recluster_count']:.0f} × {r['recluster_mean_s'] * 1000:.0f} ms "
            f"| {r['daemon_cpu_cores'] or 0:.2f} |")


HEADER_ROW = ("| input | format | feed rate | sent | received | counted drops | rejects | lost | unaccounted "
              "| sustained accepted/s | during re-clustering: mean (min 100 ms) | between: mean (min 100 ms) "
              "| max batch gap ms during / between | re-clusterings × mean | daemon cores |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def command_ingest(args) -> None:
    rate = args.rate or None
    result = run_ingest(args, args.socket, args.format, args.points, rate, f"{args.socket}-{args.format}")
    print(HEADER_ROW)
    print(print_row(result))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": machine(), "runs": [result]}, f, indent=1)


def command_matrix(args) -> None:
    info = machine()
    print(f"machine: {info}", flush=True)
    runs = []
    plan = []
    for sock in ("pull", "sub"):
        for fmt in ("binary", "json"):
            plan.append((sock, fmt, args.points_binary if fmt == "binary" else args.points_json, None))
    for sock in ("pull", "sub") if args.paced else ():
        for fmt in ("binary", "json"):
            target = args.target_binary if fmt == "binary" else args.target_json
            plan.append((sock, fmt, int(target * args.paced_seconds), target))
    for sock, fmt, points, rate in plan:
        label = f"{sock}-{fmt}-{'max' if rate is None else int(rate)}"
        print(f"run {label}: {points:,} points", flush=True)
        r = run_ingest(args, sock, fmt, points, rate, label)
        runs.append(r)
        print(HEADER_ROW.splitlines()[0] if len(runs) == 1 else "", end="")
        print(("\n" + HEADER_ROW.splitlines()[1] + "\n") if len(runs) == 1 else "", end="")
        print(print_row(r), flush=True)
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"machine": info, "runs": runs}, f, indent=1)
    print()
    print(HEADER_ROW)
    for r in runs:
        print(print_row(r))


def command_soak(args) -> None:
    os.makedirs(args.workdir, exist_ok=True)
    info = machine()
    overrides = [
        "input.socket=pull", f"window.size={args.window}", f"schedule.interval_seconds={args.interval}",
        "schedule.every_points=0",
    ] + args.set
    daemon = Daemon(os.path.join(args.bin, "mmcd"), overrides, os.path.join(args.workdir, "mmcd-soak.log"),
                    args.config)
    seconds = args.minutes * 60
    points = int(args.rate * (seconds + 5))
    command = feed_command(os.path.join(args.bin, "mmc"), daemon.input, "pull", "binary", points, args.rate)
    feed = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start = time.time()
    samples = []
    print(f"machine: {info}\nmmcd: {daemon.command_line()}\nfeed: {' '.join(command)}", flush=True)

    def write():
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"machine": info, "mmcd_command": daemon.command_line(), "feed_command": " ".join(command),
                           "rate": args.rate, "minutes": args.minutes, "samples": samples}, f, indent=1)

    while time.time() - start < seconds:
        target = start + len(samples) * args.every
        time.sleep(max(0.0, target - time.time()))
        values = daemon.metrics()
        proc = daemon.proc()
        sample = {"elapsed": time.time() - start, "rss": proc["rss"], "cpu": proc["cpu"],
                  "received": metric(values, "mmcd_points_received_total"),
                  "dropped": metric(values, "mmcd_points_dropped_total"),
                  "reclusters": metric(values, "mmcd_recluster_duration_seconds_count"),
                  "recluster_seconds": metric(values, "mmcd_recluster_duration_seconds_sum"),
                  "loadavg": machine()["loadavg"]}
        samples.append(sample)
        print(f"{sample['elapsed']:7.1f} s  RSS {sample['rss'] / 2**20:7.1f} MiB  received {sample['received']:>12,.0f}"
              f"  dropped {sample['dropped']:.0f}  re-clusterings {sample['reclusters']:.0f}  load {sample['loadavg']}",
              flush=True)
        write()
    feed.send_signal(signal.SIGINT)
    out, _ = feed.communicate(timeout=60)
    stats = daemon.stats()
    daemon.stop()
    print(out.strip())
    print(f"stats: {stats}")
    warm = [s for s in samples if s["elapsed"] >= args.warmup]
    if warm:
        first, end = warm[0], samples[-1]
        print(f"RSS after warm-up ({first['elapsed']:.0f} s): {first['rss'] / 2**20:.1f} MiB; at the end "
              f"({end['elapsed']:.0f} s): {end['rss'] / 2**20:.1f} MiB; change {100 * (end['rss'] / first['rss'] - 1):+.1f} %; "
              f"max after warm-up {max(s['rss'] for s in warm) / 2**20:.1f} MiB")
    write()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=DEFAULT_BIN, help="folder holding release mmcd and mmc")
    parser.add_argument("--workdir", default=os.path.join(REPO, "out", "dbench"))
    parser.add_argument("--config", default=os.path.join(REPO, "config", "mmcd.toml"),
                        help="the mmcd configuration file the overrides apply to (the one of the built commit)")
    parser.add_argument("--window", type=int, default=50_000)
    parser.add_argument("--interval", type=float, default=1.0, help="schedule.interval_seconds")
    parser.add_argument("--no-provisional", dest="provisional", action="store_false")
    parser.add_argument("--set", action="append", default=[], help="extra mmcd --set override")
    parser.add_argument("--sample-ms", type=float, default=100)
    parser.add_argument("--out")
    parser.add_argument("--keep-samples", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest")
    p.add_argument("--socket", choices=["pull", "sub"], default="pull")
    p.add_argument("--format", choices=["binary", "json"], default="binary")
    p.add_argument("--points", type=int, default=10_000_000)
    p.add_argument("--rate", type=float)
    p = sub.add_parser("matrix")
    p.add_argument("--points-binary", type=int, default=20_000_000)
    p.add_argument("--points-json", type=int, default=8_000_000)
    p.add_argument("--no-paced", dest="paced", action="store_false", help="only the unpaced runs")
    p.add_argument("--target-binary", type=float, default=500_000)
    p.add_argument("--target-json", type=float, default=150_000)
    p.add_argument("--paced-seconds", type=float, default=20)
    p = sub.add_parser("soak")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--rate", type=float, default=100_000)
    p.add_argument("--every", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before the reference RSS sample")
    args = parser.parse_args()
    {"ingest": command_ingest, "matrix": command_matrix, "soak": command_soak}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
