"""Codec for the mmcd wire protocol, version 1 (docs/protocol.md), with numpy arrays.

Binary point batches are decoded into read-only numpy views of the payload (no copy, no loop
over points) and encoded with one copy of each array into the payload. JSON messages are parsed
with the standard library's ``json`` and their number arrays checked and converted whole.

Decoders raise :class:`WireError` whose ``code`` is the protocol's error code, the same codes
the daemon's own decoder uses. This module imports numpy and the standard library only (no
pyzmq and no sibling module), so ``tools/interop.py`` can load it on its own.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

PROTOCOL_VERSION = 1
MAGIC = b"MMCB"
#: The binary header: magic, version, kind, flags, dimension, count.
HEADER = struct.Struct("<4sBBHII")
KIND_POINT_BATCH = 1
MUST_UNDERSTAND_FLAGS = 0x00FF
UINT64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class DecodingLimits:
    """The protocol's default limits (docs/protocol.md, section 5); a daemon may be stricter."""

    max_message_bytes: int = 64 * 1024 * 1024
    max_points: int = 1_000_000
    max_dimension: int = 1_024
    max_clusters: int = 65_536
    max_assignment_ids: int = 10_000_000
    max_nesting: int = 32


DEFAULT_LIMITS = DecodingLimits()


class WireError(ValueError):
    """A malformed message; ``code`` is one of the protocol's error codes."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------
# JSON parsing and scalar checks


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


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _check_structure(value: Any, depth: int, strings: bool, limit: int) -> None:
    """Refuses nesting deeper than ``limit`` and, when ``strings``, lone surrogate escapes
    (Python's json accepts both). Arrays of scalars are passed over at C speed."""
    if depth > limit:
        raise WireError("limit_exceeded", f"nesting deeper than {limit} levels")
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
    kinds = set(map(type, items))
    if strings and str in kinds:
        for item in items:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    raise WireError("invalid_json", "a string holds an unpaired surrogate escape") from None
    if dict in kinds or list in kinds:
        for item in items:
            if isinstance(item, (dict, list)):
                _check_structure(item, depth + 1, strings, limit)


def loads(data: bytes, limits: DecodingLimits = DEFAULT_LIMITS) -> dict:
    """Parses one JSON message strictly: UTF-8, one object, no NaN/Infinity, no duplicate keys."""
    data = bytes(data)
    if len(data) > limits.max_message_bytes:
        raise WireError("limit_exceeded", f"message of {len(data)} bytes exceeds {limits.max_message_bytes}")
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
    except RecursionError:
        raise WireError("limit_exceeded", f"nesting deeper than {limits.max_nesting} levels") from None
    if not isinstance(obj, dict):
        raise WireError("bad_magic", "a message must be a JSON object")
    _check_structure(obj, 1, _SURROGATE_ESCAPE.search(data) is not None, limits.max_nesting)
    return obj


def dumps(obj: dict) -> bytes:
    """Compact JSON; floats in Python's shortest round-trip form, as the protocol asks."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _float(value: Any, what: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise WireError("type_mismatch", f"{what}: expected a number, got {type(value).__name__}")
    try:
        result = float(value)
    except OverflowError:
        raise WireError("out_of_range", f"{what}: {value} is out of range for float64") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise WireError("out_of_range", f"{what}: {value} is out of range for float64")
    return result


def _uint(value: Any, what: str) -> int:
    if not _is_integer(value):
        raise WireError("type_mismatch", f"{what}: expected an integer, got {value!r}")
    if value < 0 or value > UINT64_MAX:
        raise WireError("out_of_range", f"{what}: {value} is out of range for uint64")
    return int(value)


def _cluster_id(value: Any, what: str, allow_noise: bool = True) -> int:
    if not _is_integer(value):
        raise WireError("type_mismatch", f"{what}: expected an integer, got {value!r}")
    if value < (-1 if allow_noise else 0) or value > INT64_MAX:
        raise WireError("out_of_range", f"{what}: {value} is out of range")
    return int(value)


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


def _require(obj: dict, names: Sequence[str], what: str) -> None:
    for name in names:
        if name not in obj:
            raise WireError("missing_field", f'{what}: missing field "{name}"')


def _forbid(obj: dict, names: Sequence[str], what: str, owner: str) -> None:
    for name in names:
        if name in obj:
            raise WireError("conflicting_fields", f'{what}: field "{name}" does not belong to {owner}')


def _check_protocol(obj: dict, what: str, required: bool) -> None:
    if "protocol" not in obj:
        if required:
            raise WireError("missing_field", f'{what}: missing field "protocol"')
        return
    version = _uint(obj["protocol"], f'{what}: field "protocol"')
    if version != PROTOCOL_VERSION:
        raise WireError("unsupported_version", f"{what}: protocol {version} is not supported (this decoder speaks 1)")


# ---------------------------------------------------------------------------------------------
# Whole arrays: each JSON array is type-checked once (at C speed) and converted in one call.


def _checked_list(value: Any, what: str, limit: int, allowed: Tuple[type, ...], expected: str) -> list:
    """A JSON array of at most ``limit`` entries, each of a type in ``allowed``."""
    values = _list(value, what)
    if len(values) > limit:
        raise WireError("limit_exceeded", f"{what}: {len(values)} entries exceed the limit of {limit}")
    unexpected = set(map(type, values)).difference(allowed)
    if unexpected:
        name = sorted(kind.__name__ for kind in unexpected)[0]
        raise WireError("type_mismatch", f"{what}: expected {expected}, got {name}")
    return values


def _uint_array(value: Any, what: str, limit: int) -> np.ndarray:
    """A JSON array of uint64 as a ``uint64`` array."""
    values = _checked_list(value, what, limit, (int,), "integers")
    try:
        # Explicitly int64 first: for a mix of small and huge integers numpy would guess float64.
        array = np.array(values, dtype=np.int64)
    except OverflowError:
        if min(values) < 0 or max(values) > UINT64_MAX:
            raise WireError("out_of_range", f"{what}: a value is out of range for uint64") from None
        return np.array(values, dtype=np.uint64)
    if len(array) and array.min() < 0:
        raise WireError("out_of_range", f"{what}: {array.min()} is out of range for uint64")
    return array.astype(np.uint64)


def _cluster_array(value: Any, what: str, limit: int) -> np.ndarray:
    """A JSON array of cluster ids (-1 = noise) as an ``int64`` array."""
    values = _checked_list(value, what, limit, (int,), "integers")
    try:
        array = np.array(values, dtype=np.int64)
    except OverflowError:
        raise WireError("out_of_range", f"{what}: a cluster id is out of range") from None
    if len(array) and array.min() < -1:
        raise WireError("out_of_range", f"{what}: a cluster id is out of range")
    return array


def _float_array(value: Any, what: str, limit: int) -> np.ndarray:
    """A JSON array of numbers as a ``float64`` array; every value finite."""
    values = _checked_list(value, what, limit, (int, float), "numbers")
    try:
        array = np.array(values, dtype=np.float64)
    except OverflowError:
        raise WireError("out_of_range", f"{what}: a value is out of range for float64") from None
    if not np.isfinite(array).all():
        raise WireError("out_of_range", f"{what}: a value is out of range for float64")
    return array


# ---------------------------------------------------------------------------------------------
# Points


@dataclass(frozen=True)
class PointBatch:
    """Points of one dimension: ``points`` is ``(count, dimension)`` float64, ``timestamps``
    float64 and ``ids`` uint64, one per point. Decoded from binary, all three are read-only
    views of the payload."""

    points: np.ndarray
    timestamps: np.ndarray
    ids: np.ndarray

    @property
    def dimension(self) -> int:
        return int(self.points.shape[1])

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PointBatch):
            return NotImplemented
        return (self.points.shape == other.points.shape and np.array_equal(self.points, other.points)
                and np.array_equal(self.timestamps, other.timestamps) and np.array_equal(self.ids, other.ids))


def _non_finite(array: np.ndarray, what: str) -> None:
    if not np.isfinite(array).all():
        index = int(np.flatnonzero(~np.isfinite(array.reshape(-1)))[0])
        raise WireError("non_finite", f"{what} {index} is not finite")


def point_columns(points: Any, timestamps: Any, ids: Any,
                  limits: DecodingLimits = DEFAULT_LIMITS) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checks and converts a batch's columns: ``(count, dimension)`` float64 points, float64
    timestamps and uint64 ids, every value finite, counts within ``limits``."""
    values = np.asarray(points, dtype=np.float64)
    if values.ndim != 2:
        raise WireError("invalid_dimension", f"points must be a 2-D array (count, dimension), got {values.ndim}-D")
    count, dimension = values.shape
    if dimension == 0:
        raise WireError("invalid_dimension", "points have dimension 0")
    if dimension > limits.max_dimension:
        raise WireError("limit_exceeded", f"dimension {dimension} exceeds the limit of {limits.max_dimension}")
    if count == 0:
        raise WireError("empty_batch", "a batch needs at least one point")
    if count > limits.max_points:
        raise WireError("limit_exceeded", f"{count} points exceed the limit of {limits.max_points}")
    times = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    raw_ids = np.asarray(ids)
    if raw_ids.dtype.kind not in "iu":
        raise WireError("type_mismatch", f"ids must be integers, got {raw_ids.dtype}")
    if raw_ids.dtype.kind == "i" and raw_ids.size and raw_ids.min() < 0:
        raise WireError("out_of_range", "ids must not be negative")
    identifiers = raw_ids.astype(np.uint64, copy=False).reshape(-1)
    if len(times) != count or len(identifiers) != count:
        raise WireError("count_mismatch", f"{count} points, {len(times)} timestamps, {len(identifiers)} ids")
    _non_finite(values, "coordinate")
    _non_finite(times, "timestamp")
    return values, times, identifiers


def encode_points_binary(points: Any, timestamps: Any, ids: Any,
                         limits: DecodingLimits = DEFAULT_LIMITS) -> bytearray:
    """The binary batch: 16-byte header, values, timestamps, ids (all little-endian).

    The payload is allocated once and each array is copied into it once (converted on the way
    if it is not float64/uint64 already): no per-point work in Python.
    """
    return pack_points(*point_columns(points, timestamps, ids, limits))


def pack_points(values: np.ndarray, times: np.ndarray, identifiers: np.ndarray) -> bytearray:
    """The binary batch of columns that :func:`point_columns` has checked."""
    count, dimension = values.shape
    payload = bytearray(HEADER.size + 8 * count * (dimension + 2))
    HEADER.pack_into(payload, 0, MAGIC, PROTOCOL_VERSION, KIND_POINT_BATCH, 0, dimension, count)
    offset = HEADER.size
    np.frombuffer(payload, "<f8", count * dimension, offset).reshape(count, dimension)[...] = values
    offset += 8 * count * dimension
    np.frombuffer(payload, "<f8", count, offset)[...] = times
    np.frombuffer(payload, "<u8", count, offset + 8 * count)[...] = identifiers
    return payload


def encode_points_json(batch: PointBatch, layout: str = "rows") -> bytes:
    """JSON in layout ``rows``, ``columns`` or ``single`` (one point only)."""
    ids, times, values = batch.ids.tolist(), batch.timestamps.tolist(), batch.points.tolist()
    if layout == "columns":
        return dumps({"columns": {"dim": batch.dimension, "id": ids, "t": times,
                                  "v": batch.points.reshape(-1).tolist()}})
    rows = [{"id": i, "t": t, "v": v} for i, t, v in zip(ids, times, values)]
    if layout == "single":
        if len(rows) != 1:
            raise ValueError("the single layout holds exactly one point")
        return dumps(rows[0])
    if layout == "rows":
        return dumps({"points": rows})
    raise ValueError(f"unknown layout {layout!r}")


def decode_points(payload: Any, expected_dimension: Optional[int] = None,
                  limits: DecodingLimits = DEFAULT_LIMITS) -> PointBatch:
    """Decodes a points payload, binary (starts with ``MMCB``) or JSON (starts with ``{``)."""
    if len(payload) == 0:
        raise WireError("truncated", "empty payload")
    if len(payload) > limits.max_message_bytes:
        raise WireError("limit_exceeded", f"message of {len(payload)} bytes exceeds {limits.max_message_bytes}")
    if bytes(payload[:1]) == b"M":
        return _decode_points_binary(payload, expected_dimension, limits)
    stripped = bytes(payload).lstrip(b" \t\r\n")
    if not stripped:
        raise WireError("truncated", "payload holds only whitespace")
    if stripped[:1] != b"{":
        raise WireError("bad_magic", "payload starts with neither '{' nor MMCB")
    return _decode_points_json(loads(payload, limits), expected_dimension, limits)


def _check_dimension(dimension: int, expected: Optional[int], limits: DecodingLimits, what: str) -> None:
    if dimension == 0:
        raise WireError("invalid_dimension", f"{what} is 0")
    if dimension > limits.max_dimension:
        raise WireError("limit_exceeded", f"{what} {dimension} exceeds the limit of {limits.max_dimension}")
    if expected is not None and dimension != expected:
        raise WireError("dimension_mismatch", f"{what} is {dimension}, expected {expected}")


def _decode_points_binary(payload: Any, expected_dimension: Optional[int], limits: DecodingLimits) -> PointBatch:
    if len(payload) < HEADER.size:
        raise WireError("truncated", f"binary header needs 16 bytes, got {len(payload)}")
    magic, version, kind, flags, dimension, count = HEADER.unpack_from(payload)
    if magic != MAGIC:
        raise WireError("bad_magic", f"binary magic must be MMCB, got {magic!r}")
    if version != PROTOCOL_VERSION:
        raise WireError("unsupported_version", f"binary version {version} is not supported")
    if kind != KIND_POINT_BATCH:
        raise WireError("unknown_kind", f"binary kind {kind} is unknown")
    if flags & MUST_UNDERSTAND_FLAGS:
        raise WireError("unsupported_flags", f"flags {flags:#x} set must-understand bits")
    _check_dimension(dimension, expected_dimension, limits, "header: dimension")
    if count == 0:
        raise WireError("empty_batch", "header: count is 0")
    if count > limits.max_points:
        raise WireError("limit_exceeded", f"header: count {count} exceeds the limit of {limits.max_points} points")
    size = HEADER.size + 8 * count * (dimension + 2)
    if len(payload) != size:
        raise WireError("count_mismatch", f"header announces {size} bytes, payload has {len(payload)}")
    offset = HEADER.size
    values = np.frombuffer(payload, "<f8", count * dimension, offset).reshape(count, dimension)
    offset += 8 * count * dimension
    timestamps = np.frombuffer(payload, "<f8", count, offset)
    ids = np.frombuffer(payload, "<u8", count, offset + 8 * count)
    _non_finite(values, "coordinate")
    _non_finite(timestamps, "timestamp")
    return PointBatch(values, timestamps, ids)


def _decode_points_json(obj: dict, expected_dimension: Optional[int], limits: DecodingLimits) -> PointBatch:
    _check_protocol(obj, "payload", required=False)
    forms = [name for name, keys in (("one point", ("id", "t", "v")), ("points", ("points",)), ("columns", ("columns",)))
             if any(key in obj for key in keys)]
    if len(forms) > 1:
        raise WireError("conflicting_fields", f"payload mixes the {forms[0]} and {forms[1]} forms")
    if not forms:
        raise WireError("missing_field", 'payload has none of "points", "columns" or "id", "t", "v"')
    dimension = expected_dimension
    if forms[0] == "columns":
        columns = _object(obj["columns"], 'field "columns"')
        _require(columns, ["dim", "id", "t", "v"], "columns")
        declared = _uint(columns["dim"], 'columns: field "dim"')
        _check_dimension(declared, expected_dimension, limits, 'columns: field "dim"')
        dimension = declared
        ids = _uint_array(columns["id"], 'columns: field "id"', limits.max_points)
        timestamps = _float_array(columns["t"], 'columns: field "t"', limits.max_points)
        values = _float_array(columns["v"], 'columns: field "v"', limits.max_points * declared)
        if len(timestamps) != len(ids) or len(values) != len(ids) * declared:
            raise WireError("count_mismatch", "columns: lengths of id, t and v disagree")
    else:
        rows = [obj] if forms[0] == "one point" else _list(obj["points"], 'field "points"')
        if len(rows) > limits.max_points:
            raise WireError("limit_exceeded", f"{len(rows)} points exceed the limit of {limits.max_points}")
        id_list: List[int] = []
        time_list: List[float] = []
        flat: List[Any] = []
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
            id_list.append(_uint(row["id"], f'{what}: field "id"'))
            time_list.append(_float(row["t"], f'{what}: field "t"'))
            flat.extend(_checked_list(vector, f'{what}: field "v"', limits.max_dimension, (int, float), "numbers"))
        if dimension is not None and dimension > limits.max_dimension:
            raise WireError("limit_exceeded", f"dimension {dimension} exceeds the limit of {limits.max_dimension}")
        ids = np.array(id_list, dtype=np.uint64)
        timestamps = np.array(time_list, dtype=np.float64)
        values = _float_array(flat, 'field "v"', limits.max_points * limits.max_dimension)
    if len(ids) == 0 or dimension is None:
        raise WireError("empty_batch", "payload holds no points")
    return PointBatch(values.reshape(len(ids), dimension), timestamps, ids)


# ---------------------------------------------------------------------------------------------
# Updates


def cluster_dtype(dimension: int) -> np.dtype:
    """The structured dtype of cluster summaries: ``id``, ``mass``, and ``centroid``, ``min``,
    ``max`` as ``dimension`` float64 each."""
    return np.dtype([("id", "<i8"), ("mass", "<i8"), ("centroid", "<f8", (dimension,)),
                     ("min", "<f8", (dimension,)), ("max", "<f8", (dimension,))])


@dataclass(frozen=True)
class Event:
    """A lifecycle event. ``source`` and ``target`` are the clusters before and after it:
    birth ``()`` -> ``(id,)``, death ``(id,)`` -> ``()``, merge ``from`` -> ``(into,)``,
    split ``(from,)`` -> ``into``."""

    type: str
    source: Tuple[int, ...]
    target: Tuple[int, ...]

    @property
    def cluster(self) -> Optional[int]:
        """The cluster of a birth or death, else None."""
        if self.type == "birth":
            return self.target[0]
        if self.type == "death":
            return self.source[0]
        return None


@dataclass
class Assignments:
    """Parallel columns: point ``ids[i]`` (uint64) is in cluster ``clusters[i]`` (int64, -1 =
    noise). ``mode`` is ``full`` (the whole window) or ``diff`` (changes since the update with
    model version ``base_version``; ``removed`` lists ids that left the window)."""

    mode: str
    ids: np.ndarray
    clusters: np.ndarray
    base_version: Optional[int] = None
    removed: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Assignments):
            return NotImplemented
        return (self.mode == other.mode and self.base_version == other.base_version
                and np.array_equal(self.ids, other.ids) and np.array_equal(self.clusters, other.clusters)
                and np.array_equal(self.removed, other.removed))


