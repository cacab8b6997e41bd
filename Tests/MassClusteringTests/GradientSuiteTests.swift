import MassClustering
@testable import MMCDevTools
import MMCTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The gradient suite's generators and the floors MMC keeps on it with its defaults
/// (docs/benchmarks.md, "Gradient suite"): clusters whose density changes along them must not be
/// cut where only the level changes.
@Suite("Gradient suite", .tags(.unit))
struct GradientSuiteTests {
    /// ARI of the default MMC labels against the generating structures.
    static func score(_ data: LabelledPoints, parameters: ClusteringParameters) -> Double {
        let result = cluster(data.points.minMaxScaled(), parameters: parameters)
        return PipelineFixtures.adjustedRandIndex(data.labels, result.labels)
    }

    @Test("every case is a function of its seed, labelled 1...count")
    func generatorsAreSeeded() throws {
        for gradientCase in GradientCase.all {
            let first = gradientCase.generate(seed: 5)
            #expect(first == gradientCase.generate(seed: 5))
            #expect(first != gradientCase.generate(seed: 6))
            #expect(first.points.dimension == 2)
            #expect(first.points.count == first.labels.count)
            #expect(first.points.count == gradientCase.pointCount)
            #expect(
                Set(first.labels) == Set((1...gradientCase.structureCount).map { Int32($0) }), "\(gradientCase.name)")
            #expect(first.points.values.allSatisfy { $0 > -0.1 && $0 < 1.1 }, "\(gradientCase.name)")
        }
    }

    @Test("von Mises angles have the mean resultant length I1(k)/I0(k)")
    func vonMises() {
        var generator = SeededGenerator(seed: 3)
        var cosines = 0.0, sines = 0.0
        let count = 20_000
        for _ in 0..<count {
            let angle = generator.nextVonMises(concentration: 1.5)
            cosines += cos(angle)
            sines += sin(angle)
        }
        // I1(1.5) / I0(1.5) = 0.98167 / 1.64672; the standard error here is below 0.005.
        #expect(abs(cosines / Double(count) - 0.59614) < 0.02)
        #expect(abs(sines / Double(count)) < 0.02)
    }

    @Test(
        "MMC keeps its floor on each family of the gradient suite",
        arguments: [
            ("paths-3-u2", 0.95), ("paths-4-u2-wide", 0.95), ("paths-6-u3", 0.95), ("ring-vonmises", 0.85), ("tapered-3", 0.95),
            ("spiral-3-u2", 0.95),
        ])
    func familyFloor(name: String, floor: Double) throws {
        let gradientCase = try #require(GradientCase.named(name))
        for seed in UInt64(1)...2 {
            let ari = Self.score(gradientCase.generate(seed: seed), parameters: try ClusteringParameters())
            #expect(ari >= floor, "\(name) seed \(seed): ARI \(ari) below \(floor)")
        }
    }

    @Test("undoing one-sided splits keeps a spiral whose density falls along the arm in few pieces")
    func valleysOnSpirals() throws {
        let data = try #require(GradientCase.named("spiral-2-u2")).generate(seed: 2)
        let valleys = Self.score(data, parameters: try ClusteringParameters())
        let everySplit = Self.score(data, parameters: try ClusteringParameters(valleyRatio: nil))
        // 1.000 against 0.258: the ramps of a path join some pieces even with every split kept.
        #expect(valleys >= 0.6)
        #expect(valleys - everySplit > 0.3)
    }

    /// Six paths crowding steeply toward one end (`t ~ U^3`): the dense tip of each holds together
    /// beyond twice its birth, a gap, and was cut off (0.64, 13 clusters); the rest of the path
    /// is the tip's ramp, and the two extents are one cluster again. Seed 3 kept pieces whose
    /// densest part faces their other link (0.858, 10 clusters) until a side that leaves the
    /// link as a path could be a ramp wherever its densest part lies.
    @Test("a path's dense tip, split off as a gap, joins the ramp it tops")
    func rampsOnSteepPaths() throws {
        for seed in [UInt64(1), 3] {
            let data = try #require(GradientCase.named("paths-6-u3")).generate(seed: seed)
            let ari = Self.score(data, parameters: try ClusteringParameters())
            #expect(ari >= 0.95, "paths-6-u3 seed \(seed): ARI \(ari)")
        }
    }

    /// A ring whose readings bunch on one side (von Mises, kappa 1.5): at seed 2 an 81-point
    /// stretch around the density's minimum splits off (a gap beside a weak link) and reads as
    /// neither a ramp at the link nor a path (0.887, 3 clusters). It meets the ring's bulk at both
    /// of its ends, and the bulk meets it at both of its: one loop, and the stretch joins it.
    @Test("a ring's sparse stretch that meets the rest at both of its ends is one cluster with it")
    func loopStretch() throws {
        let data = try #require(GradientCase.named("ring-vonmises")).generate(seed: 2)
        let ari = Self.score(data, parameters: try ClusteringParameters())
        #expect(ari >= 0.95, "ring-vonmises seed 2: ARI \(ari)")
    }

    /// Three spiral arms crowding toward the centre: at seed 3 the outer arm's piece meets the
    /// rest at a link near the centre, around which it curls; read straight from the link it is
    /// a surface (`D` = 1.59) and stayed apart (0.767, 4 clusters), read along itself a path
    /// (0.896). The arm's sparse end lay beyond its seeds' reach and was noise until the merged
    /// cluster reached out from its whole extent (0.998).
    @Test("an arm that curls around its link is read along itself, and reaches its sparse end")
    func curledArm() throws {
        let data = try #require(GradientCase.named("spiral-3-u2")).generate(seed: 3)
        let ari = Self.score(data, parameters: try ClusteringParameters())
        #expect(ari >= 0.95, "spiral-3-u2 seed 3: ARI \(ari)")
    }

    /// Two spiral arms crowding toward the centre: at seed 2 an arm's sparse outer piece (235
    /// points, locally 1.55-dimensional: thinner than its neighbourhoods) climbs 1.86 from a
    /// sparse stretch at its link. With the feature count that exceeded a valley's climb (1.64,
    /// 1.71 with the two sides' dimension pooled; 0.868, 3 clusters); with its own, 1.89. At
    /// seed 3 the link's single edge stands 2.26 above such a piece (1.45-dimensional) at the
    /// link: beyond the gap factor 2 (0.852), within a gap's density step read with its own
    /// dimension (2.6).
    @Test("a sparse arm's levels are read with its own local dimension")
    func sparseArmEnd() throws {
        for seed in [UInt64(2), 3] {
            let data = try #require(GradientCase.named("spiral-2-u2")).generate(seed: seed)
            let ari = Self.score(data, parameters: try ClusteringParameters())
            #expect(ari >= 0.95, "spiral-2-u2 seed \(seed): ARI \(ari)")
        }
    }

    /// Sine paths crowding toward one end (`t ~ U^2`): where a path is steep its points thin out
    /// (a dip of 1.33-1.5 in density), and its pieces were kept apart (paths-4-u2 seed 1: 0.687,
    /// 8 clusters; paths-3-u2 seed 2: 0.587, 8). Along a path, such a dip is shallower than a
    /// valley, and the pieces are one.
    @Test("a path's shallow dips along it are not valleys")
    func dipsAlongSinePaths() throws {
        for (name, seed) in [("paths-4-u2", UInt64(1)), ("paths-3-u2", 2)] {
            let data = try #require(GradientCase.named(name)).generate(seed: seed)
            let ari = Self.score(data, parameters: try ClusteringParameters())
            #expect(ari >= 0.95, "\(name) seed \(seed): ARI \(ari)")
        }
    }
}
