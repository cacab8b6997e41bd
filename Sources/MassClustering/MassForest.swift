#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An ensemble of mass-estimation trees over a ``SlidingWindow``: every node counts the window
/// points in its region, and follows the window point by point.
///
/// Mass estimation (Ting, Zhou, Liu and Tan, "Mass estimation and its applications", KDD 2010;
/// "Mass estimation", Machine Learning 2013) estimates the mass of a region, the number of
/// points in it, with random partitioning trees built on small subsamples. Each of the
/// `treeCount` trees here is grown iForest-style on a random subsample of `sampleSize` window
/// points: a node picks a random dimension on which its subsample varies and splits uniformly
/// inside that range (`x < split` goes left); it is a leaf at depth `height`, or when its
/// subsample has fewer than two points or no varying dimension. The trees then count the
/// *whole window*: ``insert(slot:of:)`` descends a point to its leaf in every tree, counts it
/// there and caches where the path ends per slot; ``remove(slot:)`` uncounts it at the cached
/// end without re-descending. ``refresh(trees:from:)`` regrows the oldest trees on a fresh
/// subsample so that the partition follows drift.
///
/// The lowest common node of two points is the smallest region holding both; the mean of its
/// count over the trees (``commonMass(_:_:)``) is the mass-based dissimilarity (Aryal, Ting et
/// al., KDD 2014; Ting et al., KDD 2016): two points the same distance apart are closer in a
/// sparse region than in a dense one. Node boxes are known from the splits, so densities
/// (count / volume) come for free; volumes are stored as logarithms so that they neither
/// underflow nor overflow in many dimensions.
///
/// Storage is flat: for tree `k`, node `i` (heap order, children `2i+1` and `2i+2`, parent
/// `(i-1)/2`) lives at `k * nodesPerTree + i` of two parallel arrays: a 16-byte record of split
/// value (`Double`) and split dimension (`Int32`), what a descent reads, so that a level costs
/// one cache line; and the log volume (`Double`), which only queries read.
///
/// To keep the per-point loops free of data-dependent branches, every leaf above depth `height`
/// is extended down to depth `height` by a chain of pass-through records (split value +inf, so
/// every point goes left). A descent is then exactly `height` steps in every tree and ends at a
/// node of depth `height`, the *chain end*. Only chain ends hold counts (`2^height` `Int32` per
/// tree, 4 KB at the defaults): an insert adds 1 at its chain end and an expiry subtracts 1 at
/// the cached one, so the node records are only read while the window moves (a copy of the
/// forest held by a re-clustering stays shared) and an expiry is one store per tree. A node's
/// count is the sum over the chain ends below it, a contiguous run at depth `height`, added up
/// when a query asks. The accessors hide the chains: below a leaf, nodes read as unreachable
/// (no split, count 0, log volume -inf), and the leaf queries answer with the real leaf. Chain
/// ends are cached per window slot, `treeCount` `Int32` side by side, in chunks that are copied
/// on write one by one (``LeafCache``), so that a copy of the forest costs the owner little when
/// it next inserts.
///
/// The forest draws every random choice from its own ``SeededGenerator`` seeded with
/// `parameters.seed`, so the same seed and the same window updates give identical trees,
/// refreshes included.
///
/// ```swift
/// var window = try SlidingWindow(dimension: 2, windowSize: 10_000)
/// var expired: [SlidingWindow.Expiry] = []
/// var generator = SeededGenerator(seed: 1)
/// for id in 0..<UInt64(1_000) {
///     _ = window.append(id: id, timestamp: Double(id),
///                       values: [generator.nextDouble(), generator.nextDouble()], expired: &expired)
/// }
/// var forest = MassForest(window: window, parameters: try .init(seed: 7))
/// // Then, per new point: append to the window, remove the expired slots, insert the new one.
/// if let slot = window.append(id: 1_000, timestamp: 1_000, values: [0.5, 0.5], expired: &expired) {
///     for expiry in expired { forest.remove(slot: expiry.slot) }
///     forest.insert(slot: slot, of: window)
/// }
/// let mass = forest.mass(slot: window.slots.last!)
/// ```
///
/// - Complexity: insert is O(`treeCount * height`) reads and `treeCount` counter stores, remove
///   O(`treeCount`), both without allocation (except when a time-only window has doubled and
///   the per-slot cache follows it). Memory: see ``memoryFootprint``.
public struct MassForest: Sendable {
    /// The forest's parameters, named as in the mass-estimation literature.
    public struct Parameters: Sendable, Hashable {
        /// t, the number of trees. More trees lower the variance of mass and of the pairwise
        /// measure; each event costs O(t * h).
        public let treeCount: Int
        /// h, the depth limit: a tree has at most `2^(h+1) - 1` nodes, all allocated.
        public let height: Int
        /// psi, the subsample size a tree is grown from (all window points when fewer).
        public let sampleSize: Int
        /// The seed of the forest's generator.
        public let seed: UInt64

