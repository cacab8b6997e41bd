import ArgumentParser
import CLinuxSupport
import Foundation
import MMCDevTools
import MMCWire
import MassClustering
import Synchronization
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `mmc feed`: sends the points of a data file, or a generated drifting stream, to an mmcd
/// input endpoint.
struct FeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feed",
        abstract: "Send points from a data file or a generated drifting stream to mmcd.",
        discussion: """
            The points come from FILE (one point per line, numbers separated by commas or \
            spaces, an optional header, # comments; .gz files and - for standard input work, as \
            for mmc cluster) or from --generate drift, a seeded labelled stream of Gaussian \
            clusters that drift, appear and disappear in 5% uniform noise.

            Every message is [topic][payload]: one batch of points in the binary form or the \
            JSON columns form of docs/protocol.md. Point ids count up from --first-id; \
            timestamps are the wall clock when the batch is made, or with --timestamps stream \
            exactly 1/rate seconds apart from the start. With --rate, batches are cut so that \
            one leaves at least every 0.1 s.

            A PUB socket drops messages while nobody subscribes, so feed waits --warmup-ms \
            before the first batch (the slow-joiner effect) and drops silently for a \
            subscriber that falls --hwm messages behind; a PUSH socket never drops: it waits \
            (back-pressure). On exit a PUSH feed waits until every queued message has left, so \
            what it reports as sent is delivered; a PUB feed gives them up to 10 s.

            --labels-out writes "id<TAB>label" for every point sent, from --labels for a file \
            (the benchmark suite's NAME.labels0.gz: one integer per row, 0 = noise) or from the \
            generator (0 = noise, every cluster its own label), so that a test can score the \
            assignments mmcd publishes. Ctrl-C stops after the batch in flight; the summary \
            and the labels of what was sent are still written, queued messages get up to 10 s, \
            and a second Ctrl-C quits without waiting for them.
            """
    )

    @Argument(help: "The data file, .gz or plain; - for standard input. Leave out with --generate.")
    var file: String?

    @Option(help: "Generate the points instead of reading a file.")
    var generate: Generator?

    @Option(help: "Labels of FILE's rows, one integer per row (0 = noise), .gz or plain.")
    var labels: String?

    @Option(help: "The endpoint to connect to (or bind with --bind).")
    var endpoint = "tcp://127.0.0.1:5556"

    @Flag var role: EndpointRole = .connect

    @Option(help: "pub: loss when nobody listens or a subscriber lags; push: back-pressure, no loss.")
    var socket: SocketKind = .pub

    @Option(help: "The topic frame of every message, 1 to 255 bytes.")
    var topic = "points.default"

    @Option(help: "Payload form: binary, or json (the JSON columns form).")
    var format: PayloadFormat = .binary

    @Option(help: "Points per message, 1...1000000.")
    var batch = 1_000

    @Option(help: "Points per second. (default: as fast as possible)")
    var rate: Double?

    @Option(name: .customLong("repeat"), help: "Send FILE this many times, ids counting on.")
    var passes = 1

    @Flag(help: "Send FILE over and over, or generate without end, until --count or Ctrl-C.")
    var loop = false

    @Option(help: "Stop after this many points.")
    var count: Int?

    @Option(help: "The id of the first point; the next ones count up from it.")
    var firstId: UInt64 = 0

    @Option(help: "wall: the time each batch is made; stream: start time + i / --rate for point i.")
    var timestamps: TimestampMode = .wall

    @Option(help: "Milliseconds a PUB socket waits for subscribers before the first batch.")
    var warmupMs = 300

    @Option(help: "Messages queued per peer before PUB drops or PUSH waits (ZMQ_SNDHWM).")
    var hwm = 10_000

    @Option(help: "Write id<TAB>label for every point sent to this file.")
    var labelsOut: String?

    @OptionGroup(title: "Drifting stream (--generate drift)")
    var drift: DriftOptions

    @OptionGroup(title: "CURVE encryption")
    var curve: CurveClientOptions

    func validate() throws {
        _ = try plan()
    }

    func run() async throws {
        let plan = try plan()
        let curve = curve
        // Reading the file and sending (a PUSH socket blocks) both happen off the async pool.
        try await runOnDedicatedThread(named: "mmc.feed") {
            try Sender(plan: plan, source: plan.source.load(), curveOptions: curve.socketOptions()).run()
        }
    }

    /// Everything the flags say, checked.
    ///
    /// - Throws: `ValidationError` naming the flag at fault.
    private func plan() throws -> FeedPlan {
        let source: SourcePlan
        switch (file, generate) {
        case (nil, nil):
            throw ValidationError("give a data file or --generate drift")
        case (.some, .some):
            throw ValidationError("give a data file or --generate drift, not both")
        case (let file?, nil):
            guard !drift.isSet else {
                throw ValidationError("--dimension, --clusters, --noise, --seed, --speed-scale and --lifetime-scale need --generate drift")
            }
            guard !(loop && passes != 1) else { throw ValidationError("--repeat and --loop exclude each other") }
            guard passes >= 1 else { throw ValidationError("--repeat must be at least 1, got \(passes)") }
            source = .file(path: file, labels: labels, passes: loop ? nil : passes)
        case (nil, .drift?):
            guard labels == nil else { throw ValidationError("--labels belongs to a data file; the generator labels its own points") }
            guard passes == 1 else { throw ValidationError("--repeat needs a data file; the generated stream does not end (use --count)") }
            guard count != nil || loop else {
                throw ValidationError("the generated stream does not end: give --count N, or --loop to run until Ctrl-C")
            }
            source = .drift(try drift.stream())
        }
        if labelsOut != nil, case .file(_, nil, _) = source {
            throw ValidationError("--labels-out needs --labels for a data file")
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
        guard (1...1_000_000).contains(batch) else { throw ValidationError("--batch must be in 1...1000000, got \(batch)") }
        if let rate, !(rate > 0 && rate.isFinite) { throw ValidationError("--rate must be a positive number, got \(rate)") }
        let streamRate: Double?
        switch (timestamps, rate) {
        case (.wall, _): streamRate = nil
        case (.stream, let rate?): streamRate = rate
        case (.stream, nil): throw ValidationError("--timestamps stream needs --rate")
        }
        guard (1...255).contains(topic.utf8.count) else {
            throw ValidationError("--topic must be 1 to 255 bytes, got \(topic.utf8.count)")
        }
        guard warmupMs >= 0 else { throw ValidationError("--warmup-ms must not be negative, got \(warmupMs)") }
        guard hwm >= 0, hwm <= Int(Int32.max) else { throw ValidationError("--hwm must be in 0...\(Int32.max), got \(hwm)") }
        // With a rate, a batch holds at most a tenth of a second of points.
        let batchSize = rate.map { Int(min(Double(batch), max(1, $0 / 10))) } ?? batch
        return FeedPlan(
            source: source, endpoint: endpoint, role: role, socket: socket, topic: topic, format: format,
            batchSize: batchSize, rate: rate, count: count, firstID: firstId, streamRate: streamRate,
            warmupMilliseconds: warmupMs, highWaterMark: hwm, labelsOut: labelsOut)
    }
}