@dataclass
class Update:
    """A cluster update (``"kind": "clusters"``), published after every re-clustering.

    ``clusters`` is a structured array (:func:`cluster_dtype`): ``update.clusters["id"]``,
    ``["mass"]``, ``["centroid"]`` (``(k, dim)``). ``topic`` and ``sequence`` say where it came
    from: set by the subscriber for published updates, ``sequence`` None for a snapshot fetched
    by request (``source == "snapshot"``).
    """

    model_version: int
    time: float
    dim: int
    window_size: int
    noise: int
    clusters: np.ndarray
    events: List[Event]
    assignments: Optional[Assignments] = None
    topic: str = ""
    sequence: Optional[int] = None
    source: str = "published"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Update):
            return NotImplemented
        return (self.model_version == other.model_version and self.time == other.time and self.dim == other.dim
                and self.window_size == other.window_size and self.noise == other.noise
                and np.array_equal(self.clusters, other.clusters) and self.events == other.events
                and self.assignments == other.assignments)

    def to_pandas(self) -> Any:
        """The clusters as a pandas DataFrame indexed by cluster id (needs pandas)."""
        import pandas  # type: ignore[import-untyped]

        columns: Dict[str, Any] = {"mass": self.clusters["mass"]}
        for name in ("centroid", "min", "max"):
            for axis in range(self.dim):
                columns[f"{name}_{axis}"] = self.clusters[name][:, axis]
        return pandas.DataFrame(columns, index=pandas.Index(self.clusters["id"], name="cluster"))


