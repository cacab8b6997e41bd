/// Why ``MetricsServer/boundPort()`` has no port to give.
public struct MetricsServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A readable sentence.
    public let description: String
}
