/// Keeps cluster ids stable across re-clusterings of a sliding window.
///
/// Every re-clustering numbers its clusters `0..<k` afresh, so label 3 today need not be label 3
/// tomorrow. The tracker turns those labels into *stable ids*: it matches each new cluster to
/// the previous cluster whose mass it took over (docs/algorithm.md, section 7).
///
/// **Evidence.** Each point of the new window says which previous cluster (or noise) it
/// belongs to by the previous model's account: a point the previous re-clustering labelled
/// keeps that label; any other point takes the `inherited` id the caller gives it, normally its
/// provisional label by the previous model's ``LeafVotes`` (the regions of the forest that held
/// the previous cluster's mass). A point without either says nothing. With `inherited`, every
/// point of the window carries evidence, so the matching does not depend on how much of the
/// window turned over between the two re-clusterings; without it (`nil`) only the points both
/// windows share do. A point whose evidence is noise counts too (it is in neither cluster, so
/// it enlarges nothing).
///
/// **Matching.** For new cluster `A` and previous cluster `B`, `overlap(A, B)` is the mass
/// (the number of window points) of `A` whose evidence is `B`; `|A|` is the mass of `A` with
/// any evidence and `|B|` the mass of the window whose evidence is `B`;
/// `Jaccard(A, B) = overlap / (|A| + |B| - overlap)`. Pairs whose Jaccard index is at least
/// ``Configuration/jaccardFloor`` are eligible. The matching is **greedy**: eligible pairs are
/// taken by descending overlap, ties broken by higher Jaccard index, then by smaller previous
/// stable id, then by the smaller smallest point id of the new cluster, and a pair is kept when
/// neither side is matched yet. Greedy is not always the maximum-weight matching, but it never
/// lets a heavy match lose to lighter ones, and it is deterministic and independent of how the
/// clusterer numbered its clusters.
///
/// **Ids.** A matched new cluster keeps the previous stable id. Unmatched new clusters get fresh
/// ids from a counter that starts at 0 and only grows, so an id is never reused; they are handed
/// out in order of each cluster's smallest point id, which again does not depend on the labels.
///
/// **Events.** Every id that appears is reported as ``Event/birth(_:)`` and every id that
/// disappears as ``Event/death(_:)``; merges and splits describe lineage on top of that. A previous
/// cluster *went substantially into* a new cluster when at least ``Configuration/shareThreshold``
/// of its mass did, and at least `minimumMass` points (the size a cluster needs to exist at all,
/// so that a few stray points never make an event). A new cluster into which two or more
/// previous clusters went substantially is a ``Event/merge(from:into:)``; a previous cluster
/// that went substantially into two or more new clusters is a ``Event/split(from:into:)``.
///
/// ```swift
/// var tracker = ClusterTracker()
/// let first = tracker.update(pointIDs: [10, 11, 12, 13], labels: [0, 0, 1, 1])
/// // first.stableIDs == [0, 1], first.events == [.birth(0), .birth(1)]
/// let second = tracker.update(pointIDs: [11, 12, 13, 14], labels: [1, 0, 0, 0])
/// // second.stableIDs == [1, 0]: the clusters were renumbered, the ids were not.
/// let third = tracker.update(pointIDs: [20, 21, 22], labels: [0, 0, 1], inherited: [1, 1, 0])
/// // third.stableIDs == [1, 0]: no point is shared, the previous model's votes carry the ids.
/// ```
///
/// The whole state is a plain value (``State``) so it can be written to disk and read back.
public struct ClusterTracker: Sendable {
    /// How the tracker matches clusters and reports events.
    public let configuration: Configuration
    /// The id the next unmatched cluster receives.
    public private(set) var nextID: UInt64
    /// Label of every point at the previous re-clustering (-1 for noise).
    private var previousLabels: [UInt64: Int32]
    /// Stable id of every previous label.
    private var previousIDs: [UInt64]

    /// Creates a tracker that has seen no clustering yet.
    public init(configuration: Configuration = .default) {
        self.configuration = configuration
        self.nextID = 0
        self.previousLabels = [:]
        self.previousIDs = []
    }