        /// The defaults, in this one place: t = 32, h = 10, psi = 256, seed 0. Thirty-two trees
        /// of height 10 keep an insert plus an expiry to 32 * 10 node reads and 64 counter
        /// updates, above a million points per second on one core; psi = 256 is the usual
        /// mass-estimation and iForest subsample.
        public static let `default` = Parameters(
            uncheckedTreeCount: 32, height: 10, sampleSize: 256, seed: 0)

        /// Allowed `treeCount`.
        public static let treeCountRange = 1...1_024
        /// Allowed `height` (20 already means 2 million nodes, 48 MiB, per tree).
        public static let heightRange = 1...20
        /// Allowed `sampleSize`.
        public static let sampleSizeRange = 2...(1 << 20)

        /// Validated parameters; every argument defaults to ``default``.
        /// - Throws: ``ParameterError`` naming the first value outside its range.
        public init(
            treeCount: Int = Parameters.default.treeCount,
            height: Int = Parameters.default.height,
            sampleSize: Int = Parameters.default.sampleSize,
            seed: UInt64 = Parameters.default.seed
        ) throws(ParameterError) {
            for (key, value, range) in [
                ("treeCount", treeCount, Self.treeCountRange),
                ("height", height, Self.heightRange),
                ("sampleSize", sampleSize, Self.sampleSizeRange),
            ] where !range.contains(value) {
                throw ParameterError(key: key, value: "\(value)", allowed: "\(range)")
            }
            self.init(uncheckedTreeCount: treeCount, height: height, sampleSize: sampleSize, seed: seed)
        }

        private init(uncheckedTreeCount treeCount: Int, height: Int, sampleSize: Int, seed: UInt64) {
            self.treeCount = treeCount
            self.height = height
            self.sampleSize = sampleSize
            self.seed = seed
        }
    }

    /// The parameters the forest was grown with.
    public let parameters: Parameters
    /// The number of values per point, the window's.
    public let dimension: Int
    /// Heap slots per tree, `2^(height+1) - 1`; node indices are in `0..<nodesPerTree`.
    public let nodesPerTree: Int
    /// The number of window points counted: inserted minus removed.
    public private(set) var pointCount: Int

    var nodes: [Node]
    /// Parallel to `nodes`.
    var logVolumes: [Double]
    /// Per tree, the number of counted points whose path ends at each chain end (node of depth
    /// `height`), at ``chainEndIndex(tree:chainEnd:height:)``.
    var chainEndCounts: [Int32]
    /// The chain end (depth `height`) of each counted slot in each tree. The tree-0 entry is -1
    /// while the slot is not counted, which catches a double insert or removal.
    var leafCache: LeafCache
    var generator: SeededGenerator
    /// The tree the next refresh regrows; trees are regrown round-robin, oldest first.
    var oldestTree = 0
    /// For each tree, the number of trees grown in this forest before it: a tree whose
    /// generation is unchanged still has the splits it had then (counts follow the window, splits
    /// change only when a tree is regrown). ``LeafVotes`` keeps them to reuse cached chain ends.
    var treeGenerations: [UInt64]
    /// Trees grown so far, counting regrowths.
    var grownTrees: UInt64 = 0
    /// The replacement tree being grown and counted a bounded amount at a time, if any.
    var regrowth: Regrowth?
    /// Trees scheduled for regrowth after `regrowth`.
    var pendingRegrowths = 0

