#!/usr/bin/env python3
"""Sensor glitches: spike readings, replayed batches and a stuck sensor, clustered by
`mmc cluster` at its defaults (robust scaling), with `--scaling window` (the bounding box the
window was scaled by before) and by scikit-learn's HDBSCAN on the raw points, in one run.

Cases (docs/benchmarks.md, "Sensor glitches"):
  - examples/data/varied-density.csv, ARI against its labels (over the readings whose true
    label is not 0, the suite's rule); the same plus one reading at
    x = 1e6, x = 1,000, y = 1,000 and x = 50;
  - the same plus 1% of readings at 10x to 1e9x the data's span from a random reading along
    a random axis (either side); ARI of the other readings against the clean run of the same
    method (the issue's criterion: >= 0.98) and against the labels;
  - two Gaussian blobs of 200 readings, every reading 1, 2, 3, 5, 10 times: clusters found;
  - two blobs of 500 and 300 identical readings elsewhere (a stuck sensor): clusters found and
    whether the stuck readings are one cluster of their own.

Usage (from the repository root, numpy and scikit-learn installed; release build of mmc):

  python3 scripts/glitch_bench.py --bin .build/release
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.metrics import adjusted_rand_score

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


class Methods:
    """Labels of one point set by every method compared."""

    def __init__(self, mmc: str, folder: str):
        self.mmc = mmc
        self.folder = folder
        self.names = ["mmc (robust)", "mmc --scaling window", "HDBSCAN raw (min_cluster_size 15)"]

    def labels(self, points: np.ndarray) -> list[np.ndarray]:
        path = os.path.join(self.folder, "points.txt")
        np.savetxt(path, points, fmt="%.17g")
        runs = []
        for flags in ([], ["--scaling", "window"]):
            out = subprocess.run([self.mmc, "cluster", path, "--quiet", *flags],
                                 capture_output=True, text=True, check=True).stdout
            runs.append(np.array([int(line) for line in out.split()]))
        runs.append(HDBSCAN(min_cluster_size=15, copy=True).fit_predict(points))
        return runs


def ari(truth: np.ndarray, found: np.ndarray) -> float:
    """The suite's rule: ARI over the readings whose true label is not 0 (noise)."""
    keep = truth != 0
    return adjusted_rand_score(truth[keep], found[keep])


def clusters(labels: np.ndarray) -> int:
    return len(set(labels[labels >= 0].tolist()))


def spikes(points: np.ndarray, share: float, magnitude: float, rng: np.random.Generator) -> np.ndarray:
    """`share` of len(points) readings (at least one): copies of random readings with one random
    feature moved `magnitude` times that feature's span to either side."""
    count = max(1, int(share * len(points)))
    span = points.max(axis=0) - points.min(axis=0)
    rows = points[rng.integers(len(points), size=count)].copy()
    for row in rows:
        feature = rng.integers(points.shape[1])
        row[feature] += rng.choice([-1, 1]) * magnitude * span[feature]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=os.path.join(REPO, ".build", "release"))
    parser.add_argument("--seeds", type=int, default=5, help="spike draws per magnitude")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="mmc-glitch-") as folder:
        methods = Methods(os.path.join(args.bin, "mmc"), folder)
        print("| input | " + " | ".join(methods.names) + " |")
        print("|---|" + "---|" * len(methods.names))

        def row(name: str, cells: list[str]) -> None:
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)

        data = np.loadtxt(os.path.join(REPO, "examples", "data", "varied-density.csv"), delimiter=",", skiprows=1)
        truth = np.loadtxt(os.path.join(REPO, "examples", "data", "varied-density.labels"), dtype=int)
        clean = methods.labels(data)
        row("varied-density.csv (ARI vs its labels)",
            [f"{ari(truth, found):.3f}, {clusters(found)} clusters" for found in clean])
        for name, spike in [("x = 1e6", (1e6, 0)), ("x = 1,000", (1000, 0)), ("y = 1,000", (0, 1000)),
                            ("x = 50", (50, 0))]:
            runs = methods.labels(np.vstack([data, spike]))
            row(f"plus one reading at {name}",
                [f"{ari(truth, found[:-1]):.3f}, {clusters(found)} clusters" for found in runs])
        for magnitude in (10.0, 1e3, 1e6, 1e9):
            against_clean = [[] for _ in methods.names]
            against_truth = [[] for _ in methods.names]
            for _ in range(args.seeds):
                runs = methods.labels(np.vstack([data, spikes(data, 0.01, magnitude, rng)]))
                for index, found in enumerate(runs):
                    against_clean[index].append(adjusted_rand_score(clean[index], found[:len(data)]))
                    against_truth[index].append(ari(truth, found[:len(data)]))
            row(f"plus 1% at {magnitude:g}x the span (ARI of the others vs clean run, min / vs labels, mean)",
                [f"{min(c):.3f} / {np.mean(t):.3f}" for c, t in zip(against_clean, against_truth)])

        blob_rng = np.random.default_rng(11)
        blobs = np.vstack([blob_rng.normal((0, 0), 1, (200, 2)), blob_rng.normal((100, 50), 1, (200, 2))])
        once = methods.labels(blobs)
        for times in (1, 2, 3, 5, 10):
            runs = methods.labels(np.vstack([blobs] * times))
            row(f"two blobs of 200, every reading {times}x (clusters; labels as once?)",
                [f"{clusters(found)}; {'yes' if np.array_equal(found, np.tile(first, times)) else 'no'}"
                 for found, first in zip(runs, once)])

        stuck_rng = np.random.default_rng(12)
        stuck = np.vstack([stuck_rng.normal((0, 0), 1, (500, 2)), stuck_rng.normal((10, 0), 1, (500, 2)),
                           np.tile([5.0, 8.0], (300, 1))])
        cells = []
        for found in methods.labels(stuck):
            own = found[1000] >= 0 and np.all(found[1000:] == found[1000]) and found[1000] not in found[:1000]
            cells.append(f"{clusters(found)} clusters, stuck readings {'their own' if own else 'not their own'}")
        row("two blobs of 500 + 300 identical readings (a stuck sensor)", cells)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
