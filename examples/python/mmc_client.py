#!/usr/bin/env python3
"""Example client for mmcd: feed points, watch cluster updates, ask queries.

Written from docs/protocol.md alone; the codec is mmc_wire.py (no pyzmq needed there).
pyzmq is imported only by the commands that open sockets.

  mmc_client.py feed  --endpoint tcp://127.0.0.1:5555 --random 10000 --dim 2 --format binary
  mmc_client.py feed  --endpoint tcp://127.0.0.1:5555 --file points.csv --id-column 0 --time-column 1
  mmc_client.py watch --endpoint tcp://127.0.0.1:5556 --topic clusters.
  mmc_client.py ask   --endpoint tcp://127.0.0.1:5557 classify --point 0.1,2.5 --point 9,9
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Iterator, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mmc_wire  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Reading points


def read_rows(path: str, id_column: Optional[int], time_column: Optional[int], first_id: int) -> Iterator[tuple]:
    """Yields (id, t, vector) from a CSV or whitespace-separated file.

    Every column that is not the id or time column is a coordinate. Blank lines and lines
    starting with '#' are skipped, and so is a first line that does not parse (a header).
    Without an id column ids count up from ``first_id``; without a time column t is now.
    """
    next_id = first_id
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = [field for field in line.replace(",", " ").split()]
            try:
                point_id = int(fields[id_column]) if id_column is not None else next_id
                t = float(fields[time_column]) if time_column is not None else time.time()
                vector = [float(value) for index, value in enumerate(fields) if index not in (id_column, time_column)]
            except (ValueError, IndexError):
                if number == 0:
                    continue
                raise SystemExit(f"{path}:{number + 1}: cannot read a point from {line!r}")
            next_id = point_id + 1
            yield point_id, t, vector


def random_rows(count: int, dimension: int, seed: int, first_id: int) -> Iterator[tuple]:
    """Seeded points around four centres (SplitMix64, so runs are reproducible)."""
    generator = mmc_wire.SplitMix64(seed)
    centres = [[generator.next_unit() * 20 - 10 for _ in range(dimension)] for _ in range(4)]
    for index in range(count):
        centre = centres[generator.next() % 4]
        yield first_id + index, time.time(), [c + generator.next_unit() - 0.5 for c in centre]


def batches(rows: Iterator[tuple], size: int) -> Iterator[mmc_wire.PointBatch]:
    chunk: list = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield _batch(chunk)
            chunk = []
    if chunk:
        yield _batch(chunk)


def _batch(rows: list) -> mmc_wire.PointBatch:
    dimension = len(rows[0][2])
    if any(len(vector) != dimension for _, _, vector in rows):
        raise SystemExit("all points must have the same number of coordinates")
    return mmc_wire.PointBatch(dimension, [r[0] for r in rows], [r[1] for r in rows],
                               [value for r in rows for value in r[2]])


def encode(batch: mmc_wire.PointBatch, form: str) -> bytes:
    if form == "binary":
        return mmc_wire.encode_points_binary(batch)
    if form == "single":
        return mmc_wire.encode_points_json(batch, "single")
    return mmc_wire.encode_points_json(batch, form)


# ---------------------------------------------------------------------------------------------
# Commands


def _socket(kind: str, endpoint: str, bind: bool):
    import zmq  # lazily: the codec works without pyzmq

    context = zmq.Context.instance()
    socket = context.socket(getattr(zmq, kind.upper()))
    socket.setsockopt(zmq.LINGER, 2000)
    if bind:
        socket.bind(endpoint)
    else:
        socket.connect(endpoint)
    return zmq, socket


def feed(args: argparse.Namespace) -> int:
    if args.random is not None:
        rows = random_rows(args.random, args.dim, args.seed, args.first_id)
    else:
        rows = read_rows(args.file, args.id_column, args.time_column, args.first_id)
    size = 1 if args.format == "single" else args.batch
    zmq, socket = _socket(args.socket, args.endpoint, args.bind)
    socket.setsockopt(zmq.SNDHWM, 100_000)
    # PUB drops what is sent before subscribers connect; give them a moment.
    time.sleep(args.settle)
    topic = args.topic.encode("utf-8")
    sent = 0
    start = time.perf_counter()
    for batch in batches(rows, size):
        socket.send_multipart([topic, encode(batch, args.format)])
        sent += len(batch)
        if args.rate:
            delay = sent / args.rate - (time.perf_counter() - start)
            if delay > 0:
                time.sleep(delay)
    elapsed = time.perf_counter() - start
    print(f"sent {sent} points to {args.endpoint} ({args.socket}, {args.format}) in {elapsed:.2f} s", file=sys.stderr)
    socket.close()
    return 0


def describe_update(topic: str, sequence: int, update: mmc_wire.Update, verbose: bool) -> list:
    """Readable lines for one update."""
    if isinstance(update, mmc_wire.ProvisionalAssignments):
        noise = sum(1 for c in update.clusters if c == -1)
        return [f"{topic} #{sequence} provisional model={update.model_version} points={len(update.ids)} noise={noise}"]
    events = " ".join(_describe_event(e) for e in update.events) or "-"
    assignments = "none"
    if update.assignments is not None:
        a = update.assignments
        assignments = f"full({len(a.ids)})" if a.mode == "full" else \
            f"diff(base={a.base_version} changed={len(a.ids)} removed={len(a.removed)})"
    lines = [f"{topic} #{sequence} model={update.model_version} window={update.window_size} noise={update.noise} "
             f"clusters={len(update.clusters)} events={events} assignments={assignments}"]
    if verbose:
        for c in update.clusters:
            centroid = ", ".join(f"{x:.4g}" for x in c.centroid)
            lines.append(f"    cluster {c.id}: mass={c.mass} centroid=[{centroid}]")
    return lines


def _describe_event(event: dict) -> str:
    if event["type"] in ("birth", "death"):
        return f"{event['type']}({event['id']})"
    source = event["from"] if isinstance(event["from"], list) else [event["from"]]
    target = event["into"] if isinstance(event["into"], list) else [event["into"]]
    return f"{event['type']}({','.join(map(str, source))}->{','.join(map(str, target))})"


def watch(args: argparse.Namespace) -> int:
    zmq, socket = _socket("sub", args.endpoint, args.bind)
    for topic in args.topic or [""]:
        socket.setsockopt(zmq.SUBSCRIBE, topic.encode("utf-8"))
    tracker = mmc_wire.SequenceTracker()
    received = 0
    gaps = 0
    while args.count is None or received < args.count:
        if not socket.poll(int(args.timeout * 1000)):
            print(f"no message for {args.timeout} s", file=sys.stderr)
            break
        frames = socket.recv_multipart()
        received += 1
        try:
            if len(frames) != 3:
                raise mmc_wire.WireError("invalid_frame", f"an updates message needs 3 frames, got {len(frames)}")
            topic = frames[0].decode("utf-8", errors="replace")
            sequence = mmc_wire.decode_sequence(frames[2])
            update = mmc_wire.decode_update(frames[1])
        except mmc_wire.WireError as error:
            print(f"malformed message: {error}", file=sys.stderr)
            continue
        observation, missed = tracker.observe(topic, sequence)
        if observation == "gap":
            gaps += 1
            print(f"{topic} GAP: {missed} message(s) lost before #{sequence}")
        elif observation == "restarted":
            print(f"{topic} RESTART: sequence went back to #{sequence}")
        elif observation == "repeated" and not args.show_repeats:
            continue
        for line in describe_update(topic, sequence, update, args.verbose):
            print(line, flush=True)
    socket.close()
    return 1 if gaps and args.fail_on_gap else 0


def ask(args: argparse.Namespace) -> int:
    if args.request == "classify":
        if not args.point:
            raise SystemExit("classify needs at least one --point")
        vectors = [[float(x) for x in point.replace(",", " ").split()] for point in args.point]
        if len({len(v) for v in vectors}) != 1:
            raise SystemExit("all --point values must have the same number of coordinates")
        body = mmc_wire.encode_request("classify", len(vectors[0]), [x for v in vectors for x in v])
    else:
        body = mmc_wire.encode_request(args.request)
    zmq, socket = _socket("req", args.endpoint, False)
    socket.send(body)
    if not socket.poll(int(args.timeout * 1000)):
        print(f"no reply from {args.endpoint} within {args.timeout} s", file=sys.stderr)
        socket.close(linger=0)
        return 2
    raw = socket.recv()
    socket.close()
    if args.json:
        print(raw.decode("utf-8"))
    reply = mmc_wire.decode_reply(raw)
    if reply.status == "error":
        print(f"error {reply.result['code']}: {reply.result['message']}", file=sys.stderr)
        return 1
    if args.json:
        return 0
    if reply.reply == "snapshot":
        for line in describe_update("snapshot", 0, reply.result, verbose=True):
            print(line)
    elif reply.reply == "stats":
        for key, value in reply.result.items():
            print(f"{key:>24} {value}")
    else:
        result = reply.result
        print(f"model {result['model_version']}")
        for point, cluster, confidence in zip(args.point, result["clusters"], result["confidence"]):
            label = "noise" if cluster == -1 else f"cluster {cluster}"
            print(f"  [{point}] -> {label} (confidence {confidence:.3f})")
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = main.add_subparsers(dest="command", required=True)

    f = commands.add_parser("feed", help="send points (PUB or PUSH)")
    f.add_argument("--endpoint", required=True, help="e.g. tcp://127.0.0.1:5555")
    f.add_argument("--socket", choices=["pub", "push"], default="pub")
    f.add_argument("--bind", action="store_true", help="bind instead of connect")
    f.add_argument("--topic", default="points.default")
    f.add_argument("--format", choices=["binary", "columns", "rows", "single"], default="binary")
    f.add_argument("--batch", type=int, default=1000, help="points per message (1 for --format single)")
    f.add_argument("--rate", type=float, help="points per second (default: as fast as possible)")
    f.add_argument("--settle", type=float, default=0.5, help="seconds to wait after connecting")
    f.add_argument("--first-id", type=int, default=0)
    source = f.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", help="CSV or whitespace-separated points, one per line")
    source.add_argument("--random", type=int, metavar="N", help="N seeded random points")
    f.add_argument("--id-column", type=int, help="column of the point id (from 0)")
    f.add_argument("--time-column", type=int, help="column of the timestamp (seconds)")
    f.add_argument("--dim", type=int, default=2, help="dimension of --random points")
    f.add_argument("--seed", type=int, default=1)
    f.set_defaults(run=feed)

    w = commands.add_parser("watch", help="subscribe to updates and print them")
    w.add_argument("--endpoint", required=True)
    w.add_argument("--bind", action="store_true")
    w.add_argument("--topic", action="append", help="topic prefix (repeatable; default: everything)")
    w.add_argument("--count", type=int, help="stop after this many messages")
    w.add_argument("--timeout", type=float, default=3600.0, help="stop after this many silent seconds")
    w.add_argument("--verbose", action="store_true", help="print every cluster")
    w.add_argument("--show-repeats", action="store_true", help="print re-sent snapshots too")
    w.add_argument("--fail-on-gap", action="store_true", help="exit 1 if any message was lost")
    w.set_defaults(run=watch)

    a = commands.add_parser("ask", help="send one request (REQ) and print the reply")
    a.add_argument("--endpoint", required=True)
    a.add_argument("request", choices=["snapshot", "stats", "classify"])
    a.add_argument("--point", action="append", help="coordinates for classify, e.g. 0.1,2.5 (repeatable)")
    a.add_argument("--timeout", type=float, default=5.0)
    a.add_argument("--json", action="store_true", help="print the raw JSON reply")
    a.set_defaults(run=ask)
    return main


def main(argv: Optional[list] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except mmc_wire.WireError as error:
        print(f"protocol error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
