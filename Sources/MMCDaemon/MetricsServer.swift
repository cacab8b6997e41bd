internal import Hummingbird
internal import HummingbirdCore
public import Logging
internal import NIOCore
public import Prometheus
public import ServiceLifecycle
internal import Synchronization

/// The metrics the daemon updates, registered on a `PrometheusCollectorRegistry`.
///
/// All names carry the `mmcd_` prefix. Labelled families (`reason`, `kind`, `result`) hand out
/// one counter per label value; the registry returns the same counter for the same value, so
/// callers may ask each time or keep the counter.
///
/// ```swift
/// let metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
/// metrics.pointsReceived.increment(by: Int64(batch.count))
/// metrics.messagesRejected(reason: "dimension_mismatch").increment()
/// metrics.reclusterDuration.record(.milliseconds(120))
/// ```
public struct DaemonMetrics: Sendable {
    /// The registry every metric is registered on; ``MetricsServer`` renders it.
    public let registry: PrometheusCollectorRegistry
    /// `mmcd_points_received_total`: points in messages that arrived (before decoding checks).
    public let pointsReceived: Counter
    /// `mmcd_points_decoded_total`: points that decoded and were handed to the model.
    public let pointsDecoded: Counter
    /// `mmcd_window_points`: points in the window.
    public let windowPoints: Gauge
    /// `mmcd_clusters`: clusters in the latest clustering.
    public let clusters: Gauge
    /// `mmcd_noise_fraction`: fraction of window points that were noise in the latest clustering.
    public let noiseFraction: Gauge
    /// `mmcd_recluster_duration_seconds`: how long re-clusterings took.
    public let reclusterDuration: DurationHistogram
    /// `mmcd_batch_ingest_duration_seconds`: per batch, from leaving the input queue to being in
    /// the window, waiting for the model owner included: what a re-clustering or anything else
    /// on the owner adds to ingestion shows here.
    public let batchIngestDuration: DurationHistogram
    /// `mmcd_recluster_abandoned_total`: re-clusterings abandoned past the time budget.
    public let reclusterAbandoned: Counter
    /// `mmcd_points_rejected_total`: points in rejected messages, as far as their payloads
    /// declare them (a payload too malformed to tell counts 0; `mmcd_messages_rejected_total`
    /// counts every message).
    public let pointsRejected: Counter
    /// `mmcd_live_clients`: live pages connected to `/live/events`.
    public let liveClients: Gauge

