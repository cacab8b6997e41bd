internal import MassClustering
internal import MMCConfiguration
internal import MMCWire

/// One re-clustering: everything it reads, copied from the model owner when it starts, so it can
/// run on its own thread while the owner keeps inserting points.
///
/// ``run()`` puts the window snapshot's features on one scale (``FeatureScaling``, robust by
/// default), clusters it, matches the clusters to the previous ones (stable ids, events: the
/// previous clustering's leaf votes label the window's points, see ``ClusterTracker``), builds
/// the leaf votes for provisional labels, summarises the clusters in the points' original units,
/// and encodes the update to publish (a diff, unless the full update is no larger) and the full
/// update that late joiners and `snapshot` requests get.
struct ReclusterJob: Sendable {
    /// The model as it was when the re-clustering started (a copy-on-write value). The leaf
    /// votes read its forest's cached chain ends, which the owner's inserts meanwhile copy one
    /// 512-slot chunk at a time (see `LeafCache`), where descending every point again here took
    /// 150-200 ms of a core that ingestion shares.
    let model: StreamModel
    /// The tracker as of the previous re-clustering.
    let tracker: ClusterTracker
    /// The previous clustering, whose leaf votes say which of its clusters each window point
    /// belongs to; `nil` (the first re-clustering, or the first after a restart) matches by
    /// the points the tracker remembers only.
    let previous: DaemonClassifier?
    /// The clusterer's parameters.
    let parameters: ClusteringParameters
    /// How the features are scaled before clustering; the summaries stay in original units.
    var scaling = FeatureScaling.robust
    /// The most threads the clusterer uses; the clustering is the same for any.
    var threads = 1
    /// The version the new clustering gets.
    let modelVersion: UInt64
    /// When the re-clustering started, seconds since the Unix epoch.
    let time: Double
    /// The assignments of the previous published update and its version, the base of a diff;
    /// `nil` publishes a full update.
    let diffBase: (version: UInt64, assignments: [UInt64: Int64])?

    /// Runs the re-clustering.
    /// - Throws: `WireError` when an update cannot be built, which would be a bug of this
    ///   function (every value comes from validated points).
    /// - Complexity: the clusterer's, plus O(n * t + n log n) for the votes and O(n) hash
    ///   operations for the tracker and the diff.
    func run() throws(WireError) -> ReclusterResult {
        let snapshot = model.snapshot()
        let count = snapshot.count
        let dimension = snapshot.dimension
        let scaled = scaling.scaledMarkingFar(PointMatrix(count: count, dimension: dimension, values: snapshot.values))
        let clustering = cluster(scaled.points, parameters: parameters, far: scaled.far, threads: threads)

        // The tracker needs each point id once. Producers may reuse ids, so the newest point
        // of an id stands for it; clusters left without such a point become noise.
        var newest = [UInt64: Int](minimumCapacity: count)
        for (index, id) in snapshot.ids.enumerated() {
            newest[id] = index
        }
        let unique = newest.count == count
            ? Array(0..<count) : (0..<count).filter { newest[snapshot.ids[$0]] == $0 }
        var used = [Bool](repeating: false, count: clustering.clusters.count)
        for index in unique where clustering.labels[index] >= 0 {
            used[Int(clustering.labels[index])] = true
        }
        var compact = [Int32](repeating: -1, count: used.count)
        var clusterCount: Int32 = 0
        for label in used.indices where used[label] {
            compact[label] = clusterCount
            clusterCount += 1
        }
        let labels = clustering.labels.map { $0 >= 0 ? compact[Int($0)] : -1 }

        var tracker = tracker
        let tracked = tracker.update(
            pointIDs: unique.map { snapshot.ids[$0] }, labels: unique.map { labels[$0] },
            inherited: previous?.inheritedIDs(
                of: model.window, countedBy: model.forest, minimumConfidence: tracker.configuration.voteConfidence
            ).map { inherited in unique.map { inherited[$0] } },
            minimumMass: parameters.minClusterSize(forPointCount: count))
        let stableIDs = tracked.stableIDs

        let summaries = try Self.summaries(
            snapshot: snapshot, labels: labels, clusterCount: Int(clusterCount), stableIDs: stableIDs)
        let noise = count - summaries.reduce(0) { $0 + $1.mass }
        let pointClusters = labels.map { $0 >= 0 ? Int64(stableIDs[Int($0)]) : -1 }
        var assignments = [UInt64: Int64](minimumCapacity: unique.count)
        for index in unique {
            assignments[snapshot.ids[index]] = pointClusters[index]
        }
        let events = tracked.events.map(Self.wireEvent)

        let full = try ClusterUpdate(
            modelVersion: modelVersion, time: time, dimension: dimension, windowSize: count, noiseCount: noise,
            clusters: summaries, events: events,
            assignments: try Assignments(full: snapshot.ids, clusters: pointClusters))
        let fullBody = UpdateMessage.clusters(full).encoded()
        var publishedBody = fullBody
        var publishedFull = true
        if let diffBase {
            var changedIDs: [UInt64] = []
            var changedClusters: [Int64] = []
            for index in unique {
                let id = snapshot.ids[index]
                if diffBase.assignments[id] != pointClusters[index] {
                    changedIDs.append(id)
                    changedClusters.append(pointClusters[index])
                }
            }
            let removed = diffBase.assignments.keys.filter { assignments[$0] == nil }.sorted()
            let diff = try ClusterUpdate(
                modelVersion: modelVersion, time: time, dimension: dimension, windowSize: count, noiseCount: noise,
                clusters: summaries, events: events,
                assignments: try Assignments(
                    diffFrom: diffBase.version, ids: changedIDs, clusters: changedClusters, removed: removed))
            // When most points changed cluster or left the window, the diff outgrows the full
            // update (it lists ids twice: changed and removed); the full one is then sent.
            let diffBody = UpdateMessage.clusters(diff).encoded()
            if diffBody.count < fullBody.count {
                publishedBody = diffBody
                publishedFull = false
            }
        }

        let votes: LeafVotes?
        if let forest = model.forest, count > 0 {
            // minimumLeafMass 1 cannot be refused.
            votes = try? LeafVotes(forest: forest, window: model.window, labels: labels)
        } else {
            votes = nil
        }
        return ReclusterResult(
            tracker: tracker,
            classifier: DaemonClassifier(modelVersion: modelVersion, votes: votes, stableIDs: stableIDs),
            fullUpdate: full, fullBody: fullBody, publishedBody: publishedBody, publishedFull: publishedFull,
            assignments: assignments)
    }

