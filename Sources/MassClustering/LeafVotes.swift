/// Provisional cluster labels between re-clusterings, voted by the leaves of a ``MassForest``.
///
/// A re-clustering labels every window point (a cluster id, or -1 for noise). From those labels
/// each leaf of each tree remembers the majority label of the window points in it and that
/// label's share of them. A new point then gets a label in O(t * h) without re-clustering: it
/// descends every tree, each leaf votes for its majority label with weight = its share, and the
/// label with the largest summed weight wins, with `confidence` = that weight / t. The leaves
/// are the regions of mass estimation (Ting et al., KDD 2010 / MLJ 2013), so a point takes the
/// label of the points that share its regions.
///
/// The label is noise (-1) when
/// - the point lies outside the padded bounding box of the window the votes were built from
///   (the trees' edge leaves reach to infinity, so a far-away point would otherwise take the
///   label of the outermost points); the confidence is then 0;
/// - every leaf it reaches abstains: a leaf that held fewer than `minimumLeafMass` window
///   points when the votes were built (default 1: only empty leaves) does not vote; the
///   confidence is then 0;
/// - noise-labelled points carry the vote.
/// Ties between labels, in a leaf or in the vote, go to the smaller label (so noise first).
///
/// The votes copy the split structure they need (shared copy-on-write with the forest until it
/// changes), so they stay valid while the live forest moves on; building them reads the forest,
/// window and labels and changes none of them. Internally a leaf's vote is kept at the end of
/// its pass-through chain (see ``MassForest``), where the forest caches each window point, so
/// building is one pass over the cached chain ends and a query is a fixed-length descent.
///
/// ```swift
/// // `model` is a StreamModel copy taken for re-clustering, `labels` the result in window order.
/// let votes = try LeafVotes(forest: model.forest!, window: model.window, labels: labels)
/// let (label, confidence) = votes.provisionalLabel(of: [0.31, 0.42])
/// ```
///
/// - Complexity: building O(n * t + n log n) for n window points; a query O(t * h). Memory:
///   8 bytes (an `Int32` label and a `Float` share) per node at depth `height`, `t * 2^h` in
///   all, plus the shared splits.
public struct LeafVotes: Sendable {
    /// A leaf votes only if it held at least this many window points at the re-clustering.
    public let minimumLeafMass: Int
    /// The number of trees that vote.
    public let treeCount: Int
    /// The number of values per point.
    public let dimension: Int

    let height: Int
    let nodesPerTree: Int
    /// The forest's nodes when the votes were built; only their splits are read.
    let nodes: [MassForest.Node]
    /// The forest's tree generations when the votes were built.
    let generations: [UInt64]
    /// Per tree and node at depth `height` (a chain end, at
    /// ``MassForest/chainEndIndex(tree:chainEnd:height:)``): the majority label of the window
    /// points whose chain ends there, and its share (0 = abstain).
    let votes: [Vote]
    let box: PaddedBox

    /// A chain end's vote, label and share side by side so that a lookup is one load.
    struct Vote: Sendable {
        let label: Int32
        let share: Float
    }

    /// Builds the votes from one re-clustering.
    ///
    /// - Parameters:
    ///   - forest: the forest that counts `window` (e.g. from the model copy that was clustered).
    ///   - window: the window that was clustered; not empty.
    ///   - labels: one label per window point in arrival order (the order of
    ///     ``SlidingWindow/slots`` and of ``SlidingWindow/snapshot()``); -1 is noise.
    ///   - minimumLeafMass: the floor below which a leaf abstains, `>= 1`.
    /// - Throws: ``ParameterError`` when `minimumLeafMass < 1`.
    /// - Precondition: `labels.count == window.count == forest.pointCount`.
    public init(
        forest: MassForest, window: SlidingWindow, labels: [Int32], minimumLeafMass: Int = 1
    ) throws(ParameterError) {
        guard minimumLeafMass >= 1 else {
            throw ParameterError(key: "minimumLeafMass", value: "\(minimumLeafMass)", allowed: ">= 1")
        }
        precondition(!window.isEmpty && labels.count == window.count, "one label per window point")
        precondition(forest.pointCount == window.count, "the forest must count this window")
        self.minimumLeafMass = minimumLeafMass
        treeCount = forest.treeCount
        dimension = forest.dimension
        height = forest.parameters.height
        nodesPerTree = forest.nodesPerTree
        nodes = forest.nodes
        generations = forest.treeGenerations
        box = window.paddedBox()

        // Visit the points grouped by label, smallest label first. Within a group, tally its
        // points per chain end; after it, a chain end takes the group's label if it beats the
        // best so far (strictly, so ties keep the smaller label). O(n * t) apart from the sort.
        let slots = Array(window.slots)
        let byLabel = slots.indices.sorted { (labels[$0], $0) < (labels[$1], $1) }
        let ends = 1 << height
        var groupTally = [Int32](repeating: 0, count: treeCount * ends)
        var touched: [Int] = []
        var best = groupTally
        var total = groupTally
        var majority = [Int32](repeating: -1, count: treeCount * ends)
        var start = 0
        while start < byLabel.count {
            let label = labels[byLabel[start]]
            var end = start
            while end < byLabel.count && labels[byLabel[end]] == label {
                let slot = slots[byLabel[end]]
                for tree in 0..<treeCount {
                    let end = forest.chainEnd(slot: slot, tree: tree)
                    let entry = MassForest.chainEndIndex(tree: tree, chainEnd: end, height: height)
                    if groupTally[entry] == 0 {
                        touched.append(entry)
                    }
                    groupTally[entry] += 1
                }
                end += 1
            }
            for entry in touched {
                total[entry] += groupTally[entry]
                if groupTally[entry] > best[entry] {
                    best[entry] = groupTally[entry]
                    majority[entry] = label
                }
                groupTally[entry] = 0
            }
            touched.removeAll(keepingCapacity: true)
            start = end
        }
        votes = (0..<majority.count).map { entry in
            Vote(
                label: majority[entry],
                share: Int(total[entry]) >= minimumLeafMass ? Float(best[entry]) / Float(total[entry]) : 0)
        }
    }