extension FeedCommand {
    /// `--generate` values.
    enum Generator: String, ExpressibleByArgument, CaseIterable, Sendable {
        case drift
    }

    /// `--socket` values.
    enum SocketKind: String, ExpressibleByArgument, CaseIterable, Sendable {
        case pub
        case push

        var socketType: ZMQSocketType {
            switch self {
            case .pub: .pub
            case .push: .push
            }
        }
    }

    /// `--format` values.
    enum PayloadFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
        case binary
        case json
    }

    /// `--timestamps` values.
    enum TimestampMode: String, ExpressibleByArgument, CaseIterable, Sendable {
        case wall
        case stream
    }
}

/// `--connect` (the default) or `--bind`: which side of a ZeroMQ connection a command takes.
enum EndpointRole: String, EnumerableFlag, Sendable {
    case connect
    case bind

    static func help(for value: EndpointRole) -> ArgumentHelp? {
        switch value {
        case .connect: "Connect to the endpoint, which mmcd binds."
        case .bind: "Bind the endpoint, and let mmcd connect to it."
        }
    }

    /// Binds or connects `socket` to `endpoint`.
    ///
    /// - Throws: `ZMQError` naming the endpoint.
    func attach(_ socket: ZMQSocket, to endpoint: String) throws(ZMQError) {
        switch self {
        case .connect: try socket.connect(endpoint)
        case .bind: try socket.bind(endpoint)
        }
    }
}

/// The options of `--generate drift`; left out, each takes ``DriftingStreamParameters``'
/// default.
struct DriftOptions: ParsableArguments {
    /// The generator's defaults, named in the help.
    static let defaults: DriftingStreamParameters = {
        do {
            return try DriftingStreamParameters()
        } catch {
            preconditionFailure("the default drifting-stream parameters are valid: \(error)")
        }
    }()

    @Option(help: "Coordinates per point. (default: \(DriftOptions.defaults.dimension))")
    var dimension: Int?

    @Option(help: "Cluster slots; each holds one cluster at a time. (default: \(DriftOptions.defaults.clusterCount))")
    var clusters: Int?

    @Option(help: "Share of uniform noise points, 0...1. (default: \(DriftOptions.defaults.noiseFraction))")
    var noise: Double?

    @Option(help: "The generator's seed; the same seed gives the same stream. (default: 1)")
    var seed: UInt64?

