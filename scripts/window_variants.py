#!/usr/bin/env python3
"""Windowed ARI of `mmc cluster` on the drifting stream's windows, as recorded and as a sensor
might deliver them: quantized to a resolution, or with readings repeated.

The streams are the ones scripts/stream_bench.py captured (its --workdir cache,
drift-seedS-POINTS.npz). For every seed, the window of --window points ending at every
--every-th point from 2 windows on is written to a scratch folder in each variant, clustered by
the release `mmc cluster` with the default parameters and with each extra flag set, and scored
with the suite's rules (ARI over the points whose true label is not 0, noise one more label).

Variants: "as recorded"; "quantized to Q" (every coordinate rounded to a multiple of Q, the
box being [0, 1]); "every point R times"; "a random F doubled".

Usage (from the repository root, with numpy and scikit-learn):

  python3 scripts/window_variants.py --bin .build/release --workdir out/dbench \\
      --flags "" --flags "--gap-factor 0"
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.metrics import adjusted_rand_score


def variants(values: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    """(name, values, labels) of every variant of one window."""
    yield "as recorded", values, labels
    for step in (0.002, 0.005, 0.01):
        yield f"quantized to {step}", np.round(values / step) * step, labels
    for times in (2, 3):
        yield f"every point {times} times", np.vstack([values] * times), np.concatenate([labels] * times)
    for share in (0.2, 0.5):
        pick = rng.random(len(values)) < share
        yield f"a random {share:.0%} doubled", np.vstack([values, values[pick]]), np.concatenate([labels, labels[pick]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--workdir", default="out/dbench", help="stream_bench.py's cache of captured streams")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--window", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--flags", action="append", default=[], help="mmc cluster flags of one column")
    args = parser.parse_args()
    columns = args.flags or [""]
    mmc = os.path.join(args.bin, "mmc")
    rng = np.random.default_rng(0)
    jobs = []
    with tempfile.TemporaryDirectory(prefix="mmc-variants-") as folder:
        for seed in [int(s) for s in args.seeds.split(",")]:
            stream = np.load(os.path.join(args.workdir, f"drift-seed{seed}-{args.points}.npz"))
            for end in range(2 * args.window, args.points + 1, args.every):
                window = slice(end - args.window, end)
                for name, values, labels in variants(stream["values"][window], stream["labels"][window], rng):
                    path = os.path.join(folder, f"{seed}-{end}-{len(jobs)}.txt")
                    np.savetxt(path, values, fmt="%.9g")
                    jobs.extend((name, column, path, labels) for column in columns)

        def score(job):
            name, column, path, labels = job
            out = subprocess.run([mmc, "cluster", path, "--quiet", *shlex.split(column)],
                                 capture_output=True, text=True, check=True).stdout
            predicted = np.array([int(line) for line in out.split()])
            keep = labels != 0
            return name, column, adjusted_rand_score(labels[keep], predicted[keep]), len(set(predicted[predicted >= 0]))

        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            results = list(pool.map(score, jobs))

    names = list(dict.fromkeys(name for name, *_ in results))
    windows = sum(1 for name, column, *_ in results if name == names[0] and column == columns[0])
    header = " | ".join(f"`mmc cluster {column}`".replace(" `", "`") for column in columns)
    print(f"| readings ({windows} windows) | {header} |")
    print("|---" * (len(columns) + 1) + "|")
    for name in names:
        cells = []
        for column in columns:
            scores = np.array([s for n, c, s, _ in results if n == name and c == column])
            counts = np.array([k for n, c, _, k in results if n == name and c == column])
            cells.append(f"{scores.mean():.3f} / {scores.min():.3f} (clusters ≤ {counts.max()})")
        print(f"| {name} | {' | '.join(cells)} |")
    print("\nCells: mean / worst ARI over the windows (largest number of clusters found in one window).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
