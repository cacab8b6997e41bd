internal import FoundationEssentials
public import Logging
internal import MassClustering
public import MMCConfiguration
internal import MMCState
internal import MMCWire
public import Prometheus
internal import ServiceLifecycle
internal import Synchronization
internal import UnixSignals
internal import ZeroMQ

/// The running daemon: the sockets, the model owner and the services around them, in one
/// ServiceLifecycle `ServiceGroup`.
///
/// ```swift
/// let configuration = try DaemonConfiguration(contentsOfFile: path, overrides: overrides)
/// let daemon = try Daemon(
///     configuration: configuration, configurationPath: path, overrides: overrides,
///     logger: logger, logLevel: level, handlesSignals: true)
/// try await daemon.run()   // until SIGTERM or SIGINT
/// ```
///
/// **Who owns what.** ``DaemonModel`` (an actor) is the single owner of the window, forest and
/// cluster tracker. The input, publisher and control sockets each run in a ``ZMQReceiveLoop``
/// (a thread of its own, so libzmq never blocks Swift's cooperative pool); the ingest service
/// decodes and hands batches to the model, which re-clusters on a thread of its own from a
/// copy of itself while ingestion continues, and gives the result to the publisher.
///
/// **Start.** `init` validates the model parameters, locks the state directory (another
/// daemon holding it fails the start: ``StateDirectory``), restores the state snapshot (a
/// corrupt or incompatible one is moved aside, logged and counted, and the daemon starts
/// empty), and binds every socket, so a bad endpoint fails here. ``run()`` sends `READY=1` once the group
/// runs and the HTTP endpoint (if any) is bound.
///
/// **Shutdown** (`SIGTERM`, `SIGINT` or ``shutdown()``): the services stop in this order:
/// `STOPPING=1` and health `stopping`; the `SIGHUP` handler; intake (messages already received
/// are still applied); the control endpoint; the model (a running re-clustering completes and
/// its update is published, then the state snapshot is written); the publisher (sends what is
/// queued, then closes with a linger); the HTTP endpoint.
///
/// **Reload** (`SIGHUP` or ``reload()``): `RELOADING=1`, the file is read again with the same
/// `--set` overrides, live keys are applied, changed keys that need a restart are logged,
/// `READY=1`.
public final class Daemon: Sendable {
    /// The endpoints bound.
    public let endpoints: DaemonEndpoints

    private let group: ServiceGroup
    private let reloader: DaemonReloader
    private let handlesSignals: Bool
    private let context: DaemonContext
    private let metricsServer: MetricsServer?
    private let model: DaemonModel
    /// The exclusive lock on `state.directory`, held until the daemon is released.
    private let stateLock: StateDirectory.Lock?
    /// Kept until the daemon is released: terminating the context waits for the publisher's
    /// linger, so the last update leaves before the process exits.
    private let zmq: ZMQContext

