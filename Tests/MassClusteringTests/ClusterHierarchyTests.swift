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

    /// Whether `ancestor` lies strictly above `cluster` in `tree`.
    static func isAncestor(_ ancestor: Int, of cluster: Int, in tree: ClusterHierarchy) -> Bool {
        var current = Int(tree.clusters[cluster].parent)
        while current >= 0 && current != ancestor { current = Int(tree.clusters[current].parent) }
        return current == ancestor
    }

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
        let none = [Bool](repeating: false, count: 3)
        #expect(abs(stability[0] - (1.0 / 17 + 8.0 / 7)) < 1e-12)
        #expect(tree.selectClusters(scores: stability, allowSingleCluster: false, mustSplit: none) == [1, 2])
        #expect(tree.selectClusters(scores: stability, allowSingleCluster: true, mustSplit: none) == [1, 2])
        // A root outscoring its children is chosen only when a single cluster is allowed.
        #expect(tree.selectClusters(scores: [100, 1, 1], allowSingleCluster: true, mustSplit: none) == [0])
        #expect(tree.selectClusters(scores: [100, 1, 1], allowSingleCluster: false, mustSplit: none) == [1, 2])
    }

    @Test("selection returns an antichain")
    func antichain() {
        for tree in Self.hierarchies() {
            for allowSingleCluster in [false, true] {
                let selected = tree.selectClusters(
                    scores: tree.stabilities(), allowSingleCluster: allowSingleCluster, mustSplit: tree.gaps(factor: 2))
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

    @Test("gaps match a direct count over every descendant's split", arguments: [1.0, 1.2, 2, 4])
    func gapsMatchDirectCount(factor: Double) {
        for tree in Self.hierarchies() {
            // A split is a gap when some child keeps half its points at `factor` times its birth.
            let ownGap = tree.clusters.map { cluster in
                cluster.children.contains { child in
                    let level = factor * tree.clusters[child].birthLambda
                    let above = tree.clusters[child].members.filter { tree.exitLambda[$0] >= level }.count
                    return 2 * above >= tree.clusters[child].mass
                }
            }
            let expected = tree.clusters.indices.map { cluster in
                tree.clusters.indices.contains { split in
                    ownGap[split] && (split == cluster || Self.isAncestor(cluster, of: split, in: tree))
                }
            }
            #expect(tree.gaps(factor: factor) == expected)
            if factor == 1 {
                #expect(expected == tree.clusters.map { !$0.children.isEmpty })
            }
        }
    }

    @Test("gap-constrained selection is the best antichain of eligible clusters")
    func selectionMatchesExhaustiveSearch() {
        var generator = SeededGenerator(seed: 7)
        var checked = 0
        for seed in 0..<40 {
            let points = PipelineFixtures.blobs(
                centres: [[0.2, 0.2], [0.35, 0.3], [0.7, 0.5]], spreads: [0.05, 0.08, 0.06], sizes: [60, 60, 60],
                seed: UInt64(seed)).0
            let tree = ClusterHierarchy(
                forest: SpanningForest(points: points, minSamples: 3, graphNeighbours: 8), minClusterSize: 8)
            let count = tree.clusters.count
            guard count >= 3 && count <= 14 else { continue }
            checked += 1
            // Distinct random scores leave one best antichain; a random cluster must split, and
            // with it its ancestors.
            let scores = (0..<count).map { _ in generator.nextDouble() + 0.001 }
            var mustSplit = [Bool](repeating: false, count: count)
            var marked = Int(generator.next() % UInt64(count))
            while marked >= 0 {
                mustSplit[marked] = true
                marked = Int(tree.clusters[marked].parent)
            }
            for allowSingleCluster in [false, true] {
                let rootsEligible = allowSingleCluster || tree.rootCount > 1
                func eligible(_ cluster: Int) -> Bool {
                    !mustSplit[cluster] && (!tree.clusters[cluster].isRoot || rootsEligible)
                }
                var best = (total: -1.0, set: [Int]())
                for subset in 0..<(1 << count) {
                    let members = (0..<count).filter { subset & (1 << $0) != 0 }
                    guard members.allSatisfy(eligible) else { continue }
                    let nested = members.contains { a in members.contains { b in Self.isAncestor(a, of: b, in: tree) } }
                    guard !nested else { continue }
                    let total = members.reduce(0) { $0 + scores[$1] }
                    if total > best.total { best = (total, members) }
                }
                let selected = tree.selectClusters(
                    scores: scores, allowSingleCluster: allowSingleCluster, mustSplit: mustSplit)
                #expect(selected == best.set, "seed \(seed), allowSingleCluster \(allowSingleCluster)")
            }
        }
        #expect(checked >= 10)
    }
}