    /// A node's majority label at the re-clustering and its share of the node's window points;
    /// share 0 means the node does not vote (below the floor, or not a leaf).
    public func majority(tree: Int, node: Int) -> (label: Int32, share: Double) {
        precondition(tree >= 0 && tree < treeCount && node >= 0 && node < nodesPerTree, "node out of range")
        let root = tree * nodesPerTree
        let isLeaf = !nodes[root + node].splits && (node == 0 || nodes[root + (node - 1) / 2].splits)
        guard isLeaf else { return (-1, 0) }
        // The leaf's chain end: its leftmost descendant at depth `height`.
        let depth = Int.bitWidth - 1 - (node + 1).leadingZeroBitCount
        let end = ((node + 1) << (height - depth)) - 1
        let entry = MassForest.chainEndIndex(tree: tree, chainEnd: end, height: height)
        return (votes[entry].label, Double(votes[entry].share))
    }

    /// The provisional label of a point: the share-weighted vote of the leaves it falls in.
    /// - Returns: the winning label (-1 for noise) and its summed weight / `treeCount`, in
    ///   `0...1`.
    /// - Precondition: `values.count == dimension`.
    /// - Complexity: O(t * h) and O(t * distinct labels met); no heap allocation for a
    ///   contiguous `values`.
    @inlinable
    public func provisionalLabel(of values: some Collection<Double>) -> (label: Int32, confidence: Double) {
        values.withContiguousDoubles { provisionalLabel(ofContiguous: $0) }
    }

    @usableFromInline
    func provisionalLabel(ofContiguous point: UnsafeBufferPointer<Double>) -> (label: Int32, confidence: Double) {
        precondition(point.count == dimension, "a point needs exactly `dimension` values")
        return withTables { $0.label(of: point) }
    }

    /// The provisional label of the point in a live window slot, as ``provisionalLabel(of:)``
    /// would give, but reading the chain ends the live forest cached when it counted the point
    /// wherever a tree has not been regrown since the votes were built: a lookup per tree instead
    /// of a descent, so labelling a point just inserted costs little beyond the insert.
    ///
    /// - Parameters:
    ///   - slot: a slot of `window` that `forest` counts.
    ///   - window: the live window.
    ///   - forest: the live forest of the model the votes were built from (a copy of it that has
    ///     moved on since): its trees of unchanged generation have the votes' splits.
    /// - Complexity: O(t) plus O(h) per tree regrown since the votes were built.
    public func provisionalLabel(
        slot: Int, of window: SlidingWindow, countedBy forest: MassForest
    ) -> (label: Int32, confidence: Double) {
        precondition(window.dimension == dimension && forest.treeCount == treeCount, "a different model")
        precondition(forest.isCounted(slot: slot), "slot is not counted")
        return withTables { tables in
            window.withValues(slot: slot) { point in
                forest.withCachedChainEnds(slot: slot) { tables.label(of: point, cachedChainEnds: $0, liveGenerations: $1) }
            }
        }
    }

