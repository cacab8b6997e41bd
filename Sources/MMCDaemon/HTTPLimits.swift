/// What the HTTP server accepts beyond its routes, from `[http]`: how many connections, how
/// long a connection may wait for its next request head, and which `Host` names it answers.
public struct HTTPLimits: Sendable, Hashable {
    /// The most connections open at once (`http.max_connections`).
    public var maxConnections: Int
    /// How long a connection may go without a complete request head, from its opening or its
    /// last response, before it is closed (`http.idle_timeout_seconds`).
    public var idleTimeout: Duration
    /// Host names answered besides IP literals and `localhost` (`http.allowed_hosts`).
    public var allowedHosts: [String]

    /// Limits; the defaults are those of the configuration.
    public init(maxConnections: Int = 64, idleTimeout: Duration = .seconds(10), allowedHosts: [String] = []) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.allowedHosts = allowedHosts
    }
}
