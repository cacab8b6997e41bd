public import MassClustering

extension DaemonConfiguration.Clustering {
    /// The core's parameters for these settings: what the daemon re-clusters with, and what
    /// `mmc plot` uses to cluster a saved window the way the daemon would.
    ///
    /// `min_cluster_size = 0` leaves the size to be derived from the window at each
    /// re-clustering; `gap_factor = 0` and `valley_ratio = 0` turn those rules off.
    /// - Throws: `ParameterError` when the core refuses a value (validated configurations
    ///   never are).
    public func parameters() throws(ParameterError) -> ClusteringParameters {
        try ClusteringParameters(
            method: method, minSamples: minSamples,
            minClusterSize: minClusterSize == 0 ? nil : minClusterSize, graphNeighbours: graphNeighbours,
            allowSingleCluster: allowSingleCluster,
            outlierFactor: outlierFactor, gapFactor: gapFactor == 0 ? nil : gapFactor,
            valleyRatio: valleyRatio == 0 ? nil : valleyRatio)
    }

    /// The feature scaling for these settings, as the daemon re-clusters with it.
    /// - Throws: `ParameterError` when a fixed range is refused (validated configurations
    ///   never are).
    public func featureScaling() throws(ParameterError) -> FeatureScaling {
        try FeatureScaling(rule: scaling, ranges: scalingRanges)
    }
}
