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

    @Test("min-max scaling maps each feature to [0, 1] and constant features to 0")
    func minMaxScaling() {
        let points = PointMatrix(rows: [[0, 10, 7], [1, 20, 7], [2, 30, 7], [4, 15, 7]])
        let scaled = points.minMaxScaled()
        #expect(scaled.values == [0, 0, 0, 0.25, 0.5, 0, 0.5, 1, 0, 1, 0.25, 0])
        #expect(PointMatrix(rows: []).minMaxScaled() == PointMatrix(rows: []))
    }
}
