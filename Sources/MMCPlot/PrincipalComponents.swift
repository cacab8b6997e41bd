public import MassClustering

/// The first two principal components of a point matrix: the directions of largest and
/// second-largest variance, found by power iteration on the covariance matrix.
///
/// The covariance matrix `C` (d x d) is accumulated in one pass over the points. Power
/// iteration (`v <- C v / |C v|`) from a start drawn with a fixed seed converges to the
/// eigenvector of the largest eigenvalue; the second component is found the same way while
/// keeping the iterate orthogonal to the first (Gram-Schmidt). Each component's sign is fixed
/// so that its largest coordinate is positive, so the result is a pure function of the input.
/// When eigenvalues tie, any vector of their eigenspace is a valid answer and the iteration
/// settles on one of them.
///
/// Large inputs are fitted on evenly strided rows, at most `max(500, 20,000,000 / d^2)` of them,
/// so the covariance pass stays near 10^7 operations; a direction of largest variance does not
/// need every point to be found.
///
/// ```swift
/// let points = PointMatrix(rows: [[0, 0, 0], [1, 1, 0], [2, 2, 0.1], [3, 3, 0]])
/// let pca = PrincipalComponents(points)
/// pca.first       // about [0.707, 0.707, 0]
/// pca.explainedVarianceRatio.0   // about 0.999
/// ```
///
/// - Complexity: O(m d^2 + i d^2) for `m` fitted rows and `i` iterations (at most 1,000 per
///   component).
public struct PrincipalComponents: Sendable {
    /// The mean of every feature.
    public let mean: [Double]
    /// The first component: a unit vector of `dimension` values.
    public let first: [Double]
    /// The second component: a unit vector orthogonal to ``first`` (all zeros in one dimension).
    public let second: [Double]
    /// The variance along ``first`` and along ``second`` (the two largest eigenvalues).
    public let variances: (Double, Double)
    /// The total variance (the covariance matrix's trace).
    public let totalVariance: Double

    /// The share of the total variance along each component, 0 when the points do not vary.
    public var explainedVarianceRatio: (Double, Double) {
        guard totalVariance > 0 else { return (0, 0) }
        return (variances.0 / totalVariance, variances.1 / totalVariance)
    }

    /// Fits the components of `points`.
    ///
    /// - Precondition: `points.dimension >= 1`.
    public init(_ points: PointMatrix) {
        let dimension = points.dimension
        precondition(dimension >= 1, "PrincipalComponents: points need at least one feature")
        let step = Self.fittedRowStep(count: points.count, dimension: dimension)
        let rows = stride(from: 0, to: points.count, by: step)
        var mean = [Double](repeating: 0, count: dimension)
        var covariance = [Double](repeating: 0, count: dimension * dimension)
        points.values.withUnsafeBufferPointer { values in
            for row in rows {
                for column in 0..<dimension { mean[column] += values[row * dimension + column] }
            }
            let fitted = Double(max((points.count + step - 1) / step, 1))
            for column in 0..<dimension { mean[column] /= fitted }
            var centred = [Double](repeating: 0, count: dimension)
            for row in rows {
                for column in 0..<dimension { centred[column] = values[row * dimension + column] - mean[column] }
                // Upper triangle only; mirrored below.
                for i in 0..<dimension {
                    let scaled = centred[i]
                    for j in i..<dimension { covariance[i * dimension + j] += scaled * centred[j] }
                }
            }
            for i in 0..<dimension {
                for j in i..<dimension {
                    covariance[i * dimension + j] /= fitted
                    covariance[j * dimension + i] = covariance[i * dimension + j]
                }
            }
        }
        var generator = SeededGenerator(seed: 0x5043_4131)
        let first = Self.dominantEigenvector(covariance, dimension: dimension, orthogonalTo: nil, &generator)
        let second = Self.dominantEigenvector(covariance, dimension: dimension, orthogonalTo: first, &generator)
        self.mean = mean
        self.first = first
        self.second = second
        variances = (
            Self.rayleighQuotient(covariance, first, dimension: dimension),
            Self.rayleighQuotient(covariance, second, dimension: dimension)
        )
        totalVariance = (0..<dimension).reduce(0) { $0 + covariance[$1 * dimension + $1] }
    }

    /// The coordinates of every point along the two components (centred on ``mean``), as two
    /// flat arrays.
    ///
    /// - Complexity: O(n d).
    public func project(_ points: PointMatrix) -> (x: [Double], y: [Double]) {
        let dimension = points.dimension
        precondition(dimension == mean.count, "PrincipalComponents: fitted on \(mean.count) features, not \(dimension)")
        var x = [Double](repeating: 0, count: points.count)
        var y = [Double](repeating: 0, count: points.count)
        points.values.withUnsafeBufferPointer { values in
            for row in 0..<points.count {
                var along = (0.0, 0.0)
                for column in 0..<dimension {
                    let centred = values[row * dimension + column] - mean[column]
                    along.0 += centred * first[column]
                    along.1 += centred * second[column]
                }
                x[row] = along.0
                y[row] = along.1
            }
        }
        return (x, y)
    }

    /// The stride between fitted rows: 1, or enough to fit at most `max(500, 2e7 / d^2)` rows.
    private static func fittedRowStep(count: Int, dimension: Int) -> Int {
        let limit = max(500, 20_000_000 / (dimension * dimension))
        return count > limit ? (count + limit - 1) / limit : 1
    }

    /// The unit eigenvector of the largest eigenvalue of the symmetric matrix `matrix`, within the
    /// complement of `excluded` if given; zeros when that space is empty or the matrix is zero
    /// there.
    private static func dominantEigenvector(
        _ matrix: [Double], dimension: Int, orthogonalTo excluded: [Double]?, _ generator: inout SeededGenerator
    ) -> [Double] {
        var vector = (0..<dimension).map { _ in generator.nextDouble() - 0.5 }
        var next = [Double](repeating: 0, count: dimension)
        func orthogonalize(_ v: inout [Double]) {
            guard let excluded else { return }
            let along = zip(v, excluded).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<dimension { v[i] -= along * excluded[i] }
        }
        orthogonalize(&vector)
        guard normalize(&vector) else { return [Double](repeating: 0, count: dimension) }
        for _ in 0..<1_000 {
            for i in 0..<dimension {
                var sum = 0.0
                for j in 0..<dimension { sum += matrix[i * dimension + j] * vector[j] }
                next[i] = sum
            }
            orthogonalize(&next)
            guard normalize(&next) else { return [Double](repeating: 0, count: dimension) }
            let change = zip(next, vector).reduce(0) { max($0, abs($1.0 - $1.1)) }
            swap(&vector, &next)
            if change < 1e-12 { break }
        }
        // A fixed sign: the largest coordinate is positive.
        if let largest = vector.indices.max(by: { abs(vector[$0]) < abs(vector[$1]) }), vector[largest] < 0 {
            for i in 0..<dimension { vector[i] = -vector[i] }
        }
        return vector
    }

    /// Scales `vector` to unit length; `false` when it is (numerically) zero.
    private static func normalize(_ vector: inout [Double]) -> Bool {
        let length = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard length > 1e-300 else { return false }
        for i in vector.indices { vector[i] /= length }
        return true
    }

    /// `v^T M v` for a unit vector `v`: the variance along `v`.
    private static func rayleighQuotient(_ matrix: [Double], _ vector: [Double], dimension: Int) -> Double {
        var sum = 0.0
        for i in 0..<dimension {
            for j in 0..<dimension { sum += vector[i] * matrix[i * dimension + j] * vector[j] }
        }
        return sum
    }
}
