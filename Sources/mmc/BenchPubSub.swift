import Dispatch
import FoundationEssentials
import MMCRuntime
import MMCWire
import Synchronization
import ZeroMQ

/// Section `pubsub`: binary point batches from a PUB socket to a SUB socket over TCP loopback,
/// a publisher thread and a subscriber thread in this process, counting what arrives.
///
/// Batch `k` carries the ids `k * batchSize ..< (k + 1) * batchSize`, so the subscriber
/// (which decodes every batch, as the daemon does) finds lost batches from the gaps in `k`.
/// Before the first batch the publisher sends small warm-up messages on another topic until
/// the subscriber has seen one, so nothing is lost to the subscription still being on its way
/// (the slow-joiner effect). After the last batch the subscriber drains the queues; the
/// publisher's socket stays open until it has, so every batch still queued is delivered.
enum PubSubBench {
    /// One publisher/subscriber run.
    struct Run: Encodable {
        /// The publisher's pace in points per second; `nil`: as fast as it can.
        let targetPointsPerSecond: Double?
        /// How long the subscriber sleeps after each batch while the publisher sends.
        let subscriberSleepMilliseconds: Double
        let batchesSent: Int
        let batchesReceived: Int
        /// Sent minus received.
        let batchesLost: Int
        /// Batches missing between two received sequence numbers (a lost tail does not show).
        let batchesLostInGaps: Int
        let pointsSent: Int
        let pointsReceived: Int
        /// From the first batch sent to the last sent.
        let publishSeconds: Double
        let sentPointsPerSecond: Double
        /// Points received per second from the first batch sent to the last received.
        let deliveredPointsPerSecond: Double
    }

    /// Every run of the section.
    struct Section: Encodable {
        let batchSize: Int
        let dimension: Int
        let payloadBytes: Int
        /// ZMQ_SNDHWM and ZMQ_RCVHWM in messages; `nil`: libzmq's default (1,000) on both.
        let highWaterMark: Int?
        let secondsPerRun: Double
        /// The paced runs, slowest first, then one unpaced, with an idle subscriber.
        let runs: [Run]
        /// The largest delivered rate among the runs that lost nothing.
        let zeroLossPointsPerSecond: Double?
        /// An unpaced publisher and a subscriber that sleeps after every batch.
        let slowSubscriber: Run
    }

    /// What a run needs to know.
    struct Plan: Sendable {
        /// The points of every batch (ids change, coordinates repeat), `batchSize * dimension`.
        let values: [Double]
        let dimension: Int
        let batchSize: Int
        let highWaterMark: Int?
        let seconds: Double
        let rate: Double?
        let subscriberSleep: Double
    }

    static let pointsTopic = Array("bench.points".utf8)
    static let warmupTopic = Array("bench.warmup".utf8)
    /// How long the subscriber waits in one receive call.
    static let receiveTimeoutMilliseconds = 100
    /// The subscriber stops after the publisher has finished and nothing came for this long.
    static let drainQuietSeconds = 0.3
    /// The publisher gives up when no subscriber has seen a warm-up message after this long.
    static let joinTimeoutSeconds = 10.0

    /// A paced run at every rate (points per second) in `rates`, one unpaced run, and one
    /// unpaced run against a subscriber that sleeps `slowSleepMilliseconds` after each batch.
    ///
    /// - Throws: ``ZMQError`` or ``BenchError`` from either thread.
    static func run(
        pool: BenchPoints, batchSize: Int, highWaterMark: Int?, seconds: Double, rates: [Double],
        slowSleepMilliseconds: Double
    ) throws -> Section {
        let count = min(batchSize, pool.count)
        let values = Array(pool.values.prefix(count * pool.dimension))
        let payloadBytes = try PointBatch(
            dimension: pool.dimension, ids: Array(0..<UInt64(count)), timestamps: Array(repeating: 0, count: count),
            values: values
        ).encodedBinary().count
        func plan(rate: Double?, sleep: Double) -> Plan {
            Plan(
                values: values, dimension: pool.dimension, batchSize: count, highWaterMark: highWaterMark,
                seconds: seconds, rate: rate, subscriberSleep: sleep / 1_000)
        }
        var runs: [Run] = []
        for rate in rates.sorted() as [Double?] + [nil] {
            runs.append(try pair(plan(rate: rate, sleep: 0)))
        }
        let slow = try pair(plan(rate: nil, sleep: slowSleepMilliseconds))
        return Section(
            batchSize: count, dimension: pool.dimension,
            payloadBytes: payloadBytes, highWaterMark: highWaterMark,
            secondsPerRun: seconds, runs: runs,
            zeroLossPointsPerSecond: runs.filter { $0.batchesLost == 0 }.map(\.deliveredPointsPerSecond).max(),
            slowSubscriber: slow)
    }

