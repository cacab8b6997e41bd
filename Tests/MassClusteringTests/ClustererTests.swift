@testable import MassClustering
import MMCTestSupport
import Testing

/// Seeded data and oracles shared by the re-clustering pipeline's tests.
enum PipelineFixtures {
    /// An approximately standard normal draw: the Irwin-Hall sum of 12 uniforms, centred.
    static func normal(_ generator: inout SeededGenerator) -> Double {
        (0..<12).reduce(-6.0) { sum, _ in sum + generator.nextDouble() }
    }

    /// `count` points uniform in the unit cube.
    static func uniform(count: Int, dimension: Int, seed: UInt64) -> PointMatrix {
        var generator = SeededGenerator(seed: seed)
        return PointMatrix(
            count: count, dimension: dimension, values: (0..<count * dimension).map { _ in generator.nextDouble() })
    }

    /// Normal blobs around `centres` (one row per blob) with per-blob spread and size; the
    /// points come blob by blob, so the true label of point i is its blob's number.
    static func blobs(centres: [[Double]], spreads: [Double], sizes: [Int], seed: UInt64) -> (PointMatrix, [Int32]) {
        var generator = SeededGenerator(seed: seed)
        var rows = [[Double]](), truth = [Int32]()
        for (blob, centre) in centres.enumerated() {
            for _ in 0..<sizes[blob] {
                rows.append(centre.map { $0 + spreads[blob] * normal(&generator) })
                truth.append(Int32(blob))
            }
        }
        return (PointMatrix(rows: rows), truth)
    }

    /// Three well-separated blobs in the plane, 300 points each.
    static func threeBlobs(seed: UInt64) -> (PointMatrix, [Int32]) {
        blobs(centres: [[0, 0], [10, 0], [0, 10]], spreads: [0.5, 0.5, 0.5], sizes: [300, 300, 300], seed: seed)
    }

    /// Exact k nearest other points in (distance, index) order, by scanning every pair.
    static func bruteForceNeighbours(_ points: PointMatrix, k: Int) -> NeighbourTable {
        let n = points.count, d = points.dimension
        let k = min(k, max(n - 1, 0))
        var indices = [Int32](), distances = [Double]()
        var best = [(squared: Double, index: Int)]()
        for query in 0..<n {
            best.removeAll(keepingCapacity: true)
            for other in 0..<n where other != query {
                var squared = 0.0
                for column in 0..<d {
                    let delta = points[other, column] - points[query, column]
                    squared += delta * delta
                }
                // Scanning in index order, a strictly smaller distance is needed to overtake.
                if best.count == k && squared >= best[k - 1].squared { continue }
                if best.count == k { best.removeLast() }
                let slot = best.firstIndex { $0.squared > squared } ?? best.count
                best.insert((squared, other), at: slot)
            }
            for entry in best {
                indices.append(Int32(entry.index))
                distances.append(entry.squared.squareRoot())
            }
        }
        return NeighbourTable(pointCount: n, neighbourCount: k, indices: indices, distances: distances)
    }

    /// The adjusted Rand index of two labelings (Hubert & Arabie 1985); -1 is one more label.
    static func adjustedRandIndex(_ a: [Int32], _ b: [Int32]) -> Double {
        precondition(a.count == b.count)
        func pairs(_ count: Int) -> Double { Double(count) * Double(count - 1) / 2 }
        var table = [Int64: Int](), rows = [Int32: Int](), columns = [Int32: Int]()
        for (x, y) in zip(a, b) {
            table[Int64(x) << 32 | Int64(UInt32(bitPattern: y)), default: 0] += 1
            rows[x, default: 0] += 1
            columns[y, default: 0] += 1
        }
        let index = table.values.reduce(0) { $0 + pairs($1) }
        let rowSum = rows.values.reduce(0) { $0 + pairs($1) }
        let columnSum = columns.values.reduce(0) { $0 + pairs($1) }
        let expected = rowSum * columnSum / pairs(a.count)
        let maximum = (rowSum + columnSum) / 2
        return maximum == expected ? 1 : (index - expected) / (maximum - expected)
    }

    /// A seeded Fisher-Yates permutation of `0..<count`.
    static func permutation(count: Int, seed: UInt64) -> [Int] {
        var generator = SeededGenerator(seed: seed)
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, generator.nextInt(below: i + 1))
        }
        return order
    }
}

@Suite("Clusterer", .tags(.unit))
struct ClustererTests {
    typealias Fixtures = PipelineFixtures

    @Test("three separated blobs are recovered exactly", arguments: ClusteringMethod.allCases)
    func threeBlobs(method: ClusteringMethod) throws {
        let (points, truth) = Fixtures.threeBlobs(seed: 11)
        let result = cluster(points, parameters: try ClusteringParameters(method: method))
        #expect(result.clusters.count == 3)
        #expect(Fixtures.adjustedRandIndex(result.labels, truth) == 1)
        // Labels follow the smallest member, and the blobs come in order.
        #expect(result.labels.first == 0 && result.labels[300] == 1 && result.labels[600] == 2)
        for summary in result.clusters {
            #expect(summary.mass == 300)
            #expect(summary.birthLambda <= summary.peakLambda)
            for column in 0..<2 {
                #expect(summary.lowerBound[column] <= summary.centroid[column])
                #expect(summary.centroid[column] <= summary.upperBound[column])
            }
        }
    }

