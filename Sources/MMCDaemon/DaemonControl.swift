internal import Logging
internal import MMCConfiguration
internal import MMCRuntime
internal import MMCWire
internal import Prometheus
internal import ServiceLifecycle
internal import Synchronization
internal import ZeroMQ

/// The request/reply endpoint: `snapshot`, `stats` and `classify` (docs/protocol.md,
/// section 3) on a `ROUTER` socket, so `REQ` clients and `DEALER` clients with an empty
/// delimiter frame are both served.
///
/// A request is `[routing id][empty delimiter][request]`; the reply goes back as
/// `[routing id][empty delimiter][reply]`. A request that does not decode is answered with its
/// decoding error code. `classify` labels the points with the latest clustering's leaf votes
/// off the model owner, and never inserts them.
///
/// **Bounds.** Requests are answered one at a time and never dropped: while the service is
/// busy the loop stops reading (``ZMQReceiveLoop/Overflow/backPressure``), requests wait in
/// libzmq's queue of each client (``receiveHighWaterMark``) and then in the client's own. Each
/// client's replies queue up to `control.send_hwm`; beyond that (a client that does not read)
/// or to a client that is gone, a reply is dropped, counted
/// (`mmcd_control_replies_dropped_total`) and logged at a limited rate: `ZMQ_ROUTER_MANDATORY`
/// makes libzmq say so, where it would drop silently. A client whose connection stops taking
/// data is disconnected by the ZMTP heartbeat (``heartbeat``).
struct DaemonControlService: Service {
    let loop: ZMQReceiveLoop
    let model: DaemonModel
    let dimension: Int
    let limits: DecodingLimits
    let context: DaemonContext

