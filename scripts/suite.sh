#!/usr/bin/env bash
# Clusters every data set of the benchmark suite with `mmc cluster` (release build) and scores
# the labels against scikit-learn's HDBSCAN and DBSCAN with the shared peers script.
#
# usage: scripts/suite.sh LABEL [mmc cluster flags...]
#   e.g. scripts/suite.sh defaults
#        scripts/suite.sh dmc --method dmc
#
# Writes out/suite-LABEL/NAME.labels for every NAME.data.gz, out/suite-LABEL/flags.txt and the
# score table out/suite-LABEL/scores.txt (also printed). out/ is git-ignored; the suite's data
# stays where it is and is never copied into the repository.
#
# Environment: SUITE (default ../shared/datasets/benchmark), PEERS (default
# ../shared/scripts/peers.py), PYTHON (default python3; needs numpy and scikit-learn),
# SCRATCH (SwiftPM scratch path, default .build), PEERS_ARGS (extra peers.py flags, e.g.
# "--only fcps_atom,sipu_r15"; by default peers.py skips sets above 25,000 points).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [[ "$1" == -* ]]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 64
fi
label=$1
shift
suite=${SUITE:-../shared/datasets/benchmark}
peers=${PEERS:-../shared/scripts/peers.py}
python=${PYTHON:-python3}
scratch=${SCRATCH:-.build}

if ! "$python" -c 'import numpy, sklearn' 2>/dev/null; then
  echo "suite.sh: $python cannot import numpy and sklearn: pip install numpy scikit-learn, or set PYTHON" >&2
  exit 1
fi

swift build -c release --scratch-path "$scratch" --product mmc
mmc="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/mmc"

out=out/suite-$label
mkdir -p "$out"
printf '%s\n' "$*" > "$out/flags.txt"
failed=0
for data in "$suite"/*.data.gz; do
  name=$(basename "$data" .data.gz)
  if ! "$mmc" cluster "$data" --quiet --output "$out/$name.labels" "$@"; then
    echo "suite.sh: mmc cluster failed on $name" >&2
    failed=$((failed + 1))
  fi
done

# shellcheck disable=SC2086 # PEERS_ARGS is split on purpose
"$python" "$peers" "$suite" --labels "$out" ${PEERS_ARGS:-} | tee "$out/scores.txt"
if [ "$failed" -gt 0 ]; then
  echo "suite.sh: $failed data set(s) failed" >&2
  exit 1
fi
