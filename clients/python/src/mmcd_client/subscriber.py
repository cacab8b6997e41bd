"""Follows a daemon's updates (docs/protocol.md, section 2) with sequence-gap handling."""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Deque, Dict, Iterator, Optional, Sequence, Union

import zmq

from .control import Control, ControlError
from .curve import Curve
from .wire import Provisional, SequenceTracker, Update, UpdateMessage, WireError, decode_sequence, decode_update
from .window import Window


class Subscriber:
    """A SUB socket on the daemon's output endpoint that yields :class:`Update` (and, when
    subscribed to ``assign.``, :class:`Provisional`) objects and keeps a :class:`Window` per
    cluster topic.

    Sequence numbers are checked per topic as the protocol says: a re-sent snapshot
    (repeated number) is dropped while the window is in sync; a gap or a publisher restart
    marks the window stale. A diff that cannot be applied then makes the subscriber ask
    ``control`` (an endpoint or a :class:`Control`) for a ``snapshot``, apply it, and yield it
    (its ``source`` is ``"snapshot"``, its ``sequence`` None) just before that diff; without
    ``control`` the window waits for the next full update. Every published update is yielded,
    in order of arrival, whether or not the window could use it (``window.in_sync`` tells).
    Malformed messages are skipped and counted in :attr:`malformed`.
    """

    def __init__(self, endpoint: str, topics: Sequence[str] = ("clusters.",), curve: Optional[Curve] = None,
                 control: Union[str, Control, None] = None, context: Optional[zmq.Context] = None):
        self.endpoint = endpoint
        #: Windows by cluster topic, created at a topic's first update.
        self.windows: Dict[str, Window] = {}
        #: Messages received, lost in gaps, publisher restarts seen, snapshots requested,
        #: malformed messages skipped.
        self.received = 0
        self.lost = 0
        self.restarts = 0
        self.resyncs = 0
        self.malformed = 0
        #: The last malformed message's error.
        self.last_error: Optional[WireError] = None
        self._tracker = SequenceTracker()
        self._pending: Deque[UpdateMessage] = deque()
        self._first_window = Window()
        self._socket = (context or zmq.Context.instance()).socket(zmq.SUB)
        self._socket.linger = 0
        if curve is not None:
            curve.apply(self._socket)
        for topic in topics:
            self._socket.subscribe(topic.encode("utf-8"))
        self._socket.connect(endpoint)
        self._owns_control = isinstance(control, str)
        self._control = Control(control, curve=curve, context=context) if isinstance(control, str) else control

    @property
    def window(self) -> Window:
        """The window of the first cluster topic, the same object before and after its first
        update (with updates on several topics, use :attr:`windows`)."""
        if len(self.windows) > 1:
            raise ValueError(f"updates came on {len(self.windows)} topics; use windows[topic]")
        return self._first_window

    def receive(self, timeout: Optional[float] = None) -> Optional[UpdateMessage]:
        """The next update, waiting up to ``timeout`` seconds (None: no limit); None when
        nothing came in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._socket.poll(None if remaining is None else int(remaining * 1000)):
                return None
            self._handle(self._socket.recv_multipart())
        return self._pending.popleft()

    def __iter__(self) -> Iterator[UpdateMessage]:
        while True:
            message = self.receive()
            if message is not None:
                yield message

    def _handle(self, frames: list) -> None:
        self.received += 1
        try:
            if len(frames) != 3:
                raise WireError("invalid_frame", f"an updates message has 3 frames, got {len(frames)}")
            topic = frames[0].decode("utf-8")
            sequence = decode_sequence(frames[2])
            message = decode_update(frames[1])
        except (WireError, UnicodeDecodeError) as error:
            self.malformed += 1
            self.last_error = error if isinstance(error, WireError) else WireError("invalid_utf8", str(error))
            return
        observation, missed = self._tracker.observe(topic, sequence)
        message.topic, message.sequence = topic, sequence
        if isinstance(message, Provisional):
            self.lost += missed
            self._pending.append(message)
            return
        window = self.windows.setdefault(topic, Window() if self.windows else self._first_window)
        if observation == "gap":
            self.lost += missed
            window.invalidate()
        elif observation == "restarted":
            self.restarts += 1
            window.invalidate()
        elif observation == "repeated" and window.in_sync:
            return
        if not window.apply(message) and message.assignments is not None:
            snapshot = self._request_snapshot(topic)
            if snapshot is not None:
                window.apply(snapshot)
                self._pending.append(snapshot)
                if snapshot.model_version < message.model_version:
                    window.apply(message)
        self._pending.append(message)

    def _request_snapshot(self, topic: str) -> Optional[Update]:
        """The daemon's latest full update by request, None without control or an answer."""
        if self._control is None:
            return None
        try:
            snapshot = self._control.snapshot()
        except (ControlError, TimeoutError, WireError):
            return None
        snapshot.topic = topic
        self.resyncs += 1
        return snapshot

    def close(self) -> None:
        self._socket.close(linger=0)
        if self._owns_control and self._control is not None:
            self._control.close()

    def __enter__(self) -> "Subscriber":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