    /// Runs one publisher thread and one subscriber thread to the end and combines their counts.
    private static func pair(_ plan: Plan) throws -> Run {
        let context = try ZMQContext()
        let state = PairState()
        try startDedicatedThread(named: "mmc.bench.pub") { publish(plan, state: state, context: context) }
        do {
            try startDedicatedThread(named: "mmc.bench.sub") { subscribe(plan, state: state, context: context) }
        } catch {
            // The publisher stops waiting for a subscriber once a failure is set.
            state.failure.withLock { $0 = "\(error)" }
            state.ended.wait()
            throw error
        }
        state.ended.wait()
        state.ended.wait()
        if let failure = state.failure.withLock({ $0 }) {
            throw BenchError("pubsub: \(failure)")
        }
        guard let sent = state.published.withLock({ $0 }), let received = state.received.withLock({ $0 }) else {
            throw BenchError("pubsub: a thread ended without its counts")
        }
        let pointsSent = sent.batches * plan.batchSize
        let pointsReceived = received.batches * plan.batchSize
        let deliverySeconds = received.lastArrival - sent.start
        return Run(
            targetPointsPerSecond: plan.rate, subscriberSleepMilliseconds: plan.subscriberSleep * 1_000,
            batchesSent: sent.batches, batchesReceived: received.batches,
            batchesLost: sent.batches - received.batches, batchesLostInGaps: received.gaps,
            pointsSent: pointsSent, pointsReceived: pointsReceived, publishSeconds: sent.seconds,
            sentPointsPerSecond: Double(pointsSent) / sent.seconds,
            deliveredPointsPerSecond: deliverySeconds > 0 ? Double(pointsReceived) / deliverySeconds : 0)
    }

    /// The publisher thread: bind, warm up until the subscriber hears, send batches for
    /// `plan.seconds` (paced to `plan.rate` if set), then hold the socket open until the
    /// subscriber has drained it.
    private static func publish(_ plan: Plan, state: PairState, context: ZMQContext) {
        defer { state.ended.signal() }
        do {
            let socket = try ZMQSocket(context: context, type: .pub)
            defer { socket.close() }
            if let hwm = plan.highWaterMark { try socket.set(.sendHighWaterMark(hwm)) }
            try socket.bind("tcp://127.0.0.1:*")
            let endpoint = try socket.lastEndpoint
            state.endpoint.withLock { $0 = endpoint }
            state.bound.signal()

            let joinDeadline = BenchClock.wallSeconds() + joinTimeoutSeconds
            while !state.subscribed.load(ordering: .acquiring) {
                guard state.failure.withLock({ $0 }) == nil else { return }
                guard BenchClock.wallSeconds() < joinDeadline else {
                    throw BenchError("the subscriber heard nothing within \(joinTimeoutSeconds) s")
                }
                try socket.send(ZMQMessage([warmupTopic, []]))
                sleepCurrentThread(seconds: 0.002)
            }

            let timestamps = [Double](repeating: Date().timeIntervalSince1970, count: plan.batchSize)
            let start = BenchClock.wallSeconds()
            var batches = 0
            var now = start
            while now - start < plan.seconds {
                let first = UInt64(batches * plan.batchSize)
                let batch = try PointBatch(
                    dimension: plan.dimension, ids: (0..<UInt64(plan.batchSize)).map { first + $0 },
                    timestamps: timestamps, values: plan.values)
                // A PUB socket never blocks: at the high-water mark it drops the message.
                try socket.send(ZMQMessage([pointsTopic, batch.encodedBinary()]))
                batches += 1
                now = BenchClock.wallSeconds()
                if let rate = plan.rate {
                    let due = start + Double(batches * plan.batchSize) / rate
                    if due > now {
                        sleepCurrentThread(seconds: due - now)
                        now = BenchClock.wallSeconds()
                    }
                }
            }
            state.published.withLock { $0 = Published(batches: batches, start: start, seconds: now - start) }
            state.publishing.store(false, ordering: .releasing)
            state.drained.wait()
        } catch {
            state.fail(error)
            state.bound.signal()
        }
    }

