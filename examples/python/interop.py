#!/usr/bin/env python3
"""Conformance helper: decode every message in a folder with mmc_wire and encode it again.

Usage: interop.py IN_DIR OUT_DIR [--bench COUNT DIMENSION SEED]

Input files are named STEM.KIND.EXT with KIND one of points, update, request, reply. For each,
the decoded value is written back with mmc_wire's encoders: points in every form
(STEM.points.bin, STEM.points.rows.json, STEM.points.columns.json, and STEM.points.single.json
for one point), the other kinds as STEM.KIND.json. Exits 1 and names the file when a message
does not decode.

Files with EXT "bad" are malformed on purpose (KIND may also be points2: points that must have
dimension 2; classify requests must have dimension 2 as well); for each, STEM.KIND.code receives the error code, or "accepted" if it decoded.

With --bench, OUT_DIR/bench.bin holds the seeded benchmark batch. The MMCWire tests use this
tool to check both codecs against each other.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mmc_wire  # noqa: E402


def reencode(kind: str, data: bytes) -> dict:
    """Maps output suffix to bytes for one decoded message."""
    if kind == "points":
        batch = mmc_wire.decode_points(data)
        outputs = {"bin": mmc_wire.encode_points_binary(batch),
                   "rows.json": mmc_wire.encode_points_json(batch, "rows"),
                   "columns.json": mmc_wire.encode_points_json(batch, "columns")}
        if len(batch) == 1:
            outputs["single.json"] = mmc_wire.encode_points_json(batch, "single")
        return outputs
    if kind == "update":
        return {"json": mmc_wire.encode_update(mmc_wire.decode_update(data))}
    if kind == "request":
        request = mmc_wire.decode_request(data)
        return {"json": mmc_wire.encode_request(request["request"], request.get("dim"), request.get("v"))}
    if kind == "reply":
        return {"json": mmc_wire.encode_reply(mmc_wire.decode_reply(data))}
    raise ValueError(f"unknown kind {kind}")


def error_code(kind: str, data: bytes) -> str:
    """The error code a malformed message produces, or "accepted"."""
    decoders = {"points": mmc_wire.decode_points, "points2": lambda d: mmc_wire.decode_points(d, 2),
                "update": mmc_wire.decode_update, "request": lambda d: mmc_wire.decode_request(d, 2),
                "reply": mmc_wire.decode_reply}
    try:
        decoders[kind](data)
    except mmc_wire.WireError as error:
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
            except mmc_wire.WireError as error:
                print(f"FAIL {name}: {error}", file=sys.stderr)
                return 1
        for suffix, payload in outputs.items():
            with open(os.path.join(target, f"{parts[0]}.{parts[1]}.{suffix}"), "wb") as file:
                file.write(payload)
    if len(argv) == 6:
        count, dimension, seed = (int(value) for value in argv[3:6])
        with open(os.path.join(target, "bench.bin"), "wb") as file:
            file.write(mmc_wire.encode_points_binary(mmc_wire.benchmark_batch(count, dimension, seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
