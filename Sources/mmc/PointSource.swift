import MMCDevTools

/// The points to send, loaded.
enum PointSource: Sendable {
    /// Rows of a data file, with labels if given, repeated `passes` times (`nil`: forever).
    case table(values: [Double], dimension: Int, labels: [Int]?, passes: Int?)
    /// The drifting stream, without end.
    case drift(DriftingStream)

    /// Coordinates per point.
    var dimension: Int {
        switch self {
        case .table(_, let dimension, _, _): dimension
        case .drift(let stream): stream.parameters.dimension
        }
    }

    /// How many points there are, `nil` for a source without end.
    var length: Int? {
        switch self {
        case .table(let values, let dimension, _, let passes): passes.map { $0 * (values.count / dimension) }
        case .drift: nil
        }
    }

    /// Points `position ..< position + count` of the source (a table wraps around): their
    /// coordinates, row-major, and their labels if the source has them.
    func points(from position: Int, count: Int) -> (values: [Double], labels: [Int]?) {
        switch self {
        case .drift(let stream):
            let batch = stream.points(in: position..<(position + count))
            return (batch.values, batch.labels)
        case .table(let values, let dimension, let labels, _):
            let rows = values.count / dimension
            var chunk = [Double]()
            chunk.reserveCapacity(count * dimension)
            var chunkLabels = labels.map { _ in [Int]() }
            for offset in 0..<count {
                let row = (position + offset) % rows
                chunk.append(contentsOf: values[(row * dimension)..<((row + 1) * dimension)])
                if let labels { chunkLabels?.append(labels[row]) }
            }
            return (chunk, chunkLabels)
        }
    }
}
