"""Sends points to a daemon's input socket as binary batches (docs/protocol.md, section 1)."""

from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np
import zmq

from .curve import Curve
from .wire import HEADER, DecodingLimits, pack_points, point_columns

#: The daemon's default ``input.max_batch_points`` and ``input.max_message_bytes``.
DAEMON_MAX_BATCH_POINTS = 100_000
DAEMON_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class Producer:
    """Feeds 2-D numpy arrays of points to ``mmcd``.

    ``socket="pub"`` (the default) matches the daemon's default SUB input: losses are possible
    (the daemon counts them), and since PUB drops what is sent before the daemon's subscription
    arrives, the first :meth:`send` waits up to ``subscriber_timeout`` seconds for one (the
    socket is an XPUB, which sees subscriptions). ``socket="push"`` suits a PULL input: nothing
    is lost, and :meth:`send` waits while the daemon is behind (at most ``send_timeout``
    seconds, then TimeoutError).

    Batches are cut to the daemon's limits (``max_batch_points`` points and
    ``max_message_bytes`` bytes a message, its defaults unless told otherwise).
    """

    def __init__(self, endpoint: str, topic: str = "points", socket: str = "pub", curve: Optional[Curve] = None,
                 bind: bool = False, max_batch_points: int = DAEMON_MAX_BATCH_POINTS,
                 max_message_bytes: int = DAEMON_MAX_MESSAGE_BYTES, first_id: int = 0,
                 send_timeout: Optional[float] = None, subscriber_timeout: float = 5.0,
                 context: Optional[zmq.Context] = None):
        encoded_topic = topic.encode("utf-8")
        if not 1 <= len(encoded_topic) <= 255:
            raise ValueError(f"a topic has 1 to 255 bytes, got {len(encoded_topic)}")
        if socket not in ("push", "pub"):
            raise ValueError(f'socket must be "push" or "pub", got {socket!r}')
        if max_batch_points < 1 or max_message_bytes < HEADER.size + 24:
            raise ValueError("max_batch_points and max_message_bytes leave no room for a point")
        self.endpoint = endpoint
        self.topic = topic
        self.max_batch_points = max_batch_points
        self.max_message_bytes = max_message_bytes
        #: The id the next point gets when :meth:`send` is not given ids.
        self.next_id = first_id
        #: Points, messages and payload bytes handed to the socket so far.
        self.sent_points = 0
        self.sent_messages = 0
        self.sent_bytes = 0
        self._topic = encoded_topic
        self._subscriber_timeout = subscriber_timeout
        self._subscribed = socket == "push"
        self._socket = (context or zmq.Context.instance()).socket(zmq.PUSH if socket == "push" else zmq.XPUB)
        self._socket.linger = 2000
        if send_timeout is not None:
            self._socket.sndtimeo = int(send_timeout * 1000)
        if curve is not None:
            curve.apply(self._socket)
        if bind:
            self._socket.bind(endpoint)
        else:
            self._socket.connect(endpoint)

    def batch_points(self, dimension: int) -> int:
        """Points per message at ``dimension``: the most both limits allow."""
        return max(1, min(self.max_batch_points, (self.max_message_bytes - HEADER.size) // (8 * (dimension + 2))))

    def wait_subscribed(self, timeout: float) -> bool:
        """For ``pub``: waits up to ``timeout`` seconds until a subscriber's prefix matches the
        topic. Always True for ``push``."""
        deadline = time.monotonic() + timeout
        while not self._subscribed:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._socket.poll(int(remaining * 1000)):
                return False
            event = self._socket.recv()
            if event[:1] == b"\x01" and self._topic.startswith(event[1:]):
                self._subscribed = True
        return True

    def send(self, points: Any, ids: Any = None, timestamps: Any = None) -> int:
        """Sends ``points``, a ``(count, dimension)`` array, in as few messages as the limits
        allow; returns the number of messages.

        ``ids`` default to consecutive integers from :attr:`next_id`; ``timestamps`` (one per
        point, or one for all) default to now, in seconds since the Unix epoch. Raises
        :class:`~mmcd_client.wire.WireError` for what the daemon would refuse (not 2-D, NaN,
        negative ids, mismatched lengths) before anything is sent.
        """
        count = np.shape(points)[0] if np.ndim(points) == 2 else 0
        if np.ndim(points) == 2 and count == 0:
            return 0
        if ids is None:
            ids = np.arange(self.next_id, self.next_id + count, dtype=np.uint64)
        if timestamps is None:
            timestamps = time.time()
        if np.ndim(timestamps) == 0:
            timestamps = np.full(count, timestamps, dtype=np.float64)
        values, timestamps, ids = point_columns(points, timestamps, ids, DecodingLimits(max_points=count))
        if not self._subscribed:
            self.wait_subscribed(self._subscriber_timeout)
        step = self.batch_points(values.shape[1])
        messages = 0
        for start in range(0, count, step):
            stop = min(start + step, count)
            payload = pack_points(values[start:stop], timestamps[start:stop], ids[start:stop])
            try:
                self._socket.send_multipart([self._topic, payload], copy=False)
            except zmq.Again:
                raise TimeoutError(f"{self.endpoint} took no message within the send timeout; "
                                   f"{self.sent_points} points sent so far") from None
            messages += 1
            self.sent_points += stop - start
            self.sent_messages += 1
            self.sent_bytes += len(payload)
        self.next_id = max(self.next_id, int(ids.max()) + 1)
        return messages

    def close(self, linger: Optional[float] = None) -> None:
        """Closes the socket, waiting up to ``linger`` seconds (default 2) for queued messages."""
        self._socket.close(linger=None if linger is None else int(linger * 1000))

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
