import CZeroMQ
import FoundationEssentials
import Glibc
import Synchronization

/// The connections a bound socket holds, as its receive loop counts them.
final class PeerCounters: Sendable {
    /// Connections accepted and open now.
    let open = Atomic<Int>(0)
    /// Connections closed as soon as they were accepted, because `open` was at the limit.
    let refused = Atomic<Int>(0)
}

/// Caps the TCP and IPC connections a bound socket accepts, which libzmq itself does not: each
/// takes a file descriptor, so without a cap one client opening connections in a loop takes
/// every descriptor the process may open.
///
/// libzmq reports each accepted connection, with its descriptor, on a monitor socket
/// (`zmq_socket_monitor`, events `ACCEPTED` and `DISCONNECTED`). The gate keeps the set of open
/// ones; a connection accepted while `limit` are open is shut down at once (`shutdown(2)` on
/// its descriptor: libzmq reads end-of-file, closes it and reports it disconnected), so the
/// socket never holds more than `limit` for longer than the gate takes to read the event.
///
/// The descriptor is libzmq's, and it may close it (the peer left) before the gate reads the
/// event; the number may then belong to something else of this process. So the gate reads
/// every waiting event first and leaves alone a connection whose disconnection is among them,
/// and before a shutdown it checks that the descriptor is still a connected socket on the
/// endpoint that accepted it (the same TCP port, or the same IPC path). Only a connection on
/// that same endpoint can pass that check, and shutting it down refuses a connection that came
/// while the socket was at its limit all the same.
///
/// Make it before binding the socket: libzmq reports only the connections accepted after the
/// monitor starts, and one accepted before would never be counted. Hand it to
/// ``ZMQReceiveLoop``, whose thread then owns it, like its sockets.
public struct ZMQPeerGate {
    let limit: Int
    let counters = PeerCounters()
    /// Told the open count and the connections refused, after each read of events that
    /// changed either.
    let observe: (@Sendable (_ open: Int, _ refused: Int) -> Void)?
    /// The `PAIR` socket the monitor publishes on.
    let events: ZMQSocket
    private var admitted: Set<Int32> = []

    /// Starts monitoring `socket`, not yet bound, for its future bound endpoints.
    ///
    /// - Parameters:
    ///   - limit: The most TCP and IPC connections the socket's bound endpoints hold at once;
    ///     one more is closed as soon as it is accepted and counted in
    ///     ``ZMQReceiveLoop/refusedPeers``.
    ///   - observe: Told on the loop thread the connections open and those just refused
    ///     whenever either changes (for metrics and logs).
    /// - Returns: A gate that shares nothing with `socket`, so both can go to the loop's thread.
    /// - Throws: ``ZMQError`` if the monitor cannot be started.
    public static func watching(
        _ socket: ZMQSocket, limit: Int, observe: (@Sendable (_ open: Int, _ refused: Int) -> Void)? = nil
    ) throws(ZMQError) -> sending ZMQPeerGate {
        precondition(limit >= 1, "ZMQPeerGate: limit must be at least 1")
        let endpoint = "inproc://zeromq.peer-gate.\(UUID().uuidString)"
        let handle = try socket.openHandle(for: "monitor")
        _ = try zmqCall("monitor \(endpoint)") {
            zmq_socket_monitor(handle, endpoint, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED)
        }
        return try ZMQPeerGate(monitorEndpoint: endpoint, context: socket.context, limit: limit, observe: observe)
    }

    /// Connects to the monitor publishing at `monitorEndpoint`.
    private init(
        monitorEndpoint: String, context: ZMQContext, limit: Int, observe: (@Sendable (_ open: Int, _ refused: Int) -> Void)?
    ) throws(ZMQError) {
        let events = try ZMQSocket(context: context, type: .pair)
        try events.set(.linger(milliseconds: 0))
        // No high-water mark: libzmq drops monitor events that find the pipe full, and a lost
        // ACCEPTED leaves a connection uncounted, a lost DISCONNECTED a place taken for good. A
        // burst of connections queues one short event each, and the loop drains them all at
        // least every poll interval.
        try events.set(.receiveHighWaterMark(0))
        try events.connect(monitorEndpoint)
        self.limit = limit
        self.observe = observe
        self.events = events
    }

    /// Reads every waiting event, then admits, refuses or forgets the connections they name.
    mutating func handleEvents() throws(ZMQError) {
        var pending: [(event: Int32, descriptor: Int32, endpoint: String)] = []
        let before = admitted.count
        var refused = 0
        while let message = try events.receive(flags: .dontWait) {
            guard let event = Self.parse(message) else { continue }
            pending.append(event)
        }
        for (index, (event, descriptor, endpoint)) in pending.enumerated() {
            if event == ZMQ_EVENT_DISCONNECTED {
                admitted.remove(descriptor)
                continue
            }
            let closedSince = pending[(index + 1)...].contains {
                $0.event == ZMQ_EVENT_DISCONNECTED && $0.descriptor == descriptor
            }
            if closedSince {
                continue
            }
            if admitted.count < limit {
                admitted.insert(descriptor)
            } else if Self.isConnection(descriptor, acceptedOn: endpoint) {
                _ = shutdown(descriptor, Int32(SHUT_RDWR))
                counters.refused.add(1, ordering: .relaxed)
                refused += 1
            }
        }
        counters.open.store(admitted.count, ordering: .relaxed)
        if admitted.count != before || refused > 0 {
            observe?(admitted.count, refused)
        }
    }

    /// The event, descriptor and endpoint of one monitor message (libzmq 4's format: a frame of
    /// a 16-bit event and a 32-bit value in host order, then a frame with the endpoint).
    private static func parse(_ message: ZMQMessage) -> (event: Int32, descriptor: Int32, endpoint: String)? {
        guard message.frames.count == 2, message.frames[0].count == 6 else { return nil }
        let header = message.frames[0]
        let event = header.withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }
        let value = header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: Int32.self) }
        return (Int32(event), value, String(decoding: message.frames[1], as: UTF8.self))
    }

    /// Whether `descriptor` is a connected stream socket whose local end is `endpoint`
    /// (`tcp://host:port`: the same port; `ipc://path`: the same path).
    private static func isConnection(_ descriptor: Int32, acceptedOn endpoint: String) -> Bool {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        var peer = sockaddr_storage()
        var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let connected = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &peerLength) }
        }
        guard named == 0, connected == 0 else { return false }
        if endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":"),
            let port = UInt16(endpoint[endpoint.index(after: colon)...])
        {
            let family = Int32(storage.ss_family)
            return withUnsafePointer(to: &storage) { address in
                switch family {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) == port }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                        UInt16(bigEndian: $0.pointee.sin6_port) == port
                    }
                default:
                    false
                }
            }
        }
        if endpoint.hasPrefix("ipc://"), Int32(storage.ss_family) == AF_UNIX {
            let path = String(endpoint.dropFirst("ipc://".count))
            let local = withUnsafePointer(to: &storage) { address in
                address.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { unix in
                    withUnsafeBytes(of: unix.pointee.sun_path) { bytes in
                        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                    }
                }
            }
            return local == path
        }
        return false
    }
}
