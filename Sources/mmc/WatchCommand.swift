import ArgumentParser
import FoundationEssentials
import MMCWire
import ZeroMQ

/// `mmc watch`: subscribes to mmcd's updates and prints each cluster update.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Subscribe to mmcd's cluster updates and print them.",
        discussion: """
            For every cluster update one line gives the topic, its sequence number, the model \
            version, the window size, the noise count and the assignments it carries; one line \
            per cluster follows (id, mass, centroid with 3 decimals), then one per lifecycle \
            event (birth, death, merge, split). A warning line reports a per-topic sequence gap \
            (messages lost) or a sequence that went back (the publisher restarted). A re-sent \
            snapshot (the same sequence number again, sent when another subscriber joins) is \
            not printed twice.

            With --json every cluster update is one line of JSON instead: \
            {"topic":...,"sequence":...,"missed":...,"restarted":...,"update":{...}}, where \
            "update" is the update as docs/protocol.md defines it, "missed" counts the \
            messages lost just before it, and the warnings go to standard error.

            Exit status: 0 after --count updates, 2 when nothing arrived for --timeout \
            seconds, 1 for other errors.
            """
    )

    @Option(help: "The endpoint to connect to (or bind with --bind).")
    var endpoint = "tcp://127.0.0.1:5557"

    @Flag var role: EndpointRole = .connect

    @Option(name: .customLong("topic"), help: "A topic prefix to subscribe to; repeatable. (default: every topic)")
    var topics: [String] = []

    @Flag(help: "Print each cluster update as one line of JSON.")
    var json = false

    @Flag(help: "Print provisional assignments too.")
    var provisional = false

    @Option(help: "Exit after this many cluster updates.")
    var count: Int?

    @Option(help: "Give up (exit status 2) after this many seconds without a message.")
    var timeout: Double?

    @OptionGroup(title: "CURVE encryption")
    var curve: CurveClientOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
        if let timeout, !(timeout > 0 && timeout.isFinite) {
            throw ValidationError("--timeout must be a positive number of seconds, got \(timeout)")
        }
        if let topic = topics.first(where: { $0.utf8.count > 255 }) {
            throw ValidationError("--topic must be at most 255 bytes, got \(topic.utf8.count)")
        }
    }

    func run() async throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .sub)
        for option in try curve.socketOptions() { try socket.set(option) }
        for topic in topics.isEmpty ? [""] : topics {
            try socket.set(.subscribe(Array(topic.utf8)))
        }
        try role.attach(socket, to: endpoint)
        let loop = try ZMQReceiveLoop(socket: socket, bufferSize: 1_000, name: "mmc.watch")
        let watchdog = timeout.map { seconds in Self.watchdog(for: loop, silence: .seconds(seconds)) }

        var printer = UpdatePrinter(json: json, provisional: provisional)
        var updates = 0
        var droppedLocally = 0
        for await message in loop.messages {
            if loop.dropped > droppedLocally {
                Output.writeStandardError("warning: \(loop.dropped - droppedLocally) message(s) dropped by mmc watch itself (printing fell behind); the sequence gap that follows is local\n")
                droppedLocally = loop.dropped
            }
            let lines: UpdatePrinter.Lines
            do {
                lines = try printer.lines(for: UpdateEnvelope.decode(frames: message.frames))
            } catch {
                Output.writeStandardError("warning: malformed message skipped: \(error)\n")
                continue
            }
            Output.writeStandardError(lines.warnings)
            try Output.writeStandardOutput(Array(lines.output.utf8))
            if lines.isClusterUpdate {
                updates += 1
                if let count, updates >= count { break }
            }
        }
        loop.stop()
        watchdog?.cancel()
        if let count, updates >= count { return }
        if let failure = loop.failure { throw failure }
        if await watchdog?.value == true, let timeout {
            Output.writeStandardError("no message from \(endpoint) for \(timeout) s; \(updates) cluster updates printed\n")
            throw ExitCode(2)
        }
    }

    /// A task that stops `loop` once it has received nothing for `silence`.
    ///
    /// - Returns: The task; its value is `true` when it stopped the loop, `false` when it was
    ///   cancelled first.
    private static func watchdog(for loop: ZMQReceiveLoop, silence: Duration) -> Task<Bool, Never> {
        Task {
            let clock = ContinuousClock()
            var seen = loop.received
            var quietSince = clock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(50))
                if loop.received != seen {
                    seen = loop.received
                    quietSince = clock.now
                } else if clock.now - quietSince >= silence {
                    loop.stop()
                    return true
                }
            }
            return false
        }
    }
}

