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
    /// Bytes per piece of a parallel parse: fixed, so the pieces do not depend on `threads`.
    public static let pieceBytes = 1 << 20

    /// Parses a whole input.
    ///
    /// With `threads` above 1, an input of several pieces (``pieceBytes``) is cut at line ends
    /// and its pieces are parsed on up to `threads` threads: lines are independent once the
    /// first one has fixed the separator, the columns and the header. The table, and the error
    /// of an input with several problems (the first in the input), are those of one thread.
    ///
    /// - Throws: ``DelimitedParseError`` naming the 1-based line and column of the first problem.
    /// - Complexity: O(n) for n bytes.
    public static func parse(_ bytes: [UInt8], threads: Int = 1) throws(DelimitedParseError) -> DelimitedTable {
        try bytes.withUnsafeBufferPointer { buffer throws(DelimitedParseError) in
            var reader = Reader(bytes: buffer)
            let layout = try reader.layout()
            let body = layout.bodyStart..<buffer.count
            let rows: Int
            if threads > 1 && body.count >= 2 * pieceBytes {
                (reader.values, rows) = try parsePieces(bytes, body: body, layout: layout, threads: threads)
            } else {
                rows = try reader.readRows(body, firstLine: layout.bodyFirstLine, layout: layout).rows
            }
            guard rows > 0 else { throw DelimitedParseError(code: .noDataRows, line: layout.headerLine) }
            return DelimitedTable(
                rowCount: rows, columnCount: layout.columnCount, values: reader.values,
                columnNames: layout.names, separator: layout.separator)
        }
    }

    /// Parses `body` in pieces that start after a line end, on up to `threads` threads: a
    /// first pass counts each piece's lines and rows, so that the second writes each piece's
    /// values straight to their place in the table and numbers its lines from the start.
    private static func parsePieces(
        _ bytes: [UInt8], body: Range<Int>, layout: Layout, threads: Int
    ) throws(DelimitedParseError) -> (values: [Double], rows: Int) {
        var starts = [body.lowerBound]
        for cut in stride(from: body.lowerBound + pieceBytes, to: body.upperBound, by: pieceBytes) {
            var start = max(cut, starts[starts.count - 1])
            while start < body.upperBound && bytes[start - 1] != ASCII.newline { start += 1 }
            starts.append(start)
        }
        starts.append(body.upperBound)
        let bounds = starts, pieceCount = starts.count - 1
        var counts = [(lines: Int, rows: Int)](repeating: (0, 0), count: pieceCount)
        counts.withUnsafeMutableBufferPointer { counts in
            let output = ChunkOutput(buffer: counts)
            forEachChunk(count: pieceCount, chunkSize: 1, threads: threads) { range in
                output.buffer[range.lowerBound] = bytes.withUnsafeBufferPointer { bytes in
                    Reader(bytes: bytes).count(bounds[range.lowerBound]..<bounds[range.lowerBound + 1])
                }
            }
        }
        var firstLines = [layout.bodyFirstLine], firstRows = [0]
        for count in counts {
            firstLines.append(firstLines[firstLines.count - 1] + count.lines)
            firstRows.append(firstRows[firstRows.count - 1] + count.rows)
        }
        let rows = firstRows[pieceCount], width = layout.columnCount, lineStarts = firstLines, rowStarts = firstRows
        var failures = [DelimitedParseError?](repeating: nil, count: pieceCount)
        // Every slot is written unless a piece fails, and then the table is not returned.
        var values = [Double](unsafeUninitializedCapacity: rows * width) { _, initialized in initialized = rows * width }
        values.withUnsafeMutableBufferPointer { values in
            failures.withUnsafeMutableBufferPointer { failures in
                let table = ChunkOutput(buffer: values), errors = ChunkOutput(buffer: failures)
                forEachChunk(count: pieceCount, chunkSize: 1, threads: threads) { range in
                    let piece = range.lowerBound
                    bytes.withUnsafeBufferPointer { bytes in
                        var reader = Reader(bytes: bytes)
                        reader.target = UnsafeMutableBufferPointer(
                            rebasing: table.buffer[rowStarts[piece] * width..<rowStarts[piece + 1] * width])
                        do throws(DelimitedParseError) {
                            _ = try reader.readRows(
                                bounds[piece]..<bounds[piece + 1], firstLine: lineStarts[piece], layout: layout)
                        } catch {
                            errors.buffer[piece] = error
                        }
                    }
                }
            }
        }
        if let failure = failures.first(where: { $0 != nil }) { throw failure! }
        return (values, rows)
    }
}