    /// The provisional label of every point of a window, in arrival order (the order of
    /// ``SlidingWindow/slots``): what these votes say about the points of a later window, the
    /// evidence ``ClusterTracker`` matches a new clustering against.
    ///
    /// - Parameters:
    ///   - window: any window of the votes' dimension.
    ///   - forest: the forest counting `window` (the live forest of the model the votes were
    ///     built from, moved on since), whose cached chain ends spare most descents; `nil`, or a
    ///     slot it does not count, descends the votes' trees.
    ///   - minimumConfidence: a label whose confidence is below this is noise (-1).
    /// - Complexity: O(n * t), plus O(h) per point and tree regrown since the votes were built.
    public func provisionalLabels(
        of window: SlidingWindow, countedBy forest: MassForest?, minimumConfidence: Double = 0
    ) -> [Int32] {
        precondition(window.dimension == dimension, "a window of another dimension")
        let live = forest.flatMap { $0.treeCount == treeCount ? $0 : nil }
        var labels: [Int32] = []
        labels.reserveCapacity(window.count)
        withTables { tables in
            for slot in window.slots {
                window.withValues(slot: slot) { point in
                    let vote =
                        if let live, live.isCounted(slot: slot) {
                            live.withCachedChainEnds(slot: slot) {
                                tables.label(of: point, cachedChainEnds: $0, liveGenerations: $1)
                            }
                        } else {
                            tables.label(of: point)
                        }
                    labels.append(vote.confidence >= minimumConfidence ? vote.label : -1)
                }
            }
        }
        return labels
    }

    /// Calls `body` with the votes' arrays as raw pointers, so that a loop labelling many points
    /// touches no reference counts.
    func withTables<Result>(_ body: (Tables) -> Result) -> Result {
        nodes.withUnsafeBufferPointer { nodes in
            votes.withUnsafeBufferPointer { votes in
                generations.withUnsafeBufferPointer { generations in
                    box.lower.withUnsafeBufferPointer { lower in
                        box.upper.withUnsafeBufferPointer { upper in
                            body(
                                Tables(
                                    nodes: nodes.baseAddress!, votes: votes.baseAddress!,
                                    generations: generations.baseAddress!, lower: lower.baseAddress!,
                                    upper: upper.baseAddress!, treeCount: treeCount, height: height,
                                    nodesPerTree: nodesPerTree))
                        }
                    }
                }
            }
        }
    }

    /// The votes as raw pointers, valid only inside ``withTables(_:)``.
    struct Tables {
        let nodes: UnsafePointer<MassForest.Node>
        let votes: UnsafePointer<Vote>
        let generations: UnsafePointer<UInt64>
        let lower: UnsafePointer<Double>
        let upper: UnsafePointer<Double>
        let treeCount: Int
        let height: Int
        let nodesPerTree: Int

        /// The vote of a point, descending every tree.
        func label(of point: UnsafeBufferPointer<Double>) -> (label: Int32, confidence: Double) {
            guard contains(point) else { return (-1, 0) }
            return tally { tree in
                MassForest.chainEnd(of: point.baseAddress!, root: nodes + tree &* nodesPerTree, height: height)
            }
        }

        /// The vote of a point whose chain ends the live forest cached at `cachedChainEnds` (one
        /// per tree), its trees being of `liveGenerations`: a tree regrown since the votes were
        /// built is descended instead.
        func label(
            of point: UnsafeBufferPointer<Double>, cachedChainEnds: UnsafePointer<Int32>,
            liveGenerations: UnsafePointer<UInt64>
        ) -> (label: Int32, confidence: Double) {
            guard contains(point) else { return (-1, 0) }
            return tally { tree in
                liveGenerations[tree] == generations[tree]
                    ? Int(cachedChainEnds[tree])
                    : MassForest.chainEnd(of: point.baseAddress!, root: nodes + tree &* nodesPerTree, height: height)
            }
        }

        /// Whether the point lies in the padded box of the window the votes were built from.
        private func contains(_ point: UnsafeBufferPointer<Double>) -> Bool {
            for j in 0..<point.count where !(lower[j] <= point[j] && point[j] <= upper[j]) {
                return false
            }
            return true
        }

        /// The share-weighted vote of the chain ends `chainEnd(tree)` of one point, one per tree.
        @inline(__always)
        private func tally(chainEnd: (Int) -> Int) -> (label: Int32, confidence: Double) {
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: treeCount) { candidates in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: treeCount) { weights in
                    var distinct = 0
                    for tree in 0..<treeCount {
                        let vote = votes[MassForest.chainEndIndex(tree: tree, chainEnd: chainEnd(tree), height: height)]
                        guard vote.share > 0 else { continue }
                        let (label, share) = (vote.label, Double(vote.share))
                        var known = 0
                        while known < distinct && candidates[known] != label {
                            known += 1
                        }
                        if known < distinct {
                            weights[known] += share
                        } else {
                            candidates[distinct] = label
                            weights[distinct] = share
                            distinct += 1
                        }
                    }
                    guard distinct > 0 else { return (-1, 0) }
                    var winner = 0
                    for candidate in 1..<distinct
                    where weights[candidate] > weights[winner]
                        || (weights[candidate] == weights[winner] && candidates[candidate] < candidates[winner])
                    {
                        winner = candidate
                    }
                    return (candidates[winner], weights[winner] / Double(treeCount))
                }
            }
        }
    }
}
