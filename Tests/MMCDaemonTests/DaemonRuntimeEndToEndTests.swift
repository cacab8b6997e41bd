import Foundation
import Glibc
import Logging
import MassClustering
import MMCConfiguration
import MMCDaemon
import MMCTestSupport
import MMCWire
import Prometheus
import Testing
import ZeroMQ

/// A daemon running in this process on ephemeral loopback ports, with its own configuration
/// file, state directory and metrics.
final class RunningDaemon: Sendable {
    let daemon: Daemon
    let metrics: DaemonMetrics
    let configurationPath: String
    let stateDirectory: String
    /// Holds the configuration file and, unless the test gives another, the state directory.
    let folder: TemporaryDirectory
    private let task: Task<Void, any Error>

    /// The command line every test starts from: loopback ephemeral ports, no HTTP, a PULL
    /// input (nothing lost, so counts are exact), a small forest, no timer.
    static let baseOverrides = [
        "input.bind=tcp://127.0.0.1:*", "input.socket=pull", "output.endpoint=tcp://127.0.0.1:*",
        "control.endpoint=tcp://127.0.0.1:*", "http.port=0", "forest.sample_size=64",
        "schedule.interval_seconds=0",
    ]

    /// Starts a daemon whose configuration file holds `file` (TOML; by default a re-clustering
    /// every 400 points) and whose command line holds the base overrides, the state directory
    /// and `overrides`.
    init(
        file: String = "[schedule]\nevery_points = 400\n", overrides: [String] = [], stateDirectory: String? = nil,
        notifier: SystemdNotifier = SystemdNotifier(environment: [:], processID: 0)
    ) throws {
        folder = try TemporaryDirectory()
        configurationPath = folder.file("mmcd.toml")
        try file.write(toFile: configurationPath, atomically: true, encoding: .utf8)
        self.stateDirectory = stateDirectory ?? folder.file("state")
        let allOverrides = Self.baseOverrides + ["state.directory=\(self.stateDirectory)"] + overrides
        let configuration = try DaemonConfiguration(contentsOfFile: configurationPath, overrides: allOverrides)
        metrics = DaemonMetrics(registry: PrometheusCollectorRegistry())
        let logger = Logger(label: "mmcd.test") { _ in SwiftLogNoOpLogHandler() }
        daemon = try Daemon(
            configuration: configuration, configurationPath: configurationPath, overrides: allOverrides, logger: logger,
            logLevel: DaemonLogLevel(.error), metrics: metrics, notifier: notifier)
        let daemon = daemon
        task = Task { try await daemon.run() }
    }

    /// Shuts the daemon down gracefully and waits until it has stopped.
    func stop() async throws {
        await daemon.shutdown()
        try await task.value
    }

    /// The Prometheus text of the daemon's metrics.
    var metricsText: String {
        String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self)
    }

    /// The value of one sample line of the metrics text (`name{labels}`), 0 when absent.
    func metric(_ sample: String) -> Double {
        for line in metricsText.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1)) ?? .nan
        }
        return 0
    }
}

/// The test side of the sockets: a `PUSH` feeding the input, `SUB`s on the output, a `REQ` on
/// the control endpoint. Receives poll without blocking a concurrency thread.
struct Peers {
    let zmq: ZMQContext

    init() throws {
        zmq = try ZMQContext()
    }

    func pusher(to endpoint: String) throws -> ZMQSocket {
        let socket = try ZMQSocket(context: zmq, type: .push)
        try socket.set(.sendTimeout(milliseconds: 5_000))
        try socket.connect(endpoint)
        return socket
    }

    /// A subscriber to `prefixes` on `endpoint`, returned once its connection is up.
    func subscriber(to endpoint: String, prefixes: [String] = ["clusters."]) async throws -> ZMQSocket {
        try await connectedSubscriber(zmq, to: endpoint, prefixes: prefixes)
    }

