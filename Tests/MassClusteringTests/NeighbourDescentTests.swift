@testable import MassClustering
import MMCTestSupport
import Testing

@Suite("NeighbourDescent", .tags(.unit))
struct NeighbourDescentTests {
    typealias Fixtures = PipelineFixtures

    /// Isotropic Gaussian clusters in `dimension` features (the hard case for NN-descent: a
    /// cluster fills every dimension), some points repeated exactly.
    static func gaussianClusters(count: Int, dimension: Int, clusters: Int, seed: UInt64) -> PointMatrix {
        var generator = SeededGenerator(seed: seed)
        let centres = (0..<clusters * dimension).map { _ in generator.nextDouble() * 20 }
        var values = [Double]()
        values.reserveCapacity(count * dimension)
        for point in 0..<count {
            let centre = point % clusters
            for column in 0..<dimension {
                values.append(centres[centre * dimension + column] + Fixtures.normal(&generator))
            }
        }
        for point in stride(from: 11, to: count, by: 97) {
            for column in 0..<dimension {
                values[point * dimension + column] = values[(point - 11) * dimension + column]
            }
        }
        return PointMatrix(count: count, dimension: dimension, values: values)
    }

    /// The fraction of `exact`'s (row, neighbour) pairs that `approximate` lists.
    static func recall(_ approximate: NeighbourTable, _ exact: NeighbourTable) -> Double {
        let k = exact.neighbourCount
        var found = 0
        for row in 0..<exact.pointCount {
            let listed = Set(approximate.indices[row * k..<row * k + k])
            found += exact.indices[row * k..<row * k + k].filter { listed.contains($0) }.count
        }
        return Double(found) / Double(exact.pointCount * k)
    }

    /// Checks what every table must hold whatever its recall: distinct other points per row,
    /// exact distances in (squared distance, index) order, and each pair listed by one side
    /// only where the other side's last entry precedes it (``SpanningForest``'s edge rule).
    static func expectWellFormed(_ table: NeighbourTable, of points: PointMatrix, sourceLocation: SourceLocation = #_sourceLocation) {
        let n = table.pointCount, k = table.neighbourCount, d = points.dimension
        #expect(k == min(15, max(n - 1, 0)), sourceLocation: sourceLocation)
        func squared(_ a: Int, _ b: Int) -> Double {
            var sum = 0.0
            for column in 0..<d {
                let difference = points.values[a * d + column] - points.values[b * d + column]
                sum += difference * difference
            }
            return sum
        }
        var malformed = 0, inconsistent = 0
        for row in 0..<n {
            let others = table.indices[row * k..<row * k + k].map(Int.init)
            if Set(others).count != k || others.contains(row) || others.contains(where: { $0 < 0 || $0 >= n }) {
                malformed += 1
                continue
            }
            let keys = others.map { (squared(row, $0), $0) }
            if zip(keys, keys.dropFirst()).contains(where: { !($0 < $1) })
                || zip(keys, 0..<k).contains(where: { table.distances[row * k + $1] != $0.0.squareRoot() })
            {
                malformed += 1
            }
            for (key, other) in zip(keys, others) where !table.indices[other * k..<other * k + k].contains(Int32(row)) {
                let last = (squared(other, Int(table.indices[other * k + k - 1])), Int(table.indices[other * k + k - 1]))
                if !(last < (key.0, row)) { inconsistent += 1 }
            }
        }
        #expect(malformed == 0, "rows out of order, with wrong distances or repeated points", sourceLocation: sourceLocation)
        #expect(inconsistent == 0, "pairs listed by one side that the other side's last entry does not precede", sourceLocation: sourceLocation)
    }

    @Test("recall on Gaussian clusters stays above a floor at every dimension", arguments: [(8, 0.99), (32, 0.9), (64, 0.85), (128, 0.8)])
    func recallFloor(dimension: Int, floor: Double) {
        let points = Self.gaussianClusters(count: 3_000, dimension: dimension, clusters: 6, seed: UInt64(dimension))
        let approximate = NeighbourDescent().neighbours(of: points, k: 15)
        Self.expectWellFormed(approximate, of: points)
        let recall = Self.recall(approximate, KDTree(points).nearestNeighbours(k: 15))
        #expect(recall >= floor, "recall \(recall) at \(dimension) features")
        #expect(recall < 1 || dimension == 8, "recall \(recall): the data should be hard enough to test the floor")
    }

