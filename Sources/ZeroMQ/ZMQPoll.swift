import CZeroMQ

/// Readiness of a socket, as asked of and reported by ``ZMQSocket/poll(_:timeoutMilliseconds:)``.
public struct ZMQPollEvents: OptionSet, Sendable, Hashable {
    /// The libzmq bits (`zmq_pollitem_t.events`).
    public let rawValue: Int16

    /// Makes events from libzmq bits.
    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// At least one message can be received without blocking (`ZMQ_POLLIN`).
    public static let pollIn = ZMQPollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// At least one message can be sent without blocking (`ZMQ_POLLOUT`).
    public static let pollOut = ZMQPollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// One socket to watch and the events to watch it for.
public struct ZMQPollItem {
    /// The socket to watch.
    public let socket: ZMQSocket
    /// The events of interest.
    public let events: ZMQPollEvents

    /// Watches `socket` for `events`.
    public init(_ socket: ZMQSocket, events: ZMQPollEvents = .pollIn) {
        self.socket = socket
        self.events = events
    }
}

extension ZMQSocket {
    /// Waits until at least one of the sockets is ready for an event asked of it, or until the
    /// timeout passes (`zmq_poll`).
    ///
    /// This is how one thread serves several sockets without blocking on any of them. A
    /// signal that interrupts the wait restarts it with the full timeout.
    ///
    /// - Parameters:
    ///   - items: The sockets and what to watch each for; all must be open.
    ///   - timeoutMilliseconds: 0 returns at once; -1 waits until something is ready.
    /// - Returns: For each item, in order, the events that are ready (empty on timeout).
    /// - Throws: ``ZMQError`` (`ETERM` after ``ZMQContext/shutdown()``, `ENOTSOCK` for a
    ///   closed socket).
    public static func poll(_ items: [ZMQPollItem], timeoutMilliseconds: Int) throws(ZMQError) -> [ZMQPollEvents] {
        var pollItems: [zmq_pollitem_t] = []
        pollItems.reserveCapacity(items.count)
        for item in items {
            let handle = try item.socket.openHandle(for: "poll")
            pollItems.append(zmq_pollitem_t(socket: handle, fd: -1, events: item.events.rawValue, revents: 0))
        }
        let count = Int32(pollItems.count)
        _ = try zmqCall("poll \(count) sockets") { zmq_poll(&pollItems, count, timeoutMilliseconds) }
        return pollItems.map { ZMQPollEvents(rawValue: $0.revents) }
    }
}
