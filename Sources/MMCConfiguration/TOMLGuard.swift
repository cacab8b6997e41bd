/// Finds the malformed TOML that makes toml++ 3 (inside TOMLKit) abort the process instead of
/// reporting an error, so the configuration loader can refuse it first.
///
/// `mmc fuzz --target config` found two such shapes; toml++'s own assertions fire on them even
/// in release builds, so `mmcd --check-config`, a start or a `SIGHUP` reload of such a file
/// killed the daemon:
/// - a table header without a key: `[` or `[[` at the start of a line, outside any array, not
///   followed (after blanks) by a bare-key character, a quote or `]` (`[=]`, `[`, `[é]`, `[ # x`);
/// - a `}` where an array expects a value: right after the array's `[` or a `,` (blanks, line
///   breaks and comments between), as in `connect = [}` or `x = [1, }`;
/// - a date followed by `T` and no time, in a value: `trees = 1979-05-27T"07:32:00Z`.
///
/// A small scanner follows strings (basic, literal and multi-line), comments and the nesting of
/// arrays, inline tables and headers. It never refuses a valid document: it looks only for these
/// two shapes, both invalid TOML; everything else is left to toml++.
enum TOMLGuard {
    private enum Scope { case array, inlineTable, header }

    /// The first line (from 1) holding one of the shapes above, and what is wrong there.
    ///
    /// - Complexity: O(n) in the document's bytes.
    static func firstAssertion(in toml: String) -> (line: Int, problem: String)? {
        let bytes = Array(toml.utf8)
        var index = 0
        var line = 1
        var scopes: [Scope] = []
        var lineStart = true
        /// After an array's `[` or `,`: the next significant byte must not be `}`.
        var expectingValue = false
        /// After `=`, or inside an array: bytes there are values, not keys.
        var inValue = false

        func at(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        func startsWith(_ text: String) -> Bool { bytes[index...].starts(with: text.utf8) }

        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\n"):
                line += 1
                lineStart = true
                if scopes.isEmpty { inValue = false }
                index += 1
                continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
                continue
            case UInt8(ascii: "#"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            default:
                break
            }
            if expectingValue && byte == UInt8(ascii: "}") {
                return (line, "\"}\" where the array expects a value or \"]\"")
            }
            expectingValue = false
            let atLineStart = lineStart
            lineStart = false
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                let quote = byte
                let triple = at(1) == quote && at(2) == quote
                index += triple ? 3 : 1
                while index < bytes.count {
                    if bytes[index] == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") {
                        if at(1) == UInt8(ascii: "\n") { line += 1 }
                        index += 2
                        continue
                    }
                    if bytes[index] == UInt8(ascii: "\n") {
                        // A single-line string ends at the line break (toml++ reports it); the
                        // outer loop counts the line.
                        if !triple { break }
                        line += 1
                    }
                    if bytes[index] == quote && !triple {
                        index += 1
                        break
                    }
                    if bytes[index] == quote && at(1) == quote && at(2) == quote {
                        // Up to two quotes of content may precede the closing three: `""""`.
                        var run = 3
                        while run < 5, at(run) == quote { run += 1 }
                        index += run
                        break
                    }
                    index += 1
                }
                continue
            case UInt8(ascii: "[") where atLineStart && scopes.isEmpty:
                index += startsWith("[[") ? 2 : 1
                while let next = at(0), next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") { index += 1 }
                guard let next = at(0), isKeyStart(next) else {
                    return (line, "a table header needs a key after \"[\" (a letter, digit, _, - or a quoted key)")
                }
                scopes.append(.header)
                continue
            case UInt8(ascii: "["):
                scopes.append(.array)
                expectingValue = true
                inValue = true
            case UInt8(ascii: "{"):
                scopes.append(.inlineTable)
                inValue = false
            case UInt8(ascii: "="):
                inValue = true
            case UInt8(ascii: "0")...UInt8(ascii: "9") where inValue && isDateWithoutTime(bytes, at: index):
                return (line, "a date-time needs a time after \"T\"")
            case UInt8(ascii: "]"):
                if scopes.last == .header && at(1) == UInt8(ascii: "]") { index += 1 }
                if scopes.last == .array || scopes.last == .header { scopes.removeLast() }
                inValue = scopes.last == .array || (scopes.last == .inlineTable && inValue)
            case UInt8(ascii: "}"):
                if scopes.last == .inlineTable { scopes.removeLast() }
            case UInt8(ascii: ","):
                expectingValue = scopes.last == .array
                inValue = scopes.last == .array
            default:
                break
            }
            index += 1
        }
        return nil
    }

    /// Whether `bytes` hold `YYYY-MM-DD` at `index`, then `T` or `t`, then no digit.
    private static func isDateWithoutTime(_ bytes: [UInt8], at index: Int) -> Bool {
        guard index + 11 <= bytes.count else { return false }
        let digit = { (offset: Int) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + offset]) }
        guard [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy(digit), bytes[index + 4] == UInt8(ascii: "-"),
            bytes[index + 7] == UInt8(ascii: "-"), bytes[index + 10] == UInt8(ascii: "T") || bytes[index + 10] == UInt8(ascii: "t")
        else { return false }
        return index + 11 == bytes.count || !digit(11)
    }

    /// A bare-key character, a quote, or the `]` of an empty header (toml++ reports that one).
    private static func isKeyStart(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || [UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "]")].contains(byte)
    }
}