    /// A node's split: see the storage paragraph of ``MassForest``.
    struct Node: Sendable {
        /// The split value; +inf for a leaf, a pass-through or an unreachable record.
        var split: Double
        /// The split dimension; 0 (a valid index) where `split` is +inf.
        var dimension: Int32

        /// A leaf or anything below one: every point goes left, to the next pass-through.
        static let passThrough = Node(split: .infinity, dimension: 0)

        var splits: Bool { split != .infinity }
    }

    /// Grows all `treeCount` trees from the window and counts its points.
    /// - Precondition: the window is not empty.
    /// - Complexity: O(t * (psi * h * dimension + n * h)) for a window of n points.
    public init(window: SlidingWindow, parameters: Parameters = .default) {
        precondition(!window.isEmpty, "a forest is grown from a non-empty window")
        self.parameters = parameters
        dimension = window.dimension
        nodesPerTree = (1 << (parameters.height + 1)) - 1
        nodes = Array(repeating: .passThrough, count: parameters.treeCount * nodesPerTree)
        logVolumes = Array(repeating: -.infinity, count: parameters.treeCount * nodesPerTree)
        chainEndCounts = Array(repeating: 0, count: parameters.treeCount << parameters.height)
        leafCache = LeafCache(treeCount: parameters.treeCount, slotCapacity: window.capacity)
        generator = SeededGenerator(seed: parameters.seed)
        treeGenerations = Array(repeating: 0, count: parameters.treeCount)
        pointCount = window.count
        refresh(trees: parameters.treeCount, from: window)
    }

    /// t, the number of trees.
    public var treeCount: Int { parameters.treeCount }

    /// Bytes held by the forest: 24 per node (split value 8, split dimension 4 and padding 4,
    /// log volume 8) for `treeCount * nodesPerTree` nodes, 4 per chain end for the counts
    /// (`treeCount * 2^height`), plus `4 * treeCount` per window slot for the cached chain ends.
    /// At the defaults: 65,504 nodes and 32,768 chain ends (1.70 MB), and 128 bytes per slot.
    public var memoryFootprint: Int {
        let perNode = MemoryLayout<Node>.stride + MemoryLayout<Double>.stride
        return nodes.count * perNode + chainEndCounts.count * MemoryLayout<Int32>.stride + leafCache.byteCount
    }

    /// The position in `nodes` of a tree's root.
    func rootPosition(of tree: Int) -> Int { tree &* nodesPerTree }

    /// Where a tree's chain end (a node at depth `height`, `2^height - 1 ..< 2^(height+1) - 1`)
    /// keeps its count in ``chainEndCounts`` (and ``LeafVotes`` its vote): the chain ends of a
    /// tree side by side, trees one after the other.
    static func chainEndIndex(tree: Int, chainEnd: Int, height: Int) -> Int {
        (tree &<< height) &+ chainEnd &- ((1 &<< height) &- 1)
    }

    // MARK: Following the window

    /// Counts the point in a live window slot: descends every tree to the point's chain end,
    /// adds 1 there and caches where each path ends.
    /// - Precondition: `window` is the window this forest counts, `slot` is live in it and not
    ///   counted yet (remove expired slots first).
    /// - Complexity: O(t * h), no allocation.
    public mutating func insert(slot: Int, of window: SlidingWindow) {
        update(inserting: slot, of: window, removing: nil)
    }

    /// Uncounts the point in `expired` and counts the one in `slot`: what a window append that
    /// expired one point asks for, in one call. `slot` may equal `expired` (a reused slot).
    /// - Precondition: `expired` is counted; `slot` is live in `window` and, unless it is
    ///   `expired`, not counted.
    /// - Complexity: O(t * h), no allocation.
    public mutating func insert(slot: Int, of window: SlidingWindow, replacing expired: Int) {
        precondition(isCounted(slot: expired), "the replaced slot is not counted")
        update(inserting: slot, of: window, removing: expired)
    }