    @Option(help: ArgumentHelp(
        "Multiplies the speeds; 0 freezes the clusters. (default: 1)",
        discussion: "Speeds are drawn per cluster from \(DriftOptions.defaults.speed) box widths per 10,000 points."))
    var speedScale: Double?

    @Option(help: ArgumentHelp(
        "Multiplies lifetimes and gaps; above 1, clusters come and go more slowly. (default: 1)",
        discussion: "Clusters live \(DriftOptions.defaults.lifetime) points; a slot stays empty \(DriftOptions.defaults.gap) points between two."))
    var lifetimeScale: Double?

    /// Whether any of these options was given.
    var isSet: Bool {
        dimension != nil || clusters != nil || noise != nil || seed != nil || speedScale != nil || lifetimeScale != nil
    }

    /// The stream the options describe.
    ///
    /// - Throws: `ValidationError` naming the option out of range.
    func stream() throws -> DriftingStream {
        let defaults = Self.defaults
        let speedScale = speedScale ?? 1
        let lifetimeScale = lifetimeScale ?? 1
        guard lifetimeScale > 0, lifetimeScale.isFinite else {
            throw ValidationError("--lifetime-scale must be a positive number, got \(lifetimeScale)")
        }
        func scaled(_ range: ClosedRange<Int>) -> ClosedRange<Int> {
            let bound = { (value: Int) in Int(min(Double(DriftingStreamParameters.longest), (Double(value) * lifetimeScale).rounded())) }
            return bound(range.lowerBound)...bound(range.upperBound)
        }
        do {
            let parameters = try DriftingStreamParameters(
                dimension: dimension ?? defaults.dimension,
                clusterCount: clusters ?? defaults.clusterCount,
                noiseFraction: noise ?? defaults.noiseFraction,
                lifetime: scaled(defaults.lifetime),
                gap: scaled(defaults.gap),
                speed: (defaults.speed.lowerBound * speedScale)...(defaults.speed.upperBound * speedScale),
                spread: defaults.spread, weight: defaults.weight, circularFraction: defaults.circularFraction)
            return DriftingStream(parameters: parameters, seed: seed ?? 1)
        } catch {
            let flag = switch error.key {
            case "clusterCount": "--clusters"
            case "noiseFraction": "--noise"
            case "speed": "--speed-scale"
            case "lifetime", "gap": "--lifetime-scale"
            default: "--\(error.key)"
            }
            throw ValidationError("invalid \(flag): \(error.key) = \(error.value), allowed \(error.allowed)")
        }
    }
}

/// Where the points come from, before anything is read.
enum SourcePlan: Sendable {
    /// A data file with optional labels, sent `passes` times (`nil`: without end).
    case file(path: String, labels: String?, passes: Int?)
    /// The drifting stream.
    case drift(DriftingStream)

    /// Reads the file and its labels, if any.
    ///
    /// - Throws: ``FileError`` for a file that cannot be read or labels that do not fit it.
    func load() throws(FileError) -> PointSource {
        switch self {
        case .drift(let stream):
            return .drift(stream)
        case .file(let path, let labelsPath, let passes):
            let data = try DataFile(path: path)
            let table = data.table
            guard table.rowCount > 0 else {
                throw FileError(path: GzipReader.displayName(path), reason: "holds no points")
            }
            let labels = try labelsPath.map { labelsPath throws(FileError) in
                try DataFile.readLabels(labelsPath, rows: table.rowCount)
            }
            return .table(values: table.values, dimension: table.columnCount, labels: labels, passes: passes)
        }
    }
}

/// The points to send, loaded.
enum PointSource: Sendable {
    /// Rows of a data file, with labels if given, repeated `passes` times (`nil`: forever).
    case table(values: [Double], dimension: Int, labels: [Int]?, passes: Int?)
    /// The drifting stream, without end.
    case drift(DriftingStream)

    /// Coordinates per point.
    var dimension: Int {
        switch self {
        case .table(_, let dimension, _, _): dimension
        case .drift(let stream): stream.parameters.dimension
        }
    }

    /// How many points there are, `nil` for a source without end.
    var length: Int? {
        switch self {
        case .table(let values, let dimension, _, let passes): passes.map { $0 * (values.count / dimension) }
        case .drift: nil
        }
    }

    /// Points `position ..< position + count` of the source (a table wraps around): their
    /// coordinates, row-major, and their labels if the source has them.
    func points(from position: Int, count: Int) -> (values: [Double], labels: [Int]?) {
        switch self {
        case .drift(let stream):
            let batch = stream.points(in: position..<(position + count))
            return (batch.values, batch.labels)
        case .table(let values, let dimension, let labels, _):
            let rows = values.count / dimension
            var chunk = [Double]()
            chunk.reserveCapacity(count * dimension)
            var chunkLabels = labels.map { _ in [Int]() }
            for offset in 0..<count {
                let row = (position + offset) % rows
                chunk.append(contentsOf: values[(row * dimension)..<((row + 1) * dimension)])
                if let labels { chunkLabels?.append(labels[row]) }
            }
            return (chunk, chunkLabels)
        }
    }
}

