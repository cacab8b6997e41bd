internal import Logging
internal import MMCWire
internal import Prometheus
internal import ServiceLifecycle
internal import Synchronization
internal import ZeroMQ

/// The publishing side of the daemon: an `XPUB` socket in a ``ZMQReceiveLoop``, the per-topic
/// sequence numbers and the last value cache for late joiners.
///
/// Every message is `[topic][body][sequence]` (docs/protocol.md, section 2). Cluster updates go
/// out on `clusters.<output.topic>`, provisional assignments on `assign.<output.topic>`; each
/// topic numbers its messages 0, 1, 2, … (continuing after a restart from the numbers in the
/// state snapshot). A number is used only when the message was handed to the socket, so a
/// message the outbox refused leaves no gap. When a subscription that matches the clusters
/// topic arrives, the latest full update is re-sent with the sequence number of the last
/// cluster update, so subscribers in sync drop it and the newcomer starts from it.
///
/// Re-sends are at least ``resendSpacing`` apart: a subscription within that time of the last
/// re-send is served by one re-send when it has passed, together with every other one that came
/// meanwhile (an `XPUB` sends it to every subscriber whose prefix matches, so one copy serves
/// them all). A client that subscribes thousands of times a second therefore costs one full
/// update a second, not one per subscription. Each re-send is counted
/// (`mmcd_updates_published_total{kind="snapshot"}`).
///
/// Publishing never blocks: any task may call it; the loop thread does the socket work.
final class DaemonPublisher: Sendable {
    /// The topic of cluster updates.
    let clustersTopic: String
    /// The topic of provisional assignments.
    let provisionalTopic: String
    /// The endpoint bound, resolved (an ephemeral port is known here).
    let endpoint: String

    private struct State {
        /// The next sequence number of each topic.
        var next: [String: UInt64]
        /// The latest full cluster update and the sequence number it was published under.
        var lastFull: (body: [UInt8], sequence: UInt64)?
        /// When the latest full update was last re-sent to late joiners.
        var lastResend: ContinuousClock.Instant?
        /// Whether a re-send is scheduled for when ``DaemonPublisher/resendSpacing`` has passed.
        var resendScheduled = false
    }

    /// The shortest time between two re-sends of the latest full update to late joiners.
    static let resendSpacing = Duration.seconds(1)

    private let loop: ZMQReceiveLoop
    private let state: Mutex<State>
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let warnings: RateLimitedLog

    /// Binds `socket` (an `XPUB`, options already set) and starts its loop.
    ///
    /// - Parameter lastSequences: the last sequence number of each topic from a restored state.
    init(
        socket: sending ZMQSocket, endpoint: String, topic: String, lastSequences: [String: UInt64],
        metrics: DaemonMetrics, logger: Logger, peers: DaemonPeerLimit
    ) throws(ZMQError) {
        let gate = try peers.gate(watching: socket)
        try socket.bind(endpoint)
        self.endpoint = try socket.lastEndpoint
        clustersTopic = "clusters." + topic
        provisionalTopic = "assign." + topic
        state = Mutex(State(next: lastSequences.mapValues { $0 &+ 1 }))
        self.metrics = metrics
        self.logger = logger
        warnings = RateLimitedLog(logger: logger)
        loop = try ZMQReceiveLoop(socket: socket, bufferSize: 1_024, name: "mmcd.publish", peerGate: gate)
    }

    /// The last sequence number published on each topic, for state snapshots.
    var lastSequences: [String: UInt64] {
        state.withLock { state in state.next.filter { $0.value > 0 }.mapValues { $0 - 1 } }
    }

    /// Publishes a cluster update and remembers the full form for late joiners.
    ///
    /// - Parameters:
    ///   - body: the encoded update to send now (full or diff).
    ///   - isFull: whether `body` has full assignments (for the metric's `kind`).
    ///   - fullBody: the same update with full assignments.
    func publishClusters(body: [UInt8], isFull: Bool, fullBody: [UInt8]) {
        state.withLock { state in
            guard let sequence = send(body, on: clustersTopic, state: &state) else { return }
            state.lastFull = (fullBody, sequence)
            metrics.updatesPublished(kind: isFull ? "full" : "diff").increment()
        }
    }

    /// Publishes provisional assignments of freshly received points.
    func publishProvisional(_ assignments: ProvisionalAssignments) {
        let body = UpdateMessage.provisional(assignments).encoded()
        state.withLock { state in
            if send(body, on: provisionalTopic, state: &state) != nil {
                metrics.updatesPublished(kind: "provisional").increment()
            }
        }
    }

    /// Answers a subscription event: a subscription whose prefix matches the clusters topic
    /// gets the latest full update, under the sequence number it was published with, at once or,
    /// within ``resendSpacing`` of the last re-send, when that has passed.
    func answer(_ message: ZMQMessage) {
        guard let event = ZMQSubscriptionEvent(message), event.kind == .subscribe,
            Array(clustersTopic.utf8).starts(with: event.topic)
        else { return }
        let wait: Duration? = state.withLock { state in
            guard state.lastFull != nil, !state.resendScheduled else { return nil }
            let now = ContinuousClock.now
            if let last = state.lastResend, now - last < Self.resendSpacing {
                state.resendScheduled = true
                return last + Self.resendSpacing - now
            }
            resendLastFull(state: &state, at: now)
            return nil
        }
        guard let wait else { return }
        Task {
            try? await Task.sleep(for: wait)
            state.withLock { state in
                state.resendScheduled = false
                resendLastFull(state: &state, at: .now)
            }
        }
    }

    private func resendLastFull(state: inout State, at now: ContinuousClock.Instant) {
        guard let last = state.lastFull else { return }
        state.lastResend = now
        if enqueue([Array(clustersTopic.utf8), last.body, Frames.sequenceFrame(last.sequence)]) {
            metrics.updatesPublished(kind: "snapshot").increment()
        }
    }

    /// Sends `body` on `topic` with the topic's next sequence number.
    /// - Returns: the sequence number used, `nil` when the message could not be queued.
    private func send(_ body: [UInt8], on topic: String, state: inout State) -> UInt64? {
        let sequence = state.next[topic, default: 0]
        guard enqueue([Array(topic.utf8), body, Frames.sequenceFrame(sequence)]) else { return nil }
        state.next[topic] = sequence + 1
        return sequence
    }

    private func enqueue(_ frames: [[UInt8]]) -> Bool {
        do {
            if try loop.send(ZMQMessage(frames)) { return true }
            warnings.log(.warning, key: "publish", "publisher outbox full; message not sent")
        } catch {
            warnings.log(.warning, key: "publish", "cannot publish", metadata: ["error": "\(error)"])
        }
        return false
    }

    /// Subscription events of the `XPUB` socket; finishes when the loop has ended.
    var events: AsyncStream<ZMQMessage> { loop.messages }

    /// Why the loop ended, if it failed.
    var failure: ZMQError? { loop.failure }

    /// Ends the loop after it has sent everything queued; the socket lingers to deliver it.
    func stop() { loop.stop() }
}

/// Runs the publisher: answers late joiners until graceful shutdown, then sends what is queued
/// and closes the socket. It is the last socket service to stop, so the final update of the
/// model (published while the model shuts down) still goes out.
struct DaemonPublisherService: Service {
    let publisher: DaemonPublisher

    func run() async throws {
        let publisher = publisher
        await withGracefulShutdownHandler {
            for await message in publisher.events {
                publisher.answer(message)
            }
        } onGracefulShutdown: {
            publisher.stop()
        }
        if let failure = publisher.failure { throw DaemonError("the publisher socket failed: \(failure)") }
    }
}
