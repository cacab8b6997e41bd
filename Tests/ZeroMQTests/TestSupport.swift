import Foundation
import Glibc
import Testing
import ZeroMQ

/// An `inproc://` endpoint no other test uses (tests run in parallel, and a context's
/// `inproc` names are shared by all of its sockets).
func uniqueInproc(_ name: String) -> String {
    "inproc://\(name)-\(UUID().uuidString)"
}

/// The UTF-8 bytes of `text`.
func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

extension ZMQMessage {
    /// A message whose frames are the UTF-8 bytes of `frames`.
    init(strings frames: String...) {
        self.init(frames.map(bytes))
    }

    /// The frames read as UTF-8.
    var strings: [String] {
        frames.map { String(decoding: $0, as: UTF8.self) }
    }
}

extension ZMQSocket {
    /// Binds `tcp://127.0.0.1:*` and returns the endpoint with the port the system chose.
    func bindEphemeralTCP() throws -> String {
        try bind("tcp://127.0.0.1:*")
        return try lastEndpoint
    }
}

/// Sends `probe` from `sender` until `receiver` gets a message, for at most `limit`.
///
/// This is the slow-joiner handshake: a publisher's first messages are lost until the
/// subscription (or a CURVE handshake) completes, so the test repeats instead of sleeping.
/// `receiver` must have a short receive timeout, which paces the probes.
/// - Returns: The first message received, or `nil` when nothing arrived in time.
func sendUntilReceived(
    _ probe: ZMQMessage, from sender: ZMQSocket, to receiver: ZMQSocket, within limit: Duration
) throws -> ZMQMessage? {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        try sender.send(probe, flags: .dontWait)
        if let message = try receiver.receive() {
            return message
        }
    }
    return nil
}

/// Whether a TCP socket can bind `::1` here (containers may run without IPv6).
func loopbackIPv6IsUp() -> Bool {
    let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
        }
    }
}
