internal import FoundationEssentials
internal import Logging
internal import MassClustering
internal import MMCConfiguration
internal import MMCRuntime
internal import MMCState
internal import Prometheus

/// What a state snapshot is made from: copy-on-write copies taken by the model owner, turned
/// into a ``DaemonStateSnapshot`` (an O(n) copy and a sort of the tracker's points) off the
/// owner, by the writer. The window only: the forest is regrown on restore, and holding it
/// would make the owner's inserts copy the chunks of its leaf cache while the write runs.
struct DaemonPersistedState: Sendable {
    let window: SlidingWindow
    let tracker: ClusterTracker
    /// The last clustering, whose votes label the points that arrived after it (see below).
    let classifier: DaemonClassifier?
    let modelVersion: UInt64
    let sequenceNumbers: [String: UInt64]

    /// The snapshot to write. The forest is not stored: a restore re-inserts the window into a
    /// fresh forest (see ``DaemonRestoredState``), which keeps the file independent of the
    /// forest's memory layout.
    ///
    /// The tracker is stored carried forward to the saved window: each window point with the
    /// cluster id the last clustering gave it, or, for a point that arrived since, the id its
    /// leaf votes give it. The restored tracker then shares every point with the restored
    /// window, so the first clustering after the restart continues the ids however much of the
    /// window turned over since the last clustering (the votes themselves are not stored: they
    /// depend on the forest).
    /// - Complexity: O(n * t * h) for the votes of the n window points.
    func snapshot(createdAt: Double) -> DaemonStateSnapshot {
        let points = window.snapshot()
        let tracked = tracker.carriedState(
            to: points.ids, inherited: classifier?.inheritedIDs(
                of: window, countedBy: nil, minimumConfidence: tracker.configuration.voteConfidence))
        return DaemonStateSnapshot(
            createdAt: createdAt, modelVersion: modelVersion, dimension: points.dimension, windowIDs: points.ids,
            windowTimestamps: points.timestamps, windowValues: points.values,
            windowSlots: points.slots.map { Int32(truncatingIfNeeded: $0) }, forest: nil,
            nextClusterID: tracked.nextID, trackedPointIDs: tracked.pointIDs,
            trackedClusterIDs: tracked.clusterIDs.map { $0 ?? DaemonStateSnapshot.noCluster },
            sequenceNumbers: sequenceNumbers)
    }
}

/// The model rebuilt from a state snapshot: the window's points re-inserted in arrival order
/// into a fresh model (so the forest counts exactly them), the tracker and versions restored so
/// cluster ids and sequence numbers continue.
struct DaemonRestoredState: Sendable {
    let model: StreamModel
    let tracker: ClusterTracker
    let modelVersion: UInt64
    let sequenceNumbers: [String: UInt64]

    /// Rebuilds the state of `snapshot` into `empty`, a new model of the configured window and
    /// forest.
    ///
    /// - Throws: ``DaemonError`` saying why the snapshot cannot be used: another dimension,
    ///   non-finite values, an invalid tracker state.
    /// - Complexity: O(n * t * h) for the n window points.
    init(snapshot: DaemonStateSnapshot, empty: StreamModel) throws(DaemonError) {
        let dimension = snapshot.dimension
        guard dimension == empty.window.dimension else {
            throw DaemonError(
                "the snapshot holds points of dimension \(dimension), input.dimension is \(empty.window.dimension)")
        }
        guard snapshot.windowValues.allSatisfy(\.isFinite), snapshot.windowTimestamps.allSatisfy(\.isFinite) else {
            throw DaemonError("the snapshot holds non-finite point values or timestamps")
        }
        let state = ClusterTracker.State(
            nextID: snapshot.nextClusterID, pointIDs: snapshot.trackedPointIDs,
            clusterIDs: snapshot.trackedClusterIDs.map { $0 == DaemonStateSnapshot.noCluster ? nil : $0 })
        do {
            tracker = try ClusterTracker(state: state)
        } catch {
            throw DaemonError("the cluster tracker state is invalid: \(error)")
        }
        var model = empty
        snapshot.windowValues.withUnsafeBufferPointer { values in
            for index in snapshot.windowIDs.indices {
                model.insert(
                    id: snapshot.windowIDs[index], timestamp: snapshot.windowTimestamps[index],
                    values: UnsafeBufferPointer(rebasing: values[index * dimension..<(index + 1) * dimension]))
            }
        }
        self.model = model
        modelVersion = snapshot.modelVersion
        sequenceNumbers = snapshot.sequenceNumbers
    }
}

/// Writes state snapshots on a thread of its own (encoding and `fsync` must not hold the
/// cooperative pool), counting each write's result and logging failures; the daemon keeps
/// serving whatever happens.
struct DaemonStateWriter: Sendable {
    let store: StateStore
    let context: DaemonContext

    /// Writes `state`; returns whether it was written. The state directory is checked first:
    /// the health reports `failing` while it is not a writable directory.
    @discardableResult
    func write(_ state: DaemonPersistedState) async -> Bool {
        let store = store
        context.health.setProblem(StateDirectory.problem(store.directory))
        let started = ContinuousClock.now
        let result = await runOnDedicatedThread(named: "mmcd.state", refused: context.threads.refused) {
            Result { () throws(StateStoreError) in
                try store.save(state.snapshot(createdAt: Date().timeIntervalSince1970))
            }
        }
        switch result {
        case .success:
            context.metrics.snapshotWrites(result: .ok).increment()
            context.logger.debug(
                "state snapshot written",
                metadata: [
                    "path": "\(store.path)", "window.size": "\(state.window.count)",
                    "write.ms": "\(Int(((ContinuousClock.now - started).seconds * 1_000).rounded()))",
                ])
            return true
        case .failure(let error):
            context.metrics.snapshotWrites(result: .error).increment()
            context.logger.error("cannot write the state snapshot", metadata: ["error": "\(error)"])
            return false
        }
    }
}
