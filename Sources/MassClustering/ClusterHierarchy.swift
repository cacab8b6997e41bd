/// HDBSCAN's condensed cluster tree of a spanning forest (Campello, Moulavi & Sander 2013;
/// McInnes & Healy 2017).
///
/// Single linkage merges the forest's edges in ascending weight; read from the top, with
/// `lambda = 1 / weight` growing, the dendrogram splits clusters apart. Condensing keeps only
/// the splits that matter at `minClusterSize`: when a cluster splits, the parts with fewer than
/// `minClusterSize` points *fall out* of it at that lambda; if exactly one part is that large,
/// the cluster carries on as that part; if two or more are, the cluster ends in a *true split*
/// and each large part is born as a child cluster at that lambda; if none is, all its remaining
/// points fall out and the cluster ends.
///
/// All merges at one weight happen at once: a cluster may split into several parts at one
/// lambda, and its children are all the large ones. (HDBSCAN's binary dendrogram instead takes
/// equal weights one at a time, in an order that depends on point indices; mutual reachability
/// makes such ties common, since every edge of a sparse point weighs its core distance.) So the
/// tree depends only on the single-linkage partitions, not on the order of the points.
///
/// Each connected component of the forest is a root, born at lambda 0 (its distance to the
/// rest is infinite); a component smaller than `minClusterSize` is noise and belongs to no
/// cluster. A merge at weight 0 (identical points under `minSamples`) is never a split: no
/// positive distance separates its parts, so its points leave their cluster together at
/// lambda = infinity.
///
/// **Flat layout.** Points are stored in ``pointOrder``, the leaf order of the dendrogram, in
/// which every cluster's subtree (its own points and its descendants' points) is the
/// contiguous range ``Cluster/members``. Per position, ``exitCluster`` is the cluster the point
/// falls out of (its deepest cluster) and ``exitLambda`` the lambda at which it does. Clusters
/// are numbered so that a parent comes before its children and the children of a true split
/// are consecutive.
///
/// ```swift
/// let points = PointMatrix(rows: [[0], [1], [2], [3], [10], [11], [12], [13]])
/// let forest = SpanningForest(points: points, minSamples: 0, graphNeighbours: 3)
/// let tree = ClusterHierarchy(forest: forest, minClusterSize: 3)
/// tree.clusters.count // 2: the forest has two components, each its own root
/// ```
///
/// - Complexity: O(n α(n)) time and O(n) memory for n points (edges already sorted).
public struct ClusterHierarchy: Sendable {
    /// One condensed cluster.
    public struct Cluster: Sendable, Equatable {
        /// The parent cluster, or -1 for a root.
        public let parent: Int32
        /// The cluster numbers of the children born at this cluster's true split; empty when
        /// it has none, else at least two.
        public let children: Range<Int>
        /// Positions in ``ClusterHierarchy/pointOrder`` of the cluster's whole subtree.
        public let members: Range<Int>
        /// The lambda at which the cluster appears: 0 for a root, else its parent's split lambda.
        public let birthLambda: Double
        /// The largest exit lambda over the points of the subtree: where its densest part ends.
        public let peakLambda: Double
        /// Points whose exit cluster is this one (they fell out of it, or it ended under them).
        public let ownPointCount: Int
        /// Sum over own points of `exitLambda - birthLambda`.
        public let ownExcess: Double

        /// Points in the subtree: own points plus all descendants' points.
        public var mass: Int { members.count }
        /// Whether this cluster is a connected component of the forest.
        public var isRoot: Bool { parent < 0 }
    }

    /// Number of points.
    public let pointCount: Int
    /// The smallest size of a cluster.
    public let minClusterSize: Int
    /// The condensed clusters; a parent precedes its children.
    public let clusters: [Cluster]
    /// Point index at each position: every cluster's subtree is a contiguous range.
    public let pointOrder: [Int32]
    /// Per position: the cluster the point falls out of, or -1 for a point of a component
    /// smaller than `minClusterSize`.
    public let exitCluster: [Int32]
    /// Per position: the lambda at which the point falls out of ``exitCluster`` (0 for noise
    /// components, infinity for points never separated by a positive distance).
    public let exitLambda: [Double]

    /// The number of root clusters (components with at least `minClusterSize` points).
    public var rootCount: Int { clusters.reduce(0) { $0 + ($1.isRoot ? 1 : 0) } }

