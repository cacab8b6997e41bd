/// One cluster as published after a re-clustering.
///
/// Cluster ids are non-negative `Int64`s, stable across updates while a cluster lives (the
/// lifecycle events say when they appear, vanish, merge or split); `-1` means noise wherever an
/// assignment is given. The initializer validates, so every value encodes and decodes back.
public struct ClusterSummary: Sendable, Hashable {
    /// The cluster id (>= 0).
    public let id: Int64
    /// The number of window points assigned to the cluster.
    public let mass: Int
    /// The mean of the cluster's points.
    public let centroid: [Double]
    /// The smallest coordinate of the cluster's points in every dimension.
    public let minimum: [Double]
    /// The largest coordinate of the cluster's points in every dimension.
    public let maximum: [Double]

    /// Creates a summary after checking it.
    ///
    /// - Throws: `WireError` with code `outOfRange` (negative id or mass), `invalidDimension`
    ///   (empty centroid), `dimensionMismatch` (box and centroid lengths differ), `nonFinite`,
    ///   or `invalidValue` (a minimum above its maximum).
    public init(id: Int64, mass: Int, centroid: [Double], minimum: [Double], maximum: [Double]) throws(WireError) {
        guard id >= 0 else { throw WireError(.outOfRange, "cluster \(id): cluster id is below 0") }
        guard mass >= 0 else { throw WireError(.outOfRange, "cluster \(id): mass \(mass) is below 0") }
        guard !centroid.isEmpty else { throw WireError(.invalidDimension, "cluster \(id): field \"centroid\" is empty") }
        for (name, vector) in [("centroid", centroid), ("min", minimum), ("max", maximum)] {
            guard vector.count == centroid.count else {
                throw WireError(.dimensionMismatch, "cluster \(id): field \"\(name)\": expected \(centroid.count) values, got \(vector.count)")
            }
            if let index = vector.firstIndex(where: { !$0.isFinite }) {
                throw WireError(.nonFinite, "cluster \(id): field \"\(name)\"[\(index)] is not finite")
            }
        }
        for index in centroid.indices where minimum[index] > maximum[index] {
            throw WireError(.invalidValue, "cluster \(id): min[\(index)] = \(minimum[index]) exceeds max[\(index)] = \(maximum[index])")
        }
        self.id = id
        self.mass = mass
        self.centroid = centroid
        self.minimum = minimum
        self.maximum = maximum
    }
}

/// A change in the set of clusters between two consecutive updates.
public enum ClusterEvent: Sendable, Hashable {
    /// A new cluster appeared.
    case birth(Int64)
    /// A cluster vanished (its points became noise or left the window).
    case death(Int64)
    /// Two or more clusters became one (`into` is usually one of `from`).
    case merge(from: [Int64], into: Int64)
    /// One cluster became two or more (`into` may contain `from`).
    case split(from: Int64, into: [Int64])

    /// Checks ids (>= 0) and list lengths (>= 2); `index` names the event in messages.
    func validate(index: Int) throws(WireError) {
        let ids: [Int64]
        switch self {
        case .birth(let id), .death(let id):
            ids = [id]
        case .merge(let from, let into):
            guard from.count >= 2 else { throw WireError(.invalidValue, "event \(index) (merge): \"from\" needs at least 2 ids, got \(from.count)") }
            ids = from + [into]
        case .split(let from, let into):
            guard into.count >= 2 else { throw WireError(.invalidValue, "event \(index) (split): \"into\" needs at least 2 ids, got \(into.count)") }
            ids = [from] + into
        }
        if let negative = ids.first(where: { $0 < 0 }) {
            throw WireError(.outOfRange, "event \(index): cluster id \(negative) is below 0")
        }
    }
}

/// Point-to-cluster assignments of a cluster update: the whole window, or what changed.
///
/// Both forms are parallel arrays: point `ids[i]` belongs to cluster `clusters[i]` (`-1` for
/// noise). A full snapshot lists every window point. A diff against the update with model
/// version `baseVersion` lists points whose cluster changed or that entered the window, and in
/// `removed` the ids that left the window.
public struct Assignments: Sendable, Hashable {
    /// Full snapshot or diff.
    public enum Mode: Sendable, Hashable {
        /// Every point of the window.
        case full
        /// Changes since the update with model version `baseVersion`.
        case diff(baseVersion: UInt64)
    }