@dataclass
class Provisional:
    """Provisional assignments (``"kind": "provisional"``): fresh points matched against the
    current model without changing it; ``confidence`` in 0...1."""

    model_version: int
    ids: np.ndarray
    clusters: np.ndarray
    confidence: np.ndarray
    topic: str = ""
    sequence: Optional[int] = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Provisional):
            return NotImplemented
        return (self.model_version == other.model_version and np.array_equal(self.ids, other.ids)
                and np.array_equal(self.clusters, other.clusters)
                and np.array_equal(self.confidence, other.confidence))


UpdateMessage = Union[Update, Provisional]


def _update_object(update: UpdateMessage) -> dict:
    if isinstance(update, Provisional):
        return {"protocol": 1, "kind": "provisional", "model_version": update.model_version,
                "points": {"ids": update.ids.tolist(), "clusters": update.clusters.tolist(),
                           "confidence": update.confidence.tolist()}}
    clusters = update.clusters
    obj: dict = {
        "protocol": 1, "kind": "clusters", "model_version": update.model_version, "time": update.time,
        "dim": update.dim, "window_size": update.window_size, "noise": update.noise,
        "clusters": [{"id": i, "mass": m, "centroid": c, "min": lo, "max": hi} for i, m, c, lo, hi in zip(
            clusters["id"].tolist(), clusters["mass"].tolist(), clusters["centroid"].tolist(),
            clusters["min"].tolist(), clusters["max"].tolist())],
        "events": [_event_object(event) for event in update.events],
    }
    if update.assignments is not None:
        a = update.assignments
        assignments: dict = {"mode": a.mode}
        if a.mode == "diff":
            assignments["base_version"] = a.base_version
            assignments["removed"] = a.removed.tolist()
        assignments["ids"] = a.ids.tolist()
        assignments["clusters"] = a.clusters.tolist()
        obj["assignments"] = assignments
    return obj


