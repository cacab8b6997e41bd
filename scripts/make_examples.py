#!/usr/bin/env python3
"""Write the bundled example data set examples/data/varied-density.{csv,labels}.

usage: scripts/make_examples.py [OUT_DIR]   (default: examples/data beside this script's repo)

Two dense Gaussian blobs close together beside one large sparse blob, plus 3% uniform noise,
1,500 points in 2-D. The dense pair is so dense that the saddle between them is denser than
the sparse blob's peak: no single density threshold separates the pair without losing the
sparse blob, which is the high-density bias that mass-maximization clustering avoids.

Files: varied-density.csv has a header line "x,y" and one point per line; varied-density.labels
has one integer per line in the same order: 1, 2, 3 for the blobs and 0 for noise (the
convention of the benchmark suite's labels0 files). Needs numpy; the seed is fixed, so the
output is the same on every run with the same numpy.
"""
import os
import sys

import numpy as np

SEED = 20260101
BLOBS = [  # (centre, standard deviation, points)
    ((0.0, 0.0), 0.10, 500),   # dense
    ((0.6, 0.0), 0.10, 500),   # dense, close to the first
    ((3.0, 0.0), 0.80, 455),   # large and sparse
]
NOISE = 45                     # 3% of 1,500
NOISE_BOX = ((-1.5, -2.5), (5.5, 2.5))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "examples", "data")
    rng = np.random.default_rng(SEED)
    points, labels = [], []
    for label, (centre, scale, count) in enumerate(BLOBS, start=1):
        points.append(rng.normal(loc=centre, scale=scale, size=(count, 2)))
        labels.append(np.full(count, label))
    low, high = NOISE_BOX
    points.append(rng.uniform(low=low, high=high, size=(NOISE, 2)))
    labels.append(np.zeros(NOISE, dtype=int))
    order = rng.permutation(sum(len(block) for block in labels))
    X = np.concatenate(points)[order]
    y = np.concatenate(labels)[order]

    os.makedirs(out, exist_ok=True)
    np.savetxt(os.path.join(out, "varied-density.csv"), X, fmt="%.6f", delimiter=",", header="x,y", comments="")
    np.savetxt(os.path.join(out, "varied-density.labels"), y, fmt="%d")
    print(f"wrote {len(X)} points ({NOISE} noise) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