    /// Full snapshot or diff.
    public let mode: Mode
    /// Point ids.
    public let ids: [UInt64]
    /// Cluster id of each point (`-1` = noise).
    public let clusters: [Int64]
    /// Ids that left the window since the base version (always empty in a full snapshot).
    public let removed: [UInt64]

    /// A full snapshot of the window.
    ///
    /// - Throws: `WireError` with code `countMismatch` or `outOfRange` (a cluster id below -1).
    public init(full ids: [UInt64], clusters: [Int64]) throws(WireError) {
        try self.init(mode: .full, ids: ids, clusters: clusters, removed: [])
    }

    /// A diff against the update with model version `baseVersion`.
    ///
    /// - Throws: `WireError` with code `countMismatch` or `outOfRange` (a cluster id below -1).
    public init(diffFrom baseVersion: UInt64, ids: [UInt64], clusters: [Int64], removed: [UInt64]) throws(WireError) {
        try self.init(mode: .diff(baseVersion: baseVersion), ids: ids, clusters: clusters, removed: removed)
    }

    private init(mode: Mode, ids: [UInt64], clusters: [Int64], removed: [UInt64]) throws(WireError) {
        try checkAssignmentColumns(ids: ids.count, clusters: clusters, context: "assignments")
        self.mode = mode
        self.ids = ids
        self.clusters = clusters
        self.removed = removed
    }
}

/// Checks that there is one cluster id per point and that none is below -1.
func checkAssignmentColumns(ids: Int, clusters: [Int64], context: String) throws(WireError) {
    guard clusters.count == ids else {
        throw WireError(.countMismatch, "\(context): \(ids) ids but \(clusters.count) cluster ids")
    }
    if let index = clusters.firstIndex(where: { $0 < -1 }) {
        throw WireError(.outOfRange, "\(context): clusters[\(index)] = \(clusters[index]) is below -1")
    }
}

/// Checks that there is one confidence per point and that each lies in 0...1.
func checkConfidences(_ confidence: [Double], count: Int, context: String) throws(WireError) {
    guard confidence.count == count else {
        throw WireError(.countMismatch, "\(context): \(count) cluster ids but \(confidence.count) confidences")
    }
    if let index = confidence.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
        throw WireError(.outOfRange, "\(context): confidence[\(index)] = \(confidence[index]) is outside 0...1")
    }
}

/// The message published after every re-clustering.
///
/// It carries the model version (incremented by each re-clustering), the window it was computed
/// on, one ``ClusterSummary`` per cluster, the lifecycle events since the previous update and,
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
    public let clusters: [ClusterSummary]
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
        clusters: [ClusterSummary], events: [ClusterEvent], assignments: Assignments?
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

/// Provisional assignments of freshly received points, published between re-clusterings.
///
/// Each point is matched against the current model without changing it: `clusters[i]` (`-1`
/// for noise) with `confidence[i]` in 0...1 for point `ids[i]`.
public struct ProvisionalAssignments: Sendable, Hashable {
    /// The model the points were matched against.
    public let modelVersion: UInt64
    /// Point ids.
    public let ids: [UInt64]
    /// Cluster id of each point (`-1` = noise).
    public let clusters: [Int64]
    /// Confidence of each assignment, 0...1.
    public let confidence: [Double]

    /// Creates provisional assignments after checking them.
    ///
    /// - Throws: `WireError` with code `countMismatch` or `outOfRange`.
    public init(modelVersion: UInt64, ids: [UInt64], clusters: [Int64], confidence: [Double]) throws(WireError) {
        try checkAssignmentColumns(ids: ids.count, clusters: clusters, context: "provisional")
        try checkConfidences(confidence, count: clusters.count, context: "provisional")
        self.modelVersion = modelVersion
        self.ids = ids
        self.clusters = clusters
        self.confidence = confidence
    }
}

/// A message on an updates topic: a cluster update or provisional assignments.
public enum UpdateMessage: Sendable, Hashable {
    /// `"kind":"clusters"`
    case clusters(ClusterUpdate)
    /// `"kind":"provisional"`
    case provisional(ProvisionalAssignments)
}