/// The checked settings of one `mmc feed` run.
struct FeedPlan: Sendable {
    let source: SourcePlan
    let endpoint: String
    let role: EndpointRole
    let socket: FeedCommand.SocketKind
    let topic: String
    let format: FeedCommand.PayloadFormat
    /// Points per message, already cut to a tenth of a second's worth with a rate.
    let batchSize: Int
    let rate: Double?
    let count: Int?
    let firstID: UInt64
    /// The rate of synthetic timestamps (`--timestamps stream`), `nil` for the wall clock.
    let streamRate: Double?
    let warmupMilliseconds: Int
    let highWaterMark: Int
    let labelsOut: String?
}

/// What a feed run did.
private struct FeedSummary {
    let points: Int
    let batches: Int
    /// From the first send to the end of the last batch: its send, or with a rate, its share of time.
    let seconds: Double
    let interrupted: Bool

    /// The final line.
    func line(plan: FeedPlan) -> String {
        let rate = seconds > 0 ? Int((Double(points) / seconds).rounded()) : 0
        let secondsText = String(format: "%.3f", seconds)
        return "sent \(points) points in \(batches) batch\(batches == 1 ? "" : "es") in \(secondsText) s (\(rate) points/s) "
            + "to \(plan.endpoint) (\(plan.socket.rawValue), \(plan.role.rawValue), \(plan.format.rawValue), "
            + "topic \(plan.topic))\(interrupted ? ", interrupted" : "")\n"
    }
}

/// Set by SIGINT and SIGTERM: the feed loop stops after the batch in flight.
private let stopRequested = Atomic<Bool>(false)

/// Sends the batches of one feed run; runs on a dedicated thread, since a PUSH socket blocks.
private struct Sender {
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
        while !stopRequested.load(ordering: .relaxed), total.map({ sent < $0 }) ?? true {
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
        let interrupted = stopRequested.load(ordering: .relaxed)
        let summary = FeedSummary(points: sent, batches: batches, seconds: elapsed.inSeconds, interrupted: interrupted)
        try Output.writeStandardOutput(Array(summary.line(plan: plan).utf8))
        if plan.socket == .push && !interrupted {
            try socket.set(.linger(milliseconds: -1))
        }
        if interrupted {
            Output.writeStandardError("waiting up to \(Self.lingerMilliseconds / 1000) s for queued messages to leave; Ctrl-C again to quit now\n")
        }
    }

    /// Sends `message`, waiting while the socket is at its high-water mark (PUSH).
    ///
    /// - Returns: `false` when a stop was requested before the socket took the message.
    private func send(_ message: ZMQMessage, on socket: ZMQSocket) throws -> Bool {
        while try !socket.send(message) {
            if stopRequested.load(ordering: .relaxed) { return false }
        }
        return true
    }

    /// Sleeps until `deadline`, waking early for a stop request.
    private func sleep(until deadline: ContinuousClock.Instant) {
        while !stopRequested.load(ordering: .relaxed) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return }
            Thread.sleep(forTimeInterval: min(0.1, left.inSeconds))
        }
    }

    /// Turns the first SIGINT or SIGTERM into a stop request; a second one ends the process.
    private func installStopHandlers() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { received in
                stopRequested.store(true, ordering: .relaxed)
                signal(received, SIG_DFL)
            }
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// The `--labels-out` file, written batch by batch as the points are sent.
private final class LabelsFile {
    private let path: String
    private let handle: FileHandle

    /// Creates or truncates `path`.
    init(path: String) throws(FileError) {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw FileError(path: path, action: "cannot create")
        }
        self.path = path
        self.handle = handle
    }

    /// Appends `id<TAB>label` lines.
    func append(ids: [UInt64], labels: [Int]) throws(FileError) {
        var text = ""
        text.reserveCapacity(ids.count * 16)
        for (id, label) in zip(ids, labels) {
            text += "\(id)\t\(label)\n"
        }
        do {
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw FileError(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Flushes and closes the file.
    func close() throws(FileError) {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw FileError(path: path, reason: "cannot close: \(error.localizedDescription)")
        }
    }
}

/// Runs `body` on a new thread (never a Swift concurrency pool thread, so it may block) and
/// returns its result.
private func runOnDedicatedThread<Result: Sendable>(
    named name: String, _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            mmc_name_current_thread(name)
            continuation.resume(with: Swift.Result { try body() })
        }
        thread.start()
    }
}
