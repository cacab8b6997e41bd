import MassClustering
import MMCTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small forests keep the brute-force oracles fast in debug builds. Nine trees cover both the
/// eight-tree lockstep descent and the one-tree remainder.
func smallParameters(treeCount: Int = 9, seed: UInt64) throws -> MassForest.Parameters {
    try MassForest.Parameters(treeCount: treeCount, height: 6, sampleSize: 40, seed: seed)
}

/// The root-to-leaf path of a point in one tree, descending by the public split accessors.
func path(of values: [Double], in forest: MassForest, tree: Int) -> [Int] {
    var nodes = [0]
    while let dimension = forest.splitDimension(tree: tree, node: nodes.last!) {
        let node = nodes.last!
        nodes.append(values[dimension] < forest.splitValue(tree: tree, node: node) ? 2 * node + 1 : 2 * node + 2)
    }
    return nodes
}

/// Every node count equals a recount of the window points whose path passes through the node,
/// every cached leaf equals the leaf found by descending, and each root counts the window.
func expectConsistent(
    _ forest: MassForest, _ window: SlidingWindow, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(forest.pointCount == window.count, sourceLocation: sourceLocation)
    let points = contents(of: window)
    for tree in 0..<forest.treeCount {
        var expected = [Int](repeating: 0, count: forest.nodesPerTree)
        for (slot, point) in zip(window.slots, points) {
            let nodes = path(of: point.values, in: forest, tree: tree)
            for node in nodes {
                expected[node] += 1
            }
            #expect(forest.leaf(slot: slot, tree: tree) == nodes.last!, sourceLocation: sourceLocation)
        }
        let actual = (0..<forest.nodesPerTree).map { forest.count(tree: tree, node: $0) }
        #expect(actual == expected, "tree \(tree)", sourceLocation: sourceLocation)
        #expect(forest.count(tree: tree, node: 0) == window.count, sourceLocation: sourceLocation)
    }
}

/// Every node of every tree: split dimension (-1 for none), split value, count, log volume.
func nodeTable(_ forest: MassForest) -> [[Double]] {
    (0..<forest.treeCount).flatMap { tree in
        (0..<forest.nodesPerTree).map { node in
            [
                Double(forest.splitDimension(tree: tree, node: node) ?? -1),
                forest.splitValue(tree: tree, node: node),
                Double(forest.count(tree: tree, node: node)),
                forest.logVolume(tree: tree, node: node),
            ]
        }
    }
}

/// What a forest's owner does per point: append, uncount the expired slots, count the new one.
@discardableResult
func feed(
    _ point: (id: UInt64, timestamp: Double, values: [Double]), to window: inout SlidingWindow,
    _ forest: inout MassForest
) -> Int? {
    var expired: [SlidingWindow.Expiry] = []
    guard let slot = window.append(id: point.id, timestamp: point.timestamp, values: point.values, expired: &expired)
    else { return nil }
    for expiry in expired {
        forest.remove(slot: expiry.slot)
    }
    forest.insert(slot: slot, of: window)
    return slot
}

/// A random stream, a window filled from it with `count` points (or as many as it keeps) and a
/// forest grown on that window, all from one seed.
struct StreamingForest {
    var stream: RandomStream
    var window: SlidingWindow
    var forest: MassForest

    init(
        seed: UInt64, dimension: Int, count: Int, bounds: Bounds = .count, lateness: Double = 0,
        parameters: MassForest.Parameters? = nil
    ) throws {
        var generator = SeededGenerator(seed: seed)
        stream = RandomStream(seed: seed, dimension: dimension, lateness: lateness)
        window = try bounds.makeWindow(dimension: dimension, generator: &generator)
        var expired: [SlidingWindow.Expiry] = []
        for _ in 0..<10 * count where window.count < min(count, window.maximumCount) {
            let point = stream.next()
            _ = window.append(id: point.id, timestamp: point.timestamp, values: point.values, expired: &expired)
        }
        forest = MassForest(window: window, parameters: try parameters ?? smallParameters(seed: seed))
    }

