import MassClustering
import MMCTestSupport
import Testing

/// Three well-separated blobs (labels 0, 1, 2) plus uniform noise points labelled -1, in 2-D.
struct LabelledWindow {
    var window: SlidingWindow
    var labels: [Int32] = []
    var forest: MassForest

    static let centers: [[Double]] = [[0.1, 0.1], [0.9, 0.9], [0.1, 0.9]]

    init(seed: UInt64, noise: Int = 15) throws {
        var generator = SeededGenerator(seed: seed)
        window = try SlidingWindow(dimension: 2, windowSize: 400)
        var expired: [SlidingWindow.Expiry] = []
        for id in 0..<UInt64(300 + noise) {
            let label = id < 300 ? Int32(id % 3) : -1
            let values = label < 0
                ? [generator.nextDouble(), generator.nextDouble()]
                : Self.centers[Int(label)].map { $0 + 0.1 * (generator.nextDouble() - 0.5) }
            _ = window.append(id: id, timestamp: 0, values: values, expired: &expired)
            labels.append(label)
        }
        let parameters = try MassForest.Parameters(height: 8, sampleSize: 64, seed: seed)
        forest = MassForest(window: window, parameters: parameters)
    }
}

/// The majority label (ties to the smaller) and share of the window points in each node of
/// `tree` that holds any, as `LeafVotes` documents them: every point counted in the leaf the
/// forest puts it in (one pass over the window per tree).
func bruteForceMajorities(_ setup: LabelledWindow, tree: Int, floor: Int) -> [Int: (label: Int32, share: Double)] {
    var tallies: [Int: [Int32: Int]] = [:]
    for (slot, label) in zip(setup.window.slots, setup.labels) {
        tallies[setup.forest.leaf(slot: slot, tree: tree), default: [:]][label, default: 0] += 1
    }
    return tallies.mapValues { tally in
        let total = tally.values.reduce(0, +)
        let best = tally.max(by: { ($0.value, -$0.key) < ($1.value, -$1.key) })!
        return (best.key, total >= floor ? Double(Float(best.value) / Float(total)) : 0)
    }
}

