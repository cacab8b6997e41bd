#!/usr/bin/env python3
"""Decode rates of Python for the seeded MMCWire benchmark payloads.

The payloads are regenerated from the documented generator (examples/python/mmc_wire.py,
benchmark_batch: the same points as MMCWire's WireBenchmark.pointBatch; the interop test checks
that the binary bytes are identical), then decoded repeatedly with:

- binary: numpy.frombuffer on the three arrays plus numpy.isfinite (what a numpy client does),
  and pure-Python struct.unpack_from;
- JSON rows and columns: json.loads alone, and mmc_wire.decode_points (json.loads plus checks).

Usage: scripts/wire_bench.py [--points 10000] [--dim 4] [--seed 42] [--seconds 1.0]
Compare with the Swift side (release build):
    MMC_WIRE_BENCH=1 swift test -c release --filter MMCWireTests.BenchmarkTests
"""

import argparse
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "python"))

import mmc_wire  # noqa: E402


def measure(operation, seconds: float) -> float:
    """Mean seconds per call, repeating for at least `seconds` and 3 calls."""
    calls = 0
    start = time.perf_counter()
    elapsed = 0.0
    while calls < 3 or elapsed < seconds:
        operation()
        calls += 1
        elapsed = time.perf_counter() - start
    return elapsed / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    count, dimension = args.points, args.dim
    batch = mmc_wire.benchmark_batch(count, dimension, args.seed)
    binary = mmc_wire.encode_points_binary(batch)
    rows = mmc_wire.encode_points_json(batch, "rows")
    columns = mmc_wire.encode_points_json(batch, "columns")

    def struct_decode():
        struct.unpack_from(f"<{count * dimension}d", binary, 16)
        struct.unpack_from(f"<{count}d", binary, 16 + 8 * count * dimension)
        struct.unpack_from(f"<{count}Q", binary, 16 + 8 * count * (dimension + 1))

    cases = []
    try:
        import numpy

        def numpy_decode():
            values = numpy.frombuffer(binary, "<f8", count * dimension, 16)
            timestamps = numpy.frombuffer(binary, "<f8", count, 16 + 8 * count * dimension)
            numpy.frombuffer(binary, "<u8", count, 16 + 8 * count * (dimension + 1))
            if not (numpy.isfinite(values).all() and numpy.isfinite(timestamps).all()):
                raise ValueError("non-finite")

        cases.append(("binary numpy.frombuffer", binary, numpy_decode))
    except ImportError:
        print("numpy not installed: skipping numpy.frombuffer", file=sys.stderr)
    cases += [
        ("binary struct.unpack", binary, struct_decode),
        ("JSON rows json.loads", rows, lambda: json.loads(rows)),
        ("JSON rows mmc_wire", rows, lambda: mmc_wire.decode_points(rows)),
        ("JSON columns json.loads", columns, lambda: json.loads(columns)),
        ("JSON columns mmc_wire", columns, lambda: mmc_wire.decode_points(columns)),
    ]
    print(f"{count} points of dimension {dimension}, seed {args.seed}, Python {sys.version.split()[0]}")
    for name, payload, operation in cases:
        seconds = measure(operation, args.seconds)
        print(f"decode {name:<26} {len(payload):>9} bytes  {count / seconds:>12,.0f} points/s  "
              f"{count * dimension / seconds:>13,.0f} values/s  {len(payload) / seconds / 1e6:>7,.0f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
