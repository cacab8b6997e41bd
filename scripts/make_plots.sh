#!/usr/bin/env bash
# Draws the pictures in docs/: the true labels, MMC and DMC side by side on the varied-density
# example and on four benchmark sets, with `mmc plot` (release build).
#
# usage: scripts/make_plots.sh
#
# Writes docs/img/NAME-truth.svg, NAME-mmc.svg and NAME-dmc.svg. The benchmark sets are read
# from SUITE (default ../shared/datasets/benchmark) and never copied: only the SVGs are
# committed. Environment: SCRATCH (SwiftPM scratch path, default .build).
set -euo pipefail
cd "$(dirname "$0")/.."

suite=${SUITE:-../shared/datasets/benchmark}
scratch=${SCRATCH:-.build}
out=docs/img

swift build -c release --scratch-path "$scratch" --product mmc
mmc="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/mmc"
mkdir -p "$out"

# NAME DATA LABELS: three pictures of one data set at a size that sits two or three abreast.
draw() {
  local name=$1 data=$2 labels=$3
  local size=(--width 480 --height 400)
  "$mmc" plot "$data" --labels "$labels" --noise-label 0 --title "$name: true labels (0 = noise)" "${size[@]}" \
    -o "$out/$name-truth.svg"
  for method in mmc dmc; do
    "$mmc" plot "$data" --cluster "$method" --title "$name: ${method^^}, default parameters" "${size[@]}" \
      -o "$out/$name-$method.svg"
  done
}

# The example from scripts/make_examples.py: two dense blobs beside a sparse one.
draw varied-density examples/data/varied-density.csv examples/data/varied-density.labels
# Where the mass objective gains most (flame, engytime), ties (aggregation) and loses (pathbased):
# see docs/benchmarks.md for the scores.
for name in sipu_flame fcps_engytime sipu_aggregation sipu_pathbased; do
  draw "$name" "$suite/$name.data.gz" "$suite/$name.labels0.gz"
done
ls -l "$out"
