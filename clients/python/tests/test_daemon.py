"""End to end against a real mmcd: feed with Producer, follow with Subscriber and Window,
check the reconstruction against Control.snapshot, recover from a lost update, CURVE."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter

import numpy as np
import pytest
import zmq

from conftest import eventually
from mmcd_client import Control, ControlError, Curve, Producer, Subscriber, Window, wire

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def blobs(count: int, seed: int) -> np.ndarray:
    """``count`` 2-D points around CENTRES (standard deviation 0.5), in random order."""
    generator = np.random.default_rng(seed)
    return CENTRES[generator.integers(0, len(CENTRES), count)] + generator.normal(scale=0.5, size=(count, 2))


def follow(subscriber: Subscriber, condition, timeout: float = 120.0, modes: Counter = None) -> bool:
    """Receives updates until ``condition()`` holds; counts assignment modes in ``modes``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        update = subscriber.receive(timeout=0.2)
        if modes is not None and update is not None and update.assignments is not None:
            modes[(update.source, update.assignments.mode)] += 1
    return True


def matching_snapshot(subscriber: Subscriber, control: Control, timeout: float = 120.0) -> wire.Update:
    """A snapshot of the model version the subscriber's window is at (the daemon has gone quiet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = control.snapshot()
        if subscriber.window.in_sync and snapshot.model_version == subscriber.window.model_version:
            return snapshot
        subscriber.receive(timeout=0.2)
    raise AssertionError(f"window at {subscriber.window.model_version}, daemon at {snapshot.model_version}")


def assert_window_is(window: Window, snapshot: wire.Update) -> None:
    assert snapshot.assignments.mode == "full" and snapshot.source == "snapshot"
    expected_ids = np.sort(snapshot.assignments.ids)
    assert np.array_equal(window.ids, expected_ids)
    assert np.array_equal(window.cluster_of(snapshot.assignments.ids), snapshot.assignments.clusters)
    masses = Counter(window.clusters.tolist())
    assert {int(c["id"]): int(c["mass"]) for c in snapshot.clusters} == {c: m for c, m in masses.items() if c != -1}
    assert masses.get(-1, 0) == snapshot.noise


def test_feed_100000_points_and_follow_the_window(start_daemon):
    daemon = start_daemon()
    points = blobs(100_000, seed=7)
    modes: Counter = Counter()
    events: Counter = Counter()
    with Control(daemon.control) as control, Subscriber(daemon.output, control=control) as subscriber, \
            Producer(daemon.input, topic="points.test", socket="push") as producer:
        for start in range(0, len(points), 10_000):
            producer.send(points[start:start + 10_000])
            while (update := subscriber.receive(timeout=0)) is not None:
                modes[(update.source, update.assignments.mode)] += 1
                events.update(event.type for event in update.events)
        assert (producer.sent_points, producer.sent_messages, producer.next_id) == (100_000, 10, 100_000)
        assert producer.sent_bytes == 10 * (16 + 8 * 10_000 * 4)

        window = subscriber.window
        assert follow(subscriber, lambda: window.in_sync and len(window) == 5_000 and window.ids[0] == 95_000,
                      modes=modes), f"window {len(window)} points from {window.ids[:1]}, {subscriber.lost} lost"
        snapshot = matching_snapshot(subscriber, control)
        assert_window_is(window, snapshot)
        assert np.array_equal(window.ids, np.arange(95_000, 100_000, dtype=np.uint64))
        # Every re-clustering so far saw a window that had turned over, so each went out full
        # (a diff would have been larger); 500 more points keep 90% of it: that one is a diff.
        assert modes[("published", "full")] >= 1, modes
        producer.send(blobs(500, seed=8))
        assert follow(subscriber, lambda: window.in_sync and window.ids[0] == 95_500, modes=modes), \
            f"window {len(window)} points from {window.ids[:1]}, {subscriber.lost} lost"
        assert modes[("published", "diff")] >= 1, modes
        snapshot = matching_snapshot(subscriber, control)
        assert_window_is(window, snapshot)
        assert np.array_equal(window.ids, np.arange(95_500, 100_500, dtype=np.uint64))
        assert subscriber.lost == 0 and subscriber.malformed == 0

        stats = control.stats()
        assert (stats.points_received, stats.dim, stats.window_size) == (100_500, 2, 5_000)
        assert stats.model_version >= snapshot.model_version

        labels = control.classify(CENTRES)
        assert labels.clusters.dtype == np.int64 and len(set(labels.clusters.tolist())) == 3
        assert -1 not in labels.clusters.tolist() and (labels.confidence > 0.5).all()
        for centre, cluster in zip(CENTRES, labels.clusters):
            near = np.linalg.norm(points[95_500:] - centre, axis=1) < 1.0
            assert Counter(window.cluster_of(np.flatnonzero(near) + 95_500).tolist()).most_common(1)[0][0] == cluster

        frame = window.to_pandas() if _has_pandas() else None
        if frame is not None:
            assert frame.loc[99_999] == window.cluster_of([99_999])[0]
            assert snapshot.to_pandas().loc[int(snapshot.clusters["id"][0]), "mass"] == snapshot.clusters["mass"][0]


def _has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def test_batches_follow_the_limits_and_bad_points_stay_home(start_daemon):
    daemon = start_daemon({"input": {"max_batch_points": 3_000}})
    with Control(daemon.control) as control, \
            Producer(daemon.input, socket="push", max_batch_points=3_000, first_id=1_000) as producer:
        with pytest.raises(wire.WireError) as error:
            producer.send(np.array([[0.0, 1.0], [np.nan, 2.0]]))
        assert error.value.code == "non_finite" and producer.sent_messages == 0
        assert producer.send(blobs(10_000, seed=3), timestamps=time.time()) == 4
        assert eventually(lambda: control.stats().points_received == 10_000)
        assert control.stats().points_rejected == 0
        assert eventually(lambda: _snapshot_or_none(control) is not None)
        assert _snapshot_or_none(control).assignments.ids.min() >= 1_000


def test_a_pub_producer_waits_for_the_daemons_subscription(start_daemon):
    daemon = start_daemon({"input": {"socket": "sub", "topics": ["points."]}})
    with Control(daemon.control) as control:
        # No explicit wait: the first send waits for the subscription (PUB would drop it).
        with Producer(daemon.input, topic="points.site1", subscriber_timeout=30) as producer:
            producer.send(blobs(1_000, seed=2))
        assert eventually(lambda: control.stats().points_received == 1_000)
        with Producer(daemon.input, topic="other") as stranger:
            assert not stranger.wait_subscribed(0.5)


def _snapshot_or_none(control: Control):
    try:
        return control.snapshot()
    except ControlError as error:
        assert error.code == "not_ready"
        return None


class DroppingProxy(threading.Thread):
    """Forwards the daemon's cluster updates to its own endpoint, dropping the
    ``drop``-th diff, as a slow network or a full queue would."""

    def __init__(self, upstream: str, drop: int):
        super().__init__(daemon=True)
        context = zmq.Context.instance()
        self._upstream = context.socket(zmq.SUB)
        self._upstream.subscribe(b"clusters.")
        self._upstream.connect(upstream)
        self._downstream = context.socket(zmq.XPUB)
        self.endpoint = f"tcp://127.0.0.1:{self._downstream.bind_to_random_port('tcp://127.0.0.1')}"
        self._drop = drop
        #: Cluster updates that came from the daemon, and diffs among them.
        self.seen = 0
        self.diffs = 0
        self.dropped: list = []
        self.subscribed = threading.Event()
        self._stopping = threading.Event()

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._upstream, zmq.POLLIN)
        poller.register(self._downstream, zmq.POLLIN)
        while not self._stopping.is_set():
            ready = dict(poller.poll(50))
            if self._downstream in ready and self._downstream.recv()[:1] == b"\x01":
                self.subscribed.set()
            if self._upstream in ready:
                frames = self._upstream.recv_multipart()
                update = wire.decode_update(frames[1])
                self.seen += 1
                if update.assignments is not None and update.assignments.mode == "diff":
                    self.diffs += 1
                    if self.diffs == self._drop:
                        self.dropped.append(wire.decode_sequence(frames[2]))
                        continue
                self._downstream.send_multipart(frames)
        self._upstream.close(linger=0)
        self._downstream.close(linger=0)

    def stop(self) -> None:
        self._stopping.set()
        self.join()


def test_a_lost_update_is_recovered_by_a_snapshot_request(start_daemon):
    daemon = start_daemon({"output": {"full_every": 1_000}, "window": {"size": 3_000}})
    proxy = DroppingProxy(daemon.output, drop=2)
    proxy.start()
    points = blobs(60_000, seed=11)
    try:
        with Control(daemon.control) as control, Subscriber(proxy.endpoint, control=control) as subscriber, \
                Producer(daemon.input, socket="push") as producer:
            assert proxy.subscribed.wait(30)
            modes: Counter = Counter()
            sent = 0
            # Feed in steps, each after the daemon published an update, until the drop and a
            # resync happened.
            while sent < len(points) and not (subscriber.resyncs and modes[("published", "diff")] >= 3):
                producer.send(points[sent:sent + 1_500])
                sent += 1_500
                seen = proxy.seen
                assert follow(subscriber, lambda: proxy.seen > seen, modes=modes)
            assert proxy.dropped and subscriber.lost == 1, (proxy.dropped, subscriber.lost)
            assert subscriber.resyncs >= 1 and modes[("snapshot", "full")] >= 1, modes
            snapshot = matching_snapshot(subscriber, control)
            assert_window_is(subscriber.window, snapshot)
            assert subscriber.window.ids[-1] == sent - 1
    finally:
        proxy.stop()


def keygen(mmc_bin: str, prefix: str) -> None:
    subprocess.run([mmc_bin, "keygen", "--out", prefix], check=True, capture_output=True)


def test_curve_admits_listed_clients_and_refuses_others(start_daemon, mmc_bin, tmp_path):
    for name in ("server", "client", "intruder"):
        keygen(mmc_bin, str(tmp_path / name))
    allowed = tmp_path / "authorized_keys"
    allowed.write_text((tmp_path / "client.pub").read_text())
    daemon = start_daemon({"security": {"curve_secret_key_file": str(tmp_path / "server.key"),
                                        "curve_authorized_keys_file": str(allowed)}})
    listed = Curve.from_files(tmp_path / "server.pub", tmp_path / "client.key")
    unlisted = Curve.from_files(tmp_path / "server.pub", tmp_path / "intruder.key")

    with Control(daemon.control, curve=listed) as control, \
            Subscriber(daemon.output, curve=listed, control=control) as subscriber:
        with Producer(daemon.input, socket="push", curve=listed) as producer:
            producer.send(blobs(2_000, seed=5))
        assert eventually(lambda: control.stats().points_received == 2_000)
        assert follow(subscriber, lambda: subscriber.window.in_sync)
        assert len(subscriber.window) == 2_000

        intruder = Producer(daemon.input, socket="push", curve=unlisted)
        intruder.send(blobs(1_000, seed=6))
        refused = 'mmcd_auth_refused_total{reason="unknown_key"}'
        assert eventually(lambda: daemon.metric(refused) >= 1), daemon.metrics()
        intruder.close(linger=0)
        with Control(daemon.control, curve=unlisted, timeout=1.0) as stranger:
            with pytest.raises(TimeoutError):
                stranger.stats()
        with Control(daemon.control, timeout=1.0) as plain:
            with pytest.raises(TimeoutError):
                plain.stats()
        assert eventually(lambda: daemon.metric(refused) >= 2)
        assert control.stats().points_received == 2_000
