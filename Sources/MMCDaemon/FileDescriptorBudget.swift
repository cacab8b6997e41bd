internal import Glibc
internal import MMCConfiguration

/// The daemon's file descriptors, shared out so that no part can take the others' share: the
/// HTTP server holds at most `http.max_connections` connections (and its listener), each bound
/// ZeroMQ socket at most `security.max_peers` connections (producers, subscribers, control
/// clients), and ``reserve`` stays for the rest that must keep working at the limit: state
/// snapshots (a temporary file and the directory), a reload (the configuration and key files),
/// the ZeroMQ sockets themselves and libzmq's own descriptors. `mmcd` raises its soft limit to
/// the hard one at start (the shipped units set `LimitNOFILE=65536`).
public enum FileDescriptorBudget {
    /// Descriptors kept for everything but HTTP connections and ZeroMQ peers.
    static let reserve = 128

    /// Raises this process's soft `RLIMIT_NOFILE` to its hard limit.
    /// - Returns: the soft limit now.
    @discardableResult
    public static func raiseLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return currentLimit() }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return currentLimit()
    }

    /// The soft `RLIMIT_NOFILE` of this process.
    static func currentLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1_024 }
        return Int(clamping: limit.rlim_cur)
    }

    /// Why `configuration` does not fit in `limit` descriptors, `nil` when it does.
    static func problem(_ configuration: DaemonConfiguration, limit: Int) -> String? {
        let http = configuration.http.port != 0 ? configuration.http.maxConnections + 1 : 0
        let sockets = 1 + (configuration.input.bind.isEmpty ? 0 : 1) + (configuration.control.endpoint.isEmpty ? 0 : 1)
        let peers = sockets * configuration.security.maxPeers
        guard http + peers + reserve > limit else { return nil }
        return "http.max_connections = \(configuration.http.maxConnections) and security.max_peers = "
            + "\(configuration.security.maxPeers) (on \(sockets) ZeroMQ sockets) leave too few of the \(limit) file "
            + "descriptors this process may open (RLIMIT_NOFILE): \(reserve) are kept for snapshots, reloads and "
            + "libzmq; lower them so that the HTTP connections plus 1 and \(sockets) times max_peers are at most "
            + "\(max(0, limit - reserve)), or raise LimitNOFILE="
    }
}