def _event_object(event: Event) -> dict:
    if event.type == "birth":
        return {"type": "birth", "id": event.target[0]}
    if event.type == "death":
        return {"type": "death", "id": event.source[0]}
    if event.type == "merge":
        return {"type": "merge", "from": list(event.source), "into": event.target[0]}
    return {"type": "split", "from": event.source[0], "into": list(event.target)}


def encode_update(update: UpdateMessage) -> bytes:
    """The JSON body of an updates message."""
    return dumps(_update_object(update))


def decode_update(body: Any, limits: DecodingLimits = DEFAULT_LIMITS) -> UpdateMessage:
    """Decodes the body frame of an updates message."""
    return _update_from_object(loads(body, limits), "update", limits)


def _update_from_object(obj: dict, what: str, limits: DecodingLimits) -> UpdateMessage:
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
        ids = _uint_array(points["ids"], 'points: field "ids"', limits.max_assignment_ids)
        clusters = _cluster_array(points["clusters"], 'points: field "clusters"', limits.max_assignment_ids)
        if len(clusters) != len(ids):
            raise WireError("count_mismatch", "points: ids and clusters disagree in length")
        return Provisional(version, ids, clusters, _confidences(points["confidence"], len(ids), "points", limits))
    if kind != "clusters":
        raise WireError("unknown_kind", f'{what}: unknown kind "{kind}"')
    _require(obj, cluster_fields[:-1], what)
    _forbid(obj, ["points"], what, 'kind "clusters"')
    dimension = _uint(obj["dim"], f'{what}: field "dim"')
    window = _uint(obj["window_size"], f'{what}: field "window_size"')
    noise = _uint(obj["noise"], f'{what}: field "noise"')
    if dimension < 1:
        raise WireError("invalid_dimension", f"{what}: dimension must be at least 1")
    if dimension > limits.max_dimension:
        raise WireError("limit_exceeded", f"{what}: dimension {dimension} exceeds the limit of {limits.max_dimension}")
    if noise > window:
        raise WireError("invalid_value", f"{what}: noise count exceeds the window size")
    clusters = _clusters(_list(obj["clusters"], f'{what}: field "clusters"'), dimension, limits)
    raw_events = _list(obj["events"], f'{what}: field "events"')
    if len(raw_events) > limits.max_clusters:
        raise WireError("limit_exceeded", f"{what}: {len(raw_events)} events exceed the limit of {limits.max_clusters}")
    events = [_event(raw, index) for index, raw in enumerate(raw_events)]
    assignments = None
    if "assignments" in obj:
        assignments = _assignments(_object(obj["assignments"], "assignments"), window, version, clusters["id"], limits)
    return Update(version, _float(obj["time"], f'{what}: field "time"'), dimension, window, noise,
                  clusters, events, assignments)


