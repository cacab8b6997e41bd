import MMCDevTools
import MassClustering

/// Where the points come from, before anything is read.
enum SourcePlan: Sendable {
    /// A data file with optional labels, sent `passes` times (`nil`: without end).
    case file(path: String, labels: String?, passes: Int?)
    /// The drifting stream.
    case drift(DriftingStream)

    /// Reads the file and its labels, if any.
    ///
    /// - Throws: ``FileError`` for a file that cannot be read or labels that do not fit it.
    func load() throws(FileError) -> PointSource {
        switch self {
        case .drift(let stream):
            return .drift(stream)
        case .file(let path, let labelsPath, let passes):
            let data = try DataFile(path: path)
            let table = data.table
            guard table.rowCount > 0 else {
                throw FileError(path: GzipReader.displayName(path), reason: "holds no points")
            }
            let labels = try labelsPath.map { labelsPath throws(FileError) in
                try DataFile.readLabels(labelsPath, rows: table.rowCount)
            }
            return .table(values: table.values, dimension: table.columnCount, labels: labels, passes: passes)
        }
    }
}
