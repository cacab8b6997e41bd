import ArgumentParser
import MMCRuntime
import ZeroMQ

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
