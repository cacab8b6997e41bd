internal import Logging
internal import MMCConfiguration
internal import MMCWire
internal import Prometheus
internal import ServiceLifecycle
internal import Synchronization
internal import ZeroMQ

/// Receives points: decodes every message of the input socket, rejects bad ones whole (counted
/// by reason, logged at a limited rate) and hands good batches to the model owner, then
/// publishes their provisional assignments.
///
/// The input socket (`SUB` or `PULL`, every `input.bind` and `input.connect` endpoint) runs in a
/// ``ZMQReceiveLoop`` whose buffer holds `input.queue_capacity` messages. When the model falls
/// behind, a `PULL` loop stops reading (the producers' `PUSH` sockets wait: nothing is lost); a
/// `SUB` loop drops the messages beyond it, counted here in messages
/// (`mmcd_messages_dropped_total{reason="queue_full"}`) and in the points their payloads declare
/// (`mmcd_points_dropped_total{reason="queue_full"}`; see ``PointBatch/declaredCount(_:limits:)``).
/// Each message waits for the model owner to take its batch, so the loop's
/// buffer is the only queue. On graceful shutdown the loop stops taking messages first; those
/// already buffered are still applied, so intake stops before the model's final snapshot.
struct DaemonIngestService: Service {
    let loop: ZMQReceiveLoop
    let model: DaemonModel
    let publisher: DaemonPublisher
    /// Topic prefixes a `PULL` socket accepts; `nil` for `SUB`, which filters by subscription.
    let topicFilter: [[UInt8]]?
    let dimension: Int
    let limits: DecodingLimits
    /// Message size and timestamp policy (``DaemonAdmission``).
    let admission: DaemonAdmission
    let context: DaemonContext

    func run() async throws {
        let loop = loop
        var accountedDrops = Drops()
        await withGracefulShutdownHandler {
            var publishing: Task<Void, Never>?
            for await message in loop.messages {
                let provisional = await handle(message)
                accountedDrops = accountDrops(after: accountedDrops)
                guard let provisional else { continue }
                // Encoding and sending a batch's provisional assignments overlaps with taking the
                // next batch in (7% of the daemon's CPU at 500,000 points/s); one at a time keeps
                // them in order and bounded.
                await publishing?.value
                publishing = Task { [publisher] in publisher.publishProvisional(provisional) }
            }
            await publishing?.value
        } onGracefulShutdown: {
            loop.stop()
        }
        _ = accountDrops(after: accountedDrops)
        if let failure = loop.failure { throw DaemonError("the input socket failed: \(failure)") }
    }

    /// Decodes one message and applies it, or rejects it whole.
    /// - Returns: the batch's provisional assignments to publish, if it gets them.
    func handle(_ message: ZMQMessage) async -> ProvisionalAssignments? {
        if let refusal = admission.sizeRefusal(message) {
            reject(message, reason: "message_too_large", refusal.message)
            return nil
        }
        let decoded: PointMessage
        do {
            decoded = try PointMessage.decode(frames: message.frames, expectedDimension: dimension, limits: limits)
        } catch {
            reject(message, reason: error.code.rawValue, error.message)
            return nil
        }
        if let topicFilter, !topicFilter.contains(where: { message.frames[0].starts(with: $0) }) {
            reject(message, reason: "topic", "topic \"\(decoded.topic)\" matches none of input.topics")
            return nil
        }
        context.metrics.pointsReceived.increment(by: Int64(decoded.batch.count))
        guard let batch = admission.admit(decoded.batch) else { return nil }
        let dequeued = ContinuousClock.now
        let provisional = await model.ingest(batch)
        context.metrics.batchIngestDuration.record(.now - dequeued)
        context.metrics.pointsDecoded.increment(by: Int64(batch.count))
        return provisional
    }

