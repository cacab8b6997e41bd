import CZeroMQ

/// A libzmq socket: endpoints, options, and multipart send and receive.
///
/// A socket is not thread-safe, so this class is not `Sendable`: one task or thread uses it
/// at a time, and Swift's region checking keeps it there. To run a blocking receive loop,
/// hand the socket to a ``ZMQReceiveLoop``, which moves it to a dedicated thread. Set
/// options such as high-water marks before ``bind(_:)`` or ``connect(_:)``: libzmq applies
/// many of them only to connections made afterwards.
///
/// ```swift
/// let socket = try ZMQSocket(context: context, type: .sub)
/// try socket.set(.receiveTimeout(milliseconds: 100))
/// try socket.set(.subscribe(Array("sensor/".utf8)))
/// try socket.connect("tcp://127.0.0.1:5555")
/// if let message = try socket.receive() { print(message.frames.count) }
/// ```
///
/// The socket is closed by ``close()`` or when the object is released, and it keeps its
/// ``context`` alive for as long as the object exists.
public final class ZMQSocket {
    /// The context this socket belongs to.
    public let context: ZMQContext
    /// The socket's pattern.
    public let type: ZMQSocketType
    /// The libzmq socket, or `nil` once closed.
    private var handle: UnsafeMutableRawPointer?