    @Test("summaries over the unscaled points, and dropping a cluster, keep labels and lambdas")
    func summariesInOtherUnits() throws {
        let (points, _) = Fixtures.threeBlobs(seed: 11)
        let scaled = FeatureScaling.robust.scaled(points)
        let result = cluster(scaled, parameters: try ClusteringParameters())
        let original = result.summarised(over: points)
        #expect(original.labels == result.labels)
        for (summary, scaledSummary) in zip(original.clusters, result.clusters) {
            let members = points.values.indices.filter { result.labels[$0 / 2] == summary.label }
            for column in 0..<2 {
                let values = members.filter { $0 % 2 == column }.map { points.values[$0] }
                #expect(summary.lowerBound[column] == values.min() && summary.upperBound[column] == values.max())
                #expect(abs(summary.centroid[column] - values.reduce(0, +) / Double(values.count)) < 1e-9)
            }
            #expect(summary.mass == scaledSummary.mass && summary.birthLambda == scaledSummary.birthLambda)
        }

        let kept = original.keepingClusters([true, false, true])
        #expect(kept.clusters.map(\.label) == [0, 1])
        #expect(kept.clusters.map(\.centroid) == [original.clusters[0].centroid, original.clusters[2].centroid])
        #expect(kept.labels == original.labels.map { [0: 0, 1: -1, 2: 1][$0] ?? -1 })
        #expect(kept.noiseCount == original.noiseCount + original.clusters[1].mass)
    }

    @Test("the same input gives the same result", arguments: ClusteringMethod.allCases)
    func deterministic(method: ClusteringMethod) throws {
        let (points, _) = Fixtures.blobs(
            centres: [[0.2, 0.2], [0.7, 0.3], [0.5, 0.8]], spreads: [0.05, 0.1, 0.02], sizes: [400, 400, 200],
            seed: 5)
        let parameters = try ClusteringParameters(method: method)
        #expect(cluster(points, parameters: parameters) == cluster(points, parameters: parameters))
    }

    /// 20 dimensions are past `KDTree.maximumBoxDimension`: the neighbour search prunes by balls.
    @Test("any number of threads gives the same result, in few and in many dimensions", arguments: [2, 20])
    func threads(dimension: Int) throws {
        let centres = (0..<4).map { blob in (0..<dimension).map { Double(($0 + blob) % 4) * 3 } }
        // 2,200 points: three chunks of neighbour queries (1,024 each), so 2 threads share them
        // and 7 are more than there are chunks.
        let (points, truth) = Fixtures.blobs(
            centres: centres, spreads: [0.5, 0.8, 0.3, 0.6], sizes: [700, 500, 400, 600], seed: 9)
        let parameters = try ClusteringParameters()
        let single = cluster(points, parameters: parameters, threads: 1)
        #expect(Fixtures.adjustedRandIndex(single.labels, truth) > 0.9)
        for threads in [2, 7] {
            #expect(cluster(points, parameters: parameters, threads: threads) == single, "\(threads) threads")
        }
    }