    func requester(to endpoint: String) throws -> ZMQSocket {
        let socket = try ZMQSocket(context: zmq, type: .req)
        try socket.connect(endpoint)
        return socket
    }
}

/// A `SUB` socket on `endpoint` subscribed to `prefixes`, returned once its TCP connection is up.
///
/// No fixed wait: the subscriptions follow the handshake on that connection, and one that
/// reaches the daemon after a cluster update went out has the latest update re-sent to it
/// (`DaemonPublisher`), so ``nextUpdate(_:within:)`` sees that update either way.
func connectedSubscriber(_ zmq: ZMQContext, to endpoint: String, prefixes: [String]) async throws -> ZMQSocket {
    let port = try LoopbackPorts.port(ofEndpoint: endpoint)
    let connected = LoopbackPorts.establishedConnections(toPort: port)
    let socket = try ZMQSocket(context: zmq, type: .sub)
    for prefix in prefixes {
        try socket.set(.subscribe(Array(prefix.utf8)))
    }
    try socket.connect(endpoint)
    guard try await eventually({ LoopbackPorts.establishedConnections(toPort: port) > connected }) else {
        throw TestFailure("no connection to \(endpoint) within 20 s")
    }
    return socket
}

/// The next message on `socket` within `limit`, or `nil`.
func receive(_ socket: ZMQSocket, within limit: Duration = .seconds(20)) async throws -> ZMQMessage? {
    try await firstResult(within: limit) { try socket.receive(flags: .dontWait) }
}

/// The next cluster update on `subscriber`, decoded.
func nextUpdate(_ subscriber: ZMQSocket, within limit: Duration = .seconds(20)) async throws -> (
    sequence: UInt64, update: ClusterUpdate
) {
    let message = try #require(try await receive(subscriber, within: limit), "no update arrived")
    let envelope = try UpdateEnvelope.decode(frames: message.frames)
    guard case .clusters(let update) = envelope.message else {
        Issue.record("expected a cluster update, got \(envelope.message)")
        throw DaemonTestError.unexpected
    }
    #expect(envelope.topic == "clusters.mmcd")
    return (envelope.sequence, update)
}

/// Sends `request` on a `REQ` socket and decodes the reply.
func ask(_ requester: ZMQSocket, _ request: Request) async throws -> Reply {
    try #require(try requester.send(ZMQMessage([request.encoded()])))
    let message = try #require(try await receive(requester), "no reply")
    return try Reply.decode(message.frames[0])
}

/// The `stats` reply's figures.
func stats(_ requester: ZMQSocket) async throws -> DaemonStats {
    guard case .stats(let stats) = try await ask(requester, .stats) else {
        throw DaemonTestError.unexpected
    }
    return stats
}

enum DaemonTestError: Error {
    case unexpected
}

/// Points in two well separated Gaussian blobs (standard deviation 1) around (0, 0) and
/// (100, 50), alternating, ids from `firstID`.
func blobs(count: Int, firstID: UInt64, seed: UInt64) throws -> PointBatch {
    var generator = SeededGenerator(seed: seed)
    var values: [Double] = []
    for index in 0..<count {
        let (x, y) = index.isMultiple(of: 2) ? (0.0, 0.0) : (100.0, 50.0)
        let radius = (-2 * log(max(generator.nextDouble(), 1e-12))).squareRoot()
        let angle = 2 * Double.pi * generator.nextDouble()
        values += [x + radius * cos(angle), y + radius * sin(angle)]
    }
    let ids = (0..<UInt64(count)).map { firstID + $0 }
    return try PointBatch(dimension: 2, ids: ids, timestamps: ids.map { Double($0) }, values: values)
}

/// A points message: topic frame and binary payload.
func pointsMessage(_ batch: PointBatch, topic: String = "points.test") -> ZMQMessage {
    ZMQMessage([Array(topic.utf8), batch.encodedBinary()])
}