    /// Uncounts the point in a slot: -1 at its cached chain end in every tree. Call it for each
    /// slot a window append expired, before inserting the new point.
    /// - Precondition: `slot` is counted.
    /// - Complexity: O(t), no allocation.
    public mutating func remove(slot: Int) {
        precondition(isCounted(slot: slot), "slot is not counted")
        let (trees, height) = (treeCount, parameters.height)
        chainEndCounts.withUnsafeMutableBufferPointer { counts in
            leafCache.withMutableEnds(slot: slot) { ends in
                for tree in 0..<trees {
                    counts[Self.chainEndIndex(tree: tree, chainEnd: Int(ends[tree]), height: height)] &-= 1
                }
                ends[0] = -1
            }
        }
        pointCount -= 1
        forgetInRegrowth(slot: slot)
    }

    /// Counts `slot` and, when given, first uncounts `expired`.
    private mutating func update(inserting slot: Int, of window: SlidingWindow, removing expired: Int?) {
        precondition(window.dimension == dimension, "the window's dimension differs from the forest's")
        precondition(slot >= 0 && slot < window.capacity, "slot out of range")
        growLeafCache(to: window.capacity)
        let trees = treeCount
        precondition(slot == expired || !isCounted(slot: slot), "slot is already counted")
        let (stride, height) = (nodesPerTree, parameters.height)
        window.values.withUnsafeBufferPointer { points in
            let point = points.baseAddress! + slot * dimension
            nodes.withUnsafeBufferPointer { records in
                let roots = records.baseAddress!
                chainEndCounts.withUnsafeMutableBufferPointer { counts in
                    // The expired point is uncounted first: a reused slot overwrites its chain ends.
                    if let expired {
                        leafCache.withMutableEnds(slot: expired) { ends in
                            for tree in 0..<trees {
                                counts[Self.chainEndIndex(tree: tree, chainEnd: Int(ends[tree]), height: height)] &-= 1
                            }
                            if expired != slot { ends[0] = -1 }
                        }
                    }
                    leafCache.withMutableEnds(slot: slot) { ends in
                        var tree = 0
                        while tree &+ Self.laneCount <= trees {
                            Self.chainEndsInEightTrees(
                                point, roots: roots + tree &* stride, stride: stride, height: height,
                                chainEnds: ends + tree)
                            tree &+= Self.laneCount
                        }
                        while tree < trees {
                            let end = Self.chainEnd(of: point, root: roots + tree &* stride, height: height)
                            ends[tree] = Int32(truncatingIfNeeded: end)
                            tree &+= 1
                        }
                        for tree in 0..<trees {
                            counts[Self.chainEndIndex(tree: tree, chainEnd: Int(ends[tree]), height: height)] &+= 1
                        }
                    }
                }
            }
        }
        if let expired {
            forgetInRegrowth(slot: expired)
        } else {
            pointCount += 1
        }
    }

    /// Regrows the `trees` oldest trees (round-robin) from a fresh random subsample of the
    /// window, with the window's current padded bounding box as root box, and recounts the
    /// window for them, all at once; it also finishes any refresh scheduled before. The other
    /// trees and their counts are untouched. ``scheduleRefresh(trees:)`` spreads the same work.
    /// - Precondition: `window` is the window this forest counts (same points), not empty;
    ///   `0 <= trees <= treeCount`.
    /// - Complexity: O(trees * (n + psi * h * dimension + n * h)) for a window of n points.
    public mutating func refresh(trees: Int, from window: SlidingWindow) {
        precondition(!window.isEmpty, "refresh needs a non-empty window")
        scheduleRefresh(trees: trees)
        continueRefresh(budget: .max, window: window)
    }

