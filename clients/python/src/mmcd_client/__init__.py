"""Python client for mmcd, the streaming mass-maximization clustering daemon.

``Producer`` feeds numpy arrays of points, ``Subscriber`` follows cluster updates and keeps a
``Window`` (the current assignment of window points to clusters), ``Control`` asks for a
snapshot, statistics or the clusters of new points. ``wire`` is the protocol codec
(docs/protocol.md in the mmcd repository).
"""

from .control import Control, ControlError
from .curve import Curve, read_key_file
from .producer import Producer
from .subscriber import Subscriber
from .window import Window
from .wire import (Assignments, Classification, Event, PointBatch, Provisional, Stats, Update, WireError,
                   cluster_dtype, decode_points, encode_points_binary)

__version__ = "0.1.0"

__all__ = [
    "Assignments", "Classification", "Control", "ControlError", "Curve", "Event", "PointBatch", "Producer",
    "Provisional", "Stats", "Subscriber", "Update", "Window", "WireError", "cluster_dtype", "decode_points",
    "encode_points_binary", "read_key_file",
]
