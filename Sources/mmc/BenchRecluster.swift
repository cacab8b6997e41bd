import MassClustering

/// Section `recluster`: how long ``cluster(_:parameters:)`` takes on a window of points, with
/// each method at its default parameters, as the daemon runs it (features on the robust scale).
enum ReclusterBench {
    /// The timings of one method on one set of points.
    struct Result: Encodable {
        let source: String
        let points: Int
        let dimension: Int
        /// `mmc` or `dmc`.
        let method: String
        let minSamples: Int
        let minClusterSize: Int
        let graphNeighbours: Int
        let runs: Int
        /// The most threads a run used.
        let threads: Int
        /// CPU seconds per run, of every thread of the process.
        let cpuSeconds: Spread
        /// Wall seconds per run.
        let wallSeconds: Spread
        /// What the (deterministic) result was.
        let clusters: Int
        let noise: Int
    }

    /// Scales `points` once (``FeatureScaling/robust``), then clusters them `runs` times with each method.
    ///
    /// - Throws: ``ParameterError`` if the default parameters were invalid (they are not).
    static func run(points: BenchPoints, runs: Int, threads: Int) throws(ParameterError) -> [Result] {
        let scaled = FeatureScaling.robust.scaled(points.matrix)
        var results: [Result] = []
        for method in ClusteringMethod.allCases {
            let parameters = try ClusteringParameters(method: method)
            var clustering: Clustering?
            let durations = (0..<runs).map { _ in
                BenchClock.measureProcess { clustering = cluster(scaled, parameters: parameters, threads: threads) }
            }
            guard let clustering else { preconditionFailure("runs is at least 1") }
            results.append(Result(
                source: points.source, points: points.count, dimension: points.dimension,
                method: method.rawValue, minSamples: parameters.minSamples,
                minClusterSize: clustering.minClusterSize, graphNeighbours: parameters.graphNeighbours,
                runs: runs, threads: threads, cpuSeconds: Spread(durations.map(\.cpu)), wallSeconds: Spread(durations.map(\.wall)),
                clusters: clustering.clusters.count, noise: clustering.noiseCount))
        }
        return results
    }
}
