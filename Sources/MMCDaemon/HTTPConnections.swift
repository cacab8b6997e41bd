internal import NIOCore
internal import Synchronization

/// The open HTTP connections, so that one more than `limit` closes the connection that has
/// waited longest for a request (an idle one): file descriptors stay bounded, and a health
/// check gets in however many idle connections a client holds open. A connection answering a
/// request (an event stream included) is never closed for this; when every one is, the new
/// connection is closed instead. Thread-safe: each connection's handler calls it from its event
/// loop.
final class HTTPConnections: Sendable {
    private struct Entry {
        let channel: any Channel
        /// Whether a request is being answered.
        var busy: Bool
        /// When the connection last became idle (opened, or finished a response).
        var idleSince: ContinuousClock.Instant
    }

    private let limit: Int
    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Registers a new connection; closes one if there are more than `limit`.
    func opened(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let victim: (any Channel)? = entries.withLock { entries in
            entries[key] = Entry(channel: channel, busy: false, idleSince: .now)
            guard entries.count > limit else { return nil }
            let idle = entries.filter { !$0.value.busy && $0.key != key }
            let oldest = idle.min { $0.value.idleSince < $1.value.idleSince }?.key ?? key
            return entries.removeValue(forKey: oldest)?.channel
        }
        victim?.close(promise: nil)
    }

    /// Forgets a closed connection.
    func closed(_ channel: any Channel) {
        _ = entries.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// A request head arrived (`busy`), or a response ended.
    func mark(_ channel: any Channel, busy: Bool) {
        entries.withLock { entries in
            entries[ObjectIdentifier(channel)]?.busy = busy
            if !busy { entries[ObjectIdentifier(channel)]?.idleSince = .now }
        }
    }

    /// The number of connections open.
    var count: Int { entries.withLock { $0.count } }
}
