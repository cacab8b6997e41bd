import Foundation
@testable import MassClustering
import Testing

@Suite("ClusterHierarchy and selection")
struct ClusterHierarchyTests {
    typealias Fixtures = PipelineFixtures

    /// Blobs of different spreads on a uniform background, plus a far group of duplicates: a
    /// hierarchy with noise, true splits, several roots and zero-weight merges.
    static let mixedPoints: PointMatrix = {
        let (blobs, _) = Fixtures.blobs(
            centres: [[0.2, 0.2], [0.3, 0.3], [0.7, 0.4], [0.5, 0.8]], spreads: [0.03, 0.03, 0.1, 0.02],
            sizes: [150, 150, 200, 100], seed: 41)
        let background = Fixtures.uniform(count: 150, dimension: 2, seed: 42)
        let duplicates = [Double](repeating: 9, count: 2 * 40)
        let values = blobs.values + background.values + duplicates
        return PointMatrix(count: values.count / 2, dimension: 2, values: values)
    }()

    static func hierarchies() -> [ClusterHierarchy] {
        [2, 5, 20].flatMap { minClusterSize in
            [1, 5].map { minSamples in
                ClusterHierarchy(
                    forest: SpanningForest(points: mixedPoints, minSamples: minSamples, graphNeighbours: 10),
                    minClusterSize: minClusterSize)
            }
        }
    }

    @Test("sizes add up and every subtree is a contiguous range")
    func sizesAddUp() {
        for tree in Self.hierarchies() {
            let n = tree.pointCount
            #expect(tree.pointOrder.sorted() == (0..<Int32(n)).map { $0 })
            var noise = 0
            for position in 0..<n where tree.exitCluster[position] < 0 { noise += 1 }
            #expect(noise + tree.clusters.reduce(0) { $0 + $1.ownPointCount } == n)
            for (number, cluster) in tree.clusters.enumerated() {
                let children = cluster.children.map { tree.clusters[$0] }
                #expect(cluster.mass == cluster.ownPointCount + children.reduce(0) { $0 + $1.mass })
                #expect(cluster.mass >= tree.minClusterSize)
                #expect(children.allSatisfy { $0.parent == Int32(number) && cluster.members.clamped(to: $0.members) == $0.members })
                #expect(children.count != 1)
                let ranges = children.map(\.members).sorted { $0.lowerBound < $1.lowerBound }
                #expect(zip(ranges, ranges.dropFirst()).allSatisfy { !$0.overlaps($1) })
                #expect(children.allSatisfy { $0.birthLambda == children[0].birthLambda })
                #expect(children.allSatisfy { $0.birthLambda > cluster.birthLambda })
                // Own points lie in the cluster's range, and exit no earlier than its birth.
                let own = (0..<n).filter { tree.exitCluster[$0] == Int32(number) }
                #expect(own.count == cluster.ownPointCount)
                #expect(own.allSatisfy { cluster.members.contains($0) })
                #expect(own.allSatisfy { tree.exitLambda[$0] >= cluster.birthLambda })
                #expect(cluster.peakLambda >= cluster.birthLambda)
                #expect(cluster.referenceLambda >= cluster.birthLambda)
            }
            let roots = tree.clusters.filter(\.isRoot).map(\.members).sorted { $0.lowerBound < $1.lowerBound }
            #expect(zip(roots, roots.dropFirst()).allSatisfy { !$0.overlaps($1) })
        }
    }

