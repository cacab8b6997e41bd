/// A dense matrix of `count` points in `dimension` features, stored flat and row-major.
///
/// Point `i` occupies `values[i * dimension ..< (i + 1) * dimension]`. One contiguous array keeps
/// the k-d tree and the distance loops cache friendly and lets them read through a single
/// unsafe buffer instead of an array of arrays.
///
/// ```swift
/// let points = PointMatrix(rows: [[0, 10], [1, 20], [2, 30]])
/// points[1, 1]              // 20
/// points.minMaxScaled()[1, 1] // 0.5
/// ```
public struct PointMatrix: Sendable, Equatable {
    /// Number of points (rows).
    public let count: Int
    /// Number of features (columns).
    public let dimension: Int
    /// Coordinates, row-major: `count * dimension` values.
    public let values: [Double]

    /// Wraps a flat row-major array.
    ///
    /// - Precondition: `values.count == count * dimension` and every value is finite.
    public init(count: Int, dimension: Int, values: [Double]) {
        precondition(count >= 0 && dimension >= 0, "PointMatrix: negative shape \(count) x \(dimension)")
        precondition(
            values.count == count * dimension,
            "PointMatrix: \(values.count) values for \(count) x \(dimension)")
        precondition(values.allSatisfy(\.isFinite), "PointMatrix: coordinates must be finite")
        self.count = count
        self.dimension = dimension
        self.values = values
    }

    /// Copies rows of equal length; an empty list gives a 0 x 0 matrix.
    ///
    /// - Precondition: every row has the length of the first one.
    public init(rows: [[Double]]) {
        let dimension = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == dimension }, "PointMatrix: rows of unequal length")
        self.init(count: rows.count, dimension: dimension, values: rows.flatMap { $0 })
    }

    /// Coordinate `column` of point `row`.
    @inlinable
    public subscript(row: Int, column: Int) -> Double {
        values[row * dimension + column]
    }

    /// The coordinates of point `index`.
    public func row(_ index: Int) -> ArraySlice<Double> {
        values[index * dimension..<(index + 1) * dimension]
    }

    /// Each feature rescaled linearly to [0, 1]; a feature with zero range becomes all 0.
    ///
    /// Puts features measured in different units on an equal footing before Euclidean
    /// neighbour search, as the evaluation protocol does.
    ///
    /// - Complexity: O(`count` * `dimension`).
    public func minMaxScaled() -> PointMatrix {
        guard count > 0 else { return self }
        var lower = [Double](repeating: .infinity, count: dimension)
        var upper = [Double](repeating: -.infinity, count: dimension)
        for row in 0..<count {
            for column in 0..<dimension {
                let value = values[row * dimension + column]
                lower[column] = min(lower[column], value)
                upper[column] = max(upper[column], value)
            }
        }
        let scale = (0..<dimension).map { upper[$0] > lower[$0] ? 1 / (upper[$0] - lower[$0]) : 0 }
        return rescaled(lower: lower, scale: scale, bounds: 0...1)
    }

    /// Every value `v` of feature `c` mapped to `(v - lower[c]) * scale[c]`, kept within
    /// `bounds`.
    ///
    /// Multiplying by a precomputed reciprocal keeps the loop free of divisions; a scale of 0
    /// zeroes a constant feature. The default bounds keep a reading far outside the scale
    /// (up to 1e100 times it) far away, yet its squared distances finite.
    ///
    /// - Complexity: O(`count` * `dimension`).
    func rescaled(lower: [Double], scale: [Double], bounds: ClosedRange<Double> = -1e100...1e100) -> PointMatrix {
        var scaled = values
        for row in 0..<count {
            for column in 0..<dimension {
                let index = row * dimension + column
                let value = (values[index] - lower[column]) * scale[column]
                // An overflow to infinity times a zero scale is the only way to NaN.
                scaled[index] = value.isNaN ? 0 : min(max(value, bounds.lowerBound), bounds.upperBound)
            }
        }
        return PointMatrix(count: count, dimension: dimension, values: scaled)
    }
}
