public import Prometheus

/// The metrics the daemon updates, registered on a `PrometheusCollectorRegistry`.
///
/// All names carry the `mmcd_` prefix. Labelled families (`reason`, `kind`, `result`) hand out
/// one counter per label value; the registry returns the same counter for the same value, so
/// callers may ask each time or keep the counter.
///
/// ```swift
/// let metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
/// metrics.pointsReceived.increment(by: Int64(batch.count))
/// metrics.messagesRejected(reason: "dimension_mismatch").increment()
/// metrics.reclusterDuration.record(.milliseconds(120))
/// ```
public struct DaemonMetrics: Sendable {
    /// The registry every metric is registered on; ``MetricsServer`` renders it.
    public let registry: PrometheusCollectorRegistry
    /// `mmcd_points_received_total`: points in messages that arrived (before decoding checks).
    public let pointsReceived: Counter
    /// `mmcd_points_decoded_total`: points that decoded and were handed to the model.
    public let pointsDecoded: Counter
    /// `mmcd_window_points`: points in the window.
    public let windowPoints: Gauge
    /// `mmcd_clusters`: clusters in the latest clustering.
    public let clusters: Gauge
    /// `mmcd_noise_fraction`: fraction of window points that were noise in the latest clustering.
    public let noiseFraction: Gauge
    /// `mmcd_recluster_duration_seconds`: how long re-clusterings took.
    public let reclusterDuration: DurationHistogram
    /// `mmcd_batch_ingest_duration_seconds`: per batch, from leaving the input queue to being in
    /// the window, waiting for the model owner included: what a re-clustering or anything else
    /// on the owner adds to ingestion shows here.
    public let batchIngestDuration: DurationHistogram
    /// `mmcd_recluster_abandoned_total`: re-clusterings abandoned past the time budget.
    public let reclusterAbandoned: Counter
    /// `mmcd_points_rejected_total`: points in rejected messages, as far as their payloads
    /// declare them (a payload too malformed to tell counts 0; `mmcd_messages_rejected_total`
    /// counts every message).
    public let pointsRejected: Counter
    /// `mmcd_live_clients`: live pages connected to `/live/events`.
    public let liveClients: Gauge

    /// Bucket bounds of ``reclusterDuration``: 10 ms to 2 minutes.
    public static let reclusterDurationBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30),
        .seconds(60), .seconds(120),
    ]

    /// Bucket bounds of ``batchIngestDuration``: 0.5 ms to 1 second.
    public static let batchIngestDurationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    /// Registers every metric on `registry`. The series of losses and refusals whose labels are
    /// known start at 0, so that a rate of them, or an alert on one, has a value before the first
    /// loss (an absent series reads as "no data", not as 0).
    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        pointsReceived = registry.makeCounter(
            descriptor: Self.descriptor("points_received", "total", "Points in received messages."))
        pointsDecoded = registry.makeCounter(
            descriptor: Self.descriptor("points_decoded", "total", "Points decoded and handed to the model."))
        windowPoints = registry.makeGauge(descriptor: Self.descriptor("window", "points", "Points in the window."))
        clusters = registry.makeGauge(
            descriptor: Self.descriptor("clusters", "", "Clusters in the latest clustering."))
        noiseFraction = registry.makeGauge(
            descriptor: Self.descriptor(
                "noise_fraction", "", "Fraction of window points that were noise in the latest clustering."))
        reclusterDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor("recluster_duration", "seconds", "Duration of completed re-clusterings."),
            labels: [], buckets: Self.reclusterDurationBuckets)
        batchIngestDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                "batch_ingest_duration", "seconds", "Time from a batch leaving the input queue to being in the window."),
            labels: [], buckets: Self.batchIngestDurationBuckets)
        reclusterAbandoned = registry.makeCounter(
            descriptor: Self.descriptor(
                "recluster_abandoned", "total", "Re-clusterings abandoned because they exceeded the time budget."))
        pointsRejected = registry.makeCounter(
            descriptor: Self.descriptor("points_rejected", "total", "Points in rejected messages, as declared."))
        liveClients = registry.makeGauge(
            descriptor: Self.descriptor("live_clients", "", "Live pages connected to the event stream."))
        for result in SnapshotWriteResult.allCases { _ = snapshotWrites(result: result) }
        for reason in ["queue_full", "too_old"] { _ = pointsDropped(reason: reason) }
        _ = messagesDropped(reason: "queue_full")
        _ = (pointsFutureTimestamp, pointsOutOfOrder, controlRepliesDropped, authAccepted)
    }

    /// `mmcd_messages_rejected_total{reason}`: messages refused whole, by reason (a wire error
    /// code such as `dimension_mismatch`, or `topic` for an unexpected topic).
    public func messagesRejected(reason: String) -> Counter {
        labelledCounter("messages_rejected", "Messages rejected, by reason.", ("reason", reason))
    }

    /// `mmcd_points_dropped_total{reason}`: points that did not reach the window, by reason:
    /// `queue_full` (in messages the input dropped unread, as their payloads declare them) or
    /// `too_old` (behind the window's time horizon).
    public func pointsDropped(reason: String) -> Counter {
        labelledCounter("points_dropped", "Points that did not reach the window, by reason.", ("reason", reason))
    }

    /// `mmcd_messages_dropped_total{reason}`: messages the input dropped unread (`queue_full`).
    public func messagesDropped(reason: String) -> Counter {
        labelledCounter("messages_dropped", "Messages dropped unread, by reason.", ("reason", reason))
    }

    /// `mmcd_updates_published_total{kind}`: messages published, by kind (`full`, `diff`,
    /// `provisional`, `snapshot`).
    public func updatesPublished(kind: String) -> Counter {
        labelledCounter("updates_published", "Cluster updates published, by kind.", ("kind", kind))
    }

    /// `mmcd_zmq_peers{socket}`: TCP and IPC connections a ZeroMQ socket (`input`, `output`,
    /// `control`) holds now.
    public func zmqPeers(socket: String) -> Gauge {
        registry.makeGauge(
            descriptor: Self.descriptor("zmq_peers", "", "Connections a ZeroMQ socket holds, by socket."),
            labels: [("socket", socket)])
    }

    /// `mmcd_zmq_peers_refused_total{socket,reason}`: connections closed on arrival, by the
    /// limit they met: `reason` is `max_peers` (the socket held `security.max_peers`) or
    /// `max_peers_per_address` (their address held `security.max_peers_per_address`).
    public func zmqPeersRefused(socket: String, reason: String) -> Counter {
        labelledCounter(
            "zmq_peers_refused", "Connections closed on arrival at a connection limit, by socket and reason.",
            ("socket", socket), ("reason", reason))
    }

    /// `mmcd_snapshot_writes_total{result}`: state snapshots written or failed.
    public func snapshotWrites(result: SnapshotWriteResult) -> Counter {
        labelledCounter("snapshot_writes", "State snapshot writes, by result.", ("result", result.rawValue))
    }

    /// The `mmcd_<name>_total` counter of one set of label values (the help text must be the
    /// same for every value: the registry enforces it).
    private func labelledCounter(_ name: String, _ help: String, _ labels: (String, String)...) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(name, "total", help), labels: labels)
    }

    private static func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mmcd", metricName: name, unitName: unit, helpText: help)
    }
}