/// Turns decoded update messages into text, tracking each topic's sequence numbers.
struct UpdatePrinter {
    /// What to print for one message.
    struct Lines {
        /// For standard output; empty when the message is not shown.
        var output = ""
        /// For standard error.
        var warnings = ""
        /// Whether the message is a cluster update (which `--count` counts).
        var isClusterUpdate = false
    }

    /// One JSON line per update instead of readable text.
    let json: Bool
    /// Show provisional assignments too.
    let provisional: Bool
    private var tracker = SequenceTracker()

    init(json: Bool, provisional: Bool) {
        self.json = json
        self.provisional = provisional
    }

    /// The text for `envelope`; a repeated sequence number (a snapshot re-sent for a late
    /// joiner) prints nothing.
    mutating func lines(for envelope: UpdateEnvelope) -> Lines {
        var lines = Lines()
        let topic = envelope.topic
        let sequence = envelope.sequence
        var missed: UInt64 = 0
        var restarted = false
        switch tracker.observe(topic: topic, sequence: sequence) {
        case .first, .next:
            break
        case .repeated:
            return lines
        case .gap(let count):
            missed = count
            warn("warning: \(topic): \(count) message(s) lost before #\(sequence) (sequence gap)", into: &lines)
        case .restarted:
            restarted = true
            warn("warning: \(topic): sequence went back to #\(sequence) (publisher restarted)", into: &lines)
        }
        switch envelope.message {
        case .clusters(let update):
            lines.isClusterUpdate = true
            lines.output += json
                ? jsonLine(envelope, missed: missed, restarted: restarted)
                : describe(update, topic: topic, sequence: sequence)
        case .provisional(let assignments) where provisional:
            lines.output += json
                ? jsonLine(envelope, missed: missed, restarted: restarted)
                : "\(topic) #\(sequence) provisional, model \(assignments.modelVersion): "
                    + "\(assignments.ids.count) points, \(assignments.clusters.count { $0 == -1 }) noise\n"
        case .provisional:
            break
        }
        return lines
    }

    /// A warning: on standard output among the updates, on standard error beside JSON.
    private func warn(_ text: String, into lines: inout Lines) {
        if json {
            lines.warnings += text + "\n"
        } else {
            lines.output += text + "\n"
        }
    }

    /// The readable lines of a cluster update, its clusters by ascending id: the update lists
    /// them in the clustering's own order, which moves from one update to the next, and a
    /// reader following a cluster down the terminal looks for it in the same place each time.
    func describe(_ update: ClusterUpdate, topic: String, sequence: UInt64) -> String {
        var text = "\(topic) #\(sequence) model \(update.modelVersion): window \(update.windowSize), "
            + "noise \(update.noiseCount), clusters \(update.clusters.count), \(describe(update.assignments))\n"
        for cluster in update.clusters.sorted(by: { $0.id < $1.id }) {
            let centroid = cluster.centroid.map(threeDecimals).joined(separator: ", ")
            text += "  cluster \(cluster.id): mass \(cluster.mass), centroid (\(centroid))\n"
        }
        for event in update.events {
            text += "  \(describe(event))\n"
        }
        return text
    }

    /// `value` with 3 decimals, without a sign on a value that rounds to zero.
    private func threeDecimals(_ value: Double) -> String {
        let text = value.printed(decimals: 3)
        return text == "-0.000" ? "0.000" : text
    }

    private func describe(_ assignments: Assignments?) -> String {
        guard let assignments else { return "no assignments" }
        switch assignments.mode {
        case .full:
            return "assignments full (\(assignments.ids.count))"
        case .diff(let base):
            return "assignments diff from model \(base) (\(assignments.ids.count) changed, \(assignments.removed.count) removed)"
        }
    }

    private func describe(_ event: ClusterEvent) -> String {
        let list = { (ids: [Int64]) in ids.map(String.init).joined(separator: ", ") }
        switch event {
        case .birth(let id): return "birth \(id)"
        case .death(let id): return "death \(id)"
        case .merge(let from, let into): return "merge \(list(from)) -> \(into)"
        case .split(let from, let into): return "split \(from) -> \(list(into))"
        }
    }

    /// `{"topic":…,"sequence":…,"missed":…,"restarted":…,"update":…}` and a newline.
    private func jsonLine(_ envelope: UpdateEnvelope, missed: UInt64, restarted: Bool) -> String {
        "{\"topic\":\(jsonString(envelope.topic)),\"sequence\":\(envelope.sequence),\"missed\":\(missed),"
            + "\"restarted\":\(restarted),\"update\":\(String(decoding: envelope.message.encoded(), as: UTF8.self))}\n"
    }

    /// `text` as a JSON string literal.
    private func jsonString(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        do {
            return String(decoding: try encoder.encode(text), as: UTF8.self)
        } catch {
            preconditionFailure("JSONEncoder refused a String: \(error)")
        }
    }
}
