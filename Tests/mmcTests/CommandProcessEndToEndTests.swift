import Foundation
import MMCDevTools
import MMCTestSupport
import Testing

/// `mmc` run as a process, as a user runs it: exit status, standard output and error, files.
@Suite(.tags(.endToEnd)) struct CommandProcessEndToEndTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "mmc-test")
    }

    private func mmc(_ arguments: [String]) async throws -> ChildProcess.Outcome {
        try await ChildProcess.run(
            try BuiltExecutables.path("mmc"), arguments, outputPrefix: directory.file("mmc-\(UUID().uuidString)"))
    }

    /// Two tight groups of 30 points, at (0, 0) and (10, 10), in input order a, b, a, b, ...
    private func writeTwoGroups(to path: String) throws {
        var rows = "x,y\n"
        for index in 0..<60 {
            let jitter = Double(index / 2 % 6) * 0.01
            let centre = index.isMultiple(of: 2) ? 0.0 : 10.0
            rows += "\(centre + jitter),\(centre - jitter)\n"
        }
        try Data(rows.utf8).write(to: URL(fileURLWithPath: path))
    }

    @Test func clusterLabelsEveryPointOfASmallFile() async throws {
        let input = directory.file("two.csv")
        try writeTwoGroups(to: input)
        let run = try await mmc(["cluster", input, "--min-cluster-size", "5"])
        #expect(run.exit == .exited(0), "\(run.error)")
        let labels = run.output.split(separator: "\n").map { Int($0) }
        try #require(labels.count == 60)
        // Clusters are numbered by their first point: the a's are 0, the b's 1.
        #expect(labels == (0..<60).map { $0.isMultiple(of: 2) ? 0 : 1 })
        #expect(run.error.contains("read 60 points x 2 features"))
        #expect(run.error.contains("2 clusters"))
    }

    @Test func clusterWritesTheOutputFileOnlyOnSuccess() async throws {
        let input = directory.file("two.csv")
        try writeTwoGroups(to: input)
        let output = directory.file("labels.txt")
        let quiet = try await mmc(["cluster", input, "--min-cluster-size", "5", "--quiet", "--output", output])
        #expect(quiet.exit == .exited(0), "\(quiet.error)")
        #expect(quiet.output.isEmpty && quiet.error.isEmpty)
        let written = try String(contentsOfFile: output, encoding: .utf8)
        #expect(written.split(separator: "\n").count == 60)

        // A missing input fails with a message and leaves the previous output in place.
        let missing = try await mmc(["cluster", directory.file("absent.csv"), "--output", output])
        #expect(missing.exit != .exited(0))
        #expect(missing.error.contains("absent.csv"), "\(missing.error)")
        #expect(try String(contentsOfFile: output, encoding: .utf8) == written)
    }

    @Test func anInvalidOptionExitsWithUsageAndStatus64() async throws {
        let run = try await mmc(["cluster", directory.file("any.csv"), "--threads", "0"])
        #expect(run.exit == .exited(64))
        #expect(run.error.contains("invalid --threads 0: allowed >= 1"), "\(run.error)")
        #expect(run.output.isEmpty)
    }

    /// A feed stopped by a signal says which signal to repeat to quit at once: SIGTERM comes
    /// from a script or a service manager (scripts/demo.sh's clean-up), where Ctrl-C means nothing.
    @Test(arguments: [(SIGINT, "Ctrl-C again to quit now"), (SIGTERM, "SIGTERM again to quit now")])
    func aStoppedFeedNamesTheSignalToRepeat(signal: Int32, hint: String) async throws {
        let labels = directory.file("labels-\(signal).tsv")
        let feed = try ChildProcess(
            executable: try BuiltExecutables.path("mmc"),
            arguments: [
                "feed", "--generate", "drift", "--loop", "--rate", "2000", "--warmup-ms", "0",
                "--endpoint", "ipc://\(directory.file("nobody-\(signal)"))", "--labels-out", labels,
            ],
            outputPrefix: directory.file("feed-\(signal)"))
        // The labels of the first batch are written after the signal handlers are installed.
        let sending = try await eventually {
            ((try? FileManager.default.attributesOfItem(atPath: labels)[.size] as? Int) ?? 0) > 0
        }
        try #require(sending, "no batch sent: \(feed.standardError)")
        feed.send(signal)
        #expect(try await feed.exit(within: .seconds(20)) == .exited(0), "\(feed.standardError)")
        #expect(feed.standardOutput.contains(", interrupted"), "\(feed.standardOutput)")
        let waiting = feed.standardError.split(separator: "\n").filter { $0.hasPrefix("waiting up to") }
        #expect(waiting.count == 1 && waiting[0].hasSuffix(hint), "\(feed.standardError)")
    }

    @Test func generateWritesTheSameSeededCaseTwiceAndItClusters() async throws {
        let listing = try await mmc(["generate", "gradient", "--list"])
        #expect(listing.exit == .exited(0), "\(listing.error)")
        let gradientCase = try #require(GradientCase.all.min { $0.pointCount < $1.pointCount })
        #expect(listing.output.contains(gradientCase.name + "\t"))

        let first = directory.file("first.csv")
        let second = directory.file("second.csv")
        for path in [first, second] {
            let run = try await mmc(["generate", "gradient", gradientCase.name, "--seed", "7", "--output", path])
            #expect(run.exit == .exited(0), "\(run.error)")
        }
        let csv = try String(contentsOfFile: first, encoding: .utf8)
        #expect(csv.hasPrefix("x,y\n"))
        #expect(csv.split(separator: "\n").count == gradientCase.pointCount + 1)
        #expect(try String(contentsOfFile: second, encoding: .utf8) == csv)
        let labels = try String(contentsOfFile: directory.file("first.labels"), encoding: .utf8)
        #expect(labels.split(separator: "\n").count == gradientCase.pointCount)
        #expect(Set(labels.split(separator: "\n")).count == gradientCase.structureCount)

        let clustered = try await mmc(["cluster", first, "--quiet"])
        #expect(clustered.exit == .exited(0), "\(clustered.error)")
        #expect(clustered.output.split(separator: "\n").count == gradientCase.pointCount)
    }
}
