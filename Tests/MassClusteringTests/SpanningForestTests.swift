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

    /// Kruskal over every pair a neighbour table lists, taken once, in ``ForestEdge`` order:
    /// the forest's definition without its shortcuts (one-column membership test, radix sort).
    static func referenceForest(_ table: NeighbourTable, minSamples: Int) -> [ForestEdge] {
        let n = table.pointCount, k = table.neighbourCount
        let averaged = min(minSamples, k)
        let core = (0..<n).map { point in
            averaged == 0 ? 0 : (0..<averaged).reduce(0) { $0 + table.distances[point * k + $1] } / Double(averaged)
        }
        var pairs = [Int: ForestEdge]()
        for point in 0..<n {
            for slot in 0..<k {
                let other = Int(table.indices[point * k + slot]), distance = table.distances[point * k + slot]
                let a = min(point, other), b = max(point, other)
                pairs[a * n + b] = ForestEdge(
                    a: Int32(a), b: Int32(b), weight: max(core[a], core[b], distance), distance: distance)
            }
        }
        var sets = DisjointSets(count: n)
        return pairs.values.sorted { $0.precedes($1) }.filter { sets.union(Int($0.a), Int($0.b)) }
    }

    @Test("a grid full of tied distances: the reference forest, on any number of threads")
    func tiedGrid() {
        // 36,000 points on a 180 x 200 grid: every neighbour list ends in ties, the rows span
        // several chunks and each half of the candidate edges (over 160,000) several sort chunks.
        let points = PointMatrix(rows: (0..<36_000).map { [Double($0 % 180), Double($0 / 180) * 1.5] })
        let table = KDTree(points).nearestNeighbours(k: 9)
        let reference = Self.referenceForest(table, minSamples: 3)
        for threads in [1, 2, 5] {
            let forest = SpanningForest(neighbours: table, minSamples: 3, threads: threads)
            #expect(forest.edges == reference, "\(threads) threads")
        }
    }

    @Test("weights closer than the radix key resolves: the reference forest, on any number of threads")
    func weightsBelowTheRadixKey() {
        // A grid jittered by parts in 10^10: the weights differ, but mostly below the 2^-21
        // relative step of the sort's key, so the order within a key's runs decides the forest.
        var random = SeededGenerator(seed: 12)
        var rows = [[Double]]()
        for index in 0..<20_000 {
            let jitter = (0..<2).map { _ in 1 + Double(random.nextInt(below: 1_000)) * 1e-10 }
            rows.append([Double(index % 160) * jitter[0], Double(index / 160) * jitter[1]])
        }
        let points = PointMatrix(rows: rows)
        let table = KDTree(points).nearestNeighbours(k: 6)
        let reference = Self.referenceForest(table, minSamples: 2)
        var weightsByKey = [UInt64: Set<Double>]()
        for edge in reference { weightsByKey[SpanningForest.radixKey(edge), default: []].insert(edge.weight) }
        #expect(weightsByKey.values.filter { $0.count > 1 }.count > 10, "keys shared by different weights")
        for threads in [1, 2, 5] {
            let forest = SpanningForest(neighbours: table, minSamples: 2, threads: threads)
            // The first difference, not 20,000 edges twice, in a failure's message.
            let difference = forest.edges.indices.first { $0 >= reference.count || forest.edges[$0] != reference[$0] }
            #expect(forest.edges.count == reference.count && difference == nil, "\(threads) threads, edge \(difference ?? -1)")
        }
    }

    @Test("readings repeated three times: the same forest on any number of threads")
    func repeatedReadingsThreads() {
        let base = Fixtures.uniform(count: 3_000, dimension: 2, seed: 9)
        let points = PointMatrix(count: 9_000, dimension: 2, values: base.values + base.values + base.values)
        let single = SpanningForest(points: points, minSamples: 4, threads: 1)
        #expect(single.replayFactor == 3)
        for threads in [2, 5] {
            let forest = SpanningForest(points: points, minSamples: 4, threads: threads)
            #expect(forest.edges == single.edges && forest.coreDistances == single.coreDistances)
        }
    }
}