    /// Restores a tracker from a state that ``state`` exported.
    ///
    /// - Throws: ``StateError`` when the arrays differ in length, the point ids are not strictly
    ///   ascending, or a cluster id is not below `nextID`.
    /// - Complexity: O(n + k log k) for n points in k clusters.
    public init(configuration: Configuration = .default, state: State) throws(StateError) {
        guard state.pointIDs.count == state.clusterIDs.count else {
            throw StateError(
                description: "state holds \(state.pointIDs.count) point ids but \(state.clusterIDs.count) cluster ids"
            )
        }
        var distinct = Set<UInt64>()
        for index in state.pointIDs.indices {
            if index > 0, state.pointIDs[index - 1] >= state.pointIDs[index] {
                throw StateError(description: "state point ids are not strictly ascending at index \(index)")
            }
            if let id = state.clusterIDs[index] {
                guard id < state.nextID else {
                    throw StateError(description: "state cluster id \(id) is not below next id \(state.nextID)")
                }
                distinct.insert(id)
            }
        }
        let ids = distinct.sorted()
        var labelOfID = [UInt64: Int32](minimumCapacity: ids.count)
        for (label, id) in ids.enumerated() {
            labelOfID[id] = Int32(label)
        }
        var labels = [UInt64: Int32](minimumCapacity: state.pointIDs.count)
        for (point, id) in zip(state.pointIDs, state.clusterIDs) {
            labels[point] = id.map { labelOfID[$0]! } ?? -1
        }
        self.configuration = configuration
        self.nextID = state.nextID
        self.previousLabels = labels
        self.previousIDs = ids
    }

    /// The tracker's memory as a plain value, for snapshots.
    ///
    /// Points are sorted by id, so equal trackers export equal states.
    /// - Complexity: O(n log n) for the n points of the previous re-clustering.
    public var state: State {
        let points = previousLabels.keys.sorted()
        let clusters = points.map { point -> UInt64? in
            let label = previousLabels[point]!
            return label < 0 ? nil : previousIDs[Int(label)]
        }
        return State(nextID: nextID, pointIDs: points, clusterIDs: clusters)
    }

    /// The tracker's memory carried forward to a later window, for a snapshot of that window:
    /// each point with its stable id at the previous re-clustering, or, for a point that
    /// re-clustering did not label, its `inherited` id (as in
    /// ``update(pointIDs:labels:inherited:minimumMass:)``); a point with neither is left out. A tracker restored from it matches the next clustering
    /// of the window by shared points alone as well as this one would with the votes.
    ///
    /// - Parameters:
    ///   - pointIDs: the later window's point ids; where an id repeats, its last entry counts.
    ///   - inherited: one id per entry of `pointIDs` (`nil` for noise), or `nil` for none.
    /// - Complexity: O(n log n) for the n points.
    public func carriedState(to pointIDs: [UInt64], inherited: [UInt64?]?) -> State {
        precondition(inherited.map { $0.count == pointIDs.count } ?? true, "one inherited id per point id")
        let known = Set(previousIDs)
        var carried = [UInt64: UInt64?](minimumCapacity: pointIDs.count)
        for (index, point) in pointIDs.enumerated() {
            if let label = previousLabels[point] {
                carried[point] = label < 0 ? nil : previousIDs[Int(label)]
            } else if let inherited {
                carried[point] = inherited[index].flatMap { known.contains($0) ? $0 : nil }
            }
        }
        let points = carried.keys.sorted()
        return State(nextID: nextID, pointIDs: points, clusterIDs: points.map { carried[$0]! })
    }

