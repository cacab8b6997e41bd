/// The endpoints a running daemon bound, resolved: a `tcp://127.0.0.1:*` endpoint in the
/// configuration appears here with the port the system chose.
public struct DaemonEndpoints: Sendable, Hashable {
    /// The input socket's bound endpoints (connected ones are not listed).
    public let input: [String]
    /// The publisher's endpoint.
    public let output: String
    /// The control endpoint, `nil` when `control.endpoint` is off.
    public let control: String?
}
