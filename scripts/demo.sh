#!/usr/bin/env bash
# The one-minute tour: builds mmcd and mmc, starts the daemon with the shipped configuration
# (state in a temporary directory), replays the bundled varied-density stream into it and
# prints the cluster updates it publishes. Stops everything on exit.
#
# The demo's sockets are ipc:// files in that directory, not the shipped 5556-5558: a daemon
# already on those ports (the installed service, or one started for the Python client's
# example) would otherwise make the demo's own daemon fail to bind while the feed and the
# watcher carried on with the other one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
swift build --product mmcd
swift build --product mmc
bin=$(swift build --show-bin-path)

state=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

# A 1,500-point window re-clustered every second or every 500 new points.
"$bin/mmcd" --config config/mmcd.toml \
  --set state.directory="$state" --set window.size=1500 \
  --set schedule.interval_seconds=1 --set schedule.every_points=500 --set http.port=0 \
  --set input.bind="[\"ipc://$state/input\"]" --set output.endpoint="ipc://$state/output" \
  --set control.endpoint="" &
pids+=($!)
sleep 1

# Replays examples/data/varied-density.csv (two dense blobs beside a sparse one) at 2,000
# points per second, over and over, onto the daemon's input socket.
"$bin/mmc" feed examples/data/varied-density.csv --endpoint "ipc://$state/input" --connect \
  --socket pub --rate 2000 --loop >/dev/null &
pids+=($!)

# Prints the first five cluster updates: ids, masses, centroids, lifecycle events.
"$bin/mmc" watch --endpoint "ipc://$state/output" --count 5 --timeout 60