    @Test("the table is the same on 1, 2 and 64 threads")
    func threads() {
        let points = Self.gaussianClusters(count: 2_500, dimension: 40, clusters: 4, seed: 7)
        let descent = NeighbourDescent()
        let one = descent.neighbours(of: points, k: 15, threads: 1)
        #expect(descent.neighbours(of: points, k: 15, threads: 2) == one)
        #expect(descent.neighbours(of: points, k: 15, threads: 64) == one)
    }

    @Test("the table is a function of the seed")
    func seed() {
        let points = Self.gaussianClusters(count: 2_000, dimension: 64, clusters: 2, seed: 3)
        let first = NeighbourDescent(seed: 1).neighbours(of: points, k: 15)
        #expect(NeighbourDescent(seed: 1).neighbours(of: points, k: 15) == first)
        #expect(NeighbourDescent(seed: 2).neighbours(of: points, k: 15) != first, "the seed picks the trees")
    }

    @Test("windows of 0 to 20 points, with duplicates, get the exact table (one leaf holds them all; coordinates exact in Float32)")
    func tinyWindows() {
        for count in 0...20 {
            for dimension in [1, 3, 40] {
                var generator = SeededGenerator(seed: UInt64(count * 100 + dimension))
                var values = (0..<count * dimension).map { _ in (generator.nextDouble() * 4).rounded(.down) }
                // Every third point repeats the first.
                for point in stride(from: 3, to: count, by: 3) {
                    for column in 0..<dimension { values[point * dimension + column] = values[column] }
                }
                let points = PointMatrix(count: count, dimension: dimension, values: values)
                let table = NeighbourDescent().neighbours(of: points, k: 15)
                #expect(table == Fixtures.bruteForceNeighbours(points, k: 15), "\(count) points in \(dimension) features")
            }
        }
    }

    @Test("leaves smaller than k + 1 and a single tree still fill every row, on any threads")
    func smallLeaves() {
        let points = Self.gaussianClusters(count: 700, dimension: 20, clusters: 3, seed: 11)
        let descent = NeighbourDescent(treeCount: 1, leafSize: 4, maximumRounds: 2)
        let table = descent.neighbours(of: points, k: 15)
        Self.expectWellFormed(table, of: points)
        #expect(descent.neighbours(of: points, k: 15, threads: 3) == table)
    }

    @Test("coordinates beyond the Float32 comparisons' range fall back to the exact table")
    func hugeCoordinates() {
        var values = Self.gaussianClusters(count: 200, dimension: 4, clusters: 2, seed: 5).values
        values[0] = 1e20
        let points = PointMatrix(count: 200, dimension: 4, values: values)
        #expect(NeighbourDescent().neighbours(of: points, k: 15) == Fixtures.bruteForceNeighbours(points, k: 15))
    }

    @Test("automatic takes the approximate table only for large windows in many features")
    func automaticRule() {
        let count = NeighbourSearch.approximateMinimumCount, dimension = NeighbourSearch.approximateMinimumDimension
        #expect(NeighbourSearch.automatic.isApproximate(count: count, dimension: dimension))
        #expect(!NeighbourSearch.automatic.isApproximate(count: count - 1, dimension: dimension))
        #expect(!NeighbourSearch.automatic.isApproximate(count: count, dimension: dimension - 1))
        #expect(NeighbourSearch.approximate.isApproximate(count: 2, dimension: 1))
        #expect(!NeighbourSearch.exact.isApproximate(count: 1_000_000, dimension: 1_000))
    }

    @Test("clustering with the approximate table gives the same labels on any threads and matches exact on clear clusters")
    func clustering() throws {
        let points = Self.gaussianClusters(count: 3_000, dimension: 48, clusters: 5, seed: 9)
        let approximate = try ClusteringParameters(neighbourSearch: .approximate)
        let one = cluster(points, parameters: approximate, threads: 1)
        #expect(cluster(points, parameters: approximate, threads: 2).labels == one.labels)
        let exact = cluster(points, parameters: try ClusteringParameters(neighbourSearch: .exact))
        #expect(Fixtures.adjustedRandIndex(one.labels, exact.labels) == 1)
    }
}