    /// Builds the daemon: model, restored state, sockets (bound) and services. Nothing runs
    /// until ``run()``.
    ///
    /// - Parameters:
    ///   - configuration: a validated configuration.
    ///   - configurationPath: the file ``reload()`` reads again.
    ///   - overrides: the `--set` overrides ``reload()`` applies again.
    ///   - logger: the daemon's logger.
    ///   - logLevel: the level the process's log handlers follow; a reload sets it.
    ///   - metrics: the metrics to update (and serve, with `http.port` set).
    ///   - notifier: systemd notifications; the default reads this process's environment.
    ///   - handlesSignals: trap `SIGTERM`/`SIGINT` (graceful shutdown) and `SIGHUP` (reload).
    ///     Tests leave it off and call ``shutdown()`` and ``reload()``.
    /// - Throws: ``DaemonError`` when a parameter is refused by the model, a key file is bad or
    ///   a socket cannot be bound.
    public init(
        configuration: DaemonConfiguration, configurationPath: String, overrides: [String], logger: Logger,
        logLevel: DaemonLogLevel, metrics: DaemonMetrics = DaemonMetrics(registry: PrometheusCollectorRegistry()),
        notifier: SystemdNotifier = SystemdNotifier(), handlesSignals: Bool = false
    ) throws(DaemonError) {
        self.handlesSignals = handlesSignals
        if let problem = FileDescriptorBudget.problem(configuration, limit: FileDescriptorBudget.currentLimit()) {
            throw DaemonError(problem)
        }
        let staleAfter = Self.staleAfter(configuration.schedule)
        let counters = DaemonCounters()
        let context = DaemonContext(
            metrics: metrics, counters: counters, logger: logger, notifier: notifier,
            health: HealthMonitor(staleAfter: staleAfter), rejects: RateLimitedLog(logger: logger),
            live: LiveFeed(counters: counters, clients: metrics.liveClients),
            threads: DedicatedThreadReports(registry: metrics.registry, logger: logger))
        let empty = try Self.emptyModel(configuration)
        let clustering: ClusteringParameters
        let scaling: FeatureScaling
        do {
            clustering = try configuration.clustering.parameters()
            scaling = try configuration.clustering.featureScaling()
        } catch {
            throw DaemonError("the clusterer refuses the [clustering] settings: \(error)")
        }
        let store = configuration.state.directory.isEmpty ? nil : StateStore(directory: configuration.state.directory)
        let stateLock = try store.flatMap { store throws(DaemonError) in try StateDirectory.lock(store.directory) }
        if let store, let problem = StateDirectory.problem(store.directory) {
            context.health.setProblem(problem)
            logger.error("no state snapshot can be written", metadata: ["error": "\(problem)"])
        }
        let restored = store.flatMap { Self.restore(from: $0, empty: empty, context: context) }

        let zmq: ZMQContext
        do {
            zmq = try ZMQContext()
        } catch {
            throw DaemonError("cannot create the ZeroMQ context: \(error)")
        }
        do {
            let security = try DaemonSecurity(configuration: configuration.security, zmq: zmq, context: context)
            let publisher = try Self.makePublisher(
                configuration.output, lastSequences: restored?.sequenceNumbers ?? [:], zmq: zmq, security: security,
                context: context, peers: DaemonPeerLimit(configuration.security, socket: "output", context: context))
            let model = DaemonModel(
                stream: restored?.model ?? empty, tracker: restored?.tracker ?? ClusterTracker(),
                modelVersion: restored?.modelVersion ?? 0, configuration: configuration, clustering: clustering,
                scaling: scaling, publisher: publisher, context: context)
            let limits = configuration.input.decodingLimits
            var control: (loop: ZMQReceiveLoop, bound: String)?
            if !configuration.control.endpoint.isEmpty {
                control = try Self.bind("control.endpoint", configuration.control.endpoint) {
                    () throws(ZMQError) in
                    try DaemonControlService.makeLoop(
                        configuration: configuration.control, zmq: zmq, security: security,
                        peers: DaemonPeerLimit(configuration.security, socket: "control", context: context))
                }
            }
            let input = try Self.bind("input", (configuration.input.bind + configuration.input.connect).joined(separator: ", ")) {
                () throws(ZMQError) in
                try DaemonIngestService.makeLoop(
                    configuration: configuration.input, zmq: zmq, security: security,
                    peers: DaemonPeerLimit(configuration.security, socket: "input", context: context))
            }
            endpoints = DaemonEndpoints(input: input.bound, output: publisher.endpoint, control: control?.bound)
            reloader = DaemonReloader(
                path: configurationPath, overrides: overrides, running: configuration, model: model,
                security: security, logLevel: logLevel, context: context)

            var services: [any Service] = []
            if configuration.http.port != 0 {
                let http = configuration.http
                let server = MetricsServer(
                    host: http.address, port: http.port, registry: metrics.registry, health: context.health, logger: logger,
                    live: http.servesLivePage ? Self.liveView(context: context, model: model) : nil,
                    limits: HTTPLimits(
                        maxConnections: http.maxConnections, idleTimeout: .seconds(http.idleTimeoutSeconds),
                        allowedHosts: http.allowedHosts))
                metricsServer = server
                services.append(server)
            } else {
                metricsServer = nil
            }
            services.append(DaemonPublisherService(publisher: publisher))
            services.append(
                DaemonScheduler(
                    model: model, writer: store.map { DaemonStateWriter(store: $0, context: context) },
                    snapshotInterval: configuration.state.snapshotIntervalSeconds, context: context))
            if let control {
                services.append(
                    DaemonControlService(
                        loop: control.loop, model: model, dimension: configuration.input.dimension, limits: limits,
                        context: context))
            }
            services.append(
                DaemonIngestService(
                    loop: input.loop, model: model, publisher: publisher,
                    topicFilter: configuration.input.socket == .pull ? configuration.input.topics.map { Array($0.utf8) } : nil,
                    dimension: configuration.input.dimension, limits: limits,
                    admission: DaemonAdmission(configuration: configuration.input, context: context), context: context))
            services.append(DaemonShutdownAnnouncer(context: context))
            group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
            self.model = model
        } catch {
            zmq.shutdown()
            throw error
        }
        self.context = context
        self.zmq = zmq
        self.stateLock = stateLock
        logger.info(
            "sockets bound",
            metadata: [
                "input": .array(endpoints.input.map { .string($0) }), "output": "\(endpoints.output)",
                "control": "\(endpoints.control ?? "off")",
            ])
    }

