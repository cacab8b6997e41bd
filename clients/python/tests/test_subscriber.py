"""The Subscriber's sequence handling against a publisher the test controls: repeats dropped
while in sync, gaps and restarts invalidating the window, and, without a control endpoint,
waiting for the next full update."""

from __future__ import annotations

import numpy as np
import zmq

from mmcd_client import Subscriber, wire


def update(version, assignments, window_size):
    """A valid cluster update with clusters 1, 2 and 3 (dimension 1)."""
    table = np.zeros(3, wire.cluster_dtype(1))
    table["id"] = [1, 2, 3]
    noise = int((assignments.clusters == -1).sum())
    return wire.Update(version, 0.0, 1, window_size, noise, table, [], assignments)


def full(version, ids, clusters):
    return update(version, wire.Assignments("full", np.array(ids, np.uint64), np.array(clusters, np.int64)), len(ids))


def diff(version, base, ids, clusters, removed=()):
    return update(version, wire.Assignments("diff", np.array(ids, np.uint64), np.array(clusters, np.int64), base,
                                            np.array(removed, np.uint64)), 10)


class Publisher:
    """An XPUB on a free loopback port that sends crafted cluster updates."""

    def __init__(self) -> None:
        self.socket = zmq.Context.instance().socket(zmq.XPUB)
        self.endpoint = f"tcp://127.0.0.1:{self.socket.bind_to_random_port('tcp://127.0.0.1')}"

    def wait_subscribed(self) -> None:
        assert self.socket.poll(30_000) and self.socket.recv()[:1] == b"\x01"

    def send(self, sequence: int, update: wire.Update) -> None:
        self.socket.send_multipart([b"clusters.t", wire.encode_update(update), wire.sequence_frame(sequence)])


def test_sequence_rules_without_a_control_endpoint():
    publisher = Publisher()
    with Subscriber(publisher.endpoint) as subscriber:
        publisher.wait_subscribed()
        window = subscriber.window

        def step(sequence, update):
            publisher.send(sequence, update)
            return subscriber.receive(timeout=30)

        assert step(0, full(1, [1, 2], [1, 2])).model_version == 1 and window.in_sync
        publisher.send(0, full(1, [1, 2], [1, 2]))          # a late joiner's re-send: dropped in sync
        assert step(1, diff(2, 1, [3], [3])).model_version == 2
        assert window.ids.tolist() == [1, 2, 3] and subscriber.lost == 0

        assert step(3, diff(4, 3, [1], [3])).model_version == 4        # number 2 was lost
        assert subscriber.lost == 1 and not window.in_sync and window.model_version == 2
        assert subscriber.resyncs == 0
        assert step(4, diff(5, 4, [2], [3])).sequence == 4 and not window.in_sync
        assert step(5, full(6, [7, 8], [1, -1])).assignments.mode == "full"
        assert window.in_sync and window.ids.tolist() == [7, 8] and window.cluster_of([8]).tolist() == [-1]

        update = step(0, full(1, [9], [2]))               # the publisher restarted without state
        assert subscriber.restarts == 1 and update.model_version == 1
        assert window.model_version == 1 and window.ids.tolist() == [9]
        assert step(1, diff(2, 1, [], [], removed=[9])).model_version == 2 and len(window) == 0
    publisher.socket.close(linger=0)


def test_malformed_messages_are_counted_and_skipped():
    publisher = Publisher()
    with Subscriber(publisher.endpoint) as subscriber:
        publisher.wait_subscribed()
        publisher.socket.send_multipart([b"clusters.t", b"{}", wire.sequence_frame(0)])
        publisher.socket.send_multipart([b"clusters.t", b"x"])
        publisher.send(0, full(1, [1], [1]))
        update = subscriber.receive(timeout=30)
        assert update is not None and update.model_version == 1
        assert subscriber.malformed == 2 and subscriber.last_error.code == "invalid_frame"
        assert np.array_equal(subscriber.window.ids, [1])
    publisher.socket.close(linger=0)
