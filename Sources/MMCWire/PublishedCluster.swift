/// One cluster as published after a re-clustering: the daemon encodes the core's summary of
/// it (mass, centroid, box) under its stable id.
///
/// Cluster ids are non-negative `Int64`s, stable across updates while a cluster lives (the
/// lifecycle events say when they appear, vanish, merge or split); `-1` means noise wherever an
/// assignment is given. The initializer validates, so every value encodes and decodes back.
public struct PublishedCluster: Sendable, Hashable {
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
