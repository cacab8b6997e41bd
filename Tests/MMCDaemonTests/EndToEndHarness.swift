import Foundation
import Glibc
import MMCTestSupport
import MMCWire
import Testing
import ZeroMQ

/// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`. Datagrams are kept in arrival
/// order; ``next(within:where:)`` consumes them up to the one it returns, so successive calls
/// check an order.
final class EndToEndNotifyListener {
    let path: String
    private let descriptor: Int32
    /// Every datagram received so far.
    private(set) var received: [String] = []
    private var consumed = 0

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket(AF_UNIX, SOCK_DGRAM): errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        guard bytes.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw TestFailure("\(path) is too long for a Unix socket address")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw TestFailure("bind \(path): errno \(errno)")
        }
    }

    deinit {
        close(descriptor)
    }

    /// Reads every datagram waiting, without blocking.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = buffer.withUnsafeMutableBytes {
                recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
            }
            guard count >= 0 else { return }
            received.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
    }

    /// The first datagram after those already consumed that satisfies `predicate`, waiting up
    /// to `limit` for it; `nil` when none came.
    func next(within limit: Duration = .seconds(20), where predicate: (String) -> Bool) async throws -> String? {
        try await firstResult(within: limit, polling: .milliseconds(1)) {
            drain()
            guard let index = received[consumed...].firstIndex(where: predicate) else { return nil }
            consumed = index + 1
            return received[index]
        }
    }
}

/// The daemon settings the tests vary; everything else is a loopback endpoint, a PULL input
/// (the feed's PUSH socket then loses nothing), re-clustering on the timer alone, or a default.
struct EndToEndSettings {
    var windowSize = 3_000
    var intervalSeconds = 0.5
    /// Whether the daemon keeps a state snapshot in the workspace's `state` directory.
    var keepsState = true
    /// The HTTP port (metrics, health, live page); 0 turns the HTTP server off.
    var httpPort = 0
}

/// One test's world: a temporary directory, free loopback ports, a configuration file, the
/// processes started (killed when the workspace goes away), and a ZeroMQ context for the
/// test's own control requests and subscriptions.
final class EndToEndWorkspace {
    let directory: String
    private let temporary: TemporaryDirectory
    let configurationPath: String
    let stateDirectory: String
    let inputEndpoint: String
    let outputEndpoint: String
    let controlEndpoint: String
    let ports: [Int]
    private let zmq: ZMQContext
    private var processes: [ChildProcess] = []
    private var outputCount = 0

    init() throws {
        temporary = try TemporaryDirectory(prefix: "mmcd-e2e")
        directory = temporary.path
        configurationPath = directory + "/mmcd.toml"
        stateDirectory = directory + "/state"
        ports = try LoopbackPorts.free(3)
        inputEndpoint = "tcp://127.0.0.1:\(ports[0])"
        outputEndpoint = "tcp://127.0.0.1:\(ports[1])"
        controlEndpoint = "tcp://127.0.0.1:\(ports[2])"
        zmq = try ZMQContext()
    }

    deinit {
        for process in processes {
            process.kill()
        }
    }

    // MARK: Files

    /// Writes the configuration file the daemon reads (and re-reads on `SIGHUP`).
    func writeConfiguration(_ settings: EndToEndSettings) throws {
        let toml = """
            [input]
            bind = ["\(inputEndpoint)"]
            socket = "pull"
            [window]
            size = \(settings.windowSize)
            [schedule]
            interval_seconds = \(settings.intervalSeconds)
            every_points = 0
            [output]
            endpoint = "\(outputEndpoint)"
            [control]
            endpoint = "\(controlEndpoint)"
            [state]
            directory = "\(settings.keepsState ? stateDirectory : "")"
            [http]
            port = \(settings.httpPort)

            """
        try write(toml, to: configurationPath)
    }

