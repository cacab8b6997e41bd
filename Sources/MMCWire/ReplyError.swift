/// The error form of a reply: a machine-readable code and a readable message.
public struct ReplyError: Error, Sendable, Hashable {
    /// An error code. The set is open: decoders keep codes they do not know.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The snake_case code as sent on the wire.
        public let rawValue: String
        /// Wraps any code, known or not.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The raw code.
        public var description: String { rawValue }

        /// No model exists yet (no re-clustering has finished).
        public static let notReady = Code(rawValue: "not_ready")
        /// The daemon failed in a way that is not the request's fault.
        public static let `internal` = Code(rawValue: "internal")
        /// The code of a ``WireError`` that the request produced (`invalid_json`, `unknown_kind`, …).
        public static func wire(_ code: WireError.Code) -> Code { Code(rawValue: code.rawValue) }
    }

    /// What went wrong.
    public let code: Code
    /// A readable sentence.
    public let message: String

    /// Creates an error reply.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The error reply for a request that failed to decode.
    public init(_ error: WireError) {
        self.init(code: .wire(error.code), message: error.message)
    }
}
