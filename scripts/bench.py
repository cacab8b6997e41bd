#!/usr/bin/env python3
"""Run `mmc bench` and its Python peers on the same points, and print a markdown report.

usage: scripts/bench.py [options] [-- extra mmc bench flags]
   e.g. python3 scripts/bench.py   (its report is the speed and memory section of docs/benchmarks.md)
        /work/venv/bin/python scripts/bench.py --no-build --sklearn-max-points 20000 -- --only forest,recluster

Steps, in one run:
1. build mmc in release mode (unless --no-build);
2. write seeded 2-D points (Gaussian blobs of different spreads and weights in 5% uniform
   noise, each file scaled to [0, 1]) to a temporary folder: one window per --recluster-sizes
   entry and a stream of twice the largest window;
3. run `mmc bench --json` on them (--points-file for the windows, --stream-file for the forest,
   memory and PUB/SUB sections);
4. on the same points: river's anomaly.HalfSpaceTrees learn_one (at river's defaults and at
   mmcd's t and h), scikit-learn's HDBSCAN() and HDBSCAN(min_cluster_size=n//100), and
   scripts/wire_bench.py on the same wire payloads;
5. print the report: every table gives ours, the peer and the ratio, with the machine, its load
   average at the start and the exact commands.

Needs numpy, scikit-learn and river (river 0.26 was used); progress goes to standard error.
Ratios use CPU time (thread CPU time for single-threaded loops, process CPU time for
scikit-learn), which other processes on a shared machine disturb less than wall time.
"""

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import river
import sklearn
from river import anomaly
from sklearn.cluster import HDBSCAN

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TARGET_FOREST_RATE = 1_000_000   # inserts per second of CPU time, window full
TARGET_RECLUSTER_SPEEDUP = 5.0   # sklearn HDBSCAN() CPU time over ours, at 20,000 points


def progress(message):
    print(f"bench.py: {message}", file=sys.stderr, flush=True)


def machine():
    """Processors, CPU model and load average, read now."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"processors": os.cpu_count(), "cpu_model": model, "load_average": list(os.getloadavg())}


def blob_model(seed, dimension=2, clusters=6):
    """Centres, spreads and weights of the blobs; the same for every file of a run."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1, 0.9, (clusters, dimension))
    spreads = rng.uniform(0.01, 0.05, clusters)
    weights = rng.uniform(1.0, 4.0, clusters)
    return centres, spreads, weights / weights.sum()


def blob_points(model, count, seed, noise=0.05):
    """`count` points of the blob model in random order, each feature scaled to [0, 1]."""
    centres, spreads, weights = model
    rng = np.random.default_rng([seed, count])
    noise_count = int(round(count * noise))
    sizes = rng.multinomial(count - noise_count, weights)
    parts = [rng.normal(centre, spread, (size, centres.shape[1]))
             for centre, spread, size in zip(centres, spreads, sizes)]
    parts.append(rng.uniform(0.0, 1.0, (noise_count, centres.shape[1])))
    points = np.concatenate(parts)
    rng.shuffle(points)
    low, high = points.min(axis=0), points.max(axis=0)
    return (points - low) / (high - low)


def write_points(path, points):
    """One point per line, commas, 17 significant digits: read back bit for bit."""
    np.savetxt(path, points, fmt="%.17g", delimiter=",")


def timed(function):
    """(thread CPU seconds, process CPU seconds, wall seconds, result) of one call."""
    thread, process, wall = time.thread_time(), time.process_time(), time.perf_counter()
    result = function()
    return time.thread_time() - thread, time.process_time() - process, time.perf_counter() - wall, result


def spread(samples):
    ordered = sorted(samples)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"median": median, "min": ordered[0], "max": ordered[-1]}


def river_rates(stream, n_trees, height, window_size, points, repetitions, seed):
    """learn_one points per second (thread CPU and wall) of river's HalfSpaceTrees, reference
    window filled first, then `repetitions` timed runs of `points` points along the stream."""
    model = anomaly.HalfSpaceTrees(n_trees=n_trees, height=height, window_size=window_size, seed=seed)
    needed = window_size + points * repetitions
    rows = [stream[i % len(stream)] for i in range(needed)]
    samples = [{f"x{j}": float(value) for j, value in enumerate(row)} for row in rows]
    for sample in samples[:window_size]:
        model.learn_one(sample)
    cpu, wall = [], []
    for repetition in range(repetitions):
        chunk = samples[window_size + repetition * points: window_size + (repetition + 1) * points]

        def learn():
            for sample in chunk:
                model.learn_one(sample)

        thread_seconds, _, wall_seconds, _ = timed(learn)
        cpu.append(points / thread_seconds)
        wall.append(points / wall_seconds)
    return {"n_trees": n_trees, "height": height, "window_size": window_size, "points": points,
            "repetitions": repetitions, "cpu": spread(cpu), "wall": spread(wall)}


