import Foundation
import Glibc
import MMCWire
import Testing
import ZeroMQ

/// A step of an end-to-end test that did not happen: a missing executable, a reply that never
/// came, a line that does not parse.
struct EndToEndFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// How a child process ended.
enum EndToEndExit: Equatable, CustomStringConvertible {
    /// It exited with this status.
    case exited(Int32)
    /// A signal ended it.
    case signalled(Int32)

    var description: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signalled(let signal): "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}

/// A child process (`mmcd` or `mmc`) whose standard output and error go to files. It is killed
/// when the object is released while it still runs, so a failing test leaves nothing behind.
final class EndToEndProcess {
    private let process = Process()
    private let standardOutputPath: String
    private let standardErrorPath: String

    /// Starts `executable` with `arguments` and the test's environment without systemd's
    /// variables, plus `environment`.
    init(executable: String, arguments: [String], environment: [String: String], outputPrefix: String) throws {
        standardOutputPath = outputPrefix + ".stdout"
        standardErrorPath = outputPrefix + ".stderr"
        var inherited = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID"] {
            inherited[name] = nil
        }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = inherited.merging(environment) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try Self.createFile(standardOutputPath)
        process.standardError = try Self.createFile(standardErrorPath)
        try process.run()
    }

    deinit {
        kill()
    }

