/// Why an input could not be parsed, with the 1-based line and column where that is known.
public struct DelimitedParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Code: Sendable, Hashable {
        /// The input holds nothing but blank and comment lines.
        case emptyInput
        /// The input holds a header line and no data rows.
        case noDataRows
        /// A row has a different number of fields from the first line.
        case raggedRow(expected: Int, found: Int)
        /// A field is not a decimal number; the field's text (shortened if long).
        case notANumber(String)
        /// A field is `nan`, `inf` or overflows a `Double`; the field's text.
        case nonFiniteValue(String)
        /// Two commas with nothing between them, or a comma at the end of a line.
        case emptyField
    }

    /// What was wrong.
    public let code: Code
    /// The 1-based line, counting every line of the input.
    public let line: Int?
    /// The 1-based field within the line.
    public let column: Int?

    /// Creates an error; `line` and `column` are 1-based.
    public init(code: Code, line: Int? = nil, column: Int? = nil) {
        self.code = code
        self.line = line
        self.column = column
    }

    /// For example `line 4, column 2: "abc" is not a number`.
    public var description: String {
        let place: String
        switch (line, column) {
        case (let line?, let column?): place = "line \(line), column \(column): "
        case (let line?, nil): place = "line \(line): "
        default: place = ""
        }
        switch code {
        case .emptyInput: return place + "no data: the input is empty or holds only blank and comment lines"
        case .noDataRows: return place + "header without data rows"
        case .raggedRow(let expected, let found): return place + "expected \(expected) fields, found \(found)"
        case .notANumber(let text): return place + "\"\(text)\" is not a number"
        case .nonFiniteValue(let text): return place + "non-finite value \"\(text)\""
        case .emptyField: return place + "empty field"
        }
    }
}