    /// Condenses the single-linkage dendrogram of `forest`.
    ///
    /// - Parameters:
    ///   - forest: the spanning forest; its edges are in merge order.
    ///   - minClusterSize: the smallest number of points that forms a cluster; at least 2.
    /// - Complexity: O(n α(n)) time, O(n) memory.
    public init(forest: SpanningForest, minClusterSize: Int) {
        precondition(minClusterSize >= 2, "ClusterHierarchy: minClusterSize must be at least 2")
        let n = forest.pointCount
        let merges = forest.edges.count
        let (mergeChildren, size, hasParent) = Self.dendrogram(of: forest)
        func lambda(_ node: Int) -> Double {
            let weight = forest.edges[node - n].weight
            return weight > 0 ? 1 / weight : .infinity
        }
        let (start, pointOrder) = Self.layout(pointCount: n, mergeChildren: mergeChildren, size: size, hasParent: hasParent)
        func range(_ node: Int) -> Range<Int> { Int(start[node])..<Int(start[node] + size[node]) }

        // Condensing, top-down. `nodeCluster` is the live cluster a node belongs to, or -1.
        var nodeCluster = [Int32](repeating: -1, count: n + merges)
        var exitCluster = [Int32](repeating: -1, count: n)
        var exitLambda = [Double](repeating: 0, count: n)
        var parent = [Int32](), children = [Range<Int>](), members = [Range<Int>]()
        var birth = [Double]()
        func newCluster(node: Int, parent clusterParent: Int32, birth born: Double) {
            nodeCluster[node] = Int32(parent.count)
            parent.append(clusterParent)
            children.append(0..<0)
            members.append(range(node))
            birth.append(born)
        }
        func fallOut(node: Int, from cluster: Int32, at value: Double) {
            for position in range(node) {
                exitCluster[position] = cluster
                exitLambda[position] = value
            }
        }
        // Scratch buffers reused for every node.
        var group = [Int](), parts = [Int](), large = [Int]()
        for node in stride(from: n + merges - 1, through: n, by: -1) {
            if !hasParent[node] && Int(size[node]) >= minClusterSize {
                newCluster(node: node, parent: -1, birth: 0)
            }
            let cluster = nodeCluster[node]
            guard cluster >= 0 else { continue }
            let weight = forest.edges[node - n].weight
            let value = lambda(node)
            // The parts the cluster falls into at this weight: the subtrees below the maximal
            // run of merges of the same weight. Their inner nodes stay at -1 and are skipped.
            group.removeAll(keepingCapacity: true)
            parts.removeAll(keepingCapacity: true)
            large.removeAll(keepingCapacity: true)
            func visit(_ child: Int32) {
                if child >= n && forest.edges[Int(child) - n].weight == weight {
                    group.append(Int(child))
                } else {
                    parts.append(Int(child))
                    // At lambda = infinity nothing separates: no part counts as large.
                    if Int(size[Int(child)]) >= minClusterSize && weight > 0 { large.append(Int(child)) }
                }
            }
            group.append(node)
            while let inner = group.popLast() {
                visit(mergeChildren[inner - n].left)
                visit(mergeChildren[inner - n].right)
            }
            if large.count >= 2 {
                children[Int(cluster)] = parent.count..<parent.count + large.count
                for part in large {
                    newCluster(node: part, parent: cluster, birth: value)
                }
            } else if large.count == 1 {
                nodeCluster[large[0]] = cluster
            }
            for part in parts where nodeCluster[part] < 0 {
                fallOut(node: part, from: cluster, at: value)
            }
        }

        // Own-point integrals, then peaks bottom-up (children have larger numbers).
        let count = parent.count
        var ownCount = [Int](repeating: 0, count: count)
        var ownExcess = [Double](repeating: 0, count: count)
        var peak = birth
        for position in 0..<n where exitCluster[position] >= 0 {
            let cluster = Int(exitCluster[position])
            let exit = exitLambda[position]
            ownCount[cluster] += 1
            if exit > birth[cluster] { ownExcess[cluster] += exit - birth[cluster] }
            peak[cluster] = max(peak[cluster], exit)
        }
        for cluster in stride(from: count - 1, through: 0, by: -1) where parent[cluster] >= 0 {
            peak[Int(parent[cluster])] = max(peak[Int(parent[cluster])], peak[cluster])
        }
        self.pointCount = n
        self.minClusterSize = minClusterSize
        self.clusters = (0..<count).map {
            Cluster(
                parent: parent[$0], children: children[$0], members: members[$0],
                birthLambda: birth[$0], peakLambda: peak[$0],
                ownPointCount: ownCount[$0], ownExcess: ownExcess[$0])
        }
        self.pointOrder = pointOrder
        self.exitCluster = exitCluster
        self.exitLambda = exitLambda
    }

    /// The single-linkage dendrogram of `forest`: node `n + e` merges along edge `e`, nodes
    /// `0..<n` are the points, and a parent always has a larger number than its children.
    /// Built apart from the rest so that its arrays are constants to the closures there.
    private static func dendrogram(
        of forest: SpanningForest
    ) -> (mergeChildren: [(left: Int32, right: Int32)], size: [Int32], hasParent: [Bool]) {
        let n = forest.pointCount
        let merges = forest.edges.count
        var mergeChildren = [(left: Int32, right: Int32)](repeating: (0, 0), count: merges)
        var size = [Int32](repeating: 1, count: n + merges)
        var hasParent = [Bool](repeating: false, count: n + merges)
        var sets = DisjointSets(count: n)
        var setNode = (0..<n).map { Int32($0) }
        for (e, edge) in forest.edges.enumerated() {
            // A forest edge always joins two sets.
            let rootA = sets.find(Int(edge.a)), rootB = sets.find(Int(edge.b))
            let left = setNode[rootA], right = setNode[rootB]
            setNode[sets.unite(roots: rootA, rootB)] = Int32(n + e)
            mergeChildren[e] = (left, right)
            size[n + e] = size[Int(left)] + size[Int(right)]
            hasParent[Int(left)] = true
            hasParent[Int(right)] = true
        }
        return (mergeChildren, size, hasParent)
    }

    /// The dendrogram laid out top-down: each node's points are the positions
    /// `start ..< start + size` of `pointOrder`.
    private static func layout(
        pointCount n: Int, mergeChildren: [(left: Int32, right: Int32)], size: [Int32], hasParent: [Bool]
    ) -> (start: [Int32], pointOrder: [Int32]) {
        let nodes = n + mergeChildren.count
        var start = [Int32](repeating: 0, count: nodes)
        var pointOrder = [Int32](repeating: 0, count: n)
        var cursor: Int32 = 0
        for node in stride(from: nodes - 1, through: 0, by: -1) {
            if !hasParent[node] {
                start[node] = cursor
                cursor += size[node]
            }
            if node < n {
                pointOrder[Int(start[node])] = Int32(node)
            } else {
                let (left, right) = mergeChildren[node - n]
                start[Int(left)] = start[node]
                start[Int(right)] = start[node] + size[Int(left)]
            }
        }
        return (start, pointOrder)
    }
}