@Suite(.tags(.unit)) struct LeafVotesTests {
    @Test(arguments: [1, 3])
    func leafMajoritiesMatchBruteForce(floor: Int) throws {
        let setup = try LabelledWindow(seed: 1)
        let votes = try LeafVotes(
            forest: setup.forest, window: setup.window, labels: setup.labels, minimumLeafMass: floor)
        for tree in 0..<setup.forest.treeCount {
            let majorities = bruteForceMajorities(setup, tree: tree, floor: floor)
            for node in 0..<setup.forest.nodesPerTree {
                let actual = votes.majority(tree: tree, node: node)
                // A node no point reaches: no label, no share.
                let expected = majorities[node] ?? (-1, 0)
                #expect(actual.label == expected.label && actual.share == expected.share, "tree \(tree) node \(node)")
            }
        }
    }

    @Test func provisionalLabelIsTheShareWeightedVote() throws {
        let setup = try LabelledWindow(seed: 2)
        let votes = try LeafVotes(forest: setup.forest, window: setup.window, labels: setup.labels)
        // The window's bounding box, padded by 5% of the range on each side.
        let points = contents(of: setup.window)
        let box = (0..<2).map { j in
            let (low, high) = (points.map { $0.values[j] }.min()!, points.map { $0.values[j] }.max()!)
            return (low - 0.05 * (high - low))...(high + 0.05 * (high - low))
        }
        var generator = SeededGenerator(seed: 2)
        var leaves: [Int] = []
        var outside = 0
        for _ in 0..<300 {
            let query = [1.2 * generator.nextDouble() - 0.1, 1.2 * generator.nextDouble() - 0.1]
            setup.forest.leafIndices(of: query, into: &leaves)
            var weights: [Int32: Double] = [:]
            let inside = box[0].contains(query[0]) && box[1].contains(query[1])
            outside += inside ? 0 : 1
            for (tree, leaf) in leaves.enumerated() where inside {
                let vote = votes.majority(tree: tree, node: leaf)
                if vote.share > 0 {
                    weights[vote.label, default: 0] += vote.share
                }
            }
            let winner = weights.max { ($0.value, -$0.key) < ($1.value, -$1.key) } ?? (key: -1, value: 0)
            let result = votes.provisionalLabel(of: query)
            #expect(result.label == winner.key)
            #expect(abs(result.confidence - winner.value / Double(setup.forest.treeCount)) < 1e-12)
        }
        #expect(outside > 10 && outside < 150)
    }

    @Test func windowPointsGetTheirClusterLabel() throws {
        let setup = try LabelledWindow(seed: 3)
        let votes = try LeafVotes(forest: setup.forest, window: setup.window, labels: setup.labels)
        for (point, label) in zip(contents(of: setup.window), setup.labels) where label >= 0 {
            let result = votes.provisionalLabel(of: point.values)
            #expect(result.label == label)
            #expect(result.confidence > 0.5)
        }
    }

    @Test func farAwayPointsAreNoiseWithZeroConfidence() throws {
        let setup = try LabelledWindow(seed: 4)
        let votes = try LeafVotes(forest: setup.forest, window: setup.window, labels: setup.labels)
        for query in [[5.0, 5.0], [-3, 0.5], [0.5, 40], [0.1, -0.2]] {
            let result = votes.provisionalLabel(of: query)
            #expect(result.label == -1 && result.confidence == 0)
        }
        // Just inside the padded box, next to cluster 0, a point still gets a label.
        #expect(votes.provisionalLabel(of: [0.06, 0.06]).label == 0)
    }

    @Test func noiseDominatedLeavesVoteNoise() throws {
        let setup = try LabelledWindow(seed: 5)
        let allNoise = [Int32](repeating: -1, count: setup.labels.count)
        let votes = try LeafVotes(forest: setup.forest, window: setup.window, labels: allNoise)
        for point in contents(of: setup.window) {
            let result = votes.provisionalLabel(of: point.values)
            #expect(result.label == -1 && result.confidence == 1)
        }
    }

    @Test func leavesBelowTheMassFloorAbstain() throws {
        let setup = try LabelledWindow(seed: 6)
        let votes = try LeafVotes(
            forest: setup.forest, window: setup.window, labels: setup.labels, minimumLeafMass: setup.window.count + 1)
        for point in contents(of: setup.window) {
            let result = votes.provisionalLabel(of: point.values)
            #expect(result.label == -1 && result.confidence == 0)
        }
    }

    @Test func votesStayValidWhileTheForestMovesOnAndLeaveItUntouched() throws {
        var setup = try LabelledWindow(seed: 7)
        let countsBefore = nodeTable(setup.forest)
        let votes = try LeafVotes(forest: setup.forest, window: setup.window, labels: setup.labels)
        #expect(nodeTable(setup.forest) == countsBefore)
        let queries = contents(of: setup.window).map(\.values)
        let answers = queries.map { votes.provisionalLabel(of: $0) }
        setup.forest.refresh(trees: setup.forest.treeCount, from: setup.window)
        var generator = SeededGenerator(seed: 7)
        for id in 1_000..<UInt64(1_200) {
            feed((id, 0, [generator.nextDouble(), generator.nextDouble()]), to: &setup.window, &setup.forest)
        }
        for (query, answer) in zip(queries, answers) {
            let again = votes.provisionalLabel(of: query)
            #expect(again.label == answer.label && again.confidence == answer.confidence)
        }
    }

    /// The slot form reuses the live forest's cached chain ends where a tree kept its splits and
    /// descends the others; either way it must agree with labelling the point's values.
    @Test(arguments: [0, 1, 5, 8])
    func labellingALiveSlotAgreesWithLabellingItsValues(refreshedTrees: Int) throws {
        let setup = try LabelledWindow(seed: 4)
        var model = StreamModel(window: setup.window, parameters: setup.forest.parameters)
        let votes = try LeafVotes(forest: model.forest!, window: model.window, labels: setup.labels)
        var generator = SeededGenerator(seed: 9)
        var checked = 0
        for id in UInt64(1_000)..<1_300 {
            if id == 1_150 { model.refreshTrees(count: refreshedTrees) }
            let values = [generator.nextDouble() * 1.2 - 0.1, generator.nextDouble() * 1.2 - 0.1]
            let inserted = model.insert(id: id, timestamp: 0, values: values)
            let slot = try #require(inserted)
            let fromSlot = votes.provisionalLabel(slot: slot, of: model.window, countedBy: model.forest!)
            let fromValues = votes.provisionalLabel(of: values)
            #expect(fromSlot.label == fromValues.label && fromSlot.confidence == fromValues.confidence, "point \(id)")
            checked += fromValues.confidence > 0 ? 1 : 0
        }
        #expect(checked > 100, "most points fall inside the votes' box and get a real vote")
    }

    /// The batch insert labels each point right after its own insert: a later point of the same
    /// batch that takes over its slot (the window is smaller than the batch) cannot change it.
    @Test func aBatchInsertLabelsEveryPointAsItsValuesWould() throws {
        let setup = try LabelledWindow(seed: 6)
        var model = StreamModel(window: setup.window, parameters: setup.forest.parameters)
        let votes = try LeafVotes(forest: model.forest!, window: model.window, labels: setup.labels)
        var generator = SeededGenerator(seed: 11)
        let count = 900
        let values = (0..<2 * count).map { _ in generator.nextDouble() * 1.2 - 0.1 }
        var labels: [(label: Int32, confidence: Double)] = []
        let inserted = model.insert(
            ids: (0..<UInt64(count)).map { 5_000 + $0 }, timestamps: Array(repeating: 0, count: count), values: values,
            labelledBy: votes, into: &labels)
        #expect(inserted == count && model.window.count == 400)
        try #require(labels.count == count)
        for index in 0..<count {
            let expected = votes.provisionalLabel(of: values[2 * index..<2 * index + 2])
            #expect(labels[index].label == expected.label && labels[index].confidence == expected.confidence)
        }
        var unlabelled: [(label: Int32, confidence: Double)] = []
        model.insert(ids: [9_999], timestamps: [0], values: [0.5, 0.5], labelledBy: nil, into: &unlabelled)
        #expect(unlabelled.isEmpty)
    }

    /// The labels of a whole later window, from the live forest's cache or by descent, are the
    /// labels of its points' values; a confidence floor turns the weaker votes into noise.
    @Test func aLaterWindowIsLabelledAsItsPointsValuesWouldBe() throws {
        let setup = try LabelledWindow(seed: 8)
        var model = StreamModel(window: setup.window, parameters: setup.forest.parameters)
        let votes = try LeafVotes(forest: model.forest!, window: model.window, labels: setup.labels)
        var generator = SeededGenerator(seed: 13)
        for id in UInt64(2_000)..<2_400 {
            if id == 2_200 { model.refreshTrees(count: 3) }
            model.insert(id: id, timestamp: 0, values: [generator.nextDouble() * 1.2 - 0.1, generator.nextDouble()])
        }
        let expected = model.window.slots.map { slot in
            model.window.withValues(slot: slot) { votes.provisionalLabel(of: Array($0)) }
        }
        #expect(votes.provisionalLabels(of: model.window, countedBy: model.forest) == expected.map(\.label))
        #expect(votes.provisionalLabels(of: model.window, countedBy: nil) == expected.map(\.label))
        let floored = votes.provisionalLabels(of: model.window, countedBy: model.forest, minimumConfidence: 0.5)
        #expect(floored == expected.map { $0.confidence >= 0.5 ? $0.label : -1 })
        #expect(floored.contains(-1) && floored.contains { $0 >= 0 })
    }

    @Test func aFloorBelowOneIsRejected() throws {
        let setup = try LabelledWindow(seed: 8)
        #expect(throws: ParameterError.self) {
            try LeafVotes(forest: setup.forest, window: setup.window, labels: setup.labels, minimumLeafMass: 0)
        }
    }
}
