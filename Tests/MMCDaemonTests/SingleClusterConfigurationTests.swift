import Foundation
import MassClustering
import MMCConfiguration
@testable import MMCDaemon
import MMCTestSupport
import MMCWire
import Testing

/// `clustering.allow_single_cluster`: whether a window with one mode comes back as one cluster.
@Suite(.tags(.unit)) struct SingleClusterConfigurationTests {
    /// The clusters the daemon's re-clustering publishes for `points` with `configuration`.
    func clusterCount(_ points: [(Double, Double)], _ configuration: DaemonConfiguration) throws -> Int {
        let fixtures = DaemonReclusterTests()
        return try ReclusterJob(
            model: try fixtures.model(points, ids: (0..<UInt64(points.count)).map { $0 }), tracker: ClusterTracker(),
            previous: nil, parameters: try configuration.clustering.parameters(), modelVersion: 1, time: 10,
            diffBase: nil
        ).run().fullUpdate.clusters.count
    }

    /// One Gaussian blob of `count` points: no valley anywhere.
    func blob(count: Int, seed: UInt64) -> [(Double, Double)] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let radius = (-2 * log(max(generator.nextDouble(), 1e-12))).squareRoot()
            let angle = 2 * Double.pi * generator.nextDouble()
            return (radius * cos(angle), radius * sin(angle))
        }
    }

    @Test func offByDefaultAndReadFromTheFile() throws {
        #expect(try !DaemonConfiguration().clustering.parameters().allowSingleCluster)
        let on = try DaemonConfiguration(toml: "[clustering]\nallow_single_cluster = true")
        #expect(try on.clustering.parameters().allowSingleCluster)
        #expect(
            ConfigurationTests().problems("[clustering]\nallow_single_cluster = 1")
                == ["clustering.allow_single_cluster = 1: must be true or false"])
    }

    @Test("one blob: cut into several by default, one cluster when allowed; two blobs stay two")
    func oneModeIsOneClusterWhenAllowed() throws {
        let on = try DaemonConfiguration(toml: "[clustering]\nallow_single_cluster = true")
        for seed: UInt64 in 1...3 {
            let points = blob(count: 3_000, seed: seed)
            #expect(try clusterCount(points, DaemonConfiguration()) > 1, "seed \(seed)")
            #expect(try clusterCount(points, on) == 1, "seed \(seed)")
            #expect(try clusterCount(DaemonReclusterTests().twoBlobs(count: 2_000, seed: seed), on) == 2, "seed \(seed)")
        }
    }
}