def _clusters(raw_clusters: list, dimension: int, limits: DecodingLimits) -> np.ndarray:
    if len(raw_clusters) > limits.max_clusters:
        raise WireError("limit_exceeded", f"{len(raw_clusters)} clusters exceed the limit of {limits.max_clusters}")
    clusters = np.zeros(len(raw_clusters), cluster_dtype(dimension))
    for index, raw in enumerate(raw_clusters):
        context = f"cluster {index}"
        raw = _object(raw, context)
        _require(raw, ["id", "mass", "centroid", "min", "max"], context)
        clusters["id"][index] = _cluster_id(raw["id"], f'{context}: field "id"', allow_noise=False)
        clusters["mass"][index] = _cluster_id(raw["mass"], f'{context}: field "mass"', allow_noise=False)
        for name in ("centroid", "min", "max"):
            vector = _float_array(raw[name], f'{context}: field "{name}"', limits.max_dimension)
            if len(vector) != dimension:
                raise WireError("dimension_mismatch", f'{context}: field "{name}": expected {dimension} values')
            clusters[name][index] = vector
        if (clusters["min"][index] > clusters["max"][index]).any():
            raise WireError("invalid_value", f"{context}: min exceeds max")
    if len(np.unique(clusters["id"])) != len(clusters):
        raise WireError("invalid_value", "a cluster id appears twice")
    return clusters


