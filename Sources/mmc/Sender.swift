import MMCRuntime
import MMCWire
import Synchronization
import ZeroMQ

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The signal (SIGINT or SIGTERM) that asked the feed to stop after the batch in flight, or 0.
/// Kept, not just a flag, so that the hint names the one to repeat: a feed that a script or a
/// service manager stops with SIGTERM has no Ctrl-C to press.
private let stopSignal = Atomic<Int32>(0)

/// Whether a stop signal has arrived.
private var stopRequested: Bool { stopSignal.load(ordering: .relaxed) != 0 }

/// Sends the batches of one feed run; runs on a dedicated thread, since a PUSH socket blocks.
struct Sender {
    let plan: FeedPlan
    let source: PointSource
    let curveOptions: [ZMQSocketOption]

    /// How long a blocked send waits before it looks at the stop flag again.
    static let sendTimeoutMilliseconds = 100
    /// How long closing the socket waits for queued messages to leave after Ctrl-C, or on PUB.
    static let lingerMilliseconds = 10_000

    /// Sends everything, prints the summary, and closes the socket, which waits for queued
    /// messages to leave: a PUSH socket until they all have (its peers promise to take them; a
    /// second Ctrl-C quits), a PUB socket or an interrupted feed up to ``lingerMilliseconds``.
    func run() throws {
        installStopHandlers()
        let labelsFile = try plan.labelsOut.map { path throws(FileError) in try LabelsFile(path: path) }
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: plan.socket.socketType)
        defer { socket.close() }
        try socket.set(.sendHighWaterMark(plan.highWaterMark))
        try socket.set(.linger(milliseconds: Self.lingerMilliseconds))
        try socket.set(.sendTimeout(milliseconds: Self.sendTimeoutMilliseconds))
        for option in curveOptions { try socket.set(option) }
        try plan.role.attach(socket, to: plan.endpoint)
        if plan.socket == .pub {
            sleep(until: ContinuousClock.now + .milliseconds(plan.warmupMilliseconds))
        }

        let total = [source.length, plan.count].compactMap(\.self).min()
        let topic = Array(plan.topic.utf8)
        let clock = ContinuousClock()
        let start = clock.now
        let startTime = Date().timeIntervalSince1970
        var sent = 0
        var batches = 0
        while !stopRequested, total.map({ sent < $0 }) ?? true {
            let size = min(plan.batchSize, total.map { $0 - sent } ?? plan.batchSize)
            let (values, labels) = source.points(from: sent, count: size)
            let ids = (0..<size).map { plan.firstID &+ UInt64(sent + $0) }
            let times = plan.streamRate.map { rate in (0..<size).map { startTime + Double(sent + $0) / rate } }
                ?? [Double](repeating: Date().timeIntervalSince1970, count: size)
            let batch = try PointBatch(dimension: source.dimension, ids: ids, timestamps: times, values: values)
            let payload = switch plan.format {
            case .binary: batch.encodedBinary()
            case .json: batch.encodedJSON(layout: .columns)
            }
            guard try send(ZMQMessage([topic, payload]), on: socket) else { break }
            if let labelsFile, let labels { try labelsFile.append(ids: ids, labels: labels) }
            sent += size
            batches += 1
            if let rate = plan.rate {
                sleep(until: start + .seconds(Double(sent) / rate))
            }
        }
        let elapsed = clock.now - start
        try labelsFile?.close()
        let interrupted = stopRequested
        let summary = FeedSummary(points: sent, batches: batches, seconds: elapsed.seconds, interrupted: interrupted)
        try Output.writeStandardOutput(Array(summary.line(plan: plan).utf8))
        if plan.socket == .push && !interrupted {
            try socket.set(.linger(milliseconds: -1))
        }
        if interrupted {
            let again = stopSignal.load(ordering: .relaxed) == SIGINT ? "Ctrl-C" : "SIGTERM"
            Output.writeStandardError(
                "waiting up to \(Self.lingerMilliseconds / 1000) s for queued messages to leave; \(again) again to quit now\n")
        }
    }

    /// Sends `message`, waiting while the socket is at its high-water mark (PUSH).
    ///
    /// - Returns: `false` when a stop was requested before the socket took the message.
    private func send(_ message: ZMQMessage, on socket: ZMQSocket) throws -> Bool {
        while try !socket.send(message) {
            if stopRequested { return false }
        }
        return true
    }

    /// Sleeps until `deadline`, waking early for a stop request.
    private func sleep(until deadline: ContinuousClock.Instant) {
        while !stopRequested {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return }
            sleepCurrentThread(seconds: min(0.1, left.seconds))
        }
    }

    /// Turns the first SIGINT or SIGTERM into a stop request; a second one ends the process.
    private func installStopHandlers() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { received in
                stopSignal.store(received, ordering: .relaxed)
                signal(received, SIG_DFL)
            }
        }
    }
}
