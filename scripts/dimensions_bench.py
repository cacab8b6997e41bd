#!/usr/bin/env python3
"""Time `mmc cluster` beside hdbscan and fast_hdbscan on Gaussian blobs of every dimension.

usage: PYTHON scripts/dimensions_bench.py [--dims 2,4,8,16,32,64,128] [--sizes 20000,100000]
                                          [--recluster-dims 2,16,64] [--no-build | --mmc PATH]
                                          [--timeout 600]

The peers need a virtual environment outside the repository, e.g.
    python3 -m venv /work/venv-bench
    /work/venv-bench/bin/pip install numpy scikit-learn hdbscan fast_hdbscan pynndescent
    /work/venv-bench/bin/python scripts/dimensions_bench.py

In one run, for every n in --sizes and d in --dims: 8 Gaussian blobs from scikit-learn's
`make_blobs(n, d, centers=8, random_state=42)`, every feature scaled to [0, 1] and rounded to
6 decimals, written to a temporary CSV file. Then
- `mmc cluster FILE --quiet` (release build linked as the .deb links it, `--static-swift-stdlib`,
  in .build-static: the binary users run; every processor): the whole process's wall time,
  file parsing included, the median of 5 runs after a warm-up run;
- hdbscan's `HDBSCAN(algorithm="boruvka_kdtree", core_dist_n_jobs=-1).fit(X)` and fast_hdbscan's
  `HDBSCAN().fit(X)` (numba on every processor; it switches to pynndescent above 30 features):
  the fit's wall time only, each in a subprocess of its own after a warm-up fit (fast_hdbscan:
  on the same points, since numba compiles each code path the first time the data takes it;
  hdbscan, compiled ahead: on 2,000 uniform points of the same dimension), killed after
  --timeout seconds.
ARI against the blobs is printed beside each time. Then `mmc bench --only recluster` on 50,000
points of each of --recluster-dims: the daemon's re-clustering (scaling included) with the
daemon's default threads (every processor but one).

The machine may be shared: read the ratios of one run, measured side by side, rather than the
times alone.
"""

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PEER = r"""
import sys, time, numpy as np
name, path, timing = sys.argv[1], sys.argv[2], sys.argv[3]
X = np.load(path)
if name == "hdbscan":
    import hdbscan
    make = lambda: hdbscan.HDBSCAN(algorithm="boruvka_kdtree", core_dist_n_jobs=-1)
else:
    import fast_hdbscan
    make = lambda: fast_hdbscan.HDBSCAN()
# numba compiles per code path, and which paths run depends on the data (the size, separated
# clusters), so fast_hdbscan warms up on the very points it is timed on; hdbscan compiles
# nothing at run time and warms up on 2,000 uniform rows.
warm = X if name == "fast_hdbscan" else np.random.default_rng(0).random((2000, X.shape[1]))
make().fit(warm)
start = time.perf_counter()
labels = make().fit(X).labels_
elapsed = time.perf_counter() - start
np.save(timing, np.append(labels.astype(float), elapsed))
"""


def blobs(n, d, folder):
    X, y = make_blobs(n_samples=n, n_features=d, centers=8, random_state=42)
    X = np.round((X - X.min(0)) / (X.max(0) - X.min(0)), 6)
    csv = os.path.join(folder, f"blobs-{n}-{d}.csv")
    np.savetxt(csv, X, fmt="%.6f", delimiter=",")
    npy = os.path.join(folder, f"blobs-{n}-{d}.npy")
    np.save(npy, X)
    return csv, npy, y


def run_mmc(mmc, csv, folder, runs=5):
    """The median wall time of `runs` runs of `mmc cluster` after one warm-up run (as the peers
    get a warm-up fit), and the labels."""
    labels = os.path.join(folder, "mmc.labels")
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run([mmc, "cluster", csv, "--quiet", "--output", labels], check=True)
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:])), np.loadtxt(labels, dtype=int)