    /// Creates a socket of `type` in `context`.
    ///
    /// - Throws: ``ZMQError`` (`ETERM` after ``ZMQContext/shutdown()``, `EMFILE` when the
    ///   context has too many sockets).
    public init(context: ZMQContext, type: ZMQSocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError(code: zmq_errno(), operation: "socket \(type)")
        }
        self.context = context
        self.type = type
        self.handle = handle
    }

    deinit {
        close()
    }

    /// Closes the socket; later calls on it fail with `ENOTSOCK`. Closing twice is harmless.
    ///
    /// Unsent messages are kept for the socket's linger time (0 by default, see
    /// ``ZMQContext/init(ioThreads:blocky:)``) and then dropped.
    public func close() {
        if let handle {
            // zmq_close fails only for an invalid handle, which `handle` never is.
            _ = zmq_close(handle)
            self.handle = nil
        }
    }

    /// The open libzmq socket for `operation`.
    ///
    /// - Throws: ``ZMQError`` with `ENOTSOCK` once the socket is closed.
    func openHandle(for operation: @autoclosure () -> String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else {
            throw ZMQError(code: ENOTSOCK, operation: operation())
        }
        return handle
    }

    /// Runs a libzmq endpoint function, naming the verb and endpoint in any error.
    private func endpointCall(
        _ verb: String, _ endpoint: String, _ function: (UnsafeMutableRawPointer, String) -> Int32
    ) throws(ZMQError) {
        let operation = "\(verb) \(endpoint)"
        let handle = try openHandle(for: operation)
        _ = try zmqCall(operation) { function(handle, endpoint) }
    }

    /// Accepts connections on `endpoint`, such as `tcp://127.0.0.1:*` (an ephemeral port; read
    /// it back from ``lastEndpoint``), `tcp://[::1]:5556` (an IPv6 address, in brackets),
    /// `ipc:///run/mmcd/points` or `inproc://name`.
    ///
    /// - Throws: ``ZMQError`` (`EADDRINUSE`, `EPROTONOSUPPORT`, `EINVAL` for a malformed
    ///   endpoint, ...), with the endpoint in ``ZMQError/operation``.
    public func bind(_ endpoint: String) throws(ZMQError) {
        try allowIPv6(for: endpoint)
        try endpointCall("bind", endpoint) { zmq_bind($0, $1) }
    }

    /// Connects to `endpoint`; libzmq connects in the background and reconnects after losses.
    ///
    /// - Throws: ``ZMQError`` for a malformed endpoint or unsupported transport.
    public func connect(_ endpoint: String) throws(ZMQError) {
        try allowIPv6(for: endpoint)
        try endpointCall("connect", endpoint) { zmq_connect($0, $1) }
    }

    /// Turns on ``ZMQSocketOption/ipv6(_:)`` for a TCP endpoint with a bracketed (IPv6)
    /// address, which libzmq would otherwise refuse with a bare "No such device". Only then:
    /// with the option on, a wildcard `tcp://*:port` becomes dual-stack and IPv4 peers show
    /// as `::ffff:a.b.c.d`, which would change what addresses the peer gate counts.
    private func allowIPv6(for endpoint: String) throws(ZMQError) {
        if endpoint.hasPrefix("tcp://") && endpoint.contains("[") { try set(.ipv6(true)) }
    }

    /// Stops accepting on an endpoint given to ``bind(_:)`` (use the resolved
    /// ``lastEndpoint`` for a wildcard bind).
    ///
    /// - Throws: ``ZMQError`` (`ENOENT` when the endpoint is not bound).
    public func unbind(_ endpoint: String) throws(ZMQError) {
        try endpointCall("unbind", endpoint) { zmq_unbind($0, $1) }
    }

    /// Drops the connection made by ``connect(_:)`` to `endpoint`.
    ///
    /// - Throws: ``ZMQError`` (`ENOENT` when the endpoint is not connected).
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        try endpointCall("disconnect", endpoint) { zmq_disconnect($0, $1) }
    }

    /// Sends all frames of `message` as one multipart message.
    ///
    /// libzmq queues the whole message or none of it. A `PUB` socket never blocks (it drops
    /// for peers at their high-water mark); `PUSH`, `DEALER` and `REQ` block at the high-water
    /// mark unless `flags` contains ``ZMQFlags/dontWait`` or a send timeout is set.
    ///
    /// - Returns: `true` when queued; `false` when the send would block (`EAGAIN`): with
    ///   ``ZMQFlags/dontWait`` or after the send timeout. Nothing was queued then.
    /// - Throws: ``ZMQError`` for anything else (`ETERM`, `EFSM` for a `REQ` out of turn,
    ///   `ENOTSUP` for a socket type that cannot send).
    @discardableResult
    public func send(_ message: ZMQMessage, flags: ZMQFlags = []) throws(ZMQError) -> Bool {
        let handle = try openHandle(for: "send")
        let last = message.frames.count - 1
        for (index, frame) in message.frames.enumerated() {
            let frameFlags = index < last ? flags.rawValue | ZMQ_SNDMORE : flags.rawValue
            let operation = "send frame \(index + 1) of \(last + 1)"
            let sent = try zmqCallUnlessWouldBlock(operation) {
                frame.withUnsafeBytes { bytes in zmq_send(handle, bytes.baseAddress, bytes.count, frameFlags) }
            }
            if sent == nil {
                // libzmq applies the high-water mark to a message's first frame and then
                // accepts the rest, so a later frame that would block is a broken invariant.
                guard index == 0 else {
                    throw ZMQError(code: EAGAIN, operation: operation)
                }
                return false
            }
        }
        return true
    }

    /// Receives one multipart message with all its frames.
    ///
    /// The `zmq_msg_t` that libzmq fills lives at one allocated address for the whole call and
    /// is closed before returning.
    ///
    /// - Returns: The message, or `nil` when none arrived: with ``ZMQFlags/dontWait`` and
    ///   nothing queued, or after the receive timeout.
    /// - Throws: ``ZMQError`` (`ETERM` after ``ZMQContext/shutdown()``, `EFSM` for a `REP`
    ///   out of turn, `ENOTSUP` for a socket type that cannot receive).
    public func receive(flags: ZMQFlags = []) throws(ZMQError) -> ZMQMessage? {
        let handle = try openHandle(for: "receive")
        let part = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        // zmq_msg_init cannot fail.
        _ = zmq_msg_init(part)
        defer {
            _ = zmq_msg_close(part)
            part.deallocate()
        }
        var frames: [[UInt8]] = []
        repeat {
            // The first frame waits (or not) as asked; the rest of a message is already queued.
            let partFlags = frames.isEmpty ? flags.rawValue : 0
            let received = try zmqCallUnlessWouldBlock("receive frame \(frames.count + 1)") {
                zmq_msg_recv(part, handle, partFlags)
            }
            guard received != nil else {
                guard frames.isEmpty else {
                    throw ZMQError(code: EAGAIN, operation: "receive frame \(frames.count + 1)")
                }
                return nil
            }
            frames.append(Array(UnsafeRawBufferPointer(start: zmq_msg_data(part), count: zmq_msg_size(part))))
        } while zmq_msg_more(part) != 0
        return ZMQMessage(frames)
    }
}
