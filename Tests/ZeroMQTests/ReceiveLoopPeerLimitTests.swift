import Foundation
import Glibc
import MMCTestSupport
import Testing
import ZeroMQ

/// A plain stream socket connected to `address` (TCP on loopback or a Unix path), with a 1 s
/// receive timeout; nil when the connection fails.
private func rawConnection(tcpPort port: UInt16? = nil, unixPath path: String? = nil) -> Int32? {
    if let port {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return connected == 0 ? withReceiveTimeout(descriptor) : nil
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

    @Test("IPC connections count against the limit too")
    func ipcConnectionsBeyondTheLimit() async throws {
        let context = try ZMQContext()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("peer-limit-\(UUID().uuidString)").path
        defer { unlink(path) }
        let pull = try ZMQSocket(context: context, type: .pull)
        let gate = try ZMQPeerGate.watching(pull, limit: 1)
        try pull.bind("ipc://\(path)")
        let loop = try ZMQReceiveLoop(socket: pull, bufferSize: 4, name: "test.peer-limit-ipc", peerGate: gate)
        let first = try #require(rawConnection(unixPath: path))
        let second = try #require(rawConnection(unixPath: path))
        defer {
            close(first)
            close(second)
        }
        #expect(try await eventually(within: .seconds(10)) { loop.refusedPeers == 1 && loop.peers == 1 })
        #expect([first, second].map(closedByServer).filter { $0 }.count == 1)
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
