import CZeroMQ

/// A failed libzmq call: its errno, libzmq's description of it, and what was being done.
///
/// Every throwing function in this module throws this one type, so callers can switch on
/// ``code`` (an `errno` value such as `EADDRINUSE`, or one of libzmq's own codes such as
/// `ETERM`) or log ``description``, which reads like `bind tcp://1.2.3.4:5: Cannot assign
/// requested address (errno 99)`.
public struct ZMQError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `errno` value libzmq reported.
    public let code: Int32
    /// libzmq's text for ``code`` (`zmq_strerror`).
    public let message: String
    /// The operation that failed, with its argument where that helps (for example
    /// `"connect tcp://127.0.0.1:5555"`).
    public let operation: String

    /// Makes an error for `code`, taking the message from `zmq_strerror`.
    init(code: Int32, operation: String) {
        self.code = code
        self.message = String(cString: zmq_strerror(code))
        self.operation = operation
    }

    /// `operation: message (errno code)`.
    public var description: String {
        "\(operation): \(message) (errno \(code))"
    }

    /// Whether the call would have blocked (`EAGAIN`): a non-blocking call found nothing to
    /// do, or a send or receive timeout expired.
    public var isWouldBlock: Bool { code == EAGAIN }

    /// Whether the context was shut down (`ETERM`): the normal way blocked calls end when the
    /// process stops.
    public var isTerminated: Bool { code == ETERM }
}

/// Calls a libzmq function that returns -1 and sets `errno` on failure, retrying while the
/// call was interrupted by a signal (`EINTR`).
///
/// - Returns: The call's non-negative result.
/// - Throws: ``ZMQError`` with `zmq_errno()` and `operation` for any other failure.
func zmqCall(_ operation: @autoclosure () -> String, _ call: () -> Int32) throws(ZMQError) -> Int32 {
    while true {
        let result = call()
        if result >= 0 {
            return result
        }
        let code = zmq_errno()
        if code != EINTR {
            throw ZMQError(code: code, operation: operation())
        }
    }
}

/// Like ``zmqCall(_:_:)``, but a call that would block (`EAGAIN`) gives `nil` instead of an
/// error.
///
/// - Throws: ``ZMQError`` for any failure other than `EAGAIN`.
func zmqCallUnlessWouldBlock(
    _ operation: @autoclosure () -> String, _ call: () -> Int32
) throws(ZMQError) -> Int32? {
    do {
        return try zmqCall(operation(), call)
    } catch where error.isWouldBlock {
        return nil
    }
}
