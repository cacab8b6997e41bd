/// The answer to a classify request: one cluster id and confidence per query point.
public struct Classification: Sendable, Hashable {
    /// The model the points were matched against.
    public let modelVersion: UInt64
    /// Cluster id per point (`-1` = noise).
    public let clusters: [Int64]
    /// Confidence per point, 0...1.
    public let confidence: [Double]

    /// Creates a classification after checking it.
    ///
    /// - Throws: `WireError` with code `countMismatch` or `outOfRange`.
    public init(modelVersion: UInt64, clusters: [Int64], confidence: [Double]) throws(WireError) {
        try checkAssignmentColumns(ids: clusters.count, clusters: clusters, context: "classification")
        try checkConfidences(confidence, count: clusters.count, context: "classification")
        self.modelVersion = modelVersion
        self.clusters = clusters
        self.confidence = confidence
    }
}