def _event(raw: Any, index: int) -> Event:
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
    values: Dict[str, Tuple[int, ...]] = {}
    for name, is_list in shapes[kind].items():
        if is_list:
            ids = tuple(_cluster_id(v, f'{context}: field "{name}"', allow_noise=False)
                        for v in _list(raw[name], f'{context}: field "{name}"'))
            if len(ids) < 2:
                raise WireError("invalid_value", f'{context}: field "{name}" needs at least 2 ids')
            values[name] = ids
        else:
            if isinstance(raw[name], list):
                raise WireError("type_mismatch", f'{context}: field "{name}": expected one id')
            values[name] = (_cluster_id(raw[name], f'{context}: field "{name}"', allow_noise=False),)
    if kind == "birth":
        return Event(kind, (), values["id"])
    if kind == "death":
        return Event(kind, values["id"], ())
    return Event(kind, values["from"], values["into"])


def _assignments(raw: dict, window: int, version: int, known: np.ndarray, limits: DecodingLimits) -> Assignments:
    _require(raw, ["mode", "ids", "clusters"], "assignments")
    mode = _string(raw["mode"], 'assignments: field "mode"')
    ids = _uint_array(raw["ids"], 'assignments: field "ids"', limits.max_assignment_ids)
    clusters = _cluster_array(raw["clusters"], 'assignments: field "clusters"', limits.max_assignment_ids)
    if len(clusters) != len(ids):
        raise WireError("count_mismatch", "assignments: ids and clusters disagree in length")
    if not np.isin(clusters[clusters != -1], known).all():
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
    removed = _uint_array(raw.get("removed", []), 'assignments: field "removed"', limits.max_assignment_ids)
    return Assignments("diff", ids, clusters, base, removed)


