import Foundation
import Glibc
import MMCTestSupport
import Synchronization
import Testing
import ZeroMQ

/// A plain stream socket connected to `address` (TCP to 127.0.0.1 from the loopback address
/// `source`, or a Unix path), with a 1 s receive timeout; nil when the connection fails.
private func rawConnection(
    tcpPort port: UInt16? = nil, from source: String = "127.0.0.1", unixPath path: String? = nil
) -> Int32? {
    if let port {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = ipv4(source, port: 0), address = ipv4("127.0.0.1", port: port)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, connected == 0 else {
            close(descriptor)
            return nil
        }
        return withReceiveTimeout(descriptor)
    }
    guard let path else { return nil }
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { bytes in
        for (index, byte) in path.utf8.enumerated() { bytes[index] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    return connected == 0 ? withReceiveTimeout(descriptor) : nil
}

/// The IPv4 socket address `host`:`port`.
private func ipv4(_ host: String, port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    _ = inet_pton(AF_INET, host, &address.sin_addr)
    return address
}

private func withReceiveTimeout(_ descriptor: Int32) -> Int32 {
    var timeout = timeval(tv_sec: 1, tv_usec: 0)
    _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    return descriptor
}

/// Whether the server closed `descriptor`'s connection: reads (libzmq's greeting, if any) until
/// end of file, or until nothing came for the receive timeout.
private func closedByServer(_ descriptor: Int32) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count == 0 { return true }
        if count < 0 { return false }
    }
}

/// Whether libzmq's greeting reaches `descriptor` within 20 s (twenty receive timeouts).
private func greeted(_ descriptor: Int32) -> Bool {
    var byte: UInt8 = 0
    for _ in 0..<20 {
        let count = recv(descriptor, &byte, 1, 0)
        if count == 1 { return true }
        if count == 0 || errno != EAGAIN { return false }
    }
    return false
}

/// A receive loop on a `PULL` bound to an ephemeral port on 127.0.0.1 behind a gate with these
/// limits, and the port.
private func gatedLoop(
    limit: Int, perAddressLimit: Int, name: String, binding: String = "tcp://127.0.0.1:*",
    observe: (@Sendable (ZMQPeerReport) -> Void)? = nil
) throws -> (loop: ZMQReceiveLoop, port: UInt16) {
    let pull = try ZMQSocket(context: ZMQContext(), type: .pull)
    let gate = try ZMQPeerGate.watching(pull, limit: limit, perAddressLimit: perAddressLimit, observe: observe)
    try pull.bind(binding)
    let endpoint = try pull.lastEndpoint
    let port = try LoopbackPorts.port(ofEndpoint: endpoint)
    return (try ZMQReceiveLoop(socket: pull, bufferSize: 4, name: name, peerGate: gate), UInt16(port))
}

