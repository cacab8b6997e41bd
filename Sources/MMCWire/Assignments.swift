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
