/// The message published after every re-clustering.
///
/// It carries the model version (incremented by each re-clustering), the window it was computed
/// on, one ``PublishedCluster`` per cluster, the lifecycle events since the previous update and,
/// optionally, the point assignments as a full snapshot or a diff. The initializer checks the
/// whole update for consistency, so a subscriber can trust every decoded value.
public struct ClusterUpdate: Sendable, Hashable {
    /// Incremented by every re-clustering.
    public let modelVersion: UInt64
    /// When the re-clustering ran, in seconds since the Unix epoch.
    public let time: Double
    /// Dimension of centroids and boxes.
    public let dimension: Int
    /// Points in the window the clustering was computed on.
    public let windowSize: Int
    /// Window points assigned to no cluster.
    public let noiseCount: Int
    /// The clusters, each id once.
    public let clusters: [PublishedCluster]
    /// Lifecycle events since the previous update.
    public let events: [ClusterEvent]
    /// Point assignments, when the publisher sends them.
    public let assignments: Assignments?

    /// Creates an update after checking it.
    ///
    /// - Throws: `WireError` with code `invalidDimension`, `nonFinite` (time),
    ///   `dimensionMismatch` (a cluster of another dimension), `invalidValue` (noise above the
    ///   window size, a duplicated cluster id, an assignment to a cluster not in `clusters`, a
    ///   diff whose base is not older than this update), `countMismatch` (a full snapshot whose
    ///   length differs from `windowSize`), or the codes of ``ClusterEvent``.
    /// - Complexity: O(clusters × dimension + events + assignments).
    public init(
        modelVersion: UInt64, time: Double, dimension: Int, windowSize: Int, noiseCount: Int,
        clusters: [PublishedCluster], events: [ClusterEvent], assignments: Assignments?
    ) throws(WireError) {
        guard dimension >= 1 else { throw WireError(.invalidDimension, "update: dimension must be at least 1, got \(dimension)") }
        guard time.isFinite else { throw WireError(.nonFinite, "update: field \"time\" is not finite") }
        guard windowSize >= 0, noiseCount >= 0 else { throw WireError(.outOfRange, "update: window size and noise count must not be negative") }
        guard noiseCount <= windowSize else {
            throw WireError(.invalidValue, "update: noise count \(noiseCount) exceeds the window size \(windowSize)")
        }
        var known = Set<Int64>(minimumCapacity: clusters.count)
        for cluster in clusters {
            guard cluster.centroid.count == dimension else {
                throw WireError(.dimensionMismatch, "cluster \(cluster.id): field \"centroid\": expected \(dimension) values, got \(cluster.centroid.count)")
            }
            guard known.insert(cluster.id).inserted else {
                throw WireError(.invalidValue, "update: cluster id \(cluster.id) appears twice")
            }
        }
        for (index, event) in events.enumerated() { try event.validate(index: index) }
        if let assignments {
            switch assignments.mode {
            case .full:
                guard assignments.ids.count == windowSize else {
                    throw WireError(.countMismatch, "assignments: a full snapshot lists \(assignments.ids.count) points, the window holds \(windowSize)")
                }
            case .diff(let baseVersion):
                guard baseVersion < modelVersion else {
                    throw WireError(.invalidValue, "assignments: base version \(baseVersion) is not older than model version \(modelVersion)")
                }
            }
            if let index = assignments.clusters.firstIndex(where: { $0 != -1 && !known.contains($0) }) {
                throw WireError(.invalidValue, "assignments: clusters[\(index)] = \(assignments.clusters[index]) is not a cluster of this update")
            }
        }
        self.modelVersion = modelVersion
        self.time = time
        self.dimension = dimension
        self.windowSize = windowSize
        self.noiseCount = noiseCount
        self.clusters = clusters
        self.events = events
        self.assignments = assignments
    }
}
