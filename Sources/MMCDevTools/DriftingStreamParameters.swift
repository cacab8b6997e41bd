public import MassClustering

/// The parameters of a ``DriftingStream``, validated at init.
///
/// Positions live in the unit box `[0, 1]^dimension`; cluster centres stay inside
/// `[0.1, 0.9]^dimension`. Durations are counted in points of the stream (point index), speeds
/// in box widths per 10,000 points.
///
/// ```swift
/// let parameters = try DriftingStreamParameters(clusterCount: 6, noiseFraction: 0.1)
/// ```
public struct DriftingStreamParameters: Sendable, Hashable {
    /// Coordinates per point. Default 2.
    public let dimension: Int
    /// Cluster slots. Each slot holds one cluster at a time: it lives for its slot's lifetime,
    /// the slot stays empty for its gap, then a new cluster is born elsewhere. Default 4.
    public let clusterCount: Int
    /// The share of points drawn uniformly from the unit box, labelled 0. Default 0.05.
    public let noiseFraction: Double
    /// How long a cluster lives, in points; each slot draws its own from this range.
    /// Default 20,000...60,000.
    public let lifetime: ClosedRange<Int>
    /// How long a slot stays empty between two clusters, in points; each slot but the first
    /// draws its own. Slot 0 has no gap: its next cluster is born, elsewhere, as the previous
    /// one dies, so some cluster is alive at every point. Default 5,000...20,000.
    public let gap: ClosedRange<Int>
    /// How fast a cluster's centre moves, in box widths per 10,000 points; each cluster draws
    /// its own. A path longer than the box allows is slowed down to fit. Default 0.05...0.2.
    public let speed: ClosedRange<Double>
    /// The standard deviation of a cluster's points around its centre, per coordinate; each
    /// cluster draws its own, so densities differ. Default 0.01...0.05.
    public let spread: ClosedRange<Double>
    /// A cluster's relative weight among the clusters alive at the same time: its share of
    /// the non-noise points is its weight over the sum of theirs. Default 1...4.
    public let weight: ClosedRange<Double>
    /// The probability that a cluster moves on a slow circle (at most half a turn in its
    /// lifetime, in the plane of the first two coordinates) rather than on a straight line.
    /// Ignored in dimension 1. Default 0.5.
    public let circularFraction: Double

    /// The longest lifetime or gap, 2^40 points (about 35 years at 1,000 points a second).
    public static let longest = 1 << 40

    /// Validates and stores the parameters.
    ///
    /// - Throws: ``ParameterError`` naming the first parameter out of range: `dimension` and
    ///   `clusterCount` at least 1, `noiseFraction` in 0...1 (1 makes a stream of pure noise),
    ///   `lifetime` in 1...``longest`` and `gap` in 0...``longest``, `speed` at least 0, `spread` above 0 and finite,
    ///   `weight` above 0 and finite, `circularFraction` in 0...1.
    public init(
        dimension: Int = 2,
        clusterCount: Int = 4,
        noiseFraction: Double = 0.05,
        lifetime: ClosedRange<Int> = 20_000...60_000,
        gap: ClosedRange<Int> = 5_000...20_000,
        speed: ClosedRange<Double> = 0.05...0.2,
        spread: ClosedRange<Double> = 0.01...0.05,
        weight: ClosedRange<Double> = 1...4,
        circularFraction: Double = 0.5
    ) throws(ParameterError) {
        guard dimension >= 1 else {
            throw ParameterError(key: "dimension", value: "\(dimension)", allowed: ">= 1")
        }
        guard clusterCount >= 1 else {
            throw ParameterError(key: "clusterCount", value: "\(clusterCount)", allowed: ">= 1")
        }
        guard noiseFraction >= 0, noiseFraction <= 1 else {
            throw ParameterError(key: "noiseFraction", value: "\(noiseFraction)", allowed: "0...1")
        }
        guard lifetime.lowerBound >= 1, lifetime.upperBound <= Self.longest else {
            throw ParameterError(key: "lifetime", value: "\(lifetime)", allowed: "a range of points in 1...\(Self.longest)")
        }
        guard gap.lowerBound >= 0, gap.upperBound <= Self.longest else {
            throw ParameterError(key: "gap", value: "\(gap)", allowed: "a range of points in 0...\(Self.longest)")
        }
        guard speed.lowerBound >= 0, speed.upperBound.isFinite else {
            throw ParameterError(key: "speed", value: "\(speed)", allowed: "a finite range >= 0")
        }
        guard spread.lowerBound > 0, spread.upperBound.isFinite else {
            throw ParameterError(key: "spread", value: "\(spread)", allowed: "a finite range > 0")
        }
        guard weight.lowerBound > 0, weight.upperBound.isFinite else {
            throw ParameterError(key: "weight", value: "\(weight)", allowed: "a finite range > 0")
        }
        guard circularFraction >= 0, circularFraction <= 1 else {
            throw ParameterError(key: "circularFraction", value: "\(circularFraction)", allowed: "0...1")
        }
        self.dimension = dimension
        self.clusterCount = clusterCount
        self.noiseFraction = noiseFraction
        self.lifetime = lifetime
        self.gap = gap
        self.speed = speed
        self.spread = spread
        self.weight = weight
        self.circularFraction = circularFraction
    }
}
