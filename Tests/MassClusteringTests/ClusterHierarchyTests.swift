import Foundation
@testable import MassClustering
import MMCTestSupport
import Testing

@Suite("ClusterHierarchy and selection", .tags(.unit))
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
    /// Small hierarchies of three touching blobs (3 to 14 clusters), for exhaustive searches.
    static func smallTrees() -> [(seed: Int, tree: ClusterHierarchy)] {
        (0..<40).compactMap { seed in
            let points = PipelineFixtures.blobs(
                centres: [[0.2, 0.2], [0.35, 0.3], [0.7, 0.5]], spreads: [0.05, 0.08, 0.06], sizes: [60, 60, 60],
                seed: UInt64(seed)).0
            let tree = ClusterHierarchy(
                forest: SpanningForest(points: points, minSamples: 3, graphNeighbours: 8), minClusterSize: 8)
            return (3...14).contains(tree.clusters.count) ? (seed, tree) : nil
        }
    }

    /// The antichain of `eligible` clusters of largest total score, by trying every subset.
    static func bestAntichain(in tree: ClusterHierarchy, scores: [Double], eligible: (Int) -> Bool) -> [Int] {
        let count = tree.clusters.count
        var best = (total: -1.0, set: [Int]())
        for subset in 0..<(1 << count) {
            let members = (0..<count).filter { subset & (1 << $0) != 0 }
            guard members.allSatisfy(eligible) else { continue }
            let nested = members.contains { a in members.contains { b in isAncestor(a, of: b, in: tree) } }
            guard !nested else { continue }
            let total = members.reduce(0) { $0 + scores[$1] }
            if total > best.total { best = (total, members) }
        }
        return best.set
    }

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
                let selected = tree.valleySeeds(
                    gaps: tree.gapSplits(factor: 2), twoSided: tree.twoSidedSplits(
                        densityRatio: 1.4, dimensions: [Double](repeating: 1, count: tree.clusters.count)),
                    allowSingleCluster: allowSingleCluster)
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

    @Test("gap and two-sided splits match a direct count", arguments: [1.0, 1.2, 1.5, 2, 4])
    func splitKindsMatchDirectCount(factor: Double) {
        for tree in Self.hierarchies() {
            func above(_ child: Int) -> Int {
                let level = factor * tree.clusters[child].birthLambda
                return tree.clusters[child].members.filter { tree.exitLambda[$0] >= level }.count
            }
            // A gap: some child keeps half its points at `factor` times its birth and does not
            // split below that level. Two-sided: two children keep a cluster's worth there.
            let gaps = tree.clusters.map { cluster in
                cluster.children.contains { child in
                    let level = factor * tree.clusters[child].birthLambda
                    let holds = tree.clusters[child].children.allSatisfy { tree.clusters[$0].birthLambda >= level }
                    return 2 * above(child) >= tree.clusters[child].mass && holds
                }
            }
            let twoSided = tree.clusters.map { $0.children.filter { above($0) >= tree.minClusterSize }.count >= 2 }
            #expect(tree.gapSplits(factor: factor) == gaps)
            let ones = [Double](repeating: 1, count: tree.clusters.count)
            #expect(tree.twoSidedSplits(densityRatio: factor, dimensions: ones) == twoSided)
            if factor == 1 {
                #expect(twoSided == tree.clusters.map { !$0.children.isEmpty })
            }
        }
    }

    @Test("keeping every split, or none, valley seeds are excess of mass with gaps")
    func valleySeedsKeepingEverySplit() {
        for tree in Self.hierarchies() {
            let gaps = tree.gapSplits(factor: 1.2)
            var holdsGap = gaps
            for cluster in tree.clusters.indices.reversed() where holdsGap[cluster] && !tree.clusters[cluster].isRoot {
                holdsGap[Int(tree.clusters[cluster].parent)] = true
            }
            for allowSingleCluster in [false, true] {
                let all = [Bool](repeating: true, count: tree.clusters.count)
                let expected = tree.selectClusters(
                    scores: tree.stabilities(), allowSingleCluster: allowSingleCluster, mustSplit: holdsGap)
                #expect(tree.valleySeeds(gaps: gaps, twoSided: all, allowSingleCluster: allowSingleCluster) == expected)
            }
            // Nothing kept in one component: the whole component, or (when it may not be one
            // cluster) excess of mass on the whole tree as the fallback.
            if tree.rootCount == 1 {
                let none = [Bool](repeating: false, count: tree.clusters.count)
                #expect(tree.valleySeeds(gaps: none, twoSided: none, allowSingleCluster: true) == [0])
                #expect(
                    tree.valleySeeds(gaps: none, twoSided: none, allowSingleCluster: false)
                        == tree.selectClusters(scores: tree.stabilities(), allowSingleCluster: false, mustSplit: none))
            }
        }
    }

    @Test("valley seeds are the best antichain of the tree with the undone splits removed")
    func valleySeedsMatchExhaustiveSearch() {
        var generator = SeededGenerator(seed: 11)
        var checked = 0
        for (seed, tree) in Self.smallTrees() {
            let count = tree.clusters.count
            // Random flags: about half the splits kept, a few of them gaps.
            let twoSided = (0..<count).map { _ in generator.nextDouble() < 0.5 }
            let gaps = (0..<count).map { _ in generator.nextDouble() < 0.2 }
            // The oracle: a cluster is a node of the reduced tree when it is a root or its
            // parent's split is kept; a point counts toward its exit cluster's nearest node.
            func node(_ cluster: Int) -> Bool {
                let parent = Int(tree.clusters[cluster].parent)
                return parent < 0 || twoSided[parent] || gaps[parent]
            }
            func owner(_ cluster: Int) -> Int {
                var current = cluster
                while !node(current) { current = Int(tree.clusters[current].parent) }
                return current
            }
            var scores = [Double](repeating: 0, count: count)
            for position in 0..<tree.pointCount where tree.exitCluster[position] >= 0 {
                let kept = owner(Int(tree.exitCluster[position]))
                scores[kept] += tree.exitLambda[position] - tree.clusters[kept].birthLambda
            }
            for cluster in 0..<count where node(cluster) && !tree.clusters[cluster].isRoot {
                let kept = owner(Int(tree.clusters[cluster].parent))
                scores[kept] += Double(tree.clusters[cluster].mass)
                    * (tree.clusters[cluster].birthLambda - tree.clusters[kept].birthLambda)
            }
            func holdsGap(_ cluster: Int) -> Bool {
                (0..<count).contains { gaps[$0] && ($0 == cluster || Self.isAncestor(cluster, of: $0, in: tree)) }
            }
            for allowSingleCluster in [false, true] {
                let rootsEligible = allowSingleCluster || tree.rootCount > 1
                func eligible(_ cluster: Int) -> Bool {
                    node(cluster) && !holdsGap(cluster) && (!tree.clusters[cluster].isRoot || rootsEligible)
                }
                let best = Self.bestAntichain(in: tree, scores: scores, eligible: eligible)
                guard !best.isEmpty else { continue }
                checked += 1
                let selected = tree.valleySeeds(gaps: gaps, twoSided: twoSided, allowSingleCluster: allowSingleCluster)
                #expect(selected == best, "seed \(seed), allowSingleCluster \(allowSingleCluster)")
            }
        }
        #expect(checked >= 10)
    }

    @Test("gap-constrained selection is the best antichain of eligible clusters")
    func selectionMatchesExhaustiveSearch() {
        var generator = SeededGenerator(seed: 7)
        var checked = 0
        for (seed, tree) in Self.smallTrees() {
            let count = tree.clusters.count
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
                let best = Self.bestAntichain(in: tree, scores: scores, eligible: eligible)
                let selected = tree.selectClusters(
                    scores: scores, allowSingleCluster: allowSingleCluster, mustSplit: mustSplit)
                #expect(selected == best, "seed \(seed), allowSingleCluster \(allowSingleCluster)")
            }
        }
        #expect(checked >= 10)
    }
}