def sklearn_hdbscan(points, min_cluster_size, runs):
    """Process CPU and wall seconds of HDBSCAN(...).fit(points), and what it found."""
    cpu, wall, labels = [], [], None
    # scikit-learn 1.9 warns that the default of `copy` will change; the defaults are the point here.
    warnings.filterwarnings("ignore", message="The default value of `copy`", category=FutureWarning)
    for _ in range(runs):
        estimator = HDBSCAN() if min_cluster_size is None else HDBSCAN(min_cluster_size=min_cluster_size)
        _, process_seconds, wall_seconds, fitted = timed(lambda: estimator.fit(points))
        cpu.append(process_seconds)
        wall.append(wall_seconds)
        labels = fitted.labels_
    return {"min_cluster_size": min_cluster_size if min_cluster_size is not None else 5, "runs": runs,
            "cpu": spread(cpu), "wall": spread(wall),
            "clusters": int(labels.max()) + 1, "noise": int((labels < 0).sum())}


def wire_python(points, dimension, seed, seconds):
    """scripts/wire_bench.py's rates, parsed from its output: {name: (points/s, values/s)}."""
    command = [sys.executable, os.path.join(REPO, "scripts", "wire_bench.py"), "--points", str(points),
               "--dim", str(dimension), "--seed", str(seed), "--seconds", str(seconds)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rates = {}
    for line in output.splitlines():
        match = re.match(r"decode (.+?)\s+\d+ bytes\s+([\d,]+) points/s\s+([\d,]+) values/s", line)
        if match:
            rates[match.group(1)] = (float(match.group(2).replace(",", "")), float(match.group(3).replace(",", "")))
    return {"command": shlex.join(["python3", os.path.join("scripts", "wire_bench.py")] + command[2:]), "rates": rates}


def number(value, digits=0):
    return f"{value:,.{digits}f}"


def ratio(ours, peer):
    return f"{ours / peer:,.1f}x" if peer else "n/a"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def report(args, start_machine, mmc_command, ours, river, sklearn, wire, python_command):
    out = ["# mmcd performance figures", ""]
    load = " ".join(f"{value:.2f}" for value in start_machine["load_average"])
    out += [
        f"Measured on {start_machine['processors']} x {start_machine['cpu_model']}, load average {load} "
        f"(1, 5, 15 min) when the run started; Python {platform.python_version()}, "
        f"numpy {np.__version__}, scikit-learn {sklearn['version']}, river {river['version']}.",
        "",
        "The machine is shared with other builds, so wall times vary with its load: every ratio "
        "below uses CPU time (thread CPU time for our single-threaded loops and river, process "
        "CPU time for scikit-learn), which is far steadier. The machine is a KVM guest with two "
        "vCPUs: its caches and memory bandwidth are shared with whatever else runs, and time the "
        "hypervisor takes away can count as the thread's, so CPU time too is slower on a busy "
        "machine. Read the figures as lower bounds for an idle one.",
        "",
        "Commands (the points are written by bench.py to a temporary folder and handed to both sides):",
        "",
        "```",
        python_command,
        mmc_command,
        wire["command"],
        "```",
        "",
    ]

    forest = ours.get("forest", [])
    if forest:
        out += ["## Forest insert + expire", "",
                "Steady state: the window is full, every insert expires the oldest point "
                "(`StreamModel.insert`: window append, expiry, forest update), at "
                "`MassForest.Parameters.default`. Our rates are the median (min-max) over "
                f"{forest[0]['repetitions']} repetitions of {number(forest[0]['inserts_per_repetition'])} "
                f"inserts; river's over {river['results'][0]['repetitions']} of "
                f"{number(river['results'][0]['points'])} `learn_one` calls after its reference window "
                "was filled. The ratio is ours (CPU) over the peer (CPU).", ""]
        rows = []
        for result in forest:
            rows.append([f"mmc, window {number(result['window_size'])}",
                         f"t={result['tree_count']}, h={result['height']}",
                         f"{number(result['cpu_points_per_second']['median'])} "
                         f"({number(result['cpu_points_per_second']['min'])}-{number(result['cpu_points_per_second']['max'])})",
                         f"{number(result['wall_points_per_second']['median'])}", ""])
        reference = forest[0]["cpu_points_per_second"]["median"]
        for result in river["results"]:
            rows.append([f"river HalfSpaceTrees, window {result['window_size']}",
                         f"t={result['n_trees']}, h={result['height']}",
                         f"{number(result['cpu']['median'])} ({number(result['cpu']['min'])}-{number(result['cpu']['max'])})",
                         f"{number(result['wall']['median'])}",
                         ratio(reference, result["cpu"]["median"])])
        out += [table(["model", "trees, height", "points/s, CPU time", "points/s, wall", "ours (first row) / peer"], rows), ""]

    recluster = ours.get("recluster", [])
    if recluster:
        out += ["## Re-clustering", "",
                "`cluster(_:parameters:)` at its defaults on the same 2-D window as scikit-learn's `HDBSCAN` "
                "(which runs single-threaded here). Median (min-max) seconds per run; the speed-up is "
                "the peer's CPU time over ours (mmc row).", ""]
        rows = []
        for size, peers in sklearn["results"].items():
            ours_rows = [r for r in recluster if r["points"] == int(size)]
            if not ours_rows:
                continue
            mmc_cpu = next(r["cpu_seconds"]["median"] for r in ours_rows if r["method"] == "mmc")
            for r in ours_rows:
                rows.append([number(r["points"]), f"ours, {r['method']}",
                             f"min samples {r['min_samples']}, min cluster size {r['min_cluster_size']}",
                             f"{r['runs']}", seconds_text(r["cpu_seconds"]), seconds_text(r["wall_seconds"]),
                             f"{r['clusters']} / {number(r['noise'])}", ""])
            for label, peer in peers.items():
                rows.append([number(int(size)), f"sklearn {label}",
                             f"min samples = min cluster size = {peer['min_cluster_size']}",
                             f"{peer['runs']}", seconds_text(peer["cpu"]), seconds_text(peer["wall"]),
                             f"{peer['clusters']} / {number(peer['noise'])}",
                             ratio(peer["cpu"]["median"], mmc_cpu)])
        out += [table(["points", "method", "parameters", "runs", "CPU s", "wall s", "clusters / noise",
                       "peer CPU / ours"], rows), ""]
        if sklearn["skipped"]:
            out += [f"scikit-learn was not run on {', '.join(number(n) for n in sklearn['skipped'])} points "
                    f"(--sklearn-max-points {number(args.sklearn_max_points)}).", ""]

    memory = ours.get("memory")
    if memory:
        samples = ", ".join(f"{sample['inserts'] // 1_000_000 if sample['inserts'] >= 1_000_000 else sample['inserts']}"
                            f"{'M' if sample['inserts'] >= 1_000_000 else ''}: {mib(sample['resident_bytes'])}"
                            for sample in memory["samples"])
        out += ["## Memory", "",
                f"Layout at t={memory['tree_count']}, h={memory['height']}, {memory['dimension']}-D "
                "(per-node and per-point bytes from `MassForest.memoryFootprint` of two window capacities, "
                "window bytes from `SlidingWindow`'s layout):", "",
                table(["what", "bytes"], [
                    ["per window point: window (values, timestamp, id, arrival ring, free-slot stack)",
                     number(memory["window_bytes_per_window_point"])],
                    ["per window point: forest's cached chain ends (4 bytes x t)", number(memory["forest_bytes_per_window_point"])],
                    ["per window point, total", number(memory["bytes_per_window_point"])],
                    ["per forest node (16-byte record + 8-byte log volume; the path-end counts and the cache's "
                     "chunk rounding spread over the nodes)", number(memory["bytes_per_forest_node"])],
                    [f"forest nodes: {number(memory['forest_nodes'])}",
                     number(memory["forest_nodes"] * memory["bytes_per_forest_node"])],
                    [f"whole model at window {number(memory['window_size'])}", number(memory["model_bytes"])],
                ]), "",
                f"{number(memory['inserts'])} inserts through a full window of {number(memory['window_size'])} points, "
                f"resident set size (/proc/self/statm) of the whole `mmc bench` process:", "",
                table(["after fill", "first sample", "last sample", "max", "last - first"], [[
                    mib(memory["resident_bytes_after_fill"]), mib(memory["resident_bytes_first"]),
                    mib(memory["resident_bytes_last"]), mib(memory["resident_bytes_max"]),
                    f"{(memory['resident_bytes_last'] - memory['resident_bytes_first']) / 1024:,.0f} KiB"]]), "",
                f"Samples (inserts: RSS): {samples}. Rate over the run, sampling included: "
                f"{number(memory['cpu_points_per_second'])} points/s CPU, {number(memory['wall_points_per_second'])} wall.", ""]

    wire_swift = ours.get("wire")
    if wire_swift:
        swift = {r["name"]: r for r in wire_swift["results"]}
        python = wire["rates"]
        rows = []
        for form, swift_name, python_name, unit in [
            ("binary", "decode points binary", "binary mmcd_client", "values"),
            ("binary", "decode points binary", "binary numpy.frombuffer", "values"),
            ("binary", "decode points binary", "binary struct.unpack", "values"),
            ("JSON rows", "decode points JSON rows", "JSON rows json.loads", "points"),
            ("JSON rows", "decode points JSON rows", "JSON rows mmcd_client", "points"),
            ("JSON columns", "decode points JSON columns", "JSON columns json.loads", "points"),
            ("JSON columns", "decode points JSON columns", "JSON columns mmcd_client", "points"),
            ("update snapshot", "decode update snapshot", "update snapshot mmcd_client", "points"),
        ]:
            if swift_name not in swift or python_name not in python:
                continue
            ours_rate = swift[swift_name][f"{unit}_per_second"]
            peer_rate = python[python_name][0 if unit == "points" else 1]
            rows.append([form, f"{unit}/s", number(ours_rate), python_name.split(" ", 2)[-1], number(peer_rate),
                         ratio(ours_rate, peer_rate)])
        out += ["## Wire decoding", "",
                f"MMCDevTools' `WireBenchmark.measure` and `scripts/wire_bench.py` on the same seeded payloads: "
                f"{number(wire_swift['points'])} points of dimension {wire_swift['dimension']}, seed {wire_swift['seed']}; "
                "wall-clock means (both sides run one thread). Swift includes every check of the protocol "
                "and the copy into flat arrays; numpy.frombuffer makes zero-copy views and checks finiteness; "
                "json.loads only parses; mmcd_client (clients/python) also checks everything the protocol "
                "asks and converts to numpy arrays.", "",
                table(["form", "unit", "Swift MMCWire", "Python", "Python rate", "Swift / Python"], rows), "",
                table(["Swift operation", "payload bytes", "points/s", "MB/s"],
                      [[r["name"], number(r["payload_bytes"]), number(r["points_per_second"]),
                        number(r["megabytes_per_second"])] for r in wire_swift["results"]]), ""]

    pubsub = ours.get("pubsub")
    if pubsub:
        hwm = number(pubsub["high_water_mark"]) if "high_water_mark" in pubsub else "libzmq's default, 1,000"
        rows = []
        for run in pubsub["runs"] + [pubsub["slow_subscriber"]]:
            pace = number(run["target_points_per_second"]) if "target_points_per_second" in run else "unpaced"
            subscriber = (f"sleeps {run['subscriber_sleep_milliseconds']:g} ms per batch"
                          if run["subscriber_sleep_milliseconds"] > 0 else "idle between batches")
            rows.append([pace, subscriber, number(run["batches_sent"]), number(run["batches_received"]),
                         number(run["batches_lost"]), number(run["batches_lost_in_gaps"]),
                         number(run["sent_points_per_second"]), number(run["delivered_points_per_second"])])
        zero = pubsub.get("zero_loss_points_per_second")
        out += ["## PUB -> SUB over TCP loopback", "",
                f"A publisher thread and a subscriber thread in the `mmc bench` process, ZeroMQ module sockets, "
                f"`tcp://127.0.0.1`, {number(pubsub['batch_size'])}-point binary batches of "
                f"{number(pubsub['payload_bytes'])} bytes ({pubsub['dimension']}-D), send and receive high-water mark "
                f"{hwm} messages, {pubsub['seconds_per_run']:g} s of publishing per run. The publisher encodes every "
                "batch; the subscriber decodes every batch and counts gaps in the batch sequence numbers. "
                "Lost = sent - received; a PUB socket at its high-water mark drops the newest messages, so "
                "most losses are a lost tail that no gap shows.", "",
                table(["publisher pace, points/s", "subscriber", "batches sent", "received", "lost", "lost in gaps",
                       "sent points/s", "delivered points/s"], rows), "",
                f"**Zero loss at {number(zero)} points/s**" if zero else "**No run was without loss.**", ""]

    targets = []
    if forest:
        best = min(r["cpu_points_per_second"]["median"] for r in forest)
        targets.append(["forest insert + expire >= 1,000,000 points/s (CPU, every window size)", number(best),
                        "met" if best >= TARGET_FOREST_RATE else "not met"])
    if recluster and "20000" in sklearn["results"]:
        mmc = next((r for r in recluster if r["points"] == 20000 and r["method"] == "mmc"), None)
        peer = sklearn["results"]["20000"].get("HDBSCAN()")
        if mmc and peer:
            speedup = peer["cpu"]["median"] / mmc["cpu_seconds"]["median"]
            targets.append(["re-clustering 20,000 points >= 5x faster than sklearn HDBSCAN() (CPU, mmc)",
                            f"{speedup:,.1f}x", "met" if speedup >= TARGET_RECLUSTER_SPEEDUP else "not met"])
    if targets:
        out += ["## Targets", "", table(["target", "measured", "verdict"], targets), ""]
    return "\n".join(out)


def seconds_text(values):
    return f"{values['median']:,.3f} ({values['min']:,.3f}-{values['max']:,.3f})"


def mib(value):
    return f"{value / 1_048_576:,.1f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated points")
    parser.add_argument("--scratch-path", default=".build-bench", help="SwiftPM scratch folder")
    parser.add_argument("--no-build", action="store_true", help="use the mmc already built")
    parser.add_argument("--recluster-sizes", default="20000,100000", help="window sizes, comma-separated")
    parser.add_argument("--sklearn-runs", type=int, default=3, help="HDBSCAN runs below 50,000 points (1 above)")
    parser.add_argument("--sklearn-max-points", type=int, default=100_000, help="skip HDBSCAN on larger windows")
    parser.add_argument("--river-points", type=int, default=20_000, help="learn_one calls per timed repetition")
    parser.add_argument("--river-repetitions", type=int, default=3)
    parser.add_argument("--wire-seconds", type=float, default=1.0, help="seconds per Python wire operation")
    parser.add_argument("mmc_args", nargs="*", help="extra flags for mmc bench, after --")
    args = parser.parse_args()

    start_machine = machine()
    python_command = shlex.join(["python3", os.path.relpath(os.path.abspath(__file__), REPO)] + sys.argv[1:])
    os.chdir(REPO)
    if not args.no_build:
        progress("building mmc (release)")
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", args.scratch_path, "--product", "mmc"],
                       check=True, stdout=sys.stderr)
    binary = subprocess.run(["swift", "build", "-c", "release", "--scratch-path", args.scratch_path, "--show-bin-path"],
                            check=True, capture_output=True, text=True).stdout.strip()
    mmc = os.path.join(binary, "mmc")

    sizes = [int(size) for size in args.recluster_sizes.split(",")]
    model = blob_model(args.seed)
    windows = {size: blob_points(model, size, args.seed) for size in sizes}
    stream = blob_points(model, 2 * max(sizes), args.seed + 1)
    with tempfile.TemporaryDirectory(prefix="mmc-bench-") as folder:
        files = {size: os.path.join(folder, f"window-{size}.csv") for size in sizes}
        for size, path in files.items():
            write_points(path, windows[size])
        stream_path = os.path.join(folder, "stream.csv")
        write_points(stream_path, stream)
        command = [mmc, "bench", "--json", "--stream-file", stream_path]
        for path in files.values():
            command += ["--points-file", path]
        command += args.mmc_args
        progress("running " + shlex.join(command))
        ours = json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout)
    mmc_command = shlex.join(["mmc"] + command[1:]).replace(folder, "$TMP")

    river_results = {"version": river.__version__, "results": []}
    if "forest" in ours:
        for n_trees, height in [(10, 8), (32, 10)]:
            progress(f"river HalfSpaceTrees n_trees={n_trees} height={height}")
            river_results["results"].append(river_rates(
                stream, n_trees, height, 250, args.river_points, args.river_repetitions, args.seed))

    sklearn_results = {"version": sklearn.__version__, "results": {}, "skipped": []}
    if "recluster" in ours:
        for size in sizes:
            if size > args.sklearn_max_points:
                sklearn_results["skipped"].append(size)
                continue
            runs = args.sklearn_runs if size < 50_000 else 1
            peers = {}
            for label, min_cluster_size in [("HDBSCAN()", None), (f"HDBSCAN(min_cluster_size={size // 100})", size // 100)]:
                progress(f"sklearn {label} on {size} points, {runs} run(s)")
                peers[label] = sklearn_hdbscan(windows[size], min_cluster_size, runs)
            sklearn_results["results"][str(size)] = peers

    wire = {"command": "", "rates": {}}
    if "wire" in ours:
        progress("scripts/wire_bench.py")
        wire = wire_python(ours["wire"]["points"], ours["wire"]["dimension"], ours["wire"]["seed"], args.wire_seconds)

    print(report(args, start_machine, mmc_command, ours, river_results, sklearn_results, wire, python_command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
