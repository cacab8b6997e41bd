import CZeroMQ

/// A libzmq context: the I/O threads and the `inproc://` namespace that sockets share.
///
/// Create one per process and pass it to every ``ZMQSocket``. Each socket keeps its context
/// alive, so the context is terminated (`zmq_ctx_term`) only after the last socket is gone and
/// termination never waits on an open socket. ``shutdown()`` is the way to stop everything at
/// once: every blocked or later call on the context's sockets fails with `ETERM`
/// (``ZMQError/isTerminated``), which ends ``ZMQReceiveLoop`` and ``ZAPAuthenticator`` threads.
///
/// ```swift
/// let context = try ZMQContext()
/// let socket = try ZMQSocket(context: context, type: .pub)
/// try socket.bind("tcp://127.0.0.1:*")
/// ```
///
/// libzmq contexts are thread-safe: any thread may create sockets in them or shut them down.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked Sendable: `handle` is immutable, and every libzmq function this class calls
    // with it (zmq_socket, zmq_ctx_shutdown, zmq_ctx_term) is documented as thread-safe.
    let handle: UnsafeMutableRawPointer

    /// Creates a context.
    ///
    /// With `blocky` false (the default) new sockets start with a linger of 0, so closing a
    /// socket discards messages it has not yet sent and the process can never hang on exit.
    /// Set ``ZMQSocketOption/linger(milliseconds:)`` on a socket whose last messages matter,
    /// such as a publisher that sends a final update before it closes.
    ///
    /// - Parameters:
    ///   - ioThreads: libzmq I/O threads; one handles about a gigabyte a second.
    ///   - blocky: libzmq's `ZMQ_BLOCKY`: true keeps libzmq's own default of an unlimited
    ///     linger for new sockets.
    /// - Throws: ``ZMQError`` if libzmq cannot create the context or refuses a setting.
    public init(ioThreads: Int = 1, blocky: Bool = false) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZMQError(code: zmq_errno(), operation: "zmq_ctx_new")
        }
        self.handle = handle
        guard let threads = Int32(exactly: ioThreads), threads > 0 else {
            throw ZMQError(code: EINVAL, operation: "set ZMQ_IO_THREADS \(ioThreads)")
        }
        _ = try zmqCall("set ZMQ_IO_THREADS \(threads)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, threads) }
        _ = try zmqCall("set ZMQ_BLOCKY") { zmq_ctx_set(handle, ZMQ_BLOCKY, blocky ? 1 : 0) }
    }

    /// Makes every blocked and every later call on this context's sockets fail with `ETERM`.
    ///
    /// Sockets stay open until their owners close them (receive loops close theirs as they
    /// end); the context itself is terminated when the last socket and this object are gone.
    /// Calling it twice is harmless.
    public func shutdown() {
        // zmq_ctx_shutdown fails only for an invalid handle, which `handle` never is.
        _ = zmq_ctx_shutdown(handle)
    }

    deinit {
        // Every socket holds a reference to its context, so none is open here and
        // zmq_ctx_term only waits for libzmq's own threads.
        while zmq_ctx_term(handle) != 0, zmq_errno() == EINTR {}
    }
}