/// Connects from `source` one at a time, `limit` connections the loop (until then without
/// peers) accepts, then one more, which it must refuse at the address limit; returns the
/// accepted ones, open.
private func crowd(
    _ loop: ZMQReceiveLoop, port: UInt16, from source: String, upTo limit: Int
) async throws -> [Int32] {
    var accepted: [Int32] = []
    for expected in 1...limit {
        accepted.append(try #require(rawConnection(tcpPort: port, from: source)))
        #expect(try await eventually(within: .seconds(10)) { loop.peers == expected })
    }
    let refusedBefore = loop.refusedPeersAtAddressLimit
    let beyond = try #require(rawConnection(tcpPort: port, from: source))
    #expect(try await eventually(within: .seconds(10)) { loop.refusedPeersAtAddressLimit == refusedBefore + 1 })
    #expect(closedByServer(beyond))
    close(beyond)
    return accepted
}

@Suite("Receive loop peer limit", .timeLimit(.minutes(1)), .tags(.unit))
struct ReceiveLoopPeerLimitTests {
    @Test("TCP connections beyond the limit are closed at once, and a freed place is taken again")
    func tcpConnectionsBeyondTheLimit() async throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        let gate = try ZMQPeerGate.watching(pull, limit: 2)
        let endpoint = try pull.bindEphemeralTCP()
        let port = try #require(UInt16(endpoint.split(separator: ":").last ?? ""))
        let loop = try ZMQReceiveLoop(socket: pull, bufferSize: 4, name: "test.peer-limit", peerGate: gate)

        let connections = try (0..<4).map { _ in try #require(rawConnection(tcpPort: port)) }
        #expect(try await eventually(within: .seconds(10)) { loop.refusedPeers == 2 && loop.peers == 2 })
        let closed = connections.map(closedByServer)
        #expect(closed.filter { $0 }.count == 2)

        // Leaving frees a place: the next connection is admitted, the one after refused.
        let leaving = try #require(closed.firstIndex(of: false))
        close(connections[leaving])
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 1 })
        let next = try #require(rawConnection(tcpPort: port))
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 2 })
        #expect(loop.refusedPeers == 2)
        let beyond = try #require(rawConnection(tcpPort: port))
        #expect(try await eventually(within: .seconds(10)) { loop.refusedPeers == 3 })
        #expect(closedByServer(beyond))

        // Once every raw connection is gone, a real peer gets its messages through.
        // Each descriptor closed once: `next` may have the number the leaving one had.
        var remaining = connections
        remaining.remove(at: leaving)
        for descriptor in remaining + [next, beyond] { close(descriptor) }
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 0 })
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(endpoint)
        #expect(try push.send(ZMQMessage(strings: "reading")))
        var messages = loop.messages.makeAsyncIterator()
        #expect(await messages.next()?.strings == ["reading"])
        #expect(loop.peers == 1)
        loop.stop()
    }

    @Test("IPC connections count against the limit too, but have no address to count against")
    func ipcConnectionsBeyondTheLimit() async throws {
        let context = try ZMQContext()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("peer-limit-\(UUID().uuidString)").path
        defer { unlink(path) }
        let pull = try ZMQSocket(context: context, type: .pull)
        let gate = try ZMQPeerGate.watching(pull, limit: 2, perAddressLimit: 1)
        try pull.bind("ipc://\(path)")
        let loop = try ZMQReceiveLoop(socket: pull, bufferSize: 4, name: "test.peer-limit-ipc", peerGate: gate)
        let connections = try (0..<3).map { _ in try #require(rawConnection(unixPath: path)) }
        defer { connections.forEach { close($0) } }
        #expect(try await eventually(within: .seconds(10)) { loop.refusedPeers == 1 && loop.peers == 2 })
        #expect(connections.map(closedByServer).filter { $0 }.count == 1)
        #expect(loop.refusedPeersAtAddressLimit == 0)
        loop.stop()
    }

    @Test("Connections accepted between the bind and the loop's start count too")
    func connectionsBeforeTheLoopStarts() async throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        let gate = try ZMQPeerGate.watching(pull, limit: 2)
        let endpoint = try pull.bindEphemeralTCP()
        let port = try #require(UInt16(endpoint.split(separator: ":").last ?? ""))
        // libzmq greets a connection once it has accepted it: three greeted connections are
        // three accepted before any loop reads the gate's events.
        let connections = try (0..<3).map { _ in try #require(rawConnection(tcpPort: port)) }
        defer { connections.forEach { close($0) } }
        for descriptor in connections { #expect(greeted(descriptor), "no greeting") }
        let loop = try ZMQReceiveLoop(socket: pull, bufferSize: 4, name: "test.peer-limit-early", peerGate: gate)
        #expect(try await eventually { loop.refusedPeers == 1 && loop.peers == 2 })
        #expect(connections.map(closedByServer).filter { $0 }.count == 1)
        loop.stop()
    }

    @Test("One address beyond its limit is refused while another gets in, and a place it frees is taken again")
    func perAddressLimit() async throws {
        let reports = Mutex<[ZMQPeerReport]>([])
        let (loop, port) = try gatedLoop(limit: 8, perAddressLimit: 2, name: "test.peer-limit-address") { report in
            reports.withLock { $0.append(report) }
        }

        var crowding = try await crowd(loop, port: port, from: "127.0.0.1", upTo: 2)
        let others = try ["127.0.0.2", "127.0.0.2"].map { try #require(rawConnection(tcpPort: port, from: $0)) }
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 4 })
        #expect(loop.refusedPeers == 1 && loop.refusedPeersAtAddressLimit == 1)
        #expect(reports.withLock { $0.flatMap(\.crowdedAddresses) } == ["127.0.0.1"])
        #expect(reports.withLock { $0.map(\.refusedAtLimit).reduce(0, +) } == 0)

        // One of 127.0.0.1's connections leaves: its place goes back to that address alone.
        close(crowding.removeFirst())
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 3 })
        crowding.append(try #require(rawConnection(tcpPort: port, from: "127.0.0.1")))
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 4 })
        #expect(loop.refusedPeers == 1)
        let beyond = try #require(rawConnection(tcpPort: port, from: "127.0.0.1"))
        #expect(try await eventually(within: .seconds(10)) { loop.refusedPeersAtAddressLimit == 2 })
        #expect(closedByServer(beyond))
        close(beyond)
        for descriptor in crowding + others { close(descriptor) }
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 0 })
        #expect(loop.refusedPeers == 2)
        loop.stop()
    }

    @Test(
        "On a dual-stack [::] socket IPv4 peers count per address, as ::ffff:a.b.c.d",
        .enabled(if: loopbackIPv6IsUp(), "this machine has no IPv6 loopback"))
    func ipv4PeersOnADualStackSocket() async throws {
        let reports = Mutex<[ZMQPeerReport]>([])
        let (loop, port) = try gatedLoop(
            limit: 8, perAddressLimit: 2, name: "test.peer-limit-dual-stack", binding: "tcp://[::]:*"
        ) { report in
            reports.withLock { $0.append(report) }
        }
        var held = try await crowd(loop, port: port, from: "127.0.0.1", upTo: 2)
        defer { held.forEach { close($0) } }
        // Another IPv4 address is another mapped address, with places of its own.
        held.append(try #require(rawConnection(tcpPort: port, from: "127.0.0.2")))
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 3 })
        #expect(loop.refusedPeers == 1)
        #expect(reports.withLock { $0.flatMap(\.crowdedAddresses) } == ["::ffff:127.0.0.1"])
        loop.stop()
    }

    @Test("The socket's limit is met first: a connection over it is refused whatever its address holds")
    func limitBeforeAddressLimit() async throws {
        let (loop, port) = try gatedLoop(limit: 3, perAddressLimit: 2, name: "test.peer-limit-first")
        let held = try ["127.0.0.1", "127.0.0.1", "127.0.0.2"].map {
            try #require(rawConnection(tcpPort: port, from: $0))
        }
        defer { held.forEach { close($0) } }
        #expect(try await eventually(within: .seconds(10)) { loop.peers == 3 })
        // From an address at its limit and from a new one: both count as the socket's.
        let beyond = try ["127.0.0.1", "127.0.0.3"].map { try #require(rawConnection(tcpPort: port, from: $0)) }
        defer { beyond.forEach { close($0) } }
        #expect(try await eventually(within: .seconds(10)) { loop.refusedPeers == 2 })
        #expect(beyond.allSatisfy(closedByServer))
        #expect(loop.refusedPeersAtAddressLimit == 0 && loop.peers == 3)
        loop.stop()
    }

    @Test("Without a limit nothing is counted or refused")
    func noLimit() async throws {
        let context = try ZMQContext()
        let pull = try ZMQSocket(context: context, type: .pull)
        let endpoint = try pull.bindEphemeralTCP()
        let port = try #require(UInt16(endpoint.split(separator: ":").last ?? ""))
        let loop = try ZMQReceiveLoop(socket: pull, bufferSize: 4, name: "test.no-peer-limit")
        let connections = try (0..<3).map { _ in try #require(rawConnection(tcpPort: port)) }
        defer { connections.forEach { close($0) } }
        let push = try ZMQSocket(context: context, type: .push)
        try push.connect(endpoint)
        #expect(try push.send(ZMQMessage(strings: "through")))
        var messages = loop.messages.makeAsyncIterator()
        #expect(await messages.next()?.strings == ["through"])
        #expect(loop.peers == 0 && loop.refusedPeers == 0)
        loop.stop()
    }
}
