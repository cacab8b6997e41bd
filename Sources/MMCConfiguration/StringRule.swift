/// A rule for string values, with its wording for messages.
struct StringRule: Sendable {
    let allowed: String
    let accepts: @Sendable (String) -> Bool

    static let endpoint = StringRule(
        allowed: "a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)", accepts: isEndpoint)
    static let optionalEndpoint = StringRule(
        allowed: "\"\" (off) or a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)",
        accepts: { $0.isEmpty || isEndpoint($0) })
    static let optionalAbsolutePath = StringRule(
        allowed: "\"\" (off) or an absolute path", accepts: { $0.isEmpty || ($0.hasPrefix("/") && !$0.contains("\0")) })
    static let topicPrefix = StringRule(
        allowed: "a topic prefix of at most 255 bytes (\"\" matches every topic)", accepts: { $0.utf8.count <= 255 })
    /// Published topics are `clusters.<topic>` and `assign.<topic>`, which must stay within the
    /// protocol's 255 bytes.
    static let topic = StringRule(
        allowed: "a topic of 1...246 bytes", accepts: { (1...246).contains($0.utf8.count) })
    static let host = StringRule(
        allowed: "an IP address or host name",
        accepts: { !$0.isEmpty && $0.utf8.count <= 253 && !$0.contains { $0.isWhitespace || $0 == "/" } })

    /// `tcp://host:port` (port `*` or 1...65535), `ipc://path` or `inproc://name`.
    static func isEndpoint(_ endpoint: String) -> Bool {
        guard let separator = endpoint.firstRange(of: "://"), !endpoint.contains(where: \.isWhitespace) else {
            return false
        }
        let address = endpoint[separator.upperBound...]
        switch endpoint[..<separator.lowerBound] {
        case "tcp":
            guard let colon = address.lastIndex(of: ":") else { return false }
            let host = address[..<colon]
            let port = address[address.index(after: colon)...]
            return !host.isEmpty && (port == "*" || Int(port).map { (1...65_535).contains($0) } == true)
        case "ipc", "inproc":
            return !address.isEmpty
        default:
            return false
        }
    }
}