    /// Matches a new clustering of the window to the previous one and remembers it.
    ///
    /// - Parameters:
    ///   - pointIDs: the ids of the window's points, each at most once.
    ///   - labels: the new clustering's label of each point, in the same order: -1 for noise,
    ///     otherwise `0..<k` with every label in that range used by at least one point.
    ///   - inherited: for each point, the stable id the previous model gives it by its leaf
    ///     votes (`nil` for noise), the evidence of points the previous re-clustering did not
    ///     label; `nil` uses shared points only.
    ///   - minimumMass: the fewest points of a previous cluster that count as a part of it in
    ///     merge and split events, at least 1; normally the clusterer's minimum cluster size.
    /// - Returns: the stable id of every new label and the events, births first, then deaths,
    ///   merges and splits, each group in ascending id order.
    /// - Complexity: O(n + k_old * k_new) for n points, k_old previous and k_new new clusters.
    public mutating func update(
        pointIDs: [UInt64], labels: [Int32], inherited: [UInt64?]? = nil, minimumMass: Int = 1
    ) -> Update {
        precondition(pointIDs.count == labels.count, "one label per point id")
        precondition(inherited.map { $0.count == pointIDs.count } ?? true, "one inherited id per point id")
        let newCount = Int(labels.max().map { max($0 + 1, 0) } ?? 0)
        let oldCount = previousIDs.count
        var labelOfID = [UInt64: Int32](minimumCapacity: oldCount)
        if inherited != nil {
            for (label, id) in previousIDs.enumerated() {
                labelOfID[id] = Int32(label)
            }
        }
        var newSizes = [Int](repeating: 0, count: newCount)
        var smallestPoint = [UInt64](repeating: .max, count: newCount)
        var carriedNew = [Int](repeating: 0, count: newCount)
        var carriedOld = [Int](repeating: 0, count: oldCount)
        var overlap = [Int](repeating: 0, count: newCount * oldCount)
        var current = [UInt64: Int32](minimumCapacity: pointIDs.count)

        for (index, (point, label)) in zip(pointIDs, labels).enumerated() {
            precondition(label >= -1, "labels are -1 (noise) or 0..<k")
            let earlier = current.updateValue(label, forKey: point)
            precondition(earlier == nil, "point id \(point) appears twice")
            if label >= 0 {
                newSizes[Int(label)] += 1
                smallestPoint[Int(label)] = min(smallestPoint[Int(label)], point)
            }
            let evidence: Int32
            if let old = previousLabels[point] {
                evidence = old
            } else if let inherited {
                // An id the previous clustering no longer has (a stale vote) is noise.
                evidence = inherited[index].flatMap { labelOfID[$0] } ?? -1
            } else {
                continue
            }
            if label >= 0 { carriedNew[Int(label)] += 1 }
            if evidence >= 0 {
                carriedOld[Int(evidence)] += 1
                if label >= 0 { overlap[Int(label) * oldCount + Int(evidence)] += 1 }
            }
        }
        precondition(!newSizes.contains(0), "every label in 0..<k must label at least one point")

        // Eligible pairs. With a Jaccard floor f each cluster has at most 1/f partners, so this
        // list holds O(min(k_old, k_new)) pairs and sorting it stays within the bound above.
        var candidates: [Candidate] = []
        for new in 0..<newCount {
            for old in 0..<oldCount {
                let shared = overlap[new * oldCount + old]
                guard shared > 0 else { continue }
                let union = carriedNew[new] + carriedOld[old] - shared
                guard Double(shared) >= configuration.jaccardFloor * Double(union) else { continue }
                candidates.append(Candidate(new: new, old: old, shared: shared, union: union))
            }
        }
        candidates.sort { a, b in
            if a.shared != b.shared { return a.shared > b.shared }
            if a.shared * b.union != b.shared * a.union { return a.shared * b.union > b.shared * a.union }
            if a.old != b.old { return previousIDs[a.old] < previousIDs[b.old] }
            return smallestPoint[a.new] < smallestPoint[b.new]
        }

        var stableIDs = [UInt64?](repeating: nil, count: newCount)
        var oldMatched = [Bool](repeating: false, count: oldCount)
        for candidate in candidates where stableIDs[candidate.new] == nil && !oldMatched[candidate.old] {
            stableIDs[candidate.new] = previousIDs[candidate.old]
            oldMatched[candidate.old] = true
        }

        var events: [Event] = []
        let unmatched = (0..<newCount).filter { stableIDs[$0] == nil }
        for new in unmatched.sorted(by: { smallestPoint[$0] < smallestPoint[$1] }) {
            stableIDs[new] = nextID
            events.append(.birth(nextID))
            nextID += 1
        }
        let ids = stableIDs.map { $0! }
        events += (0..<oldCount).filter { !oldMatched[$0] }.map { previousIDs[$0] }.sorted().map(Event.death)

        let threshold = configuration.shareThreshold
        let floor = max(minimumMass, 1)
        func wentSubstantially(_ old: Int, into new: Int) -> Bool {
            let shared = overlap[new * oldCount + old]
            return shared >= floor && Double(shared) >= threshold * Double(carriedOld[old])
        }
        var merges: [Event] = []
        for new in 0..<newCount {
            let sources = (0..<oldCount).filter { wentSubstantially($0, into: new) }
            if sources.count >= 2 {
                merges.append(.merge(from: sources.map { previousIDs[$0] }.sorted(), into: ids[new]))
            }
        }
        var splits: [Event] = []
        for old in 0..<oldCount {
            let targets = (0..<newCount).filter { wentSubstantially(old, into: $0) }
            if targets.count >= 2 {
                splits.append(.split(from: previousIDs[old], into: targets.map { ids[$0] }.sorted()))
            }
        }
        events += merges.sorted { $0.sortKey < $1.sortKey }
        events += splits.sorted { $0.sortKey < $1.sortKey }

        previousLabels = current
        previousIDs = ids
        return Update(stableIDs: ids, events: events)
    }

    /// An eligible (new cluster, previous cluster) pair for the greedy matching.
    private struct Candidate {
        let new: Int
        let old: Int
        let shared: Int
        let union: Int
    }
}