    /// Feeds `steps` more points of the stream to the window and the forest.
    mutating func advance(_ steps: Int) {
        for _ in 0..<steps {
            feed(stream.next(), to: &window, &forest)
        }
    }
}

@Suite(.tags(.unit)) struct MassForestTests {
    @Test(arguments: Bounds.allCases, [3, 9, 16])
    func countsMatchBruteForceWhileStreaming(bounds: Bounds, treeCount: Int) throws {
        let seed = UInt64(treeCount)
        var generator = SeededGenerator(seed: seed)
        var setup = try StreamingForest(
            seed: seed, dimension: 1 + generator.nextInt(below: 8), count: 30, bounds: bounds, lateness: 30,
            parameters: try smallParameters(treeCount: treeCount, seed: seed))
        expectConsistent(setup.forest, setup.window)
        for _ in 0..<8 {
            setup.advance(50)
            expectConsistent(setup.forest, setup.window)
        }
    }

    @Test func insertReplacingMatchesRemoveThenInsert() throws {
        var separate = try StreamingForest(seed: 15, dimension: 3, count: 60, bounds: .time, lateness: 30)
        var fused = separate
        var (sameSlot, otherSlot) = (0, 0)
        for _ in 0..<400 {
            let point = separate.stream.next()
            feed(point, to: &separate.window, &separate.forest)
            var expired: [SlidingWindow.Expiry] = []
            guard let slot = fused.window.append(
                id: point.id, timestamp: point.timestamp, values: point.values, expired: &expired)
            else { continue }
            if let oldest = expired.first {
                // Replacing the oldest expired point, the new slot (the last one freed) differs
                // from the replaced one whenever more than one point expired.
                for expiry in expired.dropFirst() {
                    fused.forest.remove(slot: expiry.slot)
                }
                fused.forest.insert(slot: slot, of: fused.window, replacing: oldest.slot)
                if slot == oldest.slot { sameSlot += 1 } else { otherSlot += 1 }
            } else {
                fused.forest.insert(slot: slot, of: fused.window)
            }
        }
        #expect(sameSlot > 0 && otherSlot > 0)
        #expect(nodeTable(fused.forest) == nodeTable(separate.forest))
        expectConsistent(fused.forest, fused.window)
    }

    @Test func defaultForestOnTwoDimensionalDataStaysConsistent() throws {
        var setup = try StreamingForest(seed: 5, dimension: 2, count: 400, parameters: .default)
        setup.advance(300)
        expectConsistent(setup.forest, setup.window)
    }

    @Test func lowestCommonNodeAndItsMassMatchBruteForce() throws {
        var setup = try StreamingForest(seed: 21, dimension: 3, count: 120)
        setup.advance(150)
        let (window, forest) = (setup.window, setup.forest)
        var generator = SeededGenerator(seed: 21)
        let slots = Array(window.slots)
        let points = contents(of: window)
        let paths = (0..<forest.treeCount).map { tree in points.map { path(of: $0.values, in: forest, tree: tree) } }
        for _ in 0..<40 {
            let (a, b) = (generator.nextInt(below: slots.count), generator.nextInt(below: slots.count))
            var massSum = 0.0
            var densitySum = 0.0
            for tree in 0..<forest.treeCount {
                let common = zip(paths[tree][a], paths[tree][b]).prefix { $0 == $1 }.last!.0
                #expect(forest.lowestCommonNode(slots[a], slots[b], tree: tree) == common)
                let holding = paths[tree].filter { $0.contains(common) }.count
                #expect(holding >= (a == b ? 1 : 2))
                massSum += Double(holding)
                densitySum += Double(holding) / exp(forest.logVolume(tree: tree, node: common))
            }
            let trees = Double(forest.treeCount)
            #expect(abs(forest.commonMass(slots[a], slots[b]) - massSum / trees) < 1e-9)
            #expect(abs(forest.commonLogDensity(slots[a], slots[b]) - log(densitySum / trees)) < 1e-9)
            if a == b {
                #expect(forest.commonMass(slots[a], slots[b]) == forest.mass(slot: slots[a]))
            }
        }
    }

    @Test func massAndDensityFollowTheirDefinitions() throws {
        let setup = try StreamingForest(seed: 8, dimension: 2, count: 100)
        let (window, forest) = (setup.window, setup.forest)
        for slot in window.slots {
            let leaves = (0..<forest.treeCount).map { forest.leaf(slot: slot, tree: $0) }
            let counts = leaves.enumerated().map { Double(forest.count(tree: $0.offset, node: $0.element)) }
            let densities = leaves.enumerated().map { tree, leaf in
                Double(forest.count(tree: tree, node: leaf)) / exp(forest.logVolume(tree: tree, node: leaf))
            }
            let trees = Double(forest.treeCount)
            #expect(abs(forest.mass(slot: slot) - counts.reduce(0, +) / trees) < 1e-12)
            #expect(abs(forest.logDensity(slot: slot) - log(densities.reduce(0, +) / trees)) < 1e-9)
        }
    }

    @Test func refreshRegrowsTheOldestTreesRoundRobinAndRecounts() throws {
        var setup = try StreamingForest(seed: 3, dimension: 2, count: 60, bounds: .both, lateness: 30)
        let trees = setup.forest.treeCount
        func splits(_ tree: Int) -> [[Double]] {
            (0..<setup.forest.nodesPerTree).map { node in
                let dimension = setup.forest.splitDimension(tree: tree, node: node) ?? -1
                return [Double(dimension), setup.forest.splitValue(tree: tree, node: node)]
            }
        }
        var oldest = 0
        for round in 0..<6 {
            setup.advance(40)
            let before = (0..<trees).map(splits)
            let k = [2, 3, 0, trees, 1, 5][round]
            setup.forest.refresh(trees: k, from: setup.window)
            let regrown = Set((0..<k).map { (oldest + $0) % trees })
            for tree in 0..<trees where !regrown.contains(tree) {
                #expect(splits(tree) == before[tree], "tree \(tree) should be untouched")
            }
            #expect(k == 0 || regrown.contains { splits($0) != before[$0] })
            oldest = (oldest + k) % trees
            expectConsistent(setup.forest, setup.window)
        }
    }

    /// A scheduled refresh, done a few steps per insert while the window turns over (expiries
    /// included, time bounds and late points too), keeps every live count exact, leaves the old
    /// tree serving until its replacement counts the whole window, and swaps trees round-robin.
    @Test(arguments: Bounds.allCases)
    func aScheduledRefreshSpreadOverInsertsKeepsEveryCountExact(bounds: Bounds) throws {
        var setup = try StreamingForest(seed: 5, dimension: 3, count: 60, bounds: bounds, lateness: 30)
        let trees = setup.forest.treeCount
        let nodeRows = setup.forest.nodesPerTree
        func splits(_ tree: Int) -> [Double] {
            (0..<nodeRows).map { setup.forest.splitValue(tree: tree, node: $0) }
        }
        let before = (0..<trees).map(splits)
        setup.forest.scheduleRefresh(trees: 3)
        #expect(setup.forest.refreshesPending == 3)
        var inserts = 0
        while setup.forest.refreshesPending > 0 {
            setup.advance(1)
            setup.forest.continueRefresh(budget: 7, window: setup.window)
            inserts += 1
            let installed = 3 - setup.forest.refreshesPending
            for tree in installed..<trees {
                #expect(splits(tree) == before[tree], "tree \(tree) is replaced only when its regrowth is complete")
            }
            expectConsistent(setup.forest, setup.window)
            try #require(inserts < 10_000, "the refresh never finished")
        }
        #expect(inserts > 3, "the work was spread over several inserts")
        #expect((0..<3).allSatisfy { splits($0) != before[$0] })
        #expect((3..<trees).allSatisfy { splits($0) == before[$0] })
    }

    @Test func finishingAScheduledRefreshAtOnceEqualsAnImmediateRefresh() throws {
        let setup = try StreamingForest(seed: 6, dimension: 2, count: 80)
        var immediate = setup.forest
        var scheduled = setup.forest
        immediate.refresh(trees: 4, from: setup.window)
        scheduled.scheduleRefresh(trees: 4)
        while scheduled.continueRefresh(budget: 13, window: setup.window) {}
        #expect(nodeTable(immediate) == nodeTable(scheduled))
        #expect(scheduled.refreshesPending == 0)
    }

    @Test func sameSeedGivesIdenticalTreesAndAnotherSeedDoesNot() throws {
        var first = try StreamingForest(
            seed: 4, dimension: 4, count: 80, bounds: .time, lateness: 30, parameters: try smallParameters(seed: 99))
        var second = first
        second.forest = MassForest(window: first.window, parameters: try smallParameters(seed: 99))
        let other = MassForest(window: first.window, parameters: try smallParameters(seed: 100))
        #expect(nodeTable(first.forest) == nodeTable(second.forest))
        #expect(nodeTable(first.forest) != nodeTable(other))
        for round in 0..<3 {
            first.advance(30)
            second.advance(30)
            first.forest.refresh(trees: round + 2, from: first.window)
            second.forest.refresh(trees: round + 2, from: second.window)
            #expect(nodeTable(first.forest) == nodeTable(second.forest))
        }
    }

    @Test func constantDataMakesEveryRootALeaf() throws {
        var window = try SlidingWindow(dimension: 2, windowSize: 50)
        var expired: [SlidingWindow.Expiry] = []
        for id in 0..<UInt64(50) {
            _ = window.append(id: id, timestamp: 0, values: [0.3, -7], expired: &expired)
        }
        let forest = MassForest(window: window, parameters: try smallParameters(seed: 1))
        for tree in 0..<forest.treeCount {
            #expect(forest.splitDimension(tree: tree, node: 0) == nil)
            #expect(forest.count(tree: tree, node: 0) == 50)
            #expect(forest.logVolume(tree: tree, node: 0) == 0)
        }
        #expect(forest.mass(slot: window.slots[0]) == 50)
        var leaves: [Int] = []
        forest.leafIndices(of: [100, 100], into: &leaves)
        #expect(leaves == Array(repeating: 0, count: forest.treeCount))
        expectConsistent(forest, window)
    }

    @Test func duplicatesAndConstantDimensionsNeverCauseASplitOnThem() throws {
        var generator = SeededGenerator(seed: 12)
        var window = try SlidingWindow(dimension: 3, windowSize: 200)
        var expired: [SlidingWindow.Expiry] = []
        var forest: MassForest?
        for id in 0..<UInt64(400) {
            // Dimension 1 is constant; the others take three values, so most points are duplicates.
            let values = [Double(generator.nextInt(below: 3)), 2.5, Double(generator.nextInt(below: 3))]
            if forest == nil {
                _ = window.append(id: id, timestamp: 0, values: values, expired: &expired)
                if window.count == 30 {
                    forest = MassForest(window: window, parameters: try smallParameters(seed: 12))
                }
            } else {
                feed((id, 0, values), to: &window, &forest!)
            }
        }
        let built = try #require(forest)
        for tree in 0..<built.treeCount {
            for node in 0..<built.nodesPerTree {
                #expect(built.splitDimension(tree: tree, node: node) != 1)
            }
        }
        expectConsistent(built, window)
        // Nine distinct points, so each tree has at most nine non-empty leaves.
        for tree in 0..<built.treeCount {
            let leaves = Set(window.slots.map { built.leaf(slot: $0, tree: tree) })
            #expect(leaves.count <= 9)
        }
    }

    @Test func aSinglePointWindowGrowsLeafRoots() throws {
        var window = try SlidingWindow(dimension: 2, windowSize: 5)
        var expired: [SlidingWindow.Expiry] = []
        _ = window.append(id: 1, timestamp: 0, values: [1, 2], expired: &expired)
        var forest = MassForest(window: window, parameters: try smallParameters(seed: 2))
        #expect(forest.splitDimension(tree: 0, node: 0) == nil)
        feed((2, 1, [3, 4]), to: &window, &forest)
        expectConsistent(forest, window)
    }

    @Test func childVolumesPartitionTheParentInsideThePaddedWindowBox() throws {
        var generator = SeededGenerator(seed: 6)
        var window = try SlidingWindow(dimension: 3, windowSize: 300)
        var expired: [SlidingWindow.Expiry] = []
        for id in 0..<UInt64(300) {
            let values = [2 * generator.nextDouble() - 1, 4.0, 10 + 5 * generator.nextDouble()]
            _ = window.append(id: id, timestamp: 0, values: values, expired: &expired)
        }
        let forest = MassForest(window: window, parameters: try smallParameters(seed: 6))
        let points = contents(of: window)
        let lower = (0..<3).map { j in points.map { $0.values[j] }.min()! }
        let upper = (0..<3).map { j in points.map { $0.values[j] }.max()! }
        // Dimension 1 is constant (width 1); the others are padded by 5% of their range each side.
        let rootLogVolume = log(1.1 * (upper[0] - lower[0])) + log(1.1 * (upper[2] - lower[2]))
        for tree in 0..<forest.treeCount {
            #expect(abs(forest.logVolume(tree: tree, node: 0) - rootLogVolume) < 1e-9)
            var reachable: Set<Int> = [0]
            for node in 0..<forest.nodesPerTree where reachable.contains(node) {
                guard let dimension = forest.splitDimension(tree: tree, node: node) else { continue }
                reachable.formUnion([2 * node + 1, 2 * node + 2])
                let split = forest.splitValue(tree: tree, node: node)
                #expect(split > lower[dimension] && split <= upper[dimension])
                let parent = forest.logVolume(tree: tree, node: node)
                let share = exp(forest.logVolume(tree: tree, node: 2 * node + 1) - parent)
                    + exp(forest.logVolume(tree: tree, node: 2 * node + 2) - parent)
                #expect(abs(share - 1) < 1e-9)
            }
            for node in 0..<forest.nodesPerTree where !reachable.contains(node) {
                #expect(forest.logVolume(tree: tree, node: node) == -.infinity)
                #expect(forest.count(tree: tree, node: node) == 0)
                #expect(forest.splitDimension(tree: tree, node: node) == nil)
            }
        }
    }

    @Test func leafIndicesMatchCachedLeavesAndBruteForceDescent() throws {
        let setup = try StreamingForest(seed: 9, dimension: 5, count: 80)
        let (window, forest) = (setup.window, setup.forest)
        var generator = SeededGenerator(seed: 9)
        var leaves: [Int] = []
        for (slot, point) in zip(window.slots, contents(of: window)) {
            forest.leafIndices(of: point.values, into: &leaves)
            #expect(leaves == (0..<forest.treeCount).map { forest.leaf(slot: slot, tree: $0) })
        }
        for _ in 0..<50 {
            // Inside, around and far outside the window's box.
            let scale = [1.0, 3.0, 1_000.0][generator.nextInt(below: 3)]
            let values = (0..<5).map { _ in scale * (2 * generator.nextDouble() - 1) }
            forest.leafIndices(of: values, into: &leaves)
            #expect(leaves == (0..<forest.treeCount).map { path(of: values, in: forest, tree: $0).last! })
        }
    }

    @Test func parametersDefaultInOnePlaceAndRejectValuesOutOfRange() throws {
        let defaults = MassForest.Parameters.default
        #expect((defaults.treeCount, defaults.height, defaults.sampleSize, defaults.seed) == (32, 10, 256, 0))
        #expect(try MassForest.Parameters() == defaults)
        #expect(rejectedKey { try MassForest.Parameters(treeCount: 0) } == "treeCount")
        #expect(rejectedKey { try MassForest.Parameters(height: 0) } == "height")
        #expect(rejectedKey { try MassForest.Parameters(height: 21) } == "height")
        #expect(rejectedKey { try MassForest.Parameters(sampleSize: 1) } == "sampleSize")
        #expect(rejectedKey { try MassForest.Parameters(treeCount: 1, height: 1, sampleSize: 2) } == nil)
    }

    @Test func memoryFootprintCountsNodeRecordsAndCachedLeaves() throws {
        var window = try SlidingWindow(dimension: 2, windowSize: 1_000)
        var expired: [SlidingWindow.Expiry] = []
        for id in 0..<UInt64(300) {
            _ = window.append(id: id, timestamp: 0, values: [Double(id), Double(id % 7)], expired: &expired)
        }
        let forest = MassForest(window: window)
        #expect(forest.nodesPerTree == 2_047)
        // Node records and log volumes, the counts of 1,024 chain ends per tree, and the leaf
        // cache covering the window's 1,000 slots in chunks of 512.
        #expect(forest.memoryFootprint == 32 * 2_047 * 24 + 32 * 1_024 * 4 + 1_024 * 32 * 4)
    }

    /// Copies of the forest held while it moves on (what a re-clustering does) share the leaf
    /// cache chunk by chunk, and trees regrown meanwhile leave pending columns in the shared
    /// chunks. Neither may change a result: the forest that was copied must match, count for
    /// count and cached leaf for cached leaf, a twin fed the same points of which no copy is held, and
    /// every copy must still read as it was when it was taken.
    @Test(arguments: [false, true])
    func copiesHeldWhileTheForestMovesOnChangeNothingOnEitherSide(timeWindow: Bool) throws {
        // Several 512-slot chunks. A time window starts at 64 slots and doubles as it fills, so
        // its cache grows while copies are held.
        var stream = RandomStream(seed: 11, dimension: 2, lateness: 0)
        var window = timeWindow
            ? try SlidingWindow(dimension: 2, horizon: 600, maximumCount: 3_000)
            : try SlidingWindow(dimension: 2, windowSize: 2_000)
        var expired: [SlidingWindow.Expiry] = []
        for _ in 0..<(timeWindow ? 50 : 300) {
            let point = stream.next()
            _ = window.append(id: point.id, timestamp: point.timestamp, values: point.values, expired: &expired)
        }
        var forest = MassForest(window: window, parameters: try smallParameters(seed: 11))
        var twin = forest
        func leaves(_ forest: MassForest, slots: [Int]) -> [[Int]] {
            slots.map { slot in (0..<forest.treeCount).map { forest.leaf(slot: slot, tree: $0) } }
        }
        var held: [(forest: MassForest, slots: [Int], leaves: [[Int]], nodes: [[Double]])] = []
        var generator = SeededGenerator(seed: 12)
        for step in 0..<40 {
            if step % 3 == 0 {
                let slots = Array(window.slots)
                held.append((forest, slots, leaves(forest, slots: slots), nodeTable(forest)))
            }
            if step % 7 == 6 {
                held.removeFirst(min(2, held.count))  // some copies let go, others stay
            }
            forest.scheduleRefresh(trees: 2)
            twin.scheduleRefresh(trees: 2)
            for _ in 0..<(50 + generator.nextInt(below: 200)) {
                let point = stream.next()
                var expired: [SlidingWindow.Expiry] = []
                guard let slot = window.append(
                    id: point.id, timestamp: point.timestamp, values: point.values, expired: &expired)
                else { continue }
                for expiry in expired.dropLast() {
                    forest.remove(slot: expiry.slot)
                    twin.remove(slot: expiry.slot)
                }
                if let last = expired.last {
                    forest.insert(slot: slot, of: window, replacing: last.slot)
                    twin.insert(slot: slot, of: window, replacing: last.slot)
                } else {
                    forest.insert(slot: slot, of: window)
                    twin.insert(slot: slot, of: window)
                }
                forest.continueRefresh(budget: 400, window: window)
                twin.continueRefresh(budget: 400, window: window)
            }
            #expect(nodeTable(forest) == nodeTable(twin), "step \(step)")
            let slots = Array(window.slots)
            #expect(leaves(forest, slots: slots) == leaves(twin, slots: slots), "step \(step)")
        }
        expectConsistent(forest, window)
        try #require(!held.isEmpty)
        for copy in held {
            #expect(nodeTable(copy.forest) == copy.nodes)
            #expect(leaves(copy.forest, slots: copy.slots) == copy.leaves)
        }
    }
}