    /// Extends the leaf cache with uncounted entries to cover a window that has grown.
    private mutating func growLeafCache(to slotCapacity: Int) {
        leafCache.grow(toSlots: slotCapacity)
        if let covered = regrowth?.chainEnds.count, slotCapacity > covered {
            regrowth?.chainEnds.append(contentsOf: repeatElement(-1, count: slotCapacity - covered))
        }
    }

    /// How many trees ``chainEndsInEightTrees(_:roots:stride:height:chainEnds:)`` descends at once.
    static let laneCount = 8

    /// Descends a point in eight consecutive trees (`roots`, `roots + stride`, ...) down to
    /// depth `height` and stores the eight chain ends at `chainEnds[0..<8]`.
    ///
    /// The trees are descended in lockstep. Eight independent chains of loads overlap, which
    /// hides most of the cache latency a tree-at-a-time descent pays at every level; thanks to
    /// the pass-through chains no branch depends on the data. The lanes are separate variables
    /// so that they live in registers.
    @inline(__always)
    static func chainEndsInEightTrees(
        _ point: UnsafePointer<Double>, roots: UnsafePointer<Node>, stride: Int, height: Int,
        chainEnds: UnsafeMutablePointer<Int32>
    ) {
        let (r0, r1, r2, r3) = (roots, roots + stride, roots + 2 &* stride, roots + 3 &* stride)
        let (r4, r5, r6, r7) = (r0 + 4 &* stride, r1 + 4 &* stride, r2 + 4 &* stride, r3 + 4 &* stride)
        var (n0, n1, n2, n3, n4, n5, n6, n7) = (0, 0, 0, 0, 0, 0, 0, 0)
        for _ in 0..<height {
            descend(point, r0, &n0)
            descend(point, r1, &n1)
            descend(point, r2, &n2)
            descend(point, r3, &n3)
            descend(point, r4, &n4)
            descend(point, r5, &n5)
            descend(point, r6, &n6)
            descend(point, r7, &n7)
        }
        chainEnds[0] = Int32(truncatingIfNeeded: n0)
        chainEnds[1] = Int32(truncatingIfNeeded: n1)
        chainEnds[2] = Int32(truncatingIfNeeded: n2)
        chainEnds[3] = Int32(truncatingIfNeeded: n3)
        chainEnds[4] = Int32(truncatingIfNeeded: n4)
        chainEnds[5] = Int32(truncatingIfNeeded: n5)
        chainEnds[6] = Int32(truncatingIfNeeded: n6)
        chainEnds[7] = Int32(truncatingIfNeeded: n7)
    }

    /// One level of a descent: move to the child the point goes to.
    @inline(__always)
    static func descend(_ point: UnsafePointer<Double>, _ root: UnsafePointer<Node>, _ node: inout Int) {
        let record = root[node]
        node = 2 &* node &+ (point[Int(record.dimension)] < record.split ? 1 : 2)
    }

    /// Where a point's path ends at depth `height` in one tree, like one lane of
    /// ``chainEndsInEightTrees(_:roots:stride:height:chainEnds:)``.
    @inline(__always)
    static func chainEnd(of point: UnsafePointer<Double>, root: UnsafePointer<Node>, height: Int) -> Int {
        var node = 0
        for _ in 0..<height {
            descend(point, root, &node)
        }
        return node
    }

    /// The (real) leaf a point falls in, descending one tree from its root record.
    @inline(__always)
    static func leaf(of point: UnsafePointer<Double>, root: UnsafePointer<Node>) -> Int {
        var node = 0
        while true {
            let record = root[node]
            if !record.splits {
                return node
            }
            // Branch-free child choice: the comparison is unpredictable.
            node = 2 &* node &+ 2 &- (point[Int(record.dimension)] < record.split ? 1 : 0)
        }
    }

    // MARK: Queries

    /// The leaf (heap index) of a counted slot in one tree: the top of its cached chain.
    /// - Complexity: O(h).
    public func leaf(slot: Int, tree: Int) -> Int {
        precondition(tree >= 0 && tree < treeCount, "tree out of range")
        precondition(isCounted(slot: slot), "slot is not counted")
        let root = rootPosition(of: tree)
        var node = chainEnd(slot: slot, tree: tree)
        while node > 0 && !nodes[root + (node - 1) / 2].splits {
            node = (node - 1) / 2
        }
        return node
    }

