#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Grows one tree, iForest-style, from a subsample into heap-ordered arrays.
struct TreeGrower {
    /// The subsample, row-major; partitioning moves only row numbers.
    let sample: [Double]
    let dimension: Int
    let height: Int
    var rows: [Int]
    /// The current node's box; a split narrows it for the children and restores it after.
    var lower: [Double]
    var upper: [Double]
    let bounded: [Bool]
    /// Per-dimension minimum and maximum of the current node's rows (scratch).
    var minima: [Double]
    var maxima: [Double]
    var splitDimensions: [Int32]
    var splitValues: [Double]
    var logVolumes: [Double]

    init(sample: [Double], dimension: Int, height: Int, box: PaddedBox, nodeCount: Int) {
        self.sample = sample
        self.dimension = dimension
        self.height = height
        rows = Array(0..<(sample.count / dimension))
        lower = box.lower
        upper = box.upper
        bounded = (0..<dimension).map(box.isBounded)
        minima = Array(repeating: 0, count: dimension)
        maxima = Array(repeating: 0, count: dimension)
        splitDimensions = Array(repeating: -1, count: nodeCount)
        splitValues = Array(repeating: 0, count: nodeCount)
        logVolumes = Array(repeating: -.infinity, count: nodeCount)
    }

    mutating func grow(node: Int, depth: Int, rows range: Range<Int>, generator: inout SeededGenerator) {
        logVolumes[node] = (0..<dimension).reduce(0.0) { sum, j in
            bounded[j] ? sum + log(upper[j] - lower[j]) : sum
        }
        guard depth < height, range.count >= 2 else { return }
        minima.withUnsafeMutableBufferPointer { $0.update(repeating: .infinity) }
        maxima.withUnsafeMutableBufferPointer { $0.update(repeating: -.infinity) }
        for row in rows[range] {
            for j in 0..<dimension {
                let value = sample[row * dimension + j]
                minima[j] = min(minima[j], value)
                maxima[j] = max(maxima[j], value)
            }
        }
        let varying = (0..<dimension).filter { maxima[$0] > minima[$0] }
        guard !varying.isEmpty else { return }
        let splitDimension = varying[generator.nextInt(below: varying.count)]
        let low = minima[splitDimension]
        let high = maxima[splitDimension]
        // Uniform in (low, high], so both children get at least one row and every box width
        // stays positive; the clamps undo rounding.
        var split = low + (1 - generator.nextDouble()) * (high - low)
        if !(split > low) {
            split = low.nextUp
        }
        split = min(split, high)
        splitDimensions[node] = Int32(splitDimension)
        splitValues[node] = split

        var middle = range.lowerBound
        for position in range where sample[rows[position] * dimension + splitDimension] < split {
            rows.swapAt(position, middle)
            middle += 1
        }
        let savedUpper = upper[splitDimension]
        upper[splitDimension] = split
        grow(node: 2 * node + 1, depth: depth + 1, rows: range.lowerBound..<middle, generator: &generator)
        upper[splitDimension] = savedUpper
        let savedLower = lower[splitDimension]
        lower[splitDimension] = split
        grow(node: 2 * node + 2, depth: depth + 1, rows: middle..<range.upperBound, generator: &generator)
        lower[splitDimension] = savedLower
    }
}
