/// A cluster alive at one point of a ``DriftingStream``.
public struct DriftingComponent: Sendable, Hashable {
    /// The cluster's label (at least 1).
    public let label: Int
    /// The probability that the point comes from this cluster.
    public let probability: Double
    /// The cluster's centre at the point.
    public let centre: [Double]
    /// The standard deviation of its points around the centre, per coordinate.
    public let spread: Double
}
