"""The request/reply client: ``snapshot``, ``stats`` and ``classify`` (docs/protocol.md, section 3)."""

from __future__ import annotations

from typing import Any, Optional

import zmq

from .curve import Curve
from .wire import Classification, ErrorReply, Reply, Stats, Update, decode_reply, encode_request


class ControlError(RuntimeError):
    """An error reply. ``code`` is an open set (``not_ready``, ``internal``, a decoding error
    code, or one this client does not know yet)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Control:
    """A REQ socket on the daemon's control endpoint.

    A request without a reply within ``timeout`` seconds raises TimeoutError; the socket is
    relaxed and correlating, so the next request works and a late reply to the old one is
    discarded.
    """

    def __init__(self, endpoint: str, curve: Optional[Curve] = None, timeout: float = 10.0,
                 context: Optional[zmq.Context] = None):
        self.endpoint = endpoint
        self.timeout = timeout
        self._socket = (context or zmq.Context.instance()).socket(zmq.REQ)
        self._socket.linger = 0
        self._socket.setsockopt(zmq.REQ_RELAXED, 1)
        self._socket.setsockopt(zmq.REQ_CORRELATE, 1)
        if curve is not None:
            curve.apply(self._socket)
        self._socket.connect(endpoint)

    def request(self, body: bytes) -> Reply:
        """Sends one encoded request and decodes the reply, whatever its status."""
        self._socket.send(body)
        if not self._socket.poll(int(self.timeout * 1000)):
            raise TimeoutError(f"no reply from {self.endpoint} within {self.timeout} s")
        return decode_reply(self._socket.recv())

    def _ok(self, name: str, points: Any = None) -> Any:
        reply = self.request(encode_request(name, points))
        if isinstance(reply.result, ErrorReply):
            raise ControlError(reply.result.code, reply.result.message)
        if reply.reply != name:
            raise ControlError("invalid_value", f"asked for {name}, the reply is {reply.reply}")
        return reply.result

    def snapshot(self) -> Update:
        """The latest cluster update with full assignments (``source == "snapshot"``).
        Raises ControlError ``not_ready`` before the first re-clustering."""
        update: Update = self._ok("snapshot")
        return update

    def stats(self) -> Stats:
        stats: Stats = self._ok("stats")
        return stats

    def classify(self, points: Any) -> Classification:
        """The clusters of ``points`` (a ``(count, dimension)`` array) in the current model,
        without learning them."""
        result: Classification = self._ok("classify", points)
        return result

    def close(self) -> None:
        self._socket.close(linger=0)

    def __enter__(self) -> "Control":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