    /// Bucket bounds of ``reclusterDuration``: 10 ms to 2 minutes.
    public static let reclusterDurationBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30),
        .seconds(60), .seconds(120),
    ]

    /// Bucket bounds of ``batchIngestDuration``: 0.5 ms to 1 second.
    public static let batchIngestDurationBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
    ]

    /// Registers every metric on `registry` (the `result` series of snapshot writes start at 0).
    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        pointsReceived = registry.makeCounter(
            descriptor: Self.descriptor("points_received", "total", "Points in received messages."))
        pointsDecoded = registry.makeCounter(
            descriptor: Self.descriptor("points_decoded", "total", "Points decoded and handed to the model."))
        windowPoints = registry.makeGauge(descriptor: Self.descriptor("window", "points", "Points in the window."))
        clusters = registry.makeGauge(
            descriptor: Self.descriptor("clusters", "", "Clusters in the latest clustering."))
        noiseFraction = registry.makeGauge(
            descriptor: Self.descriptor(
                "noise_fraction", "", "Fraction of window points that were noise in the latest clustering."))
        reclusterDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor("recluster_duration", "seconds", "Duration of completed re-clusterings."),
            labels: [], buckets: Self.reclusterDurationBuckets)
        batchIngestDuration = registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                "batch_ingest_duration", "seconds", "Time from a batch leaving the input queue to being in the window."),
            labels: [], buckets: Self.batchIngestDurationBuckets)
        reclusterAbandoned = registry.makeCounter(
            descriptor: Self.descriptor(
                "recluster_abandoned", "total", "Re-clusterings abandoned because they exceeded the time budget."))
        pointsRejected = registry.makeCounter(
            descriptor: Self.descriptor("points_rejected", "total", "Points in rejected messages, as declared."))
        liveClients = registry.makeGauge(
            descriptor: Self.descriptor("live_clients", "", "Live pages connected to the event stream."))
        for result in SnapshotWriteResult.allCases { _ = snapshotWrites(result: result) }
    }

    /// `mmcd_messages_rejected_total{reason}`: messages refused whole, by reason (a wire error
    /// code such as `dimension_mismatch`, or `topic` for an unexpected topic).
    public func messagesRejected(reason: String) -> Counter {
        labelledCounter("messages_rejected", "Messages rejected, by reason.", ("reason", reason))
    }

    /// `mmcd_points_dropped_total{reason}`: points that did not reach the window, by reason:
    /// `queue_full` (in messages the input dropped unread, as their payloads declare them) or
    /// `too_old` (behind the window's time horizon).
    public func pointsDropped(reason: String) -> Counter {
        labelledCounter("points_dropped", "Points that did not reach the window, by reason.", ("reason", reason))
    }

    /// `mmcd_messages_dropped_total{reason}`: messages the input dropped unread (`queue_full`).
    public func messagesDropped(reason: String) -> Counter {
        labelledCounter("messages_dropped", "Messages dropped unread, by reason.", ("reason", reason))
    }

    /// `mmcd_updates_published_total{kind}`: messages published, by kind (`full`, `diff`,
    /// `provisional`, `snapshot`).
    public func updatesPublished(kind: String) -> Counter {
        labelledCounter("updates_published", "Cluster updates published, by kind.", ("kind", kind))
    }

    /// `mmcd_snapshot_writes_total{result}`: state snapshots written or failed.
    public func snapshotWrites(result: SnapshotWriteResult) -> Counter {
        labelledCounter("snapshot_writes", "State snapshot writes, by result.", ("result", result.rawValue))
    }

    /// The `mmcd_<name>_total` counter of one label value (the help text must be the same for
    /// every value: the registry enforces it).
    private func labelledCounter(_ name: String, _ help: String, _ label: (String, String)) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(name, "total", help), labels: [label])
    }

    private static func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mmcd", metricName: name, unitName: unit, helpText: help)
    }
}

/// The `result` label of `mmcd_snapshot_writes_total`.
public enum SnapshotWriteResult: String, Sendable, Hashable, CaseIterable {
    /// The snapshot was written and renamed into place.
    case ok
    /// Writing failed; the previous snapshot is still in place.
    case error
}

/// What `/healthz` reports: whether the daemon is up and re-clustering on schedule.
///
/// The daemon calls ``markReady()`` once it serves, ``recordRecluster()`` after every
/// re-clustering and ``markStopping()`` at shutdown. With a staleness limit set, a daemon that has
/// not re-clustered for longer than the limit (counted from readiness before the first one)
/// reports ``Status/stale``. While a part of the daemon cannot do its job
/// (``setProblem(_:)``: the state directory is not a writable directory), it reports
/// ``Status/failing``. Thread-safe.
public final class HealthMonitor: Sendable {
    /// The health states.
    public enum Status: String, Sendable, Hashable {
        /// Not ready yet (restoring state, binding sockets).
        case starting
        /// Ready and re-clustering on schedule.
        case ok
        /// Ready, but the last re-clustering is older than the staleness limit.
        case stale
        /// Serving, but a part cannot do its job (``Report/problem`` says which).
        case failing
        /// Shutting down.
        case stopping
    }

    /// One reading of the health state.
    public struct Report: Sendable, Hashable {
        /// The state.
        public let status: Status
        /// Time since the last re-clustering, `nil` before the first.
        public let lastReclusterAge: Duration?
        /// What fails, with ``Status/failing``.
        public let problem: String?

        /// Whether the state is ``Status/ok`` (HTTP 200; anything else is 503).
        public var isHealthy: Bool { status == .ok }

