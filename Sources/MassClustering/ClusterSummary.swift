/// One selected cluster of a ``Clustering``.
public struct ClusterSummary: Sendable, Equatable {
    /// The label its points carry in ``Clustering/labels``.
    public let label: Int32
    /// Its number of points.
    public let mass: Int
    /// The mean of its points.
    public let centroid: [Double]
    /// The per-feature minimum over its points.
    public let lowerBound: [Double]
    /// The per-feature maximum over its points.
    public let upperBound: [Double]
    /// The lambda (1 / mutual-reachability distance) at which it appeared; 0 for a whole
    /// connected component of the neighbour graph.
    public let birthLambda: Double
    /// The largest lambda any of its points reaches before leaving it.
    public let peakLambda: Double
}
