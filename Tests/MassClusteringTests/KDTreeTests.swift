@testable import MassClustering
import MMCTestSupport
import Testing

@Suite("KDTree", .tags(.unit))
struct KDTreeTests {
    typealias Fixtures = PipelineFixtures

    /// Uniform points on a coarse grid (many equal distances) with a block of exact duplicates.
    static func tiedPoints(count: Int, dimension: Int, seed: UInt64) -> PointMatrix {
        var generator = SeededGenerator(seed: seed)
        var values = (0..<count * dimension).map { _ in (generator.nextDouble() * 6).rounded(.down) / 6 }
        for point in 1..<count / 5 {
            for column in 0..<dimension {
                values[point * dimension + column] = values[column]
            }
        }
        return PointMatrix(count: count, dimension: dimension, values: values)
    }

    @Test("k nearest neighbours equal brute force, ties included, with boxes and with balls", arguments: 1...8)
    func matchesBruteForce(dimension: Int) {
        for points in [
            Fixtures.uniform(count: 400, dimension: dimension, seed: UInt64(dimension)),
            Self.tiedPoints(count: 400, dimension: dimension, seed: UInt64(100 + dimension)),
        ] {
            let oracle = Fixtures.bruteForceNeighbours(points, k: 20)
            for bounds in [KDTree.Bounds.box, .ball] {
                for (k, leafSize) in [(1, 16), (7, 16), (20, 3), (20, 40)] {
                    let tree = KDTree(points, leafSize: leafSize, bounds: bounds).nearestNeighbours(k: k)
                    // Rows for a smaller k are prefixes of the rows for k = 20.
                    let prefix = (0..<points.count).flatMap { $0 * 20..<$0 * 20 + k }
                    #expect(tree.indices == prefix.map { oracle.indices[$0] }, "\(bounds), k \(k)")
                    #expect(tree.distances == prefix.map { oracle.distances[$0] }, "\(bounds), k \(k)")
                }
            }
        }
    }

    /// Gaussian clusters in `dimension` features, some points repeated exactly.
    static func clusters(count: Int, dimension: Int, seed: UInt64) -> PointMatrix {
        var generator = SeededGenerator(seed: seed)
        let centres = (0..<5 * dimension).map { _ in generator.nextDouble() * 10 }
        var values = [Double]()
        for point in 0..<count {
            let centre = point % 5
            for column in 0..<dimension {
                let noise = (generator.nextDouble() + generator.nextDouble() + generator.nextDouble() - 1.5)
                values.append(centres[centre * dimension + column] + noise)
            }
        }
        for point in stride(from: 7, to: count, by: 50) {
            for column in 0..<dimension {
                values[point * dimension + column] = values[(point - 7) * dimension + column]
            }
        }
        return PointMatrix(count: count, dimension: dimension, values: values)
    }

    @Test("many dimensions: balls prune clusters and stay exact", arguments: [17, 33, 64, 130])
    func highDimension(dimension: Int) {
        let points = Self.clusters(count: 400, dimension: dimension, seed: UInt64(dimension))
        let tree = KDTree(points)
        #expect(tree.bounds == .ball)
        #expect(tree.nearestNeighbours(k: 15) == Fixtures.bruteForceNeighbours(points, k: 15))
        #expect(KDTree(points, leafSize: 8, bounds: .box).nearestNeighbours(k: 15) == tree.nearestNeighbours(k: 15))
    }

    @Test("the table is the same on any number of threads, building and querying", arguments: [2, 3, 16])
    func threads(dimension: Int) {
        // Three query chunks and 32 subtrees: two threads share them, 64 outnumber both.
        let points = Self.clusters(count: 2_200, dimension: dimension, seed: 3)
        let single = KDTree(points).nearestNeighbours(k: 15, threads: 1)
        for threads in [2, 64] {
            let tree = KDTree(points, threads: threads)
            #expect(tree.nearestNeighbours(k: 15, threads: threads) == single, "\(threads) threads")
            #expect(tree.nearestNeighbours(k: 15, threads: 1) == single, "built on \(threads) threads")
        }
    }

