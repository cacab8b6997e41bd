#!/usr/bin/env python3
"""Windowed ARI of mmcd on a labelled drifting stream, beside river and scikit-learn peers.

One run does everything, so machine noise is shared:

1. The stream: `mmc feed --generate drift` (clusters of different spreads and weights that
   move, appear and disappear, 5% uniform noise) sends N points to a PULL socket of this
   script, which keeps ids and coordinates; `--labels-out` gives the true labels (0 = noise).
   Cached in --workdir as an .npz.
2. mmcd (release, config/mmcd.toml defaults except the overrides below) is replayed the
   stream in order, in lock-step: --step points (batches of 500, PUSH -> PULL), then wait for
   the cluster update that this triggers (schedule.every_points = step, no timer), and so on.
   Every re-clustering therefore sees exactly the last `window` points. Updates are received
   on a SUB socket in the default diff mode (a full snapshot every 10th): diffs are applied,
   every update's window is checked against the ids sent, and the state built from each diff
   is compared with the control endpoint's snapshot of the same model version.
3. At every re-clustering, the window's published assignments are scored against the truth:
   ARI over the points whose true label is not 0, predicted noise (-1) as one more label
   (the suite's rules, docs/benchmarks.md).
4. The peers, on the same stream and the same windows:
   - river 0.26.1 DBSTREAM and DenStream: learn_one on every point in order; at each of our
     re-clustering points, a label for every window point. DenStream's predict_one re-runs its
     offline DBSCAN over the p-micro-clusters on every call; since the model does not change
     between the predictions of one window, we call predict_one once and label the rest of the
     window with the same final clusters (`_get_closest_cluster_key(x, model.clusters)`, the
     line predict_one ends with). --check-denstream points per window are also labelled with
     predict_one itself and must agree. River's clusterers never predict noise.
   - scikit-learn HDBSCAN re-run on each window scaled to [0, 1] (defaults, and
     min_cluster_size = window / 100).

Usage (from the repository root, with a Python that has pyzmq, numpy, scikit-learn and river;
mmcd and mmc from `swift build -c release`, or --bin DIR):

  python3 scripts/stream_bench.py --bin .build/release --points 200000 --window 10000 --step 2000 \
      --seed 1 --out out/dbench/stream-seed1.json

and, with the --out files of several seeds, the table of docs/benchmarks.md:

  python3 scripts/stream_bench.py combine out/dbench/stream-seed1.json out/dbench/stream-seed2.json ...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python", "tools"))

from interop import wire as mmc_wire  # noqa: E402
from ingest_bench import DEFAULT_BIN, REPO, Daemon, free_port, machine, metric  # noqa: E402

warnings.filterwarnings("ignore")


# ---------------------------------------------------------------------------------------------
# The stream


def capture_stream(mmc: str, points: int, seed: int, workdir: str) -> tuple:
    """(values [n, d], labels [n]) of the drifting stream, point i having id i."""
    cache = os.path.join(workdir, f"drift-seed{seed}-{points}.npz")
    if os.path.exists(cache):
        data = np.load(cache)
        return data["values"], data["labels"]
    port = free_port()
    context = zmq.Context.instance()
    pull = context.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 0)
    pull.bind(f"tcp://127.0.0.1:{port}")
    labels_path = os.path.join(workdir, f"drift-seed{seed}-{points}.labels")
    command = [mmc, "feed", "--generate", "drift", "--seed", str(seed), "--count", str(points), "--socket", "push",
               "--endpoint", f"tcp://127.0.0.1:{port}", "--labels-out", labels_path, "--batch", "1000"]
    feed = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    ids, values = [], []
    received = 0
    while received < points:
        _, payload = pull.recv_multipart()
        magic, version, kind, flags, dim, count = mmc_wire.HEADER.unpack_from(payload)
        assert magic == mmc_wire.MAGIC and version == 1 and kind == 1
        v = np.frombuffer(payload, "<f8", count * dim, 16).reshape(count, dim)
        i = np.frombuffer(payload, "<u8", count, 16 + 8 * count * (dim + 1))
        values.append(v.copy())
        ids.append(i.copy())
        received += count
    feed.wait()
    pull.close()
    ids = np.concatenate(ids)
    values = np.concatenate(values)
    assert np.array_equal(ids, np.arange(points, dtype=np.uint64)), "feed ids are not 0..n-1 in order"
    table = np.loadtxt(labels_path, dtype=np.int64, ndmin=2)
    assert np.array_equal(table[:, 0], np.arange(points)), "labels file ids are not 0..n-1 in order"
    labels = table[:, 1]
    np.savez(cache, values=values, labels=labels)
    return values, labels


def ari(truth: np.ndarray, predicted: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score
    keep = truth != 0
    return float(adjusted_rand_score(truth[keep], predicted[keep]))


def binary_batch(ids: np.ndarray, times: np.ndarray, values: np.ndarray) -> bytes:
    count, dim = values.shape
    header = mmc_wire.HEADER.pack(mmc_wire.MAGIC, 1, 1, 0, dim, count)
    return b"".join((header, np.ascontiguousarray(values, "<f8").tobytes(), times.astype("<f8").tobytes(),
                     ids.astype("<u8").tobytes()))


# ---------------------------------------------------------------------------------------------
# mmcd, replayed in lock-step


def lockstep_daemon(args, dimension: int, step: int, provisional: bool, log_name: str) -> tuple:
    """A release mmcd re-clustering every `step` points (no timer, diffs with a full update every
    10th), a SUB on its updates (and provisional assignments if on) and a PUSH into its input."""
    overrides = [
        "input.socket=pull", f"input.dimension={dimension}", f"window.size={args.window}",
        f"schedule.every_points={step}", "schedule.interval_seconds=0",
        f"output.provisional={'true' if provisional else 'false'}", "output.assignments=diff",
        "output.full_every=10",
    ] + args.set
    daemon = Daemon(os.path.join(args.bin, "mmcd"), overrides, os.path.join(args.workdir, log_name), args.config)
    context = zmq.Context.instance()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"clusters.")
    if provisional:
        sub.setsockopt(zmq.SUBSCRIBE, b"assign.")
    sub.connect(daemon.output)
    push = context.socket(zmq.PUSH)
    push.setsockopt(zmq.SNDHWM, 0)
    push.connect(daemon.input)
    time.sleep(1.0)
    return daemon, sub, push


def send_points(push, values: np.ndarray, start: int, end: int, batch: int) -> None:
    """Points start..<end (ids = stream indices, a millisecond apart) in batches, binary."""
    base = 1_700_000_000.0
    for a in range(start, end, batch):
        b = min(end, a + batch)
        ids = np.arange(a, b, dtype=np.uint64)
        push.send_multipart([b"points.bench", binary_batch(ids, base + ids / 1000.0, values[a:b])])


def window_labels(model, is_denstream: bool, rows: list, lo: int, end: int) -> list:
    """A river clusterer's label of every point lo..<end. DenStream's predict_one re-runs its
    offline clustering per call: called once, the rest get the clusters it built (its last line)."""
    if not is_denstream:
        return [model.predict_one(rows[i]) for i in range(lo, end)]
    first = model.predict_one(rows[lo])
    if not model.initialized:
        return [0] * (end - lo)
    clusters = model.clusters
    return [first] + [model._get_closest_cluster_key(rows[i], clusters) for i in range(lo + 1, end)]


def run_mmcd(args, values: np.ndarray, labels: np.ndarray) -> dict:
    n = len(values)
    daemon, sub, push = lockstep_daemon(args, values.shape[1], args.step, False, "mmcd-stream.log")
    tracker = mmc_wire.SequenceTracker()
    state: dict = {}
    version = 0
    windows = []
    checks = {"full_snapshots": 0, "full_vs_diff_mismatches": 0, "window_mismatches": 0, "resyncs": 0,
              "sequence_gaps": 0}
    started = time.time()
    position = 0
    while position < n:
        end = min(n, position + args.step)
        if end - position < args.step:
            break  # a short tail would not trigger a re-clustering
        send_points(push, values, position, end, args.batch)
        position = end
        sent_at = time.time()
        # Wait for the update of this step.
        if not sub.poll(args.timeout * 1000):
            raise SystemExit(f"no cluster update within {args.timeout} s after point {end}")
        topic, body, seq = sub.recv_multipart()
        arrived = time.time()
        observed = tracker.observe(topic.decode(), mmc_wire.decode_sequence(seq))
        update = mmc_wire.decode_update(body)
        assignments = update.assignments
        if observed[0] == "gap":
            checks["sequence_gaps"] += 1
        if assignments.mode == "full":
            checks["full_snapshots"] += 1
            state = dict(zip(assignments.ids, assignments.clusters))
        else:
            if assignments.base_version != version:
                checks["resyncs"] += 1
                reply = daemon.request("snapshot")
                snap = mmc_wire.decode_update(json.dumps(reply["update"]).encode())
                state = dict(zip(snap.assignments.ids, snap.assignments.clusters))
            else:
                for point in assignments.removed:
                    state.pop(point, None)
                state.update(zip(assignments.ids, assignments.clusters))
                if args.verify_diffs:
                    # In lock-step the latest update is this one: the snapshot request must
                    # give the same assignments as the diff applied to the previous state.
                    reply = daemon.request("snapshot")
                    snap = mmc_wire.decode_update(json.dumps(reply["update"]).encode())
                    if snap.model_version == update.model_version:
                        checks["diffs_verified"] = checks.get("diffs_verified", 0) + 1
                        full = dict(zip(snap.assignments.ids, snap.assignments.clusters))
                        checks["full_vs_diff_mismatches"] += sum(1 for k, v in full.items() if state.get(k) != v) \
                            + sum(1 for k in state if k not in full)
        version = update.model_version
        lo = max(0, end - args.window)
        expected = range(lo, end)
        if len(state) != update.window_size or len(state) != len(expected) or any(i not in state for i in expected):
            checks["window_mismatches"] += 1
        predicted = np.array([state.get(i, -2) for i in expected], dtype=np.int64)
        score = ari(labels[lo:end], predicted)
        windows.append({"end": end, "start": lo, "model_version": update.model_version, "ari": score,
                        "clusters": len(update.clusters), "noise": update.noise, "mode": assignments.mode,
                        "latency_s": arrived - sent_at, "recluster_wall_s": arrived - update.time,
                        "true_clusters": int(len(set(labels[lo:end].tolist()) - {0}))})
        if args.verbose:
            print(f"  mmcd window {lo:>7}-{end:<7} v{update.model_version:<4} {assignments.mode:4} ARI {score:.3f} "
                  f"clusters {len(update.clusters)} (true {windows[-1]['true_clusters']}) noise {update.noise}",
                  flush=True)
    elapsed = time.time() - started
    final = daemon.metrics()
    stats = daemon.stats()
    push.close()
    sub.close()
    daemon.stop()
    return {"windows": windows, "checks": checks, "seconds": elapsed, "stats": stats,
            "recluster_count": metric(final, "mmcd_recluster_duration_seconds_count"),
            "recluster_mean_s": metric(final, "mmcd_recluster_duration_seconds_sum")
            / max(1.0, metric(final, "mmcd_recluster_duration_seconds_count")),
            "mmcd_command": daemon.command_line()}


# ---------------------------------------------------------------------------------------------
# Peers


def run_river(name: str, make, values: np.ndarray, labels: np.ndarray, ends: list, window: int,
              check: int, verbose: bool) -> dict:
    model = make()
    is_denstream = name.startswith("DenStream")
    rows = [{0: float(x[0]), 1: float(x[1])} if values.shape[1] == 2 else dict(enumerate(map(float, x))) for x in values]
    position = 0
    learn = predict = 0.0
    scores, disagreements, checked, check_seconds = [], 0, 0, 0.0
    rng = np.random.default_rng(0)
    for end in ends:
        t = time.perf_counter()
        for i in range(position, end):
            model.learn_one(rows[i])
        position = end
        learn += time.perf_counter() - t
        lo = max(0, end - window)
        t = time.perf_counter()
        predicted = window_labels(model, is_denstream, rows, lo, end)
        predict += time.perf_counter() - t
        if is_denstream and check and model.initialized:
            t = time.perf_counter()
            for i in rng.choice(np.arange(lo, end), size=min(check, end - lo), replace=False):
                checked += 1
                if model.predict_one(rows[i]) != predicted[i - lo]:
                    disagreements += 1
            check_seconds += time.perf_counter() - t
        predicted = np.asarray(predicted, dtype=np.int64)
        scores.append(ari(labels[lo:end], predicted))
        if verbose:
            print(f"  {name:32s} window {lo:>7}-{end:<7} ARI {scores[-1]:.3f} clusters {len(set(predicted.tolist()))}",
                  flush=True)
    result = {"scores": scores, "learn_s": learn, "predict_s": predict}
    if is_denstream:
        result["predict_one_checked"] = checked
        result["predict_one_disagreements"] = disagreements
        result["predict_one_seconds_each"] = check_seconds / max(1, checked)
    return result


def run_hdbscan(name: str, kwargs: dict, values: np.ndarray, labels: np.ndarray, ends: list, window: int,
                verbose: bool) -> dict:
    from sklearn.cluster import HDBSCAN
    scores, seconds = [], 0.0
    for end in ends:
        lo = max(0, end - window)
        x = values[lo:end]
        span = x.max(0) - x.min(0)
        span[span == 0] = 1
        x = (x - x.min(0)) / span
        t = time.perf_counter()
        predicted = HDBSCAN(**kwargs).fit_predict(x)
        seconds += time.perf_counter() - t
        scores.append(ari(labels[lo:end], predicted))
        if verbose:
            print(f"  {name:32s} window {lo:>7}-{end:<7} ARI {scores[-1]:.3f} clusters {predicted.max() + 1}", flush=True)
    return {"scores": scores, "fit_s": seconds}


def summary(scores: list, full_mask: list) -> dict:
    s = np.asarray(scores)
    f = s[np.asarray(full_mask)]
    return {"mean": float(s.mean()), "worst": float(s.min()), "median": float(np.median(s)),
            "mean_full": float(f.mean()) if len(f) else None, "worst_full": float(f.min()) if len(f) else None}


def combine(paths: list) -> int:
    """Prints the markdown table of docs/benchmarks.md from the --out files of several seeds.

    Only methods every run scored get a row: a run made with --skip-peers has mmcd's alone, and
    the methods left out are named on standard error."""
    runs = [json.load(open(path)) for path in paths]
    shared = [row for row in runs[0]["table"] if all(row["method"] in run["results"] for run in runs)]
    missing = sorted({name for run in runs for name in run["results"]} - {row["method"] for row in shared})
    if missing:
        print(f"left out (not scored in every run): {', '.join(missing)}", file=sys.stderr)
    ours = "mmcd (MMC, defaults)"
    seeds = " | ".join(f"seed {run['args']['seed']}: mean / worst" for run in runs)
    print(f"| method | {seeds} | all {sum(len(run['results'][ours]['scores']) for run in runs)} windows: "
          f"mean / worst | windows where mmcd scores >= | wall s per re-clustering (seed {runs[0]['args']['seed']}) |")
    print("|---" * (len(runs) + 4) + "|")
    for row in shared:
        name = row["method"]
        per_seed = [np.asarray(run["results"][name]["scores"]) for run in runs]
        everything = np.concatenate(per_seed)
        mine = np.concatenate([np.asarray(run["results"][ours]["scores"]) for run in runs])
        cells = [f"{scores.mean():.3f} / {scores.min():.3f}" for scores in per_seed]
        versus = "-" if name == ours else f"{int(np.sum(mine >= everything))} / {len(everything)}"
        print(f"| {name} | {' | '.join(cells)} | {everything.mean():.3f} / {everything.min():.3f} | {versus} | "
              f"{row['cost']} |")
    return 0


def common_arguments(parser: argparse.ArgumentParser, window: int) -> None:
    """The options of a lock-step replay: binaries, configuration, window, batches, peers, output."""
    parser.add_argument("--bin", default=DEFAULT_BIN)
    parser.add_argument("--workdir", default=os.path.join(REPO, "out", "dbench"))
    parser.add_argument("--config", default=os.path.join(REPO, "config", "mmcd.toml"),
                        help="the mmcd configuration file the overrides apply to (the one of the built commit)")
    parser.add_argument("--window", type=int, default=window)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--set", action="append", default=[], help="extra mmcd --set override")
    parser.add_argument("--out")
    parser.add_argument("--verbose", action="store_true")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "combine":
        return combine(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common_arguments(parser, window=10_000)
    parser.add_argument("--points", type=int, default=150_000)
    parser.add_argument("--step", type=int, default=2_000, help="points between re-clusterings")
    parser.add_argument("--check-denstream", type=int, default=20,
                        help="window points per re-clustering also labelled by DenStream.predict_one itself")
    parser.add_argument("--dbstream-thresholds", default="0.02,0.05,0.1",
                        help="DBSTREAM clustering_threshold values besides the default 1.0")
    parser.add_argument("--denstream-epsilons", default="0.01,0.05",
                        help="DenStream epsilon values besides the default 0.02")
    parser.add_argument("--no-verify-diffs", dest="verify_diffs", action="store_false",
                        help="skip comparing every applied diff with a snapshot request")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    info = machine()
    print(f"machine: {info}", flush=True)

    t = time.perf_counter()
    values, labels = capture_stream(os.path.join(args.bin, "mmc"), args.points, args.seed, args.workdir)
    print(f"stream: {len(values)} points, dimension {values.shape[1]}, {len(set(labels.tolist()) - {0})} true clusters "
          f"over the run, noise {np.mean(labels == 0):.3f} ({time.perf_counter() - t:.1f} s)", flush=True)

    ours = run_mmcd(args, values, labels)
    ends = [w["end"] for w in ours["windows"]]
    full_mask = [w["end"] >= args.window for w in ours["windows"]]
    print(f"mmcd: {len(ends)} re-clusterings, checks {ours['checks']}, {ours['seconds']:.1f} s", flush=True)
    results = {"mmcd (MMC, defaults)": {"scores": [w["ari"] for w in ours["windows"]],
                                        "recluster_mean_s": ours["recluster_mean_s"]}}
    if not args.skip_peers:
        from river import cluster
        peers = [("HDBSCAN (defaults)", "hdbscan", {}),
                 (f"HDBSCAN (min_cluster_size={args.window // 100})", "hdbscan",
                  {"min_cluster_size": args.window // 100})]
        peers.append(("DBSTREAM (defaults)", "river", lambda: cluster.DBSTREAM()))
        for th in [float(x) for x in args.dbstream_thresholds.split(",") if x]:
            peers.append((f"DBSTREAM (clustering_threshold={th})", "river",
                          (lambda th=th: cluster.DBSTREAM(clustering_threshold=th))))
        peers.append(("DenStream (defaults)", "river", lambda: cluster.DenStream()))
        for eps in [float(x) for x in args.denstream_epsilons.split(",") if x]:
            peers.append((f"DenStream (epsilon={eps})", "river", (lambda eps=eps: cluster.DenStream(epsilon=eps))))
        for name, kind, spec in peers:
            t = time.perf_counter()
            if kind == "hdbscan":
                r = run_hdbscan(name, spec, values, labels, ends, args.window, args.verbose)
            else:
                r = run_river(name, spec, values, labels, ends, args.window, args.check_denstream, args.verbose)
            r["wall_s"] = time.perf_counter() - t
            results[name] = r
            s = summary(r["scores"], full_mask)
            print(f"{name:40s} mean {s['mean']:.3f} worst {s['worst']:.3f} ({r['wall_s']:.1f} s)", flush=True)

    print()
    print(f"| method | mean ARI | worst ARI | median | mean / worst, full windows only | seconds per re-clustering |")
    print("|---|---|---|---|---|---|")
    rows = []
    for name, r in results.items():
        s = summary(r["scores"], full_mask)
        if "recluster_mean_s" in r:
            cost = f"{r['recluster_mean_s']:.3f} (re-clustering in mmcd)"
        elif "fit_s" in r:
            cost = f"{r['fit_s'] / len(ends):.3f} (fit_predict)"
        else:
            cost = f"{r['predict_s'] / len(ends):.3f} predict + {r['learn_s'] / len(ends):.3f} learn_one"
        rows.append({"method": name, **s, "cost": cost})
        full = f"{s['mean_full']:.3f} / {s['worst_full']:.3f}" if s["mean_full"] is not None else "-"
        print(f"| {name} | {s['mean']:.3f} | {s['worst']:.3f} | {s['median']:.3f} | {full} | {cost} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": info, "args": vars(args), "mmcd": ours, "results": results, "table": rows}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
