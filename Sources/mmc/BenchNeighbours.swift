import MassClustering

/// Section `neighbours`: the exact (``KDTree``) and approximate (``NeighbourDescent``) neighbour
/// tables of a window of points on the robust scale, as a re-clustering builds them: time of
/// each, and the approximate table's recall.
enum NeighbourBench {
    /// The two searches on one set of points.
    struct Result: Encodable {
        let source: String
        let points: Int
        let dimension: Int
        /// Neighbours per point.
        let k: Int
        let runs: Int
        /// The most threads a run used.
        let threads: Int
        /// CPU seconds per exact table, of every thread of the process.
        let exactCPUSeconds: Spread
        let exactWallSeconds: Spread
        /// CPU seconds per approximate table.
        let approximateCPUSeconds: Spread
        let approximateWallSeconds: Spread
        /// The fraction of the exact table's neighbours that the approximate table lists.
        let recall: Double
        /// Whether ``NeighbourSearch/automatic`` takes the approximate table for this window.
        let automaticIsApproximate: Bool
    }

    /// Scales `points` once (``FeatureScaling/robust``), then builds each table `runs` times.
    static func run(points: BenchPoints, k: Int, runs: Int, threads: Int) -> Result {
        let scaled = FeatureScaling.robust.scaled(points.matrix)
        var exact: NeighbourTable?
        var approximate: NeighbourTable?
        let exactRuns = (0..<runs).map { _ in
            BenchClock.measureProcess {
                exact = KDTree(scaled, threads: threads).nearestNeighbours(k: k, threads: threads)
            }
        }
        let approximateRuns = (0..<runs).map { _ in
            BenchClock.measureProcess { approximate = NeighbourDescent().neighbours(of: scaled, k: k, threads: threads) }
        }
        guard let exact, let approximate else { preconditionFailure("runs is at least 1") }
        return Result(
            source: points.source, points: points.count, dimension: points.dimension, k: exact.neighbourCount,
            runs: runs, threads: threads, exactCPUSeconds: Spread(exactRuns.map(\.cpu)),
            exactWallSeconds: Spread(exactRuns.map(\.wall)), approximateCPUSeconds: Spread(approximateRuns.map(\.cpu)),
            approximateWallSeconds: Spread(approximateRuns.map(\.wall)), recall: recall(of: approximate, against: exact),
            automaticIsApproximate: NeighbourSearch.automatic.isApproximate(count: points.count, dimension: points.dimension))
    }

    /// The fraction of `exact`'s (row, neighbour) pairs that `approximate` lists too.
    static func recall(of approximate: NeighbourTable, against exact: NeighbourTable) -> Double {
        let k = exact.neighbourCount
        guard k > 0 else { return 1 }
        var found = 0
        for row in 0..<exact.pointCount {
            let listed = Set(approximate.indices[row * k..<row * k + k])
            found += exact.indices[row * k..<row * k + k].filter { listed.contains($0) }.count
        }
        return Double(found) / Double(exact.pointCount * k)
    }
}
