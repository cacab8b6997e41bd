#!/usr/bin/env python3
"""The drifting stream's windows replayed offline through `mmc cluster`, window by window.

For every seed, the window of --window points ending at every --step-th index of the stream
(fewer points for the first windows) is clustered by `mmc cluster` with its defaults (plus any
--flags) and scored with the suite's rules (ARI over the points whose true label is not 0,
predicted noise one more label). With the defaults (10,000 points, step 2,000, seeds 1-3, a
200,000-point stream) these are the 300 re-clusterings of scripts/stream_bench.py's daemon run,
so a rule change can be measured window by window without the daemon.

The streams are scripts/stream_bench.py's (its --workdir cache, drift-seedS-POINTS.npz); a
missing one is captured as that script does.

usage: python3 scripts/drift_replay.py [--bin DIR] [--workdir DIR] [--seeds 1,2,3]
           [--flags "..."] [--out FILE.json] [--compare FILE.json]

Prints the mean and worst ARI per seed and over all windows; --out writes every window's
(seed, end, ARI, clusters found) as JSON; --compare lists the windows whose ARI differs from
such a file's. Needs numpy and scikit-learn; mmc from `swift build -c release`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.metrics import adjusted_rand_score

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def stream(mmc: str, points: int, seed: int, workdir: str) -> tuple:
    """(values, labels) of the drifting stream, from stream_bench.py's cache or captured now."""
    cache = os.path.join(workdir, f"drift-seed{seed}-{points}.npz")
    if os.path.exists(cache):
        data = np.load(cache)
        return data["values"], data["labels"]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from stream_bench import capture_stream  # noqa: E402 (needs pyzmq only when capturing)

    return capture_stream(mmc, points, seed, workdir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(REPO, ".build", "release"))
    parser.add_argument("--workdir", default=os.path.join(REPO, "out", "dbench"))
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=10_000)
    parser.add_argument("--step", type=int, default=2_000)
    parser.add_argument("--flags", default="", help="extra mmc cluster flags")
    parser.add_argument("--out", help="write every window's score here (JSON)")
    parser.add_argument("--compare", help="a JSON file of --out to list the windows that differ from")
    args = parser.parse_args()
    mmc = os.path.join(args.bin, "mmc")
    os.makedirs(args.workdir, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory(prefix="mmc-drift-replay-") as folder:
        jobs = []
        for seed in seeds:
            values, labels = stream(mmc, args.points, seed, args.workdir)
            for end in range(args.step, args.points + 1, args.step):
                window = slice(max(0, end - args.window), end)
                path = os.path.join(folder, f"{seed}-{end}.txt")
                np.savetxt(path, values[window], fmt="%.9g")
                jobs.append((seed, end, path, labels[window]))

        def score(job):
            seed, end, path, truth = job
            out = subprocess.run([mmc, "cluster", path, "--quiet", *shlex.split(args.flags)],
                                 capture_output=True, text=True, check=True).stdout
            predicted = np.array([int(line) for line in out.split()])
            keep = truth != 0
            return seed, end, adjusted_rand_score(truth[keep], predicted[keep]), len(set(predicted[predicted >= 0].tolist()))

        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            results = list(pool.map(score, jobs))

    for seed in seeds:
        scores = np.array([ari for s, _, ari, _ in results if s == seed])
        print(f"seed {seed}: mean {scores.mean():.4f} / worst {scores.min():.3f} ({len(scores)} windows)")
    scores = np.array([ari for _, _, ari, _ in results])
    print(f"all: mean {scores.mean():.4f} / worst {scores.min():.3f} ({len(scores)} windows)")
    if args.out:
        with open(args.out, "w") as file:
            json.dump(results, file)
    if args.compare:
        with open(args.compare) as file:
            before = {(seed, end): (ari, count) for seed, end, ari, count in json.load(file)}
        for seed, end, ari, count in results:
            if (seed, end) in before and abs(before[(seed, end)][0] - ari) > 5e-4:
                old, old_count = before[(seed, end)]
                print(f"seed {seed}, window ending at {end:,}: {old:.3f} ({old_count}) -> {ari:.3f} ({count})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