        /// `{"status":"ok","last_recluster_age_seconds":1.5}` (`null` before the first), with a
        /// `"problem"` string when failing.
        public var json: String {
            let age = lastReclusterAge.map { "\(Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18)" }
            let fields = #""status":"\#(status.rawValue)","last_recluster_age_seconds":\#(age ?? "null")"#
            guard let problem else { return "{" + fields + "}" }
            let escaped = problem.unicodeScalars.map { scalar -> String in
                if scalar == "\"" || scalar == "\\" { return "\\" + String(scalar) }
                guard scalar.value < 0x20 else { return String(scalar) }
                let hex = String(scalar.value, radix: 16)
                return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }.joined()
            return "{" + fields + #","problem":""# + escaped + "\"}"
        }
    }

    private struct State {
        var status = Status.starting
        var readyAt: ContinuousClock.Instant?
        var lastRecluster: ContinuousClock.Instant?
        var staleAfter: Duration?
        var problem: String?
    }

    private let state: Mutex<State>

    /// A monitor in the ``Status/starting`` state.
    ///
    /// - Parameter staleAfter: how long without a re-clustering counts as stale; `nil` never.
    public init(staleAfter: Duration? = nil) {
        state = Mutex(State(staleAfter: staleAfter))
    }

    /// The daemon serves: configuration valid, sockets bound.
    public func markReady() {
        state.withLock {
            $0.status = .ok
            $0.readyAt = $0.readyAt ?? .now
        }
    }

    /// Shutdown has begun.
    public func markStopping() {
        state.withLock { $0.status = .stopping }
    }

    /// A re-clustering finished now.
    public func recordRecluster() {
        state.withLock { $0.lastRecluster = .now }
    }

    /// Changes the staleness limit (after a reload changed the schedule); `nil` turns it off.
    public func setStaleAfter(_ limit: Duration?) {
        state.withLock { $0.staleAfter = limit }
    }

    /// Sets what fails (the daemon then reports ``Status/failing``), or `nil` once it works.
    public func setProblem(_ problem: String?) {
        state.withLock { $0.problem = problem }
    }

    /// The current health.
    public func report() -> Report {
        state.withLock { state in
            let now = ContinuousClock.Instant.now
            let age = state.lastRecluster.map { now - $0 }
            var status = state.status
            if status == .ok, let limit = state.staleAfter, let since = state.lastRecluster ?? state.readyAt,
                now - since > limit
            {
                status = .stale
            }
            if status == .ok || status == .stale, state.problem != nil {
                status = .failing
            }
            return Report(status: status, lastReclusterAge: age, problem: status == .failing ? state.problem : nil)
        }
    }
}

/// Why ``MetricsServer/boundPort()`` has no port to give.
public struct MetricsServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A readable sentence.
    public let description: String
}

/// The daemon's HTTP endpoint: `GET /metrics` (Prometheus text format) and `GET /healthz` (JSON),
/// and with the live page on (`http.live_page`): `GET /` (or `/live`) the page,
/// `GET /live/plot.svg` the window's scatter plot, `GET /live/summary.json` the latest
/// re-clustering's summary, `GET /live/events` those summaries as server-sent events.
///
/// A ServiceLifecycle `Service` built on Hummingbird 2: run it in the daemon's `ServiceGroup`
/// and it stops accepting connections and finishes in-flight requests on graceful shutdown
/// (event streams are ended first, so none holds the shutdown up).
/// Port 0 binds an ephemeral port; ``boundPort()`` returns the port actually bound.
///
/// Guards (``HTTPLimits``): at most `maxConnections` connections (one more closes the one that
/// has waited longest for a request), a connection without a complete request head for
/// `idleTimeout` is closed, and a request whose `Host` is a name other than `localhost`, the
/// listening address or one of `allowedHosts` gets 421 (``HostCheckMiddleware``).
///
/// ```swift
/// let metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
/// let health = HealthMonitor(staleAfter: .seconds(60))
/// let server = MetricsServer(
///     host: "127.0.0.1", port: 9477, registry: metrics.registry, health: health, logger: logger)
/// let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
/// try await group.run()
/// ```
public struct MetricsServer: Service {
    /// The address to listen on.
    public let host: String
    /// The port to listen on; 0 for an ephemeral port.
    public let port: Int
    private let registry: PrometheusCollectorRegistry
    private let health: HealthMonitor
    private let logger: Logger
    private let live: LiveView?
    private let limits: HTTPLimits
    private let binding = Binding()

