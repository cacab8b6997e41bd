#!/usr/bin/env python3
"""Shapes kept out of development: MMC's defaults beside HDBSCAN and DBSCAN on families that no
rule of docs/algorithm.md was chosen on.

The gradient suite (scripts/gradient_suite.py) is what the rules of algorithm.md section 2 were
developed against, so its scores say little about data the rules have not seen. These seven
families come from numpy's seeded generators at run time (no data file is stored), each with the
curves, crossings, crowding and mixed spreads that sensor trajectories show:

- moons-gradient: two interleaved half circles, points crowding toward one end (t ~ U^2);
- rings-bunched: three concentric rings, angles von Mises-bunched (kappa 2);
- helices-3d: two interleaved helices in 3-D, crowding toward one end;
- lissajous: four separate Lissajous figures (3:2, each crossing itself), crowding along them;
- spiral-arms: three arms of one spiral, crowding toward the centre;
- blobs-varied: four Gaussian blobs with spreads 0.3 to 2.5;
- snakes-crowded: five parallel waves, crowding toward one end (t ~ U^3).

Each is clustered by `mmc cluster` with its defaults (plus any flags after --) and scored as the
gradient suite scores (scripts/gradient_suite.py's functions: features scaled to [0, 1], ARI,
predicted noise as one more label) beside,
on the same points: scikit-learn HDBSCAN(), HDBSCAN(1% of the points, min_samples 15) and DBSCAN
(min_samples 5) at the best of 25 eps from 0.005 to 0.3 (an oracle that sees the labels).

usage: python3 scripts/shapes_check.py [--bin DIR] [--seeds 11,12,13] [--workdir DIR]
                                       [-- mmc cluster flags...]

Prints a markdown table (ARI, and in parentheses the clusters found, per seed) and the mean and
minimum per method. Needs numpy and scikit-learn; mmc from `swift build -c release`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
from sklearn.datasets import make_blobs

from gradient_suite import METHODS, print_summary, scaled, score_beside_peers, suite_arguments

warnings.filterwarnings("ignore")


def moons_gradient(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = 3_000
    t = rng.random(n) ** 2 * np.pi
    labels = rng.integers(0, 2, n)
    x = np.where(labels == 0, np.cos(t), 1 - np.cos(t))
    y = np.where(labels == 0, np.sin(t), 0.5 - np.sin(t))
    return np.c_[x, y] + rng.normal(0, 0.03, (n, 2)), labels


def rings_bunched(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = 4_500
    labels = rng.integers(0, 3, n)
    radius = np.array([1.0, 2.0, 3.0])[labels]
    angle = rng.vonmises(0, 2.0, n)
    return np.c_[radius * np.cos(angle), radius * np.sin(angle)] + rng.normal(0, 0.06, (n, 2)), labels


def helices_3d(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = 4_000
    labels = rng.integers(0, 2, n)
    t = rng.random(n) ** 2 * 4 * np.pi
    phase = labels * np.pi
    points = np.c_[np.cos(t + phase), np.sin(t + phase), t / (4 * np.pi) * 3]
    return points + rng.normal(0, 0.05, (n, 3)), labels


def lissajous(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = 4_000
    labels = rng.integers(0, 4, n)
    t = rng.random(n) ** 2 * 2 * np.pi
    centre_x = np.array([0, 4, 0, 4])[labels]
    centre_y = np.array([0, 0, 4, 4])[labels]
    points = np.c_[centre_x + np.sin(3 * t + 0.5), centre_y + np.sin(2 * t)]
    return points + rng.normal(0, 0.03, (n, 2)), labels


def spiral_arms(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, arms = 4_500, 3
    labels = rng.integers(0, arms, n)
    t = 0.3 + rng.random(n) ** 2 * 2.5
    angle = t * 2.2 + labels * 2 * np.pi / arms
    return np.c_[t * np.cos(angle), t * np.sin(angle)] + rng.normal(0, 0.04, (n, 2)), labels


def blobs_varied(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(
        n_samples=4_000, cluster_std=[0.3, 1.0, 2.5, 0.5], centers=[[0, 0], [5, 5], [-8, 6], [8, -6]],
        random_state=int(rng.integers(1 << 30)))


def snakes_crowded(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = 5_000
    labels = rng.integers(0, 5, n)
    t = rng.random(n) ** 3 * 10
    return np.c_[t, labels * 1.0 + 0.3 * np.sin(t)] + rng.normal(0, 0.04, (n, 2)), labels


FAMILIES = {
    "moons-gradient": moons_gradient, "rings-bunched": rings_bunched, "helices-3d": helices_3d,
    "lissajous": lissajous, "spiral-arms": spiral_arms, "blobs-varied": blobs_varied,
    "snakes-crowded": snakes_crowded,
}


def main() -> int:
    args, flags, mmc = suite_arguments(__doc__, seeds="11,12,13", workdir="shapes")
    seeds = [int(s) for s in args.seeds.split(",")]

    scores: dict[str, list[float]] = {method: [] for method in METHODS}
    print(f"mmc cluster flags: {' '.join(flags) or '(defaults)'}; seeds {args.seeds}\n")
    print("| family | n | k | MMC | HDBSCAN() | HDBSCAN(1%, 15) | DBSCAN best of 25 eps |")
    print("|---|---:|---:|---|---|---|---|")
    for family, generate in FAMILIES.items():
        cells: dict[str, list[str]] = {method: [] for method in METHODS}
        for seed in seeds:
            points, truth = generate(np.random.default_rng(seed))
            points = scaled(points)
            data = os.path.join(args.workdir, f"{family}-seed{seed}.csv")
            ours = os.path.join(args.workdir, f"{family}-seed{seed}.mmc")
            np.savetxt(data, points, delimiter=",", fmt="%.6f")
            subprocess.run([mmc, "cluster", data, "--quiet", "--output", ours, *flags], check=True)
            # Labels 1..k: the gradient suite's scoring keeps 0 for noise, and these have none.
            score_beside_peers(points, truth + 1, np.loadtxt(ours, dtype=int), scores, cells)
        k = len(set(truth.tolist()))
        print(f"| {family} | {len(points)} | {k} | " + " | ".join(" / ".join(cells[m]) for m in METHODS) + " |",
              flush=True)
    print_summary(scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
