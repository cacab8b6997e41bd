import MassClustering
import MMCTestSupport
import Testing

/// Point ids `range` labelled `label`, as (ids, labels) for concatenation.
private func block(_ range: Range<UInt64>, _ label: Int32) -> [(UInt64, Int32)] {
    range.map { ($0, label) }
}

private extension ClusterTracker {
    mutating func update(_ blocks: [(UInt64, Int32)]...) -> Update {
        let points = blocks.joined()
        return update(pointIDs: points.map(\.0), labels: points.map(\.1))
    }
}

@Suite("ClusterTracker", .tags(.unit))
struct ClusterTrackerTests {
    @Test("the first clustering is all births, numbered by smallest point id")
    func firstClustering() {
        var tracker = ClusterTracker()
        let update = tracker.update(block(200..<300, 0), block(0..<100, 1), block(100..<200, -1))
        #expect(update.stableIDs == [1, 0])
        #expect(update.events == [.birth(0), .birth(1)])
        #expect(tracker.nextID == 2)
    }

    @Test("the example in the documentation holds")
    func documentationExample() {
        var tracker = ClusterTracker()
        let first = tracker.update(pointIDs: [10, 11, 12, 13], labels: [0, 0, 1, 1])
        #expect(first.stableIDs == [0, 1])
        #expect(first.events == [.birth(0), .birth(1)])
        let second = tracker.update(pointIDs: [11, 12, 13, 14], labels: [1, 0, 0, 0])
        #expect(second.stableIDs == [1, 0])
        #expect(second.events.isEmpty)
    }

    @Test("identical consecutive clusterings keep their ids and report nothing")
    func identicalClusterings() {
        var tracker = ClusterTracker()
        let first = tracker.update(block(0..<50, 0), block(50..<120, 1), block(120..<130, -1))
        for _ in 0..<3 {
            let again = tracker.update(block(0..<50, 0), block(50..<120, 1), block(120..<130, -1))
            #expect(again.stableIDs == first.stableIDs)
            #expect(again.events.isEmpty)
        }
    }

    @Test("permuted labels keep the ids of the same point sets", arguments: [UInt64(1), 2, 3, 4, 5])
    func permutedLabels(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let clusterCount = 6
        let points = (0..<600).map { UInt64($0) }
        let labels = points.map { _ in Int32.random(in: -1..<Int32(clusterCount), using: &generator) }
        var tracker = ClusterTracker()
        let first = tracker.update(pointIDs: points, labels: labels)

        let permutation = (0..<Int32(clusterCount)).shuffled(using: &generator)
        let relabelled = labels.map { $0 < 0 ? $0 : permutation[Int($0)] }
        let order = points.indices.shuffled(using: &generator)
        let second = tracker.update(pointIDs: order.map { points[$0] }, labels: order.map { relabelled[$0] })
        for old in 0..<clusterCount {
            #expect(second.stableIDs[Int(permutation[old])] == first.stableIDs[old])
        }
        #expect(second.events.isEmpty)
    }

    @Test("ids survive window turnover: only carried points are compared")
    func windowTurnover() {
        var tracker = ClusterTracker()
        let first = tracker.update(block(0..<100, 0), block(1000..<1100, 1))
        // 90% of each cluster expired and new points arrived in the same places.
        let second = tracker.update(block(1090..<1300, 0), block(90..<250, 1))
        #expect(second.stableIDs == [first.stableIDs[1], first.stableIDs[0]])
        #expect(second.events.isEmpty)
    }

    @Test("with inherited ids a window that turned over entirely keeps its ids")
    func inheritedIDsCarryTurnover() {
        var tracker = ClusterTracker()
        let first = tracker.update(block(0..<100, 0), block(100..<200, 1))
        // No point is shared; the previous model's votes say which cluster each point is in.
        let ids = (200..<400).map { UInt64($0) }
        let labels = ids.map { $0 < 300 ? Int32(1) : 0 }
        let inherited = ids.map { id -> UInt64? in id < 300 ? first.stableIDs[0] : first.stableIDs[1] }
        let second = tracker.update(pointIDs: ids, labels: labels, inherited: inherited)
        #expect(second.stableIDs == [first.stableIDs[1], first.stableIDs[0]])
        #expect(second.events.isEmpty)
        // Without the votes nothing is shared: all births and deaths.
        var blind = ClusterTracker()
        _ = blind.update(block(0..<100, 0), block(100..<200, 1))
        #expect(blind.update(pointIDs: ids, labels: labels).events == [.birth(2), .birth(3), .death(0), .death(1)])
    }

