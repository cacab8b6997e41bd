"""Codec for the mmcd wire protocol, version 1 (see docs/protocol.md).

Pure Python (``struct`` and ``json``); numpy is optional and only used when asked for.
Nothing here opens a socket, so it imports without pyzmq.

Decoders raise :class:`WireError` with the same ``code`` strings the daemon uses.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Optional, Union

PROTOCOL_VERSION = 1
MAGIC = b"MMCB"
HEADER = struct.Struct("<4sBBHII")  # magic, version, kind, flags, dimension, count
KIND_POINT_BATCH = 1
CRITICAL_FLAGS = 0x00FF
UINT64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1
# Default decoding limits (docs/protocol.md, section 5).
MAX_POINTS = 1_000_000
MAX_DIMENSION = 1_024
MAX_NESTING = 32


class WireError(ValueError):
    """A malformed message; ``code`` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# Value checks


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: Any, what: str) -> float:
    if not _is_number(value):
        raise WireError("type_mismatch", f"{what}: expected a number, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise WireError("out_of_range", f"{what}: {value} is out of range for float64")
    return result


def _uint(value: Any, what: str, maximum: int = UINT64_MAX) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError("type_mismatch", f"{what}: expected an integer, got {value!r}")
    if value < 0 or value > maximum:
        raise WireError("out_of_range", f"{what}: {value} is out of range for uint64")
    return value


def _cluster_id(value: Any, what: str, allow_noise: bool = True) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError("type_mismatch", f"{what}: expected an integer, got {value!r}")
    lowest = -1 if allow_noise else 0
    if value < lowest or value > INT64_MAX:
        raise WireError("out_of_range", f"{what}: cluster id {value} is out of range")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise WireError("type_mismatch", f"{what}: expected an array")
    return value


def _object(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise WireError("type_mismatch", f"{what}: expected an object")
    return value


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise WireError("type_mismatch", f"{what}: expected a string")
    return value


def _require(obj: dict, names: list, what: str) -> None:
    for name in names:
        if name not in obj:
            raise WireError("missing_field", f'{what}: missing field "{name}"')


def _forbid(obj: dict, names: list, what: str, owner: str) -> None:
    for name in names:
        if name in obj:
            raise WireError("conflicting_fields", f'{what}: field "{name}" does not belong to {owner}')


def _reject_constant(name: str) -> None:
    raise WireError("invalid_json", f"{name} is not JSON")


def _no_duplicates(pairs: list) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise WireError("duplicate_field", f'duplicate field "{key}"')
        result[key] = value
    return result


def _unclosed(text: str) -> bool:
    """Whether the text ends inside a string or with brackets still open (a truncated message)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return in_string or depth > 0


def _check_strings(value: Any, depth: int = 1) -> None:
    """Refuses lone surrogate escapes (Python's json accepts them) and deep nesting."""
    if isinstance(value, (dict, list)):
        if depth > MAX_NESTING:
            raise WireError("limit_exceeded", f"nesting deeper than {MAX_NESTING} levels")
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        for item in items:
            _check_strings(item, depth + 1)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise WireError("invalid_json", "a string holds an unpaired surrogate escape") from None


def loads(data: bytes) -> dict:
    """Parses a JSON message strictly: UTF-8, one object, no NaN/Infinity, no duplicate keys."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WireError("invalid_utf8", str(error)) from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as error:
        if error.msg.startswith("Extra data"):
            raise WireError("trailing_data", str(error)) from None
        raise WireError("truncated" if _unclosed(text) else "invalid_json", str(error)) from None
    if not isinstance(obj, dict):
        raise WireError("bad_magic", "a message must be a JSON object")
    _check_strings(obj)
    return obj


def _check_protocol(obj: dict, what: str, required: bool) -> None:
    if "protocol" not in obj:
        if required:
            raise WireError("missing_field", f'{what}: missing field "protocol"')
        return
    version = _uint(obj["protocol"], f'{what}: field "protocol"')
    if version != PROTOCOL_VERSION:
        raise WireError("unsupported_version", f"{what}: protocol {version} is not supported (this decoder speaks 1)")


def _dumps(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# Points


@dataclass
class PointBatch:
    """Points of one dimension as flat parallel lists; ``values`` is row-major."""

    dimension: int
    ids: list
    timestamps: list
    values: list

    def __post_init__(self) -> None:
        if not isinstance(self.dimension, int) or self.dimension < 1:
            raise WireError("invalid_dimension", f"dimension must be at least 1, got {self.dimension}")
        if len(self.ids) == 0:
            raise WireError("empty_batch", "a batch needs at least one point")
        if len(self.timestamps) != len(self.ids) or len(self.values) != len(self.ids) * self.dimension:
            raise WireError("count_mismatch", "ids, timestamps and values disagree in length")
        for index, value in enumerate(self.values):
            if not math.isfinite(value):
                raise WireError("non_finite", f"point {index // self.dimension}: coordinate {index % self.dimension} is not finite")
        for index, value in enumerate(self.timestamps):
            if not math.isfinite(value):
                raise WireError("non_finite", f"point {index}: timestamp is not finite")

    def __len__(self) -> int:
        return len(self.ids)

    def vector(self, index: int) -> list:
        return list(self.values[index * self.dimension:(index + 1) * self.dimension])


def encode_points_binary(batch: PointBatch) -> bytes:
    """The binary batch: 16-byte header, values, timestamps, ids (all little-endian)."""
    count = len(batch)
    header = HEADER.pack(MAGIC, PROTOCOL_VERSION, KIND_POINT_BATCH, 0, batch.dimension, count)
    return b"".join((
        header,
        struct.pack(f"<{count * batch.dimension}d", *batch.values),
        struct.pack(f"<{count}d", *batch.timestamps),
        struct.pack(f"<{count}Q", *batch.ids),
    ))


def encode_points_json(batch: PointBatch, layout: str = "rows") -> bytes:
    """JSON in layout ``rows``, ``columns`` or ``single`` (one point only)."""
    rows = [{"id": batch.ids[i], "t": batch.timestamps[i], "v": batch.vector(i)} for i in range(len(batch))] \
        if layout != "columns" else []
    if layout == "single":
        if len(batch) != 1:
            raise ValueError("the single layout holds exactly one point")
        return _dumps(rows[0])
    if layout == "rows":
        return _dumps({"points": rows})
    if layout == "columns":
        return _dumps({"columns": {"dim": batch.dimension, "id": list(batch.ids),
                                   "t": list(batch.timestamps), "v": list(batch.values)}})
    raise ValueError(f"unknown layout {layout!r}")


def decode_points(payload: bytes, expected_dimension: Optional[int] = None) -> PointBatch:
    """Decodes a points payload, binary (starts with ``MMCB``) or JSON (starts with ``{``)."""
    if len(payload) == 0:
        raise WireError("truncated", "empty payload")
    if payload[:1] == b"M":
        return _decode_points_binary(payload, expected_dimension)
    stripped = payload.lstrip(b" \t\r\n")
    if not stripped:
        raise WireError("truncated", "payload holds only whitespace")
    if stripped[:1] != b"{":
        raise WireError("bad_magic", "payload starts with neither '{' nor MMCB")
    return _decode_points_json(loads(payload), expected_dimension)


def _decode_points_binary(payload: bytes, expected_dimension: Optional[int]) -> PointBatch:
    if len(payload) < HEADER.size:
        raise WireError("truncated", f"binary header needs 16 bytes, got {len(payload)}")
    magic, version, kind, flags, dimension, count = HEADER.unpack_from(payload)
    if magic != MAGIC:
        raise WireError("bad_magic", f"binary magic must be MMCB, got {magic!r}")
    if version != PROTOCOL_VERSION:
        raise WireError("unsupported_version", f"binary version {version} is not supported")
    if kind != KIND_POINT_BATCH:
        raise WireError("unknown_kind", f"binary kind {kind} is unknown")
    if flags & CRITICAL_FLAGS:
        raise WireError("unsupported_flags", f"flags {flags:#x} set must-understand bits")
    if dimension == 0:
        raise WireError("invalid_dimension", "header: dimension is 0")
    if dimension > MAX_DIMENSION:
        raise WireError("limit_exceeded", f"header: dimension {dimension} exceeds the limit of {MAX_DIMENSION}")
    if expected_dimension is not None and dimension != expected_dimension:
        raise WireError("dimension_mismatch", f"header: dimension {dimension}, expected {expected_dimension}")
    if count == 0:
        raise WireError("empty_batch", "header: count is 0")
    if count > MAX_POINTS:
        raise WireError("limit_exceeded", f"header: count {count} exceeds the limit of {MAX_POINTS} points")
    size = HEADER.size + 8 * count * (dimension + 2)
    if len(payload) != size:
        raise WireError("count_mismatch", f"header announces {size} bytes, payload has {len(payload)}")
    values = struct.unpack_from(f"<{count * dimension}d", payload, HEADER.size)
    timestamps = struct.unpack_from(f"<{count}d", payload, HEADER.size + 8 * count * dimension)
    ids = struct.unpack_from(f"<{count}Q", payload, HEADER.size + 8 * count * (dimension + 1))
    return PointBatch(dimension, list(ids), list(timestamps), list(values))


def _decode_points_json(obj: dict, expected_dimension: Optional[int]) -> PointBatch:
    _check_protocol(obj, "payload", required=False)
    forms = [name for name, keys in (("one point", ("id", "t", "v")), ("points", ("points",)), ("columns", ("columns",)))
             if any(key in obj for key in keys)]
    if len(forms) > 1:
        raise WireError("conflicting_fields", f"payload mixes the {forms[0]} and {forms[1]} forms")
    if not forms:
        raise WireError("missing_field", 'payload has none of "points", "columns" or "id", "t", "v"')
    dimension = expected_dimension
    ids: list = []
    timestamps: list = []
    values: list = []
    if forms[0] == "columns":
        columns = _object(obj["columns"], 'field "columns"')
        _require(columns, ["dim", "id", "t", "v"], "columns")
        declared = _uint(columns["dim"], 'columns: field "dim"')
        if declared == 0:
            raise WireError("invalid_dimension", 'columns: field "dim" is 0')
        if dimension is not None and declared != dimension:
            raise WireError("dimension_mismatch", f'columns: field "dim": expected {dimension}, got {declared}')
        dimension = declared
        ids = [_uint(v, f'columns: field "id"[{i}]') for i, v in enumerate(_list(columns["id"], 'columns: field "id"'))]
        timestamps = [_float(v, f'columns: field "t"[{i}]') for i, v in enumerate(_list(columns["t"], 'columns: field "t"'))]
        values = [_float(v, f'columns: field "v"[{i}]') for i, v in enumerate(_list(columns["v"], 'columns: field "v"'))]
        if len(timestamps) != len(ids) or len(values) != len(ids) * dimension:
            raise WireError("count_mismatch", "columns: lengths of id, t and v disagree")
    else:
        rows = [obj] if forms[0] == "one point" else _list(obj["points"], 'field "points"')
        for index, row in enumerate(rows):
            what = f"point {index}"
            row = _object(row, what)
            _require(row, ["id", "t", "v"], what)
            vector = _list(row["v"], f'{what}: field "v"')
            if not vector:
                raise WireError("invalid_dimension", f'{what}: field "v" is empty')
            if dimension is None:
                dimension = len(vector)
            elif len(vector) != dimension:
                raise WireError("dimension_mismatch", f'{what}: field "v": expected {dimension} values, got {len(vector)}')
            ids.append(_uint(row["id"], f'{what}: field "id"'))
            timestamps.append(_float(row["t"], f'{what}: field "t"'))
            values.extend(_float(v, f'{what}: field "v"') for v in vector)
    if not ids or dimension is None:
        raise WireError("empty_batch", "payload holds no points")
    return PointBatch(dimension, ids, timestamps, values)


# ---------------------------------------------------------------------------------------------
# Updates


@dataclass
class ClusterSummary:
    id: int
    mass: int
    centroid: list
    min: list
    max: list


@dataclass
class Assignments:
    """``mode`` is ``full`` or ``diff``; ``clusters[i]`` is the cluster of ``ids[i]`` (-1 = noise)."""

    mode: str
    ids: list
    clusters: list
    base_version: Optional[int] = None
    removed: list = field(default_factory=list)


@dataclass
class ClusterUpdate:
    """Published after every re-clustering. Events are dicts as on the wire."""

    model_version: int
    time: float
    dimension: int
    window_size: int
    noise: int
    clusters: list
    events: list
    assignments: Optional[Assignments] = None


@dataclass
class ProvisionalAssignments:
    model_version: int
    ids: list
    clusters: list
    confidence: list


Update = Union[ClusterUpdate, ProvisionalAssignments]


def _update_object(update: Update) -> dict:
    if isinstance(update, ProvisionalAssignments):
        return {"protocol": 1, "kind": "provisional", "model_version": update.model_version,
                "points": {"ids": update.ids, "clusters": update.clusters, "confidence": update.confidence}}
    obj: dict = {
        "protocol": 1, "kind": "clusters", "model_version": update.model_version, "time": update.time,
        "dim": update.dimension, "window_size": update.window_size, "noise": update.noise,
        "clusters": [{"id": c.id, "mass": c.mass, "centroid": c.centroid, "min": c.min, "max": c.max} for c in update.clusters],
        "events": update.events,
    }
    if update.assignments is not None:
        a = update.assignments
        assignments: dict = {"mode": a.mode}
        if a.mode == "diff":
            assignments["base_version"] = a.base_version
            assignments["removed"] = a.removed
        assignments["ids"] = a.ids
        assignments["clusters"] = a.clusters
        obj["assignments"] = assignments
    return obj


def encode_update(update: Update) -> bytes:
    """The JSON body of an updates message."""
    return _dumps(_update_object(update))


def decode_update(body: bytes) -> Update:
    """Decodes the body frame of an updates message."""
    return _update_from_object(loads(body), "update")


def _vector(value: Any, what: str) -> list:
    return [_float(v, f"{what}[{i}]") for i, v in enumerate(_list(value, what))]


def _ids(value: Any, what: str) -> list:
    return [_uint(v, f"{what}[{i}]") for i, v in enumerate(_list(value, what))]


def _cluster_ids(value: Any, what: str) -> list:
    return [_cluster_id(v, f"{what}[{i}]") for i, v in enumerate(_list(value, what))]


def _confidences(value: Any, count: int, what: str) -> list:
    confidence = _vector(value, what)
    if len(confidence) != count:
        raise WireError("count_mismatch", f"{what}: {len(confidence)} confidences for {count} points")
    if any(not 0.0 <= c <= 1.0 for c in confidence):
        raise WireError("out_of_range", f"{what}: a confidence is outside 0...1")
    return confidence


def _update_from_object(obj: dict, what: str) -> Update:
    _check_protocol(obj, what, required=True)
    _require(obj, ["kind", "model_version"], what)
    kind = _string(obj["kind"], f'{what}: field "kind"')
    version = _uint(obj["model_version"], f'{what}: field "model_version"')
    cluster_fields = ["time", "dim", "window_size", "noise", "clusters", "events", "assignments"]
    if kind == "provisional":
        _require(obj, ["points"], what)
        _forbid(obj, cluster_fields, what, 'kind "provisional"')
        points = _object(obj["points"], "points")
        _require(points, ["ids", "clusters", "confidence"], "points")
        ids = _ids(points["ids"], 'points: field "ids"')
        clusters = _cluster_ids(points["clusters"], 'points: field "clusters"')
        if len(clusters) != len(ids):
            raise WireError("count_mismatch", "points: ids and clusters disagree in length")
        return ProvisionalAssignments(version, ids, clusters, _confidences(points["confidence"], len(ids), "points"))
    if kind != "clusters":
        raise WireError("unknown_kind", f'{what}: unknown kind "{kind}"')
    _require(obj, cluster_fields[:-1], what)
    _forbid(obj, ["points"], what, 'kind "clusters"')
    dimension = _uint(obj["dim"], f'{what}: field "dim"')
    window = _uint(obj["window_size"], f'{what}: field "window_size"')
    noise = _uint(obj["noise"], f'{what}: field "noise"')
    if dimension < 1:
        raise WireError("invalid_dimension", f"{what}: dimension must be at least 1")
    if noise > window:
        raise WireError("invalid_value", f"{what}: noise count exceeds the window size")
    clusters = []
    for index, raw in enumerate(_list(obj["clusters"], f'{what}: field "clusters"')):
        context = f"cluster {index}"
        raw = _object(raw, context)
        _require(raw, ["id", "mass", "centroid", "min", "max"], context)
        summary = ClusterSummary(_cluster_id(raw["id"], f'{context}: field "id"', allow_noise=False),
                                 _uint(raw["mass"], f'{context}: field "mass"'),
                                 *(_vector(raw[name], f'{context}: field "{name}"') for name in ("centroid", "min", "max")))
        for name in ("centroid", "min", "max"):
            if len(getattr(summary, name)) != dimension:
                raise WireError("dimension_mismatch", f'{context}: field "{name}": expected {dimension} values')
        if any(low > high for low, high in zip(summary.min, summary.max)):
            raise WireError("invalid_value", f"{context}: min exceeds max")
        clusters.append(summary)
    known = {c.id for c in clusters}
    if len(known) != len(clusters):
        raise WireError("invalid_value", f"{what}: a cluster id appears twice")
    events = [_event(raw, index) for index, raw in enumerate(_list(obj["events"], f'{what}: field "events"'))]
    assignments = None
    if "assignments" in obj:
        assignments = _assignments(_object(obj["assignments"], "assignments"), window, version, known)
    return ClusterUpdate(version, _float(obj["time"], f'{what}: field "time"'), dimension, window, noise,
                         clusters, events, assignments)


def _event(raw: Any, index: int) -> dict:
    context = f"event {index}"
    raw = _object(raw, context)
    _require(raw, ["type"], context)
    kind = _string(raw["type"], f'{context}: field "type"')
    shapes = {"birth": {"id": False}, "death": {"id": False}, "merge": {"from": True, "into": False},
              "split": {"from": False, "into": True}}
    if kind not in shapes:
        raise WireError("unknown_kind", f'{context}: unknown event type "{kind}"')
    _require(raw, list(shapes[kind]), context)
    _forbid(raw, [name for name in ("id", "from", "into") if name not in shapes[kind]], context, "this type")
    event: dict = {"type": kind}
    for name, is_list in shapes[kind].items():
        if is_list:
            ids = [_cluster_id(v, f'{context}: field "{name}"', allow_noise=False) for v in _list(raw[name], f'{context}: field "{name}"')]
            if len(ids) < 2:
                raise WireError("invalid_value", f'{context}: field "{name}" needs at least 2 ids')
            event[name] = ids
        else:
            if isinstance(raw[name], list):
                raise WireError("type_mismatch", f'{context}: field "{name}": expected one id')
            event[name] = _cluster_id(raw[name], f'{context}: field "{name}"', allow_noise=False)
    return event


def _assignments(raw: dict, window: int, version: int, known: set) -> Assignments:
    _require(raw, ["mode", "ids", "clusters"], "assignments")
    mode = _string(raw["mode"], 'assignments: field "mode"')
    ids = _ids(raw["ids"], 'assignments: field "ids"')
    clusters = _cluster_ids(raw["clusters"], 'assignments: field "clusters"')
    if len(clusters) != len(ids):
        raise WireError("count_mismatch", "assignments: ids and clusters disagree in length")
    if any(c != -1 and c not in known for c in clusters):
        raise WireError("invalid_value", "assignments: a cluster id is not a cluster of this update")
    if mode == "full":
        _forbid(raw, ["base_version", "removed"], "assignments", 'mode "full"')
        if len(ids) != window:
            raise WireError("count_mismatch", "assignments: a full snapshot must list the whole window")
        return Assignments("full", ids, clusters)
    if mode != "diff":
        raise WireError("unknown_kind", f'assignments: unknown mode "{mode}"')
    _require(raw, ["base_version"], "assignments")
    base = _uint(raw["base_version"], 'assignments: field "base_version"')
    if base >= version:
        raise WireError("invalid_value", "assignments: the base version is not older than the model version")
    return Assignments("diff", ids, clusters, base, _ids(raw.get("removed", []), 'assignments: field "removed"'))


# ---------------------------------------------------------------------------------------------
# Requests and replies


def encode_request(request: str, dimension: Optional[int] = None, values: Optional[list] = None) -> bytes:
    """``snapshot``, ``stats``, or ``classify`` with a dimension and row-major values."""
    obj: dict = {"protocol": 1, "request": request}
    if request == "classify":
        obj["dim"] = dimension
        obj["v"] = list(values or [])
    return _dumps(obj)


def decode_request(body: bytes, expected_dimension: Optional[int] = None) -> dict:
    """A request as ``{"request": name}`` plus ``dim`` and ``v`` for classify."""
    obj = loads(body)
    _check_protocol(obj, "request", required=False)
    _require(obj, ["request"], "request")
    name = _string(obj["request"], 'request: field "request"')
    if name in ("snapshot", "stats"):
        _forbid(obj, ["dim", "v"], "request", f'request "{name}"')
        return {"request": name}
    if name != "classify":
        raise WireError("unknown_kind", f'request: unknown request "{name}"')
    _require(obj, ["dim", "v"], "request")
    dimension = _uint(obj["dim"], 'request: field "dim"')
    if expected_dimension is not None and dimension != expected_dimension:
        raise WireError("dimension_mismatch", f'request: field "dim": expected {expected_dimension}, got {dimension}')
    values = _vector(obj["v"], 'request: field "v"')
    if dimension < 1:
        raise WireError("invalid_dimension", "classify: dimension must be at least 1")
    if not values:
        raise WireError("empty_batch", "classify: no points")
    if len(values) % dimension:
        raise WireError("count_mismatch", "classify: values are not a whole number of points")
    return {"request": "classify", "dim": dimension, "v": values}


STATS_FIELDS = ["model_version", "dim", "window_size", "window_capacity", "clusters", "noise", "points_received",
                "points_rejected", "points_dropped", "recluster_count", "last_recluster_seconds", "uptime_seconds"]


@dataclass
class Reply:
    """``status`` is ``ok`` or ``error``; ``reply`` names the request answered (ok only).

    ``result`` holds a :class:`ClusterUpdate` (snapshot), the stats dict (stats), a dict with
    ``model_version``, ``clusters``, ``confidence`` (classify), or ``{"code", "message"}`` (error).
    """

    status: str
    reply: Optional[str]
    result: Any


def encode_reply(reply: Reply) -> bytes:
    obj: dict = {"protocol": 1, "status": reply.status}
    if reply.status == "error":
        obj["error"] = reply.result
    else:
        obj["reply"] = reply.reply
        field_name = {"snapshot": "update", "stats": "stats", "classify": "result"}[reply.reply]
        obj[field_name] = _update_object(reply.result) if reply.reply == "snapshot" else reply.result
    return _dumps(obj)


def decode_reply(body: bytes) -> Reply:
    obj = loads(body)
    _check_protocol(obj, "reply", required=True)
    _require(obj, ["status"], "reply")
    status = _string(obj["status"], 'reply: field "status"')
    payload_fields = {"snapshot": "update", "stats": "stats", "classify": "result"}
    if status == "error":
        _require(obj, ["error"], "reply")
        _forbid(obj, ["reply", *payload_fields.values()], "reply", "an error reply")
        error = _object(obj["error"], 'reply: field "error"')
        _require(error, ["code", "message"], "error")
        return Reply("error", None, {"code": _string(error["code"], "error: code"),
                                     "message": _string(error["message"], "error: message")})
    if status != "ok":
        raise WireError("unknown_kind", f'reply: unknown status "{status}"')
    _require(obj, ["reply"], "reply")
    name = _string(obj["reply"], 'reply: field "reply"')
    if name not in payload_fields:
        raise WireError("unknown_kind", f'reply: unknown reply "{name}"')
    _require(obj, [payload_fields[name]], "reply")
    _forbid(obj, [f for f in [*payload_fields.values(), "error"] if f != payload_fields[name]], "reply", f'reply "{name}"')
    raw = obj[payload_fields[name]]
    if name == "snapshot":
        update = _update_from_object(_object(raw, "update"), "reply: update")
        if not isinstance(update, ClusterUpdate):
            raise WireError("invalid_value", 'reply: field "update": expected kind "clusters"')
        return Reply("ok", name, update)
    if name == "stats":
        stats = _object(raw, "stats")
        _require(stats, STATS_FIELDS, "stats")
        result = {key: _uint(stats[key], f'stats: field "{key}"') for key in STATS_FIELDS[:-2]}
        result.update({key: _float(stats[key], f'stats: field "{key}"') for key in STATS_FIELDS[-2:]})
        return Reply("ok", name, result)
    result = _object(raw, "result")
    _require(result, ["model_version", "clusters", "confidence"], "result")
    clusters = _cluster_ids(result["clusters"], 'result: field "clusters"')
    return Reply("ok", name, {"model_version": _uint(result["model_version"], 'result: field "model_version"'),
                              "clusters": clusters,
                              "confidence": _confidences(result["confidence"], len(clusters), "result")})


# ---------------------------------------------------------------------------------------------
# Frames


def sequence_frame(sequence: int) -> bytes:
    """The 8-byte little-endian sequence frame of an updates message."""
    return struct.pack("<Q", sequence)


def decode_sequence(frame: bytes) -> int:
    if len(frame) != 8:
        raise WireError("invalid_frame", f"sequence frame must be 8 bytes, got {len(frame)}")
    return struct.unpack("<Q", frame)[0]


class SequenceTracker:
    """Per-topic gap detection: returns ``first``, ``next``, ``gap``, ``repeated`` or ``restarted``."""

    def __init__(self) -> None:
        self.last: dict = {}

    def observe(self, topic: str, sequence: int) -> tuple:
        """Returns ``(observation, missed)``; ``missed`` is the number of lost messages for a gap."""
        previous = self.last.get(topic)
        self.last[topic] = sequence
        if previous is None:
            return "first", 0
        if sequence == previous:
            return "repeated", 0
        if sequence < previous:
            return "restarted", 0
        if sequence == previous + 1:
            return "next", 0
        return "gap", sequence - previous - 1


# ---------------------------------------------------------------------------------------------
# Seeded benchmark payloads (the same generator as MMCWire's WireBenchmark)


class SplitMix64:
    MASK = UINT64_MAX

    def __init__(self, seed: int) -> None:
        self.state = seed & self.MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def next_unit(self) -> float:
        return (self.next() >> 11) * 2.0**-53


def benchmark_batch(count: int, dimension: int, seed: int) -> PointBatch:
    """Point i: id i, t = 1732600000.0 + i * 0.001, coordinates next_unit() * 100.0 - 50.0."""
    generator = SplitMix64(seed)
    values = [generator.next_unit() * 100.0 - 50.0 for _ in range(count * dimension)]
    timestamps = [1732600000.0 + i * 0.001 for i in range(count)]
    return PointBatch(dimension, list(range(count)), timestamps, values)
