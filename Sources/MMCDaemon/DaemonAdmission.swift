internal import FoundationEssentials
internal import Logging
internal import MMCConfiguration
internal import MMCWire
internal import Prometheus
internal import Synchronization
internal import ZeroMQ

/// The input policy beyond what the decoder checks: message size and timestamps.
///
/// - **Size**: a message whose frames add up to more than `input.max_message_bytes` is
///   rejected whole (`message_too_large`) before it is decoded. libzmq receives single frames
///   up to twice that size (``hardFrameLimit(maxMessageBytes:)``, `ZMQ_MAXMSGSIZE`) so that
///   these are seen and counted; a frame above the hard limit makes libzmq close the sender's
///   connection without reading it, which is the one refusal the daemon cannot count.
/// - **Future timestamps**: a point stamped more than `input.max_future_seconds` after the
///   daemon's clock is rejected on its own (`mmcd_points_future_timestamp_total`)
///   and the rest of its message is taken. A point within that bound is taken, but moves a
///   time window's clock no further than the daemon's clock (``DaemonModel`` sets the limit,
///   ``SlidingWindow/limitClock(to:)``), so no point, however stamped, expires the window.
/// - **Out of order**: a point older than the newest timestamp received before it (that newest
///   capped by the daemon's clock, like the window's) is accepted in arrival order and counted
///   (`mmcd_points_out_of_order_total`). A count window does not look at timestamps; a time
///   window rejects it only if it is already older than the horizon
///   (`mmcd_points_dropped_total{reason="too_old"}`).
///
/// Thread-safe; the ingest service calls it from one task.
final class DaemonAdmission: Sendable {
    private let maxMessageBytes: Int
    private let maxFutureSeconds: Double
    private let context: DaemonContext
    /// The newest timestamp accepted so far.
    private let newest = Mutex<Double>(-.infinity)

    /// A policy from `[input]`, counting into `context`.
    init(configuration: DaemonConfiguration.Input, context: DaemonContext) {
        maxMessageBytes = configuration.maxMessageBytes
        maxFutureSeconds = configuration.maxFutureSeconds
        self.context = context
    }

    /// The `ZMQ_MAXMSGSIZE` of the input socket: twice the configured message limit.
    static func hardFrameLimit(maxMessageBytes: Int) -> Int {
        maxMessageBytes.multipliedReportingOverflow(by: 2).overflow ? Int.max : maxMessageBytes * 2
    }

    /// Why `message` is refused before decoding, `nil` when its size is within the limit.
    func sizeRefusal(_ message: ZMQMessage) -> WireError? {
        let size = message.frames.reduce(0) { $0 + $1.count }
        guard size > maxMessageBytes else { return nil }
        return WireError(.limitExceeded, "message of \(size) bytes exceeds input.max_message_bytes = \(maxMessageBytes)")
    }

    /// The points of `batch` the policy accepts, `nil` when none is left; counts what it refuses
    /// and the out-of-order points it accepts.
    ///
    /// - Complexity: O(n) in the batch's points; a new batch is built only when a point is
    ///   refused.
    func admit(_ batch: PointBatch, now: Double = Date().timeIntervalSince1970) -> PointBatch? {
        let clock = maxFutureSeconds > 0 ? now : .infinity
        let latest = clock + maxFutureSeconds
        var outOfOrder = 0
        var refused = 0
        newest.withLock { newest in
            for timestamp in batch.timestamps {
                if timestamp > latest {
                    refused += 1
                } else if timestamp < newest {
                    outOfOrder += 1
                } else {
                    newest = min(timestamp, clock)
                }
            }
        }
        if outOfOrder > 0 { context.metrics.pointsOutOfOrder.increment(by: Int64(outOfOrder)) }
        guard refused > 0 else { return batch }
        context.metrics.pointsFutureTimestamp.increment(by: Int64(refused))
        context.metrics.pointsRejected.increment(by: Int64(refused))
        context.counters.pointsRejected.add(UInt64(refused), ordering: .relaxed)
        context.rejects.log(
            .warning, key: "future_timestamp", "rejected points stamped in the future",
            metadata: ["points": "\(refused)", "max.future.seconds": "\(maxFutureSeconds)"])
        let keep = batch.timestamps.indices.filter { batch.timestamps[$0] <= latest }
        guard !keep.isEmpty else { return nil }
        let dimension = batch.dimension
        var values: [Double] = []
        values.reserveCapacity(keep.count * dimension)
        for index in keep { values += batch.values[index * dimension..<(index + 1) * dimension] }
        // The kept points passed the decoder's checks already, so the batch is valid.
        return try? PointBatch(
            dimension: dimension, ids: keep.map { batch.ids[$0] }, timestamps: keep.map { batch.timestamps[$0] },
            values: values)
    }
}

/// How the input socket notices producers that are gone: TCP keepalive, probing after 30 s of
/// silence, every 10 s, closing after 3 unanswered probes (about a minute).
///
/// Not ZMTP heartbeats: libzmq stops reading a connection whose receive queue is full (a `PULL`
/// input whose model is behind, by design), so the answer to a heartbeat stays unread and the
/// heartbeat timeout closes a live connection. A probe showed what that costs: a `PULL` socket
/// with a 3 s heartbeat timeout, its reader stalled for 10 s, lost 206 of 3,000 messages and
/// got 9 out of order (the producer reconnected and the two connections interleaved); with
/// keepalive instead it got all 3,000 in order. The kernel answers keepalive probes whether or
/// not libzmq reads.
enum DaemonInputKeepalive {
    static let options: [ZMQSocketOption] = [
        .tcpKeepalive(true), .tcpKeepaliveIdle(seconds: 30), .tcpKeepaliveInterval(seconds: 10), .tcpKeepaliveCount(3),
    ]
}