    @Test("a hand-checked hierarchy: an outlier falls out, then a true split")
    func handChecked() {
        let points = PointMatrix(rows: [[0], [1], [2], [3], [10], [11], [12], [13], [30]])
        let tree = ClusterHierarchy(
            forest: SpanningForest(points: points, minSamples: 1, graphNeighbours: 8), minClusterSize: 3)
        #expect(tree.clusters.count == 3)
        let root = tree.clusters[0]
        #expect(root.isRoot && root.mass == 9 && root.ownPointCount == 1 && root.children == 1..<3)
        #expect(root.birthLambda == 0 && root.referenceLambda == 1.0 / 17)
        #expect(root.ownExcess == 1.0 / 17 && root.ownLogExcess == 0 && root.peakLambda == 1)
        for child in tree.clusters[1...] {
            #expect(child.mass == 4 && child.ownPointCount == 4 && child.birthLambda == 1.0 / 7)
            #expect(abs(child.ownExcess - 4 * (1 - 1.0 / 7)) < 1e-12)
            #expect(abs(child.ownLogExcess - 4 * Foundation.log(7.0)) < 1e-12)
        }
        let density = tree.scores(.density), mass = tree.scores(.mass)
        #expect(abs(density[0] - (1.0 / 17 + 8.0 / 7)) < 1e-12)
        #expect(abs(mass[0] - 8 * Foundation.log(17.0 / 7)) < 1e-12)
        for score in ClusterScore.allCases {
            #expect(tree.selectClusters(scores: tree.scores(score), allowSingleCluster: false) == [1, 2])
            #expect(tree.selectClusters(scores: tree.scores(score), allowSingleCluster: true) == [1, 2])
        }
        // A root outscoring its children is chosen only when a single cluster is allowed.
        #expect(tree.selectClusters(scores: [100, 1, 1], allowSingleCluster: true) == [0])
        #expect(tree.selectClusters(scores: [100, 1, 1], allowSingleCluster: false) == [1, 2])
    }

    @Test("selection returns an antichain", arguments: ClusterScore.allCases)
    func antichain(score: ClusterScore) {
        for tree in Self.hierarchies() {
            for allowSingleCluster in [false, true] {
                let selected = tree.selectClusters(scores: tree.scores(score), allowSingleCluster: allowSingleCluster)
                #expect(!selected.isEmpty)
                for cluster in selected {
                    var ancestor = Int(tree.clusters[cluster].parent)
                    while ancestor >= 0 {
                        #expect(!selected.contains(ancestor))
                        ancestor = Int(tree.clusters[ancestor].parent)
                    }
                }
                if !allowSingleCluster && tree.rootCount == 1 {
                    #expect(!selected.contains { tree.clusters[$0].isRoot })
                }
            }
        }
    }

    @Test("zero-distance merges never split and score no NaN")
    func zeroWeights() {
        for tree in Self.hierarchies() {
            for score in ClusterScore.allCases {
                #expect(!tree.scores(score).contains { $0.isNaN })
            }
            #expect(tree.clusters.allSatisfy { $0.birthLambda.isFinite && $0.birthLambda >= 0 })
        }
    }

    @Test("the mass score ignores a component's scale; the density score does not")
    func massScoreIsScaleFree() {
        let (near, _) = Fixtures.blobs(
            centres: [[0, 0], [1, 0.5]], spreads: [0.2, 0.3], sizes: [200, 200], seed: 61)
        let (far, _) = Fixtures.blobs(
            centres: [[100, 100], [101, 101], [100, 102]], spreads: [0.3, 0.2, 0.25], sizes: [150, 150, 150],
            seed: 62)
        // Multiplying by a power of two scales every distance of the far group exactly.
        let scaled = PointMatrix(count: far.count, dimension: 2, values: far.values.map { $0 * 8 })
        func tree(_ second: PointMatrix) -> ClusterHierarchy {
            let points = PointMatrix(count: 850, dimension: 2, values: near.values + second.values)
            return ClusterHierarchy(
                forest: SpanningForest(points: points, minSamples: 5, graphNeighbours: 15), minClusterSize: 10)
        }
        let original = tree(far), stretched = tree(scaled)
        #expect(original.rootCount == 2 && stretched.rootCount == 2)
        #expect(original.scores(.mass).sorted() == stretched.scores(.mass).sorted())
        #expect(original.scores(.density).sorted() != stretched.scores(.density).sorted())
    }

    @Test("the stdlib-only logarithm matches the C library's")
    func logarithm() {
        var generator = SeededGenerator(seed: 71)
        for _ in 0..<10_000 {
            let x = Foundation.exp(generator.nextDouble() * 1_400 - 700)
            #expect(abs(naturalLogarithm(x) - Foundation.log(x)) <= 4 * Foundation.log(x).magnitude.ulp + 1e-300)
        }
        #expect(naturalLogarithm(1) == 0)
        #expect(naturalLogarithm(.infinity) == .infinity)
        #expect(naturalLogarithm(0) == -.infinity)
    }
}
