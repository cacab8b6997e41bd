/// Rows of numbers parsed by ``DelimitedParser``, stored flat and row-major.
public struct DelimitedTable: Sendable, Hashable {
    /// How the fields of a line are separated.
    public enum Separator: Sendable, Hashable {
        /// Commas, with optional spaces and tabs around them.
        case comma
        /// Runs of spaces and tabs.
        case whitespace
    }

    /// Number of data rows.
    public let rowCount: Int
    /// Number of fields in every row.
    public let columnCount: Int
    /// The values, row-major: row `i` is `values[i * columnCount ..< (i + 1) * columnCount]`.
    public let values: [Double]
    /// The names from the header line, or `nil` when the input has none.
    public let columnNames: [String]?
    /// The separator detected on the first line.
    public let separator: Separator
}
