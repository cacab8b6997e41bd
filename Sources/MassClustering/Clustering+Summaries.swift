extension Clustering {
    /// This clustering with only the clusters `kept` marks, relabelled `0..<k` in label order;
    /// the points of the others become noise. A kept cluster's summary changes only its label.
    ///
    /// - Parameter kept: one flag per cluster, indexed by label.
    /// - Complexity: O(n + k) for n points and k clusters.
    public func keepingClusters(_ kept: [Bool]) -> Clustering {
        precondition(kept.count == clusters.count, "keepingClusters: one flag per cluster")
        var newLabel = [Int32](repeating: -1, count: kept.count)
        var summaries: [ClusterSummary] = []
        for cluster in clusters where kept[Int(cluster.label)] {
            newLabel[Int(cluster.label)] = Int32(summaries.count)
            summaries.append(
                ClusterSummary(
                    label: Int32(summaries.count), mass: cluster.mass, centroid: cluster.centroid,
                    lowerBound: cluster.lowerBound, upperBound: cluster.upperBound,
                    birthLambda: cluster.birthLambda, peakLambda: cluster.peakLambda))
        }
        return Clustering(
            labels: labels.map { $0 >= 0 ? newLabel[Int($0)] : -1 }, clusters: summaries,
            minClusterSize: minClusterSize)
    }

    /// This clustering with its summaries computed over `points`: the same points in other
    /// units, usually the input's before ``FeatureScaling`` (the clusterer sees them scaled,
    /// a report or an update speaks the input's units).
    ///
    /// - Complexity: O(n * d).
    public func summarised(over points: PointMatrix) -> Clustering {
        Clustering(
            labels: labels,
            clusters: ClusterSummary.summaries(
                of: points, labels: labels, lambdas: clusters.map { ($0.birthLambda, $0.peakLambda) }),
            minClusterSize: minClusterSize)
    }
}