    /// The cached chain end of a counted slot in one tree (unchecked).
    func chainEnd(slot: Int, tree: Int) -> Int { Int(leafCache.end(slot: slot, tree: tree)) }

    /// Calls `body` with a slot's cached chain ends (one per tree) and the trees' generations.
    func withCachedChainEnds<Result>(
        slot: Int, _ body: (UnsafePointer<Int32>, UnsafePointer<UInt64>) -> Result
    ) -> Result {
        leafCache.withEnds(slot: slot) { ends in
            treeGenerations.withUnsafeBufferPointer { body(ends, $0.baseAddress!) }
        }
    }

    /// ``withCachedChainEnds(slot:_:)`` for the forest's owner, right after an insert: `mutating`
    /// only so that a caller holding the forest in a mutable property reaches it in place (a
    /// non-mutating call from there copies the forest, a retain per array, per point). It changes
    /// nothing: the slot's chunk of the leaf cache is already the owner's after the insert.
    mutating func withInsertedChainEnds<Result>(
        slot: Int, _ body: (UnsafePointer<Int32>, UnsafePointer<UInt64>) -> Result
    ) -> Result {
        treeGenerations.withUnsafeBufferPointer { generations in
            leafCache.withMutableEnds(slot: slot) { body($0, generations.baseAddress!) }
        }
    }

    /// Whether a slot's point is counted by the forest.
    public func isCounted(slot: Int) -> Bool {
        slot >= 0 && slot < leafCache.slotCapacity && leafCache.end(slot: slot, tree: 0) >= 0
    }

    /// The leaf (heap index) each tree puts an arbitrary point in, one per tree, in tree order.
    /// `leaves` is emptied (keeping its capacity) and refilled, so a reused buffer does not
    /// allocate.
    /// - Precondition: `values.count == dimension`.
    /// - Complexity: O(t * h).
    @inlinable
    public func leafIndices(of values: some Collection<Double>, into leaves: inout [Int]) {
        values.withContiguousDoubles { leafIndices(ofContiguous: $0, into: &leaves) }
    }

    @usableFromInline
    func leafIndices(ofContiguous point: UnsafeBufferPointer<Double>, into leaves: inout [Int]) {
        precondition(point.count == dimension, "a point needs exactly `dimension` values")
        leaves.removeAll(keepingCapacity: true)
        nodes.withUnsafeBufferPointer { records in
            for tree in 0..<treeCount {
                leaves.append(Self.leaf(of: point.baseAddress!, root: records.baseAddress! + rootPosition(of: tree)))
            }
        }
    }

    /// The number of window points in a node's region; 0 below a leaf.
    /// - Complexity: O(2^(h - depth of the node)).
    public func count(tree: Int, node: Int) -> Int {
        let position = index(tree: tree, node: node)
        let belowLeaf = node > 0 && !nodes[position - node + (node - 1) / 2].splits
        return belowLeaf ? 0 : subtreeCount(tree: tree, node: node)
    }

    /// The sum of the chain-end counts below a node (itself at depth `height`): its window
    /// points, the node being reachable. Its descendants at depth `height` are the contiguous
    /// heap range from `(node + 1) * 2^(height - depth) - 1` on.
    private func subtreeCount(tree: Int, node: Int) -> Int {
        let height = parameters.height
        let depth = Int.bitWidth - 1 - (node + 1).leadingZeroBitCount
        let first = Self.chainEndIndex(tree: tree, chainEnd: ((node + 1) << (height - depth)) - 1, height: height)
        return chainEndCounts[first..<first + 1 << (height - depth)].reduce(0) { $0 + Int($1) }
    }

    /// The natural log of the volume of a node's box: the root box is the window's bounding
    /// box when the tree was grown, padded by 5% of the range on each side; each split cuts its
    /// node's box in two along the split dimension. A dimension constant in that window counts
    /// as width 1. Unreachable nodes (below a leaf) have volume 0, log -infinity.
    public func logVolume(tree: Int, node: Int) -> Double { logVolumes[index(tree: tree, node: node)] }

