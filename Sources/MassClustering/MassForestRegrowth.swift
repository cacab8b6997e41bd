extension MassForest {
    /// A replacement for one tree: grown on a subsample of the window, then counting the window
    /// a bounded number of points at a time, oldest first, while the live tree keeps serving.
    ///
    /// The points counted are always the `counted` oldest in arrival order: new points arrive at
    /// the newest end, and a point leaving the window that was counted is uncounted (the window
    /// only loses points from its oldest end, and losing one from the counted prefix leaves a
    /// prefix). When the prefix is the whole window, the tree counts exactly the window and
    /// replaces the live one.
    struct Regrowth: Sendable {
        /// The tree it replaces.
        let tree: Int
        var nodes: [Node]
        var logVolumes: [Double]
        /// The new tree's chain-end counts, as its part of ``MassForest/chainEndCounts``.
        var chainEndCounts: [Int32]
        /// Per window slot, the point's chain end in the new tree, or -1 while it is not counted.
        var chainEnds: [Int32]
        /// How many of the oldest window points the new tree counts.
        var counted = 0
    }

    /// Trees scheduled for regrowth that are not in place yet.
    public var refreshesPending: Int { pendingRegrowths + (regrowth == nil ? 0 : 1) }

    /// Schedules the `trees` oldest trees (round-robin) for regrowth from a fresh random
    /// subsample, like ``refresh(trees:from:)``, but does no work yet: ``continueRefresh(budget:window:)``
    /// does it a bounded amount at a time, so that a large window is never held up by a refresh.
    /// Until a tree's replacement counts the whole window, the old tree serves every query.
    /// Scheduling more trees than the forest has regrows each tree once.
    /// - Precondition: `0 <= trees <= treeCount`.
    public mutating func scheduleRefresh(trees: Int) {
        precondition(trees >= 0 && trees <= treeCount, "trees must be in 0...treeCount")
        pendingRegrowths = min(pendingRegrowths + trees, treeCount - (regrowth == nil ? 0 : 1))
    }

    /// Does up to `budget` steps of the scheduled regrowths: a step counts one window point in
    /// the tree being regrown (one descent), and starting a tree (growing it on its subsample)
    /// costs `sampleSize` steps. A tree whose replacement has counted the whole window is
    /// swapped in at once.
    /// - Precondition: `window` is the window this forest counts.
    /// - Returns: whether regrowth work remains.
    /// - Complexity: O(budget * h), plus O(n) each time a tree starts or is swapped in.
    @discardableResult
    public mutating func continueRefresh(budget: Int, window: SlidingWindow) -> Bool {
        precondition(window.dimension == dimension && window.count == pointCount, "not the window this forest counts")
        var budget = budget
        while budget > 0 {
            var grown: Regrowth
            if let started = regrowth.take() {
                grown = started
            } else {
                guard pendingRegrowths > 0, !window.isEmpty else { break }
                pendingRegrowths -= 1
                grown = startRegrowth(window: window)
                budget -= min(budget, parameters.sampleSize)
            }
            let steps = min(budget, window.count - grown.counted)
            countNext(steps, in: &grown, window: window)
            budget -= steps
            if grown.counted == window.count {
                install(grown)
            } else {
                regrowth = grown
            }
        }
        return refreshesPending > 0
    }

    /// Grows the replacement of the oldest tree on a uniform subsample (without replacement)
    /// of the window, in its current padded bounding box; it counts nothing yet.
    private mutating func startRegrowth(window: SlidingWindow) -> Regrowth {
        let box = window.paddedBox()
        var pool = window.slots.map { Int32(truncatingIfNeeded: $0) }
        let sampleCount = min(parameters.sampleSize, pool.count)
        // A partial Fisher-Yates shuffle: the first `sampleCount` entries are the subsample.
        for i in 0..<sampleCount {
            pool.swapAt(i, i + generator.nextInt(below: pool.count - i))
        }
        var sample: [Double] = []
        sample.reserveCapacity(sampleCount * dimension)
        for slot in pool[0..<sampleCount] {
            window.withValues(slot: Int(slot)) { sample.append(contentsOf: $0) }
        }
        var grower = TreeGrower(
            sample: sample, dimension: dimension, height: parameters.height, box: box, nodeCount: nodesPerTree)
        grower.grow(node: 0, depth: 0, rows: 0..<sampleCount, generator: &generator)
        let nodes = (0..<nodesPerTree).map { node in
            let splitDimension = grower.splitDimensions[node]
            return splitDimension < 0
                ? Node.passThrough : Node(split: grower.splitValues[node], dimension: splitDimension)
        }
        let tree = oldestTree
        oldestTree = (oldestTree + 1) % treeCount
        return Regrowth(
            tree: tree, nodes: nodes, logVolumes: grower.logVolumes,
            chainEndCounts: Array(repeating: 0, count: 1 << parameters.height),
            chainEnds: Array(repeating: -1, count: window.capacity))
    }

    /// Counts the next `steps` window points (in arrival order) in the replacement tree.
    private func countNext(_ steps: Int, in grown: inout Regrowth, window: SlidingWindow) {
        guard steps > 0 else { return }
        let (dimension, height) = (dimension, parameters.height)
        let slots = window.slots
        let range = grown.counted..<grown.counted + steps
        window.values.withUnsafeBufferPointer { points in
            grown.nodes.withUnsafeBufferPointer { nodes in
                grown.chainEndCounts.withUnsafeMutableBufferPointer { counts in
                    grown.chainEnds.withUnsafeMutableBufferPointer { ends in
                        for position in range {
                            let slot = slots[position]
                            let end = Self.chainEnd(
                                of: points.baseAddress! + slot &* dimension, root: nodes.baseAddress!, height: height)
                            counts[Self.chainEndIndex(tree: 0, chainEnd: end, height: height)] &+= 1
                            ends[slot] = Int32(truncatingIfNeeded: end)
                        }
                    }
                }
            }
        }
        grown.counted += steps
    }

    /// Puts a replacement that counts the whole window in place of its tree.
    private mutating func install(_ grown: Regrowth) {
        let root = rootPosition(of: grown.tree)
        nodes.replaceSubrange(root..<root + nodesPerTree, with: grown.nodes)
        logVolumes.replaceSubrange(root..<root + nodesPerTree, with: grown.logVolumes)
        let height = parameters.height
        let firstEnd = Self.chainEndIndex(tree: grown.tree, chainEnd: (1 << height) - 1, height: height)
        chainEndCounts.replaceSubrange(firstEnd..<firstEnd + grown.chainEndCounts.count, with: grown.chainEndCounts)
        // The column is -1 exactly at the slots outside the window, which are uncounted already.
        leafCache.install(column: grown.chainEnds, tree: grown.tree)
        treeGenerations[grown.tree] = grownTrees
        grownTrees += 1
    }

    /// Uncounts a slot that leaves the window from the replacement tree, if it counts it.
    mutating func forgetInRegrowth(slot: Int) {
        guard let end = regrowth?.chainEnds[slot], end >= 0 else { return }
        regrowth?.chainEndCounts[Self.chainEndIndex(tree: 0, chainEnd: Int(end), height: parameters.height)] -= 1
        regrowth?.chainEnds[slot] = -1
        regrowth?.counted -= 1
    }
}