@Suite(.serialized, .tags(.endToEnd)) struct DaemonRuntimeEndToEndTests {
    @Test func feedingBatchesGrowsTheWindowAndPublishesNumberedUpdates() async throws {
        let running = try RunningDaemon()
        let peers = try Peers()
        let subscriber = try await peers.subscriber(to: running.daemon.endpoints.output)
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))

        var updates: [(sequence: UInt64, update: ClusterUpdate)] = []
        // The same 400 readings each round (new ids), a replayed batch: the window of the same
        // positions two and three times over clusters like the readings once (algorithm.md,
        // "Repeated readings").
        for round in 0..<3 {
            try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: UInt64(round) * 400, seed: 1))))
            updates.append(try await nextUpdate(subscriber))
        }
        #expect(updates.map(\.sequence) == [0, 1, 2])
        #expect(updates.map(\.update.modelVersion) == [1, 2, 3])
        #expect(updates.map(\.update.windowSize) == [400, 800, 1_200])
        #expect(updates[0].update.assignments?.mode == .full)
        #expect(updates[0].update.assignments?.ids.count == 400)
        // Later updates are diffs against the previous one: at least the 400 new points.
        #expect(updates[2].update.assignments?.mode == .diff(baseVersion: 2))
        #expect((updates[2].update.assignments?.ids.count ?? 0) >= 400)
        #expect(Set(updates[2].update.clusters.map(\.id)).count == 2)
        // Centroids are in the points' own units, not the [0, 1] scaling.
        let centroids = updates[2].update.clusters.map(\.centroid).sorted { $0[0] < $1[0] }
        #expect(abs(centroids[0][0]) < 0.5 && abs(centroids[1][0] - 100) < 0.5)

        let figures = try await stats(requester)
        #expect(figures.windowSize == 1_200)
        #expect(figures.pointsReceived == 1_200)
        #expect(figures.modelVersion == 3)
        #expect(running.metric("mmcd_updates_published_total{kind=\"full\"}") == 1)
        #expect(running.metric("mmcd_updates_published_total{kind=\"diff\"}") == 2)
        #expect(running.metric("mmcd_window_points") == 1_200)
        try await running.stop()
    }

    @Test func subscribedInputAndProvisionalAssignments() async throws {
        let running = try RunningDaemon(overrides: ["input.socket=sub", "input.topics=points."])
        let peers = try Peers()
        // Cluster updates too: the first one to arrive proves the earlier `assign.` subscription
        // has reached the daemon (subscriptions on one connection are applied in order).
        let assignments = try await peers.subscriber(
            to: running.daemon.endpoints.output, prefixes: ["assign.", "clusters."])
        let publisher = try ZMQSocket(context: peers.zmq, type: .pub)
        try publisher.connect(running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        // The slow-joiner handshake: single points until the daemon's window holds one.
        var probeID: UInt64 = 1_000_000
        #expect(try await eventually(polling: .milliseconds(20)) {
            let probe = try PointBatch(dimension: 2, ids: [probeID], timestamps: [0], values: [0.5, 0.5])
            _ = try publisher.send(pointsMessage(probe, topic: "points.probe"))
            probeID += 1
            return try await stats(requester).windowSize > 0
        })
        let accepted = try await stats(requester).windowSize
        // Another topic is not subscribed, so it never arrives.
        _ = try publisher.send(pointsMessage(try blobs(count: 10, firstID: 0, seed: 2), topic: "other"))
        _ = try publisher.send(pointsMessage(try blobs(count: 400, firstID: 0, seed: 2), topic: "points.a"))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).modelVersion == 1 })
        #expect(try await stats(requester).windowSize == accepted + 400)
        _ = try await nextUpdate(assignments)

        // With a model, each batch is answered with provisional labels of its points.
        let batch = try blobs(count: 6, firstID: 5_000, seed: 3)
        _ = try publisher.send(pointsMessage(batch, topic: "points.a"))
        let message = try #require(try await receive(assignments))
        let envelope = try UpdateEnvelope.decode(frames: message.frames)
        #expect(envelope.topic == "assign.mmcd")
        #expect(envelope.sequence == 0)
        guard case .provisional(let provisional) = envelope.message else {
            Issue.record("expected provisional assignments")
            return
        }
        #expect(provisional.ids == batch.ids)
        #expect(provisional.modelVersion == 1)
        #expect(provisional.clusters.allSatisfy { $0 >= 0 })
        try await running.stop()
    }

    @Test func lateSubscriberGetsTheLatestFullUpdate() async throws {
        let running = try RunningDaemon()
        let peers = try Peers()
        let early = try await peers.subscriber(to: running.daemon.endpoints.output)
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: 0, seed: 4))))
        _ = try await nextUpdate(early)
        try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: 400, seed: 5))))
        let last = try await nextUpdate(early)
        #expect(last.update.assignments?.mode == .diff(baseVersion: 1))

        let late = try await peers.subscriber(to: running.daemon.endpoints.output)
        let cached = try await nextUpdate(late)
        #expect(cached.sequence == last.sequence)
        #expect(cached.update.modelVersion == last.update.modelVersion)
        #expect(cached.update.assignments?.mode == .full)
        #expect(cached.update.assignments?.ids.count == 800)
        #expect(running.metric("mmcd_updates_published_total{kind=\"snapshot\"}") >= 1)
        try await running.stop()
    }

    @Test func badMessagesAreCountedByReasonAndTheNextGoodOneApplies() async throws {
        let running = try RunningDaemon(overrides: ["input.topics=points."])
        let peers = try Peers()
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        let wrongDimension = try PointBatch(dimension: 3, ids: [1], timestamps: [0], values: [1, 2, 3])
        let bad: [ZMQMessage] = [
            ZMQMessage([Array("points.x".utf8), Array("hello".utf8)]),
            ZMQMessage([Array("points.x".utf8), wrongDimension.encodedBinary()]),
            ZMQMessage([Array("points.x".utf8)]),
            ZMQMessage([Array("points.x".utf8), Array(#"{"id":1,"t":0,"v":[1,2]"#.utf8)]),
            pointsMessage(try blobs(count: 5, firstID: 0, seed: 6), topic: "elsewhere"),
        ]
        for message in bad {
            try #require(try pusher.send(message))
        }
        try #require(try pusher.send(pointsMessage(try blobs(count: 50, firstID: 100, seed: 6), topic: "points.x")))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).windowSize == 50 })
        let figures = try await stats(requester)
        // Points as the payloads declare them: 1 of the wrong dimension, 5 on the wrong topic; the
        // other three payloads are too malformed to tell.
        #expect(figures.pointsRejected == 6)
        #expect(running.metric("mmcd_points_rejected_total") == 6)
        #expect(figures.pointsReceived == 50)
        for reason in ["bad_magic", "dimension_mismatch", "invalid_frame", "truncated", "topic"] {
            #expect(running.metric("mmcd_messages_rejected_total{reason=\"\(reason)\"}") == 1, "\(reason)")
        }
        try await running.stop()
    }

    @Test func classifyAnswersWithoutChangingTheWindow() async throws {
        let running = try RunningDaemon()
        let peers = try Peers()
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        let query = Request.classify(try ClassifyQuery(dimension: 2, values: [0, 0, 100, 50, 5_000, 5_000]))
        guard case .failure(let early) = try await ask(requester, query) else {
            Issue.record("classify before the first re-clustering must fail")
            return
        }
        #expect(early.code == .notReady)
        guard case .failure(let noSnapshot) = try await ask(requester, .snapshot) else {
            Issue.record("snapshot before the first re-clustering must fail")
            return
        }
        #expect(noSnapshot.code == .notReady)

        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: 0, seed: 7))))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).modelVersion == 1 })
        guard case .classification(let result) = try await ask(requester, query) else {
            Issue.record("classify must answer once a model exists")
            return
        }
        #expect(result.modelVersion == 1)
        #expect(result.clusters.count == 3)
        #expect(result.clusters[0] >= 0 && result.clusters[1] >= 0 && result.clusters[0] != result.clusters[1])
        #expect(result.clusters[2] == -1 && result.confidence[2] == 0)
        #expect(result.confidence[0] > 0.5)
        #expect(try await stats(requester).windowSize == 400)

        guard case .snapshot(let snapshot) = try await ask(requester, .snapshot) else {
            Issue.record("snapshot must answer once a model exists")
            return
        }
        #expect(snapshot.modelVersion == 1 && snapshot.assignments?.ids.count == 400)
        guard case .failure(let wrong) = try await ask(requester, .classify(try ClassifyQuery(dimension: 3, values: [1, 2, 3])))
        else {
            Issue.record("a query of another dimension must fail")
            return
        }
        #expect(wrong.code == .wire(.dimensionMismatch))
        try await running.stop()
    }

    @Test func reloadAppliesTheScheduleAndReportsRestartKeys() async throws {
        let running = try RunningDaemon(file: "[schedule]\nevery_points = 100000\n[window]\nsize = 2000\n")
        let peers = try Peers()
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        try #require(try pusher.send(pointsMessage(try blobs(count: 300, firstID: 0, seed: 8))))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).windowSize == 300 })
        // Time for a re-clustering the schedule must not start: an absence has no event to await.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await stats(requester).modelVersion == 0)

        // An invalid file changes nothing.
        try "[schedule]\nevery_points = -1\n".write(toFile: running.configurationPath, atomically: true, encoding: .utf8)
        let refused = await running.daemon.reload()
        #expect(refused.issues.map(\.key) == ["schedule.every_points"])
        #expect(refused.applied.isEmpty)

        let changed = """
            [schedule]
            every_points = 200
            [window]
            size = 3000
            [output]
            full_every = 2
            [log]
            level = "debug"
            """
        try changed.write(toFile: running.configurationPath, atomically: true, encoding: .utf8)
        let report = await running.daemon.reload()
        #expect(report.issues.isEmpty)
        #expect(report.applied == ["schedule.every_points", "output.full_every", "log.level"])
        #expect(report.requiresRestart == ["window.size"])

        // The new count trigger fires; the window keeps the size it started with.
        try #require(try pusher.send(pointsMessage(try blobs(count: 200, firstID: 300, seed: 9))))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).modelVersion == 1 })
        #expect(try await stats(requester).windowCapacity == 2_000)
        try await running.stop()
    }

    @Test func aSnapshotWrittenAtShutdownRestoresTheWindowAndContinuesIds() async throws {
        let first = try RunningDaemon()
        let peers = try Peers()
        var subscriber = try await peers.subscriber(to: first.daemon.endpoints.output)
        var pusher = try peers.pusher(to: first.daemon.endpoints.input[0])
        try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: 0, seed: 10))))
        let before = try await nextUpdate(subscriber)
        let idsBefore = Set(before.update.clusters.map(\.id))
        #expect(idsBefore.count == 2)
        try await first.stop()
        #expect(first.metric("mmcd_snapshot_writes_total{result=\"ok\"}") == 1)
        #expect(FileManager.default.fileExists(atPath: first.stateDirectory + "/state.bin"))

        // A count trigger above the restored window: the restore alone starts a re-clustering.
        let second = try RunningDaemon(file: "[schedule]\nevery_points = 800\n", stateDirectory: first.stateDirectory)
        #expect(second.metric("mmcd_state_restores_total{result=\"restored\"}") == 1)
        subscriber = try await peers.subscriber(to: second.daemon.endpoints.output)
        // The restored window is re-clustered at once; its clusters keep their ids.
        let after = try await nextUpdate(subscriber)
        #expect(after.update.windowSize == 400)
        #expect(after.update.modelVersion == before.update.modelVersion + 1)
        #expect(after.sequence == before.sequence + 1)
        #expect(Set(after.update.clusters.map(\.id)) == idsBefore)
        #expect(after.update.events.isEmpty)
        #expect(after.update.assignments?.mode == .full)

        // New points keep going into the restored window.
        pusher = try peers.pusher(to: second.daemon.endpoints.input[0])
        try #require(try pusher.send(pointsMessage(try blobs(count: 800, firstID: 400, seed: 11))))
        let next = try await nextUpdate(subscriber)
        #expect(next.update.windowSize == 1_200)
        #expect(Set(next.update.clusters.map(\.id)) == idsBefore)
        try await second.stop()
    }

    @Test func aCorruptSnapshotIsMovedAsideAndTheDaemonStartsEmpty() async throws {
        let directory = try TemporaryDirectory()
        let folder = directory.path
        try Data("not a state file".utf8).write(to: URL(fileURLWithPath: folder + "/state.bin"))
        let running = try RunningDaemon(stateDirectory: folder)
        #expect(running.metric("mmcd_state_restores_total{result=\"discarded\"}") == 1)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(files.contains { $0.hasPrefix("state.bin.corrupt-") })
        let peers = try Peers()
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        #expect(try await stats(requester).windowSize == 0)
        try await running.stop()
    }

    @Test func aFailedSnapshotWriteIsCountedAndTheDaemonKeepsServing() async throws {
        let directory = try TemporaryDirectory()
        let folder = directory.path
        // A regular file where a directory is needed: mkdir fails (ENOTDIR), even for root.
        try Data().write(to: URL(fileURLWithPath: folder + "/file"))
        let running = try RunningDaemon(
            overrides: ["state.snapshot_interval_seconds=1"], stateDirectory: folder + "/file/state")
        let peers = try Peers()
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        #expect(try await eventually(within: .seconds(10), polling: .milliseconds(20)) {
            running.metric("mmcd_snapshot_writes_total{result=\"error\"}") >= 1
        })
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        try #require(try pusher.send(pointsMessage(try blobs(count: 10, firstID: 0, seed: 12))))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).windowSize == 10 })
        try await running.stop()
        #expect(running.metric("mmcd_snapshot_writes_total{result=\"ok\"}") == 0)
    }

    @Test(.tags(.systemd)) func systemdHearsReadyStatusWatchdogReloadAndStopping() async throws {
        let listener = try NotifySocket(abstract: true)
        let notifier = SystemdNotifier(
            environment: ["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "300000"], processID: getpid())
        let running = try RunningDaemon(notifier: notifier)
        var received: [String] = []
        #expect(try await eventually(polling: .milliseconds(20)) {
            received += listener.drain()
            return received.contains { $0.hasPrefix("READY=1") } && received.contains("WATCHDOG=1")
        })
        let peers = try Peers()
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: 0, seed: 13))))
        #expect(try await eventually(polling: .milliseconds(20)) {
            received += listener.drain()
            return received.contains { $0.hasPrefix("STATUS=window 400 points, 2 clusters, last re-clustering ") }
        })
        await running.daemon.reload()
        try await running.stop()
        received += listener.drain()
        let reloading = try #require(received.firstIndex { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") })
        #expect(received[(reloading + 1)...].contains { $0.hasPrefix("READY=1\nSTATUS=configuration reloaded") })
        #expect(received.contains { $0.hasPrefix("STOPPING=1") })
        // The first message is READY=1: nothing is announced before the sockets are bound.
        #expect(received.first?.hasPrefix("READY=1") == true)
    }

    @Test func aReclusteringOverItsTimeBudgetIsAbandonedAndCounted() async throws {
        let running = try RunningDaemon(overrides: ["schedule.time_budget_seconds=0.000001"])
        let peers = try Peers()
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        try #require(try pusher.send(pointsMessage(try blobs(count: 400, firstID: 0, seed: 14))))
        #expect(try await eventually(polling: .milliseconds(20)) { running.metric("mmcd_recluster_abandoned_total") == 1 })
        let figures = try await stats(requester)
        #expect(figures.modelVersion == 0 && figures.reclusterCount == 0)
        #expect(running.metric("mmcd_updates_published_total{kind=\"full\"}") == 0)
        try await running.stop()
    }

    @Test func aTimeWindowDropsPointsOlderThanItsHorizon() async throws {
        let running = try RunningDaemon(overrides: [
            "window.size=0", "window.max_age_seconds=10", "window.max_points=1000", "forest.sample_size=64",
        ])
        let peers = try Peers()
        let pusher = try peers.pusher(to: running.daemon.endpoints.input[0])
        let requester = try peers.requester(to: try #require(running.daemon.endpoints.control))
        let recent = try PointBatch(dimension: 2, ids: [1, 2, 3], timestamps: [100, 101, 102], values: [0, 0, 1, 1, 2, 2])
        let stale = try PointBatch(dimension: 2, ids: [4, 5], timestamps: [50, 103], values: [3, 3, 4, 4])
        try #require(try pusher.send(pointsMessage(recent)))
        try #require(try pusher.send(pointsMessage(stale)))
        #expect(try await eventually(polling: .milliseconds(20)) { try await stats(requester).windowSize == 4 })
        let figures = try await stats(requester)
        #expect(figures.windowCapacity == 1_000)
        #expect(figures.pointsReceived == 4 && figures.pointsDropped == 1)
        #expect(running.metric("mmcd_points_dropped_total{reason=\"too_old\"}") == 1)
        try await running.stop()
    }

    @Test func curveAdmitsOnlyListedClients() async throws {
        let directory = try TemporaryDirectory()
        let folder = directory.path
        let server = try CurveKeyPair.generate()
        let allowed = try CurveKeyPair.generate()
        let stranger = try CurveKeyPair.generate()
        try "# server secret\n\(server.secretKey.z85)\n".write(
            toFile: folder + "/server.key", atomically: true, encoding: .utf8)
        try "\(allowed.publicKey.z85)\n".write(toFile: folder + "/clients", atomically: true, encoding: .utf8)
        let running = try RunningDaemon(overrides: [
            "security.curve_secret_key_file=\(folder)/server.key",
            "security.curve_authorized_keys_file=\(folder)/clients",
        ])
        let peers = try Peers()
        func client(_ keys: CurveKeyPair) throws -> ZMQSocket {
            let socket = try ZMQSocket(context: peers.zmq, type: .req)
            try socket.set(.curveServerKey(server.publicKey))
            try socket.set(.curvePublicKey(keys.publicKey))
            try socket.set(.curveSecretKey(keys.secretKey))
            try socket.connect(try #require(running.daemon.endpoints.control))
            return socket
        }
        let admitted = try client(allowed)
        #expect(try await stats(admitted).windowSize == 0)
        let refused = try client(stranger)
        try #require(try refused.send(ZMQMessage([Request.stats.encoded()]), flags: .dontWait))
        #expect(try await receive(refused, within: .seconds(1)) == nil)
        // A client without CURVE gets nowhere either.
        let plain = try peers.requester(to: try #require(running.daemon.endpoints.control))
        try #require(try plain.send(ZMQMessage([Request.stats.encoded()]), flags: .dontWait))
        #expect(try await receive(plain, within: .seconds(1)) == nil)
        try await running.stop()
    }

    @Test func anOccupiedEndpointFailsTheStartNamingTheKey() throws {
        let peers = try Peers()
        let blocker = try ZMQSocket(context: peers.zmq, type: .pull)
        try blocker.bind("tcp://127.0.0.1:*")
        let taken = try blocker.lastEndpoint
        let error = #expect(throws: DaemonError.self) {
            _ = try RunningDaemon(overrides: ["output.endpoint=\(taken)"])
        }
        #expect(error?.description.contains("output.endpoint = \(taken)") == true)
    }
}

extension NotifySocket {
    /// The datagrams waiting, without blocking.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard count >= 0 else { return messages }
            messages.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
    }
}
