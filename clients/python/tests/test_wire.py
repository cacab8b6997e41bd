"""The codec and the Window on their own: the protocol document's examples, binary round
trips through numpy views, refusals, and diff application against a dictionary oracle."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from mmcd_client import Producer, Window, wire
from mmcd_client.curve import Curve, read_key_file

PROTOCOL = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "protocol.md")


def examples():
    """(kind, payload) of every ``<!-- example: KIND -->`` block of docs/protocol.md."""
    with open(PROTOCOL, encoding="utf-8") as file:
        text = file.read()
    found = []
    for match in re.finditer(r"<!-- example: (\w+) -->\n```(\w+)\n(.*?)```", text, re.S):
        kind, language, body = match.groups()
        if language == "hex":
            payload = bytes.fromhex("".join(line.split("#")[0] for line in body.splitlines()))
        else:
            payload = body.strip().encode("utf-8")
        found.append((kind, payload))
    return found


def test_every_documented_example_decodes():
    found = examples()
    assert {kind for kind, _ in found} == {"points", "update", "sequence", "request", "reply"}
    for kind, payload in found:
        if kind == "points":
            batch = wire.decode_points(payload, expected_dimension=2)
            assert batch.ids[0] == 17 and batch.points[0].tolist() == [0.1, 2.5]
        elif kind == "update":
            assert wire.decode_update(payload) == wire.decode_update(wire.encode_update(wire.decode_update(payload)))
        elif kind == "sequence":
            assert wire.decode_sequence(payload) == 42
        elif kind == "request":
            assert wire.decode_request(payload, 2).points.shape == (2, 2)
        else:
            assert wire.decode_reply(payload).status in ("ok", "error")


def test_documented_diff_example_has_numpy_columns():
    diff = [wire.decode_update(p) for k, p in examples() if k == "update"][1]
    assert diff.assignments.mode == "diff" and diff.assignments.base_version == 42
    assert diff.assignments.ids.dtype == np.uint64 and diff.assignments.clusters.dtype == np.int64
    assert diff.assignments.removed.tolist() == [17]
    assert diff.clusters["id"].tolist() == [3] and diff.clusters["centroid"].shape == (1, 2)
    assert [(e.type, e.source, e.target) for e in diff.events] == [("merge", (3, 7), (3,)), ("death", (7,), ())]


def test_binary_batches_decode_as_views_of_the_payload():
    generator = np.random.default_rng(5)
    for count, dimension in [(1, 1), (3, 2), (1000, 7)]:
        points = generator.normal(size=(count, dimension))
        ids = generator.integers(0, 2**63, size=count, dtype=np.uint64) * np.uint64(2)
        times = 1.7e9 + generator.random(count)
        payload = bytes(wire.encode_points_binary(points, times, ids))
        assert len(payload) == 16 + 8 * count * (dimension + 2)
        batch = wire.decode_points(payload)
        assert np.array_equal(batch.points, points) and np.array_equal(batch.ids, ids)
        assert np.array_equal(batch.timestamps, times)
        assert np.shares_memory(batch.points, np.frombuffer(payload, np.uint8))
        assert not batch.points.flags.writeable


def test_encoding_converts_other_dtypes_without_changing_values():
    points = np.arange(12, dtype=np.float32).reshape(4, 3)[:, ::2]
    batch = wire.decode_points(bytes(wire.encode_points_binary(points, np.zeros(4), np.arange(4, dtype=np.int32))))
    assert batch.points.tolist() == points.astype(np.float64).tolist()


@pytest.mark.parametrize("payload, code", [
    (b"", "truncated"),
    (b"MMCB\x01\x01\x00", "truncated"),
    (b"MMCX" + bytes(12), "bad_magic"),
    (b"\xef\xbb\xbf{}", "bad_magic"),
    (wire.HEADER.pack(b"MMCB", 2, 1, 0, 1, 1) + bytes(24), "unsupported_version"),
    (wire.HEADER.pack(b"MMCB", 1, 2, 0, 1, 1) + bytes(24), "unknown_kind"),
    (wire.HEADER.pack(b"MMCB", 1, 1, 1, 1, 1) + bytes(24), "unsupported_flags"),
    (wire.HEADER.pack(b"MMCB", 1, 1, 0x100, 1, 1) + bytes(24), None),
    (wire.HEADER.pack(b"MMCB", 1, 1, 0, 0, 1), "invalid_dimension"),
    (wire.HEADER.pack(b"MMCB", 1, 1, 0, 1, 0), "empty_batch"),
    (wire.HEADER.pack(b"MMCB", 1, 1, 0, 1, 2) + bytes(24), "count_mismatch"),
    (wire.HEADER.pack(b"MMCB", 1, 1, 0, 2000, 1) + bytes(8 * 2002), "limit_exceeded"),
    (wire.HEADER.pack(b"MMCB", 1, 1, 0, 1, 1) + np.array([np.nan, 0, 0]).tobytes(), "non_finite"),
    (b'{"columns":{"dim":1,"id":[1.0],"t":[0],"v":[0]}}', "type_mismatch"),
    (b'{"columns":{"dim":1,"id":[true],"t":[0],"v":[0]}}', "type_mismatch"),
    (b'{"columns":{"dim":1,"id":[-1],"t":[0],"v":[0]}}', "out_of_range"),
    (b'{"columns":{"dim":1,"id":[18446744073709551616],"t":[0],"v":[0]}}', "out_of_range"),
    (b'{"columns":{"dim":1,"id":[1],"t":[1e400],"v":[0]}}', "out_of_range"),
    (b'{"id":1,"t":0,"v":[0],"points":[]}', "conflicting_fields"),
    (b'{"id":1,"id":1,"t":0,"v":[0]}', "duplicate_field"),
    (b'{"id":1,"t":0,"v":[0]} x', "trailing_data"),
    (b'{"id":1,"t":0,"v":["\\ud800"]}', "invalid_json"),
    (b'{"id":1,"t":0,"v":[0],"x":"\\ud800"}', "invalid_json"),
    (b'{"id":1,"t":0,"v":[0],"x":' + b"[" * 40 + b"]" * 40 + b"}", "limit_exceeded"),
])
def test_malformed_points_are_refused_with_the_protocol_code(payload, code):
    if code is None:
        assert len(wire.decode_points(payload)) == 1
        return
    with pytest.raises(wire.WireError) as error:
        wire.decode_points(payload)
    assert error.value.code == code


def test_json_ids_keep_all_64_bits():
    ids = [1, 2**63, 2**64 - 1, 0]
    batch = wire.decode_points(wire.dumps({"columns": {"dim": 1, "id": ids, "t": [0] * 4, "v": [0] * 4}}))
    assert batch.ids.dtype == np.uint64 and batch.ids.tolist() == ids
    update = wire.decode_update(wire.dumps({"protocol": 1, "kind": "provisional", "model_version": 1, "points": {
        "ids": ids, "clusters": [-1, 0, 2**63 - 1, 5], "confidence": [0, 1, 0.5, 0.25]}}))
    assert update.ids.tolist() == ids and update.clusters.tolist() == [-1, 0, 2**63 - 1, 5]
    for clusters in ([2**63], [-2]):
        with pytest.raises(wire.WireError) as error:
            wire.decode_update(wire.dumps({"protocol": 1, "kind": "provisional", "model_version": 1, "points": {
                "ids": [1], "clusters": clusters, "confidence": [0]}}))
        assert error.value.code == "out_of_range"


def test_encoder_refuses_what_the_daemon_would():
    for points, code in [(np.zeros(3), "invalid_dimension"), (np.zeros((0, 2)), "empty_batch"),
                         (np.array([[np.inf, 0.0]]), "non_finite")]:
        with pytest.raises(wire.WireError) as error:
            wire.encode_points_binary(points, np.zeros(len(points)), np.zeros(len(points), np.uint64))
        assert error.value.code == code
    with pytest.raises(wire.WireError) as error:
        wire.encode_points_binary(np.zeros((1, 2)), [0.0], [-1])
    assert error.value.code == "out_of_range"


def test_sequence_tracker_names_every_case():
    tracker = wire.SequenceTracker()
    observed = [tracker.observe("t", s) for s in (5, 6, 6, 9, 2)]
    assert observed == [("first", 0), ("next", 0), ("repeated", 0), ("gap", 2), ("restarted", 0)]


def update(version, assignments, clusters=(1, 2, 3)):
    table = np.zeros(len(clusters), wire.cluster_dtype(1))
    table["id"] = clusters
    return wire.Update(version, 0.0, 1, 0, 0, table, [], assignments)


def full(version, ids, clusters):
    return update(version, wire.Assignments("full", np.array(ids, np.uint64), np.array(clusters, np.int64)))


def diff(version, base, ids, clusters, removed=()):
    return update(version, wire.Assignments("diff", np.array(ids, np.uint64), np.array(clusters, np.int64), base,
                                            np.array(removed, np.uint64)))


def test_window_follows_diffs_like_a_dictionary():
    generator = np.random.default_rng(11)
    oracle = {int(i): int(generator.integers(-1, 4)) for i in generator.choice(1000, 300, replace=False)}
    window = Window()
    assert window.apply(full(1, list(oracle), list(oracle.values())))
    for version in range(2, 40):
        removed = [i for i in oracle if generator.random() < 0.1]
        changed = {int(i): int(generator.integers(-1, 4)) for i in generator.choice(1000, 60)}
        for i in removed:
            del oracle[i]
        oracle.update(changed)
        before = window.clusters
        saved = before.copy()
        assert window.apply(diff(version, version - 1, list(changed), list(changed.values()), removed))
        assert window.model_version == version and window.in_sync
        expected_ids = np.array(sorted(oracle), np.uint64)
        assert np.array_equal(window.ids, expected_ids)
        assert window.cluster_of(expected_ids).tolist() == [oracle[int(i)] for i in expected_ids]
        assert np.array_equal(before, saved)
    assert window.cluster_of([5000]).tolist() == [-2]


def test_window_refuses_a_diff_on_another_base_until_a_full_update():
    window = Window()
    assert not window.apply(diff(2, 1, [1], [1]))
    assert window.apply(full(3, [1, 2], [1, 2]))
    assert window.apply(diff(3, 2, [9], [1]))
    assert window.cluster_of([9]).tolist() == [-2]
    assert not window.apply(diff(5, 4, [1], [3]))
    assert not window.in_sync
    assert not window.apply(diff(6, 5, [1], [3]))
    assert window.apply(full(6, [1, 2, 2], [3, 1, 2]))
    assert window.cluster_of([1, 2]).tolist() == [3, 2]
    window.invalidate()
    assert not window.apply(diff(7, 6, [1], [1]))


def test_producer_batches_to_the_daemons_limits():
    producer = Producer("tcp://127.0.0.1:1", max_batch_points=100_000)
    try:
        assert producer.batch_points(2) == 100_000
        assert producer.batch_points(1024) == (16 * 1024 * 1024 - 16) // (8 * 1026)
    finally:
        producer.close(linger=0)


def test_key_files_as_mmc_keygen_writes_them(tmp_path):
    public, secret = __import__("zmq").curve_keypair()
    (tmp_path / "server.pub").write_text(f"# mmcd CURVE public key (Z85).\n# more\n{public.decode()}\n")
    (tmp_path / "client.key").write_text(f"# secret\n{secret.decode()}\n")
    (tmp_path / "two.pub").write_text(f"{public.decode()}\n{public.decode()}\n")
    assert read_key_file(tmp_path / "server.pub") == public
    curve = Curve.from_files(tmp_path / "server.pub", tmp_path / "client.key")
    assert curve.server_key == public and curve.secret_key == secret
    with pytest.raises(ValueError):
        read_key_file(tmp_path / "two.pub")
    with pytest.raises(ValueError):
        Curve.from_files(tmp_path / "server.pub", tmp_path / "server.pub")