def _confidences(value: Any, count: int, what: str, limits: DecodingLimits) -> np.ndarray:
    confidence = _float_array(value, what, limits.max_assignment_ids)
    if len(confidence) != count:
        raise WireError("count_mismatch", f"{what}: {len(confidence)} confidences for {count} points")
    if ((confidence < 0.0) | (confidence > 1.0)).any():
        raise WireError("out_of_range", f"{what}: a confidence is outside 0...1")
    return confidence


# ---------------------------------------------------------------------------------------------
# Requests and replies


def encode_request(request: str, points: Optional[Any] = None) -> bytes:
    """``snapshot``, ``stats``, or ``classify`` with ``points`` as a ``(count, dimension)`` array."""
    obj: dict = {"protocol": 1, "request": request}
    if request == "classify":
        values = np.asarray(points, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError("classify takes a 2-D array of points (count, dimension)")
        obj["dim"] = int(values.shape[1])
        obj["v"] = values.reshape(-1).tolist()
    return dumps(obj)


@dataclass
class Request:
    """A decoded request: ``name`` and, for ``classify``, ``points`` ``(count, dimension)``."""

    name: str
    points: Optional[np.ndarray] = None


def decode_request(body: Any, expected_dimension: Optional[int] = None,
                   limits: DecodingLimits = DEFAULT_LIMITS) -> Request:
    obj = loads(body, limits)
    _check_protocol(obj, "request", required=False)
    _require(obj, ["request"], "request")
    name = _string(obj["request"], 'request: field "request"')
    if name in ("snapshot", "stats"):
        _forbid(obj, ["dim", "v"], "request", f'request "{name}"')
        return Request(name)
    if name != "classify":
        raise WireError("unknown_kind", f'request: unknown request "{name}"')
    _require(obj, ["dim", "v"], "request")
    dimension = _uint(obj["dim"], 'request: field "dim"')
    if expected_dimension is not None and dimension != expected_dimension:
        raise WireError("dimension_mismatch", f'request: field "dim": expected {expected_dimension}, got {dimension}')
    values = _float_array(obj["v"], 'request: field "v"', limits.max_points * max(dimension, 1))
    if dimension < 1:
        raise WireError("invalid_dimension", "classify: dimension must be at least 1")
    if dimension > limits.max_dimension:
        raise WireError("limit_exceeded", f"classify: dimension {dimension} exceeds the limit of {limits.max_dimension}")
    if len(values) == 0:
        raise WireError("empty_batch", "classify: no points")
    if len(values) % dimension:
        raise WireError("count_mismatch", "classify: values are not a whole number of points")
    return Request("classify", values.reshape(-1, dimension))


@dataclass(frozen=True)
class Stats:
    """The ``stats`` reply (docs/protocol.md, section 3)."""

    model_version: int
    dim: int
    window_size: int
    window_capacity: int
    clusters: int
    noise: int
    points_received: int
    points_rejected: int
    points_dropped: int
    recluster_count: int
    last_recluster_seconds: float
    uptime_seconds: float


_STATS_INTEGERS = ["model_version", "dim", "window_size", "window_capacity", "clusters", "noise",
                   "points_received", "points_rejected", "points_dropped", "recluster_count"]
_STATS_FLOATS = ["last_recluster_seconds", "uptime_seconds"]


@dataclass
class Classification:
    """The ``classify`` reply: one cluster id (-1 = noise) and one confidence per point."""

    model_version: int
    clusters: np.ndarray
    confidence: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Classification):
            return NotImplemented
        return (self.model_version == other.model_version and np.array_equal(self.clusters, other.clusters)
                and np.array_equal(self.confidence, other.confidence))