    @Test("a shared point's own previous label outweighs its inherited id")
    func sharedPointsOutweighVotes() {
        var tracker = ClusterTracker()
        _ = tracker.update(block(0..<100, 0), block(100..<200, 1))
        // The votes (wrongly) say cluster 1 for every point; the points themselves say 0.
        let update = tracker.update(
            pointIDs: Array(0..<100), labels: Array(repeating: 0, count: 100),
            inherited: Array(repeating: 1, count: 100))
        #expect(update.stableIDs == [0])
        #expect(update.events == [.death(1)])
    }

    @Test("parts smaller than the minimum mass make no merge or split")
    func minimumMass() {
        var tracker = ClusterTracker()
        _ = tracker.update(block(0..<400, 0), block(400..<440, 1))
        // The last 40 points of a dying cluster are grown into its neighbour: 100% of its mass,
        // but fewer points than a cluster needs.
        var strict = tracker
        #expect(strict.update(pointIDs: Array(0..<440), labels: Array(repeating: 0, count: 440), minimumMass: 50)
            .events == [.death(1)])
        #expect(tracker.update(pointIDs: Array(0..<440), labels: Array(repeating: 0, count: 440), minimumMass: 40)
            .events == [.death(1), .merge(from: [0, 1], into: 0)])
    }

    @Test("permuting a clustering's labels gives back the same ids, with inherited evidence too",
          arguments: [UInt64(21), 22, 23, 24])
    func permutedLabelsWithInheritedIDs(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var tracker = ClusterTracker()
        let oldPoints = (0..<800).map { UInt64($0) }
        let clusters: Int32 = 7
        let first = tracker.update(
            pointIDs: oldPoints, labels: oldPoints.map { _ in Int32.random(in: -1..<clusters, using: &generator) })
        // A window sharing a quarter of its points; the others inherit a random previous id or noise.
        let points = (600..<1_400).map { UInt64($0) }
        let inherited = points.map { _ -> UInt64? in
            Int.random(in: 0..<5, using: &generator) == 0 ? nil : first.stableIDs.randomElement(using: &generator)
        }
        let labels = points.indices.map { index -> Int32 in
            // Mostly the inherited cluster's position, so that some clusters continue.
            let base = inherited[index].map { Int32($0) } ?? -1
            return Int.random(in: 0..<4, using: &generator) == 0 ? Int32.random(in: -1..<clusters, using: &generator) : base
        }
        var reference = tracker
        let expected = reference.update(pointIDs: points, labels: labels, inherited: inherited, minimumMass: 10)

        let permutation = (0..<clusters).shuffled(using: &generator)
        let order = points.indices.shuffled(using: &generator)
        let update = tracker.update(
            pointIDs: order.map { points[$0] }, labels: order.map { labels[$0] < 0 ? -1 : permutation[Int(labels[$0])] },
            inherited: order.map { inherited[$0] }, minimumMass: 10)
        for label in 0..<Int(clusters) {
            #expect(update.stableIDs[Int(permutation[label])] == expected.stableIDs[label])
        }
        #expect(update.events == expected.events)
        #expect(tracker.state == reference.state)
    }

    @Test("the state carried to a later window holds each point's id or inherited id")
    func stateCarriedForward() throws {
        var tracker = ClusterTracker()
        _ = tracker.update(block(0..<10, 0), block(10..<20, -1), block(20..<30, 1))
        // Points 0..<5 expired; 30..<35 arrived since (id 35 twice: its last entry counts).
        let window: [UInt64] = Array(5..<35) + [35, 35]
        let inherited = Array(repeating: nil, count: 25) + [UInt64?](repeating: 1, count: 5) + [0, 7]
        let state = tracker.carriedState(to: window, inherited: inherited)
        #expect(state.pointIDs == Array(5..<36))
        #expect(state.clusterIDs == [UInt64?](repeating: 0, count: 5) + Array(repeating: nil, count: 10)
            + Array(repeating: 1, count: 15) + [nil])
        #expect(state.nextID == tracker.nextID)
        #expect(tracker.carriedState(to: window, inherited: nil).pointIDs == Array(5..<30))
        // A restored tracker continues the ids over the carried points alone.
        var restored = try ClusterTracker(state: state)
        let next = restored.update(pointIDs: Array(20..<36), labels: Array(repeating: 0, count: 16))
        #expect(next.stableIDs == [1])
    }

    @Test("a cluster that disappears dies and a new one is born with a fresh id")
    func birthAndDeath() {
        var tracker = ClusterTracker()
        _ = tracker.update(block(0..<100, 0), block(100..<200, 1))
        let second = tracker.update(block(0..<100, 0), block(100..<200, -1), block(200..<260, 1))
        #expect(second.stableIDs == [0, 2])
        #expect(second.events == [.birth(2), .death(1)])
    }

    @Test("two clusters that join are reported as a merge into the larger one's id")
    func merge() {
        var tracker = ClusterTracker()
        _ = tracker.update(block(0..<100, 0), block(100..<160, 1), block(160..<300, 2))
        let second = tracker.update(block(0..<160, 0), block(160..<300, 1))
        #expect(second.stableIDs == [0, 2])
        #expect(second.events == [.death(1), .merge(from: [0, 1], into: 0)])
    }

    @Test("a cluster that falls apart is reported as a split, its id going to the larger part")
    func split() {
        var tracker = ClusterTracker()
        _ = tracker.update(block(0..<200, 0), block(200..<300, 1))
        let second = tracker.update(block(0..<80, 0), block(80..<200, 1), block(200..<300, 2))
        #expect(second.stableIDs == [2, 0, 1])
        #expect(second.events == [.birth(2), .split(from: 0, into: [0, 2])])
    }

    @Test("a small share does not count as a merge or split")
    func smallShareIsNoEvent() {
        var tracker = ClusterTracker()
        _ = tracker.update(block(0..<100, 0), block(100..<200, 1))
        // 10 points of cluster 1 (10%, below the 25% share threshold) move to cluster 0.
        let second = tracker.update(block(0..<110, 0), block(110..<200, 1))
        #expect(second.stableIDs == [0, 1])
        #expect(second.events.isEmpty)
    }

    @Test("below the Jaccard floor a cluster does not inherit an id")
    func jaccardFloor() throws {
        // New cluster 0 holds all 100 points of old cluster 0 plus 900 carried noise points:
        // Jaccard 0.1, below the default floor of 0.2.
        var tracker = ClusterTracker()
        _ = tracker.update(block(0..<100, 0), block(100..<1000, -1))
        let second = tracker.update(block(0..<1000, 0))
        #expect(second.stableIDs == [1])
        #expect(second.events == [.birth(1), .death(0)])

        var lenient = ClusterTracker(configuration: try .init(jaccardFloor: 0.05, shareThreshold: 0.25))
        _ = lenient.update(block(0..<100, 0), block(100..<1000, -1))
        #expect(lenient.update(block(0..<1000, 0)).stableIDs == [0])
    }

    @Test("the matching is greedy: the heaviest pair wins even when two lighter ones share more")
    func greedyMatching() {
        var tracker = ClusterTracker()
        // Old clusters: id 0 = points 0..<95, id 1 = points 95..<140.
        _ = tracker.update(block(0..<95, 0), block(95..<140, 1))
        // New A = 50 points of id 0 + all 45 of id 1; new B = the other 45 points of id 0.
        // Overlaps: A-0 50 (Jaccard 0.36), A-1 45 (0.47), B-0 45 (0.47). Greedy takes A-0
        // (50 shared) and B and id 1 stay unmatched; A-1 plus B-0 would share 90.
        let second = tracker.update(block(0..<50, 0), block(50..<95, 1), block(95..<140, 0))
        #expect(second.stableIDs == [0, 2])
        #expect(
            second.events == [
                .birth(2), .death(1), .merge(from: [0, 1], into: 0), .split(from: 0, into: [0, 2]),
            ]
        )
    }

    @Test("ties are broken by point ids, not by label order")
    func tieBreak() {
        // Old cluster 0 splits into two halves of equal size: the half with the smaller point
        // ids keeps the id whatever its label.
        for labels: (Int32, Int32) in [(0, 1), (1, 0)] {
            var tracker = ClusterTracker()
            _ = tracker.update(block(0..<100, 0))
            let second = tracker.update(block(50..<100, labels.1), block(0..<50, labels.0))
            #expect(second.stableIDs[Int(labels.0)] == 0)
            #expect(second.stableIDs[Int(labels.1)] == 1)
        }
    }

    @Test("ids are never reused over many random re-clusterings", arguments: [UInt64(11), 12, 13])
    func idsNeverReused(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var tracker = ClusterTracker()
        var everBorn = Set<UInt64>()
        var dead = Set<UInt64>()
        var live = Set<UInt64>()
        var start: UInt64 = 0
        for _ in 0..<40 {
            let count = Int32.random(in: 1...6, using: &generator)
            let points = Array(start..<start + 300)
            start += UInt64.random(in: 0...150, using: &generator)
            var labels = points.map { _ in Int32.random(in: -1..<count, using: &generator) }
            labels.replaceSubrange(0..<Int(count), with: 0..<count)
            let update = tracker.update(pointIDs: points, labels: labels)
            for event in update.events {
                switch event {
                case .birth(let id):
                    #expect(!everBorn.contains(id))
                    #expect(id == everBorn.count)
                    everBorn.insert(id)
                    live.insert(id)
                case .death(let id):
                    #expect(live.remove(id) != nil)
                    dead.insert(id)
                case .merge, .split:
                    break
                }
            }
            #expect(Set(update.stableIDs) == live)
            #expect(live.isDisjoint(with: dead))
        }
        #expect(tracker.nextID == everBorn.count)
    }

    @Test("state export and import round-trip")
    func stateRoundTrip() throws {
        var generator = SeededGenerator(seed: 99)
        var original = ClusterTracker()
        let points = (0..<500).map { _ in UInt64.random(in: 0..<1_000_000, using: &generator) }
        let unique = Array(Set(points))
        _ = original.update(pointIDs: unique, labels: unique.map { Int32($0 % 4) - 1 })
        _ = original.update(pointIDs: unique, labels: unique.map { Int32($0 % 5) - 1 })

        let state = original.state
        #expect(state.pointIDs == unique.sorted())
        var restored = try ClusterTracker(state: state)
        #expect(restored.state == state)
        #expect(restored.nextID == original.nextID)

        let next = unique.map { Int32($0 % 3) - 1 }
        let restoredUpdate = restored.update(pointIDs: unique, labels: next)
        let originalUpdate = original.update(pointIDs: unique, labels: next)
        #expect(restoredUpdate == originalUpdate)
        #expect(restored.state == original.state)
    }

    @Test("inconsistent states are rejected")
    func invalidStates() {
        let cases: [(ClusterTracker.State, String)] = [
            (.init(nextID: 1, pointIDs: [1, 2], clusterIDs: [0]), "state holds 2 point ids but 1 cluster ids"),
            (.init(nextID: 1, pointIDs: [2, 2], clusterIDs: [0, 0]), "state point ids are not strictly ascending at index 1"),
            (.init(nextID: 1, pointIDs: [1, 2], clusterIDs: [0, 1]), "state cluster id 1 is not below next id 1"),
        ]
        for (state, message) in cases {
            let error = #expect(throws: ClusterTracker.StateError.self) { try ClusterTracker(state: state) }
            #expect(error?.description == message)
        }
    }

    @Test("configuration values outside their range are rejected with key, value and range")
    func invalidConfiguration() {
        let cases: [(Double, Double, ParameterError)] = [
            (0, 0.25, ParameterError(key: "jaccardFloor", value: "0.0", allowed: "(0, 1]")),
            (1.5, 0.25, ParameterError(key: "jaccardFloor", value: "1.5", allowed: "(0, 1]")),
            (0.2, 0.6, ParameterError(key: "shareThreshold", value: "0.6", allowed: "(0, 0.5]")),
            (0.2, -1, ParameterError(key: "shareThreshold", value: "-1.0", allowed: "(0, 0.5]")),
        ]
        for (floor, share, expected) in cases {
            #expect(throws: expected) {
                try ClusterTracker.Configuration(jaccardFloor: floor, shareThreshold: share)
            }
        }
    }
}
