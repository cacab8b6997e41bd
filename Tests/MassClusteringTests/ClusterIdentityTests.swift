import Foundation
import MassClustering
import MMCTestSupport
import Testing

/// The drifting stream of issue 14: five Gaussian clusters in the unit square that drift slowly
/// and never touch, 5% uniform noise (label 0); cluster 5 dies half-way (at point 30,000) and
/// cluster 6 is born at point 40,000 where cluster 5 used to be. Point `i` has id `i`.
struct FiveClusterStream {
    /// A cluster alive over `life` whose centre moves from `start` to `end` meanwhile.
    struct Component {
        let label: Int
        let life: Range<Int>
        let start: (Double, Double)
        let end: (Double, Double)
        let spread: Double
    }

    static let length = 60_000
    static let noiseFraction = 0.05
    static let components = [
        Component(label: 1, life: 0..<length, start: (0.15, 0.20), end: (0.30, 0.25), spread: 0.020),
        Component(label: 2, life: 0..<length, start: (0.70, 0.20), end: (0.80, 0.35), spread: 0.030),
        Component(label: 3, life: 0..<length, start: (0.20, 0.75), end: (0.35, 0.65), spread: 0.025),
        Component(label: 4, life: 0..<length, start: (0.75, 0.80), end: (0.60, 0.75), spread: 0.020),
        Component(label: 5, life: 0..<30_000, start: (0.45, 0.50), end: (0.55, 0.50), spread: 0.025),
        Component(label: 6, life: 40_000..<length, start: (0.50, 0.45), end: (0.45, 0.55), spread: 0.025),
    ]

    /// Coordinates (row-major) and true labels of points `range`; a pure function of the index.
    static func points(_ range: Range<Int>) -> (values: [Double], labels: [Int]) {
        var values: [Double] = []
        var labels: [Int] = []
        values.reserveCapacity(2 * range.count)
        for index in range {
            var generator = SeededGenerator(seed: 0x5EED_0000 &+ UInt64(index))
            let alive = components.filter { $0.life.contains(index) }
            if generator.nextDouble() < noiseFraction {
                values += [generator.nextDouble(), generator.nextDouble()]
                labels.append(0)
                continue
            }
            let component = alive[generator.nextInt(below: alive.count)]
            let age = Double(index - component.life.lowerBound) / Double(component.life.count)
            let radius = (-2 * log(max(generator.nextDouble(), 1e-300))).squareRoot()
            let angle = 2 * Double.pi * generator.nextDouble()
            values.append(component.start.0 + (component.end.0 - component.start.0) * age + component.spread * radius * cos(angle))
            values.append(component.start.1 + (component.end.1 - component.start.1) * age + component.spread * radius * sin(angle))
            labels.append(component.label)
        }
        return (values, labels)
    }
}

/// What the daemon does at each re-clustering, in the pure core: cluster the window scaled to
/// [0, 1], label its points with the previous clustering's leaf votes, match, build the votes.
struct TrackedReplay {
    /// One re-clustering: the stream index it ran at, its events, the stable id (-1 noise) of
    /// every window point in arrival order, and the true labels of those points.
    struct Step {
        let end: Int
        let events: [ClusterTracker.Event]
        let ids: [Int64]
        let truth: [Int]
    }

    /// The steps, and the provisional stable id (-1 noise) of every point from the clustering
    /// before it (points before the first clustering are absent).
    let steps: [Step]
    let provisional: [Int: Int64]

    init(windowSize: Int, every: Int) throws {
        let stream = FiveClusterStream.points(0..<FiveClusterStream.length)
        var model = StreamModel(
            window: try SlidingWindow(dimension: 2, windowSize: windowSize),
            parameters: try MassForest.Parameters(seed: 42))
        let parameters = try ClusteringParameters()
        var tracker = ClusterTracker()
        var previous: (votes: LeafVotes, stableIDs: [UInt64])?
        var steps: [Step] = []
        var provisional: [Int: Int64] = [:]
        var position = 0
        while position + every <= FiveClusterStream.length {
            let range = position..<(position + every)
            var labels: [(label: Int32, confidence: Double)] = []
            model.insert(
                ids: range.map { UInt64($0) }, timestamps: range.map { Double($0) },
                values: Array(stream.values[(2 * range.lowerBound)..<(2 * range.upperBound)]),
                labelledBy: previous?.votes, into: &labels)
            if let previous {
                for (index, vote) in zip(range, labels) {
                    provisional[index] = vote.label >= 0 ? Int64(previous.stableIDs[Int(vote.label)]) : -1
                }
            }
            position = range.upperBound
            model.scheduleTreeRefresh(count: 4)
            let snapshot = model.snapshot()
            let matrix = PointMatrix(count: snapshot.count, dimension: 2, values: snapshot.values).minMaxScaled()
            let clustering = cluster(matrix, parameters: parameters)
            let inherited = previous.map { previous in
                previous.votes.provisionalLabels(
                    of: model.window, countedBy: model.forest, minimumConfidence: tracker.configuration.voteConfidence
                ).map {
                    $0 >= 0 ? previous.stableIDs[Int($0)] : nil
                }
            }
            let update = tracker.update(
                pointIDs: snapshot.ids, labels: clustering.labels, inherited: inherited,
                minimumMass: parameters.minClusterSize(forPointCount: snapshot.count))
            steps.append(
                Step(
                    end: position, events: update.events,
                    ids: clustering.labels.map { $0 >= 0 ? Int64(update.stableIDs[Int($0)]) : -1 },
                    truth: snapshot.ids.map { stream.labels[Int($0)] }))
            let forest = try #require(model.forest)
            previous = (try LeafVotes(forest: forest, window: model.window, labels: clustering.labels), update.stableIDs)
        }
        self.steps = steps
        self.provisional = provisional
    }

