import MassClustering
import MMCPlot
import MMCTestSupport
import Testing

@Suite(.tags(.unit)) struct PrincipalComponentsTests {
    /// Correlated seeded points: independent uniforms of decreasing spread, mixed by a fixed
    /// matrix, so no component lies along a feature axis.
    private static func correlated(count: Int, seed: UInt64) -> PointMatrix {
        var generator = SeededGenerator(seed: seed)
        let spreads = [5.0, 2.0, 1.0, 0.3]
        let mix: [[Double]] = [[0.6, 0.5, -0.3, 0.2], [-0.4, 0.7, 0.4, 0.1], [0.3, -0.2, 0.8, 0.5], [0.2, 0.3, -0.1, 0.9]]
        var values: [Double] = []
        for _ in 0..<count {
            let source = spreads.map { $0 * (generator.nextDouble() - 0.5) }
            for row in mix { values.append(zip(row, source).reduce(3) { $0 + $1.0 * $1.1 }) }
        }
        return PointMatrix(count: count, dimension: 4, values: values)
    }

    /// The variance of the points along a unit direction, computed directly from the points.
    private static func variance(_ points: PointMatrix, along direction: [Double]) -> Double {
        let projected = (0..<points.count).map { row in
            (0..<points.dimension).reduce(0) { $0 + points[row, $1] * direction[$1] }
        }
        let mean = projected.reduce(0, +) / Double(projected.count)
        return projected.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(projected.count)
    }

    private static func randomUnit(_ generator: inout SeededGenerator, dimension: Int, orthogonalTo other: [Double]?) -> [Double] {
        var vector = (0..<dimension).map { _ in generator.nextDouble() - 0.5 }
        if let other {
            let along = zip(vector, other).reduce(0) { $0 + $1.0 * $1.1 }
            vector = zip(vector, other).map { $0 - along * $1 }
        }
        let length = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return vector.map { $0 / length }
    }

    @Test func theFirstComponentCarriesMoreVarianceThanAnyOtherDirection() {
        let points = Self.correlated(count: 2_000, seed: 11)
        let pca = PrincipalComponents(points)
        let first = Self.variance(points, along: pca.first)
        let second = Self.variance(points, along: pca.second)
        #expect(abs(first - pca.variances.0) <= 1e-9 * first)
        #expect(abs(second - pca.variances.1) <= 1e-9 * first)
        #expect(abs(zip(pca.first, pca.second).reduce(0) { $0 + $1.0 * $1.1 }) < 1e-9)
        #expect(abs(pca.first.reduce(0) { $0 + $1 * $1 } - 1) < 1e-12)

        var generator = SeededGenerator(seed: 12)
        var largest = 0.0
        var largestOrthogonal = 0.0
        for _ in 0..<300 {
            largest = max(largest, Self.variance(points, along: Self.randomUnit(&generator, dimension: 4, orthogonalTo: nil)))
            let orthogonal = Self.randomUnit(&generator, dimension: 4, orthogonalTo: pca.first)
            largestOrthogonal = max(largestOrthogonal, Self.variance(points, along: orthogonal))
        }
        #expect(largest <= first * (1 + 1e-9))
        #expect(largestOrthogonal <= second * (1 + 1e-9))
        // The random directions come close, so the oracle is not vacuous.
        #expect(largest >= 0.9 * first)
        let ratio = pca.explainedVarianceRatio
        #expect(ratio.0 > ratio.1 && ratio.0 + ratio.1 <= 1 + 1e-12)
    }

    @Test func aKnownLineIsFoundWithAFixedSign() {
        // Points on the line y = 2x, each with a small wiggle to both sides along (-2, 1): PC1 is
        // exactly (1, 2) / sqrt(5).
        let rows = (0..<200).flatMap { index -> [[Double]] in
            let t = Double(index) / 10
            return [0.01, -0.01].map { wiggle in [t - 2 * wiggle, 2 * t + wiggle] }
        }
        let pca = PrincipalComponents(PointMatrix(rows: rows))
        #expect(abs(pca.first[0] - 1 / 5.0.squareRoot()) < 1e-9)
        #expect(abs(pca.first[1] - 2 / 5.0.squareRoot()) < 1e-9)
        #expect(pca.explainedVarianceRatio.0 > 0.999)
    }

    @Test func theResultDependsOnTheInputAlone() {
        let points = Self.correlated(count: 500, seed: 13)
        let a = PrincipalComponents(points)
        let b = PrincipalComponents(points)
        #expect(a.first == b.first && a.second == b.second)
        let projected = a.project(points)
        #expect(projected.x.count == 500 && projected.y.count == 500)
        #expect(abs(projected.x.reduce(0, +)) < 1e-9 * 500)
    }
}