    @Test("a workspace keeps its buffer across runs, shrinks with the window and changes no label")
    func workspaceReuse() throws {
        let (points, _) = Fixtures.blobs(
            centres: [[0, 0], [4, 0], [0, 4]], spreads: [0.5, 0.8, 0.3], sizes: [1_500, 1_200, 900], seed: 31)
        // Every position read three times: the forest of distinct positions, with extra edges.
        let replayed = PointMatrix(
            count: 3 * 300, dimension: 2, values: (0..<3).flatMap { _ in Array(points.values[..<600]) })
        let parameters = try ClusteringParameters()
        let workspace = ClusteringWorkspace()
        let full = cluster(points, parameters: parameters, threads: 2, workspace: workspace)
        #expect(full == cluster(points, parameters: parameters, threads: 2))
        let grown = workspace.edgeCapacity
        #expect(grown > 0)

        // A tenth fewer points fits in the buffer: it is kept.
        let fewer = PointMatrix(count: 3_240, dimension: 2, values: Array(points.values[..<6_480]))
        #expect(cluster(fewer, parameters: parameters, workspace: workspace) == cluster(fewer, parameters: parameters))
        #expect(workspace.edgeCapacity == grown)

        // Under a quarter of the need: the buffer is reallocated at the smaller window's size.
        #expect(
            cluster(replayed, parameters: parameters, workspace: workspace) == cluster(replayed, parameters: parameters))
        #expect(workspace.edgeCapacity < grown / 4)
    }

    @Test("permuting the rows gives the same partition", arguments: ClusteringMethod.allCases)
    func permutationInvariant(method: ClusteringMethod) throws {
        let (blobs, _) = Fixtures.blobs(
            centres: [[0.2, 0.2], [0.7, 0.3], [0.5, 0.8], [0.8, 0.8]], spreads: [0.05, 0.08, 0.02, 0.04],
            sizes: [400, 300, 150, 250], seed: 23)
        let background = Fixtures.uniform(count: 200, dimension: 2, seed: 24)
        let points = PointMatrix(
            count: blobs.count + background.count, dimension: 2, values: blobs.values + background.values)
        let parameters = try ClusteringParameters(method: method)
        let original = cluster(points, parameters: parameters)
        let order = Fixtures.permutation(count: points.count, seed: 99)
        let shuffled = PointMatrix(
            count: points.count, dimension: 2, values: order.flatMap { points.row($0) })
        let permuted = cluster(shuffled, parameters: parameters)
        #expect(original.clusters.count >= 2)
        // Same partition: a bijection between labels that keeps noise as noise.
        var forward = [Int32: Int32](), backward = [Int32: Int32]()
        var mismatches = 0
        for (newIndex, oldIndex) in order.enumerated() {
            let old = original.labels[oldIndex], new = permuted.labels[newIndex]
            if (old < 0) != (new < 0) || forward[old, default: new] != new || backward[new, default: old] != old {
                mismatches += 1
            }
            forward[old] = new
            backward[new] = old
        }
        #expect(mismatches == 0)
        #expect(original.clusters.map(\.mass).sorted() == permuted.clusters.map(\.mass).sorted())
    }

    @Test("identical points: all noise, or one cluster when a single cluster is allowed")
    func identicalPoints() throws {
        let points = PointMatrix(count: 200, dimension: 3, values: [Double](repeating: 0.5, count: 600))
        for method in ClusteringMethod.allCases {
            let noise = cluster(points, parameters: try ClusteringParameters(method: method))
            #expect(noise.labels == [Int32](repeating: -1, count: 200))
            #expect(noise.clusters.isEmpty)
            let single = cluster(
                points, parameters: try ClusteringParameters(method: method, allowSingleCluster: true))
            #expect(single.labels == [Int32](repeating: 0, count: 200))
            #expect(single.clusters.first?.centroid == [0.5, 0.5, 0.5])
        }
    }

    @Test("fewer points than the minimum cluster size: all noise")
    func tooFewPoints() throws {
        let parameters = try ClusteringParameters(allowSingleCluster: true)
        for count in 0..<5 {
            let result = cluster(Fixtures.uniform(count: count, dimension: 2, seed: 3), parameters: parameters)
            #expect(result.labels == [Int32](repeating: -1, count: count))
            #expect(result.noiseCount == count)
        }
        let one = cluster(PointMatrix(count: 1, dimension: 0, values: []), parameters: parameters)
        #expect(one.labels == [-1])
    }

    @Test("a 30,000-point chain, a dendrogram 30,000 merges deep, needs no recursion")
    func longChain() throws {
        // Growing gaps: every point joins the chain of all points before it, one at a time.
        let count = 30_000
        let points = PointMatrix(count: count, dimension: 1, values: (0..<count).map { Double($0) * Double($0) })
        let forest = SpanningForest(points: points, minSamples: 0, graphNeighbours: 2)
        #expect(forest.componentCount == 1)
        let tree = ClusterHierarchy(forest: forest, minClusterSize: 2)
        // Each merge adds one point to the chain, so nothing ever splits into two clusters.
        #expect(tree.clusters.count == 1 && tree.clusters[0].ownPointCount == count)
        let result = cluster(points, parameters: try ClusteringParameters(minSamples: 0, allowSingleCluster: true))
        #expect(result.labels == [Int32](repeating: 0, count: count))
    }

    @Test("parameters are validated and the minimum cluster size is derived from n")
    func parameters() throws {
        #expect(throws: ParameterError.self) { try ClusteringParameters(minSamples: -1) }
        #expect(throws: ParameterError.self) { try ClusteringParameters(minClusterSize: 1) }
        #expect(throws: ParameterError.self) { try ClusteringParameters(graphNeighbours: 0) }
        let derived = try ClusteringParameters()
        #expect(derived.minClusterSize(forPointCount: 100) == 5)
        #expect(derived.minClusterSize(forPointCount: 20_000) == 200)
        #expect(try ClusteringParameters(minClusterSize: 7).minClusterSize(forPointCount: 20_000) == 7)
        let (points, _) = Fixtures.threeBlobs(seed: 2)
        #expect(cluster(points, parameters: derived).minClusterSize == 9)
    }

    @Test("the adjusted Rand index helper agrees with known values")
    func adjustedRandIndexHelper() {
        #expect(Fixtures.adjustedRandIndex([0, 0, 1, 1], [5, 5, 7, 7]) == 1)
        // sklearn.metrics.adjusted_rand_score([0, 0, 1, 1], [0, 1, 0, 1]) == -0.5
        #expect(abs(Fixtures.adjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]) + 0.5) < 1e-12)
        // sklearn: adjusted_rand_score([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == 0.24242424...
        #expect(abs(Fixtures.adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) - 8.0 / 33) < 1e-12)
    }
}
