internal import MassClustering
internal import MMCConfiguration
internal import MMCRuntime
internal import MMCPlot
internal import MMCWire
internal import Prometheus
internal import Synchronization

/// The window as the live page draws it: the points now in the window and the cluster each had
/// at the latest re-clustering (a read-only copy handed out by ``DaemonModel/liveWindow()``).
struct LiveWindow: Sendable {
    /// The model version of the latest clustering (0 before the first).
    let modelVersion: UInt64
    /// The window's points, oldest first.
    let snapshot: SlidingWindow.Snapshot
    /// The stable cluster id (`-1` noise) of every point id at the latest re-clustering. As in
    /// published assignments, an id that a producer reused stands for its newest point.
    let assignments: [UInt64: Int64]

    /// The SVG scatter plot of the window: the same renderer as `mmc plot`, aggregating above
    /// 20,000 points so the page stays light. Points that joined after the re-clustering are
    /// drawn hollow.
    /// - Complexity: O(n) hash look-ups and the renderer's cost.
    func svg() -> String {
        let count = snapshot.ids.count
        let clusters = snapshot.ids.map { assignments[$0] ?? PlotData.unassigned }
        var options = PlotOptions()
        options.title = "mmcd window: \(count) points, model version \(modelVersion)"
        let pending = clusters.count { $0 == PlotData.unassigned }
        if pending > 0 {
            options.notes = ["\(pending) points arrived after the latest re-clustering: drawn hollow"]
        }
        do {
            let points = PointMatrix(count: count, dimension: snapshot.dimension, values: snapshot.values)
            return try ScatterPlot.svg(try PlotData(points: points, clusters: clusters), options: options)
        } catch {
            // The window's points and stable ids always make valid plot data.
            preconditionFailure("the live plot refused the window: \(error)")
        }
    }
}

/// The live page's feed: a JSON summary of every completed re-clustering, pushed to the page's
/// server-sent-event connections, and the history that gives each cluster its age and last
/// event.
///
/// The model owner calls ``reclustered(_:duration:)`` after each re-clustering; each
/// `/live/events` connection ``subscribe()``s and must ``unsubscribe(_:)`` when it ends,
/// whatever the reason (the HTTP handler does it in a `defer`), so a closed browser tab leaves
/// nothing behind. A connection's buffer holds the newest 4 events: a slow reader skips
/// summaries rather than making the daemon hold more. At most ``maximumClients`` connections
/// are served; ``stop()`` ends every stream at shutdown so the HTTP server can finish.
final class LiveFeed: Sendable {
    /// The most event-stream connections served at once.
    static let maximumClients = 32

    private struct ClusterHistory {
        /// When the cluster was first seen (seconds since 1970) and at which model version.
        var born: Double
        var bornVersion: UInt64
        /// The latest event that concerned it, and its model version.
        var lastEvent: String
        var lastEventVersion: UInt64
    }

    private struct State {
        var subscribers: [Int: AsyncStream<String>.Continuation] = [:]
        var nextSubscriber = 0
        var stopped = false
        var history: [Int64: ClusterHistory] = [:]
        /// The JSON members describing the latest re-clustering; `nil` before the first.
        var clustering: String?
        var reclusterings: UInt64 = 0
        /// When the latest re-clustering was reported, and the points accepted by then.
        var lastReport: (at: ContinuousClock.Instant, accepted: UInt64)?
    }

    private let state = Mutex(State())
    private let counters: DaemonCounters
    private let clients: Prometheus.Gauge

    /// A feed reporting `counters`, with the number of connections on `clients`.
    init(counters: DaemonCounters, clients: Prometheus.Gauge) {
        self.counters = counters
        self.clients = clients
        clients.set(Int64(0))
    }

