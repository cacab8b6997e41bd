import Foundation
@testable import MassClustering
import MMCDevTools
import MMCTestSupport
import Testing

/// The local-dimension estimate the valley test reads (docs/algorithm.md, section 2, item 5).
@Suite("Local dimension of the neighbourhoods", .tags(.unit))
struct IntrinsicDimensionTests {
    /// `count` points from `point`, fed uniform numbers in [0, 1).
    static func sample(count: Int, seed: UInt64, _ point: (inout SeededGenerator) -> [Double]) -> PointMatrix {
        var generator = SeededGenerator(seed: seed)
        return PointMatrix(rows: (0..<count).map { _ in point(&generator) })
    }

    /// `1 / mean` of the forest's statistic over all points.
    static func pooled(_ points: PointMatrix) -> Double {
        let statistic = SpanningForest(points: points, minSamples: 15, graphNeighbours: 15).inverseLocalDimensions
        let finite = statistic.filter(\.isFinite)
        return Double(finite.count) / finite.reduce(0, +)
    }

    @Test("the statistic is the mean log-ratio to the farthest neighbour, zeros skipped")
    func directStatistic() {
        let rows: [[Double]] = [[1, 2, 4, 8], [0, 0, 1, 3], [0, 0, 0, 5], [0, 1, 2, 4]]
        let width = 4
        let table = NeighbourTable(
            pointCount: rows.count, neighbourCount: width, indices: [Int32](repeating: 0, count: rows.count * width),
            distances: rows.flatMap { $0 })
        let statistic = inverseLocalDimensions(table, columns: width)
        // Row 0: log 8 + log 4 + log 2 over its 3 log-ratios.
        #expect(abs(statistic[0] - (log(8.0) + log(4.0) + log(2.0)) / 3) < 1e-12)
        // Rows 1 and 2: two positive distances, then one; no estimate.
        #expect(statistic[1].isNaN && statistic[2].isNaN)
        // Row 3: the zero is skipped, log 4 + log 2 over 2 log-ratios.
        #expect(abs(statistic[3] - (log(4.0) + log(2.0)) / 2) < 1e-12)
        // Fewer than three columns: no estimate anywhere.
        #expect(inverseLocalDimensions(table, columns: 2).allSatisfy { $0.isNaN })
        let skipped = NeighbourTable(
            pointCount: 1, neighbourCount: 5, indices: [0, 0, 0, 0, 0], distances: [0, 1, 2, 4, 8])
        #expect(abs(inverseLocalDimensions(skipped, columns: 5)[0] - statistic[0]) < 1e-12)
    }

    @Test("about 1 on a thin curve, 2 on a square, 3 on a cube, 2 on a plane in three features")
    func pooledDimensions() {
        let curve = Self.sample(count: 3_000, seed: 1) { generator in
            let t = generator.nextDouble()
            return [t, 0.3 * sin(6 * t)]
        }
        let square = Self.sample(count: 5_000, seed: 2) { [$0.nextDouble(), $0.nextDouble()] }
        let cube = Self.sample(count: 5_000, seed: 3) { [$0.nextDouble(), $0.nextDouble(), $0.nextDouble()] }
        let plane = Self.sample(count: 5_000, seed: 4) { generator in
            let u = generator.nextDouble(), v = generator.nextDouble()
            return [u, v, 0.5 * u + 0.25 * v]
        }
        let curveDimension = Self.pooled(curve), squareDimension = Self.pooled(square)
        let cubeDimension = Self.pooled(cube), planeDimension = Self.pooled(plane)
        #expect(curveDimension > 0.85 && curveDimension < 1.15, "curve: \(curveDimension)")
        #expect(squareDimension > 1.85 && squareDimension < 2.15, "square: \(squareDimension)")
        #expect(cubeDimension > 2.6 && cubeDimension < 3.2, "cube: \(cubeDimension)")
        #expect(planeDimension > 1.85 && planeDimension < 2.15, "plane: \(planeDimension)")
    }

    @Test("a path thinner than the neighbourhoods is a curve; as thick, it fills the plane")
    func pathThickness() {
        func path(noise: Double) -> PointMatrix {
            Self.sample(count: 2_000, seed: 5) { generator in
                let t = generator.nextDouble()
                let u = generator.nextDouble(), v = generator.nextDouble()
                // Box-Muller: a normal offset across the path.
                let offset = noise * (-2 * log(max(u, 1e-300))).squareRoot() * cos(2 * Double.pi * v)
                return [t, 0.3 * sin(6 * t) + offset]
            }
        }
        let thin = Self.pooled(path(noise: 0.0002)), thick = Self.pooled(path(noise: 0.005))
        #expect(thin < 1.3, "thin: \(thin)")
        #expect(thick > 1.7, "thick: \(thick)")
    }

    @Test("split dimensions pool the children's points and stay within [1, d]")
    func splitLocalDimensions() throws {
        let blobs = PipelineFixtures.blobs(
            centres: [[0.2, 0.2], [0.7, 0.5]], spreads: [0.05, 0.06], sizes: [300, 300], seed: 1).0
        let forest = SpanningForest(points: blobs, minSamples: 15, graphNeighbours: 15)
        let tree = ClusterHierarchy(forest: forest, minClusterSize: 6)
        let statistic = forest.inverseLocalDimensions
        let dimensions = tree.splitLocalDimensions(inverseLocalDimensions: statistic, dimension: 2)
        #expect(dimensions.count == tree.clusters.count)
        #expect(dimensions.allSatisfy { $0 >= 1 && $0 <= 2 })
        let split = try #require(tree.clusters.indices.first { !tree.clusters[$0].children.isEmpty })
        let members = tree.clusters[split].children.flatMap { Array(tree.clusters[$0].members) }
        let values = members.map { statistic[Int(tree.pointOrder[$0])] }.filter(\.isFinite)
        let direct = min(2, max(1, Double(values.count) / values.reduce(0, +)))
        #expect(abs(dimensions[split] - direct) < 1e-9)
        // A leaf has no split: the feature count.
        for cluster in tree.clusters.indices where tree.clusters[cluster].children.isEmpty {
            #expect(dimensions[cluster] == 2)
        }
        // Ceiling 1: every split is judged as on a curve.
        #expect(tree.splitLocalDimensions(inverseLocalDimensions: statistic, dimension: 1).allSatisfy { $0 == 1 })
    }
}