    private static func createFile(_ path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw EndToEndFailure("cannot create \(path)") }
        return handle
    }

    var isRunning: Bool { process.isRunning }

    /// The process id.
    var processIdentifier: Int32 { process.processIdentifier }

    /// Sends `signal` to the process.
    func send(_ signal: Int32) {
        Glibc.kill(process.processIdentifier, signal)
    }

    /// Kills the process (`SIGKILL`) if it still runs and waits for it.
    func kill() {
        if process.isRunning {
            send(SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Waits up to `limit` for the process to end; `nil` when it still runs.
    func exit(within limit: Duration) async throws -> EndToEndExit? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Foundation stores the status before it clears isRunning.
        return process.terminationReason == .uncaughtSignal
            ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
    }

    /// Sends `SIGTERM` and waits up to 20 s for the process to end; `nil` when it still runs.
    func terminate() async throws -> EndToEndExit? {
        send(SIGTERM)
        return try await exit(within: .seconds(20))
    }

    var standardOutput: String { Self.read(standardOutputPath) }
    var standardError: String { Self.read(standardErrorPath) }

    private static func read(_ path: String) -> String {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

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
        guard descriptor >= 0 else { throw EndToEndFailure("socket(AF_UNIX, SOCK_DGRAM): errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        guard bytes.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw EndToEndFailure("\(path) is too long for a Unix socket address")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw EndToEndFailure("bind \(path): errno \(errno)")
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
        let deadline = ContinuousClock.now + limit
        while true {
            drain()
            if let index = received[consumed...].firstIndex(where: predicate) {
                consumed = index + 1
                return received[index]
            }
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(1))
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
    let configurationPath: String
    let stateDirectory: String
    let inputEndpoint: String
    let outputEndpoint: String
    let controlEndpoint: String
    let ports: [Int]
    private let zmq: ZMQContext
    private var processes: [EndToEndProcess] = []

    init() throws {
        directory = NSTemporaryDirectory() + "mmcd-e2e-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configurationPath = directory + "/mmcd.toml"
        stateDirectory = directory + "/state"
        ports = try Self.freeLoopbackPorts(3)
        inputEndpoint = "tcp://127.0.0.1:\(ports[0])"
        outputEndpoint = "tcp://127.0.0.1:\(ports[1])"
        controlEndpoint = "tcp://127.0.0.1:\(ports[2])"
        zmq = try ZMQContext()
    }

    deinit {
        for process in processes {
            process.kill()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `count` distinct TCP ports that were free on 127.0.0.1 a moment ago: each is bound to
    /// port 0, and all are held until every one is known, so the system cannot hand one out
    /// twice.
    static func freeLoopbackPorts(_ count: Int) throws -> [Int] {
        var descriptors: [Int32] = []
        defer { descriptors.forEach { _ = close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw EndToEndFailure("socket(AF_INET): errno \(errno)") }
            descriptors.append(descriptor)
            var address = loopback(port: 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
                }
            }
            guard bound else { throw EndToEndFailure("cannot bind a loopback port: errno \(errno)") }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted now.
    static func acceptsConnections(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
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
    func startDaemon(environment: [String: String] = [:], overrides: [String] = []) throws -> EndToEndProcess {
        try start("mmcd", ["--config", configurationPath] + overrides.flatMap { ["--set", $0] }, environment: environment)
    }

    /// Starts `mmc` with `arguments`.
    func startMMC(_ arguments: [String]) throws -> EndToEndProcess {
        try start("mmc", arguments, environment: [:])
    }

    /// Runs `executable` (`mmcd` or `mmc`) to its end, at most `limit`.
    func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        within limit: Duration = .seconds(20)
    ) async throws -> (exit: EndToEndExit, output: String, error: String) {
        let process = try start(executable, arguments, environment: environment)
        guard let exit = try await process.exit(within: limit) else {
            process.kill()
            throw EndToEndFailure("\(executable) \(arguments.joined(separator: " ")) still ran after \(limit)")
        }
        return (exit, process.standardOutput, process.standardError)
    }

    private func start(
        _ executable: String, _ arguments: [String], environment: [String: String]
    ) throws -> EndToEndProcess {
        let process = try EndToEndProcess(
            executable: try EndToEndExecutables.path(executable), arguments: arguments, environment: environment,
            outputPrefix: directory + "/\(executable)-\(processes.count)")
        processes.append(process)
        return process
    }

    // MARK: ZeroMQ

    /// Sends `request` to the control endpoint on a fresh `REQ` socket (a lost reply cannot
    /// wedge the next request) and decodes the reply.
    func ask(_ request: Request, within limit: Duration = .seconds(20)) async throws -> Reply {
        let socket = try ZMQSocket(context: zmq, type: .req)
        defer { socket.close() }
        try socket.connect(controlEndpoint)
        guard try socket.send(ZMQMessage([request.encoded()]), flags: .dontWait) else {
            throw EndToEndFailure("the control request could not be queued")
        }
        guard let message = try await Self.receive(on: socket, within: limit), message.frames.count == 1 else {
            throw EndToEndFailure("no one-frame reply to \(request) from \(controlEndpoint) within \(limit)")
        }
        return try Reply.decode(message.frames[0])
    }

    /// The `stats` reply.
    func stats() async throws -> DaemonStats {
        let reply = try await ask(.stats)
        guard case .stats(let stats) = reply else { throw EndToEndFailure("expected stats, got \(reply)") }
        return stats
    }

    /// The `snapshot` reply's update, `nil` while the daemon has no model yet.
    func snapshot() async throws -> ClusterUpdate? {
        switch try await ask(.snapshot) {
        case .snapshot(let update): return update
        case .failure(let error) where error.code == .notReady: return nil
        case let reply: throw EndToEndFailure("expected a snapshot, got \(reply)")
        }
    }

    /// A `SUB` socket on the output endpoint, subscribed to cluster updates.
    func clusterSubscriber() throws -> ZMQSocket {
        let socket = try ZMQSocket(context: zmq, type: .sub)
        try socket.set(.subscribe(Array("clusters.".utf8)))
        try socket.connect(outputEndpoint)
        return socket
    }

    /// The next cluster update on `subscriber` within `limit`.
    func nextClusterUpdate(
        on subscriber: ZMQSocket, within limit: Duration = .seconds(20)
    ) async throws -> (sequence: UInt64, update: ClusterUpdate) {
        guard let message = try await Self.receive(on: subscriber, within: limit) else {
            throw EndToEndFailure("no cluster update from \(outputEndpoint) within \(limit)")
        }
        let envelope = try UpdateEnvelope.decode(frames: message.frames)
        guard case .clusters(let update) = envelope.message else {
            throw EndToEndFailure("expected a cluster update, got \(envelope.message)")
        }
        return (envelope.sequence, update)
    }

    /// The next message on `socket`. Like every wait here it looks once more after the
    /// deadline, so a test starved of threads by parallel suites does not fail for it.
    private static func receive(on socket: ZMQSocket, within limit: Duration) async throws -> ZMQMessage? {
        let deadline = ContinuousClock.now + limit
        while true {
            if let message = try socket.receive(flags: .dontWait) { return message }
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// One sample of the daemon's `/metrics` (summed over its labels when `sample` has none),
    /// once the HTTP endpoint takes connections.
    static func metric(_ sample: String, port: Int) async throws -> Double {
        _ = try await eventually { EndToEndWorkspace.acceptsConnections(port: port) }
        let body = try await httpGet(port: port, path: "/metrics").body
        return body.split(separator: "\n").filter {
            !$0.hasPrefix("#") && ($0.hasPrefix(sample + " ") || (!sample.contains("{") && $0.hasPrefix(sample + "{")))
        }.reduce(0) { $0 + (Double($1.split(separator: " ").last ?? "") ?? .nan) }
    }

    /// The daemon's resident memory in MiB, from `/proc`.
    static func residentMiB(_ process: EndToEndProcess) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kib / 1024
    }

    /// Polls `condition` every 50 ms until it holds, for at most `limit`.
    static func eventually(
        within limit: Duration = .seconds(20), _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while true {
            if try await condition() { return true }
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Finds the `mmcd` and `mmc` executables the package built: they are next to the test bundle,
/// whatever the scratch path (`.build/debug`, `.build-e2e/debug`).
enum EndToEndExecutables {
    /// The directory holding the running test bundle (`<scratch>/debug/mmcdPackageTests.xctest`).
    static let directory: String = {
        let executable = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .resolvingSymlinksInPath()
        var url = executable
        while url.pathExtension != "xctest" && url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
        }
        return (url.pathExtension == "xctest" ? url : executable).deletingLastPathComponent().path
    }()

    /// The path of executable `name`.
    ///
    /// - Throws: ``EndToEndFailure`` when the build did not make it.
    static func path(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw EndToEndFailure(
                "no \(name) executable at \(path), next to the test bundle; build every product with the tests: "
                    + "swift build --build-tests")
        }
        return path
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
            throw EndToEndFailure("not an mmc watch --json line: \(line.prefix(200))")
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
            throw EndToEndFailure("update \(update.modelVersion) carries no assignments")
        }
        switch assignments.mode {
        case .full:
            clusters = Dictionary(zip(assignments.ids, assignments.clusters)) { _, newer in newer }
        case .diff(let base):
            guard base == version else {
                let state = version.map { "model \($0)" } ?? "no full update yet"
                throw EndToEndFailure("update \(update.modelVersion) is a diff from \(base), the state is at \(state)")
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
            throw EndToEndFailure("\(path): bad line \(line)")
        }
        labels[id] = label
    }
    return labels
}