    /// A server for `registry` and `health` on `host:port`, without the live page.
    public init(
        host: String, port: Int, registry: PrometheusCollectorRegistry, health: HealthMonitor, logger: Logger,
        limits: HTTPLimits = HTTPLimits()
    ) {
        self.init(host: host, port: port, registry: registry, health: health, logger: logger, live: nil, limits: limits)
    }

    /// A server that also serves the live page from `live`.
    init(
        host: String, port: Int, registry: PrometheusCollectorRegistry, health: HealthMonitor, logger: Logger,
        live: LiveView?, limits: HTTPLimits
    ) {
        self.host = host
        self.port = port
        self.registry = registry
        self.health = health
        self.logger = logger
        self.live = live
        self.limits = limits
    }

    /// Serves until graceful shutdown of the enclosing service group.
    ///
    /// - Throws: when the address cannot be bound.
    public func run() async throws {
        let router = Router()
        router.add(middleware: HostCheckMiddleware(address: host, allowedHosts: limits.allowedHosts))
        let registry = registry
        let health = health
        router.get("metrics") { _, _ in
            var body = ByteBuffer()
            body.writeBytes(registry.emitToBuffer())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: body))
        }
        router.get("healthz") { _, _ in
            let report = health.report()
            return Response(
                status: report.isHealthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: report.json)))
        }
        live?.addRoutes(to: router)
        let binding = binding
        let requested = port
        let connections = HTTPConnections(limit: limits.maxConnections)
        let application = Application(
            router: router,
            server: .http1(
                configuration: HTTP1Channel.Configuration(
                    additionalChannelHandlers: [HTTPConnectionTracker(connections: connections)],
                    idleTimeout: TimeAmount(limits.idleTimeout))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "mmcd"),
            onServerRunning: { channel in binding.bound(channel.localAddress?.port ?? requested) },
            logger: logger)
        do {
            let live = live
            try await withGracefulShutdownHandler {
                try await application.run()
            } onGracefulShutdown: {
                live?.feed.stop()
            }
            binding.finish(MetricsServerError(description: "the metrics server has stopped"))
        } catch {
            binding.finish(MetricsServerError(description: "the metrics server failed: \(error)"))
            throw error
        }
    }

    /// The bound port, once ``run()`` is listening.
    ///
    /// - Throws: ``MetricsServerError`` when the server failed to bind or has stopped.
    public func boundPort() async throws -> Int {
        try await binding.wait()
    }
}

/// The bound port, handed from the server's start callback to whoever waits for it.
private final class Binding: Sendable {
    private enum State {
        case waiting([CheckedContinuation<Int, any Error>])
        case bound(Int)
        case finished(MetricsServerError)
    }

    private let state = Mutex(State.waiting([]))

    func bound(_ port: Int) {
        state.withLock { state in
            if case .waiting(let waiters) = state {
                for waiter in waiters { waiter.resume(returning: port) }
            }
            state = .bound(port)
        }
    }

    func finish(_ error: MetricsServerError) {
        state.withLock { state in
            if case .waiting(let waiters) = state {
                for waiter in waiters { waiter.resume(throwing: error) }
            }
            state = .finished(error)
        }
    }

    func wait() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            state.withLock { state in
                switch state {
                case .waiting(let waiters): state = .waiting(waiters + [continuation])
                case .bound(let port): continuation.resume(returning: port)
                case .finished(let error): continuation.resume(throwing: error)
                }
            }
        }
    }
}
