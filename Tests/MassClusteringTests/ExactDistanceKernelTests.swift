import CMassKernels
import MassClustering
import MMCTestSupport
import Testing

@Suite("Exact distance kernel", .tags(.unit))
struct ExactDistanceKernelTests {
    /// The sum of a plain loop: the reference every exact distance of the neighbour search is.
    private static func plainSquaredDistance(_ rows: [Double], _ a: Int, _ b: Int, dimension d: Int) -> Double {
        var sum = 0.0
        for column in 0..<d {
            let delta = rows[a * d + column] - rows[b * d + column]
            sum += delta * delta
        }
        return sum
    }

    @Test(
        "pairs in groups of eight and alone are the plain loop's sums bit for bit",
        arguments: [1, 3, 4, 5, 8, 63, 64, 67])
    func bitForBit(dimension d: Int) {
        var generator = SeededGenerator(seed: UInt64(d))
        let rowCount = 40
        // Magnitudes from 1e-3 to 1e3 make the order of the additions visible in the last bits.
        let rows = (0..<rowCount * d).map { _ in
            Double.random(in: -1...1, using: &generator) * [1e-3, 1, 1e3][Int.random(in: 0..<3, using: &generator)]
        }
        for count in [1, 7, 8, 9, 16, 23] {
            let first = (0..<count).map { _ in Int32.random(in: 0..<Int32(rowCount), using: &generator) }
            let second = (0..<count).map { _ in Int32.random(in: 0..<Int32(rowCount), using: &generator) }
            var distances = [Double](repeating: -1, count: count)
            mmc_exact_squared_distances(rows, d, first, second, count, &distances)
            let expected = (0..<count).map {
                Self.plainSquaredDistance(rows, Int(first[$0]), Int(second[$0]), dimension: d)
            }
            #expect(distances.map(\.bitPattern) == expected.map(\.bitPattern), "d \(d), \(count) pairs")
        }
    }
}
