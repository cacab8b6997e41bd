import Foundation
import Glibc
import MMCTestSupport
import MMCWire
import Testing
import ZeroMQ

/// One bad point, client or configuration against `mmcd` as a process on loopback: each test
/// re-runs an attack of docs/reliability.md ("Hostile inputs") and checks the rule that stops it.
@Suite(.serialized, .tags(.endToEnd)) struct HardeningEndToEndTests {
    /// `count` points of dimension 2 stamped `timestamp`, ids from `firstID`.
    private static func batch(count: Int, firstID: UInt64, timestamp: Double) throws -> PointBatch {
        try PointBatch(
            dimension: 2, ids: (0..<UInt64(count)).map { firstID + $0 },
            timestamps: [Double](repeating: timestamp, count: count),
            values: (0..<count).flatMap { [Double($0 % 7), Double($0 % 5)] })
    }

    /// A daemon with a time-only window and its HTTP port, from the workspace's configuration.
    private static func startDaemon(
        _ workspace: EndToEndWorkspace, _ overrides: [String] = []
    ) throws -> (daemon: ChildProcess, http: Int) {
        try workspace.writeConfiguration(EndToEndSettings())
        let http = try LoopbackPorts.free(1)[0]
        let daemon = try workspace.startDaemon(overrides: ["http.port=\(http)"] + overrides)
        return (daemon, http)
    }

    @Test func aFutureStampedPointOrABurstOfThemNeitherEmptiesATimeWindowNorRefusesGoodPoints() async throws {
        let workspace = try EndToEndWorkspace()
        // The repro's proportions (a point stamped further ahead than the window's age, within
        // input.max_future_seconds), scaled up so that a slow machine does not age the points.
        let (daemon, http) = try Self.startDaemon(
            workspace, [
                "window.size=0", "window.max_age_seconds=3600", "window.max_points=100000",
                "input.max_future_seconds=7200",
            ])
        let peers = try Peers()
        let pusher = try peers.pusher(to: workspace.inputEndpoint)
        let now = Date().timeIntervalSince1970
        try #require(try pusher.send(pointsMessage(try Self.batch(count: 2_000, firstID: 0, timestamp: now))))
        #expect(try await eventually(within: .seconds(60), polling: .milliseconds(50)) {
            try await workspace.stats().windowSize == 2_000
        }, "mmcd: \(daemon.standardError)")
        // Within input.max_future_seconds: taken, but the window's clock stays at the daemon's.
        // One point, then a burst, then three beyond the bound (refused, counted).
        try #require(try pusher.send(pointsMessage(try Self.batch(count: 1, firstID: 10_000, timestamp: now + 5_000))))
        try #require(try pusher.send(pointsMessage(try Self.batch(count: 500, firstID: 20_000, timestamp: now + 5_000))))
        try #require(try pusher.send(pointsMessage(try Self.batch(count: 3, firstID: 30_000, timestamp: now + 10_000))))
        let later = Date().timeIntervalSince1970
        try #require(try pusher.send(pointsMessage(try Self.batch(count: 2_000, firstID: 40_000, timestamp: later))))
        _ = try await eventually(within: .seconds(60), polling: .milliseconds(50)) { try await workspace.stats().windowSize == 4_501 }
        let stats = try await workspace.stats()
        #expect(stats.windowSize == 4_501)
        #expect(stats.pointsDropped == 0 && stats.pointsRejected == 3)
        #expect(try await EndToEndWorkspace.metric("mmcd_points_future_timestamp_total", port: http) == 3)
        #expect(try await EndToEndWorkspace.metric("mmcd_points_dropped_total{reason=\"too_old\"}", port: http) == 0)
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aHeaderDeclaringFourBillionPointsAddsAtMostMaxBatchPointsToTheRejectedCounter() async throws {
        let workspace = try EndToEndWorkspace()
        let (daemon, http) = try Self.startDaemon(workspace, ["input.max_batch_points=1000"])
        let peers = try Peers()
        let pusher = try peers.pusher(to: workspace.inputEndpoint)
        // "MMCB", version 1, kind 1, no flags, dimension 2, count 0xFFFFFFFF, and nothing else.
        let header: [UInt8] = Array("MMCB".utf8) + [1, 1, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        for _ in 0..<3 {
            try #require(try pusher.send(ZMQMessage([Array("points.test".utf8), header])))
        }
        try #require(try pusher.send(pointsMessage(try Self.batch(count: 10, firstID: 0, timestamp: 1))))
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().windowSize == 10 },
            "mmcd: \(daemon.standardError)")
        #expect(try await EndToEndWorkspace.metric("mmcd_messages_rejected_total", port: http) == 3)
        #expect(try await EndToEndWorkspace.metric("mmcd_points_rejected_total", port: http) == 3_000)
        #expect(try await workspace.stats().pointsRejected == 3_000)
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aSecondDaemonOnTheSameStateDirectoryRefusesToStartAndTheLockGoesWithTheFirst() async throws {
        let workspace = try EndToEndWorkspace()
        let (first, _) = try Self.startDaemon(workspace)
        _ = try await workspace.stats()
        func otherEndpoints() throws -> [String] {
            let ports = try LoopbackPorts.free(4)
            return [
                "input.bind=[\"tcp://127.0.0.1:\(ports[0])\"]", "output.endpoint=tcp://127.0.0.1:\(ports[1])",
                "control.endpoint=tcp://127.0.0.1:\(ports[2])", "http.port=\(ports[3])",
            ]
        }
        let second = try await workspace.run("mmcd", ["--config", workspace.configurationPath]
            + (try otherEndpoints()).flatMap { ["--set", $0] })
        #expect(second.exit == .exited(1))
        #expect(second.error.contains("is locked by another process"), "\(second.error)")
        #expect(first.isRunning)
        #expect(try await first.terminate() == .exited(0))
        let third = try workspace.startDaemon(overrides: try otherEndpoints())
        #expect(try await eventually(polling: .milliseconds(50)) { third.standardError.contains("ready") }, "\(third.standardError)")
        #expect(try await third.terminate() == .exited(0))
    }

    @Test func aStateDirectoryThatIsARegularFileFailsCheckConfigAndTheHealthCheck() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.write("not a directory\n", to: workspace.stateDirectory)
        try workspace.writeConfiguration(EndToEndSettings())
        let check = try await workspace.run("mmcd", ["--config", workspace.configurationPath, "--check-config"])
        #expect(check.exit == .exited(1))
        #expect(check.error.contains("is not a directory"), "\(check.error)")
        let (daemon, http) = try Self.startDaemon(workspace)
        // `starting` until READY=1, then `failing`, never `ok`.
        #expect(try await eventually(polling: .milliseconds(50)) {
            guard LoopbackPorts.acceptsConnections(port: http) else { return false }
            return try await httpGet(port: http, path: "/healthz").body.contains("\"status\":\"failing\"")
        }, "mmcd: \(daemon.standardError)")
        let health = try await httpGet(port: http, path: "/healthz")
        #expect(health.status == 503)
        #expect(health.body.contains("\"status\":\"failing\"") && health.body.contains("is not a directory"), "\(health.body)")
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func curveWithoutAnAllowListOnAReachableEndpointAndAPublicKeyAsTheSecretKeyAreRefused() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        let keygen = try await workspace.run("mmc", ["keygen", "--out", workspace.directory + "/server"])
        try #require(keygen.exit == .exited(0), "\(keygen.error)")
        let port = try LoopbackPorts.free(1)[0]
        let open = [
            "security.curve_secret_key_file=\(workspace.directory)/server.key",
            "input.bind=[\"tcp://0.0.0.0:\(port)\"]",
        ]
        func mmcd(_ overrides: [String], check: Bool) async throws -> (exit: ProcessExit, error: String) {
            let run = try await workspace.run(
                "mmcd", ["--config", workspace.configurationPath] + (check ? ["--check-config"] : [])
                    + overrides.flatMap { ["--set", $0] })
            return (run.exit, run.error)
        }
        for check in [true, false] {
            let refused = try await mmcd(open, check: check)
            #expect(refused.exit == .exited(1))
            #expect(refused.error.contains("security.allow_any_client = true"), "\(refused.error)")
        }
        let allowed = try await mmcd(open + ["security.allow_any_client=true"], check: true)
        #expect(allowed.exit == .exited(0), "\(allowed.error)")

        // The public key file, by its name or (renamed) by its comment.
        let named = try await mmcd(["security.curve_secret_key_file=\(workspace.directory)/server.pub"], check: true)
        #expect(named.exit == .exited(1) && named.error.contains("is a public key file"), "\(named.error)")
        try FileManager.default.copyItem(atPath: workspace.directory + "/server.pub", toPath: workspace.directory + "/copy.key")
        let renamed = ["security.curve_secret_key_file=\(workspace.directory)/copy.key"]
        for check in [true, false] {
            let refused = try await mmcd(renamed, check: check)
            #expect(refused.exit == .exited(1) && refused.error.contains("holds a public key"), "\(refused.error)")
        }
    }

    /// A `DEALER` on the control endpoint that keeps at most `receiveHighWaterMark` replies.
    private static func dealer(_ peers: Peers, _ workspace: EndToEndWorkspace, receiveHighWaterMark: Int = 1_000) throws -> ZMQSocket {
        let socket = try ZMQSocket(context: peers.zmq, type: .dealer)
        try socket.set(.receiveHighWaterMark(receiveHighWaterMark))
        try socket.set(.sendHighWaterMark(0))
        try socket.connect(workspace.controlEndpoint)
        return socket
    }

    /// Sends `count` copies of `request` on `socket` with an empty delimiter frame, each waiting
    /// for room.
    private static func pipeline(_ request: Request, count: Int, on socket: ZMQSocket) throws {
        let message = ZMQMessage([[], request.encoded()])
        for _ in 0..<count {
            try #require(try socket.send(message))
        }
    }

    @Test func pipelinedControlRequestsFromOneOrEightClientsAreEachAnsweredOrCounted() async throws {
        let workspace = try EndToEndWorkspace()
        let (daemon, http) = try Self.startDaemon(workspace)
        _ = try await workspace.stats()
        let peers = try Peers()
        let clients = try (0..<9).map { _ in try Self.dealer(peers, workspace) }
        try Self.pipeline(.stats, count: 5_000, on: clients[0])
        for client in clients.dropFirst() {
            try Self.pipeline(.stats, count: 2_000, on: client)
        }
        var answered = 0
        var dropped = 0.0
        _ = try await eventually(within: .seconds(60), polling: .milliseconds(20)) {
            var any = false
            for client in clients {
                while let reply = try client.receive(flags: .dontWait) {
                    #expect(reply.frames.count == 2)
                    answered += 1
                    any = true
                }
            }
            if !any {
                dropped = try await EndToEndWorkspace.metric("mmcd_control_replies_dropped_total", port: http)
            }
            return Double(answered) + dropped >= 21_000
        }
        #expect(Double(answered) + dropped == 21_000, "answered \(answered), dropped \(dropped)")
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aControlClientThatSendsSnapshotRequestsAndNeverReadsPinsLittleMemory() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings(windowSize: 20_000))
        let http = try LoopbackPorts.free(1)[0]
        let daemon = try workspace.startDaemon(overrides: ["http.port=\(http)"])
        let feed = try await workspace.run(
            "mmc", ["feed", "--generate", "drift", "--seed", "3", "--endpoint", workspace.inputEndpoint,
                    "--socket", "push", "--count", "20000"], within: .seconds(60))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        #expect(try await eventually(within: .seconds(120), polling: .milliseconds(50)) {
            try await workspace.snapshot()?.windowSize == 20_000
        })
        let before = try #require(EndToEndWorkspace.residentMiB(daemon))
        let peers = try Peers()
        // Keeps one reply, and reads none.
        let silent = try Self.dealer(peers, workspace, receiveHighWaterMark: 1)
        try Self.pipeline(.snapshot, count: 1_000, on: silent)
        // Before the fix the daemon queued all 1,000 replies (about 320 KiB each) for it.
        #expect(try await eventually(within: .seconds(120), polling: .milliseconds(50)) {
            try await EndToEndWorkspace.metric("mmcd_control_replies_dropped_total", port: http) >= 900
        }, "mmcd: \(daemon.standardError)")
        let after = try #require(EndToEndWorkspace.residentMiB(daemon))
        #expect(after - before < 100, "RSS \(before) -> \(after) MiB")
        // Other clients are still served.
        #expect(try await workspace.stats().windowSize == 20_000)
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aSubscribeStormCostsAtMostOneSnapshotResendASecond() async throws {
        let workspace = try EndToEndWorkspace()
        let (daemon, http) = try Self.startDaemon(workspace)
        let feed = try await workspace.run(
            "mmc", ["feed", "--generate", "drift", "--seed", "3", "--endpoint", workspace.inputEndpoint,
                    "--socket", "push", "--count", "3000"])
        #expect(feed.exit == .exited(0), "\(feed.error)")
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.snapshot()?.windowSize == 3_000 })
        let innocent = try await workspace.clusterSubscriber()
        _ = try await workspace.nextClusterUpdate(on: innocent)
        let before = try #require(EndToEndWorkspace.residentMiB(daemon))
        let resent = try await EndToEndWorkspace.metric("mmcd_updates_published_total{kind=\"snapshot\"}", port: http)

        let peers = try Peers()
        let storm = try ZMQSocket(context: peers.zmq, type: .xsub)
        try storm.set(.sendHighWaterMark(0))
        try storm.connect(workspace.outputEndpoint)
        let started = ContinuousClock.now
        let subscribe = ZMQSubscriptionEvent(kind: .subscribe, topic: Array("clusters.".utf8)).message
        for _ in 0..<20_000 {
            try #require(try storm.send(subscribe))
        }
        // Every subscription has reached the daemon once a later subscriber gets its snapshot.
        let witness = try await workspace.clusterSubscriber()
        _ = try await workspace.nextClusterUpdate(on: witness)
        // Two re-send spacings in which deferred re-sends may still go out: the bound below is
        // on how many, so it needs the time they could take (an absence has no event to await).
        try await Task.sleep(for: .seconds(2))
        let seconds = Double((ContinuousClock.now - started).components.seconds) + 1
        let resends = try await EndToEndWorkspace.metric("mmcd_updates_published_total{kind=\"snapshot\"}", port: http) - resent
        #expect(resends <= seconds + 2 && resends <= 50, "\(resends) re-sends in \(seconds) s")
        let after = try #require(EndToEndWorkspace.residentMiB(daemon))
        #expect(after - before < 100, "RSS \(before) -> \(after) MiB")
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func aForeignHostGets421AndTheLivePageIsOffAwayFromLoopbackUnlessAllowed() async throws {
        let workspace = try EndToEndWorkspace()
        let (daemon, http) = try Self.startDaemon(workspace, ["http.allowed_hosts=[\"mmcd.example\"]"])
        _ = try await workspace.stats()
        _ = try await eventually(polling: .milliseconds(50)) { LoopbackPorts.acceptsConnections(port: http) }
        for host in ["rebind.attacker.example", "rebind.attacker.example:\(http)", "127.0.0.1.nip.io"] {
            for path in ["/healthz", "/live/summary.json", "/live/plot.svg", "/metrics"] {
                let response = try await httpGet(port: http, path: path, host: host)
                #expect(response.status == 421, "\(host) \(path): \(response.status)")
            }
        }
        for host in ["127.0.0.1:\(http)", "localhost:\(http)", "LOCALHOST", "[::1]:\(http)", "mmcd.example:\(http)"] {
            #expect(try await httpGet(port: http, path: "/live/summary.json", host: host).status == 200, "\(host)")
        }
        #expect(try await daemon.terminate() == .exited(0))

        // Away from loopback the page is off (and --check-config says so) unless allowed.
        let check = try await workspace.run(
            "mmcd", [
                "--config", workspace.configurationPath, "--check-config", "--set", "http.address=0.0.0.0",
                "--set", "http.port=\(http)",
            ])
        #expect(check.exit == .exited(0) && check.error.contains("http.live_page"), "\(check.error)")
        for (allowed, status) in [(false, 404), (true, 200)] {
            let remote = try workspace.startDaemon(overrides: [
                "http.port=\(http)", "http.address=0.0.0.0", "http.remote_live_page=\(allowed)",
            ])
            _ = try await workspace.stats()
            #expect(try await eventually(polling: .milliseconds(50)) { LoopbackPorts.acceptsConnections(port: http) })
            #expect(try await httpGet(port: http, path: "/live/summary.json").status == status, "allowed: \(allowed)")
            #expect(try await remote.terminate() == .exited(0))
        }
    }

    /// A daemon snapshotting every second, serving, then limited to 1,024 file descriptors (the
    /// repros' limit, fewer than the idle connections the tests open); this process may open
    /// 1,400.
    private static func startDaemonWith1024Descriptors(
        _ workspace: EndToEndWorkspace, _ overrides: [String] = []
    ) async throws -> (daemon: ChildProcess, http: Int) {
        var own = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &own)
        try #require(own.rlim_max >= 1_400, "the test needs 1,400 file descriptors")
        own.rlim_cur = own.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &own)
        let (daemon, http) = try Self.startDaemon(workspace, ["state.snapshot_interval_seconds=1"] + overrides)
        _ = try await workspace.stats()
        _ = try await eventually(polling: .milliseconds(50)) { LoopbackPorts.acceptsConnections(port: http) }
        let prlimit = Process()
        prlimit.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        prlimit.arguments = ["--pid", "\(daemon.processIdentifier)", "--nofile=1024:1024"]
        try prlimit.run()
        prlimit.waitUntilExit()
        try #require(prlimit.terminationStatus == 0, "prlimit failed")
        return (daemon, http)
    }

    /// What must keep working at the descriptor limit: `/healthz` answers 200, two more
    /// snapshots are written without an error, and `SIGHUP` reloads the configuration.
    private static func expectHealthSnapshotsAndReloads(_ daemon: ChildProcess, http: Int) async throws {
        let written = try await EndToEndWorkspace.metric("mmcd_snapshot_writes_total{result=\"ok\"}", port: http)
        let health = try await httpGet(port: http, path: "/healthz")
        #expect(health.status == 200, "\(health.body)")
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await EndToEndWorkspace.metric("mmcd_snapshot_writes_total{result=\"ok\"}", port: http) >= written + 2
        })
        #expect(try await EndToEndWorkspace.metric("mmcd_snapshot_writes_total{result=\"error\"}", port: http) == 0)
        daemon.send(SIGHUP)
        #expect(try await eventually(polling: .milliseconds(50)) { daemon.standardError.contains("configuration reloaded") },
            "\(daemon.standardError.suffix(2_000))")
    }

    @Test func elevenHundredIdleHTTPConnectionsUnderA1024DescriptorLimitLockNothingOut() async throws {
        let workspace = try EndToEndWorkspace()
        let (daemon, http) = try await Self.startDaemonWith1024Descriptors(workspace)

        // On a thread of its own: a connect waits up to a second when the server no longer
        // accepts (such a connection is left out).
        let idle: [Int32] = await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: (0..<1_100).compactMap { _ in
                    try? loopbackConnection(port: http, timeout: timeval(tv_sec: 1, tv_usec: 0))
                })
            }.start()
        }
        defer { idle.forEach { _ = close($0) } }
        try await Self.expectHealthSnapshotsAndReloads(daemon, http: http)
        #expect(try await workspace.stats().windowSize == 0)
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func elevenHundredZeroMQConnectionsUnderA1024DescriptorLimitLockNothingOut() async throws {
        let workspace = try EndToEndWorkspace()
        // All from 127.0.0.1: without a per-address cap they reach security.max_peers.
        let (daemon, http) = try await Self.startDaemonWith1024Descriptors(
            workspace, ["security.max_peers_per_address=0"])

        // 1,100 connections that never speak ZMTP, to the input socket (security.max_peers 256).
        let input = workspace.ports[0]
        let idle: [Int32] = await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: (0..<1_100).compactMap { _ in
                    try? loopbackConnection(port: input, timeout: timeval(tv_sec: 1, tv_usec: 0))
                })
            }.start()
        }
        // Every connection beyond the 256 held is refused (a connection the kernel queued while
        // the listener's backlog was full may reach libzmq seconds later).
        let peers = "mmcd_zmq_peers{socket=\"input\"}"
        let refused = "mmcd_zmq_peers_refused_total{socket=\"input\",reason=\"max_peers\"}"
        let settled = try await eventually(within: .seconds(60), polling: .milliseconds(50)) {
            let held = try await EndToEndWorkspace.metric(peers, port: http)
            let closed = try await EndToEndWorkspace.metric(refused, port: http)
            return held == 256 && closed >= Double(idle.count - 256)
        }
        let held = try await EndToEndWorkspace.metric(peers, port: http)
        let closed = try await EndToEndWorkspace.metric(refused, port: http)
        #expect(settled, "\(idle.count) connections: \(held) held, \(closed) refused")
        try await Self.expectHealthSnapshotsAndReloads(daemon, http: http)
        #expect(daemon.standardError.contains("input socket at security.max_peers = 256"))

        // Once they leave, a producer gets in and its points arrive.
        idle.forEach { _ = close($0) }
        #expect(try await eventually(polling: .milliseconds(50)) { try await EndToEndWorkspace.metric(peers, port: http) == 0 })
        let producers = try Peers()
        let pusher = try producers.pusher(to: workspace.inputEndpoint)
        try #require(try pusher.send(pointsMessage(try Self.batch(count: 10, firstID: 0, timestamp: Date().timeIntervalSince1970))))
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().windowSize == 10 })
        #expect(try await daemon.terminate() == .exited(0))
    }

    @Test func oneHostLeakingConnectionsTakesItsShareAndAnotherHostsProducerStillGetsIn() async throws {
        let workspace = try EndToEndWorkspace()
        let (daemon, http) = try Self.startDaemon(workspace, ["security.max_peers_per_address=4"])
        _ = try await workspace.stats()
        let input = workspace.ports[0]
        let peers = "mmcd_zmq_peers{socket=\"input\"}"
        let atAddress = "mmcd_zmq_peers_refused_total{socket=\"input\",reason=\"max_peers_per_address\"}"
        let atLimit = "mmcd_zmq_peers_refused_total{socket=\"input\",reason=\"max_peers\"}"

        // A script leaking sockets on 127.0.0.1: six connections that never speak ZMTP.
        let second = timeval(tv_sec: 1, tv_usec: 0)
        var leaked = try (0..<6).map { _ in try loopbackConnection(port: input, timeout: second) }
        defer { leaked.forEach { _ = close($0) } }
        #expect(try await eventually(polling: .milliseconds(50)) {
            let held = try await EndToEndWorkspace.metric(peers, port: http)
            let refused = try await EndToEndWorkspace.metric(atAddress, port: http)
            return held == 4 && refused == 2
        }, "\(daemon.standardError.suffix(2_000))")
        #expect(try await EndToEndWorkspace.metric(atLimit, port: http) == 0)
        // Counted first, then logged: the line may reach standard error a moment later.
        #expect(try await eventually(polling: .milliseconds(50)) {
            daemon.standardError.contains("input socket: an address at security.max_peers_per_address = 4")
                && daemon.standardError.contains("peer.addresses=127.0.0.1")
        })

        // A producer on 127.0.0.2 (loopback too) gets in and its points arrive.
        let producers = try Peers()
        let pusher = try producers.pusher(to: "tcp://127.0.0.2:0;127.0.0.1:\(input)")
        try #require(try pusher.send(pointsMessage(try Self.batch(count: 10, firstID: 0, timestamp: 1))))
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().windowSize == 10 })
        #expect(try await EndToEndWorkspace.metric(peers, port: http) == 5)

        // The leaking host's connections close: its places come back, and its count with them.
        leaked.forEach { _ = close($0) }
        leaked = []
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await EndToEndWorkspace.metric(peers, port: http) == 1
        })
        leaked = try (0..<4).map { _ in try loopbackConnection(port: input, timeout: second) }
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await EndToEndWorkspace.metric(peers, port: http) == 5
        })
        #expect(try await EndToEndWorkspace.metric(atAddress, port: http) == 2)
        #expect(try await daemon.terminate() == .exited(0))
    }
}
