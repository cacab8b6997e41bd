import Foundation
import Glibc
import MMCTestSupport
import MMCWire
import Testing
import ZeroMQ

/// Faults, overload and authentication with `mmcd` and `mmc` as processes on loopback.
@Suite(.serialized, .tags(.endToEnd)) struct ReliabilityEndToEndTests {
    /// `mmc feed` arguments for the seeded drifting stream onto the workspace's input.
    private static func feed(_ workspace: EndToEndWorkspace, _ arguments: [String]) -> [String] {
        ["feed", "--generate", "drift", "--seed", "3", "--endpoint", workspace.inputEndpoint] + arguments
    }

    @Test func curveGuardsEverySocketRefusesAnUnknownKeyAndCountsItUntilSIGHUPAllowsIt() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        for name in ["server", "client", "other"] {
            let keygen = try await workspace.run("mmc", ["keygen", "--out", workspace.directory + "/" + name])
            try #require(keygen.exit == .exited(0), "\(keygen.error)")
        }
        func key(_ file: String) throws -> String {
            let text = try String(contentsOfFile: workspace.directory + "/" + file, encoding: .utf8)
            return String(try #require(text.split(separator: "\n").last { !$0.hasPrefix("#") }))
        }
        let allowList = workspace.directory + "/clients"
        try workspace.write(try key("other.pub") + "\n", to: allowList)
        let http = try LoopbackPorts.free(1)[0]
        let daemon = try workspace.startDaemon(overrides: [
            "security.curve_secret_key_file=\(workspace.directory)/server.key",
            "security.curve_authorized_keys_file=\(allowList)", "http.port=\(http)",
        ])
        let feed = try workspace.startMMC(
            Self.feed(workspace, [
                "--socket", "push", "--count", "300", "--curve-server-key=" + (try key("server.pub")),
                "--curve-key-file", workspace.directory + "/client.key",
            ]))
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await EndToEndWorkspace.metric("mmcd_auth_refused_total{reason=\"unknown_key\"}", port: http) >= 1
        }, "no refusal counted; mmcd: \(daemon.standardError)")
        #expect(try await EndToEndWorkspace.metric("mmcd_points_received_total", port: http) == 0)
        #expect(daemon.standardError.contains("refused a client"))

        // libzmq ends a connection the allow-list refused for good (a protocol error: no
        // reconnect), and the producer's queued messages with it; after the reload the producer
        // connects anew.
        feed.kill()
        try workspace.write(try key("other.pub") + "\n" + key("client.pub") + "\n", to: allowList)
        daemon.send(SIGHUP)
        #expect(try await eventually(polling: .milliseconds(50)) {
            daemon.standardError.contains("CURVE allow-list reloaded keys=2")
        }, "\(daemon.standardError)")
        let allowed = try await workspace.run(
            "mmc",
            Self.feed(workspace, [
                "--socket", "push", "--count", "300", "--curve-server-key=" + (try key("server.pub")),
                "--curve-key-file", workspace.directory + "/client.key",
            ]))
        #expect(allowed.exit == .exited(0), "feed: \(allowed.error)")
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await EndToEndWorkspace.metric("mmcd_points_received_total", port: http) == 300
        })
        #expect(try await EndToEndWorkspace.metric("mmcd_auth_accepted_total", port: http) >= 1)

        // Output and control: a CURVE client with a listed key is served, a plain one is not.
        let context = try ZMQContext()
        defer { context.shutdown() }
        func socket(_ type: ZMQSocketType, curve: Bool, _ endpoint: String) throws -> ZMQSocket {
            let socket = try ZMQSocket(context: context, type: type)
            try socket.set(.linger(milliseconds: 0))
            if curve {
                try socket.set(.curveServerKey(try CurveKey(z85: try key("server.pub"))))
                let pair = try CurveKeyPair(secretKey: try CurveKey(z85: try key("client.key")))
                try socket.set(.curvePublicKey(pair.publicKey))
                try socket.set(.curveSecretKey(pair.secretKey))
            }
            if type == .sub { try socket.set(.subscribe(Array("clusters.".utf8))) }
            try socket.connect(endpoint)
            return socket
        }
        let plainSubscriber = try socket(.sub, curve: false, workspace.outputEndpoint)
        let subscriber = try socket(.sub, curve: true, workspace.outputEndpoint)
        let plainRequester = try socket(.req, curve: false, workspace.controlEndpoint)
        let requester = try socket(.req, curve: true, workspace.controlEndpoint)
        for requesting in [plainRequester, requester] {
            #expect(try requesting.send(ZMQMessage([Request.stats.encoded()]), flags: .dontWait))
        }
        var reply: Reply?
        var update: ZMQMessage?
        _ = try await eventually(polling: .milliseconds(50)) {
            if reply == nil, let message = try requester.receive(flags: .dontWait) { reply = try Reply.decode(message.frames[0]) }
            if update == nil { update = try subscriber.receive(flags: .dontWait) }
            return reply != nil && update != nil
        }
        guard case .stats(let stats)? = reply else { throw TestFailure("no stats reply over CURVE: \(String(describing: reply))") }
        #expect(stats.pointsReceived == 300)
        #expect(update != nil, "the CURVE subscriber got no snapshot")
        // By now the plain clients' handshakes have long failed: nothing reaches them.
        #expect(try plainRequester.receive(flags: .dontWait) == nil)
        #expect(try plainSubscriber.receive(flags: .dontWait) == nil)
        for socket in [plainSubscriber, subscriber, plainRequester, requester] { socket.close() }
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aSubInputFarAboveItsSustainableRateCountsEveryPointItCannotTakeAndKeepsPublishing() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings(windowSize: 2_000, intervalSeconds: 0.3, keepsState: false))
        // A heavy forest makes each point expensive; a tiny queue makes the overflow quick.
        let daemon = try workspace.startDaemon(overrides: [
            "input.socket=sub", "input.queue_capacity=8", "input.receive_hwm=0", "forest.trees=1024",
            "forest.height=10", "forest.refresh_per_recluster=0",
        ])
        let subscriber = try await workspace.clusterSubscriber()
        _ = try await workspace.stats()
        // A few seconds long, so that re-clusterings fall inside the overload. A PUB drops what it
        // sends before the subscription reaches it (on the producer's side, where the daemon
        // cannot count it), so the feed waits 3 s for the daemon's subscription first.
        let sent = 150_000
        let feed = try await workspace.run(
            "mmc",
            Self.feed(workspace, [
                "--socket", "pub", "--hwm", "0", "--warmup-ms", "3000", "--batch", "1", "--rate", "50000",
                "--count", "\(sent)",
            ]), within: .seconds(120))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        var updates = 0
        while (try? await workspace.nextClusterUpdate(on: subscriber, within: .milliseconds(1))) != nil { updates += 1 }
        // Accepted, dropped and rejected add up to what was sent.
        var figures = try await workspace.stats()
        _ = try await eventually(within: .seconds(60), polling: .milliseconds(50)) {
            figures = try await workspace.stats()
            return figures.pointsReceived + figures.pointsDropped + figures.pointsRejected == UInt64(sent)
        }
        #expect(figures.pointsReceived + figures.pointsDropped + figures.pointsRejected == UInt64(sent), "\(figures)")
        #expect(figures.pointsDropped > 0, "not overloaded: \(figures)")
        #expect(figures.reclusterCount >= 2 && updates >= 2, "updates stopped: \(updates), \(figures)")
        let resident = try #require(EndToEndWorkspace.residentMiB(daemon))
        #expect(resident < 512, "resident \(resident) MiB")
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aProducerKilledMidStreamAndRestartedLeavesTheDaemonServing() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings(windowSize: 100_000))
        let daemon = try workspace.startDaemon()
        _ = try await workspace.stats()
        let producer = try workspace.startMMC(Self.feed(workspace, ["--socket", "push", "--loop", "--rate", "5000"]))
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().pointsReceived >= 1_000 })
        producer.send(SIGKILL)
        #expect(try await producer.exit(within: .seconds(10)) == .signalled(SIGKILL))
        let before = try await workspace.stats().pointsReceived
        let restarted = try await workspace.run(
            "mmc", Self.feed(workspace, ["--socket", "push", "--count", "2000", "--first-id", "10000000"]))
        #expect(restarted.exit == .exited(0), "\(restarted.error)")
        // At least: what the killed producer had already queued in the daemon still arrives after `before`.
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().pointsReceived >= before + 2_000 })
        #expect(daemon.isRunning)
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aSubscriberKilledAndRestartedGetsTheLatestSnapshotAgain() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        let daemon = try workspace.startDaemon()
        let feed = try await workspace.run("mmc", Self.feed(workspace, ["--socket", "push", "--count", "1500"]))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.snapshot()?.windowSize == 1_500 })
        var firstSnapshots: [WatchedMessage] = []
        for round in 0..<2 {
            let watcher = try workspace.startMMC(["watch", "--json", "--endpoint", workspace.outputEndpoint])
            #expect(try await eventually(polling: .milliseconds(50)) { !watcher.standardOutput.isEmpty }, "round \(round)")
            watcher.send(SIGKILL)
            _ = try await watcher.exit(within: .seconds(10))
            let first = try #require(try WatchedMessage.parse(watcher.standardOutput).first)
            firstSnapshots.append(first)
        }
        for message in firstSnapshots {
            guard case .clusters(let update) = message.message else {
                throw TestFailure("the first message is not a cluster update: \(message.message)")
            }
            #expect(update.windowSize == 1_500 && update.assignments?.ids.count == 1_500, "not a full snapshot")
        }
        #expect(firstSnapshots[1].sequence >= firstSnapshots[0].sequence)
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aDaemonKilledWithSIGKILLRestartsFromItsLastPeriodicSnapshot() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings(windowSize: 100_000))
        let http = try LoopbackPorts.free(1)[0]
        let overrides = ["state.snapshot_interval_seconds=1", "http.port=\(http)"]
        let daemon = try workspace.startDaemon(overrides: overrides)
        let feed = try await workspace.run("mmc", Self.feed(workspace, ["--socket", "push", "--count", "3000"]))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().windowSize == 3_000 })
        // A periodic snapshot written after the last point arrived holds every point.
        let written = try await EndToEndWorkspace.metric("mmcd_snapshot_writes_total{result=\"ok\"}", port: http)
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await EndToEndWorkspace.metric("mmcd_snapshot_writes_total{result=\"ok\"}", port: http) >= written + 2
        })
        let version = try await workspace.stats().modelVersion
        daemon.send(SIGKILL)
        #expect(try await daemon.exit(within: .seconds(10)) == .signalled(SIGKILL))

        let restarted = try workspace.startDaemon(overrides: overrides)
        let figures = try await workspace.stats()
        #expect(figures.windowSize == 3_000)
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().modelVersion > version })
        #expect(try await restarted.terminate() == .exited(0))
    }

    /// Runs `mount` or `umount` with `arguments`; whether it succeeded.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/" + tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Whether this process may mount a tmpfs (root in a privileged container or on a machine).
    static let canMount: Bool = {
        let directory = NSTemporaryDirectory() + "mmcd-mount-probe-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil,
            run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", directory])
        else { return false }
        return run("umount", [directory])
    }()

    @Test(.enabled(if: canMount, "needs permission to mount a tmpfs"), arguments: ["full", "read-only"])
    func aStateDirectoryThatIsFullOrReadOnlyIsCountedAndTheDaemonKeepsServing(kind: String) async throws {
        let workspace = try EndToEndWorkspace()
        try FileManager.default.createDirectory(atPath: workspace.stateDirectory, withIntermediateDirectories: true)
        // 64 KiB cannot hold a 5,000-point window (about 160 KiB).
        let options = "size=64k" + (kind == "read-only" ? ",ro" : "")
        try #require(Self.run("mount", ["-t", "tmpfs", "-o", options, "tmpfs", workspace.stateDirectory]))
        defer { Self.run("umount", ["-l", workspace.stateDirectory]) }
        try workspace.writeConfiguration(EndToEndSettings(windowSize: 10_000))
        let http = try LoopbackPorts.free(1)[0]
        let daemon = try workspace.startDaemon(overrides: ["state.snapshot_interval_seconds=1", "http.port=\(http)"])
        let feed = try await workspace.run("mmc", Self.feed(workspace, ["--socket", "push", "--count", "5000"]))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await EndToEndWorkspace.metric("mmcd_snapshot_writes_total{result=\"error\"}", port: http) >= 2
        })
        #expect(try await EndToEndWorkspace.metric("mmcd_snapshot_writes_total{result=\"ok\"}", port: http) == 0)
        #expect(daemon.standardError.contains("snapshot"), "\(daemon.standardError)")
        // Still serving: more points come in, re-clusterings go on.
        let more = try await workspace.run(
            "mmc", Self.feed(workspace, ["--socket", "push", "--count", "1000", "--first-id", "10000000"]))
        #expect(more.exit == .exited(0))
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().windowSize == 6_000 })
        let version = try await workspace.stats().modelVersion
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().modelVersion > version })
        // The final snapshot fails too; the daemon still stops cleanly.
        #expect(try await daemon.terminate() == .exited(0))
    }
}
