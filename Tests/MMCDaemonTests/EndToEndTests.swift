import Foundation
import Glibc
import MMCTestSupport
import MMCWire
import Testing

/// The built `mmcd` and `mmc` executables as separate processes on loopback TCP ports: systemd
/// notifications, a labelled stream scored against its truth, signals, restarts and
/// configuration errors. Serialized: each test runs timing-sensitive processes on a shared
/// machine.
@Suite(.serialized, .tags(.endToEnd, .systemd)) struct EndToEndTests {
    /// `mmc feed` arguments sending `count` points of the seeded drifting stream over PUSH.
    private static func feed(
        _ workspace: EndToEndWorkspace, count: Int, seed: Int, extra: [String] = []
    ) -> [String] {
        [
            "feed", "--generate", "drift", "--seed", "\(seed)", "--socket", "push", "--endpoint",
            workspace.inputEndpoint, "--count", "\(count)",
        ] + extra
    }

    /// The first line of `text` that contains every one of `parts`.
    private static func line(in text: String, containing parts: [String]) -> Substring? {
        text.split(separator: "\n").first { line in parts.allSatisfy { line.contains($0) } }
    }

    /// The score the stream test relies on, on partitions with known values.
    @Test func adjustedRandIndexOfKnownPartitions() {
        func ari(_ truth: [Int], _ found: [Int64]) -> Double {
            adjustedRandIndex(zip(truth, found).map { (truth: $0, found: $1) })
        }
        #expect(ari([0, 0, 1, 1], [5, 5, -1, -1]) == 1)
        #expect(abs(ari([0, 0, 1, 1], [0, 1, 0, 1]) + 0.5) < 1e-12)
        #expect(abs(ari([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) - 8.0 / 33) < 1e-12)
    }

    @Test func readyComesOnceTheSocketsAreBoundThenStatusWatchdogAndStoppingOnSIGTERM() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        let notify = try workspace.notifyListener()
        let daemon = try workspace.startDaemon(environment: [
            "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "600000",
        ])

        let ready = try #require(
            try await notify.next { $0.hasPrefix("READY=1") }, "no READY=1; stderr:\n\(daemon.standardError)")
        // The moment READY=1 is in, every endpoint takes connections.
        for port in workspace.ports {
            #expect(LoopbackPorts.acceptsConnections(port: port), "port \(port) not accepting at READY=1")
        }
        let early = notify.received.prefix { $0 != ready }
        #expect(early.allSatisfy { $0 == "WATCHDOG=1" }, "datagrams before READY=1: \(early)")
        #expect(ready.split(separator: "\n").contains { $0.hasPrefix("STATUS=window 0 points") }, "\(ready)")
        #expect(try await notify.next(within: .seconds(20)) { $0 == "WATCHDOG=1" } != nil, "no watchdog ping")

        let feed = try await workspace.run("mmc", Self.feed(workspace, count: 2_000, seed: 5))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        let status = try await notify.next {
            $0.wholeMatch(of: /STATUS=window 2000 points, [1-9][0-9]* clusters, last re-clustering [0-9]+ ms/) != nil
        }
        #expect(status != nil, "no STATUS= line for the 2000-point window: \(notify.received)")

        daemon.send(SIGTERM)
        #expect(try await notify.next { $0.hasPrefix("STOPPING=1") } != nil, "no STOPPING=1: \(notify.received)")
        let exit = try await daemon.exit(within: .seconds(20))
        #expect(exit == .exited(0), "\(daemon.standardError)")
        notify.drain()
        let stopping = try #require(notify.received.firstIndex { $0.hasPrefix("STOPPING=1") })
        #expect(!notify.received[stopping...].contains { $0.hasPrefix("READY=1") })
        #expect(Self.line(in: daemon.standardError, containing: ["info mmcd: shutting down"]) != nil)
        #expect(Self.line(in: daemon.standardError, containing: ["info mmcd: stopped"]) != nil)
        #expect(try workspace.stateFiles() == ["state.bin"])
    }

    /// systemd may send `SIGHUP` (`systemctl reload`) or `SIGTERM` as soon as it has READY=1:
    /// the daemon must handle either from then on, never die of the signal's default action.
    @Test(arguments: [SIGHUP, SIGTERM])
    func aSignalSentTheMomentReadyArrivesIsHandled(signal: Int32) async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings(keepsState: false))
        var failures: [String] = []
        for round in 1...8 {
            let notify = try workspace.notifyListener()
            let daemon = try workspace.startDaemon(environment: ["NOTIFY_SOCKET": notify.path])
            guard try await notify.next(where: { $0.hasPrefix("READY=1") }) != nil else {
                failures.append("round \(round): no READY=1")
                daemon.kill()
                continue
            }
            daemon.send(signal)
            if signal == SIGHUP {
                // The default action of SIGHUP ends the process at once.
                if let early = try await daemon.exit(within: .milliseconds(500)) {
                    failures.append("round \(round): SIGHUP right after READY=1: \(early)")
                    continue
                }
                if try await notify.next(where: { $0.hasPrefix("READY=1\nSTATUS=configuration reloaded") }) == nil {
                    failures.append("round \(round): SIGHUP right after READY=1 reloaded nothing")
                }
                daemon.send(SIGTERM)
            }
            let exit = try await daemon.exit(within: .seconds(20))
            if exit != .exited(0) {
                failures.append("round \(round): after SIGTERM: \(exit.map(\.description) ?? "still running")")
            }
            notify.drain()
            if !notify.received.contains(where: { $0.hasPrefix("STOPPING=1") }) {
                failures.append("round \(round): no STOPPING=1")
            }
            daemon.kill()
        }
        #expect(failures.isEmpty, "in 8 rounds:\n\(failures.joined(separator: "\n"))")
    }

    @Test func aLabelledStreamIsClusteredPublishedInOrderAndALateJoinerGetsTheLatestSnapshot() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        let daemon = try workspace.startDaemon()
        _ = try await workspace.stats()
        let outputPort = try LoopbackPorts.port(ofEndpoint: workspace.outputEndpoint)
        let watcher = try workspace.startMMC([
            "watch", "--json", "--provisional", "--endpoint", workspace.outputEndpoint,
        ])
        // The watcher's subscriptions follow its connection, ahead of the first update.
        #expect(try await eventually { LoopbackPorts.establishedConnections(toPort: outputPort) == 1 })
        let labelsPath = workspace.directory + "/labels.tsv"
        let feed = try await workspace.run(
            "mmc", Self.feed(workspace, count: 12_000, seed: 3, extra: ["--rate", "3000", "--labels-out", labelsPath]))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        // Once a re-clustering has seen the last point, nothing new is published.
        #expect(try await eventually(polling: .milliseconds(50)) {
            try await workspace.snapshot()?.assignments?.ids.contains(11_999) == true
        })

        // A late joiner gets the latest update at once, though nothing new is published.
        let late = try await workspace.run(
            "mmc", ["watch", "--json", "--count", "1", "--timeout", "5", "--endpoint", workspace.outputEndpoint])
        #expect(late.exit == .exited(0), "\(late.error)")
        let lines = try WatchedMessage.parse(late.output)
        try #require(lines.count == 1, "\(late.output)")
        // The first watcher has printed that update too, and nothing is published any more.
        #expect(try await eventually(polling: .milliseconds(50)) {
            try WatchedMessage.parse(watcher.standardOutput).contains {
                $0.topic == "clusters.mmcd" && $0.sequence == lines[0].sequence
            }
        })
        watcher.kill()

        let labels = try readLabels(labelsPath)
        #expect(labels.count == 12_000)
        // Noise is one more class on either side: label 0 in the truth, cluster -1 in the updates.
        func score(_ clusters: [UInt64: Int64]) throws -> Double {
            try adjustedRandIndex(clusters.map { id, cluster in
                (truth: try #require(labels[id], "point \(id) was never sent"), found: cluster)
            })
        }

        let watched = try WatchedMessage.parse(watcher.standardOutput)
        #expect(watched.allSatisfy { $0.missed == 0 && !$0.restarted })
        for topic in ["clusters.mmcd", "assign.mmcd"] {
            let sequences = watched.filter { $0.topic == topic }.map(\.sequence)
            #expect(!sequences.isEmpty, "nothing on \(topic)")
            #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 + 1 }, "\(topic): \(sequences)")
        }
        var state = EndToEndAssignments()
        var scores: [String] = []
        for message in watched where message.topic == "clusters.mmcd" {
            guard case .clusters(let update) = message.message else {
                Issue.record("#\(message.sequence) on clusters.mmcd is not a cluster update")
                continue
            }
            try state.apply(update)
            #expect(state.clusters.count == update.windowSize, "model \(update.modelVersion)")
            let ari = try score(state.clusters)
            scores.append("model \(update.modelVersion): window \(update.windowSize), ARI \(ari)")
            if update.windowSize >= 1_000 {
                #expect(ari >= 0.8, "\(scores.last ?? "")")
            }
        }
        #expect(scores.count >= 3, "\(scores)")

        let lastWatched = try #require(watched.last { $0.topic == "clusters.mmcd" })
        guard case .clusters(let snapshot) = lines[0].message, let assignments = snapshot.assignments else {
            Issue.record("the late joiner got no cluster update with assignments: \(late.output)")
            return
        }
        #expect(lines[0].sequence == lastWatched.sequence)
        #expect(snapshot.modelVersion == state.version)
        #expect(assignments.mode == .full)
        let full = Dictionary(zip(assignments.ids, assignments.clusters)) { _, newer in newer }
        #expect(full == state.clusters, "the diffs applied in order do not give the full snapshot")
        let finalScore = try score(full)
        #expect(finalScore >= 0.85, "\(scores)")

        #expect(try await daemon.terminate() == .exited(0), "\(daemon.standardError)")
    }

    @Test func sighupAppliesTheScheduleAndReportsTheWindowSizeAsRestartOnly() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings(intervalSeconds: 600))
        let notify = try workspace.notifyListener()
        let daemon = try workspace.startDaemon(environment: ["NOTIFY_SOCKET": notify.path])
        try #require(try await notify.next { $0.hasPrefix("READY=1") } != nil, "\(daemon.standardError)")

        let feed = try workspace.startMMC(Self.feed(workspace, count: 30_000, seed: 6, extra: ["--rate", "1500"]))
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().windowSize >= 2_000 })
        #expect(try await workspace.stats().reclusterCount == 0, "re-clustered before its 600 s interval")

        try workspace.writeConfiguration(EndToEndSettings(windowSize: 5_000, intervalSeconds: 0.5))
        daemon.send(SIGHUP)
        #expect(try await notify.next { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") } != nil, "\(notify.received)")
        #expect(try await notify.next { $0.hasPrefix("READY=1\nSTATUS=configuration reloaded") } != nil)
        // The new interval: re-clusterings while the stream runs; the window keeps the size it
        // started with.
        #expect(try await eventually(polling: .milliseconds(50)) {
            let stats = try await workspace.stats()
            return stats.reclusterCount >= 2 && stats.pointsReceived > 4_000
        })
        feed.send(SIGINT)
        #expect(try await feed.exit(within: .seconds(20)) == .exited(0), "\(feed.standardError)")
        let after = try await workspace.stats()
        #expect(after.windowCapacity == 3_000 && after.windowSize == 3_000)

        let log = daemon.standardError
        #expect(
            Self.line(in: log, containing: [
                "warning mmcd: configuration key changed but needs a restart", "key=window.size", "running=3000",
                "file=5000",
            ]) != nil, "\(log)")
        #expect(
            Self.line(in: log, containing: [
                "info mmcd: configuration key applied", "key=schedule.interval_seconds", "old=600.0", "new=0.5",
            ]) != nil, "\(log)")

        // An invalid file changes nothing and is reported; the daemon carries on.
        try workspace.writeConfiguration(EndToEndSettings(intervalSeconds: -3))
        daemon.send(SIGHUP)
        #expect(try await notify.next { $0.hasPrefix("READY=1\nSTATUS=reload failed: configuration unchanged") } != nil)
        #expect(
            Self.line(in: daemon.standardError, containing: [
                "error mmcd: reload refused: invalid configuration", "schedule.interval_seconds = -3.0",
            ]) != nil, "\(daemon.standardError)")
        #expect(try await workspace.stats().windowCapacity == 3_000)

        #expect(try await daemon.terminate() == .exited(0), "\(daemon.standardError)")
    }

    @Test func aRestartWithTheSameStateDirectoryKeepsWindowClusterIdsAndSequence() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        let first = try workspace.startDaemon()
        _ = try await workspace.stats()
        let feed = try await workspace.run("mmc", Self.feed(workspace, count: 2_000, seed: 4))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.snapshot()?.windowSize == 2_000 })
        let before = try #require(try await workspace.snapshot())
        let subscriber = try await workspace.clusterSubscriber()
        // Subscribing gets the latest update, with its sequence number.
        let last = try await workspace.nextClusterUpdate(on: subscriber)
        #expect(last.update.modelVersion == before.modelVersion)

        #expect(try await first.terminate() == .exited(0), "\(first.standardError)")
        #expect(try workspace.stateFiles() == ["state.bin"])

        let second = try workspace.startDaemon()
        // The subscriber reconnects by itself; the restored window is re-clustered at once.
        let restored = try await workspace.nextClusterUpdate(on: subscriber)
        #expect(restored.sequence == last.sequence + 1, "sequence numbers continue after a restart")
        #expect(restored.update.modelVersion == before.modelVersion + 1)
        #expect(restored.update.windowSize == 2_000)
        let idsBefore = try #require(before.assignments)
        let idsAfter = try #require(restored.update.assignments)
        #expect(idsAfter.mode == .full)
        #expect(Set(idsAfter.ids) == Set(idsBefore.ids), "window points lost or gained in the restart")
        let clustersBefore = Set(before.clusters.map(\.id))
        let clustersAfter = Set(restored.update.clusters.map(\.id))
        #expect(!clustersBefore.isDisjoint(with: clustersAfter), "\(clustersBefore) then \(clustersAfter)")
        let was = Dictionary(zip(idsBefore.ids, idsBefore.clusters)) { _, newer in newer }
        let same = zip(idsAfter.ids, idsAfter.clusters).count { was[$0] == $1 }
        #expect(same >= 1_800, "only \(same) of 2000 points kept their cluster id")
        #expect(
            Self.line(in: second.standardError, containing: ["info mmcd: state restored", "window.size=2000"]) != nil,
            "\(second.standardError)")
        let stats = try await workspace.stats()
        #expect(stats.windowSize == 2_000 && stats.modelVersion == before.modelVersion + 1)

        // New points join the restored window; the numbering goes on.
        let more = try await workspace.run(
            "mmc", Self.feed(workspace, count: 500, seed: 4, extra: ["--first-id", "2000"]))
        #expect(more.exit == .exited(0), "\(more.error)")
        var next = try await workspace.nextClusterUpdate(on: subscriber)
        while next.sequence == restored.sequence {
            next = try await workspace.nextClusterUpdate(on: subscriber)
        }
        #expect(next.sequence == restored.sequence + 1)
        #expect(next.update.windowSize == 2_500)
        #expect(next.update.assignments?.mode == .diff(baseVersion: restored.update.modelVersion))

        #expect(try await second.terminate() == .exited(0), "\(second.standardError)")
    }

    @Test func clusterIdsSurviveAWindowThatTurnsOverBetweenTwoReclusterings() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        let daemon = try workspace.startDaemon(overrides: ["schedule.every_points=3000", "schedule.interval_seconds=0"])
        _ = try await workspace.stats()
        let subscriber = try await workspace.clusterSubscriber()
        let first = try await workspace.run("mmc", Self.feed(workspace, count: 3_000, seed: 4))
        #expect(first.exit == .exited(0), "\(first.error)")
        let before = try await workspace.nextClusterUpdate(on: subscriber).update
        #expect(before.clusters.count >= 2)

        // The same points again under new ids: not one point of the 3000-point window is left.
        let second = try await workspace.run("mmc", Self.feed(workspace, count: 3_000, seed: 4, extra: ["--first-id", "3000"]))
        #expect(second.exit == .exited(0), "\(second.error)")
        var after = try await workspace.nextClusterUpdate(on: subscriber).update
        while after.modelVersion == before.modelVersion {
            after = try await workspace.nextClusterUpdate(on: subscriber).update
        }
        #expect(after.modelVersion == before.modelVersion + 1)
        #expect(Set(after.clusters.map(\.id)) == Set(before.clusters.map(\.id)))
        #expect(after.events.isEmpty, "\(after.events)")
        // A diff would list 3000 removed and 3000 new points: the full update goes out instead.
        #expect(after.assignments?.mode == .full)
        #expect(try await daemon.terminate() == .exited(0), "\(daemon.standardError)")
    }

    @Test func aSIGTERMInTheMiddleOfAStreamLosesNoAcceptedPoint() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings(windowSize: 10_000))
        let first = try workspace.startDaemon()
        _ = try await workspace.stats()
        let feed = try workspace.startMMC(Self.feed(workspace, count: 8_000, seed: 8, extra: ["--rate", "2000"]))
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().windowSize >= 2_000 })
        let accepted = try await workspace.stats().pointsReceived
        #expect(try await first.terminate() == .exited(0), "\(first.standardError)")
        feed.kill()

        let second = try workspace.startDaemon()
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.snapshot() != nil })
        let restored = try #require(try await workspace.snapshot()?.assignments?.ids)
        // The stream's ids count up from 0 and arrive in order: the window must hold a prefix.
        #expect(Set(restored) == Set(0..<UInt64(restored.count)), "holes in the restored window")
        #expect(UInt64(restored.count) >= accepted, "accepted \(accepted) points, restored \(restored.count)")
        #expect(try await second.terminate() == .exited(0), "\(second.standardError)")
    }

    @Test func aCorruptStateFileIsMovedAsideReportedAndTheDaemonStartsEmpty() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        try FileManager.default.createDirectory(atPath: workspace.stateDirectory, withIntermediateDirectories: true)
        let garbage = String(repeating: "this is not an mmcd state file\n", count: 20)
        try workspace.write(garbage, to: workspace.stateDirectory + "/state.bin")

        let daemon = try workspace.startDaemon()
        let stats = try await workspace.stats()
        #expect(stats.windowSize == 0 && stats.modelVersion == 0)
        let files = try workspace.stateFiles()
        let moved = try #require(files.first { $0.hasPrefix("state.bin.corrupt-") }, "\(files)")
        #expect(!files.contains("state.bin"))
        #expect(FileManager.default.contents(atPath: workspace.stateDirectory + "/" + moved) == Data(garbage.utf8))
        #expect(
            Self.line(in: daemon.standardError, containing: [
                "error mmcd: state snapshot unusable; starting empty", "bad magic",
                "moved.to=\(workspace.stateDirectory)/\(moved)",
            ]) != nil, "\(daemon.standardError)")

        // It serves as usual, and writes a good snapshot at shutdown.
        let feed = try await workspace.run("mmc", Self.feed(workspace, count: 300, seed: 7))
        #expect(feed.exit == .exited(0), "\(feed.error)")
        #expect(try await eventually(polling: .milliseconds(50)) { try await workspace.stats().windowSize == 300 })
        #expect(try await daemon.terminate() == .exited(0), "\(daemon.standardError)")
        #expect(try workspace.stateFiles() == ["state.bin", moved])
    }

    /// A configuration mistake and what `--check-config` must say about it.
    struct ConfigurationMistake: Sendable, CustomTestStringConvertible {
        let kind: String
        let toml: String
        let overrides: [String]
        /// Pieces of standard error: the key, the value, the allowed values.
        let expected: [String]

        var testDescription: String { kind }
    }

    static let mistakes = [
        ConfigurationMistake(
            kind: "unknown key", toml: "[window]\nsise = 5000\n", overrides: [],
            expected: ["window.sise: unknown key; did you mean window.size?"]),
        ConfigurationMistake(
            kind: "unknown section", toml: "[windows]\nsize = 5000\n", overrides: [],
            expected: ["windows: unknown section; did you mean [window]?"]),
        ConfigurationMistake(
            kind: "out of range", toml: "[window]\nsize = -1\n", overrides: [],
            expected: ["window.size = -1: must be an integer in 0...10000000"]),
        ConfigurationMistake(
            kind: "wrong type", toml: "[schedule]\ninterval_seconds = \"often\"\n", overrides: [],
            expected: ["schedule.interval_seconds = \"often\": must be 0 or a number of seconds in 0.1...86400"]),
        ConfigurationMistake(
            kind: "syntax error", toml: "[window\nsize = 5000\n", overrides: [],
            expected: ["bad.toml:1:", "invalid TOML"]),
        ConfigurationMistake(
            kind: "override out of range", toml: "", overrides: ["--set", "forest.trees=0"],
            expected: ["forest.trees = 0: must be an integer in 1...1024"]),
    ]

    @Test(arguments: mistakes)
    func checkConfigRefusesAMistakeNamingKeyValueAndAllowedRange(_ mistake: ConfigurationMistake) async throws {
        let workspace = try EndToEndWorkspace()
        let path = workspace.directory + "/bad.toml"
        try workspace.write(mistake.toml, to: path)
        let check = try await workspace.run("mmcd", ["--check-config", "--config", path] + mistake.overrides)
        #expect(check.exit == .exited(1))
        #expect(check.error.contains("mmcd: invalid configuration \(path):"), "\(check.error)")
        for part in mistake.expected {
            #expect(check.error.contains(part), "\(check.error)")
        }
        #expect(!check.output.contains("is valid"))
    }

    @Test func aValidConfigurationChecksCleanAndABadOneNeverStartsTheDaemon() async throws {
        let workspace = try EndToEndWorkspace()
        try workspace.writeConfiguration(EndToEndSettings())
        let check = try await workspace.run("mmcd", ["--check-config", "--config", workspace.configurationPath])
        #expect(check.exit == .exited(0), "\(check.error)")
        #expect(check.output.contains("mmcd: configuration \(workspace.configurationPath) is valid"))
        #expect(check.output.contains("window.size = 3000\n"))
        #expect(check.output.contains("control.endpoint = \"\(workspace.controlEndpoint)\"\n"))
        // Every key, in the order config/mmcd.toml documents them.
        let printed = check.output.split(separator: "\n").dropFirst().map { String($0.prefix { $0 != " " }) }
        let shipped = try ConfigurationTests.shippedConfigKeys().map(\.key)
        #expect(printed == shipped)

        try workspace.writeConfiguration(EndToEndSettings(windowSize: -5))
        let notify = try workspace.notifyListener()
        let start = try await workspace.run(
            "mmcd", ["--config", workspace.configurationPath], environment: ["NOTIFY_SOCKET": notify.path])
        #expect(start.exit == .exited(1))
        #expect(start.error.contains("window.size = -5: must be an integer in 0...10000000"), "\(start.error)")
        notify.drain()
        #expect(!notify.received.contains { $0.hasPrefix("READY=1") }, "\(notify.received)")
        for port in workspace.ports {
            #expect(!LoopbackPorts.acceptsConnections(port: port), "port \(port) bound by a refused start")
        }
    }
}
