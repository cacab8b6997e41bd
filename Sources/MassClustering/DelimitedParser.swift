internal import MMCDecimal

/// Parses delimited numeric text (CSV or whitespace-separated columns) held in memory.
///
/// The format, decided once per input:
/// - **Lines** end with LF or CRLF; a UTF-8 byte order mark at the start is skipped.
///   Blank lines and lines whose first non-blank character is `#` are skipped.
/// - **Separator**: commas if the first line that is neither blank nor a comment holds a comma,
///   otherwise runs of spaces and tabs. Around a comma, spaces and tabs are ignored; an empty
///   field between two commas is an error.
/// - **Header**: that first line is a header when none of its fields is a number (a `nan` or
///   `inf` counts as a number here); its fields, without surrounding double quotes, become
///   ``DelimitedTable/columnNames``. Only that line may be a header.
/// - **Values**: decimal numbers, optionally signed, with an optional fraction and exponent
///   (`-4.82e+000`, `.5`, `7.`). Non-finite values (`nan`, `inf`, or a number too large for a
///   `Double`) are rejected. Every row must have as many fields as the first line.
///
/// Numbers are read straight from the bytes: up to 19 significant digits with a small decimal
/// exponent are converted without allocation by `ExactDecimal` (MMCDecimal, shared with the
/// JSON reader), anything longer goes through the standard library's correctly rounded
/// conversion, so every value is the nearest `Double`.
///
/// ```swift
/// let table = try DelimitedParser.parse(Array("x,y\n1,2\n# note\n3,4.5\n".utf8))
/// // table.columnNames == ["x", "y"], table.rowCount == 2, table.values == [1, 2, 3, 4.5]
/// ```
public enum DelimitedParser {
    /// Parses a whole input.
    ///
    /// - Throws: ``DelimitedParseError`` naming the 1-based line and column of the first problem.
    /// - Complexity: O(n) for n bytes.
    public static func parse(_ bytes: [UInt8]) throws(DelimitedParseError) -> DelimitedTable {
        try bytes.withUnsafeBufferPointer { buffer throws(DelimitedParseError) in
            var reader = Reader(bytes: buffer)
            return try reader.read()
        }
    }
}

