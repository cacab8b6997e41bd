import CZeroMQ
import FoundationEssentials
import Glibc
import Synchronization

/// The connections a bound socket holds, as its receive loop counts them.
final class PeerCounters: Sendable {
    /// Connections accepted and open now.
    let open = Atomic<Int>(0)
    /// Connections closed as soon as they were accepted, at either limit.
    let refused = Atomic<Int>(0)
    /// Those of ``refused`` closed because their address held its limit.
    let refusedAtAddressLimit = Atomic<Int>(0)
}

/// What one read of a ``ZMQPeerGate``'s events changed, for metrics and logs.
public struct ZMQPeerReport: Sendable, Hashable {
    /// Connections open now.
    public let open: Int
    /// Connections just refused because the gate's `limit` were open.
    public let refusedAtLimit: Int
    /// Connections just refused because their remote address held `perAddressLimit`.
    public let refusedAtAddressLimit: Int
    /// The remote addresses of those, each once, in the order they were refused.
    public let crowdedAddresses: [String]
}

/// Caps the TCP and IPC connections a bound socket accepts, which libzmq itself does not: each
/// takes a file descriptor, so without a cap one client opening connections in a loop takes
/// every descriptor the process may open. A second, lower cap per remote IP address keeps such a
/// client from taking every place and locking the other hosts out.
///
/// libzmq reports each accepted connection, with its descriptor, on a monitor socket
/// (`zmq_socket_monitor`, events `ACCEPTED` and `DISCONNECTED`). The gate keeps the set of open
/// ones, and for TCP the peer's address (`getpeername(2)`); a connection accepted while `limit`
/// are open, or while its address holds `perAddressLimit`, is shut down at once (`shutdown(2)`
/// on its descriptor: libzmq reads end-of-file, closes it and reports it disconnected), so the
/// socket never holds more than the limits for longer than the gate takes to read the event.
/// IPC connections have no address and count only against `limit`.
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
    let perAddressLimit: Int?
    let counters = PeerCounters()
    /// Told what changed after each read of events that changed the open count or refused a
    /// connection.
    let observe: (@Sendable (ZMQPeerReport) -> Void)?
    /// The `PAIR` socket the monitor publishes on.
    let events: ZMQSocket
    private var admitted: Set<Int32> = []
    /// The remote address of each admitted TCP connection whose peer was still there when the
    /// gate looked.
    private var addresses: [Int32: String] = [:]
    /// How many admitted connections each address in ``addresses`` holds; never 0.
    private var openByAddress: [String: Int] = [:]

    /// Starts monitoring `socket`, not yet bound, for its future bound endpoints.
    ///
    /// - Parameters:
    ///   - limit: The most TCP and IPC connections the socket's bound endpoints hold at once;
    ///     one more is closed as soon as it is accepted and counted in
    ///     ``ZMQReceiveLoop/refusedPeers``.
    ///   - perAddressLimit: The most TCP connections from one remote IP address; one more is
    ///     closed as soon as it is accepted and counted in
    ///     ``ZMQReceiveLoop/refusedPeersAtAddressLimit`` too. `nil`: only `limit` applies.
    ///   - observe: Told on the loop thread the connections open and those just refused
    ///     whenever either changes (for metrics and logs).
    /// - Returns: A gate that shares nothing with `socket`, so both can go to the loop's thread.
    /// - Throws: ``ZMQError`` if the monitor cannot be started.
    public static func watching(
        _ socket: ZMQSocket, limit: Int, perAddressLimit: Int? = nil,
        observe: (@Sendable (ZMQPeerReport) -> Void)? = nil
    ) throws(ZMQError) -> sending ZMQPeerGate {
        precondition(limit >= 1, "ZMQPeerGate: limit must be at least 1")
        precondition((perAddressLimit ?? 1) >= 1, "ZMQPeerGate: perAddressLimit must be at least 1")
        let endpoint = "inproc://zeromq.peer-gate.\(UUID().uuidString)"
        let handle = try socket.openHandle(for: "monitor")
        _ = try zmqCall("monitor \(endpoint)") {
            zmq_socket_monitor(handle, endpoint, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED)
        }
        return try ZMQPeerGate(
            monitorEndpoint: endpoint, context: socket.context, limit: limit, perAddressLimit: perAddressLimit,
            observe: observe)
    }

    /// Connects to the monitor publishing at `monitorEndpoint`.
    private init(
        monitorEndpoint: String, context: ZMQContext, limit: Int, perAddressLimit: Int?,
        observe: (@Sendable (ZMQPeerReport) -> Void)?
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
        self.perAddressLimit = perAddressLimit
        self.observe = observe
        self.events = events
    }

    /// Reads every waiting event, then admits, refuses or forgets the connections they name.
    mutating func handleEvents() throws(ZMQError) {
        var pending: [(event: Int32, descriptor: Int32, endpoint: String)] = []
        let before = admitted.count
        var refusedAtLimit = 0, refusedAtAddressLimit = 0
        var crowded: [String] = []
        while let message = try events.receive(flags: .dontWait) {
            guard let event = Self.parse(message) else { continue }
            pending.append(event)
        }
        for (index, (event, descriptor, endpoint)) in pending.enumerated() {
            if event == ZMQ_EVENT_DISCONNECTED {
                forget(descriptor)
                continue
            }
            let closedSince = pending[(index + 1)...].contains {
                $0.event == ZMQ_EVENT_DISCONNECTED && $0.descriptor == descriptor
            }
            if closedSince {
                continue
            }
            // nil: no longer a connection on `endpoint`, so its disconnection is on its way.
            let peer = Self.peer(of: descriptor, acceptedOn: endpoint)
            if admitted.count >= limit {
                guard peer != nil else { continue }
                _ = shutdown(descriptor, Int32(SHUT_RDWR))
                refusedAtLimit += 1
            } else if case .tcp(let address)? = peer, let perAddressLimit,
                openByAddress[address, default: 0] >= perAddressLimit
            {
                _ = shutdown(descriptor, Int32(SHUT_RDWR))
                refusedAtAddressLimit += 1
                if !crowded.contains(address) { crowded.append(address) }
            } else {
                admit(descriptor, from: peer)
            }
        }
        counters.open.store(admitted.count, ordering: .relaxed)
        counters.refused.add(refusedAtLimit + refusedAtAddressLimit, ordering: .relaxed)
        counters.refusedAtAddressLimit.add(refusedAtAddressLimit, ordering: .relaxed)
        if admitted.count != before || refusedAtLimit + refusedAtAddressLimit > 0 {
            observe?(
                ZMQPeerReport(
                    open: admitted.count, refusedAtLimit: refusedAtLimit, refusedAtAddressLimit: refusedAtAddressLimit,
                    crowdedAddresses: crowded))
        }
    }

    /// Counts `descriptor` open, against its address if it is a TCP connection.
    private mutating func admit(_ descriptor: Int32, from peer: Peer?) {
        // A number is admitted again only after its DISCONNECTED; forgetting first keeps the
        // per-address counts equal to the admitted connections even if libzmq skipped one.
        forget(descriptor)
        admitted.insert(descriptor)
        if case .tcp(let address)? = peer {
            addresses[descriptor] = address
            openByAddress[address, default: 0] += 1
        }
    }

    /// Forgets `descriptor`, if it was admitted, and gives its address's place back.
    private mutating func forget(_ descriptor: Int32) {
        admitted.remove(descriptor)
        guard let address = addresses.removeValue(forKey: descriptor), let open = openByAddress[address] else { return }
        openByAddress[address] = open > 1 ? open - 1 : nil
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

    /// Who is at the other end of an accepted connection.
    private enum Peer {
        /// A TCP peer at this IP address, in `inet_ntop(3)` form.
        case tcp(String)
        /// A local process on an IPC path, which has no address.
        case ipc
    }

    /// The peer of `descriptor` if it is a connected stream socket whose local end is
    /// `endpoint` (`tcp://host:port`: the same port; `ipc://path`: the same path), else `nil`.
    private static func peer(of descriptor: Int32, acceptedOn endpoint: String) -> Peer? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        var remote = sockaddr_storage()
        var remoteLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let connected = withUnsafeMutablePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &remoteLength) }
        }
        guard named == 0, connected == 0 else { return nil }
        if endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":"),
            let port = UInt16(endpoint[endpoint.index(after: colon)...]), localPort(storage) == port,
            let address = ipAddress(remote)
        {
            return .tcp(address)
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
            return local == path ? .ipc : nil
        }
        return nil
    }

    /// The port of an IPv4 or IPv6 socket address.
    private static func localPort(_ storage: sockaddr_storage) -> UInt16? {
        withUnsafePointer(to: storage) { address in
            switch Int32(storage.ss_family) {
            case AF_INET:
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    UInt16(bigEndian: $0.pointee.sin6_port)
                }
            default:
                nil
            }
        }
    }

    /// The IP address of an IPv4 or IPv6 socket address, as `inet_ntop(3)` writes it.
    private static func ipAddress(_ storage: sockaddr_storage) -> String? {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let written: UnsafePointer<CChar>? = withUnsafePointer(to: storage) { address in
            switch Int32(storage.ss_family) {
            case AF_INET:
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    var ip = $0.pointee.sin_addr
                    return inet_ntop(AF_INET, &ip, &text, socklen_t(text.count))
                }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    var ip = $0.pointee.sin6_addr
                    return inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count))
                }
            default:
                nil
            }
        }
        guard written != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
