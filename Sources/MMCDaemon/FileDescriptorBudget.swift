internal import Glibc
internal import MMCConfiguration

/// The daemon's file descriptors, shared out so that no part can take the others' share: the
/// HTTP server holds at most `http.max_connections` connections (and its listener), and
/// ``reserve`` stays for the rest that must keep working at the limit: state snapshots (a
/// temporary file and the directory), a reload (the configuration and key files), the ZeroMQ
/// sockets and libzmq's own descriptors. ZeroMQ peers (producers, subscribers, control
/// clients) take one descriptor each from what is left, which is why `mmcd` raises its soft
/// limit to the hard one at start (the shipped units set `LimitNOFILE=65536`).
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
        guard configuration.http.port != 0 else { return nil }
        let needed = configuration.http.maxConnections + 1 + reserve
        guard needed > limit else { return nil }
        return "http.max_connections = \(configuration.http.maxConnections) leaves too few of the \(limit) file "
            + "descriptors this process may open (RLIMIT_NOFILE): \(reserve) are kept for snapshots, reloads and "
            + "ZeroMQ; lower it to at most \(max(0, limit - 1 - reserve)), or raise LimitNOFILE="
    }
}
