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
