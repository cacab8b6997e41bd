@testable import MassClustering
import Foundation
import MMCDevTools
import MMCTestSupport
import Testing

/// Quality floors on labelled sets of the shared benchmark suite (read from `../shared`, never
/// copied into the repository) and on the bundled varied-density example, with the evaluation
/// rules of the design notes: features scaled to [0, 1], ARI over the points whose true label
/// is not 0, predicted noise counted as one more label. The floors sit a little under what the
/// default parameters score, so a change to the algorithm that loses a set fails here.
@Suite("Benchmark quality floors", .tags(.unit))
struct BenchmarkQualityTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let suite = repository.deletingLastPathComponent().appendingPathComponent("shared/datasets/benchmark")

    /// The decompressed text of a gzip file, through the system's gzip.
    static func gunzip(_ url: URL) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return [UInt8](data)
    }

    /// One integer label per line.
    static func labels(_ bytes: [UInt8]) -> [Int32] {
        String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { Int32($0) }
    }

    /// ARI of the labels on the points whose true label is not 0.
    static func score(points: PointMatrix, truth: [Int32], parameters: ClusteringParameters) -> Double {
        let result = cluster(points.minMaxScaled(), parameters: parameters)
        let kept = truth.indices.filter { truth[$0] != 0 }
        return PipelineFixtures.adjustedRandIndex(kept.map { truth[$0] }, kept.map { result.labels[$0] })
    }

    /// ARI of `method`'s labels with the default parameters.
    static func score(points: PointMatrix, truth: [Int32], method: ClusteringMethod) throws -> Double {
        score(points: points, truth: truth, parameters: try ClusteringParameters(method: method))
    }

    static func suiteSet(_ name: String) throws -> (PointMatrix, [Int32]) {
        let table = try DelimitedParser.parse(try gunzip(suite.appendingPathComponent("\(name).data.gz")))
        let truth = labels(try gunzip(suite.appendingPathComponent("\(name).labels0.gz")))
        return (PointMatrix(count: table.rowCount, dimension: table.columnCount, values: table.values), truth)
    }

    @Test(
        "MMC keeps its default-parameter quality on benchmark sets",
        arguments: [
            ("sipu_r15", 0.95), ("sipu_d31", 0.85), ("sipu_spiral", 0.95), ("sipu_flame", 0.9),
            ("fcps_hepta", 0.99), ("graves_ring_noisy", 0.99), ("sipu_aggregation", 0.75),
            // A dense blob on a noisy zigzag path: the path runs into the blob and does not go on
            // through the link, so it is not the blob's ramp (0.360 when it was).
            ("graves_zigzag_noisy", 0.55),
        ])
    func suiteFloor(name: String, floor: Double) throws {
        let (points, truth) = try Self.suiteSet(name)
        #expect(points.count == truth.count)
        let ari = try Self.score(points: points, truth: truth, method: .mmc)
        #expect(ari >= floor, "\(name): ARI \(ari) below \(floor)")
    }

    @Test("on the varied-density example MMC finds all three clusters and beats DMC")
    func variedDensity() throws {
        let data = try Data(contentsOf: Self.repository.appendingPathComponent("examples/data/varied-density.csv"))
        let table = try DelimitedParser.parse([UInt8](data))
        let truth = Self.labels([UInt8](try Data(
            contentsOf: Self.repository.appendingPathComponent("examples/data/varied-density.labels"))))
        let points = PointMatrix(count: table.rowCount, dimension: table.columnCount, values: table.values)
        let mmc = try Self.score(points: points, truth: truth, method: .mmc)
        let dmc = try Self.score(points: points, truth: truth, method: .dmc)
        #expect(mmc >= 0.97)
        #expect(mmc > dmc + 0.02)
    }

    /// The worst window of the drifting-stream benchmark before the gap rule (docs/benchmarks.md):
    /// seed 3, the 10,000 points before index 102,000. A dense cluster touches a broad one, and
    /// the two split off together from a small cluster and a clump of noise at a low level, so
    /// their union outscores them by excess of mass.
    @Test("a dense cluster touching a broad one is split at the gap that excess of mass keeps")
    func touchingClustersOfTheDriftingStream() throws {
        let stream = DriftingStream(parameters: try DriftingStreamParameters(), seed: 3)
        let window = stream.points(in: 92_000..<102_000)
        let points = PointMatrix(count: 10_000, dimension: 2, values: window.values)
        let truth = window.labels.map { Int32($0) }
        let withGaps = Self.score(points: points, truth: truth, parameters: try ClusteringParameters())
        let withoutGaps = Self.score(points: points, truth: truth, parameters: try ClusteringParameters(gapFactor: nil))
        #expect(withGaps >= 0.5)
        #expect(withoutGaps < 0.1)
    }

    /// Drifting-stream windows where a broad cluster is left as a lobe beside a dense one that
    /// overlaps it: the lobe's densest part touches the link and barely climbs, as a ramp's does,
    /// but it lies in a two-dimensional lobe, not along a path (about 0.45 of the way out, where
    /// the ramp rule asks for less than a third). Looser, the rule merged them (seed 2 ending at
    /// 72,000: 0.62; seed 3 ending at 108,000: one cluster, 0.04).
    @Test(
        "a broad cluster's lobe beside a dense one is not taken for a ramp",
        arguments: [(UInt64(2), 72_000, 0.85), (UInt64(3), 108_000, 0.3)])
    func lobesOfTheDriftingStream(seed: UInt64, end: Int, floor: Double) throws {
        let stream = DriftingStream(parameters: try DriftingStreamParameters(), seed: seed)
        let window = stream.points(in: end - 10_000..<end)
        let points = PointMatrix(count: 10_000, dimension: 2, values: window.values)
        let ari = Self.score(points: points, truth: window.labels.map { Int32($0) }, parameters: try ClusteringParameters())
        #expect(ari >= floor, "seed \(seed) ending at \(end): ARI \(ari)")
    }
}