extension ClusterTracker {
    /// How the tracker matches clusters and reports events.
    public struct Configuration: Sendable, Hashable {
        /// The defaults: ``jaccardFloor`` 0.2, ``shareThreshold`` 0.25, ``voteConfidence`` 0.5.
        public static let `default` = Configuration(
            uncheckedJaccardFloor: 0.2, shareThreshold: 0.25, voteConfidence: 0.5)

        /// The smallest Jaccard index (over points with evidence) at which a new cluster may
        /// inherit a previous cluster's id. Default 0.2, allowed range (0, 1]. A floor f also
        /// bounds the number of eligible partners of any cluster by 1/f.
        public let jaccardFloor: Double
        /// The fraction of a previous cluster's mass (points with it as evidence) that must go
        /// into a new cluster for merge and split events to count it. Default 0.25 (a cluster
        /// split four ways in equal parts is still a split), allowed range (0, 0.5] so that both
        /// events can occur.
        public let shareThreshold: Double
        /// The confidence a leaf vote needs to be a point's inherited id (see
        /// ``LeafVotes/provisionalLabels(of:countedBy:minimumConfidence:)``); below it the point's
        /// evidence is noise. Default 0.5: the previous cluster must hold the point's regions in
        /// a majority of the forest's weight, not merely win among the few trees whose leaves there
        /// held any mass (a cluster born in empty space). Allowed range [0, 1].
        public let voteConfidence: Double

        /// Creates a validated configuration.
        ///
        /// - Throws: ``ParameterError`` naming the key, its value and the allowed range.
        public init(jaccardFloor: Double, shareThreshold: Double, voteConfidence: Double = 0.5) throws(ParameterError) {
            guard jaccardFloor > 0, jaccardFloor <= 1 else {
                throw ParameterError(key: "jaccardFloor", value: "\(jaccardFloor)", allowed: "(0, 1]")
            }
            guard shareThreshold > 0, shareThreshold <= 0.5 else {
                throw ParameterError(key: "shareThreshold", value: "\(shareThreshold)", allowed: "(0, 0.5]")
            }
            guard voteConfidence >= 0, voteConfidence <= 1 else {
                throw ParameterError(key: "voteConfidence", value: "\(voteConfidence)", allowed: "[0, 1]")
            }
            self.init(
                uncheckedJaccardFloor: jaccardFloor, shareThreshold: shareThreshold, voteConfidence: voteConfidence)
        }

        private init(uncheckedJaccardFloor jaccardFloor: Double, shareThreshold: Double, voteConfidence: Double) {
            self.jaccardFloor = jaccardFloor
            self.shareThreshold = shareThreshold
            self.voteConfidence = voteConfidence
        }
    }

    /// What changed between two re-clusterings, in stable ids.
    public enum Event: Sendable, Hashable {
        /// A cluster id appeared for the first time.
        case birth(UInt64)
        /// A cluster id disappeared; it will never be used again.
        case death(UInt64)
        /// Two or more previous clusters went substantially into the new cluster `into`.
        /// `from` is ascending and may contain `into` itself.
        case merge(from: [UInt64], into: UInt64)
        /// The previous cluster `from` went substantially into two or more new clusters.
        /// `into` is ascending and may contain `from` itself.
        case split(from: UInt64, into: [UInt64])

        /// The id an event is ordered by within its group.
        fileprivate var sortKey: UInt64 {
            switch self {
            case .birth(let id), .death(let id), .merge(_, let id), .split(let id, _): id
            }
        }
    }

    /// The result of matching one re-clustering.
    public struct Update: Sendable, Hashable {
        /// The stable id of every new label: `stableIDs[label]`.
        public let stableIDs: [UInt64]
        /// Births, then deaths, merges and splits, each group in ascending id order.
        public let events: [Event]
    }

    /// Everything a tracker remembers, as plain values (see ``ClusterTracker/state``).
    public struct State: Sendable, Hashable, Codable {
        /// The id the next unmatched cluster receives.
        public var nextID: UInt64
        /// The points of the previous re-clustering, strictly ascending.
        public var pointIDs: [UInt64]
        /// The stable id of each point in `pointIDs`, `nil` for noise.
        public var clusterIDs: [UInt64?]

        /// Creates a state from its parts; ``ClusterTracker/init(configuration:state:)`` checks it.
        public init(nextID: UInt64, pointIDs: [UInt64], clusterIDs: [UInt64?]) {
            self.nextID = nextID
            self.pointIDs = pointIDs
            self.clusterIDs = clusterIDs
        }
    }

    /// A ``State`` that ``ClusterTracker/init(configuration:state:)`` cannot import.
    public struct StateError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is inconsistent, naming the field and the offending value.
        public let description: String
    }
}