    /// Writes `text` to `path`, replacing the file.
    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The files in the state directory.
    func stateFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: stateDirectory).sorted()
    }

    /// A notification socket in the workspace.
    func notifyListener() throws -> EndToEndNotifyListener {
        try EndToEndNotifyListener(path: directory + "/notify-\(processes.count).sock")
    }

    // MARK: Processes

    /// Starts `mmcd --config <workspace configuration>` with `--set` for each of `overrides`.
    func startDaemon(environment: [String: String] = [:], overrides: [String] = []) throws -> ChildProcess {
        try start("mmcd", ["--config", configurationPath] + overrides.flatMap { ["--set", $0] }, environment: environment)
    }

    /// Starts `mmc` with `arguments`.
    func startMMC(_ arguments: [String]) throws -> ChildProcess {
        try start("mmc", arguments, environment: [:])
    }

    /// Runs `executable` (`mmcd` or `mmc`) to its end, at most `limit`.
    func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        within limit: Duration = .seconds(20)
    ) async throws -> ChildProcess.Outcome {
        try await ChildProcess.run(
            try BuiltExecutables.path(executable), arguments, environment: environment,
            outputPrefix: nextOutputPrefix(executable), within: limit)
    }

    private func start(
        _ executable: String, _ arguments: [String], environment: [String: String]
    ) throws -> ChildProcess {
        let process = try ChildProcess(
            executable: try BuiltExecutables.path(executable), arguments: arguments, environment: environment,
            outputPrefix: nextOutputPrefix(executable))
        processes.append(process)
        return process
    }

    /// Where the next process's output goes: a name no other process of the workspace uses.
    private func nextOutputPrefix(_ executable: String) -> String {
        outputCount += 1
        return directory + "/\(executable)-\(outputCount)"
    }

    // MARK: ZeroMQ

    /// Sends `request` to the control endpoint on a fresh `REQ` socket (a lost reply cannot
    /// wedge the next request) and decodes the reply.
    func ask(_ request: Request, within limit: Duration = .seconds(20)) async throws -> Reply {
        let socket = try ZMQSocket(context: zmq, type: .req)
        defer { socket.close() }
        try socket.connect(controlEndpoint)
        guard try socket.send(ZMQMessage([request.encoded()]), flags: .dontWait) else {
            throw TestFailure("the control request could not be queued")
        }
        guard let message = try await receive(socket, within: limit), message.frames.count == 1 else {
            throw TestFailure("no one-frame reply to \(request) from \(controlEndpoint) within \(limit)")
        }
        return try Reply.decode(message.frames[0])
    }

    /// The `stats` reply.
    func stats() async throws -> DaemonStats {
        let reply = try await ask(.stats)
        guard case .stats(let stats) = reply else { throw TestFailure("expected stats, got \(reply)") }
        return stats
    }

    /// The `snapshot` reply's update, `nil` while the daemon has no model yet.
    func snapshot() async throws -> ClusterUpdate? {
        switch try await ask(.snapshot) {
        case .snapshot(let update): return update
        case .failure(let error) where error.code == .notReady: return nil
        case let reply: throw TestFailure("expected a snapshot, got \(reply)")
        }
    }

    /// A `SUB` socket on the output endpoint, subscribed to cluster updates, once connected.
    func clusterSubscriber() async throws -> ZMQSocket {
        try await connectedSubscriber(zmq, to: outputEndpoint, prefixes: ["clusters."])
    }

    /// The next cluster update on `subscriber` within `limit`.
    func nextClusterUpdate(
        on subscriber: ZMQSocket, within limit: Duration = .seconds(20)
    ) async throws -> (sequence: UInt64, update: ClusterUpdate) {
        guard let message = try await receive(subscriber, within: limit) else {
            throw TestFailure("no cluster update from \(outputEndpoint) within \(limit)")
        }
        let envelope = try UpdateEnvelope.decode(frames: message.frames)
        guard case .clusters(let update) = envelope.message else {
            throw TestFailure("expected a cluster update, got \(envelope.message)")
        }
        return (envelope.sequence, update)
    }

    /// One sample of the daemon's `/metrics` (summed over its labels when `sample` has none),
    /// once the HTTP endpoint takes connections.
    static func metric(_ sample: String, port: Int) async throws -> Double {
        _ = try await eventually { LoopbackPorts.acceptsConnections(port: port) }
        let body = try await httpGet(port: port, path: "/metrics").body
        return body.split(separator: "\n").filter {
            !$0.hasPrefix("#") && ($0.hasPrefix(sample + " ") || (!sample.contains("{") && $0.hasPrefix(sample + "{")))
        }.reduce(0) { $0 + (Double($1.split(separator: " ").last ?? "") ?? .nan) }
    }

    /// The daemon's resident memory in MiB, from `/proc`.
    static func residentMiB(_ process: ChildProcess) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }
}

