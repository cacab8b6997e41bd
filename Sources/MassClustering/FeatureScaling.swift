/// How each feature of a window is put on a common scale before the neighbour search.
///
/// Euclidean distances weigh every feature by its units, so features are mapped linearly to a
/// common scale first. ``robust`` (the default) maps the window's *body* to [0, 1] and keeps
/// readings far outside it far away: a spike reading (a dropped decimal point, a saturated
/// converter) cannot squeeze the other readings into a sliver of one axis, as the bounding box
/// of ``window`` lets it (docs/algorithm.md, "Scaling").
///
/// ```swift
/// let points = PointMatrix(rows: [[0], [1], [2], [3], [1e6]])
/// FeatureScaling.window.scaled(points)[1, 0] // 1e-6: the spike sets the scale
/// FeatureScaling.robust.scaled(points)[1, 0] // 0.333...: the spike lies at 333,333
/// ```
public enum FeatureScaling: Sendable, Hashable {
    /// Per feature, the bounding box of the readings within the fences of the central 90%
    /// (``bodyQuantile`` to its complement, widened by ``fenceFactor`` times its width on each
    /// side) maps to [0, 1]; readings beyond the fences keep their distance, in the same units.
    case robust
    /// Per feature, the window's bounding box maps to [0, 1] (``PointMatrix/minMaxScaled()``).
    case window
    /// The values as they are.
    case none
    /// Per feature, a known physical range maps to [0, 1]: `lower[i]` to 0, `upper[i]` to 1;
    /// readings more than ``fenceFactor`` widths outside it are far, as beyond robust fences.
    case fixed(lower: [Double], upper: [Double])

    /// The share of readings below (and above) the robust scale's body: readings at up to
    /// this share on either side, wherever they lie, cannot move the body.
    public static let bodyQuantile = 0.05
    /// How far beyond the body (or a fixed range), in multiples of its width, a reading still
    /// counts as near.
    public static let fenceFactor = 3.0

    /// The names of the rules, as the configuration and the command line spell them.
    public enum Rule: String, Sendable, Hashable, CaseIterable {
        case robust, window, none, fixed
    }

    /// This scaling's rule.
    public var rule: Rule {
        switch self {
        case .robust: .robust
        case .window: .window
        case .none: .none
        case .fixed: .fixed
        }
    }

    /// The scaling of `rule`; `ranges` are the per-feature ranges of a fixed scaling.
    ///
    /// - Throws: ``ParameterError`` for a fixed rule without valid ranges (key
    ///   `scalingRanges`, see ``fixed(ranges:)``) or ranges given to another rule.
    public init(rule: Rule, ranges: [[Double]] = []) throws(ParameterError) {
        guard rule == .fixed || ranges.isEmpty else {
            throw ParameterError(key: "scalingRanges", value: "\(ranges)", allowed: "none unless the scaling is fixed")
        }
        switch rule {
        case .robust: self = .robust
        case .window: self = .window
        case .none: self = .none
        case .fixed: self = try .fixed(ranges: ranges)
        }
    }

    /// A fixed scaling from per-feature ranges, validated.
    ///
    /// - Throws: ``ParameterError`` (key `scalingRanges`) unless every range is a pair of
    ///   finite numbers with the lower one smaller.
    public static func fixed(ranges: [[Double]]) throws(ParameterError) -> FeatureScaling {
        guard !ranges.isEmpty else {
            throw ParameterError(key: "scalingRanges", value: "[]", allowed: "one [lower, upper] pair per feature")
        }
        for (feature, range) in ranges.enumerated()
        where !(range.count == 2 && range.allSatisfy(\.isFinite) && range[0] < range[1]) {
            throw ParameterError(
                key: "scalingRanges", value: "\(range) (feature \(feature))",
                allowed: "a pair [lower, upper] of finite numbers with lower < upper")
        }
        return .fixed(lower: ranges.map { $0[0] }, upper: ranges.map { $0[1] })
    }

    /// `points` on this scale.
    ///
    /// - Precondition: a fixed scaling has one range per feature of `points`.
    /// - Complexity: O(n d) for ``window``, ``none`` and ``fixed``; O(n d) expected for
    ///   ``robust`` (a selection of two order statistics per feature).
    public func scaled(_ points: PointMatrix, threads: Int = 1) -> PointMatrix {
        scaledMarkingFar(points, threads: threads).points
    }

