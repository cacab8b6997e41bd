internal import Hummingbird
internal import HummingbirdCore
public import Logging
internal import NIOCore
public import Prometheus
public import ServiceLifecycle

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