    /// The replays the tests share, each run once (a replay re-clusters 12 or 24 windows).
    private static let replays = [5_000, 2_500].map { every in
        (every, Result { try TrackedReplay(windowSize: 5_000, every: every) })
    }

    /// The shared replay re-clustering every `every` points.
    static func shared(every: Int) throws -> TrackedReplay {
        try #require(replays.first { $0.0 == every }?.1).get()
    }

    /// The majority stable id of each true cluster (noise excluded) in one step, counting the
    /// clusters with at least `minimum` points in the window.
    static func majorityIDs(_ step: Step, minimum: Int) -> [Int: Int64] {
        var counts: [Int: [Int64: Int]] = [:]
        for (truth, id) in zip(step.truth, step.ids) where truth != 0 {
            counts[truth, default: [:]][id, default: 0] += 1
        }
        return counts.compactMapValues { ids in
            guard ids.values.reduce(0, +) >= minimum else { return nil }
            return ids.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
        }
    }
}

@Suite("Cluster identity on a drifting stream", .tags(.unit))
struct ClusterIdentityTests {
    /// Every true cluster keeps one id for its whole life, distinct clusters have distinct ids,
    /// and the events are the five first births, one death and one birth.
    @Test(arguments: [5_000, 2_500])
    func idsSurviveWindowTurnover(every: Int) throws {
        let replay = try TrackedReplay.shared(every: every)
        var idOfTruth: [Int: Int64] = [:]
        var truthOfID: [Int64: Int] = [:]
        for step in replay.steps {
            // A cluster is judged once it holds 2% of the window, twice the clusterer's minimum.
            for (truth, id) in TrackedReplay.majorityIDs(step, minimum: 100) {
                #expect(id >= 0, "cluster \(truth) is noise at \(step.end)")
                #expect(idOfTruth[truth, default: id] == id, "cluster \(truth) changed id at \(step.end)")
                #expect(truthOfID[id, default: truth] == truth, "id \(id) changed cluster at \(step.end)")
                idOfTruth[truth] = idOfTruth[truth] ?? id
                truthOfID[id] = truthOfID[id] ?? truth
            }
        }
        #expect(Set(idOfTruth.keys) == [1, 2, 3, 4, 5, 6])

        let first = try #require(replay.steps.first)
        #expect(first.events == (0..<5).map { ClusterTracker.Event.birth($0) })
        let later = replay.steps.dropFirst().flatMap { step in step.events.map { (step.end, $0) } }
        let dying = try #require(idOfTruth[5])
        let born = try #require(idOfTruth[6])
        #expect(later.map(\.1) == [.death(UInt64(dying)), .birth(UInt64(born))], "\(later)")
        for (end, event) in later {
            switch event {
            case .death: #expect(end > 30_000 && end <= 35_000)
            case .birth: #expect(end > 40_000 && end <= 45_000)
            default: break
            }
        }
    }

    /// The provisional labels between re-clusterings use the ids of the clusterings after
    /// them: a point's provisional id is its true cluster's id.
    @Test(arguments: [5_000, 2_500])
    func provisionalLabelsShareTheIDSpace(every: Int) throws {
        let replay = try TrackedReplay.shared(every: every)
        var idOfTruth: [Int: Int64] = [:]
        for step in replay.steps {
            for (truth, id) in TrackedReplay.majorityIDs(step, minimum: 100) where idOfTruth[truth] == nil {
                idOfTruth[truth] = id
            }
        }
        let stream = FiveClusterStream.points(0..<FiveClusterStream.length)
        var agree = 0
        var total = 0
        for (index, id) in replay.provisional where stream.labels[index] != 0 {
            total += 1
            if idOfTruth[stream.labels[index]] == id { agree += 1 }
        }
        #expect(total > 50_000)
        // The newborn cluster's first points are provisionally noise until a clustering finds it.
        #expect(Double(agree) >= 0.95 * Double(total), "\(agree) of \(total)")
    }
}
