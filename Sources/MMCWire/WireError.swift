/// The one error every MMCWire decoder and validating initializer throws.
///
/// Decoding is total: malformed input never traps and never yields a partial value. It ends in
/// a `WireError` whose ``code`` says what kind of problem it was (stable, machine-readable, also
/// sent in error replies as its snake_case raw value) and whose ``message`` names the place, for
/// example `point 3: field "v": expected 2 values, got 3`.
public struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem was found. The raw values are the codes used on the wire.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The input ends before the message is complete (short frame, unterminated JSON).
        case truncated = "truncated"
        /// Bytes follow a complete message.
        case trailingData = "trailing_data"
        /// The payload starts with neither `{` (JSON) nor the binary magic `MMCB`.
        case badMagic = "bad_magic"
        /// A binary version byte or a JSON `"protocol"` number this codec does not speak.
        case unsupportedVersion = "unsupported_version"
        /// An unknown binary kind, JSON `"kind"`, `"request"`, `"reply"`, `"status"`, `"mode"`
        /// or event `"type"`.
        case unknownKind = "unknown_kind"
        /// A must-understand flag bit that this version does not define.
        case unsupportedFlags = "unsupported_flags"
        /// A dimension of zero.
        case invalidDimension = "invalid_dimension"
        /// A vector whose length differs from the batch's, the update's or the expected dimension.
        case dimensionMismatch = "dimension_mismatch"
        /// Lengths that must agree do not (binary byte length, parallel arrays).
        case countMismatch = "count_mismatch"
        /// A batch or query without points.
        case emptyBatch = "empty_batch"
        /// A NaN or infinite float64.
        case nonFinite = "non_finite"
        /// A count, dimension, size, length or nesting depth above ``DecodingLimits``.
        case limitExceeded = "limit_exceeded"
        /// Bytes that are not valid UTF-8 in a topic or a JSON string.
        case invalidUTF8 = "invalid_utf8"
        /// Text that is not JSON (RFC 8259), including `NaN`, leading zeros and bad escapes.
        case invalidJSON = "invalid_json"
        /// A required field is absent.
        case missingField = "missing_field"
        /// A field holds the wrong JSON type (a string for a number, a fraction for an integer).
        case typeMismatch = "type_mismatch"
        /// A known field appears twice in one object.
        case duplicateField = "duplicate_field"
        /// Fields of two different forms or kinds are mixed in one object.
        case conflictingFields = "conflicting_fields"
        /// A number outside the range of its type (a negative or too large uint64, a cluster id
        /// below -1, a confidence outside 0...1, a float64 literal that overflows).
        case outOfRange = "out_of_range"
        /// A value of the right type that breaks a rule of the protocol (a box whose minimum
        /// exceeds its maximum, a duplicated cluster id, an assignment to an unknown cluster).
        case invalidValue = "invalid_value"
        /// A multipart message with the wrong number of frames, an empty topic or a sequence
        /// frame that is not 8 bytes long.
        case invalidFrame = "invalid_frame"
    }

    /// What kind of problem was found.
    public let code: Code
    /// A readable sentence naming what was wrong and where.
    public let message: String

    /// Creates an error with a code and a message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`, for logs.
    public var description: String { "\(code.rawValue): \(message)" }
}