    func run() async throws {
        let loop = loop
        let accounting = Task {
            var accounted = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                accounted = accountDroppedReplies(after: accounted)
            }
            _ = accountDroppedReplies(after: accounted)
        }
        await withGracefulShutdownHandler {
            var snapshots = SnapshotReplies()
            for await message in loop.messages {
                guard let (envelope, body) = Self.split(message) else {
                    context.rejects.log(
                        .warning, key: "control", "dropped a control message without an empty delimiter frame",
                        metadata: ["frames": "\(message.frames.count)"])
                    continue
                }
                let reply = await answer(body, snapshots: &snapshots)
                do {
                    if try !loop.send(ZMQMessage(envelope + [reply])) {
                        droppedReplies(1, "control outbox full; reply dropped")
                    }
                } catch {
                    context.logger.error("cannot send a control reply", metadata: ["error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            loop.stop()
        }
        accounting.cancel()
        await accounting.value
        if let failure = loop.failure { throw DaemonError("the control socket failed: \(failure)") }
    }

    /// Counts the replies the socket refused since `accounted` (a client at `control.send_hwm`,
    /// or gone); returns the new total. Every second, from one task, so that the count keeps
    /// up when no request comes.
    private func accountDroppedReplies(after accounted: Int) -> Int {
        let now = loop.sendDropped
        if now > accounted {
            droppedReplies(now - accounted, "control replies dropped: a client does not read them, or is gone")
        }
        return now
    }

    private func droppedReplies(_ count: Int, _ message: String) {
        context.metrics.controlRepliesDropped.increment(by: Int64(count))
        context.rejects.log(.warning, key: "control.reply", message, metadata: ["dropped": "\(count)"])
    }

    /// The routing envelope (up to and including the empty delimiter) and the request body;
    /// a body that is not exactly one frame is passed on as `nil` to be answered with an error.
    static func split(_ message: ZMQMessage) -> (envelope: [[UInt8]], body: [UInt8]?)? {
        let frames = message.frames
        guard let delimiter = frames.indices.dropFirst().first(where: { frames[$0].isEmpty }) else { return nil }
        let body = frames.count == delimiter + 2 ? frames[delimiter + 1] : nil
        return (Array(frames[...delimiter]), body)
    }

    /// The encoded `snapshot` reply of the latest model version: encoding it is most of what
    /// a `snapshot` request costs (about 16 bytes per window point), so it is done once per
    /// model version, however many clients ask.
    struct SnapshotReplies {
        private var latest: (modelVersion: UInt64, encoded: [UInt8])?

        /// The encoded reply for `update`, encoded now only if its model version is new.
        mutating func encoded(_ update: ClusterUpdate) -> [UInt8] {
            if let latest, latest.modelVersion == update.modelVersion { return latest.encoded }
            let encoded = Reply.snapshot(update).encoded()
            latest = (update.modelVersion, encoded)
            return encoded
        }
    }

    /// The encoded reply to one request body; a `snapshot` reply comes from `snapshots`.
    func answer(_ body: [UInt8]?, snapshots: inout SnapshotReplies) async -> [UInt8] {
        guard let body else {
            return Reply.failure(ReplyError(code: .wire(.invalidFrame), message: "a request is exactly one frame"))
                .encoded()
        }
        let request: Request
        do {
            request = try Request.decode(body, expectedDimension: dimension, limits: limits)
        } catch {
            return Reply.failure(ReplyError(error)).encoded()
        }
        switch request {
        case .snapshot:
            guard let update = await model.snapshotUpdate() else { return Self.notReady.encoded() }
            return snapshots.encoded(update)
        case .stats:
            return await stats().encoded()
        case .classify(let query):
            return await classify(query).encoded()
        }
    }

    /// The `stats` reply.
    private func stats() async -> Reply {
        let figures = await model.figures()
        let counters = context.counters
        do {
            return .stats(
                try DaemonStats(
                    modelVersion: figures.modelVersion, dimension: figures.dimension,
                    windowSize: figures.windowSize, windowCapacity: figures.windowCapacity,
                    clusterCount: figures.clusterCount, noiseCount: figures.noiseCount,
                    pointsReceived: counters.pointsAccepted.load(ordering: .relaxed),
                    pointsRejected: counters.pointsRejected.load(ordering: .relaxed),
                    pointsDropped: counters.pointsDropped.load(ordering: .relaxed),
                    reclusterCount: figures.reclusterCount, lastReclusterSeconds: figures.lastReclusterSeconds,
                    uptimeSeconds: (ContinuousClock.now - counters.started).seconds))
        } catch {
            return .failure(ReplyError(code: .internal, message: "cannot report stats: \(error.message)"))
        }
    }

    /// The `classify` reply: the latest clustering's labels, the window untouched.
    private func classify(_ query: ClassifyQuery) async -> Reply {
        guard let classifier = await model.classifier() else { return Self.notReady }
        let (clusters, confidence) = classifier.classify(values: query.values, dimension: query.dimension)
        do {
            return .classification(
                try Classification(
                    modelVersion: classifier.modelVersion, clusters: clusters, confidence: confidence))
        } catch {
            return .failure(ReplyError(code: .internal, message: "cannot classify: \(error.message)"))
        }
    }

    private static let notReady = Reply.failure(
        ReplyError(code: .notReady, message: "no re-clustering has finished yet"))

    /// Requests libzmq queues per client while the service is busy; then the client's own queue
    /// fills and its sends wait. Small, so that a client pipelining slow requests holds its
    /// connection's reading up for seconds at most, well inside the heartbeat timeout.
    static let receiveHighWaterMark = 100

    /// Requests taken off the socket ahead of the one being answered: few, so that a client
    /// with many requests queued delays another's by little (libzmq fair-queues the clients);
    /// below the loop's outbox (1,000), so that the replies to them always fit in it.
    static let bufferSize = 16

    /// The ZMTP heartbeat: a ping every 10 s; a client whose connection has not answered within
    /// 30 s (it stopped reading, and its queues are full) is disconnected.
    static let heartbeat: [ZMQSocketOption] = [
        .heartbeatInterval(milliseconds: 10_000), .heartbeatTimeout(milliseconds: 30_000),
        .heartbeatTTL(milliseconds: 30_000),
    ]

    /// Creates the `ROUTER` socket on `[control]`'s endpoint and starts its loop.
    ///
    /// - Returns: the loop and the endpoint bound, resolved.
    static func makeLoop(
        configuration: DaemonConfiguration.Control, zmq: ZMQContext, security: DaemonSecurity, peers: DaemonPeerLimit
    ) throws(ZMQError) -> (loop: ZMQReceiveLoop, bound: String) {
        let socket = try ZMQSocket(context: zmq, type: .router)
        try socket.set(.linger(milliseconds: 500))
        try socket.set(.routerMandatory(true))
        try socket.set(.sendHighWaterMark(configuration.sendHighWaterMark))
        try socket.set(.receiveHighWaterMark(receiveHighWaterMark))
        for option in heartbeat { try socket.set(option) }
        try security.apply(to: socket)
        let gate = try peers.gate(watching: socket)
        try socket.bind(configuration.endpoint)
        let bound = try socket.lastEndpoint
        return (
            try ZMQReceiveLoop(
                socket: socket, bufferSize: bufferSize, overflow: .backPressure, name: "mmcd.control", peerGate: gate),
            bound
        )
    }
}