    /// `points` on this scale, and which of them lie far outside it on some feature, to pass to
    /// ``cluster(_:parameters:far:)``: beyond the robust fences, or more than ``fenceFactor``
    /// widths outside a fixed range; none for the bounding box (nothing lies outside it) and for
    /// unscaled values (no range to judge by). The robust rule's features and rows are spread
    /// over up to `threads` threads; the result is the same for any.
    ///
    /// - Complexity: as ``scaled(_:threads:)``.
    public func scaledMarkingFar(_ points: PointMatrix, threads: Int = 1) -> (points: PointMatrix, far: [Bool]) {
        let near = [Bool](repeating: false, count: points.count)
        switch self {
        case .none:
            return (points, near)
        case .window:
            return (points.minMaxScaled(), near)
        case .fixed(let lower, let upper):
            precondition(
                lower.count == points.dimension,
                "FeatureScaling: \(lower.count) fixed ranges for \(points.dimension) features")
            var far = near
            for row in 0..<points.count {
                for feature in 0..<points.dimension {
                    let margin = Self.fenceFactor * (upper[feature] - lower[feature])
                    let value = points[row, feature]
                    if value < lower[feature] - margin || value > upper[feature] + margin { far[row] = true }
                }
            }
            return (points.rescaled(lower: lower, scale: zip(lower, upper).map { 1 / ($1 - $0) }), far)
        case .robust:
            guard points.count > 0 else { return (points, near) }
            let n = points.count, d = points.dimension
            // Features on the pool, then rows: every write goes to the feature's or the row's
            // own slot, so the result is the same for any `threads`.
            var ranges = [(lower: Double, upper: Double, fences: ClosedRange<Double>)](
                repeating: (0, 0, 0...0), count: d)
            ranges.withUnsafeMutableBufferPointer { ranges in
                let output = ChunkOutput(buffer: ranges)
                forEachChunk(count: d, chunkSize: 1, threads: threads) { features in
                    var column = [Double](repeating: 0, count: n)
                    for feature in features {
                        for row in 0..<n { column[row] = points[row, feature] }
                        output.buffer[feature] = Self.robustRange(of: &column)
                    }
                }
            }
            let bounds = ranges
            var far = near
            far.withUnsafeMutableBufferPointer { far in
                let output = ChunkOutput(buffer: far)
                forEachChunk(count: n, chunkSize: 4_096, threads: threads) { rows in
                    for row in rows {
                        output.buffer[row] = (0..<d).contains { !bounds[$0].fences.contains(points[row, $0]) }
                    }
                }
            }
            return (
                points.rescaled(
                    lower: ranges.map(\.lower),
                    scale: ranges.map { $0.upper > $0.lower ? 1 / ($0.upper - $0.lower) : 0 }),
                far)
        }
    }

    /// The values of ranks `lower` and `upper` (0-based, `lower <= upper`) of `values`.
    ///
    /// A sorted sample of 512 values spread over the array brackets each rank; one pass counts
    /// the values below each bracket and collects those inside, and the rank is selected among
    /// the few collected. Exact whatever the sample: a bracket that misses its rank (or
    /// collects more than an eighth of the values) falls back to quickselect over all of them.
    /// The pass's comparisons mostly go the same way, where every round of quickselect's
    /// partition mispredicts about every other value.
    static func ranked(_ values: inout [Double], _ lower: Int, _ upper: Int) -> (Double, Double) {
        let n = values.count, sampleSize = 512, margin = 24
        func quickselect() -> (Double, Double) {
            selectRank(&values, rank: lower, in: 0..<n)
            // Everything after the lower rank is at least its value, so the upper rank lies there.
            if upper > lower { selectRank(&values, rank: upper, in: lower + 1..<n) }
            return (values[lower], values[upper])
        }
        guard n >= 16 * sampleSize else { return quickselect() }
        var sample = (0..<sampleSize).map { values[$0 * n / sampleSize] }
        sample.sort()
        func bracket(_ rank: Int) -> (Double, Double) {
            let position = rank * sampleSize / n
            return (
                position - margin < 0 ? -.infinity : sample[position - margin],
                position + margin >= sampleSize ? .infinity : sample[position + margin])
        }
        let (lowerFrom, lowerTo) = bracket(lower), (upperFrom, upperTo) = bracket(upper)
        let capacity = n / 8
        var lowerInside = [Double](), upperInside = [Double]()
        lowerInside.reserveCapacity(capacity)
        upperInside.reserveCapacity(capacity)
        var lowerBelow = 0, upperBelow = 0
        for value in values {
            lowerBelow &+= value < lowerFrom ? 1 : 0
            upperBelow &+= value < upperFrom ? 1 : 0
            if value >= lowerFrom && value <= lowerTo {
                guard lowerInside.count < capacity else { return quickselect() }
                lowerInside.append(value)
            }
            if value >= upperFrom && value <= upperTo {
                guard upperInside.count < capacity else { return quickselect() }
                upperInside.append(value)
            }
        }
        guard lowerBelow <= lower, lower < lowerBelow + lowerInside.count,
            upperBelow <= upper, upper < upperBelow + upperInside.count
        else { return quickselect() }
        selectRank(&lowerInside, rank: lower - lowerBelow, in: 0..<lowerInside.count)
        selectRank(&upperInside, rank: upper - upperBelow, in: 0..<upperInside.count)
        return (lowerInside[lower - lowerBelow], upperInside[upper - upperBelow])
    }

    /// The robust range of one feature's values: the smallest and largest value within the
    /// fences of the body; when the body has no width (most readings share one value), the
    /// whole range, as there is no spread to measure far against.
    ///
    /// The body's ends are order statistics, found by selection rather than a sort of the
    /// feature (``ranked(_:_:_:)``; `values` may be left partly reordered); every bound is one
    /// of the values, the same a sort would give (a sort may give a zero of the other sign
    /// where `-0.0` and `0.0` tie).
    ///
    /// - Complexity: O(n) expected, O(n log n) at worst.
    static func robustRange(of values: inout [Double]) -> (lower: Double, upper: Double, fences: ClosedRange<Double>) {
        let last = values.count - 1
        let lowerRank = Int((bodyQuantile * Double(last)).rounded(.down))
        let upperRank = Int(((1 - bodyQuantile) * Double(last)).rounded(.up))
        let (bodyLower, bodyUpper) = ranked(&values, lowerRank, upperRank)
        let width = bodyUpper - bodyLower
        guard width > 0 else {
            let (smallest, largest) = values.reduce((values[0], values[0])) { (min($0.0, $1), max($0.1, $1)) }
            return (smallest, largest, smallest...largest)
        }
        let fences = (bodyLower - fenceFactor * width)...(bodyUpper + fenceFactor * width)
        // The body lies within its fences, so both searches find a value.
        var first = bodyLower, end = bodyUpper
        for value in values where fences.contains(value) {
            first = min(first, value)
            end = max(end, value)
        }
        return (first, end, fences)
    }
}
