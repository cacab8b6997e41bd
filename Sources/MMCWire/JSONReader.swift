internal import MMCDecimal

/// A strict RFC 8259 reader over UTF-8 bytes, driven by the schema decoders.
///
/// The reader never builds a document tree: a decoder asks for the value it expects next
/// (`readDouble`, `beginObject`, …) and the reader checks the grammar while it moves forward.
/// It refuses what RFC 8259 refuses (leading zeros, `NaN`, unescaped control characters,
/// invalid UTF-8, unpaired surrogate escapes, trailing commas) and reports the byte offset.
/// Unknown fields are skipped with ``skipValue()``, which validates them as well.
///
/// Numbers: integers are parsed exactly with overflow checks. A float64 whose decimal mantissa
/// has at most 19 significant digits is converted without allocation by `ExactDecimal`
/// (MMCDecimal) when its exponent allows; anything else falls back to the standard library's
/// correctly rounded `Double(String)`.
struct JSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let limits: DecodingLimits
    private(set) var position = 0
    private var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>, limits: DecodingLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    /// The content of a JSON string: a byte range of the input, or the decoded bytes when the
    /// string held escapes and the caller asked for them.
    struct StringToken {
        var start: Int
        var end: Int
        var decoded: [UInt8]?
    }

    /// Iteration state of one object or array.
    struct Cursor {
        fileprivate var first = true
    }

    /// A scanned number: its text range and, when exact, its decimal mantissa and exponent.
    struct NumberToken {
        var start: Int
        var end: Int
        var negative = false
        var isInteger = true
        var mantissa: UInt64 = 0
        var mantissaIsExact = true
        var exponent10 = 0
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    // MARK: Errors

    func syntaxError(_ message: String) -> WireError {
        WireError(.invalidJSON, "byte \(position): \(message)")
    }

    func endOfInput(_ what: String) -> WireError {
        WireError(.truncated, "input ends at byte \(position) inside \(what)")
    }

    /// The JSON type that a value starting with `byte` has, for messages; nil if none can.
    static func typeName(startingWith byte: UInt8) -> String? {
        switch byte {
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "a number"
        default: nil
        }
    }

    /// Skips whitespace and consumes nothing; returns whether the next byte satisfies `matches`.
    @inline(__always)
    private mutating func atValue(_ matches: (UInt8) -> Bool) -> Bool {
        skipWhitespace()
        return position < bytes.count && matches(bytes[position])
    }

    /// The error for a value that does not start like `expected` (kept out of the hot path).
    @inline(never)
    private func unexpectedValue(_ expected: StaticString, _ what: () -> String) -> WireError {
        guard position < bytes.count else { return endOfInput(what()) }
        let byte = bytes[position]
        if let found = Self.typeName(startingWith: byte) {
            return WireError(.typeMismatch, "\(what()): expected \(expected), got \(found)")
        }
        return syntaxError("unexpected \(describeByte(byte)) in \(what())")
    }

    // MARK: Structure

    mutating func skipWhitespace() {
        while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
    }

    /// Consumes the `{` of an object that `what` names.
    mutating func beginObject(_ what: @autoclosure () -> String) throws(WireError) -> Cursor {
        guard atValue({ $0 == UInt8(ascii: "{") }) else { throw unexpectedValue("an object", what) }
        try enter(what)
        return Cursor()
    }

    /// Consumes the `[` of an array that `what` names.
    mutating func beginArray(_ what: @autoclosure () -> String) throws(WireError) -> Cursor {
        guard atValue({ $0 == UInt8(ascii: "[") }) else { throw unexpectedValue("an array", what) }
        try enter(what)
        return Cursor()
    }

    private mutating func enter(_ what: () -> String) throws(WireError) {
        position += 1
        depth += 1
        if depth > limits.maxNestingDepth {
            throw WireError(.limitExceeded, "\(what()): nesting deeper than \(limits.maxNestingDepth) levels")
        }
    }

    /// The next key of the object (positioned after its `:`), or nil after the closing `}`.
    mutating func nextKey(_ cursor: inout Cursor) throws(WireError) -> StringToken? {
        skipWhitespace()
        guard position < bytes.count else { throw endOfInput("an object") }
        var byte = bytes[position]
        if cursor.first {
            cursor.first = false
            if byte == UInt8(ascii: "}") {
                position += 1
                depth -= 1
                return nil
            }
        } else if byte == UInt8(ascii: "}") {
            position += 1
            depth -= 1
            return nil
        } else if byte == UInt8(ascii: ",") {
            position += 1
            skipWhitespace()
            guard position < bytes.count else { throw endOfInput("an object") }
            byte = bytes[position]
        } else {
            throw syntaxError("expected ',' or '}' in an object, got \(describeByte(byte))")
        }
        guard byte == UInt8(ascii: "\"") else {
            throw syntaxError("expected a string key in an object, got \(describeByte(byte))")
        }
        let key = try scanString(decodingEscapes: true)
        skipWhitespace()
        guard position < bytes.count else { throw endOfInput("an object") }
        guard bytes[position] == UInt8(ascii: ":") else {
            throw syntaxError("expected ':' after an object key, got \(describeByte(bytes[position]))")
        }
        position += 1
        return key
    }

    /// True when another element follows (the reader is before it), false after the closing `]`.
    mutating func nextElement(_ cursor: inout Cursor) throws(WireError) -> Bool {
        skipWhitespace()
        guard position < bytes.count else { throw endOfInput("an array") }
        let byte = bytes[position]
        if byte == UInt8(ascii: "]") {
            position += 1
            depth -= 1
            return false
        }
        if cursor.first {
            cursor.first = false
            return true
        }
        guard byte == UInt8(ascii: ",") else {
            throw syntaxError("expected ',' or ']' in an array, got \(describeByte(byte))")
        }
        position += 1
        return true
    }

    /// Checks that only whitespace follows the top-level value.
    mutating func finish() throws(WireError) {
        skipWhitespace()
        if position < bytes.count {
            throw WireError(.trailingData, "\(bytes.count - position) bytes follow the JSON object at byte \(position)")
        }
    }

    /// True when `key` is the field `name` (compared byte for byte after unescaping).
    func key(_ key: StringToken, is name: StaticString) -> Bool {
        let length = name.utf8CodeUnitCount
        let pointer = name.utf8Start
        if let decoded = key.decoded {
            guard decoded.count == length else { return false }
            for index in 0..<length where decoded[index] != pointer[index] { return false }
            return true
        }
        guard key.end - key.start == length else { return false }
        for index in 0..<length where bytes[key.start + index] != pointer[index] { return false }
        return true
    }

    /// The text of a string token, for messages and string fields.
    func text(_ token: StringToken) -> String {
        if let decoded = token.decoded { return String(decoding: decoded, as: UTF8.self) }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
    }

    // MARK: Values

    /// Skips one value of any type, validating it.
    mutating func skipValue() throws(WireError) {
        skipWhitespace()
        guard position < bytes.count else { throw endOfInput("a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            var cursor = try beginObject("an object")
            while try nextKey(&cursor) != nil { try skipValue() }
        case UInt8(ascii: "["):
            var cursor = try beginArray("an array")
            while try nextElement(&cursor) { try skipValue() }
        case UInt8(ascii: "\""):
            _ = try scanString(decodingEscapes: false)
        case UInt8(ascii: "t"):
            try literal("true")
        case UInt8(ascii: "f"):
            try literal("false")
        case UInt8(ascii: "n"):
            try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        default:
            throw syntaxError("unexpected \(describeByte(bytes[position]))")
        }
    }

    /// Skips an array that `what` names, validating it, and returns its number of elements.
    mutating func countElements(_ what: @autoclosure () -> String) throws(WireError) -> Int {
        var cursor = try beginArray(what())
        var count = 0
        while try nextElement(&cursor) {
            try skipValue()
            count += 1
        }
        return count
    }

    private mutating func literal(_ word: StaticString) throws(WireError) {
        let length = word.utf8CodeUnitCount
        for index in 0..<length {
            guard position + index < bytes.count else { throw endOfInput("a literal") }
            guard bytes[position + index] == word.utf8Start[index] else {
                throw syntaxError("invalid literal, expected \(word)")
            }
        }
        position += length
    }

    /// Reads a string value; `what` names it in errors.
    mutating func readStringToken(_ what: @autoclosure () -> String) throws(WireError) -> StringToken {
        guard atValue({ $0 == UInt8(ascii: "\"") }) else { throw unexpectedValue("a string", what) }
        return try scanString(decodingEscapes: true)
    }

    /// Reads a string value as a Swift string.
    mutating func readString(_ what: @autoclosure () -> String) throws(WireError) -> String {
        text(try readStringToken(what()))
    }

    /// Reads a number that must be an integer in `Int64`'s range.
    @inline(__always)
    mutating func readInt64(_ what: @autoclosure () -> String) throws(WireError) -> Int64 {
        let token = try readIntegerToken(what)
        let magnitude = try integerMagnitude(token, what)
        if token.negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw outOfRange(token, "int64", what) }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw outOfRange(token, "int64", what) }
        return Int64(magnitude)
    }

    /// Reads a number that must be an integer in `UInt64`'s range.
    @inline(__always)
    mutating func readUInt64(_ what: @autoclosure () -> String) throws(WireError) -> UInt64 {
        let token = try readIntegerToken(what)
        if token.negative { throw outOfRange(token, "uint64", what) }
        return try integerMagnitude(token, what)
    }

    /// Reads an unsigned integer that must not exceed `maximum`, as an `Int`.
    mutating func readCount(_ what: @autoclosure () -> String, maximum: Int) throws(WireError) -> Int {
        let value = try readUInt64(what())
        guard value <= UInt64(maximum) else {
            throw WireError(.limitExceeded, "\(what()): \(value) exceeds the limit of \(maximum)")
        }
        return Int(value)
    }

    @inline(__always)
    private mutating func readIntegerToken(_ what: () -> String) throws(WireError) -> NumberToken {
        guard atValue(Self.startsNumber) else { throw unexpectedValue("an integer", what) }
        let token = try scanNumber()
        guard token.isInteger else {
            throw WireError(.typeMismatch, "\(what()): expected an integer, got \(numberText(token))")
        }
        return token
    }

    @inline(__always)
    private func integerMagnitude(_ token: NumberToken, _ what: () -> String) throws(WireError) -> UInt64 {
        var value: UInt64 = 0
        for index in (token.negative ? token.start + 1 : token.start)..<token.end {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] &- UInt8(ascii: "0")))
            if overflow1 || overflow2 { throw outOfRange(token, "uint64", what) }
            value = sum
        }
        return value
    }

    private func outOfRange(_ token: NumberToken, _ type: String, _ what: () -> String) -> WireError {
        WireError(.outOfRange, "\(what()): \(numberText(token)) is out of range for \(type)")
    }

    private func numberText(_ token: NumberToken) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[token.start..<token.end]), as: UTF8.self)
    }

    private static func startsNumber(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "-") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// Reads a number as a finite float64.
    ///
    /// - Complexity: O(digits); no allocation unless the number needs more than 19 significant
    ///   digits or a decimal exponent beyond ±22.
    @inline(__always)
    mutating func readDouble(_ what: @autoclosure () -> String) throws(WireError) -> Double {
        guard atValue(Self.startsNumber) else { throw unexpectedValue("a number", what) }
        let token = try scanNumber()
        if token.mantissaIsExact, let value = ExactDecimal.double(mantissa: token.mantissa, exponent: token.exponent10) {
            return token.negative ? -value : value
        }
        guard let value = Double(numberText(token)), value.isFinite else {
            throw WireError(.outOfRange, "\(what()): \(numberText(token)) is out of range for float64")
        }
        return value
    }

    /// Scans a number per the JSON grammar `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`,
    /// collecting up to 19 significant digits as the mantissa.
    ///
    /// - Complexity: O(digits); the loops work on locals so the compiler keeps them in registers.
    mutating func scanNumber() throws(WireError) -> NumberToken {
        var token = NumberToken(start: position, end: position)
        let end = bytes.count
        var index = position
        defer { position = index }
        /// The digit value of the byte at `index`, or nil at the end or on a non-digit.
        func digit(at index: Int) -> UInt64? {
            guard index < end else { return nil }
            let value = bytes[index] &- UInt8(ascii: "0")
            return value <= 9 ? UInt64(value) : nil
        }
        if bytes[index] == UInt8(ascii: "-") {
            token.negative = true
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent10 = 0
        guard let first = digit(at: index) else {
            position = index
            throw index < end ? syntaxError("expected a digit, got \(describeByte(bytes[index]))") : endOfInput("a number")
        }
        index += 1
        if first == 0 {
            if digit(at: index) != nil {
                position = index
                throw syntaxError("numbers must not have leading zeros")
            }
        } else {
            mantissa = first
            digits = 1
            while let next = digit(at: index) {
                if digits < 19 {
                    mantissa = mantissa &* 10 &+ next
                    digits += 1
                } else {
                    token.mantissaIsExact = false
                }
                index += 1
            }
        }
        if index < end, bytes[index] == UInt8(ascii: ".") {
            token.isInteger = false
            index += 1
            guard digit(at: index) != nil else {
                position = index
                throw index < end ? syntaxError("expected a digit after '.'") : endOfInput("a number")
            }
            while let next = digit(at: index) {
                if digits < 19 {
                    // Leading zeros of a fraction scale the value without using up digits.
                    if mantissa != 0 || next != 0 {
                        mantissa = mantissa &* 10 &+ next
                        digits += 1
                    }
                    exponent10 -= 1
                } else {
                    token.mantissaIsExact = false
                }
                index += 1
            }
        }
        if index < end, bytes[index] | 0x20 == UInt8(ascii: "e") {
            token.isInteger = false
            index += 1
            var exponentNegative = false
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard digit(at: index) != nil else {
                position = index
                throw index < end ? syntaxError("expected a digit in an exponent") : endOfInput("a number")
            }
            var exponent = 0
            while let next = digit(at: index) {
                // Saturate: anything beyond ±100,000 is out of range for float64 either way.
                exponent = min(exponent * 10 + Int(next), 100_000)
                index += 1
            }
            exponent10 += exponentNegative ? -exponent : exponent
        }
        token.mantissa = mantissa
        token.exponent10 = exponent10
        token.end = index
        return token
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: Strings

    /// Scans a string starting at its opening quote, checking escapes and UTF-8.
    ///
    /// - Parameter decodingEscapes: when true and the string holds escapes, the token carries
    ///   the decoded bytes; otherwise only the raw range.
    mutating func scanString(decodingEscapes: Bool) throws(WireError) -> StringToken {
        position += 1
        let start = position
        var decoded: [UInt8]?
        while true {
            guard position < bytes.count else { throw endOfInput("a string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let token = StringToken(start: start, end: position, decoded: decoded)
                position += 1
                return token
            }
            if byte == UInt8(ascii: "\\") {
                if decodingEscapes && decoded == nil {
                    decoded = Array(bytes[start..<position])
                }
                let scalar = try scanEscape()
                decoded?.append(contentsOf: UTF8.encode(scalar)!)
            } else if byte < 0x20 {
                throw syntaxError("control character \(describeByte(byte)) must be escaped in a string")
            } else if byte < 0x80 {
                decoded?.append(byte)
                position += 1
            } else {
                let length = try utf8SequenceLength(at: position)
                decoded?.append(contentsOf: bytes[position..<position + length])
                position += length
            }
        }
    }

    /// Scans one escape sequence starting at its backslash and returns the scalar it denotes.
    private mutating func scanEscape() throws(WireError) -> Unicode.Scalar {
        guard position + 1 < bytes.count else { throw endOfInput("a string escape") }
        let letter = bytes[position + 1]
        position += 2
        switch letter {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hex4()
            if unit >= 0xDC00 && unit <= 0xDFFF { throw syntaxError("unpaired low surrogate \\u\(String(unit, radix: 16))") }
            guard unit >= 0xD800 && unit <= 0xDBFF else { return Unicode.Scalar(unit)! }
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                throw syntaxError("high surrogate \\u\(String(unit, radix: 16)) is not followed by a low surrogate")
            }
            position += 2
            let low = try hex4()
            guard low >= 0xDC00 && low <= 0xDFFF else { throw syntaxError("high surrogate followed by \\u\(String(low, radix: 16))") }
            return Unicode.Scalar(0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00))!
        default:
            throw syntaxError("invalid escape \\\(describeByte(letter))")
        }
    }

    private mutating func hex4() throws(WireError) -> UInt16 {
        guard position + 4 <= bytes.count else { throw endOfInput("a \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw syntaxError("invalid hex digit \(describeByte(byte)) in a \\u escape")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    /// The length of the well-formed UTF-8 sequence (2 to 4 bytes) starting at `index`.
    private func utf8SequenceLength(at index: Int) throws(WireError) -> Int {
        let lead = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw WireError(.invalidUTF8, "byte \(index): \(describeByte(lead)) cannot start a UTF-8 sequence")
        }
        guard index + length <= bytes.count else { throw WireError(.truncated, "input ends inside a UTF-8 sequence at byte \(index)") }
        let second = bytes[index + 1]
        guard second >= low && second <= high else {
            throw WireError(.invalidUTF8, "byte \(index + 1): invalid UTF-8 continuation \(describeByte(second))")
        }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 {
            throw WireError(.invalidUTF8, "byte \(index + offset): invalid UTF-8 continuation \(describeByte(bytes[index + offset]))")
        }
        return length
    }
}
