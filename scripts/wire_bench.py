#!/usr/bin/env python3
"""Decode rates of the Python client (clients/python) for the seeded MMCWire benchmark payloads.

The payloads are regenerated from the documented generators (clients/python/tools/interop.py:
benchmark_batch gives the same points as MMCDevTools' WireBenchmark.pointBatch, and the interop
test checks that the binary bytes are identical; snapshot_update the same update as
WireBenchmark.snapshotUpdate), then decoded repeatedly with:

- binary: mmcd_client.wire.decode_points (header checks, numpy views of the three arrays,
  finiteness), the bare numpy.frombuffer views plus numpy.isfinite, and pure-Python
  struct.unpack_from;
- JSON rows and columns: json.loads alone, and mmcd_client.wire.decode_points (json.loads plus
  every check of the protocol, arrays converted to numpy);
- a full-snapshot cluster update: json.loads alone and mmcd_client.wire.decode_update;
- encoding: mmcd_client.wire.encode_points_binary, what Producer.send does per message.

Rates are wall-clock means (as MMCDevTools' WireBenchmark measures them) and, last, per second of
the thread's CPU time.

Needs numpy only (the codec module is loaded from its file; pyzmq is not needed).

Usage: scripts/wire_bench.py [--points 10000] [--dim 4] [--seed 42] [--seconds 1.0]
Compare with the Swift side (release build): mmc bench --only wire --wire-points N --wire-dimension D
"""

import argparse
import json
import os
import struct
import sys
import time

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python", "tools"))

import interop  # noqa: E402

wire = interop.wire


def measure(operation, seconds: float) -> tuple:
    """Mean wall-clock and thread CPU seconds per call, repeating for at least `seconds` (wall)
    and 3 calls. On a loaded machine the CPU figure is the steadier one."""
    calls = 0
    start, cpu_start = time.perf_counter(), time.thread_time()
    elapsed = 0.0
    while calls < 3 or elapsed < seconds:
        operation()
        calls += 1
        elapsed = time.perf_counter() - start
    return elapsed / calls, (time.thread_time() - cpu_start) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    count, dimension = args.points, args.dim
    batch = interop.benchmark_batch(count, dimension, args.seed)
    binary = bytes(wire.encode_points_binary(batch.points, batch.timestamps, batch.ids))
    rows = wire.encode_points_json(batch, "rows")
    columns = wire.encode_points_json(batch, "columns")
    snapshot = wire.encode_update(interop.snapshot_update(count, dimension, 16, args.seed))

    def struct_decode():
        struct.unpack_from(f"<{count * dimension}d", binary, 16)
        struct.unpack_from(f"<{count}d", binary, 16 + 8 * count * dimension)
        struct.unpack_from(f"<{count}Q", binary, 16 + 8 * count * (dimension + 1))

    def numpy_decode():
        values = numpy.frombuffer(binary, "<f8", count * dimension, 16)
        timestamps = numpy.frombuffer(binary, "<f8", count, 16 + 8 * count * dimension)
        numpy.frombuffer(binary, "<u8", count, 16 + 8 * count * (dimension + 1))
        if not (numpy.isfinite(values).all() and numpy.isfinite(timestamps).all()):
            raise ValueError("non-finite")

    cases = [
        ("decode", "binary mmcd_client", binary, lambda: wire.decode_points(binary)),
        ("decode", "binary numpy.frombuffer", binary, numpy_decode),
        ("decode", "binary struct.unpack", binary, struct_decode),
        ("decode", "JSON rows json.loads", rows, lambda: json.loads(rows)),
        ("decode", "JSON rows mmcd_client", rows, lambda: wire.decode_points(rows)),
        ("decode", "JSON columns json.loads", columns, lambda: json.loads(columns)),
        ("decode", "JSON columns mmcd_client", columns, lambda: wire.decode_points(columns)),
        ("decode", "update snapshot json.loads", snapshot, lambda: json.loads(snapshot)),
        ("decode", "update snapshot mmcd_client", snapshot, lambda: wire.decode_update(snapshot)),
        ("encode", "binary mmcd_client", binary,
         lambda: wire.encode_points_binary(batch.points, batch.timestamps, batch.ids)),
    ]
    print(f"{count} points of dimension {dimension}, seed {args.seed}, Python {sys.version.split()[0]}, "
          f"numpy {numpy.__version__}")
    for verb, name, payload, operation in cases:
        seconds, cpu_seconds = measure(operation, args.seconds)
        values = 0 if name.startswith("update") else count * dimension
        print(f"{verb} {name:<28} {len(payload):>9} bytes  {count / seconds:>13,.0f} points/s  "
              f"{values / seconds:>14,.0f} values/s  {len(payload) / seconds / 1e6:>7,.0f} MB/s  "
              f"CPU time: {count / cpu_seconds:>13,.0f} points/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