@dataclass(frozen=True)
class ErrorReply:
    """A failure: ``code`` (an open set: expect codes you do not know) and a readable message."""

    code: str
    message: str


@dataclass
class Reply:
    """``status`` is ``ok`` or ``error``; ``reply`` names the request answered (ok only);
    ``result`` is an :class:`Update` (snapshot), :class:`Stats`, :class:`Classification` or
    :class:`ErrorReply`."""

    status: str
    reply: Optional[str]
    result: Union[Update, Stats, Classification, ErrorReply]


_REPLY_FIELDS = {"snapshot": "update", "stats": "stats", "classify": "result"}


def encode_reply(reply: Reply) -> bytes:
    obj: dict = {"protocol": 1, "status": reply.status}
    result = reply.result
    if isinstance(result, ErrorReply):
        obj["error"] = {"code": result.code, "message": result.message}
    elif isinstance(result, Update):
        obj["reply"], obj["update"] = "snapshot", _update_object(result)
    elif isinstance(result, Stats):
        obj["reply"], obj["stats"] = "stats", {name: getattr(result, name) for name in _STATS_INTEGERS + _STATS_FLOATS}
    else:
        obj["reply"], obj["result"] = "classify", {"model_version": result.model_version,
                                                   "clusters": result.clusters.tolist(),
                                                   "confidence": result.confidence.tolist()}
    return dumps(obj)


def decode_reply(body: Any, limits: DecodingLimits = DEFAULT_LIMITS) -> Reply:
    obj = loads(body, limits)
    _check_protocol(obj, "reply", required=True)
    _require(obj, ["status"], "reply")
    status = _string(obj["status"], 'reply: field "status"')
    if status == "error":
        _require(obj, ["error"], "reply")
        _forbid(obj, ["reply", *_REPLY_FIELDS.values()], "reply", "an error reply")
        error = _object(obj["error"], 'reply: field "error"')
        _require(error, ["code", "message"], "error")
        return Reply("error", None, ErrorReply(_string(error["code"], "error: code"),
                                               _string(error["message"], "error: message")))
    if status != "ok":
        raise WireError("unknown_kind", f'reply: unknown status "{status}"')
    _require(obj, ["reply"], "reply")
    name = _string(obj["reply"], 'reply: field "reply"')
    if name not in _REPLY_FIELDS:
        raise WireError("unknown_kind", f'reply: unknown reply "{name}"')
    _require(obj, [_REPLY_FIELDS[name]], "reply")
    _forbid(obj, [f for f in [*_REPLY_FIELDS.values(), "error"] if f != _REPLY_FIELDS[name]], "reply", f'reply "{name}"')
    raw = obj[_REPLY_FIELDS[name]]
    if name == "snapshot":
        update = _update_from_object(_object(raw, "update"), "reply: update", limits)
        if not isinstance(update, Update):
            raise WireError("invalid_value", 'reply: field "update": expected kind "clusters"')
        update.source = "snapshot"
        return Reply("ok", name, update)
    if name == "stats":
        stats = _object(raw, "stats")
        _require(stats, _STATS_INTEGERS + _STATS_FLOATS, "stats")
        values: Dict[str, Any] = {key: _uint(stats[key], f'stats: field "{key}"') for key in _STATS_INTEGERS}
        values.update({key: _float(stats[key], f'stats: field "{key}"') for key in _STATS_FLOATS})
        return Reply("ok", name, Stats(**values))
    result = _object(raw, "result")
    _require(result, ["model_version", "clusters", "confidence"], "result")
    clusters = _cluster_array(result["clusters"], 'result: field "clusters"', limits.max_points)
    return Reply("ok", name, Classification(_uint(result["model_version"], 'result: field "model_version"'), clusters,
                                            _confidences(result["confidence"], len(clusters), "result", limits)))


# ---------------------------------------------------------------------------------------------
# Frames and sequence numbers


def sequence_frame(sequence: int) -> bytes:
    """The 8-byte little-endian sequence frame of an updates message."""
    return struct.pack("<Q", sequence)


def decode_sequence(frame: Any) -> int:
    if len(frame) != 8:
        raise WireError("invalid_frame", f"sequence frame must be 8 bytes, got {len(frame)}")
    return int(struct.unpack("<Q", bytes(frame))[0])


class SequenceTracker:
    """Per-topic sequence numbers (docs/protocol.md, section 2.1): :meth:`observe` says whether
    a message is the ``first``, the ``next``, after a ``gap``, ``repeated`` (a re-sent snapshot)
    or ``restarted`` (the publisher went back)."""

    def __init__(self) -> None:
        self.last: Dict[str, int] = {}

    def observe(self, topic: str, sequence: int) -> Tuple[str, int]:
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