    /// Runs the services until graceful shutdown (a signal, or ``shutdown()``) has completed.
    ///
    /// Sends `READY=1` once the group is running and the HTTP endpoint, if configured, is
    /// bound (the ZeroMQ sockets were bound by `init`). The signals are trapped before that, so
    /// a `SIGTERM` or `SIGHUP` sent the moment systemd sees `READY=1` is handled, never fatal.
    /// - Throws: when a service fails (the others are then cancelled).
    public func run() async throws {
        // Once the group has ended, the final snapshot is written: another daemon may take the
        // state directory.
        defer { stateLock?.release() }
        let signals = handlesSignals ? await UnixSignalsSequence(trapping: .sigterm, .sigint, .sighup) : nil
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.group.run() }
            if let signals {
                tasks.addTask { await self.handle(signals) }
            }
            if let metricsServer {
                let port = try await metricsServer.boundPort()
                context.logger.info("metrics and health endpoint listening", metadata: ["http.port": "\(port)"])
            }
            let figures = await model.figures()
            context.logger.info("ready", metadata: ["window.size": "\(figures.windowSize)"])
            do {
                try context.notifier.ready(status: "window \(figures.windowSize) points, waiting for the first re-clustering")
            } catch {
                context.logger.warning("cannot notify systemd", metadata: ["error": "\(error)"])
            }
            // After READY=1: the scheduler pings the watchdog only once the health is past
            // starting, so systemd never hears WATCHDOG=1 before READY=1.
            context.health.markReady()
            // The service group is the only task that ends on its own; then stop the signal loop.
            try await tasks.next()
            tasks.cancelAll()
        }
    }

    /// `SIGTERM` and `SIGINT` start a graceful shutdown, `SIGHUP` reloads; until cancelled.
    private func handle(_ signals: UnixSignalsSequence) async {
        for await signal in signals {
            if signal == .sighup {
                _ = await reloader.reload()
            } else {
                await group.triggerGracefulShutdown()
            }
        }
    }

    /// Starts a graceful shutdown, as `SIGTERM` does; ``run()`` returns when it is done.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }

    /// Re-reads the configuration file with the same overrides and applies the live keys, as
    /// `SIGHUP` does.
    @discardableResult
    public func reload() async -> DaemonReloadReport {
        await reloader.reload()
    }

    /// The health the `/healthz` endpoint reports.
    public var health: HealthMonitor.Report {
        context.health.report()
    }

    // MARK: Building

    /// How long without a re-clustering counts as stale: three intervals and half a minute;
    /// never when only the point count triggers re-clusterings (a quiet stream is not a fault).
    static func staleAfter(_ schedule: DaemonConfiguration.Schedule) -> Duration? {
        schedule.intervalSeconds > 0 ? .seconds(3 * schedule.intervalSeconds + 30) : nil
    }

    /// An empty model with the configured window and forest.
    private static func emptyModel(_ configuration: DaemonConfiguration) throws(DaemonError) -> StreamModel {
        let window = configuration.window
        do {
            let parameters = try MassForest.Parameters(
                treeCount: configuration.forest.trees, height: configuration.forest.height,
                sampleSize: configuration.forest.sampleSize, seed: configuration.forest.seed)
            let slidingWindow = try SlidingWindow(
                dimension: configuration.input.dimension, windowSize: window.size > 0 ? window.size : nil,
                horizon: window.maxAgeSeconds > 0 ? window.maxAgeSeconds : nil,
                maximumCount: window.size > 0 ? nil : window.maxPoints)
            var model = StreamModel(window: slidingWindow, parameters: parameters)
            // A restored window is re-inserted into this model: its clock must not run ahead
            // of the daemon's either (see DaemonModel.ingest).
            if configuration.input.maxFutureSeconds > 0 { model.limitClock(to: Date().timeIntervalSince1970) }
            return model
        } catch {
            throw DaemonError("the model refuses the [window]/[forest] settings: \(error)")
        }
    }

    /// The live page over `model`, its plot rendered once per model version.
    private static func liveView(context: DaemonContext, model: DaemonModel) -> LiveView {
        let cache = LivePlotCache(model: model, threads: context.threads)
        return LiveView(feed: context.live, plot: { await cache.svg() })
    }

    /// Restores the state snapshot, reporting every outcome; `nil` starts empty.
    private static func restore(
        from store: StateStore, empty: StreamModel, context: DaemonContext
    ) -> DaemonRestoredState? {
        if FileManager.default.fileExists(atPath: store.path) {
            // Re-inserting a large window takes a while: ask systemd for more time to start.
            try? context.notifier.extendTimeout(usec: 60_000_000)
        }
        var restored: DaemonRestoredState?
        let outcome = store.restore { snapshot in
            do throws(DaemonError) {
                restored = try DaemonRestoredState(snapshot: snapshot, empty: empty)
                return nil
            } catch {
                return error.description
            }
        }
        let result: String
        switch outcome {
        case .empty:
            result = "empty"
            context.logger.info("no state snapshot; starting empty", metadata: ["path": "\(store.path)"])
        case .restored:
            result = "restored"
            context.logger.info(
                "state restored",
                metadata: [
                    "path": "\(store.path)", "window.size": "\(restored?.model.window.count ?? 0)",
                    "model.version": "\(restored?.modelVersion ?? 0)",
                ])
        case .discarded(let error, let movedTo, let moveError):
            result = "discarded"
            context.logger.error(
                "state snapshot unusable; starting empty",
                metadata: [
                    "error": "\(error)", "moved.to": "\(movedTo ?? "-")", "move.error": "\(moveError.map { "\($0)" } ?? "-")",
                ])
        case .unreadable(let error):
            result = "unreadable"
            context.logger.error("cannot read the state snapshot; starting empty", metadata: ["error": "\(error)"])
        }
        context.metrics.registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "mmcd", metricName: "state_restores", unitName: "total",
                helpText: "State snapshot restores at start, by result."),
            labels: [("result", result)]
        ).increment()
        return restored
    }

    private static func makePublisher(
        _ output: DaemonConfiguration.Output, lastSequences: [String: UInt64], zmq: ZMQContext,
        security: DaemonSecurity, context: DaemonContext, peers: DaemonPeerLimit
    ) throws(DaemonError) -> DaemonPublisher {
        try bind("output.endpoint", output.endpoint) { () throws(ZMQError) in
            let socket = try ZMQSocket(context: zmq, type: .xpub)
            try socket.set(.sendHighWaterMark(output.sendHighWaterMark))
            try socket.set(.xpubVerbose(true))
            // Long enough for the final update to reach subscribers after the socket closes.
            try socket.set(.linger(milliseconds: 2_000))
            try socket.set(.heartbeatInterval(milliseconds: 10_000))
            try socket.set(.heartbeatTimeout(milliseconds: 30_000))
            try security.apply(to: socket)
            return try DaemonPublisher(
                socket: socket, endpoint: output.endpoint, topic: output.topic, lastSequences: lastSequences,
                metrics: context.metrics, logger: context.logger, peers: peers)
        }
    }

    /// Runs a socket set-up, turning its ZeroMQ error into a ``DaemonError`` naming the key.
    private static func bind<Result>(
        _ key: String, _ endpoint: String, _ body: () throws(ZMQError) -> Result
    ) throws(DaemonError) -> Result {
        do {
            return try body()
        } catch {
            throw DaemonError("\(key) = \(endpoint): \(error)")
        }
    }
}
