/// Counters a daemon reports in a `stats` reply.
public struct DaemonStats: Sendable, Hashable {
    /// Version of the current model (0 before the first re-clustering).
    public let modelVersion: UInt64
    /// Dimension of the points (0 while not yet known).
    public let dimension: Int
    /// Points currently in the window.
    public let windowSize: Int
    /// Most points the window holds.
    public let windowCapacity: Int
    /// Clusters of the current model.
    public let clusterCount: Int
    /// Window points assigned to no cluster.
    public let noiseCount: Int
    /// Points accepted since start.
    public let pointsReceived: UInt64
    /// Points in payloads refused as malformed since start.
    public let pointsRejected: UInt64
    /// Points lost since start (full queues), as far as the daemon can count them.
    public let pointsDropped: UInt64
    /// Re-clusterings since start.
    public let reclusterCount: UInt64
    /// Duration of the last re-clustering in seconds.
    public let lastReclusterSeconds: Double
    /// Seconds since the daemon started.
    public let uptimeSeconds: Double

    /// Creates stats after checking them.
    ///
    /// - Throws: `WireError` with code `outOfRange` for a negative count or duration, or
    ///   `nonFinite` for a duration that is NaN or infinite.
    public init(
        modelVersion: UInt64, dimension: Int, windowSize: Int, windowCapacity: Int, clusterCount: Int, noiseCount: Int,
        pointsReceived: UInt64, pointsRejected: UInt64, pointsDropped: UInt64, reclusterCount: UInt64,
        lastReclusterSeconds: Double, uptimeSeconds: Double
    ) throws(WireError) {
        guard min(dimension, windowSize, windowCapacity, clusterCount, noiseCount) >= 0 else {
            throw WireError(.outOfRange, "stats: counts must not be negative")
        }
        for (name, value) in [("last_recluster_seconds", lastReclusterSeconds), ("uptime_seconds", uptimeSeconds)] {
            guard value.isFinite else { throw WireError(.nonFinite, "stats: field \"\(name)\" is not finite") }
            guard value >= 0 else { throw WireError(.outOfRange, "stats: field \"\(name)\" is negative") }
        }
        self.modelVersion = modelVersion
        self.dimension = dimension
        self.windowSize = windowSize
        self.windowCapacity = windowCapacity
        self.clusterCount = clusterCount
        self.noiseCount = noiseCount
        self.pointsReceived = pointsReceived
        self.pointsRejected = pointsRejected
        self.pointsDropped = pointsDropped
        self.reclusterCount = reclusterCount
        self.lastReclusterSeconds = lastReclusterSeconds
        self.uptimeSeconds = uptimeSeconds
    }

    /// JSON field names, in the order of the stored properties.
    static let names: [StaticString] = [
        "model_version", "dim", "window_size", "window_capacity", "clusters", "noise",
        "points_received", "points_rejected", "points_dropped", "recluster_count",
        "last_recluster_seconds", "uptime_seconds",
    ]

    /// The integer fields in the order of ``names`` (the last two are the durations).
    var integers: [UInt64] {
        [modelVersion, UInt64(dimension), UInt64(windowSize), UInt64(windowCapacity), UInt64(clusterCount),
         UInt64(noiseCount), pointsReceived, pointsRejected, pointsDropped, reclusterCount]
    }
}
