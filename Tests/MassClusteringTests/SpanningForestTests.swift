@testable import MassClustering
import MMCTestSupport
import Testing

@Suite("SpanningForest", .tags(.unit))
struct SpanningForestTests {
    typealias Fixtures = PipelineFixtures

    /// Prim's algorithm on the dense weight matrix of the kNN-restricted mutual-reachability
    /// graph, from every unvisited point: the sorted weights of a minimum spanning forest
    /// (unique as a multiset) and the number of components.
    static func primForest(_ points: PointMatrix, minSamples: Int, k: Int) -> (weights: [Double], components: Int) {
        let n = points.count
        let table = Fixtures.bruteForceNeighbours(points, k: k)
        let kk = table.neighbourCount
        let core = (0..<n).map { point in
            let averaged = min(minSamples, kk)
            return averaged == 0 ? 0 : (0..<averaged).reduce(0) { $0 + table.distances[point * kk + $1] } / Double(averaged)
        }
        var weight = [[Double]](repeating: [Double](repeating: .infinity, count: n), count: n)
        for point in 0..<n {
            for slot in 0..<kk {
                let other = Int(table.indices[point * kk + slot])
                let mutual = max(core[point], core[other], table.distances[point * kk + slot])
                weight[point][other] = mutual
                weight[other][point] = mutual
            }
        }
        var inTree = [Bool](repeating: false, count: n)
        var weights = [Double](), components = 0
        for seed in 0..<n where !inTree[seed] {
            components += 1
            var link = [Double](repeating: .infinity, count: n)
            link[seed] = 0
            while let next = (0..<n).filter({ !inTree[$0] && link[$0] < .infinity }).min(by: { link[$0] < link[$1] }) {
                inTree[next] = true
                if next != seed { weights.append(link[next]) }
                for other in 0..<n where !inTree[other] { link[other] = min(link[other], weight[next][other]) }
            }
        }
        return (weights.sorted(), components)
    }

    @Test("the forest's weights equal Prim's over the same kNN mutual-reachability graph", arguments: [1, 2, 5, 9])
    func matchesPrim(minSamples: Int) {
        let (blobs, _) = Fixtures.blobs(
            centres: [[0, 0, 0], [3, 0, 0], [0, 5, 1]], spreads: [0.4, 1, 0.2], sizes: [120, 100, 80], seed: 17)
        for (points, k) in [(blobs, 6), (Fixtures.uniform(count: 250, dimension: 2, seed: 4), 4)] {
            let forest = SpanningForest(points: points, minSamples: minSamples, graphNeighbours: k)
            let oracle = Self.primForest(points, minSamples: minSamples, k: max(minSamples, k))
            #expect(forest.edges.map(\.weight).sorted() == oracle.weights)
            #expect(forest.componentCount == oracle.components)
            #expect(forest.edges.count == points.count - forest.componentCount)
            // No cycles: every edge joins two different sets.
            var sets = DisjointSets(count: points.count)
            #expect(forest.edges.allSatisfy { sets.union(Int($0.a), Int($0.b)) })
            #expect(zip(forest.edges, forest.edges.dropFirst()).allSatisfy { $0.precedes($1) })
        }
    }

    @Test("the core distance is the mean distance to the minSamples nearest other points")
    func coreDistance() {
        let points = PointMatrix(rows: [[0], [1], [3], [6], [10]])
        #expect(SpanningForest(points: points, minSamples: 0).coreDistances == [0, 0, 0, 0, 0])
        #expect(SpanningForest(points: points, minSamples: 2).coreDistances == [2, 1.5, 2.5, 3.5, 5.5])
        // More samples than other points: the mean over all of them.
        #expect(SpanningForest(points: points, minSamples: 9).coreDistances == [5, 4.25, 3.75, 4.5, 7.5])
    }

    @Test("components of the neighbour graph stay apart")
    func disconnected() {
        let points = PointMatrix(rows: [[0], [1], [2], [100], [101], [102], [500]])
        let forest = SpanningForest(points: points, minSamples: 0, graphNeighbours: 2)
        // 500's nearest points join it to the second group; the first group lists only itself.
        #expect(forest.componentCount == 2)
        #expect(forest.edges == [
            ForestEdge(a: 0, b: 1, weight: 1, distance: 1), ForestEdge(a: 1, b: 2, weight: 1, distance: 1),
            ForestEdge(a: 3, b: 4, weight: 1, distance: 1), ForestEdge(a: 4, b: 5, weight: 1, distance: 1),
            ForestEdge(a: 5, b: 6, weight: 398, distance: 398),
        ])
        #expect(forest.totalWeight == 402)
    }
}
