import MassClustering

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A numeric data file read from disk or standard input.
///
/// The bytes come from ``GzipReader`` (so `.gz` files and gzipped standard input work) and are
/// parsed by `DelimitedParser`: comma- or whitespace-separated numbers, an optional header line
/// of column names, `#` comments and blank lines skipped.
struct DataFile {
    /// The path as given, `-` for standard input.
    let path: String
    /// The parsed rows.
    let table: DelimitedTable

    /// Reads and parses `path` (`-` for standard input), a large file on up to `threads` threads.
    ///
    /// - Throws: ``FileError`` naming the path and, for a parse error, the line and column.
    init(path: String, threads: Int = 1) throws(FileError) {
        try self.init(path: path, bytes: try GzipReader.readAll(path: path), threads: threads)
    }

    /// Parses `bytes` already read from `path`.
    ///
    /// - Throws: ``FileError`` naming the path, the line and the column.
    init(path: String, bytes: [UInt8], threads: Int = 1) throws(FileError) {
        do {
            table = try DelimitedParser.parse(bytes, threads: threads)
        } catch {
            throw FileError(path: GzipReader.displayName(path), reason: error.description)
        }
        self.path = path
    }

    /// The rows as a point matrix.
    var points: PointMatrix {
        PointMatrix(count: table.rowCount, dimension: table.columnCount, values: table.values)
    }

    /// The column names from the header, or `x1`, `x2`, ... when there is none.
    var featureNames: [String] {
        table.columnNames ?? (1...table.columnCount).map { "x\($0)" }
    }
}

extension DataFile {
    /// One integer label per row from `path`.
    static func readLabels(_ path: String, rows: Int) throws(FileError) -> [Int] {
        let table = try DataFile(path: path).table
        let name = GzipReader.displayName(path)
        guard table.columnCount == 1, table.rowCount == rows else {
            throw FileError(path: name, reason: "expected \(rows) rows of one label each, got \(table.rowCount) rows of \(table.columnCount) columns")
        }
        return try table.values.enumerated().map { row, value throws(FileError) in
            guard let label = Int(exactly: value) else {
                throw FileError(path: name, reason: "row \(row + 1): label \(value) is not an integer")
            }
            return label
        }
    }
}

/// A file or stream that could not be read, parsed or written.
struct FileError: Error, CustomStringConvertible {
    /// The path, or a name such as `standard input`.
    let path: String
    /// What went wrong.
    let reason: String

    /// An error with a reason of its own.
    init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// A failed system call: `action` followed by the text of `code`, by default `errno` as it
    /// is when the arguments are evaluated, before anything else can change it.
    init(path: String, action: String, code: Int32 = errno) {
        self.init(path: path, reason: "\(action): \(String(cString: strerror(code)))")
    }

    /// For example `data.csv: line 4, column 2: "abc" is not a number`.
    var description: String {
        "\(path): \(reason)"
    }
}
