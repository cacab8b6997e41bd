internal import MassClustering
internal import MMCConfiguration
internal import MMCWire

/// One re-clustering: everything it reads, copied from the model owner when it starts, so it can
/// run on its own thread while the owner keeps inserting points.
///
/// ``run()`` has two steps. ``clusterAndTrack()`` puts the window snapshot's features on one
/// scale (``FeatureScaling``, robust by default), clusters it, has the core summarise the
/// clusters in the points' original units, matches them to the previous ones (stable ids,
/// events: the previous clustering's leaf votes label the window's points, see
/// ``ClusterTracker``) and builds the leaf votes for provisional labels. ``encodeUpdates(of:)``
/// then encodes the update to publish (a diff, unless the full update is no larger) and the
/// full update that late joiners and `snapshot` requests get.
struct ReclusterJob: Sendable {
    /// The model as it was when the re-clustering started (a copy-on-write value). The leaf
    /// votes read its forest's cached chain ends, which the owner's inserts meanwhile copy one
    /// 512-slot chunk at a time (see `LeafCache`), rather than descend every point again here
    /// on a core that ingestion shares.
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
    /// Scratch memory the model owner keeps for its re-clusterings (one runs at a time), so
    /// each reuses the previous one's edge buffer; `nil` allocates afresh.
    var workspace: ClusteringWorkspace?
    /// The version the new clustering gets.
    let modelVersion: UInt64
    /// When the re-clustering started, seconds since the Unix epoch.
    let time: Double
    /// The assignments of the previous published update and its version, the base of a diff;
    /// `nil` publishes a full update.
    let diffBase: (version: UInt64, assignments: [UInt64: Int64])?

    /// Runs the re-clustering: ``clusterAndTrack()``, then ``encodeUpdates(of:)``.
    /// - Throws: `WireError` when an update cannot be built, which would be a bug of this
    ///   function (every value comes from validated points).
    /// - Complexity: the clusterer's, plus O(n * t + n log n) for the votes and O(n) hash
    ///   operations for the tracker and the diff.
    func run() throws(WireError) -> ReclusterResult {
        let tracked = clusterAndTrack()
        let updates = try encodeUpdates(of: tracked)
        return ReclusterResult(
            tracker: tracked.tracker,
            classifier: DaemonClassifier(modelVersion: modelVersion, votes: tracked.votes, stableIDs: tracked.stableIDs),
            fullUpdate: updates.full, fullBody: updates.fullBody, publishedBody: updates.publishedBody,
            publishedFull: updates.publishedFull, assignments: tracked.assignments)
    }

    /// Clusters the window snapshot, carries the cluster ids forward and builds the leaf votes:
    /// everything a re-clustering computes, before any encoding.
    func clusterAndTrack() -> TrackedClustering {
        let snapshot = model.snapshot()
        let count = snapshot.count
        let original = PointMatrix(count: count, dimension: snapshot.dimension, values: snapshot.values)
        let scaled = scaling.scaledMarkingFar(original, threads: threads)
        let clustered = cluster(scaled.points, parameters: parameters, far: scaled.far, threads: threads, workspace: workspace)

        // The tracker needs each point id once. Producers may reuse ids, so the newest point
        // of an id stands for it; clusters left without such a point become noise.
        var newest = [UInt64: Int](minimumCapacity: count)
        for (index, id) in snapshot.ids.enumerated() {
            newest[id] = index
        }
        let unique = newest.count == count
            ? Array(0..<count) : (0..<count).filter { newest[snapshot.ids[$0]] == $0 }
        var used = [Bool](repeating: false, count: clustered.clusters.count)
        for index in unique where clustered.labels[index] >= 0 {
            used[Int(clustered.labels[index])] = true
        }
        let clustering = clustered.keepingClusters(used).summarised(over: original)
        let labels = clustering.labels

        var tracker = tracker
        let tracked = tracker.update(
            pointIDs: unique.map { snapshot.ids[$0] }, labels: unique.map { labels[$0] },
            inherited: previous?.inheritedIDs(
                of: model.window, countedBy: model.forest, minimumConfidence: tracker.configuration.voteConfidence
            ).map { inherited in unique.map { inherited[$0] } },
            minimumMass: parameters.minClusterSize(forPointCount: count))
        let stableIDs = tracked.stableIDs
        let pointClusters = labels.map { $0 >= 0 ? Int64(stableIDs[Int($0)]) : -1 }
        var assignments = [UInt64: Int64](minimumCapacity: unique.count)
        for index in unique {
            assignments[snapshot.ids[index]] = pointClusters[index]
        }

        let votes: LeafVotes?
        if let forest = model.forest, count > 0 {
            // minimumLeafMass 1 cannot be refused.
            votes = try? LeafVotes(forest: forest, window: model.window, labels: labels)
        } else {
            votes = nil
        }
        return TrackedClustering(
            ids: snapshot.ids, dimension: snapshot.dimension, unique: unique, clustering: clustering, tracker: tracker, stableIDs: stableIDs,
            events: tracked.events, pointClusters: pointClusters, assignments: assignments, votes: votes)
    }

    /// The update with every window point's assignment, encoded, and the update to publish
    /// now: the full one, or a diff against ``diffBase`` when that is smaller.
    /// - Throws: `WireError` when an update cannot be built (see ``run()``).
    func encodeUpdates(
        of tracked: TrackedClustering
    ) throws(WireError) -> (full: ClusterUpdate, fullBody: [UInt8], publishedBody: [UInt8], publishedFull: Bool) {
        let dimension = tracked.dimension
        let count = tracked.ids.count
        let summaries = try tracked.clustering.clusters.map { cluster throws(WireError) in
            try PublishedCluster(
                id: Int64(tracked.stableIDs[Int(cluster.label)]), mass: cluster.mass, centroid: cluster.centroid,
                minimum: cluster.lowerBound, maximum: cluster.upperBound)
        }
        let noise = tracked.clustering.noiseCount
        let events = tracked.events.map(Self.wireEvent)

        let full = try ClusterUpdate(
            modelVersion: modelVersion, time: time, dimension: dimension, windowSize: count, noiseCount: noise,
            clusters: summaries, events: events,
            assignments: try Assignments(full: tracked.ids, clusters: tracked.pointClusters))
        let fullBody = UpdateMessage.clusters(full).encoded()
        guard let diffBase else { return (full, fullBody, fullBody, true) }
        var changedIDs: [UInt64] = []
        var changedClusters: [Int64] = []
        for index in tracked.unique {
            let id = tracked.ids[index]
            if diffBase.assignments[id] != tracked.pointClusters[index] {
                changedIDs.append(id)
                changedClusters.append(tracked.pointClusters[index])
            }
        }
        let removed = diffBase.assignments.keys.filter { tracked.assignments[$0] == nil }.sorted()
        let diff = try ClusterUpdate(
            modelVersion: modelVersion, time: time, dimension: dimension, windowSize: count, noiseCount: noise,
            clusters: summaries, events: events,
            assignments: try Assignments(
                diffFrom: diffBase.version, ids: changedIDs, clusters: changedClusters, removed: removed))
        // When most points changed cluster or left the window, the diff outgrows the full
        // update (it lists ids twice: changed and removed); the full one is then sent.
        let diffBody = UpdateMessage.clusters(diff).encoded()
        return diffBody.count < fullBody.count ? (full, fullBody, diffBody, false) : (full, fullBody, fullBody, true)
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