    /// The subscriber thread: connect, decode every batch and count the gaps in the sequence,
    /// sleeping after each batch while the publisher sends if asked to, then drain the queues.
    private static func subscribe(_ plan: Plan, state: PairState, context: ZMQContext) {
        defer {
            state.drained.signal()
            state.ended.signal()
        }
        state.bound.wait()
        guard let endpoint = state.endpoint.withLock({ $0 }) else { return }
        do {
            let socket = try ZMQSocket(context: context, type: .sub)
            defer { socket.close() }
            if let hwm = plan.highWaterMark { try socket.set(.receiveHighWaterMark(hwm)) }
            try socket.set(.receiveTimeout(milliseconds: receiveTimeoutMilliseconds))
            try socket.set(.subscribe(Array("bench.".utf8)))
            try socket.connect(endpoint)

            var received = Received(batches: 0, gaps: 0, lastArrival: 0)
            var expected = 0
            var lastActivity = BenchClock.wallSeconds()
            var publisherDone = false
            while true {
                guard let message = try socket.receive() else {
                    if !publisherDone && !state.publishing.load(ordering: .acquiring) {
                        publisherDone = true
                        lastActivity = BenchClock.wallSeconds()
                    }
                    if publisherDone && BenchClock.wallSeconds() - lastActivity >= drainQuietSeconds {
                        break
                    }
                    continue
                }
                lastActivity = BenchClock.wallSeconds()
                if message.frames[0] == warmupTopic {
                    state.subscribed.store(true, ordering: .releasing)
                    continue
                }
                guard message.frames.count == 2, message.frames[0] == pointsTopic else {
                    throw BenchError("unexpected message of \(message.frames.count) frames")
                }
                let batch = try PointBatch.decode(message.frames[1], expectedDimension: plan.dimension)
                let sequence = Int(batch.ids[0]) / plan.batchSize
                received.gaps += max(0, sequence - expected)
                expected = sequence + 1
                received.batches += 1
                received.lastArrival = lastActivity
                if plan.subscriberSleep > 0 && state.publishing.load(ordering: .acquiring) {
                    sleepCurrentThread(seconds: plan.subscriberSleep)
                }
            }
            state.received.withLock { $0 = received }
        } catch {
            state.fail(error)
        }
    }

    /// The publisher's counts.
    struct Published: Sendable {
        let batches: Int
        /// Wall clock (``BenchClock/wallSeconds()``) of the first batch.
        let start: Double
        let seconds: Double
    }

    /// The subscriber's counts.
    struct Received: Sendable {
        var batches: Int
        var gaps: Int
        /// Wall clock (``BenchClock/wallSeconds()``) of the last batch.
        var lastArrival: Double
    }

    /// What the two threads of one run share.
    final class PairState: Sendable {
        /// The publisher's resolved endpoint, `nil` if it failed before binding.
        let endpoint = Mutex<String?>(nil)
        /// Signalled once the publisher has bound (or failed).
        let bound = DispatchSemaphore(value: 0)
        /// Set by the subscriber when the first warm-up message arrives.
        let subscribed = Atomic<Bool>(false)
        /// Cleared by the publisher after its last batch.
        let publishing = Atomic<Bool>(true)
        /// Signalled by the subscriber when it stops receiving.
        let drained = DispatchSemaphore(value: 0)
        /// Signalled by each thread as it ends.
        let ended = DispatchSemaphore(value: 0)
        let published = Mutex<Published?>(nil)
        let received = Mutex<Received?>(nil)
        let failure = Mutex<String?>(nil)

        /// Records the first error of either thread.
        func fail(_ error: any Error) {
            failure.withLock { $0 = $0 ?? "\(error)" }
            publishing.store(false, ordering: .releasing)
        }
    }
}
