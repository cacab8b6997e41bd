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
            [0, 5].map { minSamples in
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
            }
            let roots = tree.clusters.filter(\.isRoot).map(\.members).sorted { $0.lowerBound < $1.lowerBound }
            #expect(zip(roots, roots.dropFirst()).allSatisfy { !$0.overlaps($1) })
        }
    }

    @Test("a hand-checked hierarchy: an outlier falls out, then a true split")
    func handChecked() {
        let points = PointMatrix(rows: [[0], [1], [2], [3], [10], [11], [12], [13], [30]])
        let tree = ClusterHierarchy(
            forest: SpanningForest(points: points, minSamples: 0, graphNeighbours: 8), minClusterSize: 3)
        #expect(tree.clusters.count == 3)
        let root = tree.clusters[0]
        #expect(root.isRoot && root.mass == 9 && root.ownPointCount == 1 && root.children == 1..<3)
        #expect(root.birthLambda == 0)
        #expect(root.ownExcess == 1.0 / 17 && root.peakLambda == 1)
        for child in tree.clusters[1...] {
            #expect(child.mass == 4 && child.ownPointCount == 4 && child.birthLambda == 1.0 / 7)
            #expect(abs(child.ownExcess - 4 * (1 - 1.0 / 7)) < 1e-12)
        }
        let stability = tree.stabilities()
        #expect(abs(stability[0] - (1.0 / 17 + 8.0 / 7)) < 1e-12)
        #expect(tree.selectClusters(scores: stability, allowSingleCluster: false) == [1, 2])
        #expect(tree.selectClusters(scores: stability, allowSingleCluster: true) == [1, 2])
        // A root outscoring its children is chosen only when a single cluster is allowed.
        #expect(tree.selectClusters(scores: [100, 1, 1], allowSingleCluster: true) == [0])
        #expect(tree.selectClusters(scores: [100, 1, 1], allowSingleCluster: false) == [1, 2])
    }

    @Test("selection returns an antichain")
    func antichain() {
        for tree in Self.hierarchies() {
            for allowSingleCluster in [false, true] {
                let selected = tree.selectClusters(scores: tree.stabilities(), allowSingleCluster: allowSingleCluster)
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
            #expect(!tree.stabilities().contains { $0.isNaN })
            #expect(tree.clusters.allSatisfy { $0.birthLambda.isFinite && $0.birthLambda >= 0 })
        }
    }
}