def run_peer(name, npy, folder, timeout):
    out = os.path.join(folder, f"{name}.npy")
    try:
        subprocess.run([sys.executable, "-c", PEER, name, npy, out], check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None
    result = np.load(out)
    return result[-1], result[:-1].astype(int)


def integers(text):
    """The comma-separated integers of `text`; none for an empty text."""
    return [int(item) for item in text.split(",") if item]


# What the peers' times depend on; a table is read beside these versions.
PEER_PACKAGES = ("hdbscan", "fast_hdbscan", "pynndescent", "numba", "numpy", "scikit-learn")


def version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def seconds(value, timeout):
    return f"> {timeout:.0f}" if value is None else f"{value:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dims", default="2,4,8,16,32,64,128")
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--recluster-dims", default="2,16,64")
    parser.add_argument("--recluster-points", type=int, default=50_000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--scratch-path", default=os.path.join(ROOT, ".build-static"))
    parser.add_argument("--mmc", help="an mmc binary to time instead of building one (e.g. a copy, "
                        "so a build during the run cannot replace it)")
    args = parser.parse_args()

    build = ["swift", "build", "-c", "release", "--static-swift-stdlib", "--scratch-path", args.scratch_path,
             "--product", "mmc"]
    if args.mmc:
        mmc = args.mmc
    else:
        if not args.no_build:
            subprocess.run(build, check=True, cwd=ROOT, stdout=sys.stderr)
        bin_path = subprocess.run(build + ["--show-bin-path"], check=True, cwd=ROOT, capture_output=True, text=True)
        mmc = os.path.join(bin_path.stdout.strip(), "mmc")

    print(f"processors: {os.cpu_count()}, load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("peers: " + ", ".join(f"{name} {version(name)}" for name in PEER_PACKAGES))
    print()
    print("| n | d | mmc cluster s (ARI) | hdbscan boruvka_kdtree s (ARI) | fast_hdbscan s (ARI) | faster peer / mmc |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for n in integers(args.sizes):
            for d in integers(args.dims):
                csv, npy, truth = blobs(n, d, folder)
                ours, labels = run_mmc(mmc, csv, folder)
                cells = [f"{ours:.3f} ({adjusted_rand_score(truth, labels):.2f})"]
                peers = []
                for name in ("hdbscan", "fast_hdbscan"):
                    elapsed, peer_labels = run_peer(name, npy, folder, args.timeout)
                    ari = "" if peer_labels is None else f" ({adjusted_rand_score(truth, peer_labels):.2f})"
                    cells.append(seconds(elapsed, args.timeout) + ari)
                    peers.append(args.timeout if elapsed is None else elapsed)
                ratio = min(peers) / ours
                print(f"| {n:,} | {d} | {' | '.join(cells)} | {ratio:.1f}x |", flush=True)
                os.remove(csv)
                os.remove(npy)

        print()
        print(f"Daemon re-clustering, {args.recluster_points:,}-point window (`mmc bench --only recluster`):")
        print()
        print("| d | threads | method | wall s, median (min-max) | CPU s, median |")
        print("|---:|---:|---|---:|---:|")
        for d in integers(args.recluster_dims):
            csv, npy, _ = blobs(args.recluster_points, d, folder)
            report = subprocess.run(
                [mmc, "bench", "--only", "recluster", "--json", "--points-file", csv, "--recluster-runs", "3"],
                check=True, capture_output=True, text=True)
            for result in json.loads(report.stdout)["recluster"]:
                wall, cpu = result["wall_seconds"], result["cpu_seconds"]
                print(f"| {d} | {result['threads']} | {result['method']} | {wall['median']:.3f} "
                      f"({wall['min']:.3f}-{wall['max']:.3f}) | {cpu['median']:.3f} |", flush=True)
            os.remove(csv)
            os.remove(npy)


if __name__ == "__main__":
    main()
