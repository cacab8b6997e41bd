import MassClustering
import MMCConfiguration
@testable import MMCDaemon
import MMCTestSupport
import MMCWire
import Testing

/// `clustering.scaling` and `clustering.scaling_ranges`: how the daemon scales a window.
@Suite(.tags(.unit)) struct ScalingConfigurationTests {
    func problems(_ toml: String) -> [String] {
        ConfigurationTests().problems(toml)
    }

    @Test func robustByDefault() throws {
        #expect(try DaemonConfiguration().clustering.featureScaling() == .robust)
        let window = try DaemonConfiguration(toml: "[clustering]\nscaling = \"window\"")
        #expect(try window.clustering.featureScaling() == .window)
    }

    @Test func fixedRangesFromTheFileOrAnOverride() throws {
        let file = try DaemonConfiguration(
            toml: "[clustering]\nscaling = \"fixed\"\nscaling_ranges = [[0, 100], [-40, 85.5]]")
        #expect(try file.clustering.featureScaling() == .fixed(lower: [0, -40], upper: [100, 85.5]))
        let overridden = try DaemonConfiguration(
            toml: "", overrides: ["clustering.scaling=fixed", "clustering.scaling_ranges=[[0, 1], [2, 3]]"])
        #expect(try overridden.clustering.featureScaling() == .fixed(lower: [0, 2], upper: [1, 3]))
        #expect(overridden.settings.contains { $0.key == "clustering.scaling_ranges" && $0.value == "[[0, 1], [2, 3]]" })
    }

    @Test func mistakesNameKeyValueAndWhatIsAllowed() {
        #expect(
            problems("[clustering]\nscaling = \"minmax\"") == [
                #"clustering.scaling = "minmax": must be one of "robust", "window", "none", "fixed""#
            ])
        #expect(
            problems("[clustering]\nscaling = \"fixed\"") == [
                #"clustering.scaling_ranges = []: must hold input.dimension = 2 ranges when clustering.scaling = "fixed""#
            ])
        #expect(
            problems("[clustering]\nscaling_ranges = [[0, 1], [0, 1]]") == [
                #"clustering.scaling_ranges = [[0, 1], [0, 1]]: must be [] unless clustering.scaling = "fixed" (it is "robust")"#
            ])
        #expect(
            problems("[clustering]\nscaling = \"fixed\"\nscaling_ranges = [[0, 1], [5, 5]]") == [
                "clustering.scaling_ranges[1] = [5, 5]: must be [lower, upper] with finite lower < upper"
            ])
        #expect(
            problems("[clustering]\nscaling = \"fixed\"\nscaling_ranges = [[0, \"a\"]]") == [
                #"clustering.scaling_ranges = [[0, "a"]]: must be a list of at most 1024 [lower, upper] pairs of numbers"#
            ])
    }

    @Test func theDaemonScalesRobustlyAndSummarisesInOriginalUnits() throws {
        let fixtures = DaemonReclusterTests()
        // The two blobs at x 1000 and 5000, plus one reading with its decimal point lost.
        let points = fixtures.twoBlobs(count: 400, seed: 1) + [(1e9, -3)]
        let update = try ReclusterJob(
            model: try fixtures.model(points, ids: Array(0..<401)), tracker: ClusterTracker(), previous: nil,
            parameters: try ClusteringParameters(), scaling: .robust, modelVersion: 1, time: 10, diffBase: nil
        ).run().fullUpdate
        let sorted = update.clusters.sorted { $0.centroid[0] < $1.centroid[0] }
        #expect(sorted.count == 2)
        #expect(abs(sorted[0].centroid[0] - 1_000) < 5 && abs(sorted[0].centroid[1] + 3) < 0.1)
        #expect(abs(sorted[1].centroid[0] - 5_000) < 5 && abs(sorted[1].centroid[1] - 7) < 0.1)
        #expect(sorted.allSatisfy { $0.maximum[0] < 10_000 })
        #expect(update.assignments?.clusters.last == -1)
    }
}