    /// The dimension a node splits on, or `nil` for a leaf (or an unreachable node).
    public func splitDimension(tree: Int, node: Int) -> Int? {
        let record = nodes[index(tree: tree, node: node)]
        return record.splits ? Int(record.dimension) : nil
    }

    /// A node's split value: points with `values[splitDimension] < splitValue` go to the left
    /// child `2 * node + 1`, the others to the right child `2 * node + 2`. +inf for a leaf.
    public func splitValue(tree: Int, node: Int) -> Double { nodes[index(tree: tree, node: node)].split }

    /// The lowest common node of two counted slots in one tree: the smallest region holding
    /// both. Found from the two leaves by moving the larger heap index (the deeper node, or
    /// the right one at equal depth) to its parent until the two meet.
    /// - Complexity: O(h).
    public func lowestCommonNode(_ first: Int, _ second: Int, tree: Int) -> Int {
        var a = leaf(slot: first, tree: tree)
        var b = leaf(slot: second, tree: tree)
        while a != b {
            if a > b {
                a = (a - 1) >> 1
            } else {
                b = (b - 1) >> 1
            }
        }
        return a
    }

    /// The mass of a counted slot's point: the mean over trees of its leaf's window count.
    /// - Complexity: O(t * h) plus, per tree, the chain ends below the leaf (one for a leaf at
    ///   depth `height`).
    public func mass(slot: Int) -> Double {
        meanCount { leaf(slot: slot, tree: $0) }
    }

    /// The log of a counted slot's density: log of the mean over trees of its leaf's
    /// count / volume (see ``logVolume(tree:node:)``), accumulated in log space.
    /// - Complexity: O(t * h).
    public func logDensity(slot: Int) -> Double {
        logMeanDensity { leaf(slot: slot, tree: $0) }
    }

    /// The mass-based dissimilarity of two counted slots (Aryal, Ting et al., KDD 2014): the
    /// mean over trees of the window count of their lowest common node. It is at least 2 for
    /// two different points, and small when the smallest region holding both is sparse.
    /// - Complexity: O(t * h) plus the chain ends below each tree's common node (up to `2^h`).
    public func commonMass(_ first: Int, _ second: Int) -> Double {
        meanCount { lowestCommonNode(first, second, tree: $0) }
    }

    /// The log of the mean over trees of the density (count / volume) of the lowest common
    /// node of two counted slots: the density counterpart of ``commonMass(_:_:)``.
    /// - Complexity: as ``commonMass(_:_:)``.
    public func commonLogDensity(_ first: Int, _ second: Int) -> Double {
        logMeanDensity { lowestCommonNode(first, second, tree: $0) }
    }

    private func index(tree: Int, node: Int) -> Int {
        precondition(tree >= 0 && tree < treeCount, "tree out of range")
        precondition(node >= 0 && node < nodesPerTree, "node out of range")
        return rootPosition(of: tree) + node
    }

    private func meanCount(of node: (Int) -> Int) -> Double {
        var total = 0
        for tree in 0..<treeCount {
            total += subtreeCount(tree: tree, node: node(tree))
        }
        return Double(total) / Double(treeCount)
    }

    /// log((1/t) * sum over trees of count / exp(logVolume)), as a running log-sum-exp.
    private func logMeanDensity(of node: (Int) -> Int) -> Double {
        var largest = -Double.infinity
        var scaledSum = 0.0
        for tree in 0..<treeCount {
            let node = node(tree)
            let term = log(Double(subtreeCount(tree: tree, node: node))) - logVolumes[rootPosition(of: tree) + node]
            if term == -.infinity {
                continue
            }
            if term <= largest {
                scaledSum += exp(term - largest)
            } else {
                scaledSum = scaledSum * exp(largest - term) + 1
                largest = term
            }
        }
        return largest == -.infinity ? largest : largest + log(scaledSum / Double(treeCount))
    }
}