/// One pass over the input; the field boundaries of the current line are kept in reused arrays.
private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var fieldStarts: [Int] = []
    var fieldEnds: [Int] = []
    var values: [Double] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func read() throws(DelimitedParseError) -> DelimitedTable {
        var position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lineNumber = 0
        var separator: DelimitedTable.Separator?
        var columnCount = 0
        var names: [String]?
        var headerLine = 0
        var rowCount = 0
        while position < bytes.count {
            lineNumber += 1
            var start = position
            var end = start
            while end < bytes.count, bytes[end] != ASCII.newline { end += 1 }
            position = end + 1
            while start < end, isBlank(bytes[start]) { start += 1 }
            while end > start, isBlank(bytes[end - 1]) || bytes[end - 1] == ASCII.carriageReturn { end -= 1 }
            if start == end || bytes[start] == ASCII.hash { continue }

            if let known = separator {
                split(start, end, known)
            } else {
                let detected: DelimitedTable.Separator =
                    bytes[start..<end].contains(ASCII.comma) ? .comma : .whitespace
                separator = detected
                split(start, end, detected)
                columnCount = fieldStarts.count
                if isHeader() {
                    names = fieldStarts.indices.map { headerName($0) }
                    headerLine = lineNumber
                    continue
                }
            }
            try appendRow(line: lineNumber, columnCount: columnCount)
            rowCount += 1
        }
        guard let separator else { throw DelimitedParseError(code: .emptyInput) }
        guard rowCount > 0 else { throw DelimitedParseError(code: .noDataRows, line: headerLine) }
        return DelimitedTable(
            rowCount: rowCount, columnCount: columnCount, values: values, columnNames: names,
            separator: separator)
    }

    /// Fills `fieldStarts` and `fieldEnds` with the trimmed fields of a non-blank line.
    private mutating func split(_ start: Int, _ end: Int, _ separator: DelimitedTable.Separator) {
        fieldStarts.removeAll(keepingCapacity: true)
        fieldEnds.removeAll(keepingCapacity: true)
        var cursor = start
        switch separator {
        case .comma:
            while true {
                var fieldEnd = cursor
                while fieldEnd < end, bytes[fieldEnd] != ASCII.comma { fieldEnd += 1 }
                var first = cursor
                var last = fieldEnd
                while first < last, isBlank(bytes[first]) { first += 1 }
                while last > first, isBlank(bytes[last - 1]) { last -= 1 }
                fieldStarts.append(first)
                fieldEnds.append(last)
                guard fieldEnd < end else { return }
                cursor = fieldEnd + 1
            }
        case .whitespace:
            while cursor < end {
                let first = cursor
                while cursor < end, !isBlank(bytes[cursor]) { cursor += 1 }
                fieldStarts.append(first)
                fieldEnds.append(cursor)
                while cursor < end, isBlank(bytes[cursor]) { cursor += 1 }
            }
        }
    }

    /// Parses the fields of the current line and appends them as one row.
    private mutating func appendRow(line: Int, columnCount: Int) throws(DelimitedParseError) {
        guard fieldStarts.count == columnCount else {
            throw DelimitedParseError(
                code: .raggedRow(expected: columnCount, found: fieldStarts.count), line: line)
        }
        for field in 0..<columnCount {
            let start = fieldStarts[field]
            let end = fieldEnds[field]
            guard start < end else { throw DelimitedParseError(code: .emptyField, line: line, column: field + 1) }
            guard let value = parseDecimal(start, end) else {
                let code: DelimitedParseError.Code =
                    isNonFiniteSpelling(start, end) ? .nonFiniteValue(text(start, end)) : .notANumber(text(start, end))
                throw DelimitedParseError(code: code, line: line, column: field + 1)
            }
            guard value.isFinite else {
                throw DelimitedParseError(code: .nonFiniteValue(text(start, end)), line: line, column: field + 1)
            }
            values.append(value)
        }
    }

    /// Whether no field of the current line is a number (non-finite spellings count as numbers).
    private func isHeader() -> Bool {
        fieldStarts.indices.allSatisfy { field in
            let start = fieldStarts[field]
            let end = fieldEnds[field]
            return parseDecimal(start, end) == nil && !isNonFiniteSpelling(start, end)
        }
    }

    /// A header field without one pair of surrounding double quotes.
    private func headerName(_ field: Int) -> String {
        var start = fieldStarts[field]
        var end = fieldEnds[field]
        if end - start >= 2, bytes[start] == ASCII.quote, bytes[end - 1] == ASCII.quote {
            start += 1
            end -= 1
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// A field's text for an error message, shortened to 40 bytes.
    private func text(_ start: Int, _ end: Int) -> String {
        let limit = 40
        let shown = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<min(end, start + limit)]), as: UTF8.self)
        return end - start > limit ? shown + "..." : shown
    }

    /// The value of `bytes[start..<end]` if it is a decimal number, else `nil`.
    ///
    /// Grammar: `[+-]? (digits (. digits?)? | . digits) ([eE] [+-]? digits)?`. The result is
    /// infinite when the number overflows.
    private func parseDecimal(_ start: Int, _ end: Int) -> Double? {
        var cursor = start
        var negative = false
        if cursor < end, bytes[cursor] == ASCII.minus || bytes[cursor] == ASCII.plus {
            negative = bytes[cursor] == ASCII.minus
            cursor += 1
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var exponent = 0
        var sawDigit = false
        var exact = true
        while cursor < end, let digit = digitValue(bytes[cursor]) {
            sawDigit = true
            if significantDigits < 19 {
                mantissa = mantissa * 10 + digit
                if mantissa > 0 { significantDigits += 1 }
            } else {
                exact = false
            }
            cursor += 1
        }
        if cursor < end, bytes[cursor] == ASCII.dot {
            cursor += 1
            while cursor < end, let digit = digitValue(bytes[cursor]) {
                sawDigit = true
                if significantDigits < 19 {
                    mantissa = mantissa * 10 + digit
                    if mantissa > 0 { significantDigits += 1 }
                    exponent -= 1
                } else {
                    exact = false
                }
                cursor += 1
            }
        }
        guard sawDigit else { return nil }
        if cursor < end, bytes[cursor] | 0x20 == ASCII.lowercaseE {
            cursor += 1
            var exponentNegative = false
            if cursor < end, bytes[cursor] == ASCII.minus || bytes[cursor] == ASCII.plus {
                exponentNegative = bytes[cursor] == ASCII.minus
                cursor += 1
            }
            var written = 0
            var sawExponentDigit = false
            while cursor < end, let digit = digitValue(bytes[cursor]) {
                sawExponentDigit = true
                if written < 100_000 { written = written * 10 + Int(digit) } else { exact = false }
                cursor += 1
            }
            guard sawExponentDigit else { return nil }
            exponent += exponentNegative ? -written : written
        }
        guard cursor == end else { return nil }

        if exact, let value = ExactDecimal.double(mantissa: mantissa, exponent: exponent) {
            return negative ? -value : value
        }
        return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
    }

    /// Whether `bytes[start..<end]` spells `nan`, `inf` or `infinity` in any case, optionally signed.
    private func isNonFiniteSpelling(_ start: Int, _ end: Int) -> Bool {
        var cursor = start
        if cursor < end, bytes[cursor] == ASCII.minus || bytes[cursor] == ASCII.plus { cursor += 1 }
        let lowered = bytes[cursor..<end].map { $0 | 0x20 }
        return lowered.elementsEqual("nan".utf8) || lowered.elementsEqual("inf".utf8)
            || lowered.elementsEqual("infinity".utf8)
    }
}

private enum ASCII {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let hash: UInt8 = 0x23
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let zero: UInt8 = 0x30
    static let lowercaseE: UInt8 = 0x65
}

@inline(__always)
private func isBlank(_ byte: UInt8) -> Bool {
    byte == ASCII.space || byte == ASCII.tab
}

@inline(__always)
private func digitValue(_ byte: UInt8) -> UInt64? {
    let digit = byte &- ASCII.zero
    return digit < 10 ? UInt64(digit) : nil
}