    /// Opens an event stream that starts with the latest summary; `nil` when ``maximumClients``
    /// are connected or the daemon is stopping.
    func subscribe() -> (id: Int, events: AsyncStream<String>)? {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(4))
        let opened: (Int, Int)? = state.withLock { state in
            guard !state.stopped, state.subscribers.count < Self.maximumClients else { return nil }
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            continuation.yield(Self.event(named: "summary", summary(state)))
            return (id, state.subscribers.count)
        }
        guard let (id, count) = opened else { return nil }
        clients.set(Int64(count))
        return (id, stream)
    }

    /// Closes a stream opened by ``subscribe()``.
    func unsubscribe(_ id: Int) {
        let (continuation, count) = state.withLock { ($0.subscribers.removeValue(forKey: id), $0.subscribers.count) }
        continuation?.finish()
        clients.set(Int64(count))
    }

    /// Sends an SSE comment on stream `id`, so that a connection whose reader has gone fails
    /// its next write and is closed even when no re-clustering comes.
    func keepAlive(_ id: Int) {
        _ = state.withLock { $0.subscribers[id]?.yield(": keep-alive\n\n") }
    }

    /// Whether another stream would be accepted now.
    var acceptsClients: Bool {
        state.withLock { !$0.stopped && $0.subscribers.count < Self.maximumClients }
    }

    /// Records a completed re-clustering and sends its summary to every stream.
    func reclustered(_ update: ClusterUpdate, duration: Duration) {
        state.withLock { state in
            state.reclusterings += 1
            Self.track(update, history: &state.history)
            state.clustering = Self.clustering(update, duration: duration, history: state.history)
            let event = Self.event(named: "recluster", summary(state))
            state.lastReport = (.now, counters.pointsAccepted.load(ordering: .relaxed))
            for continuation in state.subscribers.values { continuation.yield(event) }
        }
    }

    /// The latest summary as JSON (counters as of now).
    func currentSummary() -> String {
        state.withLock { summary($0) }
    }

    /// Ends every stream and refuses new ones: the daemon is shutting down.
    func stop() {
        let ended = state.withLock { state in
            state.stopped = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for continuation in ended { continuation.finish() }
        clients.set(Int64(0))
    }

    private static func event(named name: String, _ json: String) -> String {
        "event: \(name)\ndata: \(json)\n\n"
    }

    /// Updates every cluster's birth and last event from an update's events and clusters.
    private static func track(_ update: ClusterUpdate, history: inout [Int64: ClusterHistory]) {
        let version = update.modelVersion
        func note(_ id: Int64, _ text: String) {
            var entry = history[id] ?? ClusterHistory(born: update.time, bornVersion: version, lastEvent: "", lastEventVersion: 0)
            entry.lastEvent = text
            entry.lastEventVersion = version
            history[id] = entry
        }
        for event in update.events {
            switch event {
            case .birth(let id):
                history[id] = nil
                note(id, "birth")
            case .death(let id):
                history[id] = nil
            case .merge(let from, let into):
                note(into, "merged from " + from.map(String.init).joined(separator: ", "))
            case .split(let from, let into):
                for id in into { note(id, "split from \(from)") }
            }
        }
        let present = Set(update.clusters.map(\.id))
        for cluster in update.clusters where history[cluster.id] == nil {
            // Present without an event of its own: the first update after a restart.
            note(cluster.id, "restored")
        }
        history = history.filter { present.contains($0.key) }
    }

    /// The JSON summary: the counters as of now, the rate of accepted points since the
    /// previous re-clustering was reported (since the start before that), and the latest
    /// re-clustering.
    private func summary(_ state: State) -> String {
        let now = ContinuousClock.now
        let accepted = counters.pointsAccepted.load(ordering: .relaxed)
        let since = state.lastReport ?? (counters.started, 0)
        let elapsed = (now - since.at).seconds
        let rate = elapsed > 0 ? Double(accepted &- since.accepted) / elapsed : 0
        var json = "{\"reclusterings\":\(state.reclusterings)"
        json += ",\"points_accepted\":\(accepted),\"points_per_second\":\(Self.number(rate))"
        json += ",\"points_rejected\":\(counters.pointsRejected.load(ordering: .relaxed))"
        json += ",\"points_dropped\":\(counters.pointsDropped.load(ordering: .relaxed))"
        json += ",\"uptime_seconds\":\(Self.number((now - counters.started).seconds)),"
        return json + (state.clustering ?? "\"model_version\":null,\"window_size\":null,\"clusters\":[]") + "}"
    }

    /// The JSON members of a re-clustering: version, time, duration, window, noise and every
    /// cluster with its mass, centroid, age and last event.
    private static func clustering(_ update: ClusterUpdate, duration: Duration, history: [Int64: ClusterHistory]) -> String {
        var json = "\"model_version\":\(update.modelVersion),\"time\":\(number(update.time))"
        json += ",\"recluster_seconds\":\(number(duration.seconds))"
        json += ",\"window_size\":\(update.windowSize),\"noise\":\(update.noiseCount),\"clusters\":["
        for (index, cluster) in update.clusters.enumerated() {
            let history = history[cluster.id]
            if index > 0 { json += "," }
            json += "{\"id\":\(cluster.id),\"mass\":\(cluster.mass),\"centroid\":["
            json += cluster.centroid.map(number).joined(separator: ",")
            json += "],\"age_seconds\":\(number(max(0, update.time - (history?.born ?? update.time))))"
            json += ",\"born_version\":\(history?.bornVersion ?? update.modelVersion)"
            json += ",\"last_event\":\"\(history?.lastEvent ?? "")\""
            json += ",\"last_event_version\":\(history?.lastEventVersion ?? update.modelVersion)}"
        }
        return json + "]"
    }

    /// A finite number as JSON (the standard library's shortest form is valid JSON).
    private static func number(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }
}

/// The live page's SVG, rendered at most once per model version whatever the number of
/// viewers, on a thread of its own so a large window does not hold the cooperative pool.
actor LivePlotCache {
    private let model: DaemonModel
    private let threads: DedicatedThreadReports
    private var cached: (version: UInt64, svg: Task<String, Never>)?

    init(model: DaemonModel, threads: DedicatedThreadReports) {
        self.model = model
        self.threads = threads
    }

    /// The plot of the latest clustering's window.
    func svg() async -> String {
        let version = await model.figures().modelVersion
        if let cached, cached.version == version { return await cached.svg.value }
        let window = await model.liveWindow()
        // Another caller may have rendered this version while this one waited.
        if let cached, cached.version == window.modelVersion { return await cached.svg.value }
        let task = Task { [threads] in
            await runOnDedicatedThread(
                named: "mmcd.live-plot", niceness: DedicatedThreadPriority.background.niceness,
                priorityDenied: threads.priorityDenied, refused: threads.refused
            ) { window.svg() }
        }
        cached = (window.modelVersion, task)
        return await task.value
    }
}