    private func reject(_ message: ZMQMessage, reason: String, _ description: String) {
        context.metrics.messagesRejected(reason: reason).increment()
        let points = message.frames.count == 2 ? PointBatch.declaredCount(message.frames[1], limits: limits) ?? 0 : 0
        context.metrics.pointsRejected.increment(by: Int64(points))
        context.counters.pointsRejected.add(UInt64(points), ordering: .relaxed)
        context.rejects.log(
            .warning, key: reason, "rejected a points message", metadata: ["reason": "\(reason)", "error": "\(description)"])
    }

    /// Counts the loop's drops since `accounted` (messages and points); returns the new totals.
    private func accountDrops(after accounted: Drops) -> Drops {
        // The loop thread adds to the two counters one after the other, so either may be ahead
        // of the other here: each is accounted on its own, and the rest comes next time.
        let now = Drops(messages: loop.dropped, points: loop.droppedWeight)
        if now.points > accounted.points {
            context.metrics.pointsDropped(reason: "queue_full").increment(by: Int64(now.points - accounted.points))
            context.counters.pointsDropped.add(UInt64(now.points - accounted.points), ordering: .relaxed)
        }
        if now.messages > accounted.messages {
            context.metrics.messagesDropped(reason: "queue_full").increment(by: Int64(now.messages - accounted.messages))
            context.rejects.log(
                .warning, key: "queue_full", "input queue full; messages dropped",
                metadata: ["dropped.messages": "\(now.messages)", "dropped.points": "\(now.points)"])
        }
        return now
    }

    /// Drops counted so far.
    struct Drops {
        var messages = 0
        var points = 0
    }
}

extension DaemonIngestService {
    /// Creates the input socket from `[input]`, binds and connects it, and starts its loop.
    ///
    /// - Returns: the loop and the endpoints bound, resolved (ephemeral ports are known here).
    static func makeLoop(
        configuration: DaemonConfiguration.Input, zmq: ZMQContext, security: DaemonSecurity, peers: DaemonPeerLimit
    ) throws(ZMQError) -> (loop: ZMQReceiveLoop, bound: [String]) {
        let socket = try ZMQSocket(context: zmq, type: configuration.socket == .sub ? .sub : .pull)
        try socket.set(.receiveHighWaterMark(configuration.receiveHighWaterMark))
        // libzmq drops a peer sending a frame above this instead of buffering it; up to it, the
        // ingest service sees an oversized message and counts it (DaemonAdmission).
        try socket.set(.maxMessageSize(DaemonAdmission.hardFrameLimit(maxMessageBytes: configuration.maxMessageBytes)))
        // Dead producers are found by TCP keepalive, not ZMTP heartbeats: libzmq stops reading a
        // connection whose queue is full, so a heartbeat timeout would close a live PULL
        // producer while the model catches up, losing what was in flight (DaemonInputKeepalive).
        for option in DaemonInputKeepalive.options { try socket.set(option) }
        try security.apply(to: socket)
        if configuration.socket == .sub {
            for topic in configuration.topics {
                try socket.set(.subscribe(Array(topic.utf8)))
            }
        }
        let gate = try peers.gate(watching: socket)
        var bound: [String] = []
        for endpoint in configuration.bind {
            try socket.bind(endpoint)
            bound.append(try socket.lastEndpoint)
        }
        for endpoint in configuration.connect {
            try socket.connect(endpoint)
        }
        // PULL promises its producers no loss: a full queue makes the loop wait and their PUSH
        // block. SUB keeps reading and counts drops; its PUB peers drop anyway.
        let limits = configuration.decodingLimits
        let loop = try ZMQReceiveLoop(
            socket: socket, bufferSize: configuration.queueCapacity,
            overflow: configuration.socket == .sub ? .dropNewest : .backPressure, name: "mmcd.input",
            weigh: { $0.frames.count == 2 ? PointBatch.declaredCount($0.frames[1], limits: limits) ?? 0 : 0 },
            peerGate: gate)
        return (loop, bound)
    }
}

extension DaemonConfiguration.Input {
    /// The limits every points message is checked against, from `input.max_message_bytes` and
    /// `input.max_batch_points`.
    var decodingLimits: DecodingLimits {
        DecodingLimits(maxMessageBytes: maxMessageBytes, maxPointCount: maxBatchPoints)
    }
}
