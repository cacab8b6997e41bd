/// Points of a ``DriftingStream`` in flat storage.
public struct DriftingBatch: Sendable, Hashable {
    /// Coordinates per point.
    public let dimension: Int
    /// Coordinates, row-major: point `i` is `values[i * dimension ..< (i + 1) * dimension]`.
    public let values: [Double]
    /// The label of each point: 0 for noise, else the label of its cluster.
    public let labels: [Int]
}
