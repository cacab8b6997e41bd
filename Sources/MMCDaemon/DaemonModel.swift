internal import FoundationEssentials
internal import Logging
internal import MassClustering
internal import MMCConfiguration
internal import MMCRuntime
internal import MMCWire
internal import Prometheus
internal import Synchronization

/// The model owner: the one place that mutates the window, the forest and the cluster tracker.
///
/// Ingestion inserts each batch here. A re-clustering starts every `schedule.interval_seconds`
/// (checked by ``tick(now:)``) or after `schedule.every_points` new points (checked after each
/// batch), whichever comes first, and never while another one runs. It refreshes
/// `forest.refresh_per_recluster` trees of the live forest (growing the forest if the window
/// never reached the sample size), copies the model (a copy-on-write value) and runs a
/// ``ReclusterJob`` on a thread of its own; the actor is free meanwhile, so ingestion goes on.
/// The result comes back here: the tracker, the leaf votes and the latest update are swapped in,
/// the model version is bumped and the update goes to the publisher. A result that took longer
/// than `schedule.time_budget_seconds` is abandoned and counted (the clusterer cannot be
/// interrupted, so it is its result that is dropped).
actor DaemonModel {
    /// The keys of the schedule and output that a reload may change.
    struct Settings: Sendable, Equatable {
        var intervalSeconds: Double
        var everyPoints: Int
        var timeBudgetSeconds: Double
        var provisional: Bool
        var assignments: DaemonConfiguration.AssignmentMode
        var fullEvery: Int

        init(_ configuration: DaemonConfiguration) {
            intervalSeconds = configuration.schedule.intervalSeconds
            everyPoints = configuration.schedule.everyPoints
            timeBudgetSeconds = configuration.schedule.timeBudgetSeconds
            provisional = configuration.output.provisional
            assignments = configuration.output.assignments
            fullEvery = configuration.output.fullEvery
        }
    }

    /// The figures of the `stats` reply that the model owns.
    struct Figures: Sendable {
        let modelVersion: UInt64
        let dimension: Int
        let windowSize: Int
        let windowCapacity: Int
        let clusterCount: Int
        let noiseCount: Int
        let reclusterCount: UInt64
        let lastReclusterSeconds: Double
    }

    /// The latest finished clustering.
    private struct Latest {
        let classifier: DaemonClassifier
        let fullUpdate: ClusterUpdate
        let assignments: [UInt64: Int64]
    }

    private let clustering: ClusteringParameters
    private let scaling: FeatureScaling
    /// The most threads a re-clustering uses (`clustering.threads`, resolved).
    private let reclusterThreads: Int
    private let refreshPerRecluster: Int
    /// The re-clusterings' scratch memory, sized by the window (``ClusteringWorkspace``).
    private let workspace = ClusteringWorkspace()
    /// Whether timestamps are wall-clock times (`input.max_future_seconds` > 0): then the
    /// window's clock never runs ahead of the daemon's.
    private let limitsWindowClock: Bool
    private let publisher: DaemonPublisher
    private let context: DaemonContext
    private var settings: Settings
    private var stream: StreamModel
    private var tracker: ClusterTracker
    private var modelVersion: UInt64
    private var latest: Latest?
    private var updatesSinceFull = 0
    private var pointsSinceStart = 0
    /// When the last re-clustering started; `nil` starts one at the next chance.
    private var lastStart: ContinuousClock.Instant?
    private var running: Task<Void, Never>?
    private var stopping = false
    private var reclusterCount: UInt64 = 0
    private var lastDuration: Duration = .zero
    /// The priority the next re-clustering's thread runs at.
    private var reclusterPriority = DedicatedThreadPriority.background

    /// A model owner over `stream` (empty, or restored with `tracker` and `modelVersion`).
    ///
    /// A restored, non-empty window is re-clustered at the first chance, so that queries and
    /// provisional labels work again soon after a restart.
    init(
        stream: StreamModel, tracker: ClusterTracker, modelVersion: UInt64, configuration: DaemonConfiguration,
        clustering: ClusteringParameters, scaling: FeatureScaling, publisher: DaemonPublisher, context: DaemonContext
    ) {
        self.stream = stream
        self.tracker = tracker
        self.modelVersion = modelVersion
        self.clustering = clustering
        self.scaling = scaling
        reclusterThreads = configuration.clustering.resolvedThreads(
            processors: ProcessInfo.processInfo.activeProcessorCount)
        refreshPerRecluster = configuration.forest.refreshPerRecluster
        limitsWindowClock = configuration.input.maxFutureSeconds > 0
        settings = Settings(configuration)
        self.publisher = publisher
        self.context = context
        pointsSinceStart = stream.window.count
        lastStart = stream.window.isEmpty ? .now : nil
        context.metrics.windowPoints.set(Int64(stream.window.count))
    }

    /// Inserts a batch into the window and starts a re-clustering if `every_points` is reached.
    /// With wall-clock timestamps, no point moves the window's clock past the daemon's clock.
    ///
    /// - Returns: the batch's provisional assignments when they are on and a clustering exists.
    ///   Each point is labelled right after its insert, from the chain ends the insert cached.
    /// - Complexity: O(t * h) per point.
    func ingest(_ batch: PointBatch) -> ProvisionalAssignments? {
        guard batch.dimension == stream.window.dimension else { return nil }
        let classifier = settings.provisional ? latest?.classifier : nil
        var votes: [(label: Int32, confidence: Double)] = []
        votes.reserveCapacity(classifier == nil ? 0 : batch.count)
        if limitsWindowClock { stream.limitClock(to: Date().timeIntervalSince1970) }
        let inserted = stream.insert(
            ids: batch.ids, timestamps: batch.timestamps, values: batch.values, labelledBy: classifier?.votes,
            into: &votes)
        let tooOld = batch.count - inserted
        context.counters.pointsAccepted.add(UInt64(inserted), ordering: .relaxed)
        if tooOld > 0 {
            context.metrics.pointsDropped(reason: "too_old").increment(by: Int64(tooOld))
            context.counters.pointsDropped.add(UInt64(tooOld), ordering: .relaxed)
        }
        context.metrics.windowPoints.set(Int64(stream.window.count))
        pointsSinceStart += inserted
        startIfDue(now: .now)
        guard let classifier else { return nil }
        do {
            return try classifier.provisionalAssignments(ids: batch.ids, votes: votes)
        } catch {
            context.logger.error("cannot build provisional assignments", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Starts a re-clustering if the interval has passed since the last one, and moves a tree
    /// refresh on, so that it also finishes when points arrive slowly or not at all.
    func tick(now: ContinuousClock.Instant) {
        stream.continueTreeRefresh(budget: Self.refreshStepsPerTick)
        startIfDue(now: now)
    }

    /// Tree-refresh steps (one descent each) per scheduler tick: well under a millisecond.
    static let refreshStepsPerTick = 8_192

    /// The latest clustering, `nil` before the first one finished.
    func classifier() -> DaemonClassifier? {
        latest?.classifier
    }

    /// The latest cluster update with full assignments, `nil` before the first one.
    func snapshotUpdate() -> ClusterUpdate? {
        latest?.fullUpdate
    }

    /// The window now with each point's cluster at the latest re-clustering, for the live page.
    /// - Complexity: O(n) copies of the window; the assignments are shared, not copied.
    func liveWindow() -> LiveWindow {
        LiveWindow(modelVersion: modelVersion, snapshot: stream.window.snapshot(), assignments: latest?.assignments ?? [:])
    }

    /// The model's part of the `stats` reply.
    func figures() -> Figures {
        Figures(
            modelVersion: modelVersion, dimension: stream.window.dimension, windowSize: stream.window.count,
            windowCapacity: stream.window.maximumCount, clusterCount: latest?.fullUpdate.clusters.count ?? 0,
            noiseCount: latest?.fullUpdate.noiseCount ?? 0, reclusterCount: reclusterCount,
            lastReclusterSeconds: lastDuration.seconds)
    }

    /// Applies reloaded schedule and output settings; they take effect at the next check.
    func apply(_ newSettings: Settings) {
        settings = newSettings
    }

    /// What a state snapshot holds, as of the last finished re-clustering (the window as of now).
    func persistableState() -> DaemonPersistedState {
        DaemonPersistedState(
            window: stream.window, tracker: tracker, classifier: latest?.classifier, modelVersion: modelVersion,
            sequenceNumbers: publisher.lastSequences)
    }

    /// Stops starting re-clusterings, waits for a running one to finish (its update is
    /// published: nothing is left half-way) and returns the state to save.
    func shutDown() async -> DaemonPersistedState {
        stopping = true
        while let running {
            await running.value
        }
        return persistableState()
    }

    private func startIfDue(now: ContinuousClock.Instant) {
        guard running == nil, !stopping, pointsSinceStart > 0, !stream.window.isEmpty else { return }
        let countDue = settings.everyPoints > 0 && pointsSinceStart >= settings.everyPoints
        let timeDue = lastStart.map {
            settings.intervalSeconds > 0 && now - $0 >= .seconds(settings.intervalSeconds)
        } ?? true
        guard countDue || timeDue else { return }
        start(now: now)
    }

    private func start(now: ContinuousClock.Instant) {
        // Spread over the next inserts and ticks: regrowing trees at once would hold up
        // ingestion for a recount of the whole window.
        stream.scheduleTreeRefresh(count: refreshPerRecluster)
        let publishFull =
            latest == nil || settings.assignments == .full || updatesSinceFull + 1 >= settings.fullEvery
        let job = ReclusterJob(
            model: stream, tracker: tracker, previous: latest?.classifier, parameters: clustering,
            scaling: scaling, threads: reclusterThreads, workspace: workspace, modelVersion: modelVersion + 1,
            time: Date().timeIntervalSince1970,
            diffBase: publishFull ? nil : latest.map { ($0.fullUpdate.modelVersion, $0.assignments) })
        pointsSinceStart = 0
        lastStart = now
        let priority = reclusterPriority
        running = Task {
            let result = await runOnDedicatedThread(
                named: "mmcd.recluster", niceness: priority.niceness, priorityDenied: context.threads.priorityDenied,
                refused: context.threads.refused
            ) {
                Result { () throws(WireError) in try job.run() }
            }
            finish(result, startedAt: now)
        }
    }

    private func finish(_ result: Result<ReclusterResult, WireError>, startedAt: ContinuousClock.Instant) {
        running = nil
        let duration = ContinuousClock.now - startedAt
        defer { startIfDue(now: .now) }
        let priority = reclusterPriority.next(afterReclusterTaking: duration, interval: settings.intervalSeconds)
        if priority != reclusterPriority {
            context.logger.info(
                priority == .normal
                    ? "re-clusterings overrun their interval; running them at normal priority"
                    : "re-clusterings fit their interval again; running them at background priority",
                metadata: ["recluster.seconds": "\(duration.seconds)", "interval.seconds": "\(settings.intervalSeconds)"])
            reclusterPriority = priority
        }
        let outcome: ReclusterResult
        switch result {
        case .success(let value):
            outcome = value
        case .failure(let error):
            context.logger.error("re-clustering failed", metadata: ["error": "\(error)"])
            return
        }
        if settings.timeBudgetSeconds > 0 && duration > .seconds(settings.timeBudgetSeconds) {
            context.metrics.reclusterAbandoned.increment()
            context.logger.warning(
                "re-clustering exceeded its time budget; result abandoned",
                metadata: [
                    "recluster.seconds": "\(duration.seconds)", "budget.seconds": "\(settings.timeBudgetSeconds)",
                ])
            return
        }
        tracker = outcome.tracker
        modelVersion = outcome.fullUpdate.modelVersion
        latest = Latest(
            classifier: outcome.classifier, fullUpdate: outcome.fullUpdate, assignments: outcome.assignments)
        updatesSinceFull = outcome.publishedFull ? 0 : updatesSinceFull + 1
        reclusterCount += 1
        lastDuration = duration
        publisher.publishClusters(
            body: outcome.publishedBody, isFull: outcome.publishedFull, fullBody: outcome.fullBody)

        let update = outcome.fullUpdate
        context.metrics.clusters.set(Int64(update.clusters.count))
        context.metrics.noiseFraction.set(
            update.windowSize > 0 ? Double(update.noiseCount) / Double(update.windowSize) : 0)
        context.metrics.reclusterDuration.record(duration)
        context.health.recordRecluster()
        context.live.reclustered(update, duration: duration)
        let milliseconds = Int((duration.seconds * 1_000).rounded())
        let status =
            "window \(update.windowSize) points, \(update.clusters.count) clusters, last re-clustering \(milliseconds) ms"
        do {
            try context.notifier.status(status)
        } catch {
            context.logger.debug("cannot notify systemd", metadata: ["error": "\(error)"])
        }
        context.logger.info(
            "re-clustered",
            metadata: [
                "model.version": "\(modelVersion)", "window.size": "\(update.windowSize)",
                "clusters": "\(update.clusters.count)", "noise": "\(update.noiseCount)",
                "recluster.ms": "\(milliseconds)", "assignments": "\(outcome.publishedFull ? "full" : "diff")",
            ])
    }
}