/// One line of `mmc watch --json`:
/// `{"topic":…,"sequence":…,"missed":…,"restarted":…,"update":{…}}`, the update decoded by
/// MMCWire (so every published update is also checked against the protocol).
struct WatchedMessage {
    let topic: String
    let sequence: UInt64
    let missed: UInt64
    let restarted: Bool
    let message: UpdateMessage

    private struct Envelope: Decodable {
        let topic: String
        let sequence: UInt64
        let missed: UInt64
        let restarted: Bool
    }

    init(line: Substring) throws {
        guard let marker = line.range(of: ",\"update\":"), line.hasSuffix("}") else {
            throw TestFailure("not an mmc watch --json line: \(line.prefix(200))")
        }
        let envelope = try JSONDecoder().decode(Envelope.self, from: Data((line[..<marker.lowerBound] + "}").utf8))
        topic = envelope.topic
        sequence = envelope.sequence
        missed = envelope.missed
        restarted = envelope.restarted
        message = try UpdateMessage.decode(Array(line[marker.upperBound..<line.index(before: line.endIndex)].utf8))
    }

    /// Every line of `output`.
    static func parse(_ output: String) throws -> [WatchedMessage] {
        try output.split(separator: "\n").map(WatchedMessage.init(line:))
    }
}

/// What a subscriber knows of every window point's cluster, built from full updates and diffs.
struct EndToEndAssignments {
    /// The model version the assignments are at, `nil` before the first full update.
    private(set) var version: UInt64?
    /// Cluster (`-1` noise) of every window point id.
    private(set) var clusters: [UInt64: Int64] = [:]

    /// Applies `update`: a full one replaces everything, a diff must be based on ``version``.
    mutating func apply(_ update: ClusterUpdate) throws {
        guard let assignments = update.assignments else {
            throw TestFailure("update \(update.modelVersion) carries no assignments")
        }
        switch assignments.mode {
        case .full:
            clusters = Dictionary(zip(assignments.ids, assignments.clusters)) { _, newer in newer }
        case .diff(let base):
            guard base == version else {
                let state = version.map { "model \($0)" } ?? "no full update yet"
                throw TestFailure("update \(update.modelVersion) is a diff from \(base), the state is at \(state)")
            }
            for id in assignments.removed {
                clusters[id] = nil
            }
            for (id, cluster) in zip(assignments.ids, assignments.clusters) {
                clusters[id] = cluster
            }
        }
        version = update.modelVersion
    }
}

/// The adjusted Rand index of two labelings of the same points (1: identical partitions, about
/// 0: chance agreement).
func adjustedRandIndex<Truth: Hashable, Found: Hashable>(_ pairs: [(truth: Truth, found: Found)]) -> Double {
    func pairCount(_ count: Int) -> Double { Double(count) * Double(count - 1) / 2 }
    var truthCounts: [Truth: Int] = [:]
    var foundCounts: [Found: Int] = [:]
    var cells: [JointKey<Truth, Found>: Int] = [:]
    for pair in pairs {
        truthCounts[pair.truth, default: 0] += 1
        foundCounts[pair.found, default: 0] += 1
        cells[JointKey(truth: pair.truth, found: pair.found), default: 0] += 1
    }
    let index = cells.values.reduce(0) { $0 + pairCount($1) }
    let truthPairs = truthCounts.values.reduce(0) { $0 + pairCount($1) }
    let foundPairs = foundCounts.values.reduce(0) { $0 + pairCount($1) }
    let expected = truthPairs * foundPairs / pairCount(pairs.count)
    let maximum = (truthPairs + foundPairs) / 2
    return maximum == expected ? 1 : (index - expected) / (maximum - expected)
}

private struct JointKey<Truth: Hashable, Found: Hashable>: Hashable {
    let truth: Truth
    let found: Found
}

/// The `id<TAB>label` lines `mmc feed --labels-out` writes.
func readLabels(_ path: String) throws -> [UInt64: Int] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var labels: [UInt64: Int] = [:]
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: "\t")
        guard fields.count == 2, let id = UInt64(fields[0]), let label = Int(fields[1]) else {
            throw TestFailure("\(path): bad line \(line)")
        }
        labels[id] = label
    }
    return labels
}
