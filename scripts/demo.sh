#!/usr/bin/env bash
# The one-minute tour: builds mmcd and mmc, starts the daemon with the shipped configuration
# (state in a temporary directory), prints the address of its live page, replays the bundled
# varied-density stream into it and prints the cluster updates it publishes. From a terminal it
# then keeps the live page up until Enter. Stops everything on exit.
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

# The ipc:// endpoints are socket files in this directory, and a socket's path holds at most 107
# bytes (sun_path); when $TMPDIR makes the longer one, <directory>/output, exceed that, the
# directory goes in /tmp instead (else mmcd refuses to start: "File name too long").
state=$(mktemp -d -t mmcd-demo.XXXXXX)
if [ "$(printf %s "$state/output" | wc -c)" -gt 107 ]; then
  rmdir "$state"
  state=$(mktemp -d /tmp/mmcd-demo.XXXXXX)
fi
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

# A 1,500-point window re-clustered every second or every 500 new points. The live page is on
# the shipped HTTP port, 9477, or on the next free one when something listens there (the
# installed service): a start whose HTTP bind fails is tried again one port up, and its log is
# shown only if it failed for another reason (`http.port = 0` turns the server off, it does not
# pick a port). The daemon's log comes through a FIFO, read until mmcd says it is ready, so the
# feed and the watcher start only then.
mkfifo "$state/log"
port=9477
while :; do
  "$bin/mmcd" --config config/mmcd.toml \
    --set state.directory="$state" --set window.size=1500 \
    --set schedule.interval_seconds=1 --set schedule.every_points=500 --set http.port="$port" \
    --set input.bind="[\"ipc://$state/input\"]" --set output.endpoint="ipc://$state/output" \
    --set control.endpoint="" --set log.format=text 2>"$state/log" &
  daemon=$!
  pids=("$daemon")
  exec 3<"$state/log"
  startup=()
  ready=false
  while IFS= read -r line <&3; do
    startup+=("$line")
    case $line in *" info mmcd: ready "*) ready=true; break ;; esac
  done
  $ready && break
  exec 3<&-
  wait "$daemon" || true
  if [ "$port" -lt 9500 ] && [[ "${startup[*]}" == *"Address already in use"* ]]; then
    port=$((port + 1))
    continue
  fi
  printf '%s\n' "${startup[@]}" >&2
  echo "demo: mmcd did not start" >&2
  exit 1
done
printf '%s\n' "${startup[@]}" >&2
# The rest of the log until mmcd exits (not in pids: killed first, it would leave mmcd's last
# lines nowhere to go).
cat <&3 >&2 &
exec 3<&-
echo "Live page: http://127.0.0.1:$port/"

# Replays examples/data/varied-density.csv (two dense blobs beside a sparse one) at 2,000
# points per second, over and over, onto the daemon's input socket.
"$bin/mmc" feed examples/data/varied-density.csv --endpoint "ipc://$state/input" --connect \
  --socket pub --rate 2000 --loop >/dev/null &
feed=$!
pids+=("$feed")

# Prints the first five cluster updates: ids, masses, centroids, lifecycle events.
"$bin/mmc" watch --endpoint "ipc://$state/output" --count 5 --timeout 60

# From a terminal, the daemon stays up for the live page; the feed stops, so the page shows the
# last window and the log stays quiet (SIGKILL: on SIGTERM the feed would print its linger
# notice, which concerns no one here).
if [ -t 0 ]; then
  kill -s KILL "$feed"
  wait "$feed" 2>/dev/null || true
  pids=("$daemon")
  read -r -p "mmcd still serves the live page at http://127.0.0.1:$port/; press Enter to stop. " || true
fi