    /// Mass, centroid and bounding box of every cluster in the points' original units.
    private static func summaries(
        snapshot: SlidingWindow.Snapshot, labels: [Int32], clusterCount: Int, stableIDs: [UInt64]
    ) throws(WireError) -> [MMCWire.ClusterSummary] {
        let dimension = snapshot.dimension
        var masses = [Int](repeating: 0, count: clusterCount)
        var sums = [Double](repeating: 0, count: clusterCount * dimension)
        var lower = [Double](repeating: .infinity, count: clusterCount * dimension)
        var upper = [Double](repeating: -.infinity, count: clusterCount * dimension)
        for (index, label) in labels.enumerated() where label >= 0 {
            let cluster = Int(label)
            masses[cluster] += 1
            for column in 0..<dimension {
                let value = snapshot.values[index * dimension + column]
                let slot = cluster * dimension + column
                sums[slot] += value
                lower[slot] = min(lower[slot], value)
                upper[slot] = max(upper[slot], value)
            }
        }
        var result: [MMCWire.ClusterSummary] = []
        result.reserveCapacity(clusterCount)
        for cluster in 0..<clusterCount {
            let range = cluster * dimension..<(cluster + 1) * dimension
            let mass = masses[cluster]
            result.append(
                try MMCWire.ClusterSummary(
                    id: Int64(stableIDs[cluster]), mass: mass,
                    centroid: range.map { sums[$0] / Double(mass) }, minimum: Array(lower[range]),
                    maximum: Array(upper[range])))
        }
        return result
    }

    private static func wireEvent(_ event: ClusterTracker.Event) -> ClusterEvent {
        switch event {
        case .birth(let id): .birth(Int64(id))
        case .death(let id): .death(Int64(id))
        case .merge(let from, let into): .merge(from: from.map { Int64($0) }, into: Int64(into))
        case .split(let from, let into): .split(from: Int64(from), into: into.map { Int64($0) })
        }
    }
}

/// What a ``ReclusterJob`` hands back to the model owner.
struct ReclusterResult: Sendable {
    /// The tracker after matching this clustering.
    let tracker: ClusterTracker
    /// Labels new points with this clustering.
    let classifier: DaemonClassifier
    /// The update with every window point's assignment (`snapshot` replies).
    let fullUpdate: ClusterUpdate
    /// `fullUpdate` encoded, for late joiners.
    let fullBody: [UInt8]
    /// The update to publish now: `fullBody`, or a diff against the previous update.
    let publishedBody: [UInt8]
    /// Whether `publishedBody` is the full update.
    let publishedFull: Bool
    /// Stable cluster id of every window point id, the base of the next diff.
    let assignments: [UInt64: Int64]

    /// Clusters of the clustering.
    var clusterCount: Int { fullUpdate.clusters.count }
}
