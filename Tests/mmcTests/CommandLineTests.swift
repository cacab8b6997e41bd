import ArgumentParser
import MassClustering
import MMCDevTools
import MMCTestSupport
import MMCWire
import Testing
@testable import mmc

/// `mmc`'s command lines parsed and validated in process: what is refused, with which message.
@Suite(.tags(.unit)) struct CommandLineTests {
    /// The message `mmc` prints for `arguments`, which must fail to parse or validate.
    private func refusal(_ arguments: [String]) -> String? {
        do {
            _ = try MMC.parseAsRoot(arguments)
            return nil
        } catch {
            return MMC.message(for: error)
        }
    }

    @Test func clusterTakesItsOptions() throws {
        let command = try #require(
            try MMC.parseAsRoot([
                "cluster", "points.csv", "--method", "dmc", "--min-samples", "3", "--min-cluster-size", "12",
                "--threads", "2", "--scaling", "fixed", "--scaling-ranges", "[[0, 1], [-5, 5]]", "--quiet",
                "-o", "labels.txt", "--neighbours", "approximate",
            ]) as? ClusterCommand)
        #expect(command.file == "points.csv")
        #expect(command.method == .dmc)
        #expect(command.minSamples == 3 && command.minClusterSize == 12 && command.threads == 2)
        #expect(command.scaling == .fixed && command.output == "labels.txt" && command.report == .quiet)
        #expect(command.neighbours == .approximate)
        let defaults = try #require(try MMC.parseAsRoot(["cluster", "points.csv"]) as? ClusterCommand)
        #expect(defaults.neighbours == .automatic)
    }

    @Test(arguments: [
        (["cluster", "f.csv", "--threads", "0"], "invalid --threads 0: allowed >= 1"),
        (["cluster", "f.csv", "--min-cluster-size", "1"], "--min-cluster-size"),
        (["cluster", "f.csv", "--min-samples", "-1"], "--min-samples"),
        (["cluster", "f.csv", "--scaling-ranges", "[[0, 1], [2]]"], "invalid --scaling-ranges"),
        (["cluster", "f.csv", "--method", "kmeans"], "--method"),
        (["cluster", "f.csv", "--neighbours", "nearest"], "--neighbours"),
        (["cluster", "f.csv", "--no-such-option"], "--no-such-option"),
        (["cluster"], "Missing expected argument '<file>'"),
        (["generate", "gradient", "--output", "x.csv"], "name a case"),
        (["generate", "gradient", "no-such-case", "--output", "x.csv"], "no case 'no-such-case'"),
        (["generate", "gradient", "no-such-case"], "no case"),
        (["no-such-command"], "no-such-command"),
    ])
    func refusedCommandLinesNameWhatIsWrong(arguments: [String], message: String) throws {
        let printed = try #require(refusal(arguments), "\(arguments) was accepted")
        #expect(printed.contains(message), "\(arguments): \(printed)")
    }

    @Test func generateNeedsAnOutputUnlessListing() throws {
        let name = try #require(GradientCase.all.first?.name)
        #expect(refusal(["generate", "gradient", name])?.contains("--output is required") == true)
        #expect(refusal(["generate", "gradient", "--list"]) == nil)
    }

    @Test(arguments: [
        ("runs/out.csv", "runs/out.labels"), ("out", "out.labels"), ("dir.d/out", "dir.d/out.labels"),
        (".hidden", ".hidden.labels"),
    ])
    func theLabelsFileSitsBesideTheOutput(output: String, labels: String) {
        #expect(GenerateCommand.Gradient.labelsPath(for: output) == labels)
    }

    @Test func watchListsAnUpdatesClustersByAscendingId() throws {
        let clusters = try [7, 0, 3].map { id throws(WireError) in
            try PublishedCluster(id: Int64(id), mass: 10 + id, centroid: [0], minimum: [0], maximum: [0])
        }
        let update = try ClusterUpdate(
            modelVersion: 4, time: 0, dimension: 1, windowSize: 60, noiseCount: 0, clusters: clusters, events: [],
            assignments: nil)
        let text = UpdatePrinter(json: false, provisional: false).describe(update, topic: "clusters.test", sequence: 3)
        let lines = text.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("  cluster ") }.map { $0.split(separator: ":")[0] } == [
            "  cluster 0", "  cluster 3", "  cluster 7",
        ])
    }
}