/// What the first line that is neither blank nor a comment decides for the whole input.
private struct Layout: Sendable {
    let separator: DelimitedTable.Separator
    let columnCount: Int
    /// The header's names, if that line is a header.
    let names: [String]?
    /// The header's line number, 0 without one.
    let headerLine: Int
    /// Where the data rows begin: that line's start, or the next line's after a header.
    let bodyStart: Int
    /// The line number at `bodyStart`.
    let bodyFirstLine: Int
}

/// A pass over lines of the input; the field boundaries of the current line are kept in
/// reused arrays.
private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    var fieldStarts: [Int] = []
    var fieldEnds: [Int] = []
    var values: [Double] = []
    /// Where the values go instead of `values`, when set: a piece's place in the table.
    var target: UnsafeMutableBufferPointer<Double>?
    var targetCount = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The trimmed content of the line of `bytes` at `position` and where the next starts; an
    /// empty range for a blank or comment line.
    static func line(
        in bytes: UnsafeBufferPointer<UInt8>, at position: Int, end limit: Int
    ) -> (content: Range<Int>, next: Int) {
        var start = position
        var end = start
        while end < limit, bytes[end] != ASCII.newline { end += 1 }
        let next = end + 1
        while start < end, isBlank(bytes[start]) { start += 1 }
        while end > start, isBlank(bytes[end - 1]) || bytes[end - 1] == ASCII.carriageReturn { end -= 1 }
        if start == end || bytes[start] == ASCII.hash { return (start..<start, next) }
        return (start..<end, next)
    }

    /// Reads up to the first line that is neither blank nor a comment: its separator, its
    /// field count and whether it is a header.
    mutating func layout() throws(DelimitedParseError) -> Layout {
        var position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lineNumber = 0
        while position < bytes.count {
            lineNumber += 1
            let (content, next) = Reader.line(in: bytes, at: position, end: bytes.count)
            guard !content.isEmpty else {
                position = next
                continue
            }
            let separator: DelimitedTable.Separator = bytes[content].contains(ASCII.comma) ? .comma : .whitespace
            split(content.lowerBound, content.upperBound, separator)
            let columnCount = fieldStarts.count
            guard isHeader() else {
                return Layout(
                    separator: separator, columnCount: columnCount, names: nil, headerLine: 0, bodyStart: position,
                    bodyFirstLine: lineNumber)
            }
            return Layout(
                separator: separator, columnCount: columnCount, names: fieldStarts.indices.map { headerName($0) },
                headerLine: lineNumber, bodyStart: min(next, bytes.count), bodyFirstLine: lineNumber + 1)
        }
        throw DelimitedParseError(code: .emptyInput)
    }

    /// Calls `body` with the content and the line number (the first is `firstLine`) of every
    /// line in `range` (which starts at a line's start) that is neither blank nor a comment;
    /// returns the number of lines read.
    private static func forEachRow<Failure: Error>(
        in range: Range<Int>, of bytes: UnsafeBufferPointer<UInt8>, firstLine: Int,
        _ body: (_ content: Range<Int>, _ line: Int) throws(Failure) -> Void
    ) throws(Failure) -> Int {
        var position = range.lowerBound
        var lines = 0
        while position < range.upperBound {
            lines += 1
            let (content, next) = Reader.line(in: bytes, at: position, end: range.upperBound)
            position = next
            if !content.isEmpty { try body(content, firstLine + lines - 1) }
        }
        return lines
    }

    /// The lines in `range` (which starts at a line's start) and the rows among them.
    func count(_ range: Range<Int>) -> (lines: Int, rows: Int) {
        var rows = 0
        let lines = Reader.forEachRow(in: range, of: bytes, firstLine: 1) { _, _ in rows += 1 }
        return (lines, rows)
    }

    /// Appends the rows of the lines in `range` (which starts at a line's start) to `values`;
    /// `firstLine` numbers its first line in errors. Returns the rows and the lines read.
    mutating func readRows(
        _ range: Range<Int>, firstLine: Int, layout: Layout
    ) throws(DelimitedParseError) -> (rows: Int, lines: Int) {
        var rows = 0
        let lines = try Reader.forEachRow(in: range, of: bytes, firstLine: firstLine) {
            content, line throws(DelimitedParseError) in
            split(content.lowerBound, content.upperBound, layout.separator)
            try appendRow(line: line, columnCount: layout.columnCount)
            rows += 1
        }
        return (rows, lines)
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
            if let target {
                target[targetCount] = value
                targetCount += 1
            } else {
                values.append(value)
            }
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
