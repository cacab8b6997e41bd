#!/usr/bin/env python3
"""Conformance helper: decode every message in a folder with mmcd_client.wire and encode it again.

Usage: interop.py IN_DIR OUT_DIR [--bench COUNT DIMENSION SEED]

Input files are named STEM.KIND.EXT with KIND one of points, update, request, reply. For each,
the decoded value is written back with the package's encoders: points in every form
(STEM.points.bin, STEM.points.rows.json, STEM.points.columns.json, and STEM.points.single.json
for one point), the other kinds as STEM.KIND.json. Exits 1 and names the file when a message
does not decode.

Files with EXT "bad" are malformed on purpose (KIND may also be points2: points that must have
dimension 2; classify requests must have dimension 2 as well); for each, STEM.KIND.code
receives the error code, or "accepted" if it decoded.

With --bench, OUT_DIR/bench.bin holds the seeded benchmark batch (benchmark_batch below). The
MMCWire tests run this tool with plain python3 (numpy, no pyzmq, the package not installed):
the codec module is loaded from its file, without the package's socket classes.
"""

import importlib.util
import os
import sys

import numpy as np

_WIRE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "mmcd_client", "wire.py")
_spec = importlib.util.spec_from_file_location("mmcd_wire", _WIRE_PATH)
wire = importlib.util.module_from_spec(_spec)
sys.modules["mmcd_wire"] = wire
_spec.loader.exec_module(wire)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def splitmix64(seed: int, count: int) -> np.ndarray:
    """The first ``count`` outputs of SplitMix64 from ``seed``, computed for all at once (the
    state after step i is seed + i * golden, so no step depends on the one before)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed & wire.UINT64_MAX) + _GOLDEN * np.arange(1, count + 1, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def benchmark_batch(count: int, dimension: int, seed: int) -> "wire.PointBatch":
    """MMCWire's WireBenchmark.pointBatch: point i has id i, t = 1732600000.0 + i * 0.001 and
    coordinates unit * 100.0 - 50.0, unit being SplitMix64's next output >> 11 times 2^-53."""
    units = (splitmix64(seed, count * dimension) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    timestamps = 1732600000.0 + np.arange(count, dtype=np.float64) * 0.001
    return wire.PointBatch((units * 100.0 - 50.0).reshape(count, dimension), timestamps,
                           np.arange(count, dtype=np.uint64))


def snapshot_update(count: int, dimension: int, cluster_count: int, seed: int) -> "wire.Update":
    """MMCWire's WireBenchmark.snapshotUpdate: a full update of ``count`` points (ids from
    1,000,000,000; point i is noise when i % 10 == 0, else in cluster i % cluster_count), each
    cluster's centroid drawn like the benchmark batch's coordinates, its box the centroid +- 1."""
    ids = np.arange(count, dtype=np.uint64) + np.uint64(1_000_000_000)
    index = np.arange(count)
    clusters = np.where(index % 10 == 0, -1, index % cluster_count).astype(np.int64)
    units = (splitmix64(seed, cluster_count * dimension) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    table = np.zeros(cluster_count, wire.cluster_dtype(dimension))
    table["id"] = np.arange(cluster_count)
    table["mass"] = np.bincount(clusters[clusters >= 0], minlength=cluster_count)
    table["centroid"] = (units * 100.0 - 50.0).reshape(cluster_count, dimension)
    table["min"], table["max"] = table["centroid"] - 1, table["centroid"] + 1
    return wire.Update(2, 1_732_600_000.5, dimension, count, int((clusters == -1).sum()), table,
                       [wire.Event("birth", (), (0,))], wire.Assignments("full", ids, clusters))


def reencode(kind: str, data: bytes) -> dict:
    """Maps output suffix to bytes for one decoded message."""
    if kind == "points":
        batch = wire.decode_points(data)
        outputs = {"bin": bytes(wire.encode_points_binary(batch.points, batch.timestamps, batch.ids)),
                   "rows.json": wire.encode_points_json(batch, "rows"),
                   "columns.json": wire.encode_points_json(batch, "columns")}
        if len(batch) == 1:
            outputs["single.json"] = wire.encode_points_json(batch, "single")
        return outputs
    if kind == "update":
        return {"json": wire.encode_update(wire.decode_update(data))}
    if kind == "request":
        request = wire.decode_request(data)
        return {"json": wire.encode_request(request.name, request.points)}
    if kind == "reply":
        return {"json": wire.encode_reply(wire.decode_reply(data))}
    raise ValueError(f"unknown kind {kind}")


def error_code(kind: str, data: bytes) -> str:
    """The error code a malformed message produces, or "accepted"."""
    decoders = {"points": wire.decode_points, "points2": lambda d: wire.decode_points(d, 2),
                "update": wire.decode_update, "request": lambda d: wire.decode_request(d, 2),
                "reply": wire.decode_reply}
    try:
        decoders[kind](data)
    except wire.WireError as error:
        return error.code
    return "accepted"


def main(argv: list) -> int:
    if len(argv) not in (2, 6) or (len(argv) == 6 and argv[2] != "--bench"):
        print(__doc__, file=sys.stderr)
        return 2
    source, target = argv[0], argv[1]
    os.makedirs(target, exist_ok=True)
    for name in sorted(os.listdir(source)):
        parts = name.split(".")
        if len(parts) < 3:
            continue
        with open(os.path.join(source, name), "rb") as file:
            data = file.read()
        if parts[-1] == "bad":
            outputs = {"code": error_code(parts[1], data).encode("utf-8")}
        else:
            try:
                outputs = reencode(parts[1], data)
            except wire.WireError as error:
                print(f"FAIL {name}: {error}", file=sys.stderr)
                return 1
        for suffix, payload in outputs.items():
            with open(os.path.join(target, f"{parts[0]}.{parts[1]}.{suffix}"), "wb") as file:
                file.write(payload)
    if len(argv) == 6:
        count, dimension, seed = (int(value) for value in argv[3:6])
        batch = benchmark_batch(count, dimension, seed)
        with open(os.path.join(target, "bench.bin"), "wb") as file:
            file.write(wire.encode_points_binary(batch.points, batch.timestamps, batch.ids))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
