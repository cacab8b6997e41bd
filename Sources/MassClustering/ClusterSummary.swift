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
    /// connected component of the neighbour graph. For seeds merged on a ramp, the earliest.
    public let birthLambda: Double
    /// The largest lambda any of its points reaches before leaving it (over merged seeds).
    public let peakLambda: Double
}

extension ClusterSummary {
    /// Mass, centroid and bounding box of every label's points, label `i` with the lambdas
    /// `lambdas[i]`: the one computation behind every ``Clustering``'s summaries.
    ///
    /// - Parameters:
    ///   - points: the points, in the units the summaries are to be in.
    ///   - labels: per point, its label in `0..<lambdas.count`, or -1 for noise.
    /// - Complexity: O(n * d).
    static func summaries(
        of points: PointMatrix, labels: [Int32], lambdas: [(birth: Double, peak: Double)]
    ) -> [ClusterSummary] {
        precondition(labels.count == points.count, "ClusterSummary.summaries: one label per point")
        let d = points.dimension
        var mass = [Int](repeating: 0, count: lambdas.count)
        var sum = [Double](repeating: 0, count: lambdas.count * d)
        var lower = [Double](repeating: .infinity, count: lambdas.count * d)
        var upper = [Double](repeating: -.infinity, count: lambdas.count * d)
        for point in 0..<points.count where labels[point] >= 0 {
            let label = Int(labels[point])
            mass[label] += 1
            for column in 0..<d {
                let value = points.values[point * d + column]
                sum[label * d + column] += value
                lower[label * d + column] = min(lower[label * d + column], value)
                upper[label * d + column] = max(upper[label * d + column], value)
            }
        }
        return lambdas.enumerated().map { label, lambda in
            let columns = label * d..<(label + 1) * d
            return ClusterSummary(
                label: Int32(label), mass: mass[label], centroid: sum[columns].map { $0 / Double(mass[label]) },
                lowerBound: Array(lower[columns]), upperBound: Array(upper[columns]),
                birthLambda: lambda.birth, peakLambda: lambda.peak)
        }
    }
}