    @Test("identical points list the smallest other indices at distance 0")
    func identicalPoints() {
        let points = PointMatrix(count: 3_000, dimension: 2, values: [Double](repeating: 1, count: 6_000))
        let table = KDTree(points).nearestNeighbours(k: 3)
        #expect(table.distances.allSatisfy { $0 == 0 })
        #expect(Array(table.indices[0..<3]) == [1, 2, 3])
        #expect(Array(table.indices[3 * 2_999..<3 * 3_000]) == [0, 1, 2])
    }

    @Test("a long chain of duplicates beside distinct points builds and queries exactly")
    func duplicateChain() {
        // Half the points share one coordinate value; median splits still halve every node.
        var values = [Double]()
        for point in 0..<2_000 {
            values += [point % 2 == 0 ? 0.5 : Double(point) / 2_000, 0.25]
        }
        let points = PointMatrix(count: 2_000, dimension: 2, values: values)
        #expect(KDTree(points, leafSize: 4).nearestNeighbours(k: 4) == Fixtures.bruteForceNeighbours(points, k: 4))
        #expect(
            KDTree(points, leafSize: 4, bounds: .ball).nearestNeighbours(k: 4)
                == Fixtures.bruteForceNeighbours(points, k: 4))
    }

    @Test("k is capped at n - 1, and empty or single-point inputs give empty rows")
    func smallInputs() {
        let three = PointMatrix(rows: [[0], [1], [3]])
        let table = KDTree(three).nearestNeighbours(k: 10)
        #expect(table.neighbourCount == 2)
        #expect(table.indices == [1, 2, 0, 2, 1, 0])
        #expect(table.distances == [1, 3, 1, 2, 2, 3])
        #expect(KDTree(PointMatrix(rows: [])).nearestNeighbours(k: 3).neighbourCount == 0)
        #expect(KDTree(PointMatrix(rows: [[4, 2]])).nearestNeighbours(k: 3).indices.isEmpty)
    }

    @Test(
        "the filtered scan equals brute force: uniform, tied, clustered, sizes off the block",
        arguments: [8, 9, 16, 17, 33, 64])
    func filteredMatchesBruteForce(dimension: Int) {
        for points in [
            Fixtures.uniform(count: 403, dimension: dimension, seed: UInt64(dimension)),
            Self.tiedPoints(count: 397, dimension: dimension, seed: UInt64(200 + dimension)),
            Self.clusters(count: 601, dimension: dimension, seed: UInt64(300 + dimension)),
        ] {
            let oracle = Fixtures.bruteForceNeighbours(points, k: 20)
            for bounds in [KDTree.Bounds.box, .ball] {
                for (k, leafSize) in [(1, 16), (7, 16), (20, 3), (20, 40)] {
                    let tree = KDTree(points, leafSize: leafSize, bounds: bounds, scan: .filtered)
                    #expect(tree.filter != nil)
                    let table = tree.nearestNeighbours(k: k)
                    let prefix = (0..<points.count).flatMap { $0 * 20..<$0 * 20 + k }
                    #expect(table.indices == prefix.map { oracle.indices[$0] }, "\(bounds), k \(k)")
                    #expect(table.distances == prefix.map { oracle.distances[$0] }, "\(bounds), k \(k)")
                }
            }
        }
    }

    @Test("the default tree filters from minimumFilterDimension features up, the same table on any threads")
    func filteredThreads() {
        #expect(KDTree(Self.clusters(count: 50, dimension: KDTree.minimumFilterDimension - 1, seed: 1)).filter == nil)
        for dimension in [KDTree.minimumFilterDimension, 40] {
            let points = Self.clusters(count: 2_203, dimension: dimension, seed: 5)
            let single = KDTree(points).nearestNeighbours(k: 15)
            #expect(KDTree(points).filter != nil)
            #expect(single == KDTree(points, leafSize: 16, bounds: .ball, scan: .plain).nearestNeighbours(k: 15))
            for threads in [2, 64] {
                #expect(KDTree(points, threads: threads).nearestNeighbours(k: 15, threads: threads) == single)
            }
        }
    }

    @Test("the filter keeps a candidate exactly at the limit, far from the centroid and near it")
    func filterKeepsTheLimit() {
        // Points 1e4 from the origin, 1e-3 apart: the expansion |p|^2 + |q|^2 - 2 p.q cancels
        // almost every digit, so only the error bound keeps the right candidates.
        for (offset, spread) in [(0.0, 1.0), (1e4, 1e-3), (-3e7, 2.0), (0.5, 1e-12)] {
            var generator = SeededGenerator(seed: 9)
            let d = 24, n = 64
            let values = (0..<n * d).map { column in
                (column % 2 == 0 ? offset : -offset / 3) + spread * generator.nextDouble()
            }
            let points = PointMatrix(count: n, dimension: d, values: values)
            let order = (0..<Int32(n)).map { $0 }
            guard let filter = FilterBlocks(points, rows: values, order: order, threads: 1) else {
                Issue.record("offset \(offset) is in range")
                continue
            }
            var masks = [UInt8](repeating: 0, count: n)
            for candidate in 0..<n {
                // Each query's limit is its exact distance to `candidate`: the tightest limit
                // that must keep it.
                var limits = [Float](repeating: 0, count: 8)
                for query in 0..<8 {
                    var sum = 0.0
                    for column in 0..<d {
                        let delta = values[candidate * d + column] - values[query * d + column]
                        sum += delta * delta
                    }
                    limits[query] = FilterBlocks.limit(sum)
                }
                filter.mark(query: 0, candidates: 0..<n / 8, limits: limits, into: &masks)
                for query in 0..<8 {
                    #expect(masks[candidate / 8 * 8 + query] & (1 << (candidate % 8)) != 0, "offset \(offset)")
                }
            }
            // And it drops something when the limit is far below every distance.
            if offset == 0 {
                filter.mark(query: 0, candidates: 0..<n / 8, limits: [Float](repeating: 0, count: 8), into: &masks)
                #expect(masks.contains { $0 != 0xFF }, "offset \(offset)")
            }
        }
    }

    @Test("points out of the filter's range are scanned plainly, and exactly")
    func filterRange() {
        var values = (0..<3_000).map { (index: Int) -> Double in Double(index % 7) + Double(index) / 3_000 }
        values[17] = 1e16
        let far = PointMatrix(count: 300, dimension: 10, values: values)
        let tree = KDTree(far)
        #expect(tree.filter == nil)
        #expect(tree.nearestNeighbours(k: 5) == Fixtures.bruteForceNeighbours(far, k: 5))
    }

    @Test("many identical points in many dimensions list the smallest other indices at distance 0")
    func identicalPointsFiltered() {
        var values = [Double](repeating: 0.25, count: 2_500 * 12)
        for point in 2_000..<2_500 {
            for column in 0..<12 { values[point * 12 + column] = Double(point % 13) / 13 + Double(column) }
        }
        let points = PointMatrix(count: 2_500, dimension: 12, values: values)
        let table = KDTree(points).nearestNeighbours(k: 4)
        #expect(table == Fixtures.bruteForceNeighbours(points, k: 4))
        #expect(Array(table.indices[0..<4]) == [1, 2, 3, 4])
    }

    @Test("tiny windows in many dimensions: the filter's blocks hold 0 to 17 points", arguments: [0, 1, 2, 7, 8, 9, 17])
    func tinyFiltered(count: Int) {
        let points = Self.clusters(count: count, dimension: 10, seed: UInt64(count))
        let tree = KDTree(points)
        #expect(tree.filter != nil)
        #expect(tree.nearestNeighbours(k: 5) == Fixtures.bruteForceNeighbours(points, k: 5))
    }

    @Test("min-max scaling maps each feature to [0, 1] and constant features to 0")
    func minMaxScaling() {
        let points = PointMatrix(rows: [[0, 10, 7], [1, 20, 7], [2, 30, 7], [4, 15, 7]])
        let scaled = points.minMaxScaled()
        #expect(scaled.values == [0, 0, 0, 0.25, 0.5, 0, 0.5, 1, 0, 1, 0.25, 0])
        #expect(PointMatrix(rows: []).minMaxScaled() == PointMatrix(rows: []))
    }
}
