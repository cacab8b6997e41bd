import MassClustering
import MMCDevTools

/// A set of points a benchmark section runs on: the rows of a data file, or a stretch of the
/// seeded drifting stream (the one `mmc feed --generate drift` sends: Gaussian clusters of
/// different spreads and weights in 5% uniform noise, in the unit square by default).
struct BenchPoints {
    /// Where the points come from, for the report: a path, or `drift seed S, points 0..<N`.
    let source: String
    /// Coordinates per point.
    let dimension: Int
    /// Row-major coordinates.
    let values: [Double]

    /// The number of points.
    var count: Int { values.count / dimension }

    /// Points `0..<count` of the drifting stream with the given seed and `mmc feed`'s defaults.
    static func drift(count: Int, seed: UInt64) -> BenchPoints {
        let stream = DriftingStream(parameters: DriftOptions.defaults, seed: seed)
        return BenchPoints(
            source: "drift seed \(seed), points 0..<\(count)", dimension: stream.parameters.dimension,
            values: stream.points(in: 0..<count).values)
    }

    /// The rows of a data file, as `mmc cluster` reads it.
    ///
    /// - Throws: ``FileError`` for a file that cannot be read or parsed, or holds no points.
    static func file(_ path: String) throws(FileError) -> BenchPoints {
        let table = try DataFile(path: path).table
        guard table.rowCount > 0 else {
            throw FileError(path: GzipReader.displayName(path), reason: "holds no points")
        }
        return BenchPoints(source: path, dimension: table.columnCount, values: table.values)
    }

    /// The points as a matrix.
    var matrix: PointMatrix { PointMatrix(count: count, dimension: dimension, values: values) }
}
