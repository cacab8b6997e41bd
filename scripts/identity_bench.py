#!/usr/bin/env python3
"""Cluster identity across re-clusterings: mmcd beside river's DBSTREAM and DenStream.

The stream of issue 14 (docs/algorithm.md, section 7): five 2-D Gaussian clusters in the unit
square that drift slowly and never touch, 5% uniform noise (label 0), 60,000 points; cluster 5
dies at point 30,000 and cluster 6 is born at point 40,000 where cluster 5 was. Generated here
with numpy (the same specification as `FiveClusterStream` in the Swift tests; not the same
random draws).

For each overlap between consecutive windows (default 0%, 50%, 80%), a release mmcd (config
defaults, `window.size` = --window, `schedule.every_points` = window x (1 - overlap), no timer,
provisional assignments on, diffs with a full update every 10th) is replayed the stream in
lock-step, as in stream_bench.py: a step of points, then the cluster update it triggers. The
script applies diffs, keeps every provisional assignment, and scores:

- **id continuity**: for each true cluster with at least 1% of the window in two consecutive
  re-clusterings, whether its majority id (over its points not predicted noise) is the same in
  both; the share of such pairs that keep their id.
- **pooled ARI**: every point labelled by the last re-clustering whose window held it, then one
  ARI over the whole stream (true noise excluded, predicted noise one more label, as in the
  suite): high only if ids persist.
- **pooled provisional ARI**: every point labelled by its provisional assignment (the model of
  the latest re-clustering when it arrived); points before the first re-clustering have none.
- the events of every update, and how many updates went out full and as diffs.

river 0.26.1 DBSTREAM and DenStream (defaults, and the threshold / epsilon that scored best in
stream_bench.py's table) learn every point in order and label every window point at the same
re-clustering points; their cluster numbers are their ids. They have no separate provisional
path (their `predict_one` is their only labelling), so that column is theirs as "-".

Usage (repository root, a Python with pyzmq, numpy, scikit-learn and river; binaries from
`swift build -c release`, or --bin DIR):

  python3 scripts/identity_bench.py --bin .build/release --out out/dbench/identity.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "examples", "python"))

import mmc_wire  # noqa: E402
from ingest_bench import machine  # noqa: E402
from stream_bench import ari, capture_stream, common_arguments, lockstep_daemon, send_points, window_labels  # noqa: E402

warnings.filterwarnings("ignore")

LENGTH = 60_000
NOISE = 0.05
# label, alive from, alive until, start centre, end centre, spread
COMPONENTS = [
    (1, 0, LENGTH, (0.15, 0.20), (0.30, 0.25), 0.020),
    (2, 0, LENGTH, (0.70, 0.20), (0.80, 0.35), 0.030),
    (3, 0, LENGTH, (0.20, 0.75), (0.35, 0.65), 0.025),
    (4, 0, LENGTH, (0.75, 0.80), (0.60, 0.75), 0.020),
    (5, 0, 30_000, (0.45, 0.50), (0.55, 0.50), 0.025),
    (6, 40_000, LENGTH, (0.50, 0.45), (0.45, 0.55), 0.025),
]


def make_stream(seed: int) -> tuple:
    """(values [n, 2], labels [n]) of the five-cluster stream; point i has id i."""
    rng = np.random.default_rng(seed)
    values = np.empty((LENGTH, 2))
    labels = np.zeros(LENGTH, dtype=np.int64)
    noise = rng.random(LENGTH) < NOISE
    pick = rng.random(LENGTH)
    gauss = rng.standard_normal((LENGTH, 2))
    values[noise] = rng.random((int(noise.sum()), 2))
    for i in np.flatnonzero(~noise):
        alive = [c for c in COMPONENTS if c[1] <= i < c[2]]
        label, start, end, a, b, spread = alive[int(pick[i] * len(alive))]
        age = (i - start) / (end - start)
        values[i] = (a[0] + (b[0] - a[0]) * age + spread * gauss[i, 0], a[1] + (b[1] - a[1]) * age + spread * gauss[i, 1])
        labels[i] = label
    return values, labels


# ---------------------------------------------------------------------------------------------
# Scoring


def majority_ids(truth: np.ndarray, predicted: np.ndarray, minimum: int) -> dict:
    """True cluster -> its majority predicted id (noise -1 not counted), for clusters >= minimum."""
    result = {}
    for cluster in set(truth.tolist()) - {0}:
        mine = predicted[truth == cluster]
        if len(mine) < minimum:
            continue
        ids = mine[mine != -1]
        result[cluster] = int(np.bincount(ids - ids.min()).argmax() + ids.min()) if len(ids) else None
    return result


def score(windows: list, labels: np.ndarray, window: int, provisional: dict | None) -> dict:
    """windows: [(lo, end, predicted ids of points lo..end)] in order."""
    minimum = window // 100
    kept = pairs = 0
    previous = None
    pooled = np.full(len(labels), -2, dtype=np.int64)
    for lo, end, predicted in windows:
        pooled[lo:end] = predicted
        current = majority_ids(labels[lo:end], predicted, minimum)
        if previous is not None:
            for cluster, id_ in current.items():
                if cluster in previous:
                    pairs += 1
                    kept += int(id_ is not None and previous[cluster] == id_)
        previous = current
    covered = pooled != -2
    result = {"id_continuity": kept / pairs if pairs else None, "continuity_pairs": pairs,
              "pooled_ari": ari(labels[covered], pooled[covered])}
    if provisional is not None:
        ids = np.fromiter(provisional.keys(), dtype=np.int64, count=len(provisional))
        clusters = np.fromiter(provisional.values(), dtype=np.int64, count=len(provisional))
        result["pooled_provisional_ari"] = ari(labels[ids], clusters)
        result["provisional_points"] = len(ids)
    return result


# ---------------------------------------------------------------------------------------------
# mmcd, replayed in lock-step


def run_mmcd(args, values: np.ndarray, labels: np.ndarray, step: int) -> dict:
    n = len(values)
    daemon, sub, push = lockstep_daemon(args, 2, step, True, "mmcd-identity.log")
    state: dict = {}
    provisional: dict = {}
    windows, events, modes, sizes = [], [], {"full": 0, "diff": 0}, {"full": [], "diff": []}
    version = 0
    position = 0
    while position + step <= n:
        end = position + step
        send_points(push, values, position, end, args.batch)
        position = end
        while True:
            if not sub.poll(args.timeout * 1000):
                raise SystemExit(f"no cluster update within {args.timeout} s after point {end}")
            topic, body, _ = sub.recv_multipart()
            update = mmc_wire.decode_update(body)
            if topic.startswith(b"assign."):
                provisional.update(zip(update.ids, update.clusters))
                continue
            break
        assignments = update.assignments
        modes[assignments.mode] += 1
        sizes[assignments.mode].append(len(body))
        if assignments.mode == "full":
            state = dict(zip(assignments.ids, assignments.clusters))
        elif assignments.base_version != version:
            raise SystemExit(f"diff against {assignments.base_version}, state at {version}")
        else:
            for point in assignments.removed:
                state.pop(point, None)
            state.update(zip(assignments.ids, assignments.clusters))
        version = update.model_version
        lo = max(0, end - args.window)
        if len(state) != end - lo:
            raise SystemExit(f"window mismatch at {end}: {len(state)} assignments for {end - lo} points")
        predicted = np.array([state[i] for i in range(lo, end)], dtype=np.int64)
        windows.append((lo, end, predicted))
        events.append({"end": end, "events": update.events})
        if args.verbose:
            print(f"  step {step} window {lo:>6}-{end:<6} v{version:<3} {assignments.mode:4} {len(body):>7} B "
                  f"ARI {ari(labels[lo:end], predicted):.3f} ids {sorted(c.id for c in update.clusters)} "
                  f"events {update.events}", flush=True)
    push.close()
    sub.close()
    daemon.stop()
    result = score(windows, labels, args.window, provisional)
    result.update({"events": [e for e in events if e["events"]], "modes": modes,
                   "mean_bytes": {k: float(np.mean(v)) if v else None for k, v in sizes.items()},
                   "window_ari_mean": float(np.mean([ari(labels[lo:end], p) for lo, end, p in windows]))})
    return result


# ---------------------------------------------------------------------------------------------
# river peers: one learning pass, a window's labels at every re-clustering point of any overlap


def run_river(name: str, make, values: np.ndarray, labels: np.ndarray, ends: list, window: int) -> dict:
    model = make()
    is_denstream = name.startswith("DenStream")
    rows = [{0: float(x[0]), 1: float(x[1])} for x in values]
    predictions = {}
    position = 0
    started = time.perf_counter()
    for end in sorted(set(ends)):
        for i in range(position, end):
            model.learn_one(rows[i])
        position = end
        lo = max(0, end - window)
        predictions[end] = np.asarray(window_labels(model, is_denstream, rows, lo, end), dtype=np.int64)
    return {"predictions": predictions, "seconds": time.perf_counter() - started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(parser, window=5_000)
    parser.add_argument("--overlaps", default="0,0.5,0.8", help="overlaps of consecutive windows")
    parser.add_argument("--drift", type=int, metavar="POINTS",
                        help="instead of the five-cluster stream, POINTS of stream_bench.py's `mmc feed --generate "
                             "drift` stream (clusters that touch, many births and deaths)")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    info = machine()
    print(f"machine: {info}", flush=True)
    if args.drift:
        values, labels = capture_stream(os.path.join(args.bin, "mmc"), args.drift, args.seed, args.workdir)
    else:
        values, labels = make_stream(args.seed)
    length = len(values)
    overlaps = [float(x) for x in args.overlaps.split(",")]
    steps = {overlap: int(round(args.window * (1 - overlap))) for overlap in overlaps}

    results: dict = {}
    for overlap, step in steps.items():
        t = time.perf_counter()
        r = run_mmcd(args, values, labels, step)
        results[f"mmcd, overlap {overlap:.0%}"] = r
        print(f"mmcd overlap {overlap:.0%} (every {step}): continuity {r['id_continuity']:.3f} "
              f"({r['continuity_pairs']} pairs), pooled ARI {r['pooled_ari']:.3f}, pooled provisional ARI "
              f"{r['pooled_provisional_ari']:.3f}, mean window ARI {r['window_ari_mean']:.3f}, updates {r['modes']}, "
              f"events {r['events']} ({time.perf_counter() - t:.1f} s)", flush=True)

    if not args.skip_peers:
        from river import cluster
        peers = [("DBSTREAM (defaults)", lambda: cluster.DBSTREAM()),
                 ("DBSTREAM (clustering_threshold=0.05)", lambda: cluster.DBSTREAM(clustering_threshold=0.05)),
                 ("DenStream (defaults)", lambda: cluster.DenStream()),
                 ("DenStream (epsilon=0.05)", lambda: cluster.DenStream(epsilon=0.05))]
        every_end = sorted({end for step in steps.values() for end in range(step, length + 1, step)})
        for name, make in peers:
            run = run_river(name, make, values, labels, every_end, args.window)
            for overlap, step in steps.items():
                windows = [(max(0, end - args.window), end, run["predictions"][end])
                           for end in range(step, length + 1, step)]
                r = score(windows, labels, args.window, None)
                r["window_ari_mean"] = float(np.mean([ari(labels[lo:end], p) for lo, end, p in windows]))
                results[f"{name}, overlap {overlap:.0%}"] = r
                print(f"{name} overlap {overlap:.0%}: continuity {r['id_continuity']:.3f}, pooled ARI "
                      f"{r['pooled_ari']:.3f}, mean window ARI {r['window_ari_mean']:.3f} ({run['seconds']:.1f} s)",
                      flush=True)

    print()
    print("| method | overlap | id continuity | pooled ARI | pooled provisional ARI | mean window ARI |")
    print("|---|---|---|---|---|---|")
    for key, r in results.items():
        name, overlap = key.rsplit(", overlap ", 1)
        provisional = f"{r['pooled_provisional_ari']:.3f}" if "pooled_provisional_ari" in r else "-"
        continuity = f"{r['id_continuity']:.3f}" if r["id_continuity"] is not None else "-"
        print(f"| {name} | {overlap} | {continuity} | {r['pooled_ari']:.3f} | {provisional} | "
              f"{r['window_ari_mean']:.3f} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": info, "args": vars(args), "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
